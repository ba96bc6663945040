//! The driver task: owns the `RawNode`, runs the ready loop (see the
//! module docs of [`crate::driver`] for the order) and routes answers.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::time::Instant;

use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeV2, Entry, EntryType, Message, MessageType};
use raft::{Config, RawNode, StateRole};
use tokio::sync::{mpsc, watch};
use veritrace_storage::KvEngine;

use super::clock::{self, PeerClocks};
use super::snapshot_write::{SnapshotJob, WrittenFile};
use super::snapshots::{catch_up_from_own_snapshot, finish_cut_short_install};
use super::{Command, DriverConfig, DriverError, Membership, Reply, StartError, StateMachine, Status};
use crate::LogStoreError;
use crate::log_store::RaftLogStore;
use crate::transport::{Inbound, NodeId, Transport};
use crate::wire::{self, ForwardRequest, ProposalBatch};

/// Something a task spawned by the driver hands back to it.
pub(super) enum Internal {
    /// A snapshot announced by `msg` was downloaded to `path` (or not).
    SnapshotFetched { msg: Box<Message>, index: u64, result: Result<PathBuf, String> },
    /// The file of the snapshot started at `index` is written (or not).
    SnapshotWritten { index: u64, result: Result<WrittenFile, String> },
    /// Voter `node`'s clock read `ms`, asked at `sent`, answered at `received`.
    ClockRead { node: NodeId, ms: i64, sent: Instant, received: Instant },
}

