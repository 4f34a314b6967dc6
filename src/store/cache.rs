//! The per-replica cache in front of the two hot lookups (admin keys, gateway key facts): entries
//! by key digest, each trusted for a while, all forgotten at once after a change that can revoke
//! one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a lookup cached, until its deadline.
#[derive(Debug)]
pub(super) struct Cache<V> {
    inner: Mutex<Entries<V>>,
    capacity: usize,
}

#[derive(Debug)]
struct Entries<V> {
    by_digest: HashMap<String, (V, Instant)>,
    /// Counts the clears: a lookup that began before one must not refill the cache after it with
    /// what the clear was for.
    generation: u64,
}

/// A miss, and the generation to hand `put` with what the lookup then finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Miss(u64);

impl<V: Clone> Cache<V> {
    /// Beyond `capacity` entries the cache starts afresh.
    pub(super) fn new(capacity: usize) -> Cache<V> {
        Cache {
            inner: Mutex::new(Entries {
                by_digest: HashMap::new(),
                generation: 0,
            }),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached value while its deadline has not passed.
    pub(super) fn get(&self, digest: &str) -> Result<V, Miss> {
        let entries = self.lock();
        entries
            .by_digest
            .get(digest)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(value, _)| value.clone())
            .ok_or(Miss(entries.generation))
    }

    /// Keeps what a lookup found for `ttl`, unless a clear came since its `get` missed.
    pub(super) fn put(&self, digest: &str, value: V, ttl: Duration, miss: Miss) {
        let mut entries = self.lock();
        if entries.generation != miss.0 {
            return;
        }
        // A full cache is swapped out under the lock and dropped after it: freeing thousands of
        // entries is not every caller's wait.
        let full = (entries.by_digest.len() >= self.capacity)
            .then(|| std::mem::take(&mut entries.by_digest));
        entries
            .by_digest
            .insert(digest.to_owned(), (value, Instant::now() + ttl));
        drop(entries);
        drop(full);
    }

    /// Changes a cached value in place (keeping its deadline), if there is one.
    pub(super) fn update(&self, digest: &str, change: impl FnOnce(&mut V)) {
        if let Some((value, _)) = self.lock().by_digest.get_mut(digest) {
            change(value);
        }
    }

    /// Forgets everything, and every lookup in flight.
    pub(super) fn clear(&self) {
        let mut entries = self.lock();
        let forgotten = std::mem::take(&mut entries.by_digest);
        entries.generation += 1;
        drop(entries);
        drop(forgotten);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn a_lookup_that_began_before_a_clear_does_not_refill_the_cache() {
        let cache = Cache::new(10);
        let miss = cache.get("digest").unwrap_err();
        // The key is deleted (and the cache cleared) while the lookup reads the old row.
        cache.clear();
        cache.put("digest", "stale", TTL, miss);
        assert!(cache.get("digest").is_err(), "the stale row was cached");

        let miss = cache.get("digest").unwrap_err();
        cache.put("digest", "fresh", TTL, miss);
        assert_eq!(cache.get("digest"), Ok("fresh"));
    }

    #[test]
    fn a_clear_forgets_what_was_cached() {
        let cache = Cache::new(10);
        let miss = cache.get("digest").unwrap_err();
        cache.put("digest", 1, TTL, miss);
        cache.clear();
        assert!(cache.get("digest").is_err());
    }

    #[test]
    fn an_entry_is_trusted_until_its_deadline_only() {
        let cache = Cache::new(10);
        let miss = cache.get("digest").unwrap_err();
        cache.put("digest", 1, Duration::from_millis(30), miss);
        assert_eq!(cache.get("digest"), Ok(1));
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get("digest").is_err(), "an expired entry answered");
    }

    #[test]
    fn a_full_cache_starts_afresh_and_an_update_keeps_the_deadline() {
        let cache = Cache::new(2);
        for digest in ["a", "b"] {
            let miss = cache.get(digest).unwrap_err();
            cache.put(digest, 0, TTL, miss);
        }
        assert!(
            cache.get("a").is_ok() && cache.get("b").is_ok(),
            "kept up to capacity"
        );
        let miss = cache.get("c").unwrap_err();
        cache.put("c", 0, TTL, miss);
        assert!(cache.get("a").is_err() && cache.get("b").is_err());
        cache.update("c", |value| *value = 7);
        cache.update("a", |value| *value = 7);
        assert_eq!(cache.get("c"), Ok(7));
        assert!(cache.get("a").is_err(), "an update made an entry");
    }
}
