//! A query assembled from optional clauses, with `$N` placeholders numbered as they are bound:
//! the one syntax both SQLite and PostgreSQL accept. (sqlx's `QueryBuilder<Any>` writes `?`,
//! which PostgreSQL refuses.)

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, AssertSqlSafe, Encode, Type};

use crate::domain::page::{Order, PageRequest};

pub struct Sql {
    text: String,
    args: AnyArguments,
    binds: usize,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_owned(),
            args: AnyArguments::default(),
            binds: 0,
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the placeholder for `value` and binds it.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: for<'q> Encode<'q, Any> + Type<Any> + Send + 'static,
    {
        let placeholder = self.arg(value);
        self.text.push_str(&placeholder);
        self
    }

    /// Binds `value` and returns its placeholder, to be pushed wherever the value is needed:
    /// a value used in several places is bound once.
    pub fn arg<T>(&mut self, value: T) -> String
    where
        T: for<'q> Encode<'q, Any> + Type<Any> + Send + 'static,
    {
        self.binds += 1;
        // Encoding the scalar types used here cannot fail.
        let _ = self.args.add(value);
        format!("${}", self.binds)
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
    pub fn build(self) -> (AssertSqlSafe<String>, AnyArguments) {
        (AssertSqlSafe(self.text), self.args)
    }
}

/// Whether a project key's owner has access to its project now (over the joins of a key with
/// `users u`, `project_users pu` and `service_accounts s`): a member, or a service account with a
/// role. Never NULL, so that `NOT` works too.
pub const OWNER_HAS_ACCESS: &str =
    "(COALESCE(s.role, 'none') IN ('owner', 'member') OR pu.user_id IS NOT NULL)";

/// How a keyset page compares to its cursor, and which way it sorts.
pub fn keyset_order(order: Order) -> (&'static str, &'static str) {
    match order {
        Order::Asc => (">", "ASC"),
        Order::Desc => ("<", "DESC"),
    }
}