/// A fatal error: the driver stops.
#[derive(Debug, thiserror::Error)]
pub(super) enum Fatal {
    #[error(transparent)]
    Store(#[from] LogStoreError),
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    #[error("state machine: {0}")]
    StateMachine(String),
    #[error("snapshot: {0}")]
    Snapshot(String),
}

/// One ReadIndex request in flight and every caller it answers: reads
/// that arrive in the same turn of the loop share one request (one
/// heartbeat round to a quorum instead of one per caller).
pub(super) struct PendingRead {
    pub replies: Vec<Reply>,
    pub index: Option<u64>,
    pub deadline: u64,
}

pub(super) struct PendingTransfer {
    pub target: NodeId,
    pub reply: Reply,
    pub deadline: u64,
}

/// What woke the driver loop.
enum Event {
    Tick,
    Command(Option<Command>),
    Inbound(Option<Inbound>),
    Internal(Internal),
}

pub(super) struct Driver<E: KvEngine, S, T> {
    pub id: NodeId,
    pub cfg: DriverConfig,
    pub node: RawNode<RaftLogStore<E>>,
    pub store: RaftLogStore<E>,
    pub sm: S,
    pub transport: Arc<T>,
    /// Callers waiting for an entry they proposed, by request id.
    /// (Ordered maps here and in `reads`: the order callers are answered
    /// in is the order they retry in, which a simulation must replay.)
    pub pending: BTreeMap<u64, Reply>,
    /// Client proposals gathered for the next entry.
    pub batch: Vec<(u64, Vec<u8>)>,
    pub batch_bytes: usize,
    pub next_request: u64,
    pub reads: BTreeMap<u64, PendingRead>,
    /// Reads asked for in this turn of the loop, not yet sent to Raft.
    pub read_batch: Vec<Reply>,
    /// The snapshot whose file is being written, if one is.
    pub snapshot_job: Option<SnapshotJob>,
    /// A fatal error met outside the ready handling; the loop stops on it.
    pub failed: Option<Fatal>,
    pub transfers: Vec<PendingTransfer>,
    pub metadata: BTreeMap<NodeId, Vec<u8>>,
    pub membership_tx: watch::Sender<Membership>,
    /// Latest snapshot created or installed here.
    pub snapshot_index: u64,
    /// Tick before which no automatic snapshot starts (one failed).
    pub snapshot_retry_at: u64,
    /// Leader: when (tick) a snapshot was last sent to a follower.
    pub snapshot_sent: HashMap<NodeId, u64>,
    /// Follower: the snapshot being downloaded, and the one downloaded.
    pub fetching: Option<u64>,
    pub fetched: Option<(u64, PathBuf)>,
    pub internal_tx: mpsc::Sender<Internal>,
    pub internal_rx: Option<mpsc::Receiver<Internal>>,
    pub ticks: u64,
    pub last_proposed_ms: i64,
    /// Tick at which a Raft message last arrived from each peer.
    pub last_heard: HashMap<NodeId, u64>,
    /// The last non-zero leader id seen, for `leader_changes_total`.
    pub last_leader: NodeId,
    /// The term and leader (0 = none) last logged by `log_leadership`.
    pub logged: (u64, NodeId),
    /// Leader: the voters' clocks as last read (`clock`).
    pub peer_clocks: PeerClocks,
    /// Leader: when the voters' clocks were last asked for.
    pub clocks_asked: Option<Instant>,
    /// Voters that configuration entries appended but not yet applied
    /// here add, for (applied, last index): `admission`.
    pub pending_voters: Option<((u64, u64), std::collections::BTreeSet<NodeId>)>,
}

impl<E: KvEngine, S: StateMachine, T: Transport> Driver<E, S, T> {
    pub(super) fn new(
        cfg: DriverConfig,
        store: RaftLogStore<E>,
        mut sm: S,
        transport: Arc<T>,
    ) -> Result<(Self, watch::Receiver<Membership>), StartError> {
        cfg.check_frame(transport.max_message_bytes())?;
        std::fs::create_dir_all(&cfg.snapshot_dir)
            .map_err(|e| StartError::Snapshot(format!("create {}: {e}", cfg.snapshot_dir.display())))?;
        // Before anything reads the applied index: a cut-short install can
        // leave the state machine beyond the log's last index.
        finish_cut_short_install(cfg.id, &store, &mut sm, &cfg.snapshot_dir)
            .map_err(|e| StartError::Snapshot(e.to_string()))?;
        catch_up_from_own_snapshot(cfg.id, &store, &mut sm, &cfg.snapshot_dir)
            .map_err(|e| StartError::Snapshot(e.to_string()))?;
        let truncated = store.snapshot_metadata().index;
        let applied = sm.applied_index().max(store.conf_applied()?).max(truncated);
        // The commit index is written without sync and the state machine
        // may apply an entry before the hard state that commits it is
        // persisted: after a crash the stored commit can trail the applied
        // index. Entries were applied only once committed, so raise it
        // (raft-rs refuses applied > committed).
        if store.hard_state().commit < applied {
            tracing::info!(
                node = cfg.id,
                commit = store.hard_state().commit,
                applied,
                "raising the stored commit index to the applied index"
            );
            store.set_commit(applied)?;
        }
        let config = Config {
            id: cfg.id,
            election_tick: cfg.election_ticks,
            min_election_tick: cfg.election_timeout_range.map_or(0, |(min, _)| min),
            max_election_tick: cfg.election_timeout_range.map_or(0, |(_, max)| max),
            heartbeat_tick: cfg.heartbeat_ticks,
            pre_vote: true,
            check_quorum: true,
            applied,
            max_inflight_msgs: 256,
            max_size_per_msg: super::MAX_APPEND_BYTES as u64,
            // Load shedding: a leader that cannot commit (a slow or lost
            // quorum) stops taking proposals once this much waits, instead
            // of growing its log and memory without bound; callers get
            // PROPOSAL_DROPPED (retryable). raft-rs always takes one
            // proposal when nothing waits, so no entry is too big for it.
            max_uncommitted_size: super::MAX_UNCOMMITTED_BYTES as u64,
            ..Default::default()
        };
        let node = RawNode::new(&config, store.clone(), &crate::raft_logger::logger(cfg.id))?;
        // Changes are logged from here on: a restart is not a new term.
        let logged = (node.raft.term, node.raft.leader_id);
        let stored = store.members()?;
        let metadata = if stored.is_empty() { cfg.initial_metadata.clone() } else { wire::decode_metadata(&stored)? };
        let (membership_tx, membership_rx) = watch::channel(Membership::default());
        let (internal_tx, internal_rx) = mpsc::channel(16);
        let snapshot_index = store.snapshot_descriptor().map_or(0, |d| d.index);
        let mut driver = Driver {
            id: cfg.id,
            cfg,
            node,
            store,
            sm,
            transport,
            pending: BTreeMap::new(),
            batch: Vec::new(),
            batch_bytes: 0,
            next_request: 1,
            reads: BTreeMap::new(),
            read_batch: Vec::new(),
            snapshot_job: None,
            failed: None,
            transfers: Vec::new(),
            metadata,
            membership_tx,
            snapshot_index,
            snapshot_retry_at: 0,
            snapshot_sent: HashMap::new(),
            fetching: None,
            fetched: None,
            internal_tx,
            internal_rx: Some(internal_rx),
            ticks: 0,
            last_proposed_ms: 0,
            last_heard: HashMap::new(),
            last_leader: 0,
            logged,
            peer_clocks: PeerClocks::default(),
            clocks_asked: None,
            pending_voters: None,
        };
        driver.publish_membership();
        driver.remove_unfinished_snapshots();
        // A founding node must be able to hand a snapshot to a node that
        // joins later: make sure one exists at or past the truncation point.
        let has_conf = !driver.store.conf_state().voters.is_empty();
        if has_conf && driver.snapshot_index < truncated.max(1) {
            driver.create_snapshot_now().map_err(|e| StartError::Snapshot(e.to_string()))?;
        }
        Ok((driver, membership_rx))
    }

