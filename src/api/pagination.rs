//! List parameters and the list shape the contract uses (`object: "list"`, `first_id`, ...).

use serde::{Deserialize, Serialize};

use crate::domain::Result;
use crate::domain::page::{Limits, Order, Page, PageRequest};

/// `after`, `limit` and, where the operation has it, `order`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub after: Option<String>,
    pub limit: Option<i64>,
    pub order: Option<Order>,
}

impl ListQuery {
    pub fn page(self) -> Result<PageRequest> {
        PageRequest::new(self.after, self.limit, self.order)
    }

    /// The page, for an operation whose `limit` has its own range and default.
    pub fn page_within(self, limits: Limits) -> Result<PageRequest> {
        PageRequest::within(limits, self.after, self.limit, self.order)
    }
}

/// An object that can be listed: it knows its id, which is also its cursor.
pub trait Listed {
    fn id(&self) -> &str;
}

#[derive(Debug, Serialize)]
pub struct List<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    pub has_more: bool,
}

impl<T: Listed> List<T> {
    pub fn new<U>(page: Page<U>, into: impl FnMut(U) -> T) -> Self {
        let page = page.map(into);
        List {
            object: "list",
            first_id: page.items.first().map(|o| o.id().to_owned()),
            last_id: page.items.last().map(|o| o.id().to_owned()),
            has_more: page.has_more,
            data: page.items,
        }
    }
}

/// The list shape of the newer operations (roles, groups): a `next` cursor instead of
/// `first_id`/`last_id`.
#[derive(Debug, Serialize)]
pub struct NextList<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub has_more: bool,
    pub next: Option<String>,
}

impl<T: Listed> NextList<T> {
    pub fn new<U>(page: Page<U>, into: impl FnMut(U) -> T) -> Self {
        let page = page.map(into);
        NextList {
            object: "list",
            next: page
                .has_more
                .then(|| page.items.last().map(|o| o.id().to_owned()))
                .flatten(),
            has_more: page.has_more,
            data: page.items,
        }
    }
}
