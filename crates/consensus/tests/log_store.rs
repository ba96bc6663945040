//! `RaftLogStore` against raft-rs's `MemStorage` test suite, restarts,
//! corruption and a single-node `RawNode` ready loop.

use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, SnapshotMetadata};
use raft::{Config, GetEntriesContext, RawNode, StateRole, Storage};
use veritrace_consensus::log_store::{CF_RAFT_LOG, CF_RAFT_STATE, KEY_HARD_STATE, entry_key};
use veritrace_consensus::{LogStoreError, RAFT_CFS, RaftLogStore};
use veritrace_storage::{KvEngine, MemEngine, WriteBatch, WriteOptions};

fn new_entry(index: u64, term: u64) -> Entry {
    Entry { index, term, ..Default::default() }
}

fn voters(v: &[u64]) -> ConfState {
    ConfState { voters: v.to_vec(), ..Default::default() }
}

fn snap_meta(index: u64, term: u64, v: &[u64]) -> SnapshotMetadata {
    let mut m = SnapshotMetadata { index, term, ..Default::default() };
    m.set_conf_state(voters(v));
    m
}

fn ctx() -> GetEntriesContext {
    GetEntriesContext::empty(false)
}

fn store_err<T: std::fmt::Debug>(r: raft::Result<T>) -> raft::StorageError {
    match r {
        Err(raft::Error::Store(e)) => e,
        other => panic!("want a storage error, got {other:?}"),
    }
}

fn is_other<T: std::fmt::Debug>(r: raft::Result<T>) -> String {
    match store_err(r) {
        raft::StorageError::Other(e) => e.to_string(),
        other => panic!("want StorageError::Other, got {other:?}"),
    }
}

fn empty_store() -> RaftLogStore<MemEngine> {
    RaftLogStore::create_with_voters(MemEngine::new(RAFT_CFS), &[1, 2, 3]).expect("create")
}

/// MemStorage's tests fill `entries` with [3, 4, 5] directly; here the
/// same log is a truncation point at (2, 2) followed by appends.
fn store_with(ents: &[Entry]) -> RaftLogStore<MemEngine> {
    let s = empty_store();
    let first = ents[0].index;
    s.apply_snapshot_metadata(&snap_meta(first - 1, first - 1, &[1, 2, 3])).expect("truncate");
    s.append(ents).expect("append");
    s
}

fn stored_indices(s: &RaftLogStore<MemEngine>) -> Vec<u64> {
    s.engine_ref()
        .scan(CF_RAFT_LOG, &[], None)
        .expect("scan")
        .map(|kv| u64::from_be_bytes(kv.expect("kv").0.as_slice().try_into().expect("8 bytes")))
        .collect()
}

fn all_entries(s: &RaftLogStore<MemEngine>) -> Vec<Entry> {
    let (f, l) = (s.first_index().expect("first"), s.last_index().expect("last"));
    s.entries(f, l + 1, None, ctx()).expect("entries")
}

fn base() -> Vec<Entry> {
    vec![new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)]
}

/// Lets compaction go up to `index` (commit and snapshot descriptor there).
fn allow_compact_to(s: &RaftLogStore<MemEngine>, index: u64) {
    s.set_commit(index).expect("commit");
    let term = s.term(index).expect("term");
    s.set_snapshot_descriptor(index, term, s.conf_state(), b"desc".to_vec()).expect("descriptor");
}

#[test]
fn fresh_store_is_truncated_at_zero() {
    let s = empty_store();
    assert_eq!(s.first_index(), Ok(1));
    assert_eq!(s.last_index(), Ok(0));
    assert_eq!(s.term(0), Ok(0));
    assert_eq!(store_err(s.term(1)), raft::StorageError::Unavailable);
    let st = s.initial_state().expect("state");
    assert!(st.initialized());
    assert_eq!(st.conf_state.voters, vec![1, 2, 3]);
    assert_eq!(st.hard_state, HardState::default());
    assert_eq!(s.entries(1, 1, None, ctx()), Ok(vec![]));
}

