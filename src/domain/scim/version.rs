//! Versions (RFC 7644 §3.14): a resource's ETag, and the conditions `If-Match` and
//! `If-None-Match` set on it.

use super::*;

/// `W/"3"`: a resource's version as its ETag.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The versions an `If-Match` or `If-None-Match` header names (RFC 7232 §3): `*`, any version,
/// or a list of ETags, each `W/"3"` or `"3"`.
#[derive(Debug, Clone, PartialEq)]
pub enum Versions {
    Any,
    Listed(Vec<i64>),
}

impl Versions {
    /// Reads the header `name`'s value.
    pub fn parse(name: &str, header: &str) -> ScimResult<Versions> {
        let header = header.trim();
        if header == "*" {
            return Ok(Versions::Any);
        }
        header
            .split(',')
            .map(|tag| {
                tag.trim()
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .parse::<i64>()
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Versions::Listed)
            .map_err(|_| {
                ScimError::bad(
                    "invalidValue",
                    format!("{name} '{header}' is not a list of Roster's ETags, nor '*'."),
                )
            })
    }

    fn include(&self, version: i64) -> bool {
        match self {
            Versions::Any => true,
            Versions::Listed(versions) => versions.contains(&version),
        }
    }
}

/// `code` of the refusal of a change whose precondition does not hold: 412.
pub const PRECONDITION_FAILED: &str = "preconditionFailed";

/// The refusal (412) of a request whose precondition does not hold for `what` `id` at `version`.
pub fn changed_since(what: &str, id: &str, version: i64) -> crate::domain::Error {
    crate::domain::Error::Invalid {
        message: format!(
            "{what} '{id}' has changed since (its version is {}); read it again.",
            etag(version)
        )
        .into(),
        param: None,
        code: Some(PRECONDITION_FAILED),
    }
}

/// A request's conditions on the version of the resource it names (RFC 7644 §3.14): `If-Match`
/// (one of these) and `If-None-Match` (none of these). ETags compare weakly, as SCIM's examples
/// send them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Precondition {
    pub if_match: Option<Versions>,
    pub if_none_match: Option<Versions>,
}

impl Precondition {
    /// Whether a change to the resource at `version` may go ahead; else 412.
    pub fn holds(&self, version: i64) -> bool {
        self.if_match.as_ref().is_none_or(|v| v.include(version))
            && !self
                .if_none_match
                .as_ref()
                .is_some_and(|v| v.include(version))
    }

    /// Whether a read of the resource at `version` is answered 304 Not Modified: the client
    /// holds it already.
    pub fn unchanged(&self, version: i64) -> bool {
        self.if_none_match
            .as_ref()
            .is_some_and(|v| v.include(version))
    }
}
