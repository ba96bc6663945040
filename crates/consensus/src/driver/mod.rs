//! The Raft driver: one task owns a raft-rs `RawNode` and runs its ready
//! loop; a cloneable [`RaftHandle`] talks to it over a bounded channel.
//!
//! ### The ready loop
//!
//! Each turn: tick on the timer, step what arrived (peer messages,
//! proposals, reads, membership changes), propose the batch of client
//! proposals gathered meanwhile as **one** entry (group commit), then
//! handle the ready in raft-rs's documented order:
//!
//! 1. send `messages` (the leader may send before it persists);
//! 2. install a `snapshot` (record the install, restore the state
//!    machine, then the Raft metadata in one batch; a node that stops
//!    midway finishes the install when it starts);
//! 3. hand the new normal `entries` to [`StateMachine::prepare`] (checks
//!    that depend only on their bytes start now, on other threads, while
//!    the entries are fsynced and replicated), then append them and
//!    persist the `hard_state`, both synced;
//! 4. send `persisted_messages` (votes and append responses report
//!    state that is now durable) **before** applying, so a follower's
//!    acknowledgement never waits for its state machine;
//! 5. apply `committed_entries` (raft-rs hands out only entries this
//!    node has persisted);
//! 6. `advance`; persist the light ready's commit index; send its
//!    messages; apply its committed entries; `advance_apply`.
//!
//! Then it serves ReadIndex states, leadership transfers and snapshots.
//! A snapshot is written on a thread of its own: the loop only fixes the
//! state to write ([`StateMachine::snapshot`]) and later records the
//! finished file and compacts the log, so neither applies nor heartbeats
//! wait for a large state to be exported.
//!
//! ### Proposals resolve by request id
//!
//! Every proposal gets a request id unique on its proposer. The entry's
//! [`ProposalBatch`](crate::wire::ProposalBatch) names the proposer and the
//! ids, so the answer the state machine gives for an item goes to exactly
//! the caller that proposed it, after apply; never by FIFO guessing. A node
//! that loses leadership fails its pending proposals with
//! [`DriverError::NotLeader`]; the entry may still commit, which is safe
//! because envelopes are idempotent (a retry answers "duplicate" with the
//! first receipt).
//!
//! Followers forward proposals, membership changes and leadership
//! transfers to the leader over [`Transport::forward`]; ReadIndex requests
//! travel inside Raft itself.
//!
//! ### Metrics
//!
//! The driver reports to [`DriverConfig::metrics`] (`metrics.raft()`):
//! the state gauges (leader known / is leader, term, commit and applied
//! index, apply lag, pending proposals) once per turn of the loop, a
//! leader change when the known leader becomes a node other than the last
//! one seen, the client proposals of each committed entry before and after
//! the state machine applies them, the time of each synced persist (step
//! 4) and of each apply (steps 3 and 6), and snapshots created and
//! installed. [`RaftHandle::propose`] counts the proposals answered with
//! an error.
//!
//! ### Logging
//!
//! The driver logs each change of the term or of the leader it knows once,
//! at `INFO`, with the fields `node`, `term`, `leader` (0 = none), `role`,
//! `previous_term` and `previous_leader`: "became the leader" when this
//! node wins, "leader changed" when it learns of another leader, "leader
//! lost" when it knows none any more, and "term changed, no leader yet".
//! Nothing is logged per tick or per message. raft-rs's own lines go to
//! `tracing` under the target `raft`, its `Info` (each election step) at
//! `DEBUG`: see [`crate::raft_logger`].

mod admission;
pub mod clock;
mod gate;
mod membership;
mod run;
mod snapshot_write;
pub(crate) mod snapshots;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use veritrace_metrics::Metrics;
use veritrace_storage::KvEngine;

use crate::log_store::RaftLogStore;
use crate::transport::{Inbound, NodeId, Transport};
use crate::wire::{Reader, WireError, read_str};

pub use clock::Clock;
pub use gate::{GateClosed, ProposalGate};
pub use snapshot_write::SnapshotWrite;
pub use snapshots::{SNAPSHOT_RETRY_TICKS, SnapshotInfo, snapshot_path};

