//! List parameters and the list shape the contract uses (`object: "list"`, `first_id`, ...).

use serde::{Deserialize, Serialize};

use crate::domain::Result;
use crate::domain::page::{Order, Page, PageRequest};

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
