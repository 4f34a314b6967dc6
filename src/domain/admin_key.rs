//! Admin API keys: the credentials of the Admin API, owned by an organization user.

use super::{Error, Result};

pub const MAX_EXPIRES_IN_SECONDS: i64 = 31_536_000;
const MAX_NAME_CHARS: usize = 256;

/// An admin key as listed: never its secret.
#[derive(Clone, Debug)]
pub struct AdminApiKey {
    pub id: String,
    pub name: Option<String>,
    pub redacted_value: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub owner_id: String,
    pub owner_name: String,
    pub owner_role: super::user::OrgRole,
    pub owner_created_at: i64,
}

/// A key's name, admin or project: may be empty.
pub fn validate_name(name: &str) -> Result<String> {
    super::name::NameRule {
        called: "The key name",
        param: "name",
        min_chars: 0,
        max_chars: MAX_NAME_CHARS,
    }
    .check(name)
}

/// The expiry time for a key created at `now`, from the request's `expires_in_seconds`.
pub fn expires_at(now: i64, expires_in_seconds: Option<i64>) -> Result<Option<i64>> {
    match expires_in_seconds {
        None => Ok(None),
        Some(s) if (1..=MAX_EXPIRES_IN_SECONDS).contains(&s) => Ok(Some(now + s)),
        Some(s) => Err(Error::Invalid {
            message: format!(
                "Invalid 'expires_in_seconds': expected an integer between 1 and {MAX_EXPIRES_IN_SECONDS}, but got {s} instead."
            )
            .into(),
            param: Some("expires_in_seconds".into()),
            code: Some("invalid_value"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_bounded() {
        assert_eq!(expires_at(100, None).unwrap(), None);
        assert_eq!(expires_at(100, Some(1)).unwrap(), Some(101));
        assert_eq!(
            expires_at(100, Some(MAX_EXPIRES_IN_SECONDS)).unwrap(),
            Some(100 + MAX_EXPIRES_IN_SECONDS)
        );
        assert!(expires_at(100, Some(0)).is_err());
        assert!(expires_at(100, Some(MAX_EXPIRES_IN_SECONDS + 1)).is_err());
    }

    #[test]
    fn a_name_may_be_empty_and_is_kept() {
        assert_eq!(validate_name("").unwrap(), "");
        assert_eq!(validate_name("deploy bot").unwrap(), "deploy bot");
        assert!(validate_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
    }
}
