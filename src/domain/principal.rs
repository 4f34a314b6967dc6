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
