//! Object ids in the real service's style (`proj_...`, `user-...`), unique and time-sortable:
//! a prefix and a lowercase ULID, monotonic within the process, so that ordering by id is
//! ordering by creation and a keyset cursor is just the last id.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use ulid::{Generator, Ulid};

use super::Error;

pub const ORGANIZATION: &str = "org-";
pub const USER: &str = "user-";
pub const PROJECT: &str = "proj_";
pub const ADMIN_API_KEY: &str = "key_";
pub const AUDIT_LOG: &str = "audit_log-";
pub const INVITE: &str = "invite-";
/// Roster's own: a queued email (never shown by the API).
pub const OUTGOING_MAIL: &str = "mail_";
pub const ROLE: &str = "role_";
pub const CERTIFICATE: &str = "cert_";
pub const SCIM_TOKEN: &str = "scim_token_";
pub const GROUP: &str = "group_";
pub const SERVICE_ACCOUNT: &str = "svc_acct_";
/// A role assignment; never shown.
pub const ROLE_ASSIGNMENT: &str = "ra_";
/// A project membership; never shown, it orders the members of a project.
pub const PROJECT_USER: &str = "pu_";

/// One kind of object the API addresses by id: the prefixes its ids carry and how a missing one
/// is named in a 404.
pub trait Kind {
    /// The first is the prefix of new ids; the others are forms already stored (a predefined
    /// role's `role-...`).
    const PREFIXES: &'static [&'static str];
    /// The object's name in "No such <name>: '<id>'".
    const NAME: &'static str;
    /// The parameter that carries the id.
    const PARAM: &'static str;
}

/// An id of kind `K`, of its kind's form: made here, or checked where a request names it, so that
/// an id of the wrong form is refused before any query.
pub struct Id<K: Kind>(String, PhantomData<K>);

/// The longest id accepted from a caller (a predefined role's id in a project is about 80).
const MAX_ID_LEN: usize = 160;

impl<K: Kind> Id<K> {
    /// A new id of this kind, time-sortable.
    pub fn generate() -> Self {
        Id(new_id(K::PREFIXES[0]), PhantomData)
    }

    /// `raw` if it has this kind's form (a prefix, then letters, digits, `-` or `_`); otherwise
    /// the 404 that an unknown id of this kind gets, for no such object can exist.
    pub fn parse(raw: String) -> Result<Self, Error> {
        if Self::has_form(&raw) {
            Ok(Id(raw, PhantomData))
        } else {
            Err(Error::not_found(K::NAME, &raw, K::PARAM))
        }
    }

    /// An id read back from the database, where only ids of this kind's form are written.
    pub fn stored(raw: String) -> Self {
        Id(raw, PhantomData)
    }

