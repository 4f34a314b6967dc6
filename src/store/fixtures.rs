//! Loading the emulator's fixtures: the whole world in one transaction, each entry checked as the
//! API checks what it creates, each refusal naming its entry (`organizations[0].users[2]: ...`).
//! Entries are written in the order their references need: users, groups, projects (members,
//! service accounts, keys, roles), groups' access to projects, custom roles' holders, admin keys.

use super::tx::{FoundingIds, Tx, find_member};
use super::{Author, Store, db};
use crate::domain::fixtures::{Fixtures, OrganizationFixture, ProjectFixture, RoleFixture};
use crate::domain::group::{self, Group};
use crate::domain::ids::{
    GroupId, GroupKind, Id, Kind, OrganizationKind, ProjectId, ProjectKind, RoleKind,
    ServiceAccountKind, UserId, UserKind,
};
use crate::domain::organization::NewOrganization;
use crate::domain::project_key::{KeyOwner, NewKey, ServiceAccount, validate_service_account_name};
use crate::domain::role::{self, Role, RoleHolder, RoleScope};
use crate::domain::user::{OrgRole, User, validate_email};
use crate::domain::{Error, Result, admin_key, invite, name, project, secret};

impl Store {
    /// Loads `fixtures` into the database (after its founding, or a reset): all or nothing.
    pub async fn load_fixtures(&self, fixtures: &Fixtures) -> Result<()> {
        transact!(self, |tx| {
            for (i, organization) in fixtures.organizations.iter().enumerate() {
                load_organization(tx, organization, &format!("organizations[{i}]")).await?;
            }
            Ok(())
        })?;
        self.keys.clear();
        Ok(())
    }
}

/// `error` as a refusal of the fixture entry at `path`.
fn at(path: &str, error: Error) -> Error {
    let (message, param, code) = match error {
        Error::Invalid {
            message,
            param,
            code,
        } => (message.into_owned(), param.map(|p| p.into_owned()), code),
        Error::NotFound { message, param } => (message, param.map(str::to_owned), None),
        other => return other,
    };
    Error::Invalid {
        message: format!("{path}: {message}").into(),
        param: Some(match param {
            Some(param) => format!("{path}.{param}").into(),
            None => path.to_owned().into(),
        }),
        code,
    }
}

/// The entry's fixed id, checked for its kind's form, or a new one.
fn fixed_or_new<K: Kind>(given: &Option<String>, path: &str) -> Result<String> {
    match given {
        None => Ok(Id::<K>::generate().into_string()),
        Some(id) => Id::<K>::parse(id.clone())
            .map(Id::into_string)
            .map_err(|_| {
                at(
                    path,
                    Error::invalid(
                        format!(
                            "'{id}' is not {} id: it must start with '{}' and go on with letters, digits, '-' or '_'.",
                            K::NAME,
                            K::PREFIXES[0]
                        ),
                        "id",
                    ),
                )
            }),
    }
}

async fn user_by_email(tx: &mut Tx<'_>, org_id: &str, email: &str, path: &str) -> Result<User> {
    tx.find_user_by_email(org_id, &name::folded(email))
        .await?
        .ok_or_else(|| {
            at(
                path,
                Error::invalid(
                    format!("No user with email '{email}' in this organization."),
                    "user",
                ),
            )
        })
}