#[test]
fn storage_term() {
    let s = store_with(&base());
    // MemStorage answers Compacted for 2 only because its test skips the
    // truncation point; a real store keeps the term of first_index - 1.
    let tests = [
        (1, Err(raft::StorageError::Compacted)),
        (2, Ok(2)),
        (3, Ok(3)),
        (4, Ok(4)),
        (5, Ok(5)),
        (6, Err(raft::StorageError::Unavailable)),
    ];
    for (idx, want) in tests {
        let got = s.term(idx).map_err(|e| match e {
            raft::Error::Store(se) => se,
            other => panic!("{other:?}"),
        });
        assert_eq!(got, want, "term({idx})");
    }
}

#[test]
fn storage_entries_with_max_size() {
    let ents = vec![new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)];
    let size = |i: usize| u64::from(ents[i].compute_size());
    let s = store_with(&ents);
    let max = u64::MAX;
    type Case = (u64, u64, u64, Result<Vec<Entry>, raft::StorageError>);
    let tests: Vec<Case> = vec![
        (2, 6, max, Err(raft::StorageError::Compacted)),
        (3, 4, max, Ok(vec![new_entry(3, 3)])),
        (4, 5, max, Ok(vec![new_entry(4, 4)])),
        (4, 6, max, Ok(vec![new_entry(4, 4), new_entry(5, 5)])),
        (4, 7, max, Ok(vec![new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)])),
        // Even with max size zero the first entry is returned.
        (4, 7, 0, Ok(vec![new_entry(4, 4)])),
        (4, 7, size(1) + size(2), Ok(vec![new_entry(4, 4), new_entry(5, 5)])),
        (4, 7, size(1) + size(2) + size(3) / 2, Ok(vec![new_entry(4, 4), new_entry(5, 5)])),
        (4, 7, size(1) + size(2) + size(3) - 1, Ok(vec![new_entry(4, 4), new_entry(5, 5)])),
        (4, 7, size(1) + size(2) + size(3), Ok(vec![new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)])),
        // MemStorage panics here; the store refuses.
        (4, 8, max, Err(raft::StorageError::Unavailable)),
    ];
    for (i, (lo, hi, max_size, want)) in tests.into_iter().enumerate() {
        let got = s.entries(lo, hi, max_size, ctx()).map_err(|e| match e {
            raft::Error::Store(se) => se,
            other => panic!("{other:?}"),
        });
        assert_eq!(got, want, "#{i}: entries({lo}, {hi}, {max_size})");
    }
    // No limit at all.
    assert_eq!(s.entries(3, 7, None, ctx()).expect("all").len(), 4);
}

#[test]
fn storage_last_index() {
    let s = store_with(&base());
    assert_eq!(s.last_index(), Ok(5));
    s.append(&[new_entry(6, 5)]).expect("append");
    assert_eq!(s.last_index(), Ok(6));
    assert_eq!(s.first_index(), Ok(3));
}

#[test]
fn storage_first_index() {
    let s = store_with(&base());
    assert_eq!(s.first_index(), Ok(3));
    allow_compact_to(&s, 5);
    s.compact(4).expect("compact");
    assert_eq!(s.first_index(), Ok(4));
    assert_eq!(s.last_index(), Ok(5));
    assert_eq!(s.term(3), Ok(3), "term of the truncation point is kept");
    assert_eq!(store_err(s.term(2)), raft::StorageError::Compacted);
}

#[test]
fn storage_compact() {
    // (compact index, want first index, want its term, want entry count)
    let tests = [(2, 3, 3, 3), (3, 3, 3, 3), (4, 4, 4, 2), (5, 5, 5, 1)];
    for (i, (idx, windex, wterm, wlen)) in tests.into_iter().enumerate() {
        let s = store_with(&base());
        allow_compact_to(&s, 5);
        s.compact(idx).expect("compact");
        let index = s.first_index().expect("first");
        assert_eq!(index, windex, "#{i}");
        let term = s.entries(index, index + 1, 1, ctx()).expect("entries")[0].term;
        assert_eq!(term, wterm, "#{i}");
        let last = s.last_index().expect("last");
        assert_eq!(last, 5, "#{i}");
        assert_eq!(s.entries(index, last + 1, 100, ctx()).expect("entries").len(), wlen, "#{i}");
        assert_eq!(stored_indices(&s), (windex..=5).collect::<Vec<_>>(), "#{i}: engine holds only the live log");
        assert_eq!(s.snapshot_metadata().index, windex - 1, "#{i}");
    }
}