/// The replicated state machine the driver applies committed entries to.
///
/// ### To ensure correctness
///
/// * `apply` must be deterministic: the same entries in the same order give
///   the same state and answers on every replica (no clock but
///   `proposed_at_ms`, no randomness, no local configuration).
/// * `apply` must store its effects together with `index` as the applied
///   index, atomically: after a crash the driver restarts from
///   [`StateMachine::applied_index`], and entries after it are applied
///   again. The write need not be synced if it shares its write-ahead log
///   with the [`RaftLogStore`]: the driver's next synced write (entries,
///   or the compaction a snapshot makes) syncs it before any entry it
///   depends on can leave the log.
/// * `prepare` must not change state: an entry it sees may be overwritten
///   by a new leader and never applied. Whatever it computes must be a pure
///   function of the proposal bytes, so `apply` gives the same answer with
///   or without it.
/// * `snapshot` must fix the state it writes before it returns (the driver
///   records the snapshot at the index applied at the call, and compacts
///   the log behind it once the write is done), and `restore` may be called
///   while an earlier snapshot is still being written: the writer must keep
///   reading the state it fixed (e.g. a storage engine's point-in-time
///   view), not the restored one.
/// * An `Err` from any method is fatal: the driver stops and the node must
///   restart from disk. Refusing bad input is an *answer*, not an error.
pub trait StateMachine: Send + 'static {
    /// A storage failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies the proposals of committed entry `index`, built by the
    /// leader at `proposed_at_ms`; returns one answer per proposal, in order.
    fn apply(&mut self, index: u64, proposed_at_ms: i64, proposals: &[&[u8]]) -> Result<Vec<Vec<u8>>, Self::Error>;

    /// A hint that `proposals` were just appended to this node's log and
    /// will probably be applied soon: start the checks that depend on
    /// nothing but their bytes (e.g. signatures), so `apply` finds them
    /// done. Must be cheap on the calling thread (hand work to others).
    /// The default does nothing.
    fn prepare(&mut self, proposals: &[&[u8]]) {
        let _ = proposals;
    }

    /// The last index `apply` stored (0 for a fresh state machine).
    fn applied_index(&self) -> u64;

    /// Whether a committed membership change may take effect. The driver
    /// asks once per change of each committed configuration entry, after
    /// applying every entry before it; `members` is the metadata each
    /// current member announced when it joined (an `AddLearner` carries
    /// the new member's). A change refused here is applied as a no-op on
    /// every replica (`admission`), so no leader can make it take effect.
    ///
    /// Must be deterministic like `apply`: a function of the applied state,
    /// `change` and `members` only. The default admits every change.
    fn admits(&self, change: &MembershipChange, members: &BTreeMap<NodeId, Vec<u8>>) -> Result<bool, Self::Error> {
        let _ = (change, members);
        Ok(true)
    }

    /// Starts writing the whole state, as it is now, to the file `path`.
    ///
    /// Returns once that state is fixed: whatever `apply` changes after
    /// the call returns must not show in the file. The file itself may be
    /// written afterwards, on another thread ([`SnapshotWrite::background`]),
    /// while the driver goes on applying; the write finishes with the file
    /// complete and synced, and a descriptor (e.g. tree size and root) that
    /// [`StateMachine::restore`] checks. A state small enough to write at
    /// once returns [`SnapshotWrite::done`].
    fn snapshot(&mut self, path: &std::path::Path) -> Result<SnapshotWrite<Self::Error>, Self::Error>;

    /// Replaces the whole state with the snapshot in `path`, checking it
    /// against `descriptor`; `index` is the Raft index it covers. After a
    /// crash it is called again with the same file, whatever state the
    /// first call left. An `Err` must leave the state as it was, or none
    /// that the node opens as valid.
    fn restore(&mut self, path: &std::path::Path, descriptor: &[u8], index: u64) -> Result<(), Self::Error>;

    /// What [`StateMachine::applied_index`] would be after restoring the
    /// snapshot `descriptor` describes, if the state machine can tell from
    /// the descriptor alone (it may be below the snapshot's Raft index when
    /// the last entries were no-ops or configuration changes). Start-up
    /// restores the node's own snapshot only when it is ahead of the state
    /// machine; `None` compares the snapshot's Raft index instead.
    fn snapshot_applied_index(&self, descriptor: &[u8]) -> Option<u64> {
        let _ = descriptor;
        None
    }
}

