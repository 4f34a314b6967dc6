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

    /// The role as a sentence says it: "an owner".
    pub fn in_words(self) -> &'static str {
        match self {
            OrgRole::Owner => "an owner",
            OrgRole::Reader => "a reader",
        }
    }

    /// What the role lets a person do, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            OrgRole::Owner => "owners manage the organization, its people and every project",
            OrgRole::Reader => "readers use the projects they are added to",
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
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: OrgRole,
    pub added_at: i64,
}

impl User {
    pub fn is_owner(&self) -> bool {
        self.role == OrgRole::Owner
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

/// The refusal of a change through the Admin API to a user or group that the organization's
/// identity provider manages through SCIM.
pub fn managed_by_scim(what: &str, id: &str) -> Error {
    Error::rule(format!(
        "{what} '{id}' is managed by SCIM: change it through the organization's identity provider."
    ))
}

/// Checks an email address and returns it normalised (trimmed, lowercase): one person, one
/// address, however it was typed. An address is accepted only if the mailer can send to it: it
/// is read by the parser the mailer reads recipients with (lettre's), and must come out of it
/// unchanged: a plain address, with no display name, comment or quoting, at a domain name (not
/// an IP address).
pub fn validate_email(email: &str, param: &'static str) -> Result<String> {
    let email = super::name::folded(email.trim());
    let mailable = email.len() <= 320
        && email
            .parse::<lettre::message::Mailbox>()
            .is_ok_and(|mailbox| {
                let domain = mailbox.email.domain();
                mailbox.name.is_none()
                    && mailbox.email.to_string() == email
                    && !domain.starts_with('[')
                    && domain.parse::<std::net::IpAddr>().is_err()
            });
    if !mailable {
        return Err(Error::invalid(
            format!("'{email}' is not a valid email address."),
            param,
        ));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_as_written_and_say_what_they_mean() {
        for role in [OrgRole::Owner, OrgRole::Reader] {
            assert_eq!(role.as_str().parse::<OrgRole>().unwrap(), role);
        }
        assert_eq!(
            (OrgRole::Owner.as_str(), OrgRole::Reader.as_str()),
            ("owner", "reader")
        );
        assert_eq!(
            (OrgRole::Owner.in_words(), OrgRole::Reader.in_words()),
            ("an owner", "a reader")
        );
        assert!(OrgRole::Owner.meaning().starts_with("owners manage"));
        assert!(OrgRole::Reader.meaning().starts_with("readers use"));
        assert!(matches!(
            "admin".parse::<OrgRole>(),
            Err(Error::Invalid { param: Some(p), code: Some("invalid_value"), .. }) if p == "role"
        ));
        let user = |role| User {
            id: "user-1".into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            role,
            added_at: 0,
        };
        assert!(user(OrgRole::Owner).is_owner() && !user(OrgRole::Reader).is_owner());
    }

    #[test]
    fn an_organization_keeps_an_owner() {
        assert!(check_keeps_an_owner(1, "Removing her").is_ok());
        match check_keeps_an_owner(0, "Removing her") {
            Err(Error::Invalid { message, .. }) => assert_eq!(
                message,
                "Removing her would leave the organization without an owner; make another user an owner first."
            ),
            other => panic!("{other:?}"),
        }
    }

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
            // Addresses that look like one but that no mailer takes as a plain recipient.
            "a..b@x.test",
            ".a@x.test",
            "a.@x.test",
            "a@-x.test",
            "a@x-.test",
            "a@x..test",
            "a@[127.0.0.1]",
            "a@127.0.0.1",
            "a(comment)@x.test",
            "a,b@x.test",
            "a;b@x.test",
            "\"a b\"@x.test",
            "Ada <a@x.test>",
            "<a@x.test>",
            "a@x.test.",
            "a\u{0}@x.test",
        ] {
            assert!(
                validate_email(bad, "email").is_err(),
                "{bad} should be refused"
            );
        }
    }
}
