//! The one clock of the process: Unix seconds, movable by tests (invite and key expiry).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> i64 {
        system_seconds() + self.offset_seconds.load(Ordering::Relaxed)
    }

    /// Moves this clock, and every clone of it, forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, Ordering::Relaxed);
    }

    /// Sets this clock, and every clone of it, to `now`; it runs on from there.
    pub fn set(&self, now: i64) {
        self.offset_seconds
            .store(now - system_seconds(), Ordering::Relaxed);
    }
}

fn system_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A Unix time as people read it: "7 December 2026, 14:05 UTC".
pub fn date_utc(unix_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[day padding:none] [month repr:long] [year], [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("{unix_seconds} (Unix time)"))
}
