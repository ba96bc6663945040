//! Raft log storage over a [`KvEngine`].
//!
//! | column family | key                 | value |
//! |---------------|---------------------|-------|
//! | `raft_log`    | entry index (u64 BE)| version 1 ‖ `eraftpb::Entry` protobuf |
//! | `raft_state`  | `b"hard_state"`     | version 1 ‖ `eraftpb::HardState` |
//! |               | `b"conf_applied"`   | index (u64 BE) of the last applied conf change |
//! |               | `b"members"`        | members' metadata (node-layer bytes) |
//! |               | `b"conf_state"`     | version 1 ‖ `eraftpb::ConfState` |
//! |               | `b"snapshot_meta"`  | version 1 ‖ `eraftpb::SnapshotMetadata` of the truncation point |
//! |               | `b"snapshot"`       | version 1 ‖ `eraftpb::Snapshot` (the [`SnapshotDescriptor`]) |
//! |               | `b"snapshot_install"` | version 1 ‖ `eraftpb::Snapshot` whose install began, not yet done |
//!
//! Big-endian indices keep the log in index order. The node opens one
//! engine with the ledger's column families plus [`RAFT_CFS`], so the Raft
//! log and the state machine share one write-ahead log.
//!
//! See [`RaftLogStore`] for the storage contract.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use protobuf::Message;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, NO_LIMIT, RaftState, Storage};
use veritrace_storage::{KvEngine, StorageError, WriteBatch, WriteOptions};

/// Raft log entries by index.
pub const CF_RAFT_LOG: &str = "raft_log";
/// Hard state, conf state, truncation point and snapshot descriptor.
pub const CF_RAFT_STATE: &str = "raft_state";
/// The column families a [`RaftLogStore`] needs, opened next to the ledger's.
pub const RAFT_CFS: &[&str] = &[CF_RAFT_LOG, CF_RAFT_STATE];

/// Key of the persisted `HardState` in `raft_state`.
pub const KEY_HARD_STATE: &[u8] = b"hard_state";
/// Key of the persisted `ConfState` in `raft_state`.
pub const KEY_CONF_STATE: &[u8] = b"conf_state";
/// Key of the truncation point (last snapshot or compaction) in `raft_state`.
pub const KEY_SNAPSHOT_META: &[u8] = b"snapshot_meta";
/// Key of the latest [`SnapshotDescriptor`] in `raft_state`.
pub const KEY_SNAPSHOT: &[u8] = b"snapshot";
/// Key of the index of the last applied configuration change in
/// `raft_state` (u64 BE), so a restart never applies one twice.
pub const KEY_CONF_APPLIED: &[u8] = b"conf_applied";
/// Key of the members' metadata (opaque bytes of the node layer) in
/// `raft_state`.
pub const KEY_MEMBERS: &[u8] = b"members";
/// Key of a received snapshot whose install began and has not finished
/// (the state machine may hold it while the log does not), in `raft_state`.
pub const KEY_SNAPSHOT_INSTALL: &[u8] = b"snapshot_install";

/// Index of the bootstrap truncation point of a founding node's log: the
/// initial configuration counts as a snapshot at this index (term 1), so
/// a node that joins later is always caught up by snapshot, never by
/// replaying a log that lacks the founding configuration.
pub const BOOTSTRAP_INDEX: u64 = 1;

/// Version byte leading every value this module writes.
const VALUE_VERSION: u8 = 1;

