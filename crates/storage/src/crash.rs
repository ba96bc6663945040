//! [`CrashEngine`]: an in-memory engine that can lose power.
//!
//! It models RocksDB's write-ahead log: every write is appended to one
//! journal; a synced write makes itself and everything before it durable.
//! [`CrashEngine::power_loss`] keeps what was synced plus a prefix of the
//! unsynced tail (a torn log loses its end, never its middle) and throws
//! the rest away, as a machine that lost power and came back would find
//! the store. [`CrashEngine::die_after`] makes the engine refuse every
//! write after a given number, which stops the process using it at an
//! exact write, e.g. in the middle of a snapshot install: together they
//! give crash points at every write a code path makes.
//!
//! Files outside the engine (snapshots) are not modelled: they are synced
//! and renamed durably by their writers.

use std::sync::RwLock;

use crate::{KvEngine, KvIter, KvView, MemEngine, StorageError, WriteBatch, WriteOptions};

#[derive(Debug)]
struct State {
    /// What readers see: every write so far.
    live: MemEngine,
    /// What survives a power loss for sure: every write up to the last
    /// synced one.
    durable: MemEngine,
    /// Writes after the last synced one, in order.
    unsynced: Vec<WriteBatch>,
    /// Writes still allowed before the engine "dies" (None: no limit).
    writes_left: Option<u64>,
    /// Writes accepted so far.
    writes: u64,
}

/// An in-memory engine with a write-ahead journal and power cuts; see the
/// module docs.
#[derive(Debug)]
pub struct CrashEngine {
    state: RwLock<State>,
}

impl CrashEngine {
    /// An empty engine with the given column families.
    pub fn new(cfs: &[&str]) -> Self {
        CrashEngine {
            state: RwLock::new(State {
                live: MemEngine::new(cfs),
                durable: MemEngine::new(cfs),
                unsynced: Vec::new(),
                writes_left: None,
                writes: 0,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// After `n` more writes, every write fails (the process using the
    /// engine stops there); [`CrashEngine::power_loss`] revives it.
    pub fn die_after(&self, n: u64) {
        self.write_state().writes_left = Some(n);
    }

    /// Whether the engine has "died" ([`CrashEngine::die_after`]).
    pub fn is_dead(&self) -> bool {
        self.read().writes_left == Some(0)
    }

    /// Writes accepted so far.
    pub fn writes(&self) -> u64 {
        self.read().writes
    }

    /// Unsynced writes a power loss could drop now.
    pub fn unsynced(&self) -> usize {
        self.read().unsynced.len()
    }

    /// Power comes back: the store holds every synced write and the first
    /// `keep` unsynced ones (at most all of them), nothing else. The engine
    /// takes writes again.
    pub fn power_loss(&self, keep: usize) -> Result<(), StorageError> {
        let mut s = self.write_state();
        let keep = keep.min(s.unsynced.len());
        let survivors: Vec<WriteBatch> = s.unsynced.drain(..keep).collect();
        for batch in survivors {
            s.durable.write(batch, WriteOptions::SYNC)?;
        }
        s.unsynced.clear();
        s.live = s.durable.deep_clone();
        s.writes_left = None;
        Ok(())
    }
}

impl KvEngine for CrashEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        KvEngine::get(&self.read().live, cf, key)
    }

    fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<(), StorageError> {
        let mut s = self.write_state();
        match s.writes_left {
            Some(0) => {
                return Err(StorageError::Engine {
                    op: "write",
                    cause: "the engine lost power (injected)".into(),
                    retryable: false,
                });
            }
            Some(n) => s.writes_left = Some(n - 1),
            None => {}
        }
        s.live.write(batch.clone(), opts)?;
        s.writes += 1;
        s.unsynced.push(batch);
        if opts.sync {
            // A synced write syncs the whole journal before it.
            let journal = std::mem::take(&mut s.unsynced);
            for b in journal {
                s.durable.write(b, WriteOptions::SYNC)?;
            }
        }
        Ok(())
    }

    fn scan<'a>(&'a self, cf: &str, start: &[u8], end: Option<&[u8]>) -> Result<KvIter<'a>, StorageError> {
        // MemEngine's scan copies the range out: nothing borrows the lock.
        let pairs: Vec<_> = KvEngine::scan(&self.read().live, cf, start, end)?.collect();
        Ok(Box::new(pairs.into_iter()))
    }

    fn column_families(&self) -> Vec<String> {
        self.read().live.column_families()
    }

    fn read_view(&self, read: &mut dyn FnMut(&dyn KvView)) -> Result<(), StorageError> {
        let copy = self.read().live.deep_clone();
        read(&copy);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &[u8]) -> WriteBatch {
        let mut b = WriteBatch::new();
        b.put("a", k.to_vec(), b"v".to_vec());
        b
    }

    #[test]
    fn a_power_loss_keeps_synced_writes_and_a_prefix_of_the_rest() {
        let e = CrashEngine::new(&["a"]);
        e.write(put(b"1"), WriteOptions::NO_SYNC).expect("write");
        e.write(put(b"2"), WriteOptions::SYNC).expect("write"); // syncs 1 too
        for k in [b"3", b"4", b"5"] {
            e.write(put(k), WriteOptions::NO_SYNC).expect("write");
        }
        assert_eq!(e.unsynced(), 3);
        e.power_loss(1).expect("power back");
        let has = |k: &[u8]| e.get("a", k).expect("get").is_some();
        assert!(has(b"1") && has(b"2") && has(b"3"));
        assert!(!has(b"4") && !has(b"5"), "the torn tail is gone, never the middle");
        assert_eq!(e.unsynced(), 0);
    }

    #[test]
    fn a_dead_engine_refuses_writes_until_power_returns() {
        let e = CrashEngine::new(&["a"]);
        e.die_after(1);
        e.write(put(b"1"), WriteOptions::NO_SYNC).expect("the last write");
        assert!(e.is_dead());
        assert!(e.write(put(b"2"), WriteOptions::SYNC).is_err());
        assert_eq!(e.get("a", b"2").expect("get"), None);
        e.power_loss(0).expect("power back");
        assert_eq!(e.get("a", b"1").expect("get"), None, "never synced");
        e.write(put(b"3"), WriteOptions::SYNC).expect("writes again");
        assert_eq!(e.writes(), 2);
    }
}
