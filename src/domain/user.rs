//! Organization users: people who belong to an organization, with an organization role.

use super::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    Owner,
    Reader,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Reader => "reader",
        }
    }
}

impl std::str::FromStr for OrgRole {
    type Err = Error;

    fn from_str(role: &str) -> Result<Self> {
        match role {
            "owner" => Ok(OrgRole::Owner),
            "reader" => Ok(OrgRole::Reader),
            other => Err(Error::Invalid {
                message: format!(
                    "Invalid value: '{other}'. Supported values are: 'owner' and 'reader'."
                )
                .into(),
                param: Some("role".into()),
                code: Some("invalid_value"),
            }),
        }
    }
}

/// An organization user.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub added_at: i64,
}

impl User {
    pub fn is_owner(&self) -> bool {
        self.role == OrgRole::Owner.as_str()
    }
}

/// An organization keeps at least one owner: a change that would leave `owners_after` owners
/// is refused when that is none.
pub fn check_keeps_an_owner(owners_after: i64, what: &str) -> Result<()> {
    if owners_after < 1 {
        return Err(Error::rule(format!(
            "{what} would leave the organization without an owner; make another user an owner first."
        )));
    }
    Ok(())
}

/// Checks an email address and returns it normalised (trimmed, lowercase): one person, one
/// address, however it was typed.
pub fn validate_email(email: &str, param: &'static str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 320
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        });
    if !valid {
        return Err(Error::invalid(
            format!("'{email}' is not a valid email address."),
            param,
        ));
    }
    Ok(email.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_normalised() {
        assert_eq!(
            validate_email(" Ada@Example.com ", "email").unwrap(),
            "ada@example.com"
        );
        assert_eq!(
            validate_email("admin@localhost", "email").unwrap(),
            "admin@localhost"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@@example.com",
            "a da@example.com",
            "ada@.com",
        ] {
            assert!(
                validate_email(bad, "email").is_err(),
                "{bad} should be refused"
            );
        }
    }
}
