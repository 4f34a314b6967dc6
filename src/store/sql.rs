//! A query assembled from optional clauses, with `$N` placeholders numbered as they are bound.

use super::db::{Query, Value, query};
use crate::domain::page::{Order, PageRequest};

pub struct Sql {
    query: Query,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql { query: query(text) }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.query.push_text(text);
        self
    }

    /// Appends the placeholder for `value` and binds it.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        let placeholder = self.arg(value);
        self.query.push_text(&placeholder);
        self
    }

    /// Binds `value` and returns its placeholder, to be pushed wherever the value is needed:
    /// a value used in several places is bound once.
    pub fn arg(&mut self, value: impl Into<Value>) -> String {
        self.query.push_value(value.into())
    }

    /// Ends a list query with its keyset page: `AND <column> > $after ORDER BY <column>
    /// LIMIT $limit+1` (or `<` and `DESC`), the extra row telling whether more follow.
    pub fn keyset(&mut self, column: &str, page: &PageRequest) -> &mut Self {
        let (comparison, direction) = keyset_order(page.order);
        if let Some(after) = &page.after {
            self.push(&format!(" AND {column} {comparison} "))
                .bind(after.clone());
        }
        self.push(&format!(" ORDER BY {column} {direction} LIMIT "))
            .bind(page.limit + 1)
    }

    /// The text is built only from the constant fragments pushed; every value is bound.
    pub fn build(self) -> Query {
        self.query
    }
}

/// Whether a project key's owner has access to its project now (over the joins of a key with
/// `users u`, `project_users pu` and `service_accounts s`): a member not suspended (by SCIM),
/// or a service account with a role. Never NULL, so that `NOT` works too.
pub const OWNER_HAS_ACCESS: &str = "(COALESCE(s.role, 'none') IN ('owner', 'member') \
     OR (pu.user_id IS NOT NULL AND u.active = 1))";

/// How a keyset page compares to its cursor, and which way it sorts.
pub fn keyset_order(order: Order) -> (&'static str, &'static str) {
    match order {
        Order::Asc => (">", "ASC"),
        Order::Desc => ("<", "DESC"),
    }
}