#[test]
fn compact_refuses_beyond_snapshot_or_last_index() {
    let s = store_with(&base());
    // No state-machine snapshot yet: nothing may be compacted.
    assert!(matches!(s.compact(4), Err(LogStoreError::Invalid(_))));
    allow_compact_to(&s, 4);
    assert!(matches!(s.compact(6), Err(LogStoreError::Invalid(_))), "beyond the snapshot at 4");
    assert!(matches!(s.compact(7), Err(LogStoreError::Invalid(_))), "beyond last index + 1");
    assert_eq!(s.first_index(), Ok(3), "refusals change nothing");
    s.compact(5).expect("up to the snapshot");
    assert_eq!(s.first_index(), Ok(5));
    s.compact(3).expect("behind first index is a no-op");
    assert_eq!(s.first_index(), Ok(5));
}

#[test]
fn storage_create_snapshot() {
    let s = store_with(&base());
    let unavailable = raft::StorageError::SnapshotTemporarilyUnavailable;
    assert_eq!(store_err(s.snapshot(0, 2)), unavailable, "no snapshot created yet");

    s.set_commit(4).expect("commit");
    s.set_snapshot_descriptor(4, 4, voters(&[1, 2, 3]), b"d4".to_vec()).expect("descriptor");
    let snap = s.snapshot(0, 2).expect("snapshot");
    assert_eq!(snap.get_metadata().index, 4);
    assert_eq!(snap.get_metadata().term, 4);
    assert_eq!(snap.get_metadata().get_conf_state().voters, vec![1, 2, 3]);
    assert_eq!(snap.data.to_vec(), b"d4".to_vec());
    assert_eq!(s.snapshot(4, 2).expect("at request index").get_metadata().index, 4);
    // MemStorage bumps the index to the request; the store asks for a
    // fresher snapshot instead.
    assert_eq!(store_err(s.snapshot(5, 2)), unavailable);

    assert!(s.set_snapshot_descriptor(5, 5, voters(&[1]), vec![]).is_err(), "beyond commit");
    s.set_commit(5).expect("commit");
    assert!(s.set_snapshot_descriptor(5, 4, voters(&[1]), vec![]).is_err(), "wrong term");
    assert!(s.set_snapshot_descriptor(1, 1, voters(&[1]), vec![]).is_err(), "behind the truncation point");
    s.set_snapshot_descriptor(5, 5, voters(&[1, 2, 3]), b"d5".to_vec()).expect("descriptor");
    assert_eq!(s.snapshot(5, 2).expect("snapshot").get_metadata().index, 5);
}

