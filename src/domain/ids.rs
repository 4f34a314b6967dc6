//! Object ids in the real service's style (`proj_...`, `user-...`), unique and time-sortable:
//! a prefix and a lowercase ULID, monotonic within the process, so that ordering by id is
//! ordering by creation and a keyset cursor is just the last id.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ulid::{Generator, Ulid};

pub const ORGANIZATION: &str = "org-";
pub const USER: &str = "user-";
pub const PROJECT: &str = "proj_";
pub const ADMIN_API_KEY: &str = "key_";
pub const AUDIT_LOG: &str = "audit_log-";
pub const INVITE: &str = "invite-";
pub const ROLE: &str = "role_";
pub const GROUP: &str = "group_";
pub const SERVICE_ACCOUNT: &str = "svc_acct_";
/// A role assignment; never shown.
pub const ROLE_ASSIGNMENT: &str = "ra_";
/// A project membership; never shown, it orders the members of a project.
pub const PROJECT_USER: &str = "pu_";

static GENERATOR: Mutex<Option<Generator>> = Mutex::new(None);
/// Audit ids follow the movable clock, so they get their own generator: a clock moved forward
/// by a test must not drag every other id along.
static AUDIT_GENERATOR: Mutex<Option<Generator>> = Mutex::new(None);

pub fn new_id(prefix: &str) -> String {
    let ulid = generate(&GENERATOR, SystemTime::now());
    with_prefix(prefix, ulid)
}

/// An audit event id whose timestamp lies within the second `unix_seconds` (the event's
/// `effective_at`), so that a range of `effective_at` is a range of ids: the primary key
/// answers time filters, and ordering by id is ordering by time.
pub fn new_audit_id(unix_seconds: i64) -> String {
    let within_second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or(0);
    let millis = second_start_millis(unix_seconds) + u64::from(within_second);
    let at = UNIX_EPOCH + Duration::from_millis(millis);
    let mut ulid = generate(&AUDIT_GENERATOR, at);
    // Only a clock that went back makes the generator step past this second.
    if ulid.timestamp_ms() / 1000 != millis / 1000 {
        ulid = Ulid::from_parts(millis, rand::RngExt::random(&mut rand::rng()));
    }
    with_prefix(AUDIT_LOG, ulid)
}

/// The smallest audit id of the second `unix_seconds`: `effective_at >= t` is `id >= floor(t)`.
pub fn audit_id_floor(unix_seconds: i64) -> String {
    with_prefix(
        AUDIT_LOG,
        Ulid::from_parts(second_start_millis(unix_seconds), 0),
    )
}

/// ULID timestamps are 48-bit milliseconds; seconds outside that range are clamped to it.
fn second_start_millis(unix_seconds: i64) -> u64 {
    const MAX_SECONDS: i64 = ((1_i64 << 48) - 1) / 1000;
    (unix_seconds.clamp(0, MAX_SECONDS) as u64) * 1000
}

fn generate(generator: &Mutex<Option<Generator>>, at: SystemTime) -> Ulid {
    let mut guard = generator
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let generator = guard.get_or_insert_with(Generator::new);
    // Overflow needs 2^80 ids within one millisecond; fall back to a fresh random one.
    generator
        .generate_from_datetime(at)
        .unwrap_or_else(|_| Ulid::from_datetime(at))
}

fn with_prefix(prefix: &str, ulid: Ulid) -> String {
    let mut id = String::with_capacity(prefix.len() + 26);
    id.push_str(prefix);
    id.push_str(&ulid.to_string().to_ascii_lowercase());
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_creation_order() {
        let ids: Vec<String> = (0..1000).map(|_| new_id(PROJECT)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids[0].starts_with("proj_") && ids[0].len() == 5 + 26);
    }

    #[test]
    fn audit_ids_bracket_their_second() {
        let t = 1_700_000_000;
        let ids: Vec<String> = (0..100).map(|_| new_audit_id(t)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(
            ids.iter()
                .all(|id| *id >= audit_id_floor(t) && *id < audit_id_floor(t + 1))
        );
        // A clock moved back still yields ids inside the requested second.
        let earlier = new_audit_id(t - 5);
        assert!(earlier >= audit_id_floor(t - 5) && earlier < audit_id_floor(t - 4));
        assert_eq!(audit_id_floor(-3), audit_id_floor(0));
        assert!(audit_id_floor(i64::MAX) > audit_id_floor(4_000_000_000));
    }
}
