//! Who is calling: the authenticated admin key, its organization and its owner.

/// Loaded by one indexed lookup of the key's digest.
#[derive(Clone, Debug)]
pub struct Principal {
    pub org_id: String,
    pub default_project_id: String,
    pub key_id: String,
    pub key_digest: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub user_id: String,
    pub user_email: String,
    /// The key owner's organization role now: admin keys act only while it is `owner`.
    pub user_role: super::user::OrgRole,
    /// Whether the owner is active: one her identity provider suspended (SCIM `active: false`)
    /// acts through no key.
    pub user_active: bool,
}

impl Principal {
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Admin keys belong to organization owners (as in the real service): a key whose owner
    /// was demoted stops working with the demotion.
    pub fn owner_is_owner(&self) -> bool {
        self.user_role == super::user::OrgRole::Owner && self.user_active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::OrgRole;

    fn principal(expires_at: Option<i64>, user_role: OrgRole, user_active: bool) -> Principal {
        Principal {
            org_id: "org-1".into(),
            default_project_id: "proj_d".into(),
            key_id: "key_1".into(),
            key_digest: "d".into(),
            expires_at,
            last_used_at: None,
            user_id: "user-1".into(),
            user_email: "ada@example.com".into(),
            user_role,
            user_active,
        }
    }

    #[test]
    fn a_key_expires_at_its_second_and_never_without_one() {
        assert!(!principal(None, OrgRole::Owner, true).is_expired(i64::MAX));
        assert!(!principal(Some(100), OrgRole::Owner, true).is_expired(99));
        assert!(principal(Some(100), OrgRole::Owner, true).is_expired(100));
    }

    #[test]
    fn a_key_acts_only_for_an_active_owner() {
        assert!(principal(None, OrgRole::Owner, true).owner_is_owner());
        assert!(!principal(None, OrgRole::Reader, true).owner_is_owner());
        assert!(!principal(None, OrgRole::Owner, false).owner_is_owner());
    }
}