#[test]
fn storage_append() {
    let tests: Vec<(Vec<Entry>, Option<Vec<Entry>>)> = vec![
        (base(), Some(base())),
        (
            vec![new_entry(3, 3), new_entry(4, 6), new_entry(5, 6)],
            Some(vec![new_entry(3, 3), new_entry(4, 6), new_entry(5, 6)]),
        ),
        (
            vec![new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 5)],
            Some(vec![new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 5)]),
        ),
        // Overwriting compacted entries is refused.
        (vec![new_entry(2, 3), new_entry(3, 3), new_entry(4, 5)], None),
        // Truncate the conflicting suffix, then append.
        (vec![new_entry(4, 5)], Some(vec![new_entry(3, 3), new_entry(4, 5)])),
        // Direct append.
        (vec![new_entry(6, 6)], Some(vec![new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)])),
        // A gap after the last index is refused (MemStorage panics).
        (vec![new_entry(7, 6)], None),
        // Non-contiguous input is refused.
        (vec![new_entry(4, 4), new_entry(6, 6)], None),
    ];
    for (i, (entries, want)) in tests.into_iter().enumerate() {
        let s = store_with(&base());
        let res = s.append(&entries);
        match want {
            Some(want) => {
                res.expect("append");
                assert_eq!(all_entries(&s), want, "#{i}");
                assert_eq!(s.first_index(), Ok(3), "#{i}");
                assert_eq!(s.last_index(), Ok(want[want.len() - 1].index), "#{i}");
                let idx: Vec<u64> = want.iter().map(|e| e.index).collect();
                assert_eq!(stored_indices(&s), idx, "#{i}: truncated suffix is deleted");
            }
            None => {
                assert!(res.is_err(), "#{i}: want an error");
                assert_eq!(all_entries(&s), base(), "#{i}: a refused append changes nothing");
                assert_eq!(s.last_index(), Ok(5), "#{i}");
            }
        }
    }
    // The compacted case maps to raft's Compacted.
    let s = store_with(&base());
    let e: raft::Error = s.append(&[new_entry(2, 2)]).expect_err("compacted").into();
    assert_eq!(e, raft::Error::Store(raft::StorageError::Compacted));
    assert!(s.append(&[]).is_ok());
}

#[test]
fn storage_apply_snapshot() {
    let s = empty_store();
    s.append(&[new_entry(1, 1), new_entry(2, 1), new_entry(3, 2)]).expect("append");
    let hs = HardState { term: 7, vote: 2, commit: 2, ..Default::default() };
    s.set_hard_state(&hs).expect("hs");
    s.set_snapshot_descriptor(2, 1, voters(&[1, 2, 3]), b"old".to_vec()).expect("descriptor");

    s.apply_snapshot_metadata(&snap_meta(4, 4, &[1, 2])).expect("apply");
    assert_eq!(s.first_index(), Ok(5));
    assert_eq!(s.last_index(), Ok(4));
    assert_eq!(s.term(4), Ok(4));
    assert!(stored_indices(&s).is_empty(), "all entries deleted");
    let st = s.initial_state().expect("state");
    assert_eq!(st.hard_state.commit, 4);
    assert_eq!(st.hard_state.term, 7, "term only ever grows");
    assert_eq!(st.hard_state.vote, 2);
    assert_eq!(st.conf_state.voters, vec![1, 2]);
    assert_eq!(s.snapshot_descriptor(), None, "the stale descriptor is dropped");
    assert_eq!(store_err(s.snapshot(0, 1)), raft::StorageError::SnapshotTemporarilyUnavailable);

    // Older or equal snapshots are out of date.
    for idx in [3, 4] {
        let e: raft::Error = s.apply_snapshot_metadata(&snap_meta(idx, idx, &[1])).expect_err("stale").into();
        assert_eq!(e, raft::Error::Store(raft::StorageError::SnapshotOutOfDate));
    }
    // A newer term bumps the hard state's term.
    s.apply_snapshot_metadata(&snap_meta(9, 8, &[1])).expect("apply");
    assert_eq!(s.hard_state().term, 8);
    // The log continues right after the snapshot.
    assert!(s.append(&[new_entry(11, 8)]).is_err(), "gap");
    s.append(&[new_entry(10, 8)]).expect("append");
    assert_eq!((s.first_index(), s.last_index()), (Ok(10), Ok(10)));
}

#[test]
fn hard_state_and_commit_are_validated() {
    let s = store_with(&base());
    let mut hs = HardState { term: 5, commit: 6, ..Default::default() };
    assert!(s.set_hard_state(&hs).is_err(), "commit beyond last index");
    hs.commit = 4;
    s.set_hard_state(&hs).expect("hs");
    assert_eq!(s.hard_state(), hs);
    assert!(s.set_commit(6).is_err());
    assert!(s.set_commit(3).is_err(), "commit never goes back");
    s.set_commit(5).expect("commit");
    assert_eq!(s.hard_state().commit, 5);
    assert_eq!(s.hard_state().term, 5);
    s.set_conf_state(&voters(&[1, 4])).expect("cs");
    assert_eq!(s.initial_state().expect("state").conf_state.voters, vec![1, 4]);
}

