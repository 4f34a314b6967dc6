//! The emulator's controls (`roster serve --emulator`): the clock, a reset to the founded state
//! with the fixtures loaded again, and the real service's rate limits. Served only when on;
//! without `--emulator` these routes are unknown (404).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::Json;
use crate::domain::Error;
use crate::domain::fixtures::Fixtures;
use crate::domain::principal::Principal;

/// What `--emulator` turns on.
#[derive(Clone, Debug, Default)]
pub struct Emulator {
    /// Loaded at start and again by every reset.
    pub fixtures: Option<Arc<Fixtures>>,
    /// `--emulate-rate-limits`: requests a minute an admin key may make to one endpoint.
    pub rate_limits: Option<Arc<RateLimits>>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/emulator/clock", post(move_clock))
        .route("/emulator/reset", post(reset))
}

/// Exactly one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveClock {
    advance_seconds: Option<i64>,
    now: Option<i64>,
}

#[derive(Debug, Serialize)]
struct ClockObject {
    object: &'static str,
    now: i64,
}

/// The latest time the clock may show: the end of the year 9999.
const LATEST: i64 = 253_402_300_799;

async fn move_clock(
    State(state): State<AppState>,
    _caller: Principal,
    Json(body): Json<MoveClock>,
) -> ApiResult<axum::Json<ClockObject>> {
    let clock = state.store.clock();
    let (target, param) = match (body.advance_seconds, body.now) {
        (Some(seconds), None) => (clock.now().saturating_add(seconds), "advance_seconds"),
        (None, Some(now)) => (now, "now"),
        _ => {
            return Err(Error::invalid(
                "Give exactly one of 'advance_seconds' and 'now'.",
                "advance_seconds",
            )
            .into());
        }
    };
    if !(0..=LATEST).contains(&target) {
        return Err(Error::invalid(
            format!(
                "The clock would show {target}; it must stay between 0 and {LATEST} (Unix seconds)."
            ),
            param,
        )
        .into());
    }
    clock.set(target);
    Ok(axum::Json(ClockObject {
        object: "emulator.clock",
        now: clock.now(),
    }))
}

#[derive(Debug, Serialize)]
struct ResetObject {
    object: &'static str,
    organization_id: String,
    fixtures_loaded: bool,
}

async fn reset(
    State(state): State<AppState>,
    _caller: Principal,
) -> ApiResult<axum::Json<ResetObject>> {
    let organization = state.store.reset().await?;
    let fixtures = state
        .settings
        .emulator
        .as_ref()
        .and_then(|e| e.fixtures.as_ref());
    if let Some(fixtures) = fixtures {
        state.store.load_fixtures(fixtures).await?;
    }
    if let Some(limits) = state
        .settings
        .emulator
        .as_ref()
        .and_then(|e| e.rate_limits.as_ref())
    {
        limits.forget();
    }
    Ok(axum::Json(ResetObject {
        object: "emulator.reset",
        organization_id: organization.id,
        fixtures_loaded: fixtures.is_some(),
    }))
}

/// The real service's per-minute request limits, counted per admin key and endpoint (method and
/// route) in minutes of the emulator's clock, so that moving the clock moves the window too.
#[derive(Debug)]
pub struct RateLimits {
    per_minute: u32,
    used: Mutex<HashMap<(String, String), (i64, u32)>>,
}

impl RateLimits {
    pub fn new(per_minute: u32) -> Self {
        RateLimits {
            per_minute,
            used: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `key_id` to `endpoint` at `now`; refused once the minute's limit is
    /// used, with the seconds until the next minute.
    pub fn admit(
        &self,
        key_id: &str,
        endpoint: &str,
        org_id: &str,
        now: i64,
    ) -> Result<(), ApiError> {
        let minute = now.div_euclid(60);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let count = used
            .entry((key_id.to_owned(), endpoint.to_owned()))
            .or_insert((minute, 0));
        if count.0 != minute {
            *count = (minute, 0);
        }
        if count.1 >= self.per_minute {
            let retry_after_seconds = 60 - now.rem_euclid(60);
            return Err(ApiError::RateLimited {
                message: format!(
                    "Rate limit reached for requests to {endpoint} in organization {org_id} on requests per min (RPM): \
                     Limit {limit}, Used {limit}, Requested 1. Please try again in {retry_after_seconds}s.",
                    limit = self.per_minute,
                ),
                retry_after_seconds,
            });
        }
        count.1 += 1;
        Ok(())
    }

    /// Forgets every count (on a reset).
    fn forget(&self) {
        self.used.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_limit_per_endpoint_and_minute() {
        let limits = RateLimits::new(2);
        let at = 1_800_000_010; // 10 s into a minute
        for _ in 0..2 {
            assert!(limits.admit("key_a", "GET /p", "org", at).is_ok());
        }
        match limits.admit("key_a", "GET /p", "org", at) {
            Err(ApiError::RateLimited {
                retry_after_seconds,
                message,
            }) => {
                assert_eq!(retry_after_seconds, 50);
                assert!(message.contains("Limit 2, Used 2"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // Another endpoint, another key: counted apart.
        assert!(limits.admit("key_a", "POST /p", "org", at).is_ok());
        assert!(limits.admit("key_b", "GET /p", "org", at).is_ok());
        // The next minute starts afresh.
        assert!(limits.admit("key_a", "GET /p", "org", at + 50).is_ok());
    }
}
