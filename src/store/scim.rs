//! SCIM 2.0: the identity provider's tokens, and its users, read and written in the same tables
//! as the Admin API's, each change one transaction with its audit event.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::json;

use super::db;
use super::sql::Sql;
use super::{Author, Store};
use crate::domain::audit::{Actor, Event};
use crate::domain::ids;
use crate::domain::scim::{Column, Condition, Op, Operand, ScimUser, StoredUser};
use crate::domain::user::OrgRole;
use crate::domain::{Error, Result, secret};

/// SCIM tokens are shown once with this prefix; the rest is random.
pub const TOKEN_PREFIX: &str = "scim-";

const SELECT_SCIM_USER: &str = "SELECT u.id, u.email, u.name, u.role, u.added_at, u.scim_managed, \
     u.active, u.user_name, u.external_id, u.scim_name, u.scim_emails, u.updated_at, u.version FROM users u";

/// A SCIM token, as listed (never its value).
#[derive(Debug, Clone)]
pub struct ScimToken {
    pub id: String,
    pub org_id: String,
    pub name: Option<String>,
    pub created_at: i64,
    /// Compared again, in constant time, after the indexed lookup; never shown.
    pub digest: String,
    /// The organization's default project, which admin actions' events are associated with.
    pub default_project_id: Option<String>,
}

const SELECT_TOKEN: &str = "SELECT t.id, t.org_id, t.name, t.created_at, t.digest, o.default_project_id \
     FROM scim_tokens t JOIN organizations o ON o.id = t.org_id";

/// Where the pages of a walk through a list left off, so that the next page (`startIndex` one
/// past the last) starts after an id, not after counting rows. Identity providers walk lists in
/// order; a page asked out of turn finds its start by reading ids.
#[derive(Debug, Default)]
pub(super) struct PageStarts(Mutex<HashMap<(String, i64), String>>);

const PAGE_STARTS_KEPT: usize = 10_000;

impl PageStarts {
    fn get(&self, walk: &str, start_index: i64) -> Option<String> {
        let starts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        starts.get(&(walk.to_owned(), start_index)).cloned()
    }

    fn put(&self, walk: &str, start_index: i64, after: String) {
        let mut starts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if starts.len() >= PAGE_STARTS_KEPT {
            starts.clear();
        }
        starts.insert((walk.to_owned(), start_index), after);
    }
}

