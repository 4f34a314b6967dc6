//! SCIM lists: a page of users or groups by a filter, from the indexes, and its exact count.

use std::collections::HashMap;
use std::sync::Mutex;

use super::filter::{
    group_column, group_trigram_column, push_condition, user_column, user_trigram_column,
};
use super::*;
use crate::domain::scim::{Column, Condition};
use crate::store::sql::Sql;

/// Where the pages of a walk through a list left off, so that the next page (`startIndex` one
/// past the last) starts after an id, not after counting rows. Identity providers walk lists in
/// order; a page asked out of turn finds its start by reading ids.
#[derive(Debug, Default)]
pub(in crate::store) struct PageStarts(Mutex<HashMap<(String, i64), String>>);

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
}

/// What a SCIM list reads: its SELECT, its table (aliased) and how filters name its columns.
pub(super) struct ScimList {
    pub(super) select: &'static str,
    /// Also its name in `org_row_counts`, which keeps how many rows each organization has
    /// (migration 0014).
    pub(super) table: &'static str,
    pub(super) alias: &'static str,
    pub(super) column: fn(Column) -> &'static str,
    /// The table's trigram index, and its column for a filter's column, where it has one.
    pub(super) trigrams: (&'static str, fn(Column) -> Option<&'static str>),
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
