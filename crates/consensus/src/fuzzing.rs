//! The fuzzing surface (feature `fuzzing`, used by `fuzz/` only): every
//! decoder of bytes a peer or the disk hands the consensus layer, run on
//! the same input. Each must return an error for bad input, never panic.

use protobuf::Message as _;

use crate::driver::snapshots::SnapshotData;
use crate::wire::{self, ChangeContext, ForwardRequest, ProposalBatch};

/// Runs every decoder on `data`, and re-encodes what decodes (an encoder
/// must accept whatever its decoder produced).
pub fn decode_everything(data: &[u8]) {
    if let Ok(batch) = ProposalBatch::decode(data) {
        let _ = ProposalBatch::decode(&batch.encode());
    }
    if let Ok(request) = ForwardRequest::decode(data) {
        let _ = ForwardRequest::decode(&request.encode());
    }
    if let Ok(Err(e)) = wire::decode_answer(data) {
        let _ = wire::decode_answer(&wire::encode_answer(&Err(e)));
    }
    if let Ok(metadata) = wire::decode_metadata(data) {
        let _ = wire::decode_metadata(&wire::encode_metadata(&metadata));
    }
    let _ = ChangeContext::decode(data);
    if let Ok(snapshot) = SnapshotData::decode(data) {
        let _ = SnapshotData::decode(&snapshot.encode());
    }
    let _ = raft::eraftpb::Message::parse_from_bytes(data);
    let _ = raft::eraftpb::Snapshot::parse_from_bytes(data);
    let _ = raft::eraftpb::ConfChangeV2::parse_from_bytes(data);
    open_log_store(data);
}

/// A Raft log store opened from arbitrary stored pairs (a disk that lies):
/// every read the driver makes at start-up must fail cleanly.
fn open_log_store(data: &[u8]) {
    use raft::Storage as _;
    use veritrace_storage::{KvEngine as _, MemEngine, WriteBatch, WriteOptions};
    let engine = MemEngine::new(crate::RAFT_CFS);
    let mut batch = WriteBatch::new();
    for chunk in data.chunks(32) {
        let Some((&cf, rest)) = chunk.split_first() else { continue };
        let (key, value) = rest.split_at(rest.len().min(9));
        batch.put(crate::RAFT_CFS[usize::from(cf) % crate::RAFT_CFS.len()], key.to_vec(), value.to_vec());
    }
    if engine.write(batch, WriteOptions::SYNC).is_err() {
        return;
    }
    let Ok(store) = crate::RaftLogStore::open(engine) else { return };
    let _ = store.members();
    let _ = store.conf_applied();
    let _ = store.snapshot_install();
    let (first, last) = (store.first_index().unwrap_or(1), store.last_index().unwrap_or(0));
    let _ = store.term(first.saturating_sub(1));
    if last >= first {
        let _ = store.entries(first, last.min(first + 16) + 1, None, raft::GetEntriesContext::empty(false));
    }
}