    pub(super) fn queue_depth(&self) -> usize {
        self.cfg.queue_depth
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut inbound: mpsc::Receiver<Inbound>,
        failure: watch::Sender<Option<String>>,
    ) {
        let mut ticker = tokio::time::interval(self.cfg.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let Some(mut internal) = self.internal_rx.take() else { return };
        self.report_state();
        // Which of commands and inbound messages goes first when both are
        // ready. Biased selects in an alternating order are fair and,
        // unlike an unbiased select (tokio's RNG, seeded per process),
        // replay the same way under a simulated clock. Ticks and internal
        // events (snapshot files written, clock readings) go first: at most
        // one tick is pending, and internal events are few.
        let mut commands_first = true;
        loop {
            let event = if commands_first {
                tokio::select! {
                    biased;
                    _ = ticker.tick() => Event::Tick,
                    Some(event) = internal.recv() => Event::Internal(event),
                    cmd = commands.recv() => Event::Command(cmd),
                    msg = inbound.recv() => Event::Inbound(msg),
                }
            } else {
                tokio::select! {
                    biased;
                    _ = ticker.tick() => Event::Tick,
                    Some(event) = internal.recv() => Event::Internal(event),
                    msg = inbound.recv() => Event::Inbound(msg),
                    cmd = commands.recv() => Event::Command(cmd),
                }
            };
            // The other of commands and inbound goes first next time one
            // of them was served.
            if matches!(event, Event::Command(_) | Event::Inbound(_)) {
                commands_first = !commands_first;
            }
            match event {
                Event::Tick => self.on_tick(),
                Event::Command(Some(cmd)) => {
                    self.handle_command(cmd);
                    // Group commit: take whatever else is queued now into
                    // the same entry.
                    while self.batch.len() < self.cfg.max_batch_proposals && self.batch_bytes < self.cfg.max_batch_bytes
                    {
                        match commands.try_recv() {
                            Ok(cmd) => self.handle_command(cmd),
                            Err(_) => break,
                        }
                    }
                }
                Event::Inbound(Some(msg)) => {
                    self.handle_inbound(msg);
                    // Forwarded proposals join the same entry too.
                    for _ in 0..self.cfg.max_batch_proposals {
                        match inbound.try_recv() {
                            Ok(msg) => self.handle_inbound(msg),
                            Err(_) => break,
                        }
                    }
                }
                Event::Command(None) | Event::Inbound(None) => break,
                Event::Internal(event) => self.handle_internal(event),
            }
            self.flush_batch();
            self.flush_reads();
            if let Err(e) = self.failed.take().map_or_else(|| self.on_ready(), Err) {
                tracing::error!(node = self.id, cause = %e, "raft driver failed; stopping");
                failure.send_replace(Some(e.to_string()));
                break;
            }
            self.after_ready();
            self.report_state();
        }
        self.fail_all(DriverError::Stopped);
        let m = self.cfg.metrics.raft();
        m.has_leader.set(0);
        m.is_leader.set(0);
        // A snapshot writer must not outlive the driver (it would write into
        // the node's directories after shutdown). Closing the channel first
        // keeps its last send from blocking.
        drop(internal);
        if let Some(job) = self.snapshot_job.take() {
            let _ = tokio::task::spawn_blocking(move || job.join()).await;
        }
    }

    fn on_tick(&mut self) {
        self.ticks += 1;
        self.node.tick();
        self.expire_requests();
        self.retry_stuck_snapshots();
        self.read_voter_clocks();
    }

    /// Leader: asks every other voter for its clock once per
    /// [`clock::POLL_EVERY`] (the answers come back as
    /// [`Internal::ClockRead`]). Not leading: forgets the readings.
    fn read_voter_clocks(&mut self) {
        if !self.is_leader() {
            self.peer_clocks.clear();
            self.clocks_asked = None;
            return;
        }
        let now = Instant::now();
        if self.clocks_asked.is_some_and(|t| now.saturating_duration_since(t) < clock::POLL_EVERY) {
            return;
        }
        self.clocks_asked = Some(now);
        for node in self.other_voters() {
            let transport = Arc::clone(&self.transport);
            let internal = self.internal_tx.clone();
            tokio::spawn(async move {
                let sent = Instant::now();
                let Ok(bytes) = transport.forward(node, ForwardRequest::Clock.encode()).await else { return };
                let received = Instant::now();
                // A node that predates clock requests answers an error: no reading.
                let Ok(Ok(answer)) = wire::decode_answer(&bytes) else { return };
                let Ok(ms) = <[u8; 8]>::try_from(answer.as_slice()).map(i64::from_be_bytes) else { return };
                // Dropped when the loop is busy: the next poll reads again.
                let _ = internal.try_send(Internal::ClockRead { node, ms, sent, received });
            });
        }
    }

    /// The voters other than this node.
    fn other_voters(&self) -> Vec<NodeId> {
        self.node.raft.prs().conf().to_conf_state().voters.into_iter().filter(|id| *id != self.id).collect()
    }

    pub(super) fn is_leader(&self) -> bool {
        self.node.raft.state == StateRole::Leader
    }

    pub(super) fn leader(&self) -> Option<NodeId> {
        Some(self.node.raft.leader_id).filter(|l| *l != 0)
    }

    /// Updates the state gauges, counts a change of leader and logs a
    /// change of leader or term: a few atomic stores and two comparisons,
    /// once per turn of the loop.
    fn report_state(&mut self) {
        let raft = &self.node.raft;
        let m = self.cfg.metrics.raft();
        let leader = raft.leader_id;
        if leader != 0 && leader != self.last_leader {
            m.leader_changes.inc();
            self.last_leader = leader;
        }
        m.set_state(leader, self.is_leader(), raft.term, raft.raft_log.committed, raft.raft_log.applied);
        m.set_pending(self.pending.len());
        self.log_leadership();
    }

    /// Logs at `INFO`, once, each change of the term or of the leader this
    /// node knows: "became the leader" (this node), "leader changed"
    /// (another node), "leader lost" (none known any more, e.g. a vote
    /// request of a higher term, or a leader stepping down without a
    /// quorum) or "term changed, no leader yet". raft-rs's own lines on
    /// each election step are at `DEBUG` (see [`crate::raft_logger`]).
    fn log_leadership(&mut self) {
        let (term, leader) = (self.node.raft.term, self.node.raft.leader_id);
        let (previous_term, previous_leader) = self.logged;
        if (term, leader) == self.logged {
            return;
        }
        self.logged = (term, leader);
        let (node, role) = (self.id, self.role());
        let message = if leader == node {
            "became the leader"
        } else if leader != 0 {
            "leader changed"
        } else if previous_leader != 0 {
            "leader lost"
        } else {
            "term changed, no leader yet"
        };
        tracing::info!(node, term, leader, role, previous_term, previous_leader, "{message}");
    }

    /// This node's role: `leader`, `follower`, `candidate`,
    /// `pre-candidate` or `learner`.
    fn role(&self) -> &'static str {
        let raft = &self.node.raft;
        match raft.state {
            StateRole::Leader => "leader",
            StateRole::Candidate => "candidate",
            StateRole::PreCandidate => "pre-candidate",
            StateRole::Follower if raft.prs().conf().learners().contains(&self.id) => "learner",
            StateRole::Follower => "follower",
        }
    }

