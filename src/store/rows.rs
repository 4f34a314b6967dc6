//! How the domain's types read from rows: each field from the column of its name.

use super::db::{Cell, Column, FromRow, Row, Value, from_row};
use crate::domain::Result;
use crate::domain::admin_key::AdminApiKey;
use crate::domain::audit::LogEntry;
use crate::domain::certificate::Certificate;
use crate::domain::group::{Group, GroupMember, ProjectGroup};
use crate::domain::invite::Invite;
use crate::domain::organization::Organization;
use crate::domain::principal::Principal;
use crate::domain::project::Project;
use crate::domain::project_key::{KeyHolder, ProjectApiKey, ServiceAccount, ServiceAccountRole};
use crate::domain::project_user::{ProjectRole, ProjectUser};
use crate::domain::role::Role;
use crate::domain::user::{OrgRole, User};

from_row!(AdminApiKey {
    id,
    name,
    redacted_value,
    created_at,
    expires_at,
    last_used_at,
    owner_id,
    owner_name,
    owner_role,
    owner_created_at
});
from_row!(LogEntry { id, event_type = "type", effective_at, project_id, project_name, actor, details });
from_row!(Certificate {
    id,
    name,
    content,
    valid_at,
    expires_at,
    created_at,
    active
});
from_row!(Group {
    id,
    name,
    created_at,
    scim_managed
});
from_row!(GroupMember { id, name, email });
from_row!(ProjectGroup {
    project_id,
    group_id,
    group_name,
    created_at
});
from_row!(Invite {
    id,
    email,
    role,
    projects,
    created_at,
    expires_at,
    accepted_at
});
from_row!(Organization {
    id,
    name,
    created_at,
    default_project_id,
    owner_email
});
from_row!(Principal {
    org_id,
    default_project_id,
    key_id,
    key_digest,
    expires_at,
    last_used_at,
    user_id,
    user_email,
    user_role,
    user_active
});
from_row!(Project {
    id,
    name,
    created_at,
    archived_at,
    external_key_id,
    residency,
    default_project_id
});
impl FromRow for ProjectApiKey {
    fn from_row(row: &mut Row) -> Result<Self> {
        let owner = match row.get::<Option<String>>("user_id")? {
            Some(id) => KeyHolder::User {
                id,
                email: row.get("user_email")?,
                name: row.get("user_name")?,
                added_at: row.get("user_added_at")?,
                member_role: row.get("member_role")?,
                active: row.get("user_active")?,
            },
            None => KeyHolder::ServiceAccount(ServiceAccount {
                id: row.get("service_account_id")?,
                name: row.get("service_account_name")?,
                role: row.get("service_account_role")?,
                created_at: row.get("service_account_created_at")?,
            }),
        };
        Ok(ProjectApiKey {
            id: row.get("id")?,
            project_id: row.get("project_id")?,
            name: row.get("name")?,
            redacted_value: row.get("redacted_value")?,
            created_at: row.get("created_at")?,
            last_used_at: row.get("last_used_at")?,
            expires_at: row.get("expires_at")?,
            owner,
        })
    }
}
from_row!(ServiceAccount {
    id,
    name,
    role,
    created_at
});
from_row!(ProjectUser {
    id,
    name,
    email,
    role,
    added_at
});
from_row!(Role {
    id,
    org_id,
    resource_id,
    resource_type,
    name,
    description,
    permissions,
    predefined,
    created_at,
    updated_at,
    created_by
});
from_row!(crate::domain::scim::StoredUser {
    id,
    email,
    name,
    role,
    added_at,
    scim_managed,
    active,
    user_name,
    external_id,
    scim_resource,
    updated_at,
    version
});
from_row!(crate::domain::scim::StoredGroup {
    id,
    name,
    created_at,
    scim_managed,
    external_id,
    updated_at,
    version
});
from_row!(crate::store::scim::ScimToken {
    id,
    org_id,
    name,
    created_at,
    digest,
    default_project_id
});
from_row!(User {
    id,
    email,
    name,
    role,
    added_at
});

/// A role is written as its name.
impl From<OrgRole> for Value {
    fn from(role: OrgRole) -> Self {
        role.as_str().into()
    }
}

impl From<ProjectRole> for Value {
    fn from(role: ProjectRole) -> Self {
        role.as_str().into()
    }
}

/// A role column reads through its type's one parse; a value it does not know is an error.
impl Column for OrgRole {
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Text(role) => role.parse().ok(),
            _ => None,
        }
    }
}

impl Column for ProjectRole {
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Text(role) => ProjectRole::parse(&role, "role").ok(),
            _ => None,
        }
    }
}

impl Column for ServiceAccountRole {
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Text(role) => ServiceAccountRole::parse(&role),
            _ => None,
        }
    }
}
