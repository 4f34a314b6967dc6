//! Project membership: which organization users belong to a project, with which project role.

use super::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectRole {
    Owner,
    Member,
    Viewer,
}

impl ProjectRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectRole::Owner => "owner",
            ProjectRole::Member => "member",
            ProjectRole::Viewer => "viewer",
        }
    }

    /// Parses a project role; `param` names the field it came from.
    pub fn parse(role: &str, param: &str) -> Result<Self> {
        match role {
            "owner" => Ok(ProjectRole::Owner),
            "member" => Ok(ProjectRole::Member),
            "viewer" => Ok(ProjectRole::Viewer),
            other => Err(Error::Invalid {
                message: format!(
                    "Invalid value: '{other}'. Supported values are: 'owner', 'member' and 'viewer'."
                )
                .into(),
                param: Some(param.to_owned().into()),
                code: Some("invalid_value"),
            }),
        }
    }
}

/// A member of a project, with the name and email of the organization user.
#[derive(Clone, Debug)]
pub struct ProjectUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: ProjectRole,
    pub added_at: i64,
}

impl ProjectUser {
    pub fn is_owner(&self) -> bool {
        self.role == ProjectRole::Owner
    }
}

/// Who to add: by user id, by email, or both (which must then name the same user).
#[derive(Clone, Debug)]
pub enum Member {
    Id(String),
    Email(String),
    Both { user_id: String, email: String },
}

impl Member {
    pub fn new(user_id: Option<String>, email: Option<String>) -> Result<Self> {
        let user_id = user_id.filter(|id| !id.trim().is_empty());
        let email = email
            .filter(|e| !e.trim().is_empty())
            .map(|e| super::user::validate_email(&e, "email"))
            .transpose()?;
        match (user_id, email) {
            (Some(user_id), Some(email)) => Ok(Member::Both { user_id, email }),
            (Some(user_id), None) => Ok(Member::Id(user_id)),
            (None, Some(email)) => Ok(Member::Email(email)),
            (None, None) => Err(Error::Invalid {
                message: "Missing required parameter: either 'user_id' or 'email' must be given."
                    .into(),
                param: Some("user_id".into()),
                code: Some("missing_required_parameter"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_members_are_checked() {
        assert_eq!(
            ProjectRole::parse("owner", "role").unwrap(),
            ProjectRole::Owner
        );
        assert!(ProjectRole::parse("admin", "role").is_err());
        assert!(Member::new(None, None).is_err());
        assert!(Member::new(None, Some("not an email".into())).is_err());
        assert!(
            matches!(Member::new(Some("user-1".into()), Some("A@B.co".into())).unwrap(), Member::Both { email, .. } if email == "a@b.co")
        );
        let member = |role| ProjectUser {
            id: "user-1".into(),
            name: "Ada".into(),
            email: "ada@example.com".into(),
            role,
            added_at: 0,
        };
        assert!(member(ProjectRole::Owner).is_owner());
        assert!(!member(ProjectRole::Member).is_owner() && !member(ProjectRole::Viewer).is_owner());
    }
}
