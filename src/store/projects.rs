//! Projects: list, create, retrieve, modify, archive.

use serde_json::{Map, Value, json};

use super::db;
use super::sql::Sql;
use super::tx::SELECT_PROJECT;
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::ids::ProjectId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::project::{NewProject, Project, ProjectChanges};
use crate::domain::{Error, Result, ids};

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

    pub async fn get_project(&self, org_id: &str, project_id: &ProjectId) -> Result<Project> {
        db::query(format!(
            "{SELECT_PROJECT} WHERE p.org_id = $1 AND p.id = $2"
        ))
        .bind(org_id.to_owned())
        .bind(project_id.to_owned())
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| Error::not_found("project", project_id, "project_id"))
    }

    pub async fn create_project(&self, author: &Author, new: NewProject) -> Result<Project> {
        let project_id = ids::new_id(ids::PROJECT);
        transact!(self, author, |tx| {
            tx.insert_project(
                &author.org_id,
                &project_id,
                &new.name,
                new.external_key_id.clone(),
                new.residency.clone(),
            )
            .await?;
            let details = json!({"id": project_id, "data": {"name": new.name, "title": new.name}});
            tx.record(Event::new("project.created", &project_id, details).in_project(&project_id))
                .await?;
            tx.lock_project(&author.org_id, &project_id).await
        })
    }

    pub async fn modify_project(
        &self,
        author: &Author,
        project_id: &ProjectId,
        changes: ProjectChanges,
    ) -> Result<Project> {
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
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_can_modify()?;
            db::query(
                "UPDATE projects SET name = COALESCE($1, name), external_key_id = COALESCE($2, external_key_id) \
                 WHERE org_id = $3 AND id = $4",
            )
            .bind(changes.name.clone())
            .bind(changes.external_key_id.clone())
            .bind(author.org_id.clone())
            .bind(project_id.to_owned())
            .execute(&mut *tx.conn)
            .await?;
            let details = json!({"id": project_id, "changes_requested": requested});
            tx.record(Event::new("project.updated", project_id, details).in_project(project_id))
                .await?;
            tx.lock_project(&author.org_id, project_id).await
        })
    }

    pub async fn archive_project(
        &self,
        author: &Author,
        project_id: &ProjectId,
    ) -> Result<Project> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_can_archive()?;
            db::query("UPDATE projects SET archived_at = $1 WHERE org_id = $2 AND id = $3")
                .bind(tx.now)
                .bind(author.org_id.clone())
                .bind(project_id.to_owned())
                .execute(&mut *tx.conn)
                .await?;
            let event = Event::new("project.archived", project_id, json!({"id": project_id}))
                .in_project(project_id);
            tx.record(event).await?;
            tx.lock_project(&author.org_id, project_id).await
        })
    }
}
