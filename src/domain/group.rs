//! Groups of organization users: a group holds roles, and its members hold them through it.

use super::Result;

#[derive(Clone, Debug)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    /// Made by the organization's identity provider, and changed only through it (SCIM).
    pub scim_managed: bool,
}

impl Group {
    /// Refuses a change through the Admin API to a group SCIM manages.
    pub fn check_not_scim_managed(&self) -> super::Result<()> {
        if self.scim_managed {
            return Err(super::user::managed_by_scim("Group", &self.id));
        }
        Ok(())
    }
}

/// A user in a group.
#[derive(Clone, Debug)]
pub struct GroupMember {
    pub id: String,
    pub name: String,
    pub email: String,
}

/// A group's access to a project.
#[derive(Clone, Debug)]
pub struct ProjectGroup {
    pub project_id: String,
    pub group_id: String,
    pub group_name: String,
    pub created_at: i64,
}

/// A group's name: 1 to 255 characters, as the contract bounds it.
pub fn validate_name(name: &str) -> Result<String> {
    super::name::NameRule {
        called: "A group's name",
        param: "name",
        min_chars: 1,
        max_chars: 255,
    }
    .check(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Error;

    #[test]
    fn the_admin_api_changes_only_groups_scim_does_not_manage() {
        let mut group = Group {
            id: "group_1".into(),
            name: "Engineering".into(),
            created_at: 0,
            scim_managed: false,
        };
        assert!(group.check_not_scim_managed().is_ok());
        group.scim_managed = true;
        match group.check_not_scim_managed() {
            Err(Error::Invalid { message, .. }) => assert_eq!(
                message,
                "Group 'group_1' is managed by SCIM: change it through the organization's identity provider."
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_name_is_1_to_255_characters_and_kept() {
        assert!(validate_name("").is_err());
        assert_eq!(validate_name("Engineering").unwrap(), "Engineering");
        assert_eq!(validate_name(&"g".repeat(255)).unwrap().len(), 255);
        assert!(validate_name(&"g".repeat(256)).is_err());
    }
}