    fn has_form(raw: &str) -> bool {
        raw.len() <= MAX_ID_LEN
            && K::PREFIXES.iter().any(|prefix| {
                raw.strip_prefix(prefix).is_some_and(|rest| {
                    !rest.is_empty()
                        && rest
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<K: Kind> std::ops::Deref for Id<K> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<K: Kind> Clone for Id<K> {
    fn clone(&self) -> Self {
        Id(self.0.clone(), PhantomData)
    }
}

impl<K: Kind> std::fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<K: Kind> std::fmt::Display for Id<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<K: Kind> serde::Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<K: Kind> From<Id<K>> for String {
    fn from(id: Id<K>) -> String {
        id.0
    }
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident, $id:ident: [$($prefix:expr),+], $name:literal, $param:literal;)*) => {$(
        $(#[$doc])*
        pub enum $kind {}
        impl Kind for $kind {
            const PREFIXES: &'static [&'static str] = &[$($prefix),+];
            const NAME: &'static str = $name;
            const PARAM: &'static str = $param;
        }
        pub type $id = Id<$kind>;
    )*};
}

kinds! {
    OrganizationKind, OrganizationId: [ORGANIZATION], "organization", "org_id";
    ProjectKind, ProjectId: [PROJECT], "project", "project_id";
    UserKind, UserId: [USER], "user", "user_id";
    InviteKind, InviteId: [INVITE], "invite", "invite_id";
    GroupKind, GroupId: [GROUP], "group", "group_id";
    /// A custom role's `role_...`, or a predefined role's `role-...`.
    RoleKind, RoleId: [ROLE, "role-"], "role", "role_id";
    ServiceAccountKind, ServiceAccountId: [SERVICE_ACCOUNT], "service account", "service_account_id";
    AdminApiKeyKind, AdminApiKeyId: [ADMIN_API_KEY], "admin API key", "key_id";
    /// A project API key; the same prefix as an admin key, as in the real service.
    ProjectApiKeyKind, ProjectApiKeyId: [ADMIN_API_KEY], "API key", "api_key_id";
    CertificateKind, CertificateId: [CERTIFICATE], "certificate", "certificate_id";
    ScimTokenKind, ScimTokenId: [SCIM_TOKEN], "SCIM token", "token_id";
}

static GENERATOR: Mutex<Option<Generator>> = Mutex::new(None);
/// The last audit id issued in each recent second. Audit ids follow the movable clock, and tests
/// run many clocks in one process: keeping order per second, rather than in one sequence, keeps
/// every second's ids in the order they were issued whatever other clocks do.
static AUDIT_LAST: Mutex<BTreeMap<u64, Ulid>> = Mutex::new(BTreeMap::new());
/// Seconds remembered; an id for an older second starts that second afresh.
const AUDIT_SECONDS_KEPT: usize = 256;

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
    audit_id_at(unix_seconds, within_second)
}

/// `new_audit_id` with the system clock at millisecond `within_second` of its second.
fn audit_id_at(unix_seconds: i64, within_second: u32) -> String {
    let second = second_start_millis(unix_seconds);
    let millis = second + u64::from(within_second);
    let mut last = AUDIT_LAST
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let fresh = Ulid::from_parts(millis, rand::RngExt::random(&mut rand::rng()));
    let ulid = match last.get(&second) {
        // Later than anything issued in this second yet: the fresh id sorts after it.
        Some(previous) if previous.timestamp_ms() < millis => fresh,
        // Same millisecond, or the clock stepped back within the second: follow on.
        Some(previous) => previous.increment().unwrap_or(fresh),
        None => fresh,
    };
    last.insert(second, ulid);
    while last.len() > AUDIT_SECONDS_KEPT {
        last.pop_first();
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
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn ids_sort_in_creation_order() {
        let ids: Vec<String> = (0..1000).map(|_| new_id(PROJECT)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids[0].starts_with("proj_") && ids[0].len() == 5 + 26);
        // Each distinct, and stamped with the time it was made.
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
        let stamped = Ulid::from_string(&ids[0]["proj_".len()..]).unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(now.as_millis() as u64 - stamped.timestamp_ms() < 60_000);
    }

    #[test]
    fn an_id_shows_and_gives_up_its_text() {
        let id = ProjectId::parse("proj_abc".into()).unwrap();
        assert_eq!(format!("{id:?} {id}"), "proj_abc proj_abc");
        assert_eq!(String::from(id.clone()), "proj_abc");
        assert_eq!(id.into_string(), "proj_abc");
    }

    /// The millisecond an audit id carries.
    fn stamp(id: &str) -> u64 {
        Ulid::from_string(&id[AUDIT_LOG.len()..])
            .unwrap()
            .timestamp_ms()
    }

    #[test]
    fn audit_ids_follow_the_clocks_milliseconds_and_never_step_back() {
        // A second no other test writes in.
        let t = 1_500_000_000;
        let first = audit_id_at(t, 500);
        assert_eq!(stamp(&first), 1_500_000_000_500);
        let later = audit_id_at(t, 700);
        assert_eq!(
            stamp(&later),
            1_500_000_000_700,
            "a later millisecond: a fresh id"
        );
        let stepped_back = audit_id_at(t, 100);
        let same = audit_id_at(t, 700);
        assert!(first < later && later < stepped_back && stepped_back < same);
        assert_eq!(stamp(&same), 1_500_000_000_700, "follows on");

        // Only the last 256 seconds are remembered: the first is forgotten, and starts afresh.
        for later_second in 1..=AUDIT_SECONDS_KEPT as i64 {
            audit_id_at(t + later_second, 0);
        }
        assert_eq!(stamp(&audit_id_at(t, 100)), 1_500_000_000_100);
    }

    #[test]
    fn a_path_id_of_the_wrong_form_is_the_404_of_its_kind() {
        let made = ProjectId::generate();
        assert_eq!(ProjectId::parse(made.to_string()).unwrap().as_str(), &*made);
        assert_eq!(made.clone().into_string(), made.as_str());
        assert!(ProjectId::parse("proj_abc123".into()).is_ok());
        assert!(RoleId::parse("role-api-project-member__api-project__proj_x".into()).is_ok());
        for wrong in ["proj_", "user-abc", "proj_a b", "proj_a/../b", "proj_é", ""] {
            match ProjectId::parse(wrong.into()) {
                Err(Error::NotFound { message, param }) => {
                    assert_eq!(message, format!("No such project: '{wrong}'"));
                    assert_eq!(param, Some("project_id"));
                }
                other => panic!("{wrong:?} gave {other:?}"),
            }
        }
        assert!(UserId::parse(format!("user-{}", "a".repeat(MAX_ID_LEN))).is_err());
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
        // Another clock's second in between does not disturb this second's order.
        let elsewhere = new_audit_id(t + 3_601);
        let next = new_audit_id(t);
        assert!(next > ids[99] && next < audit_id_floor(t + 1) && elsewhere > next);
        // A clock moved back still yields ids inside the requested second.
        let earlier = new_audit_id(t - 5);
        assert!(earlier >= audit_id_floor(t - 5) && earlier < audit_id_floor(t - 4));
        assert_eq!(audit_id_floor(-3), audit_id_floor(0));
        assert!(audit_id_floor(i64::MAX) > audit_id_floor(4_000_000_000));
    }
}
