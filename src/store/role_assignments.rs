//! Roles held by users and groups, in the organization or in a project.
//!
//! A user's predefined role is the `role` of the user (organization) or of the membership
//! (project): the contract's legacy field and the roles operations are two views of one fact.
//! Assigning a user a predefined role changes that field; custom roles, and every role of a
//! group, are rows of `role_assignments`.

use std::str::FromStr;

use super::db;
use super::sql::{Sql, keyset_order};
use super::tx::{SELECT_ROLE, Tx, already_holds, assignment_event, find_member, not_a_member};
use super::{Author, Store};
use crate::domain::ids::{RoleId, UserId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::project_user::ProjectRole;
use crate::domain::role::{Grant, Role, RoleHolder, RoleScope};
use crate::domain::user::OrgRole;
use crate::domain::{Error, Result};

fn does_not_hold(principal: &RoleHolder, role_id: &str) -> Error {
    Error::NotFound {
        message: format!(
            "The {} '{}' does not hold role '{role_id}'.",
            principal.kind(),
            principal.id()
        ),
        param: Some("role_id"),
    }
}

/// The select of the roles a principal holds in a scope, as `(role columns)`, built as one or
/// two keyset-limited arms: the predefined role a user holds through the legacy field, and the
/// assignment rows. `$1` is the org, `$2` the scope's resource, `$3` the principal.
fn held_roles(
    sql: &mut Sql,
    scope: &RoleScope,
    principal: &RoleHolder,
    page: Option<&PageRequest>,
) {
    let org = sql.arg(scope.org_id.clone());
    let resource = sql.arg(scope.resource_id().to_owned());
    let who = sql.arg(principal.id().to_owned());
    let (bound, order, limit) = match page {
        Some(page) => {
            let (comparison, direction) = keyset_order(page.order);
            let bound = page
                .after
                .as_ref()
                .map(|after| format!(" AND r.id {comparison} {}", sql.arg(after.clone())))
                .unwrap_or_default();
            let limit = sql.arg(page.limit + 1);
            (
                bound,
                format!(" ORDER BY r.id {direction} LIMIT {limit}"),
                Some((direction, limit)),
            )
        }
        None => (String::new(), String::new(), None),
    };
    let mut arms = vec![format!(
        "SELECT * FROM ({SELECT_ROLE} JOIN role_assignments ra ON ra.role_id = r.id \
         WHERE ra.principal_id = {who} AND ra.resource_id = {resource} AND r.org_id = {org}{bound}{order}) AS assigned"
    )];
    if let RoleHolder::User(_) = principal {
        let legacy = match scope.project_id {
            None => format!("SELECT u.role FROM users u WHERE u.id = {who} AND u.org_id = {org}"),
            Some(_) => format!(
                "SELECT pu.role FROM project_users pu WHERE pu.user_id = {who} AND pu.project_id = {resource}"
            ),
        };
        arms.push(format!(
            "SELECT * FROM ({SELECT_ROLE} WHERE r.resource_id = {resource} AND r.predefined = 1 \
             AND r.name = ({legacy}){bound}) AS legacy"
        ));
    }
    sql.push(&format!(
        "SELECT * FROM ({}) AS held",
        arms.join(" UNION ALL ")
    ));
    if let Some((direction, limit)) = limit {
        sql.push(&format!(" ORDER BY held.id {direction} LIMIT {limit}"));
    }
}

/// The principal exists in the organization and, for a project scope, in the project (a
/// member, or a group with access).
async fn check_principal<'e>(
    executor: impl Into<db::Executor<'e>>,
    scope: &RoleScope,
    principal: &RoleHolder,
) -> Result<()> {
    let (table, column, kind, param) = match (principal, &scope.project_id) {
        (RoleHolder::User(_), None) => ("users", "id", "user", "user_id"),
        (RoleHolder::User(_), Some(_)) => (
            "project_users",
            "user_id",
            "member of this project",
            "user_id",
        ),
        (RoleHolder::Group(_), None) => ("org_groups", "id", "group", "group_id"),
        (RoleHolder::Group(_), Some(_)) => (
            "project_groups",
            "group_id",
            "group with access to this project",
            "group_id",
        ),
    };
    let mut sql = Sql::new(&format!(
        "SELECT t.{column} FROM {table} t WHERE t.{column} = "
    ));
    sql.bind(principal.id().to_owned());
    match &scope.project_id {
        Some(project) => sql.push(" AND t.project_id = ").bind(project.clone()),
        None => sql.push(" AND t.org_id = ").bind(scope.org_id.clone()),
    };
    let query = sql.build();
    let found: Option<(String,)> = query.fetch_optional(executor).await?;
    found
        .map(|_| ())
        .ok_or_else(|| Error::not_found(kind, principal.id(), param))
}

