//! What the whole process shares. Envoy loads the module once per process,
//! and all its worker threads call into the same copy, so what proxy-wasm
//! keeps in the host (counter values, shared data) is kept here.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// The value of one of Envoy's counters or gauges, kept beside it: the ABI
/// can add to a counter but not read it back, and a guard judges the counts
/// of every worker. Envoy keeps one counter per name for every configuration
/// that defines it (its stats are deduplicated by name), so one mirror per
/// name has the same value.
#[derive(Debug, Default)]
pub struct Mirror {
    value: AtomicU64,
    /// Added here but not yet to Envoy's counter: Envoy 1.36 can add to a
    /// counter only from a request, not while a configuration loads.
    pending: AtomicU64,
}

/// The sum of every mirror's `pending`: one load per request tells whether
/// there is anything to hand on.
static PENDING: AtomicU64 = AtomicU64::new(0);

impl Mirror {
    pub fn add(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set(&self, value: u64) {
        self.value.store(value, Ordering::Relaxed);
    }

    pub fn value(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }

    /// Records `n` that Envoy's counter has yet to be given.
    pub fn defer(&self, n: u64) {
        self.pending.fetch_add(n, Ordering::Relaxed);
        PENDING.fetch_add(n, Ordering::Relaxed);
    }

    /// What Envoy's counter has yet to be given, now handed to the caller.
    pub fn take_pending(&self) -> u64 {
        let n = self.pending.swap(0, Ordering::Relaxed);
        if n > 0 {
            PENDING.fetch_sub(n, Ordering::Relaxed);
        }
        n
    }
}

impl Drop for Mirror {
    /// A counter no configuration defines any more: Envoy dropped it too,
    /// and what it was owed is owed to nothing.
    fn drop(&mut self) {
        let n = *self.pending.get_mut();
        if n > 0 {
            PENDING.fetch_sub(n, Ordering::Relaxed);
        }
    }
}

/// Whether any mirror holds counts Envoy has yet to be given.
pub fn any_pending() -> bool {
    PENDING.load(Ordering::Relaxed) > 0
}

/// The mirrors by a 64-bit hash of the name (as `MetricIds` keys them: a
/// large configuration's names would take megabytes; two names sharing a
/// hash would share a mirror, which only a guard reads).
static MIRRORS: LazyLock<Mutex<HashMap<u64, Arc<Mirror>>>> = LazyLock::new(Default::default);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here leaves a map half-written: a panic elsewhere while it
    // was held does not make it wrong.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The mirror of the counter or gauge `name`.
pub fn mirror(name: &str) -> Arc<Mirror> {
    let key = BuildHasherDefault::<DefaultHasher>::default().hash_one(name);
    Arc::clone(lock(&MIRRORS).entry(key).or_default())
}

/// Forgets the mirrors no configuration holds any more, as Envoy forgets a
/// counter no configuration defines. Called as a configuration loads.
pub fn prune_mirrors() {
    lock(&MIRRORS).retain(|_, mirror| Arc::strong_count(mirror) > 1);
}

/// A shared datum's value and version.
type Datum = (Vec<u8>, u32);

/// proxy-wasm's shared data, for the guards: a value and a version per key.
static SHARED: LazyLock<Mutex<HashMap<String, Datum>>> = LazyLock::new(Default::default);

/// The value of shared datum `key` and its version (from 1).
pub fn shared_data(key: &str) -> Option<(Vec<u8>, u32)> {
    lock(&SHARED).get(key).cloned()
}

/// Another writer changed the datum first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflict;

/// Sets shared datum `key` if its version is still `version` (0: it has
/// none yet).
pub fn set_shared_data(key: &str, value: &[u8], version: u32) -> Result<(), Conflict> {
    let mut shared = lock(&SHARED);
    let current = shared.get(key).map_or(0, |(_, v)| *v);
    if current != version {
        return Err(Conflict);
    }
    let next = match current.wrapping_add(1) {
        0 => 1,
        n => n,
    };
    shared.insert(key.to_owned(), (value.to_vec(), next));
    Ok(())
}

/// The clock, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The ABI has no timer: a configuration's guards step on the first request
/// of each second instead. One clock reading per request decides.
#[derive(Debug, Default)]
pub struct TickGate {
    next_ms: AtomicU64,
}

/// How often a guard steps, as the Wasm filter's tick period.
pub const TICK_MS: u64 = 1000;

impl TickGate {
    /// Whether the caller takes this second's step: true for one caller per
    /// second, whichever thread it is on.
    pub fn due(&self, now_ms: u64) -> bool {
        let next = self.next_ms.load(Ordering::Relaxed);
        now_ms >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(TICK_MS),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

/// A seed for a thread's generator: std's `RandomState` keys come from the
/// operating system's entropy; the clock and the thread's id are mixed in so
/// that each thread gets its own sequence.
pub fn seed() -> [u8; 16] {
    let state = RandomState::new();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let thread = std::thread::current().id();
    let mut seed = [0u8; 16];
    let (low, high) = seed.split_at_mut(8);
    low.copy_from_slice(&state.hash_one((nanos, thread)).to_le_bytes());
    high.copy_from_slice(&state.hash_one((!nanos, thread)).to_le_bytes());
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mirror_per_name_for_as_long_as_a_configuration_holds_it() {
        let a = mirror("test.mirror.shared");
        let b = mirror("test.mirror.shared");
        a.add(2);
        b.add(3);
        assert_eq!(a.value(), 5);
        assert!(Arc::ptr_eq(&a, &b));
        drop((a, b));
        prune_mirrors();
        assert_eq!(mirror("test.mirror.shared").value(), 0);
    }

    #[test]
    fn pending_counts_are_handed_on_once_or_forgotten_with_their_mirror() {
        let a = mirror("test.mirror.pending");
        a.defer(2);
        assert!(any_pending());
        assert_eq!(a.take_pending(), 2);
        assert_eq!(a.take_pending(), 0);
        a.defer(1);
        drop(a);
        prune_mirrors();
        // Another test may hold counts of its own meanwhile, never these.
        let b = mirror("test.mirror.pending");
        assert_eq!(b.take_pending(), 0);
    }

    #[test]
    fn shared_data_is_set_only_over_the_version_read() {
        let key = "test.shared";
        assert_eq!(shared_data(key), None);
        assert_eq!(set_shared_data(key, b"one", 1), Err(Conflict));
        assert_eq!(set_shared_data(key, b"one", 0), Ok(()));
        assert_eq!(set_shared_data(key, b"again", 0), Err(Conflict));
        let (value, version) = shared_data(key).unwrap();
        assert_eq!((value.as_slice(), version), (&b"one"[..], 1));
        assert_eq!(set_shared_data(key, b"two", 1), Ok(()));
        assert_eq!(set_shared_data(key, b"late", 1), Err(Conflict));
        assert_eq!(shared_data(key), Some((b"two".to_vec(), 2)));
    }

    #[test]
    fn the_tick_is_taken_once_a_second_across_threads() {
        let gate = Arc::new(TickGate::default());
        let start = 1_000_000;
        let taken: u64 = (0..8)
            .map(|_| {
                let gate = Arc::clone(&gate);
                std::thread::spawn(move || {
                    (0..3000).filter(|ms| gate.due(start + ms)).count() as u64
                })
            })
            .map(|t| t.join().unwrap())
            .sum();
        // Seconds starting at 0, 1000 and 2000 ms in: a thread that read the
        // gate late may take a step up to a second after it was due, never
        // two in one second.
        assert!((2..=3).contains(&taken), "{taken}");
        assert!(!gate.due(start + 2999));
    }

    #[test]
    fn each_thread_gets_its_own_seed() {
        let here = seed();
        let there = std::thread::spawn(seed).join().unwrap();
        assert_ne!(here, there);
    }
}