    fn next_request(&mut self) -> u64 {
        let r = self.next_request;
        self.next_request += 1;
        r
    }

    fn handle_command(&mut self, cmd: Command) {
        match cmd {
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Command::Propose { data, reply } => self.on_propose(data, reply),
            Command::Read { reply } => self.read_batch.push(reply),
            // Never forwarded: the application layer that authenticated the
            // caller is this node's, and the leader's must authenticate it
            // too. A follower names the leader; the caller goes there.
            Command::ChangeMembership { changes, reply } => {
                if self.is_leader() {
                    self.propose_membership(changes, reply);
                } else {
                    let _ = reply.send(Err(DriverError::NotLeader { leader: self.leader() }));
                }
            }
            Command::TransferLeader { target, reply } => {
                if self.is_leader() {
                    self.start_transfer(target, reply);
                } else {
                    let _ = reply.send(Err(DriverError::NotLeader { leader: self.leader() }));
                }
            }
            Command::Snapshot { reply } => {
                if let Err(e) = self.start_snapshot(Some(reply)) {
                    self.failed.get_or_insert(e);
                }
            }
        }
    }

    fn on_propose(&mut self, data: Vec<u8>, reply: Reply) {
        if data.len() > self.cfg.max_proposal_bytes {
            let msg = format!("proposal of {} bytes exceeds {}", data.len(), self.cfg.max_proposal_bytes);
            let _ = reply.send(Err(DriverError::refused("TOO_LARGE", msg)));
            return;
        }
        // Checked here, before forwarding and again at the leader: neither
        // a node whose own disk is short nor a leader whose disk is short
        // takes a new write (Raft's own traffic goes on).
        if let Some(closed) = self.cfg.proposal_gate.closed() {
            let _ = reply.send(Err(DriverError::refused(closed.reason, closed.message)));
            return;
        }
        if !self.is_leader() {
            self.forward(ForwardRequest::Propose(data), reply);
            return;
        }
        // Never let a batch outgrow max_batch_bytes: the entry it becomes
        // must fit one network frame (DriverConfig::check_frame), or it
        // never replicates and every later entry stalls behind it.
        let cost = data.len() + super::BATCH_ITEM_OVERHEAD;
        if !self.batch.is_empty() && self.batch_bytes + cost > self.cfg.max_batch_bytes {
            self.flush_batch();
        }
        let request = self.next_request();
        self.pending.insert(request, reply);
        self.batch_bytes += cost;
        self.batch.push((request, data));
        if self.batch.len() >= self.cfg.max_batch_proposals || self.batch_bytes >= self.cfg.max_batch_bytes {
            self.flush_batch();
        }
    }

