//! SCIM 2.0: the identity provider's tokens, and its users, read and written in the same tables
//! as the Admin API's, each change one transaction with its audit event.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::json;

use super::backend::Backend;
use super::db;
use super::sql::Sql;
use super::{Author, Store};
use crate::domain::audit::{Actor, Event};
use crate::domain::ids;
use crate::domain::scim::{
    Column, Condition, Op, Operand, Precondition, ScimGroup, ScimUser, StoredGroup, StoredUser,
    changed_since,
};
use crate::domain::user::OrgRole;
use crate::domain::{Error, Result, name, secret};

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

/// Where the pages of a walk through a list left off, so that the next page (`startIndex` one
/// past the last) starts after an id, not after counting rows. Identity providers walk lists in
/// order; a page asked out of turn finds its start by reading ids.
#[derive(Debug, Default)]
pub(super) struct PageStarts(Mutex<HashMap<(String, i64), String>>);

const PAGE_STARTS_KEPT: usize = 10_000;

/// How many rows a SCIM list's count reads of one side (the matches, or the rest) before it
/// tries the other: a bound on the count's cost whenever either side is small.
const COUNTED_AT_MOST: i64 = 1_000;

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
        self.scim_page(&USER_LIST, org_id, filter, start_index, count)
            .await
    }

    /// A page of `list` in `org_id`, read after the id where the walk left off, and how many
    /// rows match in all.
    async fn scim_page<T: db::FromRow + HasId>(
        &self,
        list: &ScimList,
        org_id: &str,
        filter: Option<&Condition>,
        start_index: i64,
        count: i64,
    ) -> Result<(i64, Vec<T>)> {
        let alias = list.alias;
        let matching = |select: &str, negated: bool| {
            let mut sql = Sql::new(select);
            sql.push(&format!(" WHERE {alias}.org_id = "))
                .bind(org_id.to_owned());
            if let Some(filter) = filter {
                sql.push(" AND ");
                push_condition(&mut sql, filter, list, self.backend, negated);
            }
            sql
        };
        let walk = format!("{} {org_id} {filter:?}", list.table);
        let narrow = filter.is_some_and(|filter| !filter.is_broad());
        // A narrow filter's first page is read with its count, in one query, when it matches
        // few: what identity providers' lookups by `eq` get. When it matches many, the page
        // read is counted as any other.
        let mut first_page = None;
        if start_index == 1 && count > 0 && narrow {
            let (matched, found) = self
                .ordered_rows(list, &matching, list.select, None, count, true)
                .await?;
            self.remember_page(&walk, start_index, &found);
            match matched {
                Some(matched) => return Ok((matched, found)),
                None => first_page = Some(found),
            }
        }
        let (total, few) = self
            .scim_total(list, org_id, filter, &matching, first_page.is_some())
            .await?;
        if let Some(found) = first_page {
            return Ok((total, found));
        }
        if count == 0 || start_index > total {
            return Ok((total, Vec::new()));
        }
        let after = match start_index {
            1 => None,
            _ => match self.scim_pages.get(&walk, start_index) {
                Some(after) => Some(after),
                None => {
                    // Out of turn: the id just before the start, read from the index.
                    let ids = format!("SELECT {alias}.id FROM {}", list.from());
                    let (_, skipped): (_, Vec<(String,)>) = self
                        .ordered_rows(list, &matching, &ids, None, start_index - 1, few)
                        .await?;
                    skipped.last().map(|(id,)| id.clone())
                }
            },
        };
        let (_, found) = self
            .ordered_rows(list, &matching, list.select, after.as_deref(), count, few)
            .await?;
        self.remember_page(&walk, start_index, &found);
        Ok((total, found))
    }

    /// Rows of `select` matching (after the id `after`), in id order, at most `limit`. When
    /// the matches are `few` (under `COUNTED_AT_MOST`), their ids are found by the filter's own
    /// index (covering, where it can be), sorted and counted, and the page's rows read by id;
    /// else, or if they turn out not to be few after all, the ids are walked in order and each
    /// tested. (SQLite's planner walks the ids for `ORDER BY id LIMIT` even when a range of
    /// another index matches none, and scans the table for whole rows where its statistics call
    /// an index unselective.)
    async fn ordered_rows<R: db::FromRow>(
        &self,
        list: &ScimList,
        matching: &impl Fn(&str, bool) -> Sql,
        select: &str,
        after: Option<&str>,
        limit: i64,
        few: bool,
    ) -> Result<(Option<i64>, Vec<R>)> {
        if few {
            let sql = counted_page(list, matching, select, after, limit);
            let found: Vec<Counted<R>> = sql.build().fetch_all(&self.db).await?;
            let matched = found.first().map_or(0, |row| row.matched);
            if matched < COUNTED_AT_MOST {
                return Ok((
                    Some(matched),
                    found.into_iter().map(|row| row.row).collect(),
                ));
            }
        }
        let mut sql = matching(select, false);
        after_id(&mut sql, list, after);
        sql.push(&format!(" ORDER BY {}.id LIMIT ", list.alias))
            .bind(limit);
        Ok((None, sql.build().fetch_all(&self.db).await?))
    }

    /// Where the walk through `walk` that read `found` from `start_index` goes on.
    fn remember_page<T: HasId>(&self, walk: &str, start_index: i64, found: &[T]) {
        if let Some(last) = found.last() {
            self.scim_pages
                .put(walk, start_index + found.len() as i64, last.id().to_owned());
        }
    }

    /// How many rows of `list` in `org_id` match `filter`, and whether they are few (counted
    /// directly, under `COUNTED_AT_MOST`). Read from the organization's kept count when there
    /// is no filter; else by counting, up to `COUNTED_AT_MOST`, the side the filter's shape
    /// says is the smaller (the matches, or the rest, which the kept count less gives the
    /// matches), then the other side (the matches only if they are not known to be `many`);
    /// only when both sides are large, every row of the first side. Each count is one statement
    /// with the kept count, so both are of one moment.
    async fn scim_total(
        &self,
        list: &ScimList,
        org_id: &str,
        filter: Option<&Condition>,
        matching: &impl Fn(&str, bool) -> Sql,
        many: bool,
    ) -> Result<(i64, bool)> {
        let kept = format!(
            "(SELECT CAST(COALESCE(SUM(c.row_count), 0) AS BIGINT) FROM org_row_counts c \
             WHERE c.table_name = '{}' AND c.org_id = ",
            list.table
        );
        let Some(filter) = filter else {
            let mut sql = Sql::new(&format!("SELECT {kept}"));
            sql.bind(org_id.to_owned()).push(")");
            let (total,): (i64,) = sql.build().fetch_one(&self.db).await?;
            return Ok((total, false));
        };
        let sides: &[bool] = match (filter.is_broad(), many) {
            (true, _) => &[true, false],
            (false, true) => &[true],
            (false, false) => &[false, true],
        };
        // The rows on one side, at most `cap` of them, with the kept count.
        let count_side = |negated: bool, cap: Option<i64>| {
            let mut sql = matching(
                &format!(
                    "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM {}",
                    list.from()
                ),
                negated,
            );
            if let Some(cap) = cap {
                sql.push(" LIMIT ").bind(cap);
            }
            sql.push(&format!(") side), {kept}"))
                .bind(org_id.to_owned())
                .push(")");
            sql.build().fetch_one::<(i64, i64)>(&self.db)
        };
        // The matches, from the count of one side: itself, or the kept count less the rest.
        let matches = |negated: bool, (counted, kept_total): (i64, i64)| match negated {
            true => kept_total - counted,
            false => counted,
        };
        for &negated in sides {
            let counts = count_side(negated, Some(COUNTED_AT_MOST)).await?;
            if counts.0 < COUNTED_AT_MOST {
                return Ok((matches(negated, counts), !negated));
            }
        }
        // Both sides are large: every row of the one likely the smaller.
        let counts = count_side(sides[0], None).await?;
        Ok((matches(sides[0], counts), false))
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

const SELECT_SCIM_GROUP: &str = "SELECT g.id, g.name, g.created_at, g.scim_managed, g.external_id, \
     g.updated_at, g.version FROM org_groups g";

/// A group with its members' user ids.
pub type GroupWithMembers = (StoredGroup, Vec<String>);

impl Store {
    /// A page of the organization's groups matching `filter`, `count` from the `start_index`th,
    /// with their members when `with_members` (read in one query for the page; else none), and
    /// how many match in all.
    pub async fn list_scim_groups(
        &self,
        org_id: &str,
        filter: Option<&Condition>,
        start_index: i64,
        count: i64,
        with_members: bool,
    ) -> Result<(i64, Vec<GroupWithMembers>)> {
        let (total, groups): (i64, Vec<StoredGroup>) = self
            .scim_page(&GROUP_LIST, org_id, filter, start_index, count)
            .await?;
        let ids: Vec<&str> = match with_members {
            true => groups.iter().map(|g| g.id.as_str()).collect(),
            false => Vec::new(),
        };
        let mut members = members_of(&self.db, self.backend, &ids).await?;
        let with_members = groups
            .into_iter()
            .map(|g| {
                let of_group = members.remove(&g.id).unwrap_or_default();
                (g, of_group)
            })
            .collect();
        Ok((total, with_members))
    }

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
            let details =
                json!({"id": group_id, "changes_requested": {"group_name": group.display_name}});
            tx.record(Event::new("group.updated", group_id, details))
                .await?;
            match members {
                MemberChange::Named(named) => {
                    let ids = |member: bool| -> Vec<&String> {
                        named
                            .iter()
                            .filter(|(_, after)| *after == member)
                            .map(|(id, _)| id)
                            .collect()
                    };
                    change_members(tx, group_id, &ids(true), &ids(false)).await?;
                }
                MemberChange::Replaced => {
                    set_members(tx, group_id, &before, &group.members).await?;
                }
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
) -> Result<()> {
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
/// who removed, of those that changed.
async fn change_members(
    tx: &mut super::tx::Tx<'_>,
    group_id: &str,
    added: &[&String],
    removed: &[&String],
) -> Result<()> {
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
    if !users_added.is_empty() || !users_removed.is_empty() {
        let details = json!({"id": group_id, "changes_requested": {"users_added": users_added, "users_removed": users_removed}});
        tx.record(Event::new("group.updated", group_id, details))
            .await?;
    }
    Ok(())
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

/// The SQL a filter's column stands for, over `org_groups g`.
fn group_column(column: Column) -> &'static str {
    match column {
        Column::Id => "g.id",
        Column::ExternalId => "g.external_id",
        Column::DisplayName => "g.name_folded",
        Column::Created => "g.created_at",
        Column::LastModified => "g.updated_at",
        // The domain lets no group filter name these; members are asked by their own SQL.
        Column::UserName | Column::Email | Column::Active | Column::Member => "NULL",
    }
}

/// The column of SQLite's trigram index of `org_groups` (migrations 0013 and 0016) for a filter's column.
fn group_trigram_column(column: Column) -> Option<&'static str> {
    match column {
        Column::ExternalId => Some("external_id"),
        Column::DisplayName => Some("name_folded"),
        _ => None,
    }
}

/// What a SCIM list reads: its SELECT, its table (aliased) and how filters name its columns.
struct ScimList {
    select: &'static str,
    /// Also its name in `org_row_counts`, which keeps how many rows each organization has
    /// (migration 0014).
    table: &'static str,
    alias: &'static str,
    column: fn(Column) -> &'static str,
    /// The table's trigram index, and its column for a filter's column, where it has one.
    trigrams: (&'static str, fn(Column) -> Option<&'static str>),
}

/// Rows of `select` matching, after the id `after`, at most `limit`, each with how many match
/// (counted up to `COUNTED_AT_MOST`): the page's ids first, from the filter's own index, then
/// their rows by id. SQLite keeps a CROSS JOIN's order whatever its statistics say (PostgreSQL
/// plans it as any join): with statistics from before an import, which took the organization
/// for a handful of rows, SQLite read every user and ran the page's subquery again for each.
fn counted_page(
    list: &ScimList,
    matching: &impl Fn(&str, bool) -> Sql,
    select: &str,
    after: Option<&str>,
    limit: i64,
) -> Sql {
    let mut sql = matching(
        &format!(
            "SELECT x.*, m.matched FROM (SELECT id, COUNT(*) OVER () AS matched FROM \
             (SELECT {}.id FROM {}",
            list.alias,
            list.from()
        ),
        false,
    );
    after_id(&mut sql, list, after);
    sql.push(" LIMIT ")
        .bind(COUNTED_AT_MOST)
        .push(") ids ORDER BY id LIMIT ")
        .bind(limit)
        .push(&format!(
            ") m CROSS JOIN ({select}) x WHERE x.id = m.id ORDER BY x.id"
        ));
    sql
}

/// Narrows a list's query to the rows after the id `after`, if any.
fn after_id(sql: &mut Sql, list: &ScimList, after: Option<&str>) {
    if let Some(after) = after {
        sql.push(&format!(" AND {}.id > ", list.alias))
            .bind(after.to_owned());
    }
}

/// The SCIM Users list: the organization's users.
const USER_LIST: ScimList = ScimList {
    select: SELECT_SCIM_USER,
    table: "users",
    alias: "u",
    column: user_column,
    trigrams: ("users_search", user_trigram_column),
};

/// The SCIM Groups list: the organization's groups.
const GROUP_LIST: ScimList = ScimList {
    select: SELECT_SCIM_GROUP,
    table: "org_groups",
    alias: "g",
    column: group_column,
    trigrams: ("org_groups_search", group_trigram_column),
};

impl ScimList {
    /// The table, aliased.
    fn from(&self) -> String {
        format!("{} {}", self.table, self.alias)
    }
}

/// A row of a page read with how many rows matched.
struct Counted<R> {
    row: R,
    matched: i64,
}

impl<R: db::FromRow> db::FromRow for Counted<R> {
    fn from_row(row: &mut db::Row) -> Result<Self> {
        Ok(Counted {
            row: R::from_row(row)?,
            matched: row.get("matched")?,
        })
    }
}

/// A listed row's id, where the next page starts after.
trait HasId {
    fn id(&self) -> &str;
}

impl HasId for StoredUser {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for StoredGroup {
    fn id(&self) -> &str {
        &self.id
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

/// The SQL a filter's column stands for, over `users u`.
fn user_column(column: Column) -> &'static str {
    match column {
        Column::Id => "u.id",
        Column::UserName => "u.user_name_folded",
        Column::ExternalId => "u.external_id",
        Column::Email => "u.email",
        Column::DisplayName => "u.name_folded",
        Column::Active => "u.active",
        Column::Created => "u.added_at",
        Column::LastModified => "u.updated_at",
        // The domain lets no user filter name them.
        Column::Member => "NULL",
    }
}

/// The column of SQLite's trigram index of `users` (migrations 0013 and 0016) for a filter's column.
fn user_trigram_column(column: Column) -> Option<&'static str> {
    match column {
        Column::UserName => Some("user_name_folded"),
        Column::ExternalId => Some("external_id"),
        Column::Email => Some("email"),
        Column::DisplayName => Some("name_folded"),
        _ => None,
    }
}

/// Writes `condition` on `list`'s rows into `sql`, every value bound; its complement when
/// `negated`. A comparison with an absent value is false, so a filter is true or false on every
/// row (never SQL's unknown), and its complement is every other row of the organization.
/// Negation is pushed down to the comparisons, each written so that an index serves it.
fn push_condition(
    sql: &mut Sql,
    condition: &Condition,
    list: &ScimList,
    backend: Backend,
    negated: bool,
) {
    let column = list.column;
    let not = if negated { "NOT " } else { "" };
    // The items in halves, `((a OR b) OR (c OR d))`, not as one chain: SQLite parses a chain
    // into a tree as deep as it is long, and refuses one deeper than 1,000, where the grammar
    // allows 1,024 terms.
    fn group(
        sql: &mut Sql,
        items: &[Condition],
        and: bool,
        list: &ScimList,
        backend: Backend,
        negated: bool,
    ) {
        match items {
            [] => {
                sql.push(if and { "1 = 1" } else { "1 = 0" });
            }
            [item] => push_condition(sql, item, list, backend, negated),
            _ => {
                let (left, right) = items.split_at(items.len() / 2);
                sql.push("(");
                group(sql, left, and, list, backend, negated);
                sql.push(if and { " AND " } else { " OR " });
                group(sql, right, and, list, backend, negated);
                sql.push(")");
            }
        }
    }
    match (condition, negated) {
        (Condition::And(items), false) | (Condition::Or(items), true) => {
            group(sql, items, true, list, backend, negated)
        }
        (Condition::Or(items), false) | (Condition::And(items), true) => {
            group(sql, items, false, list, backend, negated)
        }
        (Condition::Not(inner), _) => push_condition(sql, inner, list, backend, !negated),
        // A group's members (the domain lets only groups name them, by eq and ne): `eq` is the
        // groups of the user's memberships, read from their index by user id; `ne` and `pr` ask
        // each group in turn, by the members' primary key.
        (Condition::Compare(Column::Member, Op::Eq, Operand::Text(user_id)), _) => {
            sql.push(&format!(
                "{}.id {not}IN (SELECT gm.group_id FROM group_users gm WHERE gm.user_id = ",
                list.alias
            ))
            .bind(user_id.clone())
            .push(")");
        }
        (Condition::Compare(Column::Member, _, Operand::Text(user_id)), _) => {
            sql.push(&format!(
                "{not}EXISTS (SELECT 1 FROM group_users gm WHERE gm.group_id = {}.id AND \
                 gm.user_id <> ",
                list.alias
            ))
            .bind(user_id.clone())
            .push(")");
        }
        (Condition::Present(Column::Member), _) => {
            sql.push(&format!(
                "{not}EXISTS (SELECT 1 FROM group_users gm WHERE gm.group_id = {}.id)",
                list.alias
            ));
        }
        // RFC 7643 §2.5 takes an empty string as unassigned; a flag or a time is present when
        // it is not null (comparing either with '' is an error on PostgreSQL).
        (Condition::Present(c), negated) => {
            let name = column(*c);
            sql.push(&match (c.is_text(), negated) {
                (true, false) => format!("({name} IS NOT NULL AND {name} <> '')"),
                (true, true) => format!("({name} IS NULL OR {name} = '')"),
                (false, false) => format!("{name} IS NOT NULL"),
                (false, true) => format!("{name} IS NULL"),
            });
        }
        // A prefix is a range of the index, [prefix, the next prefix): exactly the strings
        // that start with it, in code point order, which every column a filter compares has
        // (SQLite's BINARY; PostgreSQL's "C", migration 0018); its complement is the rest of
        // the index, below the range or above it. Not a LIKE: PostgreSQL would read the
        // trigram index for it rather than the range.
        (Condition::Compare(c, Op::Sw, Operand::Text(prefix)), _)
            if next_prefix(prefix).is_some() =>
        {
            let name = column(*c);
            let (from, to) = match negated {
                false => (format!("({name} >= "), format!(" AND {name} < ")),
                true => (
                    format!("({name} IS NULL OR {name} < "),
                    format!(" OR {name} >= "),
                ),
            };
            sql.push(&from)
                .bind(prefix.clone())
                .push(&to)
                .bind(next_prefix(prefix).unwrap_or_default())
                .push(")");
        }
        (Condition::Compare(c, op @ (Op::Co | Op::Sw | Op::Ew), Operand::Text(text)), _) => {
            let name = column(*c);
            // The index's LIKE ignores case and reads `_` and `%` as wildcards: it finds a few
            // more rows than match, never fewer, and the comparison after it decides. The rows
            // that do not match are no range of it.
            let candidates = match ((list.trigrams.1)(*c), negated) {
                (Some(indexed), false) => backend
                    .trigram_candidates(list.alias, list.trigrams.0, indexed)
                    .map(|(before, after)| {
                        sql.push("(")
                            .push(&before)
                            .bind(like_pattern(*op, text))
                            .push(after)
                            .push(" AND ");
                    }),
                _ => None,
            };
            if negated {
                sql.push(&format!("({name} IS NULL OR NOT "));
            }
            sql.push(&format!("({name} LIKE "))
                .bind(like_pattern(*op, &escape_like(text)))
                .push(" ESCAPE '\\'");
            // SQLite's LIKE ignores ASCII case: a case-exact column is also compared exactly
            // (ignoring case, both sides are folded already).
            if !c.ignores_case() && !text.is_empty() {
                let text = sql.arg(text.clone());
                sql.push(&match op {
                    Op::Co => format!(" AND replace({name}, {text}, '') <> {name}"),
                    Op::Sw => format!(" AND substr({name}, 1, length({text})) = {text}"),
                    _ => format!(
                        " AND length({name}) >= length({text}) \
                         AND substr({name}, length({name}) - length({text}) + 1) = {text}"
                    ),
                });
            }
            sql.push(")");
            if candidates.is_some() || negated {
                sql.push(")");
            }
        }
        (Condition::Compare(c, op, operand), _) => {
            let name = column(*c);
            let text = match (op, negated) {
                (Op::Eq, false) | (Op::Ne, true) => "=",
                (Op::Ne, false) | (Op::Eq, true) => "<>",
                (Op::Gt, false) | (Op::Le, true) => ">",
                (Op::Ge, false) | (Op::Lt, true) => ">=",
                (Op::Lt, false) | (Op::Ge, true) => "<",
                (Op::Le, false) | (Op::Gt, true) => "<=",
                // co, sw and ew on a flag or a time: the domain allows none (`operand`).
                (Op::Co | Op::Sw | Op::Ew, _) => {
                    if negated {
                        "<>"
                    } else {
                        "="
                    }
                }
            };
            if negated {
                sql.push(&format!("({name} IS NULL OR "));
            }
            sql.push(&format!("{name} {text} "));
            match operand {
                Operand::Text(t) => {
                    sql.bind(t.clone());
                }
                Operand::Integer(i) => {
                    sql.bind(*i);
                }
            }
            if negated {
                sql.push(")");
            }
        }
    }
}

/// The smallest string after every string that starts with `prefix`: its last character moved
/// one on. `None` for an empty prefix, or one whose last character has no successor.
fn next_prefix(prefix: &str) -> Option<String> {
    let last = prefix.chars().last()?;
    let next = char::from_u32(u32::from(last) + 1)?;
    Some(format!(
        "{}{next}",
        &prefix[..prefix.len() - last.len_utf8()]
    ))
}

/// The LIKE pattern of `co`, `sw` or `ew` around `text`.
fn like_pattern(op: Op, text: &str) -> String {
    match op {
        Op::Sw => format!("{text}%"),
        Op::Ew => format!("%{text}"),
        _ => format!("%{text}%"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scim::{Resource, parse_filter};
    use crate::store::TableWatch;
    use crate::store::tests::new_sqlite_store;

    /// A first page reads its ids first and then their rows by id, whatever SQLite's statistics
    /// say. With statistics taken when the organization had one user, before an import of
    /// 2,000, it read every user and ran the page's subquery again for each: an identity
    /// provider's `userName eq` lookup cost what the organization held until the next
    /// `ANALYZE`, and a `co` of many took a second.
    #[tokio::test]
    async fn a_first_page_reads_its_ids_first_whatever_the_statistics() {
        let (_dir, store) = new_sqlite_store().await;
        let users = |from: i64, to: i64| {
            db::query(format!(
                "INSERT INTO users (id, org_id, email, name, role, added_at, user_name, \
                 updated_at, user_name_folded, name_folded) WITH RECURSIVE n(i) AS \
                 (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {to}) SELECT \
                 'user-' || i, 'org-1', 'u' || i || '@example.com', 'U ' || i, 'reader', i, \
                 'u' || i || '@example.com', i, 'u' || i || '@example.com', 'u ' || i FROM n"
            ))
        };
        store
            .write_once(db::query(
                "INSERT INTO organizations (id, name, created_at, default_project_id) \
                 VALUES ('org-1', 'Org', 0, 'proj_1')",
            ))
            .await
            .unwrap();
        store.write_once(users(1, 1)).await.unwrap();
        // Statistics of one user, which Roster no longer keeps (`ANALYZED_FROM`), but which an
        // earlier version left.
        store.write_once(db::query("ANALYZE users")).await.unwrap();
        store.db.renew_readers();
        store.write_once(users(2, 2_000)).await.unwrap();
        for (filter, matched) in [
            (r#"userName eq "u1999@example.com""#, 1),
            (r#"userName co "@example.co""#, 2_000),
        ] {
            let condition = parse_filter(filter, Resource::User).unwrap();
            let explained = |select: &str, negated: bool| {
                let mut sql = Sql::new(&format!("EXPLAIN QUERY PLAN {select} WHERE u.org_id = "));
                sql.bind("org-1").push(" AND ");
                push_condition(&mut sql, &condition, &USER_LIST, Backend::Sqlite, negated);
                sql
            };
            let sql = counted_page(&USER_LIST, &explained, USER_LIST.select, None, 100);
            let plan: Vec<(i64, i64, i64, String)> =
                sql.build().fetch_all(&store.db).await.unwrap();
            // The outer loop: the page's ids, then each user by her id.
            let outer: Vec<&str> = plan
                .iter()
                .filter(|(_, parent, ..)| *parent == 0)
                .map(|(.., detail)| detail.as_str())
                .filter(|step| step.starts_with("SCAN") || step.starts_with("SEARCH"))
                .collect();
            assert_eq!(
                outer,
                [
                    "SCAN m",
                    "SEARCH u USING INDEX sqlite_autoindex_users_1 (id=?)"
                ],
                "{filter}: {plan:?}"
            );
            let (total, found) = store
                .list_scim_users("org-1", Some(&condition), 1, 100)
                .await
                .unwrap();
            assert_eq!(
                (total, found.len() as i64),
                (matched, matched.min(100)),
                "{filter}"
            );
        }
    }

    /// An index behind every filter: for each attribute and operator, SQLite's plan for the
    /// side of the filter that Roster reads first (the matches of a narrow filter, the rest of a
    /// broad one) searches an index (or the trigram table), never scans the table. Each filter
    /// matches few of the organization's 2,000 rows: for one that matches most, a scan is the
    /// right plan. Beside it are a thousand small organizations, as on a shared server: only
    /// the sampled statistics (STAT4) tell SQLite this one is large, not the average.
    #[tokio::test]
    async fn every_filter_is_served_by_an_index() {
        let (_dir, store) = new_sqlite_store().await;
        // A reader, opened and kept before the statistics exist.
        store.list_scim_tokens("org-1").await.unwrap();
        // An organization of 2,000 users and 2,000 groups, and beside it, as on a shared
        // server, a thousand of two each: the statistics' rows per organization (four) are far
        // from the large one's. And the statistics a server keeps: without them SQLite takes an
        // organization's rows for a handful.
        transact!(&store, |tx| {
            db::query(
                "INSERT INTO organizations (id, name, created_at, default_project_id) \
                 VALUES ('org-1', 'Org', 0, 'proj_1')",
            )
            .execute(&mut *tx.conn)
            .await?;
            db::query(
                "INSERT INTO organizations (id, name, created_at, default_project_id) \
                 WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999) \
                 SELECT 'org-s' || i, 'Small', 0, 'proj_s' || i FROM n",
            )
            .execute(&mut *tx.conn)
            .await?;
            for (org, tag) in [("'org-1'", ""), ("'org-s' || (i % 1000)", "s")] {
                for (table, columns, values) in [
                    (
                        "users",
                        "id, org_id, email, name, role, added_at, user_name, external_id, \
                         updated_at, user_name_folded, name_folded",
                        format!(
                            "'user-{tag}' || i, {org}, '{tag}u' || i || '@example.com', \
                             'U ' || i, 'reader', i, '{tag}u' || i || '@example.com', \
                             '{tag}x-' || i, i, '{tag}u' || i || '@example.com', 'u ' || i"
                        ),
                    ),
                    (
                        "org_groups",
                        "id, org_id, name, created_at, external_id, updated_at, name_folded",
                        format!(
                            "'group_{tag}' || i, {org}, 'G ' || i, i, '{tag}g-' || i, i, \
                             'g ' || i"
                        ),
                    ),
                ] {
                    db::query(format!(
                        "INSERT INTO {table} ({columns}) WITH RECURSIVE n(i) AS (SELECT 1 \
                         UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT {values} FROM n"
                    ))
                    .execute(&mut *tx.conn)
                    .await?;
                }
            }
            Ok(())
        })
        .unwrap();
        store
            .refresh_statistics(&mut TableWatch::default())
            .await
            .unwrap();
        let (analyzed,): (i64,) = db::query("SELECT COUNT(*) FROM sqlite_stat1")
            .fetch_one(&store.db)
            .await
            .unwrap();
        assert!(analyzed > 0, "the tables are analyzed");
        let (by_org,): (String,) =
            db::query("SELECT stat FROM sqlite_stat1 WHERE idx = 'users_updated_at'")
                .fetch_one(&store.db)
                .await
                .unwrap();
        assert_eq!(
            by_org.split(' ').take(2).collect::<Vec<_>>(),
            ["4000", "4"],
            "an organization has four users, as the statistics average them"
        );
        // Not the FTS5 indexes' shadow tables: statistics taken of them small slow every insert.
        let (shadows,): (i64,) = db::query(
            "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl IN \
             (SELECT name FROM pragma_table_list WHERE type = 'shadow')",
        )
        .fetch_one(&store.db)
        .await
        .unwrap();
        assert_eq!(shadows, 0, "the shadow tables are not analyzed");
        let date = "\"2026-11-30T00:00:00Z\"";
        let user_filters = [
            r#"id eq "user-abc""#.to_owned(),
            r#"userName eq "ada@example.com""#.into(),
            r#"userName sw "ada""#.into(),
            r#"userName co "ada""#.into(),
            r#"userName ew "example.com""#.into(),
            r#"userName gt "u9995""#.into(),
            r#"userName ne "ada@example.com""#.into(),
            r#"externalId eq "x-1""#.into(),
            r#"externalId co "x-199""#.into(),
            "externalId pr".into(),
            r#"emails.value eq "ada@example.com""#.into(),
            r#"emails[value co "u1999@"]"#.into(),
            r#"displayName eq "Ada""#.into(),
            r#"displayName ew "Ada""#.into(),
            "active eq false".into(),
            format!("meta.lastModified gt {date}"),
            format!("meta.created gt {date}"),
            r#"not (userName sw "ada")"#.into(),
            r#"userName eq "ada@example.com" or externalId eq "x-1""#.into(),
        ];
        let group_filters = [
            r#"id eq "group_abc""#.to_owned(),
            r#"displayName eq "Ops""#.into(),
            r#"displayName co "Ops""#.into(),
            r#"externalId eq "g-1""#.into(),
            r#"members eq "user-abc""#.into(),
            r#"id eq "group_abc" and members[value eq "user-abc"]"#.into(),
            r#"not (members.value eq "user-abc")"#.into(),
            format!("meta.lastModified ge {date}"),
            format!("meta.created ge {date}"),
        ];
        let cases = user_filters
            .iter()
            .map(|f| (Resource::User, &USER_LIST, f))
            .chain(
                group_filters
                    .iter()
                    .map(|f| (Resource::Group, &GROUP_LIST, f)),
            );
        for (resource, list, filter) in cases {
            let condition = parse_filter(filter, resource).unwrap();
            let mut sql = Sql::new(&format!(
                "EXPLAIN QUERY PLAN SELECT {alias}.id FROM {from} WHERE {alias}.org_id = ",
                alias = list.alias,
                from = list.from()
            ));
            sql.bind("org-1").push(" AND ");
            push_condition(
                &mut sql,
                &condition,
                list,
                Backend::Sqlite,
                condition.is_broad(),
            );
            let plan: Vec<(i64, i64, i64, String)> =
                sql.build().fetch_all(&store.db).await.unwrap();
            let steps: Vec<&str> = plan.iter().map(|(.., detail)| detail.as_str()).collect();
            // Neither a scan of the table nor a search of the organization's rows alone.
            let scan = format!("SCAN {}", list.alias);
            assert!(
                steps
                    .iter()
                    .all(|step| step.split(" USING").next() != Some(&scan)
                        && !step.ends_with("(org_id=?)")),
                "{filter}: {steps:?}"
            );
        }
    }
}
