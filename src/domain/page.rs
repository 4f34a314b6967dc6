//! Keyset pagination: the cursor is the last object's id, and ids sort in creation order.

use super::{Error, Result};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// One page request, validated.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: i64,
    pub order: Order,
}

/// The range and default of `limit` for one list operation, as the contract gives them.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub min: i64,
    pub max: i64,
    pub default: i64,
}

/// Most lists: 1 to 100, 20 by default.
pub const LIMITS: Limits = Limits {
    min: 1,
    max: MAX_LIMIT,
    default: DEFAULT_LIMIT,
};

impl PageRequest {
    pub fn new(after: Option<String>, limit: Option<i64>, order: Option<Order>) -> Result<Self> {
        Self::within(LIMITS, after, limit, order)
    }

    pub fn within(
        limits: Limits,
        after: Option<String>,
        limit: Option<i64>,
        order: Option<Order>,
    ) -> Result<Self> {
        let Limits { min, max, default } = limits;
        let limit = limit.unwrap_or(default);
        if !(min..=max).contains(&limit) {
            return Err(Error::Invalid {
                message: format!(
                    "Invalid 'limit': expected an integer between {min} and {max}, but got {limit} instead."
                )
                .into(),
                param: Some("limit".into()),
                code: Some("invalid_value"),
            });
        }
        Ok(PageRequest {
            after: after.filter(|a| !a.is_empty()),
            limit,
            order: order.unwrap_or_default(),
        })
    }
}

/// One page of results; `has_more` says whether another page follows.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with `limit + 1`: the extra row only signals more.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        Page {
            items: rows,
            has_more,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_more: self.has_more,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_must_be_between_1_and_100() {
        for bad in [0, -1, 101] {
            let err = PageRequest::new(None, Some(bad), None).unwrap_err();
            assert!(matches!(err, Error::Invalid { param: Some(ref p), .. } if p == "limit"));
        }
        assert_eq!(PageRequest::new(None, None, None).unwrap().limit, 20);
        assert_eq!(PageRequest::new(None, Some(100), None).unwrap().limit, 100);
        // An empty cursor is no cursor; a cursor is kept as given.
        let after = |a: &str| PageRequest::new(Some(a.into()), None, None).unwrap().after;
        assert_eq!(after(""), None);
        assert_eq!(after("user-1").as_deref(), Some("user-1"));
    }

    #[test]
    fn overfetch_sets_has_more() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2);
        assert_eq!(page.items, vec![1, 2]);
        assert!(page.has_more);
        let page = Page::from_overfetch(vec![1, 2], 2);
        assert!(!page.has_more);
    }
}
