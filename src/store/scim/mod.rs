//! SCIM 2.0: the identity provider's tokens, and its users and groups, read and written in the
//! same tables as the Admin API's, each change one transaction with its audit event. Lists and
//! their counts are `list.rs`; filters as SQL, `filter.rs`.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::backend::Backend;
use super::db;
use super::{Author, Store};
use crate::domain::audit::{Actor, Event};
use crate::domain::ids;
use crate::domain::scim::{
    Precondition, ScimGroup, ScimUser, StoredGroup, StoredUser, changed_since,
};
use crate::domain::user::OrgRole;
use crate::domain::{Error, Result, name, secret};

mod filter;
mod list;

pub(super) use list::PageStarts;

/// SCIM tokens are shown once with this prefix; the rest is random.
pub const TOKEN_PREFIX: &str = "scim-";

const SELECT_SCIM_USER: &str = "SELECT u.id, u.email, u.name, u.role, u.added_at, u.scim_managed, \
     u.active, u.user_name, u.external_id, u.scim_resource, u.updated_at, u.version FROM users u";

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
                "INSERT INTO users (id, org_id, email, name, role, added_at, updated_at, user_name, scim_managed, active, external_id, scim_resource, version, \
                 user_name_folded, name_folded) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, 1, $8, $9, $10, 1, $11, $12)",
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
            .bind(user.resource.to_string())
            .bind(name::folded(&user.user_name))
            .bind(user.sent_display_name().as_deref().map(name::folded))
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
    /// result, refused (412) unless `precondition` holds for her version. The organization keeps
    /// an owner; a suspended or demoted user's keys stop at once.
    pub async fn change_scim_user(
        &self,
        author: &Author,
        user_id: &str,
        precondition: &Precondition,
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
            if !precondition.holds(current.version) {
                return Err(changed_since("User", user_id, current.version));
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
                 scim_resource = $7, scim_managed = 1, updated_at = $8, version = version + 1, \
                 user_name_folded = $11, name_folded = $12 WHERE org_id = $9 AND id = $10",
            )
            .bind(user.email.clone())
            .bind(user.display_name.clone())
            .bind(user.role)
            .bind(user.user_name.clone())
            .bind(i64::from(user.active))
            .bind(user.external_id.clone())
            .bind(user.resource.to_string())
            .bind(tx.now)
            .bind(author.org_id.clone())
            .bind(user_id.to_owned())
            .bind(name::folded(&user.user_name))
            .bind(user.sent_display_name().as_deref().map(name::folded))
            .execute_unique(&mut *tx.conn, || taken(&user))
            .await?;
            let details =
                json!({"id": user_id, "changes_requested": user_changes(&current, &user)});
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

const SELECT_SCIM_GROUP: &str = "SELECT g.id, g.name, g.created_at, g.scim_managed, g.external_id, \
     g.updated_at, g.version FROM org_groups g";

/// A group with its members' user ids.
pub type GroupWithMembers = (StoredGroup, Vec<String>);

impl Store {
    /// A group, with its members when `with_members` (else none).
    pub async fn get_scim_group(
        &self,
        org_id: &str,
        group_id: &str,
        with_members: bool,
    ) -> Result<GroupWithMembers> {
        let group: StoredGroup = db::query(format!(
            "{SELECT_SCIM_GROUP} WHERE g.org_id = $1 AND g.id = $2"
        ))
        .bind(org_id.to_owned())
        .bind(group_id.to_owned())
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| no_such_group(group_id))?;
        let members = match with_members {
            true => members_of_one(&self.db, self.backend, &group.id).await?,
            false => Vec::new(),
        };
        Ok((group, members))
    }

    /// Creates a group as the identity provider describes it, with its members: managed by SCIM.
    pub async fn create_scim_group(
        &self,
        author: &Author,
        group: &ScimGroup,
    ) -> Result<GroupWithMembers> {
        let id = ids::new_id(ids::GROUP);
        transact!(self, author, |tx| {
            db::query(
                "INSERT INTO org_groups (id, org_id, name, created_at, updated_at, scim_managed, external_id, version, name_folded) \
                 VALUES ($1, $2, $3, $4, $4, 1, $5, 1, $6)",
            )
            .bind(id.clone())
            .bind(author.org_id.clone())
            .bind(group.display_name.clone())
            .bind(tx.now)
            .bind(group.external_id.clone())
            .bind(name::folded(&group.display_name))
            .execute(&mut *tx.conn)
            .await?;
            let details = json!({"id": id, "data": {"group_name": group.display_name}});
            tx.record(Event::new("group.created", &id, details)).await?;
            set_members(tx, &id, &[], &group.members).await?;
            let created = StoredGroup {
                id: id.clone(),
                name: group.display_name.clone(),
                created_at: tx.now,
                scim_managed: true,
                external_id: group.external_id.clone(),
                updated_at: tx.now,
                version: 1,
            };
            Ok((
                created,
                members_of_one(&mut *tx.conn, tx.backend, &id).await?,
            ))
        })
    }

    /// Changes a group as `change` says, given it and its members' ids (none are read when
    /// `members` names those that change): a PUT's replacement or a PATCH's result, refused (412)
    /// unless `precondition` holds for its version. Returns the group as the change left it,
    /// with its members when `with_members`.
    pub async fn change_scim_group(
        &self,
        author: &Author,
        group_id: &str,
        precondition: &Precondition,
        members: MemberChange<'_>,
        change: impl Fn(&StoredGroup, &[String]) -> Result<ScimGroup>,
        with_members: bool,
    ) -> Result<GroupWithMembers> {
        transact!(self, author, |tx| {
            let current: StoredGroup = db::query(format!(
                "{SELECT_SCIM_GROUP} WHERE g.org_id = $1 AND g.id = $2{}",
                tx.backend.for_update_of("g")
            ))
            .bind(author.org_id.clone())
            .bind(group_id.to_owned())
            .fetch_optional(&mut *tx.conn)
            .await?
            .ok_or_else(|| no_such_group(group_id))?;
            if !precondition.holds(current.version) {
                return Err(changed_since("Group", group_id, current.version));
            }
            let before = match members {
                MemberChange::Replaced => {
                    members_of_one(&mut *tx.conn, tx.backend, group_id).await?
                }
                MemberChange::Named(_) => Vec::new(),
            };
            let group = change(&current, &before)?;
            db::query(
                "UPDATE org_groups SET name = $1, external_id = $2, scim_managed = 1, updated_at = $3, \
                 version = version + 1, name_folded = $5 WHERE id = $4",
            )
            .bind(group.display_name.clone())
            .bind(group.external_id.clone())
            .bind(tx.now)
            .bind(group_id.to_owned())
            .bind(name::folded(&group.display_name))
            .execute(&mut *tx.conn)
            .await?;
            let members_changed = match members {
                MemberChange::Named(named) => {
                    let ids = |member: bool| -> Vec<&String> {
                        named
                            .iter()
                            .filter(|(_, after)| *after == member)
                            .map(|(id, _)| id)
                            .collect()
                    };
                    change_members(tx, group_id, &ids(true), &ids(false)).await?
                }
                MemberChange::Replaced => {
                    set_members(tx, group_id, &before, &group.members).await?
                }
            };
            // The name is recorded when it changes, or when nothing else is (every change has
            // its event); a change of members alone records them alone, as the Admin API does.
            if group.display_name != current.name || !members_changed {
                let details = json!({"id": group_id, "changes_requested": {"group_name": group.display_name}});
                tx.record(Event::new("group.updated", group_id, details))
                    .await?;
            }
            let changed = StoredGroup {
                name: group.display_name,
                external_id: group.external_id,
                scim_managed: true,
                updated_at: tx.now,
                version: current.version + 1,
                ..current
            };
            let members = match with_members {
                true => members_of_one(&mut *tx.conn, tx.backend, group_id).await?,
                false => Vec::new(),
            };
            Ok((changed, members))
        })
    }

    /// Deletes a group SCIM manages (or any group: the identity provider may take one over),
    /// unless `precondition` does not hold for its version (412: the deletion rolls back).
    pub async fn delete_scim_group(
        &self,
        author: &Author,
        group_id: &str,
        precondition: &Precondition,
    ) -> Result<()> {
        transact!(self, author, |tx| {
            let deleted: Option<(i64,)> =
                db::query("DELETE FROM org_groups WHERE org_id = $1 AND id = $2 RETURNING version")
                    .bind(author.org_id.clone())
                    .bind(group_id.to_owned())
                    .fetch_optional(&mut *tx.conn)
                    .await?;
            let (version,) = deleted.ok_or_else(|| no_such_group(group_id))?;
            if !precondition.holds(version) {
                return Err(changed_since("Group", group_id, version));
            }
            tx.record(Event::new(
                "group.deleted",
                group_id,
                json!({"id": group_id}),
            ))
            .await
        })
    }
}