/// Settings of a driver.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// This node's Raft id (non-zero).
    pub id: NodeId,
    /// Interval between Raft ticks.
    pub tick: Duration,
    /// Ticks without a leader before an election (randomised up to 2x).
    pub election_ticks: usize,
    /// The range `[min, max)` raft-rs draws each election timeout from,
    /// in ticks; `None`: `[election_ticks, 2 × election_ticks)`. raft-rs
    /// draws from an OS-seeded generator, so a deterministic simulation
    /// pins each node to a range of width 1 (a different one per node).
    /// `min` must be at least `election_ticks`, `max` above `min`.
    pub election_timeout_range: Option<(usize, usize)>,
    /// Ticks between leader heartbeats.
    pub heartbeat_ticks: usize,
    /// Depth of the command channel.
    pub queue_depth: usize,
    /// Most proposals grouped into one entry.
    pub max_batch_proposals: usize,
    /// Most proposal bytes grouped into one entry: a proposal that would
    /// take a batch past it goes into the next entry, and a single larger
    /// proposal goes alone, up to `max_proposal_bytes`. See
    /// [`DriverConfig::max_entry_bytes`].
    pub max_batch_bytes: usize,
    /// Largest single proposal; larger ones are refused (`TOO_LARGE`).
    pub max_proposal_bytes: usize,
    /// Directory of state-machine snapshot files.
    pub snapshot_dir: PathBuf,
    /// Applied entries between automatic snapshots.
    pub snapshot_interval: u64,
    /// Entries kept in the log behind a snapshot, so followers a little
    /// behind catch up from the log rather than by snapshot.
    pub snapshot_keep_entries: u64,
    /// Metadata of the founding members, used until the store holds some.
    pub initial_metadata: BTreeMap<NodeId, Vec<u8>>,
    /// Where the driver and its handles report (`metrics.raft()`): a node
    /// passes its own catalogue; [`DriverConfig::new`] starts a private one.
    pub metrics: Metrics,
    /// This node's wall clock: what it proposes at, and answers a leader
    /// reading the voters' clocks with ([`clock`]).
    pub clock: Clock,
    /// While closed, client proposals made at this node (its own callers'
    /// and those followers forward to it as leader) are refused with the
    /// gate's reason; open by default.
    pub proposal_gate: ProposalGate,
}

impl DriverConfig {
    /// Defaults for node `id` keeping snapshots in `snapshot_dir`: 100 ms
    /// ticks, elections after 1-2 s, heartbeats every 300 ms, batches of up
    /// to 1,000 proposals or 1 MiB, proposals up to 3 MiB, a snapshot every
    /// 5,000 entries keeping 1,000 behind it; metrics go to a fresh
    /// private [`Metrics`] until `metrics` is set.
    pub fn new(id: NodeId, snapshot_dir: PathBuf) -> Self {
        DriverConfig {
            id,
            tick: Duration::from_millis(100),
            election_ticks: 10,
            election_timeout_range: None,
            heartbeat_ticks: 3,
            queue_depth: 4096,
            max_batch_proposals: 1000,
            max_batch_bytes: 1024 * 1024,
            max_proposal_bytes: 3 * 1024 * 1024,
            snapshot_dir,
            snapshot_interval: 100_000,
            snapshot_keep_entries: 1000,
            initial_metadata: BTreeMap::new(),
            metrics: Metrics::new(),
            clock: Clock::system(),
            proposal_gate: ProposalGate::default(),
        }
    }
}

/// Bytes a Raft message adds around its entries' data (the protobuf
/// headers of the message and of each entry), with room to spare.
pub const RAFT_MESSAGE_OVERHEAD: usize = 4 * 1024;

