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
