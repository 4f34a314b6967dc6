//! Authenticates the caller's admin key into a `Principal`. Rules about what a principal may do
//! live in the domain; this only answers "who is this".

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::domain::principal::Principal;
use crate::domain::{Error, secret};

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        let Some(header) = header.filter(|h| !h.is_empty()) else {
            return Err(unauthenticated(
                "You didn't provide an API key. You need to provide your admin API key in an Authorization \
                 header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            ));
        };
        let presented = bearer(header).unwrap_or_default();
        let incorrect = || {
            unauthenticated(&format!(
                "Incorrect API key provided: {}.",
                secret::masked(presented)
            ))
        };
        if !secret::looks_like_admin_key(presented) {
            return Err(incorrect());
        }
        let digest = secret::digest(presented);
        let principal = state
            .store
            .authenticate(&digest)
            .await?
            .ok_or_else(incorrect)?;
        // The lookup matched the digest by index; compare again without leaking timing.
        if !secret::digests_match(&principal.key_digest, &digest) {
            return Err(incorrect());
        }
        let now = state.store.clock().now();
        if principal.is_expired(now) {
            return Err(unauthenticated(&format!(
                "The API key {} has expired.",
                secret::masked(presented)
            )));
        }
        if !principal.user_active {
            return Err(unauthenticated(&format!(
                "The API key {} belongs to a user whose account is suspended by the organization's identity provider.",
                secret::masked(presented)
            )));
        }
        if !principal.owner_is_owner() {
            return Err(unauthenticated(&format!(
                "The API key {} belongs to a user who is no longer an owner of this organization; \
                 admin API keys work only for organization owners.",
                secret::masked(presented)
            )));
        }
        let rate_limits = state
            .settings
            .emulator
            .as_ref()
            .and_then(|e| e.rate_limits.as_ref());
        if let Some(limits) = rate_limits {
            let route = parts
                .extensions
                .get::<MatchedPath>()
                .map_or_else(|| parts.uri.path(), MatchedPath::as_str);
            let endpoint = format!("{} {route}", parts.method);
            limits.admit(&principal.key_id, &endpoint, &principal.org_id, now)?;
        }
        if let Err(e) = state.store.touch_admin_key(&principal, now).await {
            tracing::warn!(error = %e, "could not record the key's last use");
        }
        Ok(principal)
    }
}

/// The credential of an `Authorization: Bearer ...` header value, if it is one.
pub(super) fn bearer(header: &str) -> Option<&str> {
    header
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, credential)| credential.trim())
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::Domain(Error::Unauthenticated {
        message: message.to_owned(),
    })
}