    /// Proposes the gathered client proposals as one entry.
    fn flush_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let items = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        // Never let the leader's clock run backwards across entries.
        let at = self.peer_clocks.proposal_time(self.cfg.clock.now_ms(), &self.other_voters(), Instant::now());
        self.last_proposed_ms = self.last_proposed_ms.max(at);
        let ids: Vec<u64> = items.iter().map(|(r, _)| *r).collect();
        let data = ProposalBatch { proposer: self.id, proposed_at_ms: self.last_proposed_ms, items }.encode();
        let refused = if self.is_leader() {
            self.node.propose(vec![], data).err().map(|e| DriverError::Dropped(e.to_string()))
        } else {
            Some(DriverError::NotLeader { leader: self.leader() })
        };
        if let Some(err) = refused {
            for id in ids {
                if let Some(reply) = self.pending.remove(&id) {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }

    /// Asks Raft for one read index on behalf of every read gathered in
    /// this turn.
    fn flush_reads(&mut self) {
        if self.read_batch.is_empty() {
            return;
        }
        let replies = std::mem::take(&mut self.read_batch);
        let ctx = self.next_request();
        // The leader keys pending reads by context and ignores a context it
        // already holds: prefix this node's id so two nodes' counters never
        // collide (a collision silently dropped a follower's read until it
        // timed out).
        let mut context = self.cfg.id.to_be_bytes().to_vec();
        context.extend_from_slice(&ctx.to_be_bytes());
        self.node.read_index(context);
        let deadline = self.ticks + 2 * self.cfg.election_ticks as u64;
        self.reads.insert(ctx, PendingRead { replies, index: None, deadline });
    }

    /// Sends a request to the leader and relays its answer to `reply`.
    fn forward(&mut self, request: ForwardRequest, reply: Reply) {
        let Some(leader) = self.leader().filter(|l| *l != self.id) else {
            let _ = reply.send(Err(DriverError::NotLeader { leader: None }));
            return;
        };
        let transport = Arc::clone(&self.transport);
        tokio::spawn(async move {
            let answer = match transport.forward(leader, request.encode()).await {
                Ok(bytes) => {
                    wire::decode_answer(&bytes).unwrap_or_else(|e| Err(DriverError::Unavailable(e.to_string())))
                }
                Err(e) => Err(DriverError::Unavailable(e.to_string())),
            };
            let _ = reply.send(answer);
        });
    }

    fn handle_inbound(&mut self, msg: Inbound) {
        match msg {
            Inbound::Raft { from, message } => match Message::parse_from_bytes(&message) {
                Ok(m) if m.from == from => {
                    if let Some(why) = self.refuses(&m) {
                        tracing::debug!(node = self.id, from, kind = ?m.get_msg_type(), term = m.term, why,
                            "dropped a Raft message");
                        return;
                    }
                    self.last_heard.insert(from, self.ticks);
                    if m.get_msg_type() == MessageType::MsgSnapshot {
                        self.on_snapshot_message(m);
                    } else if let Err(e) = self.node.step(m) {
                        tracing::debug!(node = self.id, from, cause = %e, "raft step refused a message");
                    }
                }
                Ok(m) => {
                    tracing::warn!(node = self.id, from, claimed = m.from, "raft message sender mismatch; dropped")
                }
                Err(e) => tracing::warn!(node = self.id, from, cause = %e, "undecodable raft message; dropped"),
            },
            Inbound::Forward { from, request, reply } => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                match ForwardRequest::decode(&request) {
                    Ok(ForwardRequest::Propose(data)) if self.is_leader() => self.on_propose(data, tx),
                    // A peer's word is no admin's: membership changes and
                    // leadership transfers come from this node's own callers.
                    Ok(ForwardRequest::ChangeMembership(_) | ForwardRequest::TransferLeader(_)) => {
                        tracing::warn!(node = self.id, from, "refused a membership or leadership request from a peer");
                        let _ = tx.send(Err(DriverError::refused(
                            "ADMIN_NOT_FORWARDED",
                            "membership changes and leadership transfers are made at the leader, for a caller its \
                             admin plane authenticated; peers cannot forward them",
                        )));
                    }
                    // Any node tells its time.
                    Ok(ForwardRequest::Clock) => {
                        let _ = tx.send(Ok(self.cfg.clock.now_ms().to_be_bytes().to_vec()));
                    }
                    // Never forward twice: the follower retries at the
                    // leader it learns from the answer.
                    Ok(_) => {
                        let _ = tx.send(Err(DriverError::NotLeader { leader: self.leader() }));
                    }
                    Err(e) => {
                        tracing::warn!(node = self.id, from, cause = %e, "malformed forwarded request");
                        let _ = tx.send(Err(DriverError::refused("MALFORMED", e.to_string())));
                    }
                }
                tokio::spawn(async move {
                    let answer = rx.await.unwrap_or(Err(DriverError::Stopped));
                    let _ = reply.send(wire::encode_answer(&answer));
                });
            }
            Inbound::SnapshotChunk { from, snapshot_index, offset, reply } => {
                let _ = reply.send(self.read_snapshot_chunk(snapshot_index, offset));
                tracing::debug!(node = self.id, from, snapshot_index, offset, "served a snapshot chunk");
            }
        }
    }

    fn handle_internal(&mut self, event: Internal) {
        match event {
            Internal::SnapshotFetched { msg, index, result } => {
                self.fetching = None;
                match result {
                    Ok(path) => {
                        self.fetched = Some((index, path));
                        if let Err(e) = self.node.step(*msg) {
                            tracing::warn!(node = self.id, index, cause = %e, "raft refused a fetched snapshot");
                        }
                    }
                    Err(e) => tracing::warn!(node = self.id, index, cause = %e, "snapshot download failed"),
                }
            }
            Internal::ClockRead { node, ms, sent, received } => {
                if self.is_leader() {
                    self.peer_clocks.record(node, ms, sent, received);
                }
            }
            Internal::SnapshotWritten { index, result } => {
                if let Err(e) = self.on_snapshot_written(index, result) {
                    self.failed.get_or_insert(e);
                }
            }
        }
    }

    pub(super) fn status(&self) -> Status {
        let raft = &self.node.raft;
        let role = self.role();
        let progress = if self.is_leader() {
            raft.prs().iter().map(|(id, pr)| (*id, pr.matched)).collect()
        } else {
            BTreeMap::new()
        };
        Status {
            id: self.id,
            role,
            leader: raft.leader_id,
            term: raft.term,
            commit: raft.raft_log.committed,
            applied: raft.raft_log.applied,
            snapshot_index: self.snapshot_index,
            last_index: raft.raft_log.last_index(),
            membership: self.membership_tx.borrow().clone(),
            progress,
            reachable: self
                .last_heard
                .iter()
                .filter(|(_, t)| self.ticks.saturating_sub(**t) <= self.cfg.election_ticks as u64)
                .map(|(id, _)| *id)
                .collect(),
        }
    }

    pub(super) fn publish_membership(&mut self) {
        let cs = self.node.raft.prs().conf().to_conf_state();
        let membership = Membership {
            voters: cs.voters.iter().copied().collect(),
            voters_outgoing: cs.voters_outgoing.iter().copied().collect(),
            learners: cs.learners.iter().chain(cs.learners_next.iter()).copied().collect(),
            metadata: self.metadata.clone(),
        };
        self.membership_tx.send_replace(membership);
    }

    fn send(&mut self, messages: Vec<Message>) {
        for m in messages {
            if m.get_msg_type() == MessageType::MsgSnapshot {
                self.snapshot_sent.insert(m.to, self.ticks);
            }
            match m.write_to_bytes() {
                Ok(bytes) => self.transport.send(m.to, bytes),
                Err(e) => tracing::error!(node = self.id, cause = %e, "cannot encode raft message"),
            }
        }
    }

    /// Applies committed entries, timing the batch.
    fn apply(&mut self, entries: Vec<Entry>) -> Result<(), Fatal> {
        if entries.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        self.apply_entries(entries)?;
        self.cfg.metrics.raft().apply_duration.observe(started.elapsed().as_secs_f64());
        Ok(())
    }

    fn apply_entries(&mut self, entries: Vec<Entry>) -> Result<(), Fatal> {
        for entry in entries {
            match entry.get_entry_type() {
                EntryType::EntryNormal if entry.data.is_empty() => {} // a new leader's no-op
                EntryType::EntryNormal => self.apply_batch(&entry)?,
                EntryType::EntryConfChangeV2 | EntryType::EntryConfChange => {
                    let bad = |e: protobuf::ProtobufError| {
                        Fatal::StateMachine(format!("conf change at {}: {e}", entry.index))
                    };
                    let mut cc = if entry.get_entry_type() == EntryType::EntryConfChangeV2 {
                        ConfChangeV2::parse_from_bytes(&entry.data).map_err(bad)?
                    } else {
                        let v1 = ConfChange::parse_from_bytes(&entry.data).map_err(bad)?;
                        let mut single = raft::eraftpb::ConfChangeSingle::default();
                        single.set_change_type(v1.get_change_type());
                        single.node_id = v1.node_id;
                        let mut v2 = ConfChangeV2::default();
                        v2.mut_changes().push(single);
                        v2
                    };
                    let vetoed = self.veto_unadmitted(&entry, &mut cc)?;
                    match self.node.apply_conf_change(&cc) {
                        Ok(cs) => self.record_conf_change(&entry, cs, vetoed)?,
                        // raft-rs changes copies and refused this one (e.g. a
                        // simple change in a joint configuration): every
                        // replica refuses it alike, so it is a no-op.
                        Err(e) => self.refuse_conf_change(&entry, &e.to_string()),
                    }
                }
            }
        }
        Ok(())
    }

    /// Hands the client proposals of newly appended normal entries to the
    /// state machine's [`StateMachine::prepare`].
    fn prepare(&mut self, entries: &[Entry]) {
        for entry in entries {
            if entry.get_entry_type() == EntryType::EntryNormal
                && !entry.data.is_empty()
                && let Ok(batch) = ProposalBatch::decode(&entry.data)
            {
                let proposals: Vec<&[u8]> = batch.items.iter().map(|(_, d)| d.as_slice()).collect();
                self.sm.prepare(&proposals);
            }
        }
    }

    fn apply_batch(&mut self, entry: &Entry) -> Result<(), Fatal> {
        let batch = match ProposalBatch::decode(&entry.data) {
            Ok(b) => b,
            Err(e) => {
                // Every replica sees the same bytes, so skipping is
                // deterministic; it cannot come from a correct leader.
                tracing::error!(node = self.id, index = entry.index, cause = %e, "skipping a malformed entry");
                return Ok(());
            }
        };
        let proposals: Vec<&[u8]> = batch.items.iter().map(|(_, d)| d.as_slice()).collect();
        let m = self.cfg.metrics.raft();
        m.proposals_committed.inc_by(proposals.len() as u64);
        let answers = self
            .sm
            .apply(entry.index, batch.proposed_at_ms, &proposals)
            .map_err(|e| Fatal::StateMachine(e.to_string()))?;
        m.proposals_applied.inc_by(proposals.len() as u64);
        if batch.proposer == self.id {
            for ((request, _), answer) in batch.items.iter().zip(answers) {
                if let Some(reply) = self.pending.remove(request) {
                    let _ = reply.send(Ok(answer));
                }
            }
        }
        Ok(())
    }

    fn on_ready(&mut self) -> Result<(), Fatal> {
        if !self.node.has_ready() {
            return Ok(());
        }
        let mut ready = self.node.ready();
        let messages = ready.take_messages();
        self.send(messages);
        if !ready.snapshot().is_empty() {
            let snapshot = ready.snapshot().clone();
            self.install_snapshot(&snapshot)?;
        }
        self.prepare(ready.entries());
        // Entries and hard state in one synced batch; it also makes the
        // state machine's earlier unsynced writes durable (one WAL).
        if !ready.entries().is_empty() || ready.hs().is_some() {
            let started = std::time::Instant::now();
            self.store.persist(ready.entries(), ready.hs())?;
            self.cfg.metrics.raft().log_fsync_duration.observe(started.elapsed().as_secs_f64());
        }
        for rs in ready.take_read_states() {
            let (node, ctx) = rs.request_ctx.split_at(rs.request_ctx.len().min(8));
            if node == self.cfg.id.to_be_bytes()
                && let Ok(ctx) = ctx.try_into().map(u64::from_be_bytes)
                && let Some(read) = self.reads.get_mut(&ctx)
            {
                read.index = Some(rs.index);
            }
        }
        let persisted = ready.take_persisted_messages();
        self.send(persisted);
        // After the acknowledgements: committed entries are already
        // persisted here (raft-rs hands out no others), so applying them
        // need not delay the leader's next commit.
        self.apply(ready.take_committed_entries())?;
        let mut light = self.node.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.store.set_commit(commit)?;
        }
        let messages = light.take_messages();
        self.send(messages);
        self.apply(light.take_committed_entries())?;
        self.node.advance_apply();
        #[cfg(feature = "mutant-ack-before-commit")]
        if self.is_leader() {
            // MUTANT (fault harness only): the leader commits what it
            // appended without waiting for a quorum.
            let last = self.node.raft.raft_log.last_index();
            if last > self.node.raft.raft_log.committed {
                self.node.raft.raft_log.commit_to(last);
            }
        }
        self.maybe_snapshot()?;
        Ok(())
    }