#[test]
fn reopen_restores_the_same_state() {
    let s = empty_store();
    let ents: Vec<Entry> = (1..=40)
        .map(|i| {
            let mut e = new_entry(i, 1 + i / 10);
            e.data = format!("entry {i}").into_bytes().into();
            e
        })
        .collect();
    s.append(&ents).expect("append");
    s.append(&[new_entry(38, 9)]).expect("truncate");
    let hs = HardState { term: 9, vote: 1, commit: 30, ..Default::default() };
    s.set_hard_state(&hs).expect("hs");
    s.set_conf_state(&voters(&[1, 2])).expect("cs");
    s.set_snapshot_descriptor(20, 3, voters(&[1, 2]), b"snap".to_vec()).expect("descriptor");
    s.compact(15).expect("compact");

    let r = RaftLogStore::open(s.engine_ref().deep_clone()).expect("open");
    assert_eq!(r.first_index(), Ok(15));
    assert_eq!(r.last_index(), Ok(38));
    assert_eq!(r.term(14), Ok(2));
    assert_eq!(r.term(38), Ok(9));
    assert_eq!(r.hard_state(), hs);
    assert_eq!(r.conf_state(), voters(&[1, 2]));
    assert_eq!(r.snapshot_metadata(), s.snapshot_metadata());
    assert_eq!(r.snapshot_descriptor(), s.snapshot_descriptor());
    assert_eq!(r.snapshot(0, 2), s.snapshot(0, 2));
    assert_eq!(all_entries(&r), all_entries(&s));
    assert_eq!(r.initial_state().expect("state").hard_state, hs);

    // Fresh and empty stores reopen too.
    let e = empty_store();
    let r = RaftLogStore::open(e.engine_ref().deep_clone()).expect("open");
    assert_eq!((r.first_index(), r.last_index()), (Ok(1), Ok(0)));
    // After installing a snapshot with no entries.
    e.apply_snapshot_metadata(&snap_meta(1000, 7, &[3])).expect("apply");
    let r = RaftLogStore::open(e.engine_ref().deep_clone()).expect("open");
    assert_eq!((r.first_index(), r.last_index(), r.term(1000)), (Ok(1001), Ok(1000), Ok(7)));
}

#[test]
fn bootstrap_errors() {
    assert!(matches!(RaftLogStore::open(MemEngine::new(RAFT_CFS)), Err(LogStoreError::NotBootstrapped)));
    assert!(matches!(
        RaftLogStore::create_with_voters(MemEngine::new(&["raft_log"]), &[1]),
        Err(LogStoreError::MissingColumnFamily("raft_state"))
    ));
    let s = empty_store();
    assert!(RaftLogStore::is_bootstrapped(s.engine_ref()).expect("check"));
    assert!(!RaftLogStore::is_bootstrapped(&MemEngine::new(RAFT_CFS)).expect("check"));
    assert!(matches!(
        RaftLogStore::create_with_voters(s.engine_ref().deep_clone(), &[1]),
        Err(LogStoreError::AlreadyBootstrapped)
    ));
}

fn put_raw(engine: &MemEngine, cf: &'static str, key: &[u8], value: &[u8]) {
    let mut wb = WriteBatch::new();
    wb.put(cf, key.to_vec(), value.to_vec());
    engine.write(wb, WriteOptions::SYNC).expect("write");
}