/// raft-rs's `max_uncommitted_size`: proposal bytes a leader holds
/// uncommitted before it drops new ones (`DriverError::Dropped`).
pub const MAX_UNCOMMITTED_BYTES: usize = 64 * 1024 * 1024;

/// Bytes the [`crate::wire::ProposalBatch`] format adds per proposal.
pub const BATCH_ITEM_OVERHEAD: usize = 12;

/// raft-rs's `max_size_per_msg`: entries beyond the first one a single
/// append message carries.
pub const MAX_APPEND_BYTES: usize = 1024 * 1024;

impl DriverConfig {
    /// The longest entry data this configuration builds: a batch of
    /// proposals up to `max_batch_bytes` (with per-item overhead), or one
    /// proposal up to `max_proposal_bytes` alone.
    pub fn max_entry_bytes(&self) -> usize {
        let single = self.max_proposal_bytes.saturating_add(BATCH_ITEM_OVERHEAD);
        self.max_batch_bytes.max(single).saturating_add(crate::wire::BATCH_HEADER_BYTES)
    }

    /// The longest Raft message this configuration sends: one entry of
    /// [`DriverConfig::max_entry_bytes`], or appends of up to
    /// [`MAX_APPEND_BYTES`], plus [`RAFT_MESSAGE_OVERHEAD`].
    pub fn max_raft_message_bytes(&self) -> usize {
        self.max_entry_bytes().max(MAX_APPEND_BYTES).saturating_add(RAFT_MESSAGE_OVERHEAD)
    }

    /// Checks that every entry fits a transport frame of `frame` bytes.
    /// An entry that does not fit is never replicated, and the log behind
    /// it stalls while heartbeats keep the leader in office.
    pub fn check_frame(&self, frame: usize) -> Result<(), StartError> {
        let needed = self.max_raft_message_bytes();
        if needed > frame {
            return Err(StartError::Config(format!(
                "an entry of up to {} bytes (max_batch_bytes {}, max_proposal_bytes {}) makes Raft messages \
                 of up to {needed} bytes, more than the transport's {frame}-byte frame: lower max_batch_bytes",
                self.max_entry_bytes(),
                self.max_batch_bytes,
                self.max_proposal_bytes
            )));
        }
        Ok(())
    }
}

/// Why a request to the driver failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// This node is not the leader and cannot reach one; `leader` is the
    /// one it knows, if any. Retry there or later.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The known leader.
        leader: Option<NodeId>,
    },
    /// raft-rs refused the proposal (e.g. a leadership transfer is running).
    #[error("proposal dropped: {0}")]
    Dropped(String),
    /// The request breaks a rule; `reason` is a stable UPPER_SNAKE code
    /// (`CHANGE_IN_PROGRESS`, `ALREADY_MEMBER`, `NOT_A_MEMBER`,
    /// `NOT_A_LEARNER`, `NOT_CAUGHT_UP`, `QUORUM_AT_RISK`,
    /// `LEADER_REMOVAL`, `INVALID_NODE`, `TOO_LARGE`).
    #[error("{reason}: {message}")]
    Refused {
        /// Machine-readable reason.
        reason: String,
        /// Human-readable detail.
        message: String,
    },
    /// The request did not complete in time (no leader, or a transfer
    /// that did not happen). It may still take effect.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The leader could not be reached to forward the request.
    #[error("leader unreachable: {0}")]
    Unavailable(String),
    /// The driver stopped (shutdown or a fatal storage error).
    #[error("the raft driver has stopped")]
    Stopped,
}

