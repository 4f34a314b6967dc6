//! A query assembled from optional clauses, with `$N` placeholders numbered as they are bound:
//! the one syntax both SQLite and PostgreSQL accept. (sqlx's `QueryBuilder<Any>` writes `?`,
//! which PostgreSQL refuses.)

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, AssertSqlSafe, Encode, Type};

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
        self.binds += 1;
        self.text.push('$');
        self.text.push_str(&self.binds.to_string());
        // Encoding the scalar types used here cannot fail.
        let _ = self.args.add(value);
        self
    }

    /// The text is built only from the constant fragments pushed; every value is bound.
    pub fn build(self) -> (AssertSqlSafe<String>, AnyArguments) {
        (AssertSqlSafe(self.text), self.args)
    }
}
