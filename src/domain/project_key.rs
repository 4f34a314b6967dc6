//! Service accounts and project API keys: a project's machine identities and its credentials.

use super::Result;
use super::role::{self, Scope};

/// A service account's role in its project; a request may set `owner` or `member`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceAccountRole {
    Owner,
    Member,
    /// An account made with `create_service_account_only`: no access yet.
    #[serde(skip_deserializing)]
    None,
}

impl ServiceAccountRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceAccountRole::Owner => "owner",
            ServiceAccountRole::Member => "member",
            ServiceAccountRole::None => "none",
        }
    }

    pub fn parse(role: &str) -> Option<Self> {
        [Self::Owner, Self::Member, Self::None]
            .into_iter()
            .find(|r| r.as_str() == role)
    }
}

#[derive(Clone, Debug)]
pub struct ServiceAccount {
    pub id: String,
    pub name: String,
    pub role: ServiceAccountRole,
    pub created_at: i64,
}

pub fn validate_service_account_name(name: &str) -> Result<String> {
    super::name::NameRule {
        called: "A service account's name",
        param: "name",
        min_chars: 1,
        max_chars: 256,
    }
    .check(name)
}

/// A key's scopes: permissions a project role can hold; none means all of the owner's.
pub fn validate_scopes(scopes: &[String]) -> Result<Vec<String>> {
    role::validate_permissions(scopes, Scope::Project, "scopes")
}

/// A project API key as listed, with its owner: never its secret.
#[derive(Clone, Debug)]
pub struct ProjectApiKey {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub redacted_value: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub owner: KeyHolder,
}

/// Who a project key belongs to, as listed.
#[derive(Clone, Debug)]
pub enum KeyHolder {
    /// A user of the organization: her role in the key's project, `None` while she is not a
    /// member.
    User {
        id: String,
        email: String,
        name: String,
        added_at: i64,
        member_role: Option<super::project_user::ProjectRole>,
        /// Not suspended by the organization's identity provider (SCIM).
        active: bool,
    },
    ServiceAccount(ServiceAccount),
}

impl ProjectApiKey {
    /// Whether the owner has access to the key's project now: a member not suspended, or a
    /// service account with a role (as `OWNER_HAS_ACCESS` says in SQL).
    pub fn owner_has_access(&self) -> bool {
        match &self.owner {
            KeyHolder::ServiceAccount(account) => account.role != ServiceAccountRole::None,
            KeyHolder::User {
                member_role,
                active,
                ..
            } => member_role.is_some() && *active,
        }
    }
}

/// Whether a string can be a project key at all; anything else is refused before a lookup.
pub fn looks_like_project_key(value: &str) -> bool {
    let prefixed = value.starts_with(super::secret::USER_KEY_PREFIX)
        || value.starts_with(super::secret::SERVICE_ACCOUNT_KEY_PREFIX);
    prefixed && value.len() <= 256
}

/// Who a new key belongs to.
#[derive(Clone, Debug)]
pub enum KeyOwner {
    User(String),
    ServiceAccount(String),
}

/// What a new key is: its name, lifetime and scopes, already validated.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub name: String,
    pub expires_at: Option<i64>,
    pub scopes: Vec<String>,
}

/// A key just made: its id, name and creation time, and its value, shown once.
#[derive(Clone, Debug)]
pub struct CreatedKey {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub value: String,
}

/// Which keys a list shows, by whether their owner has access to the project.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerAccess {
    Active,
    Inactive,
    #[default]
    Any,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::project_user::ProjectRole;

    #[test]
    fn service_account_roles_read_as_they_are_written() {
        for role in [
            ServiceAccountRole::Owner,
            ServiceAccountRole::Member,
            ServiceAccountRole::None,
        ] {
            assert_eq!(ServiceAccountRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(ServiceAccountRole::Member.as_str(), "member");
        assert_eq!(ServiceAccountRole::parse("admin"), None);
        assert_eq!(validate_service_account_name(" bot ").unwrap(), "bot");
        assert!(validate_service_account_name("").is_err());
    }

    #[test]
    fn scopes_are_permissions_a_project_role_can_hold() {
        let scopes = vec!["api.model.request".to_owned()];
        assert_eq!(validate_scopes(&scopes).unwrap(), scopes);
        assert!(validate_scopes(&["api.organization.users.write".to_owned()]).is_err());
        assert!(validate_scopes(&[]).unwrap().is_empty());
    }

    fn key(owner: KeyHolder) -> ProjectApiKey {
        ProjectApiKey {
            id: "key_1".into(),
            project_id: "proj_a".into(),
            name: "k".into(),
            redacted_value: "sk-proj-...abcd".into(),
            created_at: 0,
            last_used_at: None,
            expires_at: None,
            owner,
        }
    }

    #[test]
    fn an_owner_has_access_while_a_member_not_suspended_or_an_account_with_a_role() {
        let user = |member_role, active| {
            key(KeyHolder::User {
                id: "user-1".into(),
                email: "ada@example.com".into(),
                name: "Ada".into(),
                added_at: 0,
                member_role,
                active,
            })
        };
        assert!(user(Some(ProjectRole::Member), true).owner_has_access());
        assert!(!user(None, true).owner_has_access());
        assert!(!user(Some(ProjectRole::Owner), false).owner_has_access());
        let account = |role| {
            key(KeyHolder::ServiceAccount(ServiceAccount {
                id: "svc_acct_1".into(),
                name: "bot".into(),
                role,
                created_at: 0,
            }))
        };
        assert!(account(ServiceAccountRole::Member).owner_has_access());
        assert!(!account(ServiceAccountRole::None).owner_has_access());
    }

    #[test]
    fn a_project_key_has_a_project_keys_prefix_and_bounded_length() {
        let user_key = format!("{}abc", crate::domain::secret::USER_KEY_PREFIX);
        let account_key = format!("{}abc", crate::domain::secret::SERVICE_ACCOUNT_KEY_PREFIX);
        assert!(looks_like_project_key(&user_key) && looks_like_project_key(&account_key));
        assert!(!looks_like_project_key("sk-admin-abc"));
        let longest = format!("{user_key}{}", "a".repeat(256 - user_key.len()));
        assert!(looks_like_project_key(&longest));
        assert!(!looks_like_project_key(&format!("{longest}a")));
    }
}