impl Store {
    /// Makes a SCIM token for `org_id`; returns it and its value, shown once.
    pub async fn create_scim_token(
        &self,
        author: &Author,
        name: Option<&str>,
    ) -> Result<(ScimToken, String)> {
        let value = secret::generate(TOKEN_PREFIX);
        let token = ScimToken {
            id: ids::new_id(ids::SCIM_TOKEN),
            org_id: author.org_id.clone(),
            name: name.map(str::to_owned),
            created_at: self.clock().now(),
            digest: secret::digest(&value),
            default_project_id: author.default_project_id.clone(),
        };
        transact!(self, author, |tx| {
            db::query("INSERT INTO scim_tokens (id, org_id, digest, name, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(token.id.clone())
                .bind(token.org_id.clone())
                .bind(token.digest.clone())
                .bind(token.name.clone())
                .bind(token.created_at)
                .execute(&mut *tx.conn)
                .await?;
            tx.record(Event::new(
                "scim.enabled",
                &token.id,
                json!({"id": token.id}),
            ))
            .await
        })?;
        Ok((token, value))
    }

    pub async fn list_scim_tokens(&self, org_id: &str) -> Result<Vec<ScimToken>> {
        db::query(format!("{SELECT_TOKEN} WHERE t.org_id = $1 ORDER BY t.id"))
            .bind(org_id.to_owned())
            .fetch_all(&self.db)
            .await
    }

    /// Revokes a token: the next request with it is refused.
    pub async fn revoke_scim_token(&self, author: &Author, token_id: &str) -> Result<()> {
        transact!(self, author, |tx| {
            let deleted = db::query("DELETE FROM scim_tokens WHERE org_id = $1 AND id = $2")
                .bind(author.org_id.clone())
                .bind(token_id.to_owned())
                .execute(&mut *tx.conn)
                .await?;
            if deleted == 0 {
                return Err(Error::not_found("SCIM token", token_id, "token_id"));
            }
            tx.record(Event::new(
                "scim.disabled",
                token_id,
                json!({"id": token_id}),
            ))
            .await
        })
    }

    /// The token with this digest: one lookup of a unique index.
    pub async fn authenticate_scim(&self, digest: &str) -> Result<Option<ScimToken>> {
        db::query(format!("{SELECT_TOKEN} WHERE t.digest = $1"))
            .bind(digest.to_owned())
            .fetch_optional(&self.db)
            .await
    }

    /// A page of the organization's users matching `filter`, `count` from the `start_index`th
    /// (1-based), and how many match in all.
    pub async fn list_scim_users(
        &self,
        org_id: &str,
        filter: Option<&Condition>,
        start_index: i64,
        count: i64,
    ) -> Result<(i64, Vec<StoredUser>)> {
        let matching = |select: &str| {
            let mut sql = Sql::new(select);
            sql.push(" WHERE u.org_id = ").bind(org_id.to_owned());
            if let Some(filter) = filter {
                sql.push(" AND ");
                push_condition(&mut sql, filter, user_column);
            }
            sql
        };
        let (total,): (i64,) = matching("SELECT COUNT(*) FROM users u")
            .build()
            .fetch_one(&self.db)
            .await?;
        if count == 0 || start_index > total {
            return Ok((total, Vec::new()));
        }
        let walk = format!("{org_id} {filter:?}");
        let after = match start_index {
            1 => None,
            _ => match self.scim_pages.get(&walk, start_index) {
                Some(after) => Some(after),
                None => {
                    // Out of turn: the id just before the start, read from the index.
                    let mut skip = matching("SELECT u.id FROM users u");
                    skip.push(" ORDER BY u.id LIMIT ").bind(start_index - 1);
                    let skipped: Vec<(String,)> = skip.build().fetch_all(&self.db).await?;
                    skipped.last().map(|(id,)| id.clone())
                }
            },
        };
        let mut page = matching(SELECT_SCIM_USER);
        if let Some(after) = after {
            page.push(" AND u.id > ").bind(after);
        }
        page.push(" ORDER BY u.id LIMIT ").bind(count);
        let users: Vec<StoredUser> = page.build().fetch_all(&self.db).await?;
        if let Some(last) = users.last() {
            self.scim_pages
                .put(&walk, start_index + users.len() as i64, last.id.clone());
        }
        Ok((total, users))
    }

    pub async fn get_scim_user(&self, org_id: &str, user_id: &str) -> Result<StoredUser> {
        db::query(format!(
            "{SELECT_SCIM_USER} WHERE u.org_id = $1 AND u.id = $2"
        ))
        .bind(org_id.to_owned())
        .bind(user_id.to_owned())
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| no_such_user(user_id))
    }

