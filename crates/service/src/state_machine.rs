//! The ledger as the Raft state machine, and the proposal format.
//!
//! A proposal is one client request: a list of envelopes,
//! `count u32 | count x (len u32 | envelope bytes)` (big-endian). The
//! leader groups proposals into one entry; [`LedgerStateMachine`] applies
//! all envelopes of an entry as **one** ledger batch (one synced write),
//! then splits the receipts back per proposal. The answer to a proposal is
//! a protobuf `SubmitEnvelopesResponse` with one receipt per envelope.
//!
//! The ledger sits in a [`LedgerCell`] so readers (the gRPC services) keep
//! working while a snapshot replaces it: they hold an `Arc` of the ledger
//! they started with.

use std::path::Path;
use std::sync::{Arc, RwLock};

use prost::Message as _;
use veritrace_consensus::{SnapshotWrite, StateMachine};
use veritrace_core::Hash;
use veritrace_ledger::{BatchHeader, Ledger, LedgerError, LedgerOptions, Outcome};
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use crate::prechecks::Prechecks;

/// The storage engine of a replica, shared by the ledger and the Raft log:
/// RocksDB in a node process, the in-memory engine in the test kit. A trait
/// object, so the layers above never name the engine (one virtual call per
/// storage operation, nothing next to the operation itself).
pub type Engine = Arc<dyn KvEngine>;

/// The ledger currently served, replaceable as a whole by a snapshot, and
/// a notifier of its tree size for readers that follow new commits
/// (`LedgerService.Watch`).
#[derive(Clone)]
pub struct LedgerCell(Arc<CellInner>);

struct CellInner {
    ledger: RwLock<Arc<Ledger<Engine>>>,
    tree_size: tokio::sync::watch::Sender<u64>,
    applied_index: tokio::sync::watch::Sender<u64>,
}

impl LedgerCell {
    /// Wraps an opened ledger.
    pub fn new(ledger: Ledger<Engine>) -> Self {
        let (tree_size, _) = tokio::sync::watch::channel(ledger.tree_head().tree_size);
        let (applied_index, _) = tokio::sync::watch::channel(ledger.applied().applied_index);
        LedgerCell(Arc::new(CellInner { ledger: RwLock::new(Arc::new(ledger)), tree_size, applied_index }))
    }

    /// The ledger as of now.
    pub fn get(&self) -> Arc<Ledger<Engine>> {
        Arc::clone(&self.0.ledger.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// A receiver of the tree size, updated after every applied batch and
    /// snapshot install.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.tree_size.subscribe()
    }

    /// A receiver of the applied Raft log index, updated with the tree
    /// size (entries that append no leaf, such as code attempts, move it
    /// alone).
    pub fn subscribe_applied(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.applied_index.subscribe()
    }

    fn set(&self, ledger: Ledger<Engine>) {
        let size = ledger.tree_head().tree_size;
        let index = ledger.applied().applied_index;
        *self.0.ledger.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ledger);
        self.0.tree_size.send_replace(size);
        self.0.applied_index.send_replace(index);
    }

    fn applied(&self, tree_size: u64, applied_index: u64) {
        self.0.tree_size.send_replace(tree_size);
        self.0.applied_index.send_replace(applied_index);
    }
}

/// How a replica opens its ledger: batches are written to RocksDB's WAL
/// without their own fsync. The Raft driver's next synced write (entries
/// and hard state, in the same ready) syncs the shared WAL, and anything
/// lost before it is re-applied from the Raft log after a crash (the
/// applied index is stored atomically with each batch).
pub fn ledger_options() -> LedgerOptions {
    LedgerOptions { sync_apply: false, ..LedgerOptions::default() }
}

/// Most envelopes one proposal may carry.
pub const MAX_ENVELOPES_PER_PROPOSAL: usize = 1000;