async fn load_organization(
    tx: &mut Tx<'_>,
    fixture: &OrganizationFixture,
    path: &str,
) -> Result<()> {
    let first = path == "organizations[0]";
    if first {
        if fixture.id.is_some() || fixture.name.is_some() || fixture.owner.is_some() {
            return Err(at(
                path,
                Error::rule(
                    "The first organization is the one Roster founded: give 'id', 'name' and 'owner' only for further ones.",
                ),
            ));
        }
        let (org_id, default_project_id): (String, String) =
            db::query("SELECT id, default_project_id FROM organizations ORDER BY id LIMIT 1")
                .fetch_optional(&mut *tx.conn)
                .await?
                .ok_or_else(|| at(path, Error::rule("The database holds no organization yet.")))?;
        tx.author = Some(Author {
            org_id,
            actor: None,
            default_project_id: Some(default_project_id),
        });
    } else {
        let owner = fixture.owner.as_ref().ok_or_else(|| {
            at(
                path,
                Error::invalid("A further organization needs its 'owner'.", "owner"),
            )
        })?;
        let new = NewOrganization::new(
            fixture.name.as_deref().unwrap_or_default(),
            &owner.email,
            &owner.name,
        )
        .map_err(|e| at(path, e))?;
        let ids = FoundingIds {
            org_id: fixed_or_new::<OrganizationKind>(&fixture.id, path)?,
            project_id: ProjectId::generate().into_string(),
            owner_id: fixed_or_new::<UserKind>(&owner.id, &format!("{path}.owner"))?,
        };
        tx.found_organization(&new, None, ids)
            .await
            .map_err(|e| at(path, e))?;
    }
    let org_id = tx.org_id()?;

    for (i, user) in fixture.users.iter().enumerate() {
        let path = format!("{path}.users[{i}]");
        let added = User {
            id: fixed_or_new::<UserKind>(&user.id, &path)?,
            email: validate_email(&user.email, "email").map_err(|e| at(&path, e))?,
            name: invite::validate_name(&user.name).map_err(|e| at(&path, e))?,
            role: user.role,
            added_at: tx.now,
        };
        tx.insert_user(&org_id, &added)
            .await
            .map_err(|e| at(&path, e))?;
    }

    let mut group_ids = Vec::with_capacity(fixture.groups.len());
    for (i, fixture) in fixture.groups.iter().enumerate() {
        let path = format!("{path}.groups[{i}]");
        let created = Group {
            id: fixed_or_new::<GroupKind>(&fixture.id, &path)?,
            name: group::validate_name(&fixture.name).map_err(|e| at(&path, e))?,
            created_at: tx.now,
            scim_managed: false,
        };
        tx.insert_group(&org_id, &created)
            .await
            .map_err(|e| at(&path, e))?;
        for (j, email) in fixture.users.iter().enumerate() {
            let path = format!("{path}.users[{j}]");
            let user = user_by_email(tx, &org_id, email, &path).await?;
            tx.insert_group_user(&created.id, &user.id)
                .await
                .map_err(|e| at(&path, e))?;
        }
        group_ids.push(created.id);
    }

    let mut project_roles = Vec::new();
    for (i, fixture) in fixture.projects.iter().enumerate() {
        let path = format!("{path}.projects[{i}]");
        let project_id = load_project(tx, &org_id, fixture, &path).await?;
        for (j, role) in fixture.roles.iter().enumerate() {
            let path = format!("{path}.roles[{j}]");
            let scope = RoleScope::project(&org_id, &ProjectId::stored(project_id.clone()));
            let created = insert_role(tx, &scope, role, &path).await?;
            project_roles.push((scope, created, role, path));
        }
    }

    for ((i, fixture), group_id) in fixture.groups.iter().enumerate().zip(&group_ids) {
        for (j, access) in fixture.projects.iter().enumerate() {
            let path = format!("{path}.groups[{i}].projects[{j}]");
            let project: Option<(String,)> =
                db::query("SELECT id FROM projects WHERE org_id = $1 AND id = $2")
                    .bind(org_id.clone())
                    .bind(access.project.clone())
                    .fetch_optional(&mut *tx.conn)
                    .await?;
            let (project_id,) = project.ok_or_else(|| {
                at(
                    &path,
                    Error::invalid(
                        format!("No project '{}' in this organization.", access.project),
                        "project",
                    ),
                )
            })?;
            let scope = RoleScope::project(&org_id, &ProjectId::stored(project_id.clone()));
            let role = tx
                .lock_role(&scope, &scope.role_id(&access.role))
                .await
                .map_err(|e| at(&path, e))?;
            tx.insert_project_group(&project_id, group_id)
                .await
                .map_err(|e| at(&path, e))?;
            tx.insert_role_assignment(
                &scope,
                &RoleHolder::Group(GroupId::stored(group_id.clone())),
                &role,
            )
            .await
            .map_err(|e| at(&path, e))?;
        }
    }

    for (i, role) in fixture.roles.iter().enumerate() {
        let path = format!("{path}.roles[{i}]");
        let scope = RoleScope::organization(&org_id);
        let created = insert_role(tx, &scope, role, &path).await?;
        assign(tx, &scope, &created, role, &path).await?;
    }
    for (scope, created, role, path) in &project_roles {
        assign(tx, scope, created, role, path).await?;
    }

    for (i, key) in fixture.admin_keys.iter().enumerate() {
        let path = format!("{path}.admin_keys[{i}]");
        if !secret::looks_like_admin_key(&key.value) {
            return Err(at(
                &path,
                Error::invalid(
                    "An admin key's value must look like sk-admin- and at least 16 letters, digits, '-' or '_'.",
                    "value",
                ),
            ));
        }
        let owner = user_by_email(tx, &org_id, &key.owner, &path).await?;
        if owner.role != OrgRole::Owner {
            return Err(at(
                &path,
                Error::invalid(
                    format!(
                        "'{}' is not an owner; admin keys belong to owners.",
                        key.owner
                    ),
                    "owner",
                ),
            ));
        }
        let name = admin_key::validate_name(key.name.as_deref().unwrap_or("Fixture key"))
            .map_err(|e| at(&path, e))?;
        tx.insert_admin_key(&owner.id, Some(&name), None, Some(&key.value))
            .await
            .map_err(|e| at(&path, e))?;
    }
    Ok(())
}

