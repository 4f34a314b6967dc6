//! The one clock of the process: Unix seconds, movable by tests (invite and key expiry).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
    /// The time a frozen clock stands at; `RUNNING` while it follows the system's.
    frozen_at: Arc<AtomicI64>,
}

const RUNNING: i64 = i64::MIN;

impl Default for Clock {
    fn default() -> Clock {
        Clock {
            offset_seconds: Arc::default(),
            frozen_at: Arc::new(AtomicI64::new(RUNNING)),
        }
    }
}

impl Clock {
    pub fn now(&self) -> i64 {
        match self.frozen_at.load(Ordering::Relaxed) {
            RUNNING => system_seconds() + self.offset_seconds.load(Ordering::Relaxed),
            frozen => frozen,
        }
    }

    /// Moves this clock, and every clone of it, forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        let frozen = self
            .frozen_at
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |at| {
                (at != RUNNING).then(|| at + seconds)
            });
        if frozen.is_err() {
            self.offset_seconds.fetch_add(seconds, Ordering::Relaxed);
        }
    }

    /// Sets this clock, and every clone of it, to `now`; it runs on from there (or stays there,
    /// if frozen).
    pub fn set(&self, now: i64) {
        let frozen = self
            .frozen_at
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |at| {
                (at != RUNNING).then_some(now)
            });
        if frozen.is_err() {
            self.offset_seconds
                .store(now - system_seconds(), Ordering::Relaxed);
        }
    }

    /// Stops this clock, and every clone of it, where it stands: it moves only when advanced or
    /// set, so that a test's arithmetic on seconds does not race the system's clock.
    pub fn freeze(&self) {
        let _ = self.frozen_at.compare_exchange(
            RUNNING,
            self.now(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_told() {
        let clock = Clock::default();
        clock.set(1_000);
        let moved = clock.clone();
        clock.freeze();
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        assert_eq!(moved.now(), 1_000, "a frozen clock ran on");
        moved.advance(3_599);
        assert_eq!(clock.now(), 4_599);
        clock.set(10);
        assert_eq!(moved.now(), 10);
    }

    #[test]
    fn a_new_clock_shows_the_systems_time() {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((Clock::default().now() - system).abs() <= 1);
    }

    #[test]
    fn a_running_clock_keeps_its_offset_from_the_system() {
        let clock = Clock::default();
        clock.set(1_000);
        clock.advance(5);
        assert!((1_005..=1_006).contains(&clock.now()));
    }
}