/// Encodes a proposal of `envelopes`.
pub fn encode_proposal(envelopes: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + envelopes.iter().map(|e| e.len() + 4).sum::<usize>());
    out.extend_from_slice(&(envelopes.len() as u32).to_be_bytes());
    for e in envelopes {
        out.extend_from_slice(&(e.len() as u32).to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// Decodes a proposal; `None` when malformed.
pub fn decode_proposal(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let (count, mut rest) = bytes.split_first_chunk::<4>()?;
    let count = u32::from_be_bytes(*count) as usize;
    if count > MAX_ENVELOPES_PER_PROPOSAL {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        if tail.len() < len {
            return None;
        }
        let (env, tail) = tail.split_at(len);
        out.push(env.to_vec());
        rest = tail;
    }
    rest.is_empty().then_some(out)
}

/// Decodes the answer to a proposal.
pub fn decode_answer(bytes: &[u8]) -> Result<Vec<pb::Receipt>, prost::DecodeError> {
    Ok(pb::SubmitEnvelopesResponse::decode(bytes)?.receipts)
}

/// Why the ledger state machine failed (fatal for the node).
#[derive(Debug, thiserror::Error)]
pub enum StateMachineError {
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A snapshot file could not be written or read.
    #[error("snapshot file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A snapshot does not match what its descriptor promised.
    #[error("snapshot mismatch: {0}")]
    Mismatch(String),
}

/// The ledger as raft-rs's state machine.
pub struct LedgerStateMachine {
    cell: LedgerCell,
    engine: Engine,
    genesis_id: Hash,
    metrics: veritrace_metrics::Metrics,
    prechecks: Prechecks,
}

impl LedgerStateMachine {
    /// Applies to the ledger in `cell`, stored in `engine`, counting
    /// envelopes and the tree size in `metrics`.
    pub fn new(cell: LedgerCell, engine: Engine, metrics: veritrace_metrics::Metrics) -> Self {
        let genesis_id = cell.get().genesis().id();
        LedgerStateMachine { cell, engine, genesis_id, metrics, prechecks: Prechecks::per_core() }
    }
}

/// Descriptor of a ledger snapshot: `applied_index u64 | tree_size u64 | root [32]`.
fn descriptor(info: &veritrace_ledger::AppliedState) -> Vec<u8> {
    let mut d = Vec::with_capacity(48);
    d.extend_from_slice(&info.applied_index.to_be_bytes());
    d.extend_from_slice(&info.tree_size.to_be_bytes());
    d.extend_from_slice(info.root.as_bytes());
    d
}

impl StateMachine for LedgerStateMachine {
    type Error = StateMachineError;

    fn apply(
        &mut self,
        index: u64,
        proposed_at_ms: i64,
        proposals: &[&[u8]],
    ) -> Result<Vec<Vec<u8>>, StateMachineError> {
        let ledger = self.cell.get();
        // Deterministic time: the leader's clock, never behind the last batch.
        let commit_time_ms = proposed_at_ms.max(ledger.applied().last_commit_time_ms);
        let decoded: Vec<Option<Vec<Vec<u8>>>> = proposals.iter().map(|p| decode_proposal(p)).collect();
        let all: Vec<Vec<u8>> = decoded.iter().flatten().flatten().cloned().collect();
        let header = BatchHeader { log_index: index, commit_time_ms };
        let applied = ledger.apply_prechecked(&header, self.prechecks.take(&all))?;
        let count = |f: fn(&Outcome) -> bool| applied.iter().filter(|r| f(&r.outcome)).count() as u64;
        self.metrics.ledger().count_envelopes(
            count(|o| matches!(o, Outcome::Applied)),
            count(|o| matches!(o, Outcome::Duplicate)),
            count(|o| matches!(o, Outcome::Rejected { .. })),
        );
        let mut receipts = applied.into_iter();
        let mut answers = Vec::with_capacity(proposals.len());
        for envelopes in &decoded {
            let n = envelopes.as_ref().map_or(0, Vec::len);
            let receipts: Vec<pb::Receipt> = receipts.by_ref().take(n).map(|r| r.to_proto()).collect();
            answers.push(pb::SubmitEnvelopesResponse { receipts }.encode_to_vec());
        }
        let size = ledger.tree_head().tree_size;
        self.cell.applied(size, index);
        self.metrics.ledger().set_tree_size(size);
        Ok(answers)
    }

    /// Starts the signature checks of the entry's envelopes on the
    /// precheck workers (see the `prechecks` module).
    fn prepare(&mut self, proposals: &[&[u8]]) {
        let envelopes: Vec<Vec<u8>> = proposals.iter().filter_map(|p| decode_proposal(p)).flatten().collect();
        self.prechecks.start(envelopes);
    }

    fn applied_index(&self) -> u64 {
        self.cell.get().applied().applied_index
    }

    /// The ledger's applied index leads its descriptor (`descriptor`).
    fn snapshot_applied_index(&self, descriptor: &[u8]) -> Option<u64> {
        descriptor.first_chunk::<8>().map(|b| u64::from_be_bytes(*b))
    }

    /// Membership follows governance ([`crate::admission`]).
    fn admits(
        &self,
        change: &veritrace_consensus::MembershipChange,
        members: &std::collections::BTreeMap<veritrace_consensus::NodeId, Vec<u8>>,
    ) -> Result<bool, StateMachineError> {
        let verdict = crate::admission::judge(&self.cell.get(), change, members)?;
        if let crate::admission::Admission::Refused { reason, message } = &verdict {
            tracing::warn!(reason, %message, "a committed membership change is refused by the ledger");
        }
        Ok(verdict == crate::admission::Admission::Admitted)
    }

    /// Writes the ledger on a thread of its own, from a RocksDB snapshot
    /// taken under the apply lock; returns once that snapshot is taken, so
    /// the Raft loop goes on applying while the file is written.
    fn snapshot(&mut self, path: &Path) -> Result<SnapshotWrite<StateMachineError>, StateMachineError> {
        let ledger = self.cell.get();
        let path = path.to_path_buf();
        let (pinned_tx, pinned_rx) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new().name("ledger-snapshot".into()).spawn(move || {
            let io = |source| StateMachineError::Io { path: path.display().to_string(), source };
            let file = std::fs::File::create(&path).map_err(io)?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            let info = ledger.export_snapshot_pinned(&mut out, || {
                let _ = pinned_tx.send(());
            })?;
            let file = out.into_inner().map_err(|e| io(e.into_error()))?;
            file.sync_all().map_err(io)?;
            Ok(descriptor(&info.applied))
        });
        let thread =
            thread.map_err(|source| StateMachineError::Io { path: "snapshot writer thread".into(), source })?;
        // Returns when the state is fixed, or the writer failed before
        // (its error comes out of the write).
        let _ = pinned_rx.recv();
        Ok(SnapshotWrite::background(thread))
    }

    fn restore(&mut self, path: &Path, expected: &[u8], index: u64) -> Result<(), StateMachineError> {
        let io = |source| StateMachineError::Io { path: path.display().to_string(), source };
        let file = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
        Ledger::clear(&self.engine)?;
        let (ledger, info) = Ledger::import_snapshot(Arc::clone(&self.engine), file, ledger_options())?;
        let refused = if descriptor(&info.applied) != expected {
            Some(format!(
                "snapshot {index} holds tree size {} root {}, not what the leader described",
                info.applied.tree_size, info.applied.root
            ))
        } else if ledger.genesis().id() != self.genesis_id {
            Some(format!("snapshot {index} is of another network's genesis"))
        } else {
            None
        };
        if let Some(refused) = refused {
            // The import is stored already: clear it, so a restart finds no
            // ledger and rebuilds this node's own (`start::open_ledger`)
            // instead of opening one the Raft log knows nothing of.
            drop(ledger);
            Ledger::clear(&self.engine)?;
            return Err(StateMachineError::Mismatch(refused));
        }
        tracing::info!(index, tree_size = info.applied.tree_size, root = %info.applied.root, "ledger restored from a snapshot");
        self.metrics.ledger().set_tree_size(info.applied.tree_size);
        self.cell.set(ledger);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_round_trip_and_malformed_ones_are_refused() {
        let envs = vec![b"one".to_vec(), vec![], b"three".to_vec()];
        let bytes = encode_proposal(&envs);
        assert_eq!(decode_proposal(&bytes), Some(envs));
        for cut in 0..bytes.len() {
            assert_eq!(decode_proposal(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut longer = bytes;
        longer.push(1);
        assert_eq!(decode_proposal(&longer), None);
        assert_eq!(decode_proposal(&(u32::MAX).to_be_bytes()), None);
    }
}
