//! Projects: list, create, retrieve, modify, archive.

use serde_json::{Map, Value, json};
use sqlx::{AnyConnection, AssertSqlSafe};

use super::roles::insert_predefined_roles;
use super::sql::Sql;
use super::{Author, Backend, Store, audit};
use crate::domain::audit::Event;
use crate::domain::page::{Page, PageRequest};
use crate::domain::project::{NewProject, Project, ProjectChanges};
use crate::domain::{Error, Result, ids};

const SELECT_PROJECT: &str = "SELECT p.id, p.name, p.created_at, p.archived_at, p.external_key_id, p.residency, \
     o.default_project_id FROM projects p JOIN organizations o ON o.id = p.org_id";

impl Store {
    pub async fn list_projects(
        &self,
        org_id: &str,
        page: &PageRequest,
        include_archived: bool,
    ) -> Result<Page<Project>> {
        let mut sql = Sql::new(SELECT_PROJECT);
        sql.push(" WHERE p.org_id = ").bind(org_id.to_owned());
        if !include_archived {
            sql.push(" AND p.archived_at IS NULL");
        }
        if let Some(after) = &page.after {
            sql.push(" AND p.id > ").bind(after.clone());
        }
        sql.push(" ORDER BY p.id LIMIT ").bind(page.limit + 1);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_project(&self, org_id: &str, project_id: &str) -> Result<Project> {
        sqlx::query_as(AssertSqlSafe(format!(
            "{SELECT_PROJECT} WHERE p.org_id = $1 AND p.id = $2"
        )))
        .bind(org_id.to_owned())
        .bind(project_id.to_owned())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| Error::not_found("project", project_id, "project_id"))
    }

    pub async fn create_project(&self, author: &Author, new: NewProject) -> Result<Project> {
        let now = self.clock.now();
        let project_id = ids::new_id(ids::PROJECT);
        transact!(self, |conn| {
            sqlx::query(
                "INSERT INTO projects (id, org_id, name, created_at, external_key_id, residency) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(project_id.clone())
            .bind(author.org_id.clone())
            .bind(new.name.clone())
            .bind(now)
            .bind(new.external_key_id.clone())
            .bind(new.residency.clone())
            .execute(&mut *conn)
            .await?;
            insert_predefined_roles(conn, &author.org_id, Some(&project_id), now).await?;
            let details = json!({"id": project_id, "data": {"name": new.name, "title": new.name}});
            audit::record(
                conn,
                author,
                Event::new("project.created", &project_id, details).in_project(&project_id),
                now,
            )
            .await?;
            lock_project(conn, self.backend, &author.org_id, &project_id).await
        })
    }

    pub async fn modify_project(
        &self,
        author: &Author,
        project_id: &str,
        changes: ProjectChanges,
    ) -> Result<Project> {
        let now = self.clock.now();
        let mut requested = Map::new();
        if let Some(name) = &changes.name {
            requested.insert("title".into(), Value::from(name.clone()));
        }
        if let Some(external_key_id) = &changes.external_key_id {
            requested.insert(
                "external_key_id".into(),
                Value::from(external_key_id.clone()),
            );
        }
        transact!(self, |conn| {
            lock_project(conn, self.backend, &author.org_id, project_id)
                .await?
                .check_can_modify()?;
            sqlx::query(
                "UPDATE projects SET name = COALESCE($1, name), external_key_id = COALESCE($2, external_key_id) \
                 WHERE org_id = $3 AND id = $4",
            )
            .bind(changes.name.clone())
            .bind(changes.external_key_id.clone())
            .bind(author.org_id.clone())
            .bind(project_id.to_owned())
            .execute(&mut *conn)
            .await?;
            let details = json!({"id": project_id, "changes_requested": requested});
            audit::record(
                conn,
                author,
                Event::new("project.updated", project_id, details).in_project(project_id),
                now,
            )
            .await?;
            lock_project(conn, self.backend, &author.org_id, project_id).await
        })
    }

    pub async fn archive_project(&self, author: &Author, project_id: &str) -> Result<Project> {
        let now = self.clock.now();
        transact!(self, |conn| {
            lock_project(conn, self.backend, &author.org_id, project_id)
                .await?
                .check_can_archive()?;
            sqlx::query("UPDATE projects SET archived_at = $1 WHERE org_id = $2 AND id = $3")
                .bind(now)
                .bind(author.org_id.clone())
                .bind(project_id.to_owned())
                .execute(&mut *conn)
                .await?;
            let event = Event::new("project.archived", project_id, json!({"id": project_id}))
                .in_project(project_id);
            audit::record(conn, author, event, now).await?;
            lock_project(conn, self.backend, &author.org_id, project_id).await
        })
    }
}

/// Reads a project inside a transaction, locking its row until the transaction ends.
pub(super) async fn lock_project(
    conn: &mut AnyConnection,
    backend: Backend,
    org_id: &str,
    project_id: &str,
) -> Result<Project> {
    select_project(conn, org_id, project_id, &backend.for_update_of("p")).await
}

/// Reads a project that a transaction adds to (a member, say) but does not change: adders run
/// side by side, and archiving the project waits for them.
pub(super) async fn share_project(
    conn: &mut AnyConnection,
    backend: Backend,
    org_id: &str,
    project_id: &str,
) -> Result<Project> {
    select_project(conn, org_id, project_id, &backend.for_share_of("p")).await
}

async fn select_project(
    conn: &mut AnyConnection,
    org_id: &str,
    project_id: &str,
    lock: &str,
) -> Result<Project> {
    sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT_PROJECT} WHERE p.org_id = $1 AND p.id = $2{lock}"
    )))
    .bind(org_id.to_owned())
    .bind(project_id.to_owned())
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("project", project_id, "project_id"))
}