/// Key of the log entry at `index`.
pub fn entry_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// Why a [`RaftLogStore`] operation failed.
///
/// Converted into `raft::Error` for the [`Storage`] trait:
/// [`LogStoreError::Compacted`] becomes `StorageError::Compacted`,
/// [`LogStoreError::Unavailable`] `StorageError::Unavailable`,
/// [`LogStoreError::SnapshotOutOfDate`] `StorageError::SnapshotOutOfDate`,
/// and everything else `StorageError::Other`, after which raft is
/// inoperable.
#[derive(Debug, thiserror::Error)]
pub enum LogStoreError {
    /// The engine failed; treat the store (and the node) as failed.
    #[error("raft log engine error: {0}")]
    Engine(#[from] StorageError),
    /// A stored value could not be decoded.
    #[error("corrupt raft storage value at {cf}/{key}: {reason}")]
    Corrupt {
        /// Column family.
        cf: &'static str,
        /// The key, printable (index or name).
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The engine lacks a column family of [`RAFT_CFS`].
    #[error("engine was opened without column family {0:?}")]
    MissingColumnFamily(&'static str),
    /// [`RaftLogStore::open`] on an engine that was never bootstrapped.
    #[error("raft storage is not bootstrapped")]
    NotBootstrapped,
    /// [`RaftLogStore::create`] on an engine that already holds raft state.
    #[error("raft storage is already bootstrapped")]
    AlreadyBootstrapped,
    /// The requested index is below the first available index.
    #[error("index {index} is compacted (first index {first_index})")]
    Compacted {
        /// What was asked for.
        index: u64,
        /// The first index still in the log.
        first_index: u64,
    },
    /// The requested index is beyond the last stored index.
    #[error("index {index} is unavailable (last index {last_index})")]
    Unavailable {
        /// What was asked for.
        index: u64,
        /// The last index in the log.
        last_index: u64,
    },
    /// A snapshot older than the current truncation point.
    #[error("snapshot at {index} is out of date (truncated at {truncated_index})")]
    SnapshotOutOfDate {
        /// The snapshot's index.
        index: u64,
        /// The store's truncation point.
        truncated_index: u64,
    },
    /// The caller broke a precondition (gap, non-contiguous entries,
    /// commit beyond the log, compaction beyond the snapshot, ...).
    #[error("invalid raft storage operation: {0}")]
    Invalid(String),
}

impl From<LogStoreError> for raft::Error {
    fn from(e: LogStoreError) -> Self {
        let se = match e {
            LogStoreError::Compacted { .. } => raft::StorageError::Compacted,
            LogStoreError::Unavailable { .. } => raft::StorageError::Unavailable,
            LogStoreError::SnapshotOutOfDate { .. } => raft::StorageError::SnapshotOutOfDate,
            other => raft::StorageError::Other(Box::new(other)),
        };
        raft::Error::Store(se)
    }
}

type LsResult<T> = Result<T, LogStoreError>;

/// The latest state-machine snapshot the node created, as handed to raft.
///
/// Its metadata says which log prefix the snapshot replaces; `data` is a
/// small versioned descriptor defined by the node (snapshot index, applied
/// index, tree size, root, ...). The snapshot's contents are streamed
/// separately over the transport ([`crate::Transport::fetch_snapshot_chunk`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotDescriptor {
    /// Raft index of the last entry the snapshot covers.
    pub index: u64,
    /// Term of that entry.
    pub term: u64,
    /// Configuration as of `index`.
    pub conf_state: ConfState,
    /// Opaque descriptor bytes, carried in `Snapshot.data`.
    pub data: Vec<u8>,
}

impl SnapshotDescriptor {
    /// The raft `Snapshot` carrying this descriptor.
    pub fn to_snapshot(&self) -> Snapshot {
        let mut snap = Snapshot::default();
        let meta = snap.mut_metadata();
        meta.index = self.index;
        meta.term = self.term;
        meta.set_conf_state(self.conf_state.clone());
        snap.data = self.data.clone().into();
        snap
    }

    fn from_snapshot(snap: &Snapshot) -> Self {
        let meta = snap.get_metadata();
        SnapshotDescriptor {
            index: meta.index,
            term: meta.term,
            conf_state: meta.get_conf_state().clone(),
            data: snap.data.to_vec(),
        }
    }
}

/// What the store keeps in memory; changed only after the engine write
/// that makes the change durable succeeded.
#[derive(Debug, Clone, Default)]
struct Cache {
    /// Truncation point: index and term of the entry before `first_index`.
    snapshot_meta: SnapshotMetadata,
    /// Last stored index (`snapshot_meta.index` when the log is empty).
    last_index: u64,
    hard_state: HardState,
    conf_state: ConfState,
    snapshot: Option<SnapshotDescriptor>,
}

impl Cache {
    fn first_index(&self) -> u64 {
        self.snapshot_meta.index + 1
    }
}

struct Inner<E> {
    engine: E,
    cache: RwLock<Cache>,
    /// Raft asked for a snapshot the latest descriptor cannot serve (it
    /// predates the recipient's membership): the driver should create one.
    snapshot_wanted: AtomicBool,
}

/// Raft log storage (`raft::Storage`) over a [`KvEngine`].
///
/// Cheap to clone: clones share the engine and the in-memory cache, so the
/// ready loop keeps a handle while `RawNode` owns another.
///
/// ### Contract
///
/// * **Layout.** Entries live in `raft_log` contiguously from
///   [`first_index`](Storage::first_index) to
///   [`last_index`](Storage::last_index); the entry before the first (the
///   truncation point: the last installed snapshot or compaction) keeps
///   only its index and term, in `snapshot_meta`. A fresh store is
///   truncated at 0 (first index 1, last index 0).
/// * **Durability.** Every mutation except
///   [`set_commit`](Self::set_commit) ([`append`](Self::append),
///   [`persist`](Self::persist),
///   [`set_hard_state`](Self::set_hard_state),
///   [`set_conf_state`](Self::set_conf_state),
///   [`apply_snapshot_metadata`](Self::apply_snapshot_metadata),
///   [`begin_snapshot_install`](Self::begin_snapshot_install),
///   [`install_snapshot`](Self::install_snapshot),
///   [`compact`](Self::compact),
///   [`set_snapshot_descriptor`](Self::set_snapshot_descriptor),
///   [`create`](Self::create)) is one atomic `WriteBatch` written with
///   `WriteOptions::SYNC`: when it returns `Ok` the change survives a crash,
///   and after a crash either all of it or none of it is visible. Recovery
///   is the engine's: RocksDB replays its WAL, drops a torn tail (never a
///   synced batch) and refuses to open over corruption in the middle
///   (`TolerateCorruptedTailRecords`, veritrace-store-rocksdb). Nothing
///   here is buffered, so [`open`](Self::open) sees exactly what the last
///   successful mutation left.
/// * **Ready-loop order.** Persist a ready's snapshot
///   (`begin_snapshot_install`, the state machine's restore, then
///   `install_snapshot`), then its entries (`append`), then its
///   hard state (`set_hard_state`), before sending its persisted messages
///   and calling `advance`; then `set_commit` for the light ready's commit
///   index. Mutations validate against what is stored (no gaps, no commit
///   beyond the last index) and refuse instead of panicking.
/// * **Errors.** Reads of compacted indices return
///   `StorageError::Compacted`, reads beyond the log `Unavailable`, a
///   snapshot not yet created (or older than requested)
///   `SnapshotTemporarilyUnavailable`, installing a stale snapshot
///   `SnapshotOutOfDate`. Engine failures and corrupt stored values (named
///   by their key) become `StorageError::Other`: raft becomes inoperable
///   and the node must stop and be restarted from disk. Nothing panics on
///   stored data.
/// * **Cache.** The truncation point, last index, hard state, conf state
///   and snapshot descriptor are cached behind a lock and updated only
///   after the engine write succeeded; mutations hold the lock for writing
///   across the engine write, so readers never see a half-applied change.
pub struct RaftLogStore<E: KvEngine> {
    inner: Arc<Inner<E>>,
}

impl<E: KvEngine> Clone for RaftLogStore<E> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<E: KvEngine> std::fmt::Debug for RaftLogStore<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.rl();
        f.debug_struct("RaftLogStore")
            .field("first_index", &c.first_index())
            .field("last_index", &c.last_index)
            .field("hard_state", &c.hard_state)
            .field("conf_state", &c.conf_state)
            .finish()
    }
}