/// The project, its members, its service accounts (with their keys) and its members' keys;
/// returns its id.
async fn load_project(
    tx: &mut Tx<'_>,
    org_id: &str,
    fixture: &ProjectFixture,
    path: &str,
) -> Result<String> {
    let project_id = fixed_or_new::<ProjectKind>(&fixture.id, path)?;
    let name = project::validate_name(&fixture.name).map_err(|e| at(path, e))?;
    tx.insert_project(org_id, &project_id, &name, None, None)
        .await
        .map_err(|e| at(path, e))?;
    for (i, member) in fixture.members.iter().enumerate() {
        let path = format!("{path}.members[{i}]");
        let user = user_by_email(tx, org_id, &member.user, &path).await?;
        tx.insert_member(org_id, &project_id, &user.id, member.role)
            .await
            .map_err(|e| at(&path, e))?;
    }
    for (i, account) in fixture.service_accounts.iter().enumerate() {
        let path = format!("{path}.service_accounts[{i}]");
        let created = ServiceAccount {
            id: fixed_or_new::<ServiceAccountKind>(&account.id, &path)?,
            name: validate_service_account_name(&account.name).map_err(|e| at(&path, e))?,
            role: account.role,
            created_at: tx.now,
        };
        tx.insert_service_account(org_id, &project_id, &created)
            .await
            .map_err(|e| at(&path, e))?;
        if let Some(value) = &account.key {
            let owner = KeyOwner::ServiceAccount(created.id.clone());
            insert_key(
                tx,
                &project_id,
                &owner,
                value,
                None,
                secret::SERVICE_ACCOUNT_KEY_PREFIX,
                &path,
            )
            .await?;
        }
    }
    for (i, key) in fixture.api_keys.iter().enumerate() {
        let path = format!("{path}.api_keys[{i}]");
        let user = user_by_email(tx, org_id, &key.user, &path).await?;
        if find_member(&mut *tx.conn, org_id, &project_id, &user.id)
            .await?
            .is_none()
        {
            return Err(at(
                &path,
                Error::invalid(
                    format!("'{}' is not a member of this project.", key.user),
                    "user",
                ),
            ));
        }
        let owner = KeyOwner::User(user.id);
        insert_key(
            tx,
            &project_id,
            &owner,
            &key.value,
            key.name.as_deref(),
            secret::USER_KEY_PREFIX,
            &path,
        )
        .await?;
    }
    Ok(project_id)
}