#[test]
fn corrupt_values_are_errors_not_panics() {
    let s = store_with(&base());
    put_raw(s.engine_ref(), CF_RAFT_LOG, &entry_key(4), &[1, 0xff, 0xff, 0xff]);
    let msg = is_other(s.entries(3, 6, None, ctx()));
    assert!(msg.contains("raft_log/4"), "{msg}");
    assert!(is_other(s.term(4)).contains("raft_log/4"));
    assert_eq!(s.term(3), Ok(3), "other entries still read");

    // Unknown version byte.
    put_raw(s.engine_ref(), CF_RAFT_LOG, &entry_key(5), &[9]);
    assert!(is_other(s.term(5)).contains("version"));
    // An entry stored under the wrong key.
    let mut wrong = vec![1];
    wrong.extend(new_entry(7, 5).write_to_bytes().expect("encode"));
    put_raw(s.engine_ref(), CF_RAFT_LOG, &entry_key(5), &wrong);
    assert!(is_other(s.term(5)).contains("raft_log/5"));
    assert!(RaftLogStore::open(s.engine_ref().deep_clone()).is_err(), "corrupt last entry fails open");

    // Corrupt hard state fails open, naming the key.
    let e = empty_store();
    put_raw(e.engine_ref(), CF_RAFT_STATE, KEY_HARD_STATE, b"");
    let err = RaftLogStore::open(e.engine_ref().deep_clone()).expect_err("corrupt");
    assert!(err.to_string().contains("hard_state"), "{err}");
    let raft_err: raft::Error = err.into();
    assert!(matches!(raft_err, raft::Error::Store(raft::StorageError::Other(_))));
}

#[test]
fn raw_node_single_voter_commits_a_proposal() {
    let store = RaftLogStore::create_with_voters(MemEngine::new(RAFT_CFS), &[1]).expect("create");
    let cfg = Config {
        id: 1,
        election_tick: 10,
        heartbeat_tick: 3,
        pre_vote: true,
        check_quorum: true,
        ..Default::default()
    };
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    let mut node = RawNode::new(&cfg, store.clone(), &logger).expect("raw node");
    let mut committed: Vec<Entry> = Vec::new();

    node.campaign().expect("campaign");
    for _ in 0..10 {
        if !node.has_ready() {
            break;
        }
        handle_ready(&mut node, &store, &mut committed);
    }
    assert_eq!(node.raft.state, StateRole::Leader);

    node.propose(vec![], b"hello".to_vec()).expect("propose");
    for _ in 0..10 {
        if !node.has_ready() {
            break;
        }
        handle_ready(&mut node, &store, &mut committed);
    }
    let hello = committed.iter().find(|e| e.data.to_vec() == b"hello".to_vec()).expect("proposal committed");
    assert_eq!(store.hard_state().commit, hello.index);
    assert_eq!(store.last_index(), Ok(hello.index));
    assert_eq!(store.hard_state().term, hello.term);

    // A restarted node sees the same log and state.
    let reopened = RaftLogStore::open(store.engine_ref().deep_clone()).expect("open");
    assert_eq!(reopened.hard_state(), store.hard_state());
    assert_eq!(all_entries(&reopened), all_entries(&store));
    let node2 = RawNode::new(&cfg, reopened, &logger).expect("restart");
    assert_eq!(node2.raft.raft_log.committed, hello.index);
}

/// One turn of the ready loop, in raft-rs's documented order.
fn handle_ready(node: &mut RawNode<RaftLogStore<MemEngine>>, store: &RaftLogStore<MemEngine>, out: &mut Vec<Entry>) {
    let mut rd = node.ready();
    // 1. Messages (none for a single voter).
    assert!(rd.take_messages().is_empty());
    // 2. Snapshot.
    if !rd.snapshot().is_empty() {
        store.apply_snapshot_metadata(rd.snapshot().get_metadata()).expect("snapshot");
    }
    // 3. Committed entries (apply).
    out.extend(rd.take_committed_entries());
    // 4. Entries, 5. hard state.
    store.append(rd.entries()).expect("append");
    if let Some(hs) = rd.hs() {
        store.set_hard_state(hs).expect("hard state");
    }
    // 6. Persisted messages.
    assert!(rd.take_persisted_messages().is_empty());
    // 7. Advance, then the light ready.
    let mut light = node.advance(rd);
    if let Some(commit) = light.commit_index() {
        store.set_commit(commit).expect("commit");
    }
    assert!(light.take_messages().is_empty());
    out.extend(light.take_committed_entries());
    node.advance_apply();
}

