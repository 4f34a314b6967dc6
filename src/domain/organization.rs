//! Organizations: the tenant every other row belongs to.

use super::name::NameRule;
use super::{Result, user::validate_email};

pub const DEFAULT_ORGANIZATION_NAME: &str = "Default Organization";
pub const DEFAULT_PROJECT_NAME: &str = "Default project";
pub const DEFAULT_OWNER_EMAIL: &str = "admin@localhost";
pub const DEFAULT_OWNER_NAME: &str = "Admin";

#[derive(Clone, Debug)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub default_project_id: String,
    pub owner_email: String,
}

/// What it takes to found an organization: its name and its first owner.
#[derive(Clone, Debug)]
pub struct NewOrganization {
    pub name: String,
    pub owner_email: String,
    pub owner_name: String,
}

impl NewOrganization {
    pub fn new(name: &str, owner_email: &str, owner_name: &str) -> Result<Self> {
        let name = NameRule {
            called: "The organization name",
            param: "name",
            min_chars: 1,
            max_chars: 256,
        }
        .check(name)?;
        let owner_name = NameRule {
            called: "The owner's name",
            param: "owner_name",
            min_chars: 0,
            max_chars: 256,
        }
        .check(owner_name)?;
        Ok(NewOrganization {
            name,
            owner_email: validate_email(owner_email, "owner_email")?,
            owner_name,
        })
    }
}