fn encode<M: Message>(cf: &'static str, key: &str, m: &M) -> LsResult<Vec<u8>> {
    let mut v = vec![VALUE_VERSION];
    m.write_to_vec(&mut v).map_err(|e| LogStoreError::Corrupt {
        cf,
        key: key.to_string(),
        reason: format!("cannot encode: {e}"),
    })?;
    Ok(v)
}

fn decode<M: Message>(cf: &'static str, key: &str, bytes: &[u8]) -> LsResult<M> {
    let corrupt = |reason: String| LogStoreError::Corrupt { cf, key: key.to_string(), reason };
    match bytes.split_first() {
        None => Err(corrupt("empty value".into())),
        Some((&VALUE_VERSION, body)) => M::parse_from_bytes(body).map_err(|e| corrupt(format!("cannot decode: {e}"))),
        Some((v, _)) => Err(corrupt(format!("unknown value version {v}"))),
    }
}

fn key_name(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

impl<E: KvEngine> RaftLogStore<E> {
    /// Bootstraps an empty store with `conf_state` (the initial voters):
    /// truncated at index 0, default hard state. Fails with
    /// [`LogStoreError::AlreadyBootstrapped`] when raft state exists.
    pub fn create(engine: E, conf_state: ConfState) -> LsResult<Self> {
        check_cfs(&engine)?;
        if engine.get(CF_RAFT_STATE, KEY_HARD_STATE)?.is_some() || engine.scan(CF_RAFT_LOG, &[], None)?.next().is_some()
        {
            return Err(LogStoreError::AlreadyBootstrapped);
        }
        let mut snapshot_meta = SnapshotMetadata::default();
        snapshot_meta.set_conf_state(conf_state.clone());
        let hard_state = HardState::default();
        let mut wb = WriteBatch::new();
        wb.put(CF_RAFT_STATE, KEY_HARD_STATE, encode(CF_RAFT_STATE, "hard_state", &hard_state)?);
        wb.put(CF_RAFT_STATE, KEY_CONF_STATE, encode(CF_RAFT_STATE, "conf_state", &conf_state)?);
        wb.put(CF_RAFT_STATE, KEY_SNAPSHOT_META, encode(CF_RAFT_STATE, "snapshot_meta", &snapshot_meta)?);
        wb.delete(CF_RAFT_STATE, KEY_SNAPSHOT);
        engine.write(wb, WriteOptions::SYNC)?;
        let cache = Cache { snapshot_meta, last_index: 0, hard_state, conf_state, snapshot: None };
        Ok(Self {
            inner: Arc::new(Inner { engine, cache: RwLock::new(cache), snapshot_wanted: AtomicBool::new(false) }),
        })
    }

    /// [`create`](Self::create) with a conf state of `voters`.
    pub fn create_with_voters(engine: E, voters: &[u64]) -> LsResult<Self> {
        Self::create(engine, ConfState { voters: voters.to_vec(), ..Default::default() })
    }

    /// Bootstraps a founding node: the configuration of `voters` becomes
    /// the truncation point at [`BOOTSTRAP_INDEX`] (term 1), committed, and
    /// `members` the members' metadata. Every founding node must be
    /// bootstrapped with the same voters.
    pub fn bootstrap(engine: E, voters: &[u64], members: &[u8]) -> LsResult<Self> {
        check_cfs(&engine)?;
        if engine.get(CF_RAFT_STATE, KEY_HARD_STATE)?.is_some() || engine.scan(CF_RAFT_LOG, &[], None)?.next().is_some()
        {
            return Err(LogStoreError::AlreadyBootstrapped);
        }
        let conf_state = ConfState { voters: voters.to_vec(), ..Default::default() };
        let mut snapshot_meta = SnapshotMetadata { index: BOOTSTRAP_INDEX, term: 1, ..Default::default() };
        snapshot_meta.set_conf_state(conf_state.clone());
        let hard_state = HardState { term: 1, commit: BOOTSTRAP_INDEX, ..Default::default() };
        let mut wb = WriteBatch::new();
        wb.put(CF_RAFT_STATE, KEY_HARD_STATE, encode(CF_RAFT_STATE, "hard_state", &hard_state)?);
        wb.put(CF_RAFT_STATE, KEY_CONF_STATE, encode(CF_RAFT_STATE, "conf_state", &conf_state)?);
        wb.put(CF_RAFT_STATE, KEY_SNAPSHOT_META, encode(CF_RAFT_STATE, "snapshot_meta", &snapshot_meta)?);
        wb.put(CF_RAFT_STATE, KEY_MEMBERS, members.to_vec());
        wb.delete(CF_RAFT_STATE, KEY_SNAPSHOT);
        engine.write(wb, WriteOptions::SYNC)?;
        let cache = Cache { snapshot_meta, last_index: BOOTSTRAP_INDEX, hard_state, conf_state, snapshot: None };
        Ok(Self {
            inner: Arc::new(Inner { engine, cache: RwLock::new(cache), snapshot_wanted: AtomicBool::new(false) }),
        })
    }

    /// True once since raft asked for a snapshot the store could not give
    /// (see [`Storage::snapshot`]); the driver then creates a fresh one.
    pub fn take_snapshot_wanted(&self) -> bool {
        self.inner.snapshot_wanted.swap(false, Ordering::Relaxed)
    }

    /// Index of the last configuration change applied (0 if none).
    pub fn conf_applied(&self) -> LsResult<u64> {
        match self.engine().get(CF_RAFT_STATE, KEY_CONF_APPLIED)? {
            None => Ok(0),
            Some(b) => b.as_slice().try_into().map(u64::from_be_bytes).map_err(|_| LogStoreError::Corrupt {
                cf: CF_RAFT_STATE,
                key: "conf_applied".into(),
                reason: "not a u64".into(),
            }),
        }
    }

    /// The members' metadata last stored (empty if none).
    pub fn members(&self) -> LsResult<Vec<u8>> {
        Ok(self.engine().get(CF_RAFT_STATE, KEY_MEMBERS)?.unwrap_or_default())
    }

    /// Persists, in one synced batch, the conf state produced by applying
    /// the configuration change at `index` and the members' metadata after
    /// it.
    pub fn record_conf_change(&self, cs: &ConfState, index: u64, members: &[u8]) -> LsResult<()> {
        let mut cache = self.wl();
        let mut wb = WriteBatch::new();
        wb.put(CF_RAFT_STATE, KEY_CONF_STATE, encode(CF_RAFT_STATE, "conf_state", cs)?);
        wb.put(CF_RAFT_STATE, KEY_CONF_APPLIED, index.to_be_bytes().to_vec());
        wb.put(CF_RAFT_STATE, KEY_MEMBERS, members.to_vec());
        self.engine().write(wb, WriteOptions::SYNC)?;
        cache.conf_state = cs.clone();
        Ok(())
    }

    /// Replaces the members' metadata (after installing a snapshot).
    pub fn set_members(&self, members: &[u8]) -> LsResult<()> {
        let mut wb = WriteBatch::new();
        wb.put(CF_RAFT_STATE, KEY_MEMBERS, members.to_vec());
        self.engine().write(wb, WriteOptions::SYNC)?;
        Ok(())
    }

    /// True when `engine` holds bootstrapped raft state.
    pub fn is_bootstrapped(engine: &E) -> LsResult<bool> {
        check_cfs(engine)?;
        Ok(engine.get(CF_RAFT_STATE, KEY_HARD_STATE)?.is_some())
    }

    /// Opens a bootstrapped store after a restart, loading the cache from
    /// the engine and checking the log's first and last entries.
    pub fn open(engine: E) -> LsResult<Self> {
        check_cfs(&engine)?;
        let get_state = |key: &[u8]| -> LsResult<Option<Vec<u8>>> { Ok(engine.get(CF_RAFT_STATE, key)?) };
        let hard_state: HardState = match get_state(KEY_HARD_STATE)? {
            Some(b) => decode(CF_RAFT_STATE, "hard_state", &b)?,
            None => return Err(LogStoreError::NotBootstrapped),
        };
        let required = |key: &[u8]| -> LsResult<Vec<u8>> {
            get_state(key)?.ok_or_else(|| LogStoreError::Corrupt {
                cf: CF_RAFT_STATE,
                key: key_name(key),
                reason: "missing".into(),
            })
        };
        let conf_state: ConfState = decode(CF_RAFT_STATE, "conf_state", &required(KEY_CONF_STATE)?)?;
        let snapshot_meta: SnapshotMetadata = decode(CF_RAFT_STATE, "snapshot_meta", &required(KEY_SNAPSHOT_META)?)?;
        let snapshot = match get_state(KEY_SNAPSHOT)? {
            Some(b) => Some(SnapshotDescriptor::from_snapshot(&decode::<Snapshot>(CF_RAFT_STATE, "snapshot", &b)?)),
            None => None,
        };
        let first = snapshot_meta.index + 1;
        // Nothing may be stored before the first index.
        if let Some(kv) = engine.scan(CF_RAFT_LOG, &[], Some(&entry_key(first)))?.next() {
            let (k, _) = kv?;
            return Err(LogStoreError::Corrupt {
                cf: CF_RAFT_LOG,
                key: format!("{k:?}"),
                reason: format!("entry below first index {first}"),
            });
        }
        let last_index = find_last(&engine, snapshot_meta.index)?;
        let store = Self {
            inner: Arc::new(Inner {
                engine,
                cache: RwLock::new(Cache { snapshot_meta, last_index, hard_state, conf_state, snapshot }),
                snapshot_wanted: AtomicBool::new(false),
            }),
        };
        // Decode the boundary entries: a corrupt log fails here, not later.
        if last_index >= first {
            store.read_entry(first)?;
            store.read_entry(last_index)?;
        }
        if store.rl().hard_state.commit > last_index {
            return Err(LogStoreError::Corrupt {
                cf: CF_RAFT_STATE,
                key: "hard_state".into(),
                reason: format!("commit {} beyond last index {last_index}", store.rl().hard_state.commit),
            });
        }
        Ok(store)
    }

    fn rl(&self) -> RwLockReadGuard<'_, Cache> {
        self.inner.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn wl(&self) -> RwLockWriteGuard<'_, Cache> {
        self.inner.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    fn engine(&self) -> &E {
        &self.inner.engine
    }

    /// The engine underneath.
    pub fn engine_ref(&self) -> &E {
        &self.inner.engine
    }

    fn read_entry(&self, index: u64) -> LsResult<Entry> {
        let bytes = self.engine().get(CF_RAFT_LOG, &entry_key(index))?.ok_or_else(|| LogStoreError::Corrupt {
            cf: CF_RAFT_LOG,
            key: index.to_string(),
            reason: "entry missing inside the log".into(),
        })?;
        decode_entry(index, &bytes)
    }

    /// The persisted hard state.
    pub fn hard_state(&self) -> HardState {
        self.rl().hard_state.clone()
    }

    /// The persisted conf state.
    pub fn conf_state(&self) -> ConfState {
        self.rl().conf_state.clone()
    }

    /// The truncation point: index, term and conf state of the last
    /// installed snapshot or compaction.
    pub fn snapshot_metadata(&self) -> SnapshotMetadata {
        self.rl().snapshot_meta.clone()
    }

    /// The latest snapshot descriptor, if the node has created one.
    pub fn snapshot_descriptor(&self) -> Option<SnapshotDescriptor> {
        self.rl().snapshot.clone()
    }

    /// Appends `entries` (contiguous indices), first deleting every stored
    /// entry at or after the first new index (raft's truncation rule).
    /// Refuses entries below the first index and a gap after the last.
    pub fn append(&self, entries: &[Entry]) -> LsResult<()> {
        self.persist(entries, None)
    }

    /// Appends `entries` (as [`append`](Self::append)) and persists `hs`,
    /// if any, in **one** synced batch: one fsync per ready.
    pub fn persist(&self, entries: &[Entry], hs: Option<&HardState>) -> LsResult<()> {
        let mut cache = self.wl();
        let mut wb = WriteBatch::new();
        let mut new_last = cache.last_index;
        if let Some(first_new) = entries.first().map(|e| e.index) {
            for (i, w) in entries.windows(2).enumerate() {
                if w[1].index != w[0].index + 1 {
                    return Err(LogStoreError::Invalid(format!(
                        "entries not contiguous at position {}: {} then {}",
                        i + 1,
                        w[0].index,
                        w[1].index
                    )));
                }
            }
            let first = cache.first_index();
            if first_new < first {
                return Err(LogStoreError::Compacted { index: first_new, first_index: first });
            }
            if first_new > cache.last_index + 1 {
                return Err(LogStoreError::Invalid(format!(
                    "gap: appending at {first_new} after last index {}",
                    cache.last_index
                )));
            }
            new_last = first_new + entries.len() as u64 - 1;
            for e in entries {
                wb.put(CF_RAFT_LOG, entry_key(e.index).to_vec(), encode(CF_RAFT_LOG, &e.index.to_string(), e)?);
            }
            for idx in new_last + 1..=cache.last_index {
                wb.delete(CF_RAFT_LOG, entry_key(idx).to_vec());
            }
        }
        if let Some(hs) = hs {
            if hs.commit > new_last {
                return Err(LogStoreError::Invalid(format!(
                    "hard state commit {} beyond last index {new_last}",
                    hs.commit
                )));
            }
            wb.put(CF_RAFT_STATE, KEY_HARD_STATE, encode(CF_RAFT_STATE, "hard_state", hs)?);
        }
        if wb.is_empty() {
            return Ok(());
        }
        // MUTANT (power-loss test only): entries and votes not synced.
        let sync = if cfg!(feature = "mutant-skip-fsync") { WriteOptions::NO_SYNC } else { WriteOptions::SYNC };
        self.engine().write(wb, sync)?;
        cache.last_index = new_last;
        if let Some(hs) = hs {
            cache.hard_state = hs.clone();
        }
        Ok(())
    }

    /// Persists `hs`. Refuses a commit index beyond the last stored index.
    pub fn set_hard_state(&self, hs: &HardState) -> LsResult<()> {
        let mut cache = self.wl();
        if hs.commit > cache.last_index {
            return Err(LogStoreError::Invalid(format!(
                "hard state commit {} beyond last index {}",
                hs.commit, cache.last_index
            )));
        }
        let mut wb = WriteBatch::new();
        wb.put(CF_RAFT_STATE, KEY_HARD_STATE, encode(CF_RAFT_STATE, "hard_state", hs)?);
        self.engine().write(wb, WriteOptions::SYNC)?;
        cache.hard_state = hs.clone();
        Ok(())
    }

    /// Persists `cs` (after a configuration change was applied).
    pub fn set_conf_state(&self, cs: &ConfState) -> LsResult<()> {
        let mut cache = self.wl();
        let mut wb = WriteBatch::new();
        wb.put(CF_RAFT_STATE, KEY_CONF_STATE, encode(CF_RAFT_STATE, "conf_state", cs)?);
        self.engine().write(wb, WriteOptions::SYNC)?;
        cache.conf_state = cs.clone();
        Ok(())
    }

    /// Sets the hard state's commit index (a light ready's commit index)
    /// **without** syncing: the next synced write (the next ready's entries
    /// or hard state, a snapshot, a conf change) makes it durable through
    /// the shared WAL. A commit index lost in a crash is safe: committed
    /// entries stay committed, and the driver raises the commit index to
    /// the applied index on restart. Refuses an index beyond the last
    /// stored index or below the current commit.
    pub fn set_commit(&self, commit: u64) -> LsResult<()> {
        let mut cache = self.wl();
        if commit > cache.last_index || commit < cache.hard_state.commit {
            return Err(LogStoreError::Invalid(format!(
                "commit {commit} outside [{}, {}]",
                cache.hard_state.commit, cache.last_index
            )));
        }
        let mut hs = cache.hard_state.clone();
        hs.commit = commit;
        let mut wb = WriteBatch::new();
        wb.put(CF_RAFT_STATE, KEY_HARD_STATE, encode(CF_RAFT_STATE, "hard_state", &hs)?);
        self.engine().write(wb, WriteOptions::NO_SYNC)?;
        cache.hard_state = hs;
        Ok(())
    }

    /// Installs a received snapshot's metadata, as raft-rs's `MemStorage`
    /// does: deletes every entry, makes `meta` the truncation point, sets
    /// the commit index to `meta.index` and the term to at least
    /// `meta.term`, and takes `meta`'s conf state. A descriptor older than
    /// `meta` is dropped. Fails with `SnapshotOutOfDate` when `meta.index`
    /// is not beyond the current truncation point.
    pub fn apply_snapshot_metadata(&self, meta: &SnapshotMetadata) -> LsResult<()> {
        self.apply_snapshot(meta, None)
    }

    /// Records, synced, that `snapshot` is about to replace the state
    /// machine. Until [`install_snapshot`](Self::install_snapshot) or
    /// [`abandon_snapshot_install`](Self::abandon_snapshot_install) clears
    /// the record, the state machine may hold the snapshot (or part of it)
    /// while the log still ends before it, and the driver finishes the
    /// install when it starts ([`snapshot_install`](Self::snapshot_install)).
    pub fn begin_snapshot_install(&self, snapshot: &Snapshot) -> LsResult<()> {
        let _cache = self.wl();
        let mut wb = WriteBatch::new();
        wb.put(CF_RAFT_STATE, KEY_SNAPSHOT_INSTALL, encode(CF_RAFT_STATE, "snapshot_install", snapshot)?);
        self.engine().write(wb, WriteOptions::SYNC)?;
        Ok(())
    }

    /// The snapshot whose install began and neither finished nor was
    /// abandoned, if any.
    pub fn snapshot_install(&self) -> LsResult<Option<Snapshot>> {
        match self.engine().get(CF_RAFT_STATE, KEY_SNAPSHOT_INSTALL)? {
            Some(b) => Ok(Some(decode(CF_RAFT_STATE, "snapshot_install", &b)?)),
            None => Ok(None),
        }
    }

    /// Forgets the install [`begin_snapshot_install`](Self::begin_snapshot_install)
    /// recorded (the state machine refused the snapshot; the log is unchanged).
    pub fn abandon_snapshot_install(&self) -> LsResult<()> {
        let _cache = self.wl();
        let mut wb = WriteBatch::new();
        wb.delete(CF_RAFT_STATE, KEY_SNAPSHOT_INSTALL);
        self.engine().write(wb, WriteOptions::SYNC)?;
        Ok(())
    }

    /// Installs a received snapshot the state machine now holds: what
    /// [`apply_snapshot_metadata`](Self::apply_snapshot_metadata) does,
    /// plus `snapshot` as the latest descriptor and `members` as the
    /// members' metadata, and the end of the install record, in **one**
    /// synced batch: after a crash either the old log or the whole new one
    /// is visible.
    pub fn install_snapshot(&self, snapshot: &Snapshot, members: &[u8]) -> LsResult<()> {
        self.apply_snapshot(snapshot.get_metadata(), Some((snapshot, members)))
    }

    fn apply_snapshot(&self, meta: &SnapshotMetadata, installed: Option<(&Snapshot, &[u8])>) -> LsResult<()> {
        let mut cache = self.wl();
        if meta.index < cache.first_index() {
            return Err(LogStoreError::SnapshotOutOfDate {
                index: meta.index,
                truncated_index: cache.snapshot_meta.index,
            });
        }
        let mut hs = cache.hard_state.clone();
        hs.term = hs.term.max(meta.term);
        hs.commit = meta.index;
        let cs = meta.get_conf_state().clone();
        let drop_descriptor = installed.is_none() && cache.snapshot.as_ref().is_some_and(|d| d.index < meta.index);

        let mut wb = WriteBatch::new();
        for idx in cache.first_index()..=cache.last_index {
            wb.delete(CF_RAFT_LOG, entry_key(idx).to_vec());
        }
        wb.put(CF_RAFT_STATE, KEY_SNAPSHOT_META, encode(CF_RAFT_STATE, "snapshot_meta", meta)?);
        wb.put(CF_RAFT_STATE, KEY_HARD_STATE, encode(CF_RAFT_STATE, "hard_state", &hs)?);
        wb.put(CF_RAFT_STATE, KEY_CONF_STATE, encode(CF_RAFT_STATE, "conf_state", &cs)?);
        if let Some((snapshot, members)) = installed {
            wb.put(CF_RAFT_STATE, KEY_SNAPSHOT, encode(CF_RAFT_STATE, "snapshot", snapshot)?);
            wb.put(CF_RAFT_STATE, KEY_MEMBERS, members.to_vec());
            wb.delete(CF_RAFT_STATE, KEY_SNAPSHOT_INSTALL);
        } else if drop_descriptor {
            wb.delete(CF_RAFT_STATE, KEY_SNAPSHOT);
        }
        self.engine().write(wb, WriteOptions::SYNC)?;
        cache.snapshot_meta = meta.clone();
        cache.last_index = meta.index;
        cache.hard_state = hs;
        cache.conf_state = cs;
        if let Some((snapshot, _)) = installed {
            cache.snapshot = Some(SnapshotDescriptor::from_snapshot(snapshot));
        } else if drop_descriptor {
            cache.snapshot = None;
        }
        Ok(())
    }

    /// Deletes the entries below `compact_index`; the entry at
    /// `compact_index - 1` becomes the truncation point (its index and term
    /// are kept, with the current conf state). A no-op when
    /// `compact_index <= first_index`. Refuses compacting beyond the last
    /// index + 1, and beyond the latest snapshot descriptor (which the node
    /// creates only from applied state): otherwise a lagging follower
    /// could be caught up neither by entries nor by snapshot.
    pub fn compact(&self, compact_index: u64) -> LsResult<()> {
        let mut cache = self.wl();
        let first = cache.first_index();
        if compact_index <= first {
            return Ok(());
        }
        if compact_index > cache.last_index + 1 {
            return Err(LogStoreError::Invalid(format!(
                "compact to {compact_index} beyond last index {}",
                cache.last_index
            )));
        }
        let snap_index = cache.snapshot.as_ref().map_or(0, |d| d.index);
        if compact_index - 1 > snap_index {
            return Err(LogStoreError::Invalid(format!(
                "compact to {compact_index} beyond the latest snapshot at {snap_index}"
            )));
        }
        let point = self.read_entry(compact_index - 1)?;
        let mut meta = SnapshotMetadata { index: point.index, term: point.term, ..Default::default() };
        meta.set_conf_state(cache.conf_state.clone());
        let mut wb = WriteBatch::new();
        for idx in first..compact_index {
            wb.delete(CF_RAFT_LOG, entry_key(idx).to_vec());
        }
        wb.put(CF_RAFT_STATE, KEY_SNAPSHOT_META, encode(CF_RAFT_STATE, "snapshot_meta", &meta)?);
        self.engine().write(wb, WriteOptions::SYNC)?;
        cache.snapshot_meta = meta;
        Ok(())
    }

    /// Records the state-machine snapshot the node just created, which
    /// [`Storage::snapshot`] hands to raft from now on. `index` must be
    /// committed and not behind the truncation point; `term` must match the
    /// stored entry's (or the truncation point's) term.
    pub fn set_snapshot_descriptor(&self, index: u64, term: u64, conf_state: ConfState, data: Vec<u8>) -> LsResult<()> {
        let mut cache = self.wl();
        if index > cache.hard_state.commit {
            return Err(LogStoreError::Invalid(format!(
                "snapshot at {index} beyond commit {}",
                cache.hard_state.commit
            )));
        }
        if index < cache.snapshot_meta.index {
            return Err(LogStoreError::SnapshotOutOfDate { index, truncated_index: cache.snapshot_meta.index });
        }
        let stored_term =
            if index == cache.snapshot_meta.index { cache.snapshot_meta.term } else { self.read_entry(index)?.term };
        if stored_term != term {
            return Err(LogStoreError::Invalid(format!(
                "snapshot at {index} has term {term}, the log has {stored_term}"
            )));
        }
        let desc = SnapshotDescriptor { index, term, conf_state, data };
        let mut wb = WriteBatch::new();
        wb.put(CF_RAFT_STATE, KEY_SNAPSHOT, encode(CF_RAFT_STATE, "snapshot", &desc.to_snapshot())?);
        self.engine().write(wb, WriteOptions::SYNC)?;
        cache.snapshot = Some(desc);
        Ok(())
    }

    fn term_of(&self, cache: &Cache, idx: u64) -> LsResult<u64> {
        if idx == cache.snapshot_meta.index {
            return Ok(cache.snapshot_meta.term);
        }
        if idx < cache.first_index() {
            return Err(LogStoreError::Compacted { index: idx, first_index: cache.first_index() });
        }
        if idx > cache.last_index {
            return Err(LogStoreError::Unavailable { index: idx, last_index: cache.last_index });
        }
        Ok(self.read_entry(idx)?.term)
    }

    fn entries_in(&self, low: u64, high: u64, max_size: Option<u64>) -> LsResult<Vec<Entry>> {
        let cache = self.rl();
        let first = cache.first_index();
        if low < first {
            return Err(LogStoreError::Compacted { index: low, first_index: first });
        }
        if high > cache.last_index + 1 {
            return Err(LogStoreError::Unavailable { index: high - 1, last_index: cache.last_index });
        }
        if low > high {
            return Err(LogStoreError::Invalid(format!("entries range [{low}, {high}) is inverted")));
        }
        let max = match max_size {
            None | Some(NO_LIMIT) => None,
            Some(m) => Some(m),
        };
        let mut out = Vec::new();
        let mut size = 0u64;
        let mut expected = low;
        for kv in self.engine().scan(CF_RAFT_LOG, &entry_key(low), Some(&entry_key(high)))? {
            let (k, v) = kv?;
            let key_index = k.as_slice().try_into().map(u64::from_be_bytes).map_err(|_| LogStoreError::Corrupt {
                cf: CF_RAFT_LOG,
                key: format!("{k:?}"),
                reason: "key is not a u64".into(),
            })?;
            if key_index != expected {
                return Err(LogStoreError::Corrupt {
                    cf: CF_RAFT_LOG,
                    key: expected.to_string(),
                    reason: format!("entry missing inside the log (next stored is {key_index})"),
                });
            }
            let e = decode_entry(key_index, &v)?;
            size += u64::from(e.compute_size());
            if let Some(max) = max
                && !out.is_empty()
                && size > max
            {
                return Ok(out);
            }
            out.push(e);
            expected += 1;
        }
        if expected != high {
            return Err(LogStoreError::Corrupt {
                cf: CF_RAFT_LOG,
                key: expected.to_string(),
                reason: "entry missing inside the log".into(),
            });
        }
        Ok(out)
    }
}

fn conf_contains(cs: &ConfState, id: u64) -> bool {
    cs.voters.contains(&id)
        || cs.learners.contains(&id)
        || cs.voters_outgoing.contains(&id)
        || cs.learners_next.contains(&id)
}

fn decode_entry(index: u64, bytes: &[u8]) -> LsResult<Entry> {
    let e: Entry = decode(CF_RAFT_LOG, &index.to_string(), bytes)?;
    if e.index != index {
        return Err(LogStoreError::Corrupt {
            cf: CF_RAFT_LOG,
            key: index.to_string(),
            reason: format!("entry holds index {}", e.index),
        });
    }
    Ok(e)
}

fn check_cfs<E: KvEngine>(engine: &E) -> LsResult<()> {
    let cfs = engine.column_families();
    for cf in RAFT_CFS {
        if !cfs.iter().any(|c| c == cf) {
            return Err(LogStoreError::MissingColumnFamily(cf));
        }
    }
    Ok(())
}

/// The last contiguous index after `truncated` (which counts as present):
/// exponential then binary search with point reads, so opening a long log
/// costs O(log n) reads.
fn find_last<E: KvEngine>(engine: &E, truncated: u64) -> LsResult<u64> {
    let present = |i: u64| -> LsResult<bool> { Ok(engine.get(CF_RAFT_LOG, &entry_key(i))?.is_some()) };
    // Invariant: `lo` is present (or the truncation point), `hi` is absent.
    let mut lo = truncated;
    let mut step = 1u64;
    let mut hi = loop {
        let probe = lo.saturating_add(step);
        if probe == lo || !present(probe)? {
            break probe;
        }
        lo = probe;
        step = step.saturating_mul(2);
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if present(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

impl<E: KvEngine> Storage for RaftLogStore<E> {
    fn initial_state(&self) -> raft::Result<RaftState> {
        let c = self.rl();
        Ok(RaftState::new(c.hard_state.clone(), c.conf_state.clone()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        Ok(self.entries_in(low, high, max_size.into())?)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let c = self.rl();
        Ok(self.term_of(&c, idx)?)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.rl().first_index())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.rl().last_index)
    }

    /// The latest descriptor, if it is recent enough and its configuration
    /// includes `to` (raft-rs followers refuse a snapshot whose
    /// configuration lacks them); otherwise `SnapshotTemporarilyUnavailable`
    /// and [`RaftLogStore::take_snapshot_wanted`] turns true.
    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        match &self.rl().snapshot {
            Some(d) if d.index >= request_index && (to == 0 || conf_contains(&d.conf_state, to)) => Ok(d.to_snapshot()),
            _ => {
                self.inner.snapshot_wanted.store(true, Ordering::Relaxed);
                Err(raft::Error::Store(raft::StorageError::SnapshotTemporarilyUnavailable))
            }
        }
    }
}