/// Gives a user the predefined role `role` of `scope`, as changing her (or her membership's)
/// role does; refused if she holds it already.
async fn set_predefined_role(
    tx: &mut Tx<'_>,
    scope: &RoleScope,
    user_id: &UserId,
    role: &Role,
) -> Result<()> {
    let already = || already_holds(&RoleHolder::User(user_id.clone()), role);
    // The organization or project is locked before her role is read, so that of two concurrent
    // assignments the second sees the first's.
    match &scope.project_id {
        None => {
            let new = OrgRole::from_str(&role.name)?;
            let current = tx.user_losing_role(user_id, new).await?;
            if current.role == new {
                return Err(already());
            }
            tx.write_user_role(current, new).await?;
        }
        Some(project) => {
            let new = ProjectRole::parse(&role.name, "role_id")?;
            tx.lock_project(&scope.org_id, project)
                .await?
                .check_active()?;
            let current = find_member(&mut *tx.conn, &scope.org_id, project, user_id)
                .await?
                .ok_or_else(|| not_a_member(user_id))?;
            if current.role == new {
                return Err(already());
            }
            tx.write_member_role(project, current, new).await?;
        }
    }
    Ok(())
}

impl Store {
    pub async fn list_role_assignments(
        &self,
        scope: &RoleScope,
        principal: &RoleHolder,
        page: &PageRequest,
    ) -> Result<Page<Role>> {
        self.check_scope(scope).await?;
        check_principal(&self.db, scope, principal).await?;
        let mut sql = Sql::new("");
        held_roles(&mut sql, scope, principal, Some(page));
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_role_assignment(
        &self,
        scope: &RoleScope,
        principal: &RoleHolder,
        role_id: &RoleId,
    ) -> Result<Role> {
        let role_id = scope.role_id(role_id);
        let mut sql = Sql::new("");
        held_roles(&mut sql, scope, principal, None);
        sql.push(" WHERE held.id = ").bind(role_id.clone());
        let query = sql.build();
        let found = query.fetch_optional(&self.db).await?;
        let parents = async {
            self.check_scope(scope).await?;
            check_principal(&self.db, scope, principal).await
        };
        Store::found_or(found, parents, || does_not_hold(principal, &role_id)).await
    }

    /// The role `role_id` names in `scope`: 404 if it names none, 400 if it names a role of
    /// another scope.
    async fn role_in_scope(tx: &mut Tx<'_>, scope: &RoleScope, role_id: &str) -> Result<Role> {
        match tx.lock_role(scope, role_id).await {
            Ok(role) => Ok(role),
            Err(not_found) => {
                let elsewhere: Option<(String,)> = db::query(
                    "SELECT r.resource_id FROM roles r WHERE r.org_id = $1 AND r.id = $2",
                )
                .bind(scope.org_id.clone())
                .bind(role_id.to_owned())
                .fetch_optional(&mut *tx.conn)
                .await?;
                match elsewhere {
                    Some((resource,)) => Err(Error::invalid(
                        format!(
                            "Role '{role_id}' belongs to '{resource}', not to '{}'; assign a role of the same scope.",
                            scope.resource_id()
                        ),
                        "role_id",
                    )),
                    None => Err(not_found),
                }
            }
        }
    }

    /// Assigns a role, in one transaction. For a user's predefined role this changes the user's
    /// (or membership's) `role`, with the same rules and event as changing it there.
    pub async fn assign_role(
        &self,
        author: &Author,
        scope: &RoleScope,
        principal: &RoleHolder,
        role_id: &str,
    ) -> Result<Role> {
        let role_id = scope.role_id(role_id);
        let assigned = transact!(self, author, |tx| {
            tx.check_scope_active(scope).await?;
            let role = Store::role_in_scope(tx, scope, &role_id).await?;
            // Outside the project, a principal needs adding first: a 400, not a missing object.
            check_principal(&mut *tx.conn, scope, principal)
                .await
                .map_err(|e| match (e, &scope.project_id) {
                    (Error::NotFound { message, param }, Some(_)) => Error::Invalid {
                        message: format!(
                            "{message}; add it to the project before assigning it a project role."
                        )
                        .into(),
                        param: param.map(Into::into),
                        code: None,
                    },
                    (e, _) => e,
                })?;
            match principal {
                RoleHolder::User(user_id) if role.is_predefined() => {
                    set_predefined_role(tx, scope, user_id, &role).await?;
                }
                _ => tx.insert_role_assignment(scope, principal, &role).await?,
            }
            Ok(role)
        });
        if scope.project_id.is_none() {
            // A demoted owner's admin keys stop working: forget the cached ones (after the
            // commit, as for a deleted key).
            self.keys.clear();
        }
        assigned
    }

    /// Unassigns a role. A user's predefined role can only be replaced (by assigning another),
    /// since every user and member holds one.
    pub async fn unassign_role(
        &self,
        author: &Author,
        scope: &RoleScope,
        principal: &RoleHolder,
        role_id: &RoleId,
    ) -> Result<()> {
        let role_id = scope.role_id(role_id);
        transact!(self, author, |tx| {
            let role = Store::role_in_scope(tx, scope, &role_id).await?;
            if let (RoleHolder::User(_), true) = (principal, role.is_predefined()) {
                return Err(Error::invalid(
                    format!(
                        "A user always holds one predefined role; assign another predefined role instead of unassigning '{}'.",
                        role.name
                    ),
                    "role_id",
                ));
            }
            if let RoleHolder::Group(group_id) = principal {
                tx.lock_group(&scope.org_id, group_id).await?;
            } else {
                tx.find_user(&scope.org_id, principal.id())
                    .await?
                    .ok_or_else(|| Error::not_found("user", principal.id(), "user_id"))?;
            }
            let removed: Option<(String,)> = db::query(
                "DELETE FROM role_assignments WHERE principal_id = $1 AND resource_id = $2 AND role_id = $3 RETURNING id",
            )
            .bind(principal.id().to_owned())
            .bind(scope.resource_id().to_owned())
            .bind(role.id.clone())
            .fetch_optional(&mut *tx.conn)
            .await?;
            let Some((id,)) = removed else {
                return Err(does_not_hold(principal, &role.id));
            };
            let event = assignment_event("role.assignment.deleted", &id, scope, principal);
            tx.record(event).await
        })
    }

    /// Every role a user holds, herself and through her groups, in the organization and in
    /// every project: the grants `Access::union` combines.
    pub async fn grants_of_user(&self, org_id: &str, user_id: &str) -> Result<Vec<Grant>> {
        let rows: Vec<(Option<String>, String)> = db::query(
            "SELECT NULL AS project_id, r.permissions FROM users u JOIN roles r ON r.resource_id = u.org_id AND r.predefined = 1 AND r.name = u.role \
               WHERE u.org_id = $1 AND u.id = $2 \
             UNION ALL SELECT pu.project_id, r.permissions FROM project_users pu JOIN roles r ON r.resource_id = pu.project_id AND r.predefined = 1 AND r.name = pu.role \
               WHERE pu.org_id = $1 AND pu.user_id = $2 \
             UNION ALL SELECT ra.project_id, r.permissions FROM role_assignments ra JOIN roles r ON r.id = ra.role_id \
               WHERE ra.org_id = $1 AND ra.user_id = $2 \
             UNION ALL SELECT ra.project_id, r.permissions FROM group_users gu JOIN role_assignments ra ON ra.group_id = gu.group_id JOIN roles r ON r.id = ra.role_id \
               WHERE ra.org_id = $1 AND gu.user_id = $2",
        )
        .bind(org_id.to_owned())
        .bind(user_id.to_owned())
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(project_id, permissions)| Grant {
                project_id,
                permissions: serde_json::from_str(&permissions).unwrap_or_default(),
            })
            .collect())
    }
}
