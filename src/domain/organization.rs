//! Organizations: the tenant every other row belongs to.

use super::{Error, Result, user::validate_email};

pub const DEFAULT_ORGANIZATION_NAME: &str = "Default Organization";
pub const DEFAULT_PROJECT_NAME: &str = "Default project";
pub const DEFAULT_OWNER_EMAIL: &str = "admin@localhost";
pub const DEFAULT_OWNER_NAME: &str = "Admin";

#[derive(Clone, Debug, sqlx::FromRow)]
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
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::invalid(
                "The organization name must not be empty.",
                "name",
            ));
        }
        Ok(NewOrganization {
            name: name.to_owned(),
            owner_email: validate_email(owner_email, "owner_email")?,
            owner_name: owner_name.trim().to_owned(),
        })
    }
}