/// What a change of a user records of her: the role, state, address and name it changed, or, when
/// it changed none of them (an attribute Roster keeps as sent), all four as they are, so that
/// every change has its event.
fn user_changes(current: &StoredUser, changed: &ScimUser) -> serde_json::Value {
    let all = [
        (
            "role",
            json!(changed.role.as_str()),
            current.role != changed.role,
        ),
        (
            "active",
            json!(changed.active),
            current.active != changed.active,
        ),
        (
            "email",
            json!(changed.email),
            current.email != changed.email,
        ),
        (
            "name",
            json!(changed.display_name),
            current.name != changed.display_name,
        ),
    ];
    let any = all.iter().any(|(_, _, differs)| *differs);
    serde_json::Value::Object(
        all.into_iter()
            .filter(|(_, _, differs)| *differs || !any)
            .map(|(name, value, _)| (name.to_owned(), value))
            .collect(),
    )
}

/// The members' user ids of each of `group_ids`, in one query, in order.
async fn members_of<'e>(
    executor: impl Into<db::Executor<'e>>,
    backend: Backend,
    group_ids: &[&str],
) -> Result<HashMap<String, Vec<String>>> {
    if group_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = db::query(format!(
        "SELECT gu.group_id, gu.user_id FROM group_users gu \
         WHERE gu.group_id IN ({}) ORDER BY gu.group_id, gu.user_id",
        backend.json_strings("$1")
    ))
    .bind(serde_json::to_string(group_ids).unwrap_or_else(|_| "[]".into()))
    .fetch_all(executor)
    .await?;
    let mut by_group: HashMap<String, Vec<String>> = HashMap::new();
    for (group_id, user_id) in rows {
        by_group.entry(group_id).or_default().push(user_id);
    }
    Ok(by_group)
}

