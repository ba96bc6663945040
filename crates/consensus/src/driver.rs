//! The Raft driver: one task owns a raft-rs `RawNode` and runs its ready
//! loop; a cloneable [`RaftHandle`] talks to it over a bounded channel.
//!
//! The loop follows raft-rs's documented order exactly: tick; step
//! inbound messages and proposals; then, when `has_ready`: send
//! `messages`, install a `snapshot`, apply `committed_entries`, append
//! `entries` and persist the `hard_state` (synced), send
//! `persisted_messages`, `advance`, persist the light ready's commit
//! index, send its messages, apply its committed entries, `advance_apply`.
//! Messages that depend on persisted state (votes, append responses) are
//! only sent after the state they report is synced.
//!
//! Proposals carry a request id in the entry context; the proposer's
//! future resolves when that entry is applied, with the state machine's
//! answer, never by FIFO guessing. A node that loses leadership fails its
//! pending proposals with `NotLeader` (the entry may still commit; callers
//! retry, and envelopes are idempotent). This first version answers
//! `NotLeader` on followers; forwarding, ReadIndex, membership changes,
//! snapshots and batching come with the node layer.

use std::collections::HashMap;
use std::time::Duration;

use protobuf::Message as _;
use raft::eraftpb::{Entry, EntryType, Message};
use raft::{Config, RawNode, StateRole};
use tokio::sync::{mpsc, oneshot};
use veritrace_storage::KvEngine;

use crate::log_store::RaftLogStore;
use crate::transport::{Inbound, NodeId, Transport};

/// The replicated state machine the driver applies committed entries to.
///
/// ### To ensure correctness
///
/// `apply` must be deterministic: the same entries in the same order give
/// the same state and answers on every replica (no clock, randomness or
/// local configuration).
pub trait StateMachine: Send + 'static {
    /// Applies the data of committed normal entry `index`; returns the
    /// answer for the proposer.
    fn apply(&mut self, index: u64, data: &[u8]) -> Vec<u8>;
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
    /// Ticks between leader heartbeats.
    pub heartbeat_ticks: usize,
    /// Depth of the command channel.
    pub queue_depth: usize,
}

impl DriverConfig {
    /// Defaults for node `id`: 100 ms ticks, elections after 1-2 s,
    /// heartbeats every 300 ms.
    pub fn new(id: NodeId) -> Self {
        DriverConfig { id, tick: Duration::from_millis(100), election_ticks: 10, heartbeat_ticks: 3, queue_depth: 1024 }
    }
}

/// Why a request to the driver failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// This node is not the leader; `leader` is the one it knows, if any.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The known leader.
        leader: Option<NodeId>,
    },
    /// raft-rs refused the proposal (e.g. a leadership transfer is running).
    #[error("proposal dropped: {0}")]
    Dropped(String),
    /// The driver stopped (shutdown or a fatal storage error).
    #[error("the raft driver has stopped")]
    Stopped,
}

/// What a node reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// This node's id.
    pub id: NodeId,
    /// Leader, follower, candidate or pre-candidate.
    pub role: String,
    /// The leader it knows (0 = none).
    pub leader: NodeId,
    /// Current term.
    pub term: u64,
    /// Highest index known committed.
    pub commit: u64,
    /// Highest index applied to the state machine.
    pub applied: u64,
}

enum Command {
    Propose { data: Vec<u8>, reply: oneshot::Sender<Result<Vec<u8>, DriverError>> },
    Status { reply: oneshot::Sender<Status> },
}

/// Cloneable handle to a running driver.
#[derive(Clone, Debug)]
pub struct RaftHandle {
    tx: mpsc::Sender<Command>,
}

impl RaftHandle {
    /// Proposes `data`; resolves with the state machine's answer once the
    /// entry is committed and applied on this node.
    pub async fn propose(&self, data: Vec<u8>) -> Result<Vec<u8>, DriverError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Command::Propose { data, reply }).await.map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)?
    }

    /// The node's current status.
    pub async fn status(&self) -> Result<Status, DriverError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Command::Status { reply }).await.map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }
}

/// Starts the driver task. It runs until `shutdown` resolves or every
/// handle is dropped, or stops on a storage failure (logged).
pub fn start<E: KvEngine, S: StateMachine, T: Transport>(
    cfg: DriverConfig,
    store: RaftLogStore<E>,
    state_machine: S,
    transport: T,
    inbound: mpsc::Receiver<Inbound>,
    applied: u64,
) -> Result<(RaftHandle, tokio::task::JoinHandle<()>), raft::Error> {
    let config = Config {
        id: cfg.id,
        election_tick: cfg.election_ticks,
        heartbeat_tick: cfg.heartbeat_ticks,
        pre_vote: true,
        check_quorum: true,
        applied,
        max_inflight_msgs: 256,
        ..Default::default()
    };
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    let node = RawNode::new(&config, store.clone(), &logger)?;
    let (tx, rx) = mpsc::channel(cfg.queue_depth);
    let driver =
        Driver { node, store, sm: state_machine, transport, pending: HashMap::new(), next_request: 1, id: cfg.id };
    let task = tokio::spawn(driver.run(rx, inbound, cfg.tick));
    Ok((RaftHandle { tx }, task))
}

