//! Object ids in the real service's style (`proj_...`, `user-...`), unique and time-sortable:
//! a prefix and a lowercase ULID, monotonic within the process, so that ordering by id is
//! ordering by creation and a keyset cursor is just the last id.

use std::sync::Mutex;
use ulid::Generator;

pub const ORGANIZATION: &str = "org-";
pub const USER: &str = "user-";
pub const PROJECT: &str = "proj_";
pub const ADMIN_API_KEY: &str = "key_";
pub const AUDIT_LOG: &str = "audit_log-";
/// A project membership; never shown, it orders the members of a project.
pub const INVITE: &str = "invite-";
pub const PROJECT_USER: &str = "pu_";

static GENERATOR: Mutex<Option<Generator>> = Mutex::new(None);

pub fn new_id(prefix: &str) -> String {
    let ulid = {
        let mut guard = GENERATOR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let generator = guard.get_or_insert_with(Generator::new);
        // Overflow needs 2^80 ids within one millisecond; fall back to a fresh random one.
        generator
            .generate()
            .unwrap_or_else(|_| ulid::Ulid::generate())
    };
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
}
