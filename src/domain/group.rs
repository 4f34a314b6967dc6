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