type Reply = oneshot::Sender<Result<Vec<u8>, DriverError>>;

struct Driver<E: KvEngine, S, T> {
    node: RawNode<RaftLogStore<E>>,
    store: RaftLogStore<E>,
    sm: S,
    transport: T,
    pending: HashMap<u64, Reply>,
    next_request: u64,
    id: NodeId,
}

impl<E: KvEngine, S: StateMachine, T: Transport> Driver<E, S, T> {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut inbound: mpsc::Receiver<Inbound>,
        tick: Duration,
    ) {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => { self.node.tick(); }
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.handle_command(cmd),
                    None => return,
                },
                msg = inbound.recv() => match msg {
                    Some(msg) => self.handle_inbound(msg),
                    None => return,
                },
            }
            if let Err(e) = self.on_ready() {
                tracing::error!(node = self.id, cause = %e, "raft storage failed; stopping the driver");
                return;
            }
            self.fail_pending_if_deposed();
        }
    }

    fn handle_command(&mut self, cmd: Command) {
        match cmd {
            Command::Status { reply } => {
                let raft = &self.node.raft;
                let _ = reply.send(Status {
                    id: self.id,
                    role: format!("{:?}", raft.state),
                    leader: raft.leader_id,
                    term: raft.term,
                    commit: raft.raft_log.committed,
                    applied: raft.raft_log.applied,
                });
            }
            Command::Propose { data, reply } => {
                if self.node.raft.state != StateRole::Leader {
                    let leader = Some(self.node.raft.leader_id).filter(|l| *l != 0);
                    let _ = reply.send(Err(DriverError::NotLeader { leader }));
                    return;
                }
                let request = self.next_request;
                self.next_request += 1;
                let context = [self.id.to_be_bytes(), request.to_be_bytes()].concat();
                match self.node.propose(context, data) {
                    Ok(()) => {
                        self.pending.insert(request, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(DriverError::Dropped(e.to_string())));
                    }
                }
            }
        }
    }

    fn handle_inbound(&mut self, msg: Inbound) {
        match msg {
            Inbound::Raft { from, message } => match Message::parse_from_bytes(&message) {
                Ok(m) if m.from == from => {
                    if let Err(e) = self.node.step(m) {
                        tracing::debug!(node = self.id, from, cause = %e, "raft step refused a message");
                    }
                }
                Ok(m) => {
                    tracing::warn!(node = self.id, from, claimed = m.from, "raft message sender mismatch; dropped")
                }
                Err(e) => tracing::warn!(node = self.id, from, cause = %e, "undecodable raft message; dropped"),
            },
            // Forwarding and snapshot streaming arrive with the node layer.
            Inbound::Forward { .. } | Inbound::SnapshotChunk { .. } => {}
        }
    }

    /// A node that lost leadership may never see its pending entries
    /// applied (a new leader can overwrite them): fail them so callers
    /// retry rather than wait forever. The outcome is ambiguous (the entry
    /// may still commit), which is safe because envelopes are idempotent.
    fn fail_pending_if_deposed(&mut self) {
        if self.node.raft.state != StateRole::Leader && !self.pending.is_empty() {
            let leader = Some(self.node.raft.leader_id).filter(|l| *l != 0);
            for (_, reply) in self.pending.drain() {
                let _ = reply.send(Err(DriverError::NotLeader { leader }));
            }
        }
    }

    fn send(&self, messages: Vec<Message>) {
        for m in messages {
            match m.write_to_bytes() {
                Ok(bytes) => self.transport.send(m.to, bytes),
                Err(e) => tracing::error!(node = self.id, cause = %e, "cannot encode raft message"),
            }
        }
    }

    fn apply(&mut self, entries: Vec<Entry>) {
        for entry in entries {
            if entry.get_entry_type() != EntryType::EntryNormal || entry.data.is_empty() {
                continue; // leader no-ops; conf changes arrive with membership support
            }
            let answer = self.sm.apply(entry.index, &entry.data);
            if entry.context.len() == 16 {
                let (node, request) = entry.context.split_at(8);
                let node = u64::from_be_bytes(node.try_into().unwrap_or_default());
                let request = u64::from_be_bytes(request.try_into().unwrap_or_default());
                if node == self.id
                    && let Some(reply) = self.pending.remove(&request)
                {
                    let _ = reply.send(Ok(answer));
                }
            }
        }
    }

    fn on_ready(&mut self) -> Result<(), crate::LogStoreError> {
        if !self.node.has_ready() {
            return Ok(());
        }
        let mut ready = self.node.ready();
        self.send(ready.take_messages());
        if !ready.snapshot().is_empty() {
            self.store.apply_snapshot_metadata(ready.snapshot().get_metadata())?;
        }
        self.apply(ready.take_committed_entries());
        self.store.append(ready.entries())?;
        if let Some(hs) = ready.hs() {
            self.store.set_hard_state(hs)?;
        }
        self.send(ready.take_persisted_messages());
        let mut light = self.node.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.store.set_commit(commit)?;
        }
        self.send(light.take_messages());
        self.apply(light.take_committed_entries());
        self.node.advance_apply();
        Ok(())
    }
}
