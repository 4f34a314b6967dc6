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