/// A `MemEngine` whose writes fail while `fail` is set.
struct FlakyEngine {
    inner: MemEngine,
    fail: std::sync::atomic::AtomicBool,
}

impl KvEngine for FlakyEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, veritrace_storage::StorageError> {
        self.inner.get(cf, key)
    }
    fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<(), veritrace_storage::StorageError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(veritrace_storage::StorageError::Engine {
                op: "write",
                cause: "disk on fire".into(),
                retryable: false,
            });
        }
        self.inner.write(batch, opts)
    }
    fn scan<'a>(
        &'a self,
        cf: &str,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Result<veritrace_storage::KvIter<'a>, veritrace_storage::StorageError> {
        self.inner.scan(cf, start, end)
    }
    fn column_families(&self) -> Vec<String> {
        self.inner.column_families()
    }
    fn read_view(
        &self,
        read: &mut dyn FnMut(&dyn veritrace_storage::KvView),
    ) -> Result<(), veritrace_storage::StorageError> {
        self.inner.read_view(read)
    }
}

#[test]
fn failed_writes_change_nothing_and_map_to_other() {
    let engine = FlakyEngine { inner: MemEngine::new(RAFT_CFS), fail: false.into() };
    let s = RaftLogStore::create_with_voters(engine, &[1]).expect("create");
    s.append(&[new_entry(1, 1), new_entry(2, 1)]).expect("append");
    s.engine_ref().fail.store(true, std::sync::atomic::Ordering::SeqCst);

    let err = s.append(&[new_entry(2, 2), new_entry(3, 2)]).expect_err("engine fails");
    assert!(matches!(err, LogStoreError::Engine(_)));
    let raft_err: raft::Error = err.into();
    assert!(matches!(raft_err, raft::Error::Store(raft::StorageError::Other(_))), "{raft_err:?}");
    assert_eq!(s.last_index(), Ok(2));
    assert_eq!(s.term(2), Ok(1));

    let hs = HardState { term: 3, commit: 1, ..Default::default() };
    assert!(s.set_hard_state(&hs).is_err());
    assert!(s.set_commit(2).is_err());
    assert!(s.set_conf_state(&voters(&[1, 2])).is_err());
    assert!(s.apply_snapshot_metadata(&snap_meta(5, 5, &[1])).is_err());
    assert_eq!(s.hard_state(), HardState::default());
    assert_eq!(s.conf_state(), voters(&[1]));
    assert_eq!((s.first_index(), s.last_index()), (Ok(1), Ok(2)));

    s.engine_ref().fail.store(false, std::sync::atomic::Ordering::SeqCst);
    s.set_commit(2).expect("works again");
    assert_eq!(s.hard_state().commit, 2);
}

#[test]
fn persist_writes_entries_and_hard_state_together_and_validates_both() {
    let s = empty_store();
    let hs = HardState { term: 2, vote: 1, commit: 2, ..Default::default() };
    s.persist(&[new_entry(1, 1), new_entry(2, 2)], Some(&hs)).expect("persist");
    assert_eq!(stored_indices(&s), vec![1, 2]);
    assert_eq!(s.hard_state(), hs);
    // A hard state committing beyond the new entries is refused, and
    // neither the entries nor the hard state are written.
    let beyond = HardState { term: 2, vote: 1, commit: 9, ..Default::default() };
    assert!(matches!(s.persist(&[new_entry(3, 2)], Some(&beyond)), Err(LogStoreError::Invalid(_))));
    assert_eq!(stored_indices(&s), vec![1, 2]);
    assert_eq!(s.hard_state(), hs);
    // A gap is refused; nothing to write is a no-op.
    assert!(matches!(s.persist(&[new_entry(5, 2)], None), Err(LogStoreError::Invalid(_))));
    s.persist(&[], None).expect("empty persist");
    // Reopening sees exactly what was persisted.
    let reopened = RaftLogStore::open(s.engine_ref().deep_clone()).expect("reopen");
    assert_eq!(reopened.hard_state(), hs);
    assert_eq!(reopened.last_index().expect("last"), 2);
}