impl DriverError {
    fn refused(reason: &str, message: impl Into<String>) -> Self {
        DriverError::Refused { reason: reason.into(), message: message.into() }
    }

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        use crate::wire::put_str;
        match self {
            DriverError::NotLeader { leader } => {
                out.push(1);
                out.extend_from_slice(&leader.unwrap_or(0).to_be_bytes());
            }
            DriverError::Dropped(m) => {
                out.push(2);
                put_str(out, m);
            }
            DriverError::Refused { reason, message } => {
                out.push(3);
                put_str(out, reason);
                put_str(out, message);
            }
            DriverError::Timeout(m) => {
                out.push(4);
                put_str(out, m);
            }
            DriverError::Unavailable(m) => {
                out.push(5);
                put_str(out, m);
            }
            DriverError::Stopped => out.push(6),
        }
    }

    pub(crate) fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(match r.u8()? {
            1 => DriverError::NotLeader { leader: Some(r.u64()?).filter(|l| *l != 0) },
            2 => DriverError::Dropped(read_str(r)?),
            3 => DriverError::Refused { reason: read_str(r)?, message: read_str(r)? },
            4 => DriverError::Timeout(read_str(r)?),
            5 => DriverError::Unavailable(read_str(r)?),
            6 => DriverError::Stopped,
            t => return Err(WireError { what: "driver error", reason: format!("unknown tag {t}") }),
        })
    }
}

/// One change of the Raft configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipChange {
    /// Adds `node` as a non-voting learner; `metadata` (e.g. its network
    /// identity and addresses) is replicated to every member.
    AddLearner {
        /// The new node.
        node: NodeId,
        /// Node-layer metadata.
        metadata: Vec<u8>,
    },
    /// Promotes learner `node` to voter once it has caught up.
    Promote {
        /// The learner.
        node: NodeId,
    },
    /// Removes voter or learner `node`.
    Remove {
        /// The member.
        node: NodeId,
    },
}

/// The Raft configuration with each member's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    /// Voters (the incoming set during joint consensus).
    pub voters: BTreeSet<NodeId>,
    /// Voters of the outgoing set while in joint consensus; else empty.
    pub voters_outgoing: BTreeSet<NodeId>,
    /// Non-voting learners.
    pub learners: BTreeSet<NodeId>,
    /// Node-layer metadata by member.
    pub metadata: BTreeMap<NodeId, Vec<u8>>,
}

impl Membership {
    /// Every member: voters (both sets) and learners.
    pub fn all(&self) -> BTreeSet<NodeId> {
        self.voters.iter().chain(&self.voters_outgoing).chain(&self.learners).copied().collect()
    }
}

/// What a node reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// This node's id.
    pub id: NodeId,
    /// `leader`, `follower`, `candidate`, `pre-candidate` or `learner`.
    pub role: &'static str,
    /// The leader it knows (0 = none).
    pub leader: NodeId,
    /// Current term.
    pub term: u64,
    /// Highest index known committed.
    pub commit: u64,
    /// Highest index applied to the state machine.
    pub applied: u64,
    /// Index of the latest snapshot created or installed here.
    pub snapshot_index: u64,
    /// Last index in the local log.
    pub last_index: u64,
    /// The configuration as applied here.
    pub membership: Membership,
    /// Replication progress (`matched` index) per member; only on the
    /// leader, else empty.
    pub progress: BTreeMap<NodeId, u64>,
    /// Peers a Raft message arrived from within the last election timeout.
    pub reachable: BTreeSet<NodeId>,
}

pub(crate) type Reply = oneshot::Sender<Result<Vec<u8>, DriverError>>;

pub(crate) enum Command {
    Propose { data: Vec<u8>, reply: Reply },
    Read { reply: Reply },
    ChangeMembership { changes: Vec<MembershipChange>, reply: Reply },
    TransferLeader { target: NodeId, reply: Reply },
    Snapshot { reply: oneshot::Sender<Result<SnapshotInfo, DriverError>> },
    Status { reply: oneshot::Sender<Status> },
}

/// Cloneable handle to a running driver.
#[derive(Clone, Debug)]
pub struct RaftHandle {
    tx: mpsc::Sender<Command>,
    membership: watch::Receiver<Membership>,
    metrics: Metrics,
    /// Why the driver stopped, once it stopped on a fatal error.
    failure: watch::Receiver<Option<String>>,
}

fn u64_answer(bytes: &[u8]) -> Result<u64, DriverError> {
    bytes.try_into().map(u64::from_be_bytes).map_err(|_| DriverError::Dropped("malformed answer".into()))
}