    /// Answers reads and transfers that are now satisfied, and fails
    /// proposals a deposed leader can no longer answer.
    fn after_ready(&mut self) {
        let applied = self.node.raft.raft_log.applied;
        let done: Vec<u64> =
            self.reads.iter().filter(|(_, r)| r.index.is_some_and(|i| i <= applied)).map(|(c, _)| *c).collect();
        for ctx in done {
            if let Some(read) = self.reads.remove(&ctx) {
                let index = read.index.unwrap_or(applied);
                for reply in read.replies {
                    let _ = reply.send(Ok(index.to_be_bytes().to_vec()));
                }
            }
        }
        let leader = self.node.raft.leader_id;
        let (done, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.transfers).into_iter().partition(|t| t.target == leader);
        self.transfers = waiting;
        for t in done {
            let _ = t.reply.send(Ok(t.target.to_be_bytes().to_vec()));
        }
        if !self.is_leader() && (!self.pending.is_empty() || !self.batch.is_empty()) {
            let err = DriverError::NotLeader { leader: self.leader() };
            self.batch.clear();
            self.batch_bytes = 0;
            for reply in std::mem::take(&mut self.pending).into_values() {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }

    fn expire_requests(&mut self) {
        let now = self.ticks;
        let expired: Vec<u64> = self.reads.iter().filter(|(_, r)| r.deadline <= now).map(|(c, _)| *c).collect();
        for ctx in expired {
            if let Some(read) = self.reads.remove(&ctx) {
                for reply in read.replies {
                    let _ = reply.send(Err(DriverError::Timeout("no leader confirmed the read index".into())));
                }
            }
        }
        let (expired, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.transfers).into_iter().partition(|t| t.deadline <= now);
        self.transfers = waiting;
        for t in expired {
            let _ = t.reply.send(Err(DriverError::Timeout(format!("node {} did not take over", t.target))));
        }
    }

    fn fail_all(&mut self, err: DriverError) {
        for reply in std::mem::take(&mut self.pending).into_values() {
            let _ = reply.send(Err(err.clone()));
        }
        for reply in
            self.read_batch.drain(..).chain(std::mem::take(&mut self.reads).into_values().flat_map(|r| r.replies))
        {
            let _ = reply.send(Err(err.clone()));
        }
        for t in self.transfers.drain(..) {
            let _ = t.reply.send(Err(err.clone()));
        }
    }
}