/// A project key with a fixed value, which must carry its owner's prefix.
async fn insert_key(
    tx: &mut Tx<'_>,
    project_id: &str,
    owner: &KeyOwner,
    value: &str,
    name: Option<&str>,
    prefix: &str,
    path: &str,
) -> Result<()> {
    let well_formed = value.starts_with(prefix)
        && value.len() >= prefix.len() + 16
        && crate::domain::project_key::looks_like_project_key(value);
    if !well_formed {
        return Err(at(
            path,
            Error::invalid(
                format!(
                    "A key's value here must look like {prefix} and at least 16 more characters."
                ),
                "value",
            ),
        ));
    }
    let key = NewKey {
        name: admin_key::validate_name(name.unwrap_or("Secret Key")).map_err(|e| at(path, e))?,
        expires_at: None,
        scopes: Vec::new(),
    };
    tx.insert_project_key(project_id, owner, &key, Some(value))
        .await
        .map_err(|e| at(path, e))?;
    Ok(())
}

async fn insert_role(
    tx: &mut Tx<'_>,
    scope: &RoleScope,
    fixture: &RoleFixture,
    path: &str,
) -> Result<Role> {
    let permissions =
        role::validate_permissions(&fixture.permissions, scope.scope(), "permissions")
            .map_err(|e| at(path, e))?;
    let created = Role {
        id: fixed_or_new::<RoleKind>(&fixture.id, path)?,
        org_id: scope.org_id.clone(),
        resource_id: scope.resource_id().to_owned(),
        resource_type: scope.scope().resource_type().to_owned(),
        name: role::validate_name(&fixture.name).map_err(|e| at(path, e))?,
        description: fixture.description.clone(),
        permissions: serde_json::to_string(&permissions).unwrap_or_else(|_| "[]".into()),
        predefined: 0,
        created_at: tx.now,
        updated_at: tx.now,
        created_by: None,
    };
    tx.insert_role(&created, scope.project_id.as_deref())
        .await
        .map_err(|e| at(path, e))?;
    Ok(created)
}

/// Gives `role` to the users (by email) and groups (by id) its fixture names.
async fn assign(
    tx: &mut Tx<'_>,
    scope: &RoleScope,
    role: &Role,
    fixture: &RoleFixture,
    path: &str,
) -> Result<()> {
    for (i, email) in fixture.users.iter().enumerate() {
        let path = format!("{path}.users[{i}]");
        let user = user_by_email(tx, &scope.org_id, email, &path).await?;
        if let Some(project_id) = &scope.project_id
            && find_member(&mut *tx.conn, &scope.org_id, project_id, &user.id)
                .await?
                .is_none()
        {
            return Err(at(
                &path,
                Error::invalid(
                    format!("'{email}' is not a member of project '{project_id}'."),
                    "user",
                ),
            ));
        }
        let holder = RoleHolder::User(UserId::stored(user.id));
        tx.insert_role_assignment(scope, &holder, role)
            .await
            .map_err(|e| at(&path, e))?;
    }
    for (i, group_id) in fixture.groups.iter().enumerate() {
        let path = format!("{path}.groups[{i}]");
        let group = tx
            .lock_group(&scope.org_id, group_id)
            .await
            .map_err(|e| at(&path, e))?;
        let holder = RoleHolder::Group(GroupId::stored(group.id));
        // A group holds a project's role only once it has access to the project.
        tx.insert_role_assignment(scope, &holder, role)
            .await
            .map_err(|e| at(&path, e))?;
    }
    Ok(())
}