impl RaftHandle {
    /// Resolves once the driver has stopped: with why, when it stopped on
    /// a fatal error (a write to its log failed, say), or `None` when it
    /// stopped because the node is shutting down. A node exits on a
    /// failure rather than linger answering `SHUTTING_DOWN`.
    pub async fn stopped(&self) -> Option<String> {
        self.tx.closed().await;
        self.failure.borrow().clone()
    }

    async fn call(&self, make: impl FnOnce(Reply) -> Command) -> Result<Vec<u8>, DriverError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)?
    }

    /// Proposes `data` (forwarded to the leader from a follower); resolves
    /// with the state machine's answer once the entry is committed and
    /// applied on the leader.
    /// An error counts in `veritrace_raft_proposals_failed_total`.
    pub async fn propose(&self, data: Vec<u8>) -> Result<Vec<u8>, DriverError> {
        let answer = self.call(|reply| Command::Propose { data, reply }).await;
        if answer.is_err() {
            self.metrics.raft().proposals_failed.inc();
        }
        answer
    }

    /// A linearizable read barrier (ReadIndex): resolves, with the read
    /// index, once this node has applied everything committed when the
    /// call was made. Reads of local state after it are linearizable.
    pub async fn read_index(&self) -> Result<u64, DriverError> {
        u64_answer(&self.call(|reply| Command::Read { reply }).await?)
    }

    /// Proposes a configuration change (one change: a simple change; more:
    /// joint consensus, left automatically). Resolves with the log index of
    /// the change once applied on the leader. One change at a time; changes
    /// that would endanger quorum are refused. Only the leader proposes: a
    /// follower answers [`DriverError::NotLeader`] (never forwarded, so that
    /// the leader's own application layer authenticates every caller), and
    /// a leader refuses such a request forwarded by a peer
    /// (`ADMIN_NOT_FORWARDED`).
    pub async fn change_membership(&self, changes: Vec<MembershipChange>) -> Result<u64, DriverError> {
        u64_answer(&self.call(|reply| Command::ChangeMembership { changes, reply }).await?)
    }

    /// Hands leadership to voter `target` (0 = the most up-to-date other
    /// voter); resolves with the new leader's id. On the leader only, as
    /// [`RaftHandle::change_membership`].
    pub async fn transfer_leader(&self, target: NodeId) -> Result<NodeId, DriverError> {
        u64_answer(&self.call(|reply| Command::TransferLeader { target, reply }).await?)
    }

    /// Writes a snapshot of the state machine now and compacts the log.
    pub async fn create_snapshot(&self) -> Result<SnapshotInfo, DriverError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Command::Snapshot { reply }).await.map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)?
    }

    /// The node's current status.
    pub async fn status(&self) -> Result<Status, DriverError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Command::Status { reply }).await.map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// The configuration as applied here, updated on every change.
    pub fn membership(&self) -> watch::Receiver<Membership> {
        self.membership.clone()
    }
}

/// Starts the driver task. It runs until every handle is dropped or the
/// inbound channel closes, or stops on a storage failure (logged).
pub fn start<E: KvEngine, S: StateMachine, T: Transport>(
    cfg: DriverConfig,
    store: RaftLogStore<E>,
    state_machine: S,
    transport: Arc<T>,
    inbound: mpsc::Receiver<Inbound>,
) -> Result<(RaftHandle, tokio::task::JoinHandle<()>), StartError> {
    let metrics = cfg.metrics.clone();
    let (driver, membership) = run::Driver::new(cfg, store, state_machine, transport)?;
    let (tx, rx) = mpsc::channel(driver.queue_depth());
    let (failure_tx, failure) = watch::channel(None);
    let task = tokio::spawn(driver.run(rx, inbound, failure_tx));
    Ok((RaftHandle { tx, membership, metrics, failure }, task))
}

/// Why a driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// raft-rs refused the configuration or the stored state.
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    /// The log store failed.
    #[error(transparent)]
    Store(#[from] crate::LogStoreError),
    /// The snapshot directory or the initial snapshot failed.
    #[error("snapshot: {0}")]
    Snapshot(String),
    /// Stored members' metadata does not decode.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The settings cannot work (e.g. entries larger than the frame).
    #[error("configuration: {0}")]
    Config(String),
}
