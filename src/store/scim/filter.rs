//! A SCIM filter as SQL: each comparison written so that an index serves it, negation pushed
//! down to the comparisons, and the columns filters name.

use super::list::ScimList;
use super::*;
use crate::domain::scim::{Column, Condition, Op, Operand};
use crate::store::sql::Sql;

/// The SQL a filter's column stands for, over `org_groups g`.
pub(super) fn group_column(column: Column) -> &'static str {
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
pub(super) fn group_trigram_column(column: Column) -> Option<&'static str> {
    match column {
        Column::ExternalId => Some("external_id"),
        Column::DisplayName => Some("name_folded"),
        _ => None,
    }
}

/// The SQL a filter's column stands for, over `users u`.
pub(super) fn user_column(column: Column) -> &'static str {
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
pub(super) fn user_trigram_column(column: Column) -> Option<&'static str> {
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
pub(super) fn push_condition(
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
