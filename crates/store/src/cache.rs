//! What the store keeps in memory between requests: the user behind a bearer token (`access`)
//! and the catalog a request reads (services, authorities, responsibilities, decision rules).
//!
//! Each kept value is tagged with the version of its scope read *before* the value was read
//! from the database, and is used only while that version is still current, so that a value
//! read concurrently with a change is never kept past it. The versions are raised by triggers
//! in the transaction of every change to a table behind a scope (migration 12), whoever makes
//! it: this process, another node, the console or a hand-made `UPDATE`.
//!
//! - Access (a token's user), on both databases: every lookup reads the version (one row of a
//!   tiny table). A revoked token must be refused on the very next request on every node, and
//!   nothing orders a notification before a request that another node answers.
//! - The catalog on SQLite: the same.
//! - The catalog on PostgreSQL: the triggers also `NOTIFY amtsweg_cache` with the scope; each
//!   node listens and counts the notifications it got, so a lookup reads no row at all, and its
//!   own catalog writes move its version at once (`SqlStore::changing_catalog`). While the listening
//!   connection is down (an error, or the node's own heartbeat not heard back within two
//!   seconds) nothing is kept or used; when it is back, the catalog moves on, since notifications
//!   may have been missed meanwhile.

use amtsweg_domain::{Authority, AuthorityId, DecisionRules, Responsibility, Service, ServiceId, User};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use time::OffsetDateTime;

/// What a kept value depends on; the names are those of `cache_versions` and of the payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Access,
    Catalog,
}

impl Scope {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scope::Access => "access",
            Scope::Catalog => "catalog",
        }
    }
}

/// Entries per map at most: a full map starts again empty (a bound on memory, not an LRU:
/// the catalog is small, and tokens beyond it are read from the database as before).
const MAX_ENTRIES: usize = 100_000;

/// Values by key, each tagged with the version it was read under.
pub(crate) struct Kept<K, V> {
    map: Mutex<HashMap<K, (u64, V)>>,
}

impl<K: Eq + Hash, V: Clone> Default for Kept<K, V> {
    fn default() -> Self {
        Self { map: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash, V: Clone> Kept<K, V> {
    /// The value kept for `key` if it was read under `version`.
    pub(crate) fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q, version: u64) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).filter(|(v, _)| *v == version).map(|(_, value)| value.clone())
    }

    pub(crate) fn put(&self, key: K, version: u64, value: V) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (version, value));
    }
}

/// The catalog's version as a listening PostgreSQL node counts it (access is always read from
/// the database, see the module's text).
#[derive(Default)]
pub(crate) struct Listened {
    up: AtomicBool,
    catalog: AtomicU64,
}

impl Listened {
    /// The catalog's version; `None` while the listening connection is down.
    pub(crate) fn version(&self) -> Option<u64> {
        self.up.load(Ordering::SeqCst).then(|| self.catalog.load(Ordering::SeqCst))
    }

    /// A notification: the catalog moves on unless it named access alone.
    pub(crate) fn changed(&self, payload: &str) {
        if payload != Scope::Access.name() {
            self.moved();
        }
    }

    /// The catalog changed (a notification, or this node's own write).
    pub(crate) fn moved(&self) {
        self.catalog.fetch_add(1, Ordering::SeqCst);
    }

    /// The connection is lost: nothing is kept or used until [`listening`](Self::listening).
    pub(crate) fn lost(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.moved();
    }

    /// Listening (again): what was kept before may have missed a change.
    pub(crate) fn listening(&self) {
        self.moved();
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Everything one store keeps.
#[derive(Default)]
pub(crate) struct Caches {
    /// A token's user and the token's expiry, by the token's hash (only tokens that were valid).
    pub(crate) tokens: Kept<String, (User, OffsetDateTime)>,
    /// Shared, not copied per request: a service's form is large, and its compiled patterns keep
    /// their matching caches only while the same value is used.
    pub(crate) services: Kept<ServiceId, Option<std::sync::Arc<Service>>>,
    pub(crate) authorities: Kept<AuthorityId, Option<Authority>>,
    pub(crate) responsibilities: Kept<ServiceId, Vec<Responsibility>>,
    pub(crate) rules: Kept<(ServiceId, AuthorityId), Option<DecisionRules>>,
    /// PostgreSQL: the catalog's version told by notifications; `None`: read it from the database.
    pub(crate) listened: Option<std::sync::Arc<Listened>>,
    /// Dropped with the store: ends the listening task.
    pub(crate) _stop: Option<tokio::sync::watch::Sender<()>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_used_only_under_the_version_it_was_read_under() {
        let kept: Kept<String, u32> = Kept::default();
        kept.put("a".into(), 3, 7);
        assert_eq!(kept.get("a", 3), Some(7));
        assert_eq!(kept.get("a", 4), None);
        assert_eq!(kept.get("b", 3), None);
    }

    #[test]
    fn a_listening_node_moves_on_with_each_catalog_notification_and_uses_nothing_while_deaf() {
        let l = Listened::default();
        assert_eq!(l.version(), None, "not listening yet");
        l.listening();
        let c = l.version().unwrap();
        l.changed("access");
        assert_eq!(l.version(), Some(c), "a change of access alone leaves the catalog");
        l.changed("catalog");
        assert_ne!(l.version(), Some(c));
        let c = l.version().unwrap();
        l.changed("something else");
        assert_ne!(l.version(), Some(c), "an unknown payload moves the catalog");
        let before = l.version().unwrap();
        l.lost();
        assert_eq!(l.version(), None);
        l.listening();
        assert_ne!(l.version(), Some(before), "back after a loss: what was kept is old");
    }
}