    /// Creates a user as the identity provider describes her: managed by SCIM, no invitation.
    pub async fn create_scim_user(&self, author: &Author, user: &ScimUser) -> Result<StoredUser> {
        let id = ids::new_id(ids::USER);
        let created = transact!(self, author, |tx| {
            if user.role == OrgRole::Owner || !user.active {
                tx.lock_organization(&author.org_id).await?;
            }
            db::query(
                "INSERT INTO users (id, org_id, email, name, role, added_at, updated_at, user_name, scim_managed, active, external_id, scim_name, scim_emails, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7, 1, $8, $9, $10, $11, 1)",
            )
            .bind(id.clone())
            .bind(author.org_id.clone())
            .bind(user.email.clone())
            .bind(user.display_name.clone())
            .bind(user.role)
            .bind(tx.now)
            .bind(user.user_name.clone())
            .bind(i64::from(user.active))
            .bind(user.external_id.clone())
            .bind(user.name.as_ref().map(|n| n.to_string()))
            .bind(user.emails.as_ref().map(|e| e.to_string()))
            .execute_unique(&mut *tx.conn, || taken(user))
            .await?;
            let details =
                json!({"id": id, "data": {"email": user.email, "role": user.role.as_str()}});
            tx.record(Event::new("user.added", &id, details)).await?;
            db::query(format!("{SELECT_SCIM_USER} WHERE u.id = $1"))
                .bind(id.clone())
                .fetch_one(&mut *tx.conn)
                .await
        });
        self.keys.clear();
        created
    }

    /// Changes a user as `change` says, given her as stored: a PUT's replacement or a PATCH's
    /// result. Refused with 412 semantics (`version` mismatch) when `expected_version` is not
    /// hers. The organization keeps an owner; a suspended or demoted user's keys stop at once.
    pub async fn change_scim_user(
        &self,
        author: &Author,
        user_id: &str,
        expected_version: Option<i64>,
        change: impl Fn(&StoredUser) -> Result<ScimUser>,
    ) -> Result<StoredUser> {
        let changed = transact!(self, author, |tx| {
            // Changes that may take away an owner take turns (as the Admin API's do).
            tx.lock_organization(&author.org_id).await?;
            let current: StoredUser = db::query(format!(
                "{SELECT_SCIM_USER} WHERE u.org_id = $1 AND u.id = $2{}",
                tx.backend.for_update_of("u")
            ))
            .bind(author.org_id.clone())
            .bind(user_id.to_owned())
            .fetch_optional(&mut *tx.conn)
            .await?
            .ok_or_else(|| no_such_user(user_id))?;
            if expected_version.is_some_and(|v| v != current.version) {
                return Err(Error::Invalid {
                    message: format!(
                        "User '{user_id}' has changed since (its version is {}); read it again.",
                        crate::domain::scim::etag(current.version)
                    )
                    .into(),
                    param: None,
                    code: Some(PRECONDITION_FAILED),
                });
            }
            let user = change(&current)?;
            let loses_ownership = current.role == OrgRole::Owner
                && current.active
                && (user.role != OrgRole::Owner || !user.active);
            if loses_ownership {
                tx.user_losing_ownership(user_id, true, "Demoting or suspending this user")
                    .await?;
            }
            db::query(
                "UPDATE users SET email = $1, name = $2, role = $3, user_name = $4, active = $5, external_id = $6, \
                 scim_name = $7, scim_emails = $8, scim_managed = 1, updated_at = $9, version = version + 1 \
                 WHERE org_id = $10 AND id = $11",
            )
            .bind(user.email.clone())
            .bind(user.display_name.clone())
            .bind(user.role)
            .bind(user.user_name.clone())
            .bind(i64::from(user.active))
            .bind(user.external_id.clone())
            .bind(user.name.as_ref().map(|n| n.to_string()))
            .bind(user.emails.as_ref().map(|e| e.to_string()))
            .bind(tx.now)
            .bind(author.org_id.clone())
            .bind(user_id.to_owned())
            .execute_unique(&mut *tx.conn, || taken(&user))
            .await?;
            let details = json!({"id": user_id, "changes_requested": {
                "role": user.role.as_str(), "active": user.active, "email": user.email, "name": user.display_name,
            }});
            tx.record(Event::new("user.updated", user_id, details))
                .await?;
            db::query(format!("{SELECT_SCIM_USER} WHERE u.id = $1"))
                .bind(user_id.to_owned())
                .fetch_one(&mut *tx.conn)
                .await
        });
        // A suspended or demoted user's admin keys stop now (the commit cleared the gateway's).
        self.keys.clear();
        changed
    }
}