/// The members' user ids of one group, in order.
async fn members_of_one<'e>(
    executor: impl Into<db::Executor<'e>>,
    backend: Backend,
    group_id: &str,
) -> Result<Vec<String>> {
    Ok(members_of(executor, backend, &[group_id])
        .await?
        .remove(group_id)
        .unwrap_or_default())
}

/// Makes `wanted` the group's members (it has `current`), as `change_members` does.
async fn set_members(
    tx: &mut super::tx::Tx<'_>,
    group_id: &str,
    current: &[String],
    wanted: &[String],
) -> Result<bool> {
    // By sets, each id once, in the order named: a PUT may name thousands.
    let (current_set, wanted_set): (HashSet<&String>, HashSet<&String>) =
        (current.iter().collect(), wanted.iter().collect());
    let mut named = HashSet::new();
    let added: Vec<&String> = wanted
        .iter()
        .filter(|id| !current_set.contains(id) && named.insert(*id))
        .collect();
    let removed: Vec<&String> = current
        .iter()
        .filter(|id| !wanted_set.contains(id))
        .collect();
    change_members(tx, group_id, &added, &removed).await
}

/// Adds `added` to the group and takes `removed` from it, whoever of them is a member already or
/// not: each one added must be a user of the organization; one event names who was added and
/// who removed, of those that changed. Returns whether any changed.
async fn change_members(
    tx: &mut super::tx::Tx<'_>,
    group_id: &str,
    added: &[&String],
    removed: &[&String],
) -> Result<bool> {
    let as_json = |ids: &[&String]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    // Those that changed, in the order named.
    let changed = |named: &[&String], rows: Vec<(String,)>| -> Vec<String> {
        let rows: HashSet<String> = rows.into_iter().map(|(id,)| id).collect();
        named
            .iter()
            .filter(|id| rows.contains(id.as_str()))
            .map(|id| id.to_string())
            .collect()
    };
    let mut users_added = Vec::new();
    if !added.is_empty() {
        let org_id = tx.org_id()?;
        let known: HashSet<String> = db::query(format!(
            "SELECT id FROM users WHERE org_id = $1 AND id IN ({})",
            tx.backend.json_strings("$2")
        ))
        .bind(org_id.clone())
        .bind(as_json(added))
        .fetch_all(&mut *tx.conn)
        .await?
        .into_iter()
        .map(|(id,): (String,)| id)
        .collect();
        if let Some(unknown) = added.iter().find(|id| !known.contains(id.as_str())) {
            return Err(Error::Invalid {
                message: format!("No user with id '{unknown}' in this organization.").into(),
                param: None,
                code: Some("invalidValue"),
            });
        }
        // One statement for them all; one already a member (the Admin API may have added her
        // since) stays one.
        let rows = db::query(format!(
            "INSERT INTO group_users (group_id, user_id, added_at) SELECT $1, u.id, $2 \
             FROM users u WHERE u.org_id = $3 AND u.id IN ({}) ON CONFLICT DO NOTHING \
             RETURNING user_id",
            tx.backend.json_strings("$4")
        ))
        .bind(group_id.to_owned())
        .bind(tx.now)
        .bind(org_id)
        .bind(as_json(added))
        .fetch_all(&mut *tx.conn)
        .await?;
        users_added = changed(added, rows);
    }
    let mut users_removed = Vec::new();
    if !removed.is_empty() {
        let rows = db::query(format!(
            "DELETE FROM group_users WHERE group_id = $1 AND user_id IN ({}) RETURNING user_id",
            tx.backend.json_strings("$2")
        ))
        .bind(group_id.to_owned())
        .bind(as_json(removed))
        .fetch_all(&mut *tx.conn)
        .await?;
        users_removed = changed(removed, rows);
    }
    if users_added.is_empty() && users_removed.is_empty() {
        return Ok(false);
    }
    let details = json!({"id": group_id, "changes_requested": {"users_added": users_added, "users_removed": users_removed}});
    tx.record(Event::new("group.updated", group_id, details))
        .await?;
    Ok(true)
}

/// What a change of a group does to its members.
#[derive(Debug, Clone, Copy)]
pub enum MemberChange<'a> {
    /// They become exactly those the changed group names (a PUT, a PATCH applied whole).
    Replaced,
    /// Only these change, each a member after it or not (a PATCH of members by id).
    Named(&'a [(String, bool)]),
}

fn no_such_group(group_id: &str) -> Error {
    Error::NotFound {
        message: format!("No group with id '{group_id}'."),
        param: None,
    }
}

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