/// `code` of the refusal of a change whose `If-Match` names another version: 412.
pub const PRECONDITION_FAILED: &str = "preconditionFailed";

fn no_such_user(user_id: &str) -> Error {
    Error::NotFound {
        message: format!("No user with id '{user_id}'."),
        param: None,
    }
}

fn taken(user: &ScimUser) -> Error {
    Error::Invalid {
        message: format!(
            "userName '{}' or email '{}' is already taken in this organization.",
            user.user_name, user.email
        )
        .into(),
        param: None,
        code: Some("uniqueness"),
    }
}

/// The SQL a filter's column stands for, over `users u`.
fn user_column(column: Column) -> &'static str {
    match column {
        Column::Id => "u.id",
        Column::UserName => "lower(u.user_name)",
        Column::ExternalId => "u.external_id",
        Column::Email => "u.email",
        Column::DisplayName => "lower(u.name)",
        Column::Active => "u.active",
        Column::Created => "u.added_at",
        Column::LastModified => "u.updated_at",
    }
}

/// Writes `condition` into `sql`, every value bound.
pub(super) fn push_condition(
    sql: &mut Sql,
    condition: &Condition,
    column: fn(Column) -> &'static str,
) {
    let group = |sql: &mut Sql, items: &[Condition], joiner: &str| {
        sql.push("(");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                sql.push(joiner);
            }
            push_condition(sql, item, column);
        }
        sql.push(")");
    };
    match condition {
        Condition::And(items) => group(sql, items, " AND "),
        Condition::Or(items) => group(sql, items, " OR "),
        Condition::Not(inner) => {
            sql.push("NOT (");
            push_condition(sql, inner, column);
            sql.push(")");
        }
        Condition::Present(c) => {
            let name = column(*c);
            sql.push(&format!("({name} IS NOT NULL AND {name} <> ''"));
            sql.push(")");
        }
        Condition::Compare(c, op, operand) => {
            let name = column(*c);
            let (text, like) = match (op, operand) {
                (Op::Co, Operand::Text(t)) => ("LIKE", Some(format!("%{}%", escape_like(t)))),
                (Op::Sw, Operand::Text(t)) => ("LIKE", Some(format!("{}%", escape_like(t)))),
                (Op::Ew, Operand::Text(t)) => ("LIKE", Some(format!("%{}", escape_like(t)))),
                (Op::Eq, _) => ("=", None),
                (Op::Ne, _) => ("<>", None),
                (Op::Gt, _) => (">", None),
                (Op::Ge, _) => (">=", None),
                (Op::Lt, _) => ("<", None),
                (Op::Le, _) => ("<=", None),
                // co, sw and ew on a number: the domain allows none.
                (Op::Co | Op::Sw | Op::Ew, Operand::Integer(_)) => ("=", None),
            };
            sql.push(&format!("{name} {text} "));
            match (like, operand) {
                (Some(pattern), _) => {
                    sql.bind(pattern).push(" ESCAPE '\\'");
                }
                (None, Operand::Text(t)) => {
                    sql.bind(t.clone());
                }
                (None, Operand::Integer(i)) => {
                    sql.bind(*i);
                }
            }
        }
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl ScimToken {
    /// The author of changes made with this token.
    pub fn author(&self) -> Author {
        Author {
            org_id: self.org_id.clone(),
            actor: Some(scim_actor(self)),
            default_project_id: self.default_project_id.clone(),
        }
    }
}

/// The actor of a change made through SCIM: the token, as an API key of the identity provider
/// (the contract's actors are sessions and API keys; the id, `scim_token_...`, says which).
pub fn scim_actor(token: &ScimToken) -> Actor {
    Actor {
        user_id: token.id.clone(),
        user_email: String::new(),
        key_id: Some(token.id.clone()),
        json: json!({
            "type": "api_key",
            "api_key": {"id": token.id, "type": "service_account", "service_account": {"id": token.id}},
        }),
    }
}
