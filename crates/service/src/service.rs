//! What a replica does for its API: submit envelopes, linearizable read
//! barriers, status, audit, backup, membership operations and readiness.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tracing::Instrument as _;
use veritrace_consensus::{DriverError, MembershipChange, NodeId, RaftHandle, SnapshotInfo, Status};
use veritrace_ledger::{AuditReport, Ledger};
use veritrace_proto::v1 as pb;

use crate::ServiceError;
use crate::code_check::{CodeKeyShares, DecodedKeys, HelpBudget, PeerRequests};
use crate::members::{MemberInfo, PeerControl, node_id_from_peer_bytes};
use crate::state_machine::{Engine, LedgerCell, MAX_ENVELOPES_PER_PROPOSAL, decode_answer, encode_proposal};

/// Largest total size of the envelopes of one submission.
pub const MAX_SUBMISSION_BYTES: usize = 3 * 1024 * 1024 - 64 * 1024;

/// Signs the tree heads a replica serves.
///
/// Contract: `sign` returns a head signed over exactly `head` (the same
/// head in, the same bytes out: callers cache the last answer); the
/// signature must verify under the key it names, or clients reject the
/// receipts it vouches for. A node signs with its node key (the impl for
/// [`SecretKey`](veritrace_core::SecretKey)); the test kit adds a lying
/// signer to prove that clients catch one. Co-signing by a quorum of
/// validators will plug in here.
pub trait HeadSigner: Send + Sync + 'static {
    /// Signs `head`, a head this node serves.
    fn sign(&self, head: &veritrace_core::TreeHead) -> veritrace_core::SignedTreeHead;

    /// Signs `head` as a co-signature for a peer (`crate::cosign`); the
    /// same as [`HeadSigner::sign`] but for test hooks that fork what a
    /// node serves while it co-signs honestly.
    fn cosign(&self, head: &veritrace_core::TreeHead) -> veritrace_core::SignedTreeHead {
        self.sign(head)
    }
}

impl HeadSigner for veritrace_core::SecretKey {
    fn sign(&self, head: &veritrace_core::TreeHead) -> veritrace_core::SignedTreeHead {
        head.sign(self)
    }
}

/// What a [`Service`] needs to know about the replica it serves.
pub struct ServiceConfig {
    /// This replica's Raft node id.
    pub node_id: NodeId,
    /// This replica's network identity (libp2p `PeerId`, base58), shown in
    /// the status.
    pub peer_id: String,
    /// The network id of the genesis.
    pub network_id: String,
    /// The party operating this replica, if any.
    pub party_id: Option<String>,
    /// Signs the consumer scans this replica records as its operator party.
    pub party_signer: Option<veritrace_core::SecretKey>,
    /// Signs the tree heads this replica serves (the node key in a node).
    pub head_signer: Arc<dyn HeadSigner>,
    /// Where backups are written while they stream (the snapshot directory).
    pub backup_dir: PathBuf,
    /// Where this node keeps the private business data it may hold
    /// (`crate::private`): never replicated through Raft, never in a
    /// snapshot or backup.
    pub private_dir: PathBuf,
    /// Ready when at most this many committed entries wait to be applied.
    pub ready_max_lag: u64,
    /// Checks peer identities and addresses of membership requests.
    pub peers: Arc<dyn PeerControl>,
    /// This replica's shares of brands' code keys, with which it helps
    /// check threshold-OPRF codes ([`crate::code_check`]).
    pub code_key_shares: CodeKeyShares,
    /// The running build, reported by the status and the build-info metric.
    pub build: crate::BuildInfo,
}

impl std::fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("node_id", &self.node_id)
            .field("peer_id", &self.peer_id)
            .field("network_id", &self.network_id)
            .field("party_id", &self.party_id)
            .field("backup_dir", &self.backup_dir)
            .field("private_dir", &self.private_dir)
            .field("ready_max_lag", &self.ready_max_lag)
            .field("build", &self.build)
            .finish_non_exhaustive()
    }
}

/// The application operations of one replica. Cheap to clone; the edge
/// (gRPC, HTTP) holds one per listener.
#[derive(Clone)]
pub struct Service {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: ServiceConfig,
    pub raft: RaftHandle,
    pub ledger: LedgerCell,
    /// The last tree head signed and its signature: concurrent reads of
    /// the same tree share one signing (~20 µs each). ed25519 signing is
    /// deterministic, so a cached answer is the one signing would give.
    pub signed_head: Mutex<Option<(veritrace_core::TreeHead, pb::SignedTreeHead)>>,
    /// Heads other nodes signed, and equivocation evidence among them.
    pub heads: crate::cosign::HeadBook,
    /// The last head co-signed by a quorum: callers asking for the same
    /// size again (GetTreeHead is public) cost no round of peer requests.
    pub cosigned_head: Mutex<Option<pb::SignedTreeHead>>,
    /// The replica's metric catalogue (`/metrics`).
    pub metrics: veritrace_metrics::Metrics,
    /// This replica's shares of code keys (a copy of the config's, by key).
    pub code_shares: CodeKeyShares,
    /// Evaluations this replica gave each asking node, per item.
    pub help_budget: HelpBudget,
    /// Code keys this replica's checks used, decoded.
    pub decoded_keys: DecodedKeys,
    /// How code checks reach the other replicas.
    pub peer_requests: Arc<dyn PeerRequests>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("id", &self.inner.config.node_id)
            .field("peer_id", &self.inner.config.peer_id)
            .finish()
    }
}

impl Service {
    /// The service of a replica whose Raft driver answers on `raft` and
    /// applies to `ledger`, counting in `metrics` ([`crate::start`] builds
    /// all three).
    pub fn new(
        mut config: ServiceConfig,
        raft: RaftHandle,
        ledger: LedgerCell,
        metrics: veritrace_metrics::Metrics,
        peer_requests: Arc<dyn PeerRequests>,
    ) -> Service {
        let code_shares = std::mem::take(&mut config.code_key_shares);
        Service {
            inner: Arc::new(Inner {
                config,
                raft,
                ledger,
                signed_head: Mutex::new(None),
                heads: crate::cosign::HeadBook::default(),
                cosigned_head: Mutex::new(None),
                metrics,
                code_shares,
                help_budget: HelpBudget::default(),
                decoded_keys: DecodedKeys::default(),
                peer_requests,
            }),
        }
    }

    /// This replica's Raft id.
    pub fn id(&self) -> NodeId {
        self.inner.config.node_id
    }

    /// This replica's libp2p `PeerId`.
    pub fn peer_id(&self) -> &str {
        &self.inner.config.peer_id
    }

    /// The Raft driver's handle (membership changes, status).
    pub fn raft(&self) -> &RaftHandle {
        &self.inner.raft
    }

    /// The ledger as applied on this node now (may trail the leader; call
    /// [`Service::read_barrier`] first for a linearizable read).
    pub fn ledger(&self) -> Arc<Ledger<Engine>> {
        self.inner.ledger.get()
    }

    /// The current tree head of this node's ledger, signed with its node key.
    pub fn signed_tree_head(&self) -> pb::SignedTreeHead {
        self.sign_tree_head(self.ledger().tree_head())
    }

    /// The tree head of the first `size` leaves, signed with the node key
    /// (its timestamp is the commit time of leaf `size - 1`).
    pub fn signed_tree_head_at(&self, size: u64) -> Result<pb::SignedTreeHead, ServiceError> {
        let ledger = self.ledger();
        let current = ledger.tree_head();
        if size == current.tree_size {
            return Ok(self.sign_tree_head(current));
        }
        let root = ledger.root_at(size)?;
        let timestamp_ms = if size == 0 { 0 } else { ledger.leaf(size - 1)?.commit_time_ms };
        Ok(self.sign_tree_head(veritrace_core::TreeHead {
            shard_id: current.shard_id,
            tree_size: size,
            root,
            timestamp_ms,
        }))
    }

    /// Signs `head` with this node's key (the last head signed is kept, so
    /// the reads of one tree share a signing).
    pub fn sign_tree_head(&self, head: veritrace_core::TreeHead) -> pb::SignedTreeHead {
        let lock = || self.inner.signed_head.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, signed)) = lock().as_ref().filter(|(h, _)| *h == head) {
            return signed.clone();
        }
        let signed = veritrace_core::receipt::tree_head_to_proto(&self.inner.config.head_signer.sign(&head));
        *lock() = Some((head, signed.clone()));
        signed
    }

    /// Submits envelopes (1 to 1,000) and returns one receipt per envelope
    /// once they are committed and applied. Followers forward to the leader.
    pub async fn submit(&self, envelopes: Vec<Vec<u8>>) -> Result<Vec<pb::Receipt>, ServiceError> {
        if envelopes.is_empty() || envelopes.len() > MAX_ENVELOPES_PER_PROPOSAL {
            return Err(ServiceError::invalid(
                "envelopes",
                format!("{} envelopes; send 1 to {MAX_ENVELOPES_PER_PROPOSAL}", envelopes.len()),
            ));
        }
        let size: usize = envelopes.iter().map(Vec::len).sum();
        if size > MAX_SUBMISSION_BYTES {
            return Err(ServiceError::invalid("envelopes", format!("{size} bytes; at most {MAX_SUBMISSION_BYTES}")));
        }
        let n = envelopes.len();
        let proposal = encode_proposal(&envelopes);
        let span = tracing::info_span!("submit", envelopes = n, first = %envelope_id(&envelopes[0]));
        let answer = self.inner.raft.propose(proposal).instrument(span).await?;
        let receipts = decode_answer(&answer).map_err(|e| ServiceError::Answer(e.to_string()))?;
        if receipts.len() != n {
            return Err(ServiceError::Answer(format!("{} receipts for {n} envelopes", receipts.len())));
        }
        Ok(receipts)
    }

    /// Waits until this node has applied everything committed when called
    /// (ReadIndex); reads after it are linearizable.
    pub async fn read_barrier(&self) -> Result<u64, ServiceError> {
        #[cfg(feature = "mutant-stale-reads")]
        {
            // MUTANT (fault harness only): no ReadIndex, local state.
            return Ok(*self.inner.ledger.subscribe_applied().borrow());
        }
        #[cfg(not(feature = "mutant-stale-reads"))]
        Ok(self.inner.raft.read_index().await?)
    }

    /// Waits until this node's ledger holds leaf `leaf_index` (a leaf a
    /// receipt named, so committed): everything up to it is then readable
    /// here, without the network round of [`Service::read_barrier`]. Gives up
    /// with a timeout after five seconds.
    pub async fn wait_for_leaf(&self, leaf_index: u64) -> Result<(), ServiceError> {
        let sizes = self.subscribe_tree_size();
        wait_until(sizes, |size| size > leaf_index, || format!("leaf {leaf_index} was not applied on this node")).await
    }

    /// Waits until this node has applied Raft log index `index` (one a
    /// receipt named, so committed), for entries that append no leaf (a
    /// counted code attempt). Gives up with a timeout after five seconds.
    pub async fn wait_for_applied(&self, index: u64) -> Result<(), ServiceError> {
        let applied = self.inner.ledger.subscribe_applied();
        wait_until(applied, |i| i >= index, || format!("log index {index} was not applied on this node")).await
    }

    /// The Raft driver's status.
    pub async fn raft_status(&self) -> Result<Status, ServiceError> {
        Ok(self.inner.raft.status().await?)
    }

    /// The gRPC endpoint of member `node`, if known.
    pub fn member_api(&self, node: NodeId) -> Option<String> {
        let membership = self.inner.raft.membership();
        let bytes = membership.borrow().metadata.get(&node).cloned()?;
        MemberInfo::decode(&bytes).map(|m| m.api).filter(|a| !a.is_empty())
    }

    /// `ClusterService.GetStatus`.
    pub async fn status(&self) -> Result<pb::GetStatusResponse, ServiceError> {
        let s = self.raft_status().await?;
        let ledger = self.ledger();
        let head = ledger.tree_head();
        let mut members = members_of(&s);
        // Name the founding party operating each validator, by its PeerId.
        for m in &mut members {
            if let Some(p) = ledger
                .genesis()
                .proto()
                .founding_parties
                .iter()
                .find(|p| !m.peer_id.is_empty() && p.validator_peer_id == m.peer_id)
            {
                m.party_id = p.party_id.clone();
            }
        }
        let role = match s.role {
            "leader" => pb::RaftRole::Leader,
            "candidate" => pb::RaftRole::Candidate,
            "pre-candidate" => pb::RaftRole::PreCandidate,
            "learner" => pb::RaftRole::Learner,
            _ => pb::RaftRole::Follower,
        };
        Ok(pb::GetStatusResponse {
            node_id: s.id,
            peer_id: self.inner.config.peer_id.clone(),
            party_id: self.inner.config.party_id.clone().unwrap_or_default(),
            role: role as i32,
            leader_id: s.leader,
            term: s.term,
            commit_index: s.commit,
            applied_index: s.applied,
            snapshot_index: s.snapshot_index,
            tree_size: head.tree_size,
            root_hash: head.root.as_bytes().to_vec(),
            shard_id: 0,
            members,
            version: self.inner.config.build.version.clone(),
            revision: self.inner.config.build.revision.clone(),
            network_id: self.inner.config.network_id.clone(),
        })
    }

    /// Adds a learner (node id 0 derives one from the peer id); returns the
    /// member and the log index of the change.
    pub async fn add_learner(
        &self,
        node_id: NodeId,
        peer_id: &str,
        addresses: Vec<String>,
        api: String,
    ) -> Result<(pb::Member, u64), ServiceError> {
        let peers = &self.inner.config.peers;
        let parsed = peers.parse_peer_id(peer_id).map_err(|e| ServiceError::invalid("peer_id", e))?;
        for (i, a) in addresses.iter().enumerate() {
            peers
                .check_address(a)
                .map_err(|e| ServiceError::invalid(&format!("addresses[{i}]"), format!("{a:?}: {e}")))?;
        }
        let node = if node_id == 0 { node_id_from_peer_bytes(&parsed.bytes) } else { node_id };
        // A PeerId in use, or one no governance decision lists, is refused
        // by `admitted` (crate::admission).
        let info = MemberInfo { peer_id: parsed.text, api, addrs: addresses.clone() };
        let change = MembershipChange::AddLearner { node, metadata: info.encode() };
        self.admitted(&change).await?;
        let index = self.inner.raft.change_membership(vec![change]).await?;
        let member = pb::Member {
            node_id: node,
            peer_id: info.peer_id,
            kind: pb::MemberKind::Learner as i32,
            addresses,
            ..Default::default()
        };
        Ok((member, index))
    }

    /// Promotes learner `node` to voter; returns the log index of the change.
    /// Refused unless the ledger lists its PeerId as a validator.
    pub async fn promote(&self, node: NodeId) -> Result<u64, ServiceError> {
        let change = MembershipChange::Promote { node };
        self.admitted(&change).await?;
        Ok(self.inner.raft.change_membership(vec![change]).await?)
    }

    /// Removes member `node`; returns the log index of the change. Refused
    /// while the ledger lists its PeerId as a validator.
    pub async fn remove(&self, node: NodeId) -> Result<u64, ServiceError> {
        let change = MembershipChange::Remove { node };
        self.admitted(&change).await?;
        Ok(self.inner.raft.change_membership(vec![change]).await?)
    }

    /// Whether the ledger, as this node applied it, admits `change`
    /// ([`crate::admission`]); every replica judges it again when it
    /// commits. A follower leaves the answer to the leader (its state may
    /// trail): it answers `NOT_LEADER` when asked to change membership.
    async fn admitted(&self, change: &MembershipChange) -> Result<(), ServiceError> {
        let status = self.inner.raft.status().await?;
        if status.leader != status.id {
            return Ok(());
        }
        let members = self.inner.raft.membership().borrow().metadata.clone();
        match crate::admission::judge(&self.ledger(), change, &members)? {
            crate::admission::Admission::Admitted => Ok(()),
            crate::admission::Admission::Refused { reason, message } => {
                Err(DriverError::Refused { reason: reason.into(), message }.into())
            }
        }
    }

    /// Hands leadership to `node` (0: the most up-to-date voter).
    pub async fn transfer_leader(&self, node: NodeId) -> Result<NodeId, ServiceError> {
        Ok(self.inner.raft.transfer_leader(node).await?)
    }

    /// A receiver of the applied tree size: it changes after every applied
    /// batch and snapshot install (for readers that follow the ledger).
    pub fn subscribe_tree_size(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.ledger.subscribe()
    }

    /// Re-derives the Merkle root from the stored envelopes (see
    /// [`Ledger::audit`]) on a blocking thread; also returns the applied
    /// index the audit saw.
    pub async fn audit(&self, check_signatures: bool) -> Result<(u64, AuditReport), ServiceError> {
        let ledger = self.ledger();
        let joined = tokio::task::spawn_blocking(move || {
            let applied = ledger.applied().applied_index;
            ledger.audit(check_signatures).map(|r| (applied, r))
        })
        .await;
        match joined {
            Ok(result) => Ok(result?),
            Err(e) => Err(ServiceError::Answer(format!("audit task failed: {e}"))),
        }
    }

    /// Writes a consistent copy of the whole ledger state (the
    /// `veritrace snapshot save` file format) to a new file in the node's
    /// snapshot directory, for a backup to stream from. Blocking: call it
    /// from a blocking thread. The ledger's apply lock is held only while
    /// the local file is written, never while a client reads it; the file
    /// is deleted when the returned [`BackupFile`] is dropped.
    pub fn write_backup(&self) -> Result<BackupFile, ServiceError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = self.inner.config.backup_dir.clone();
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("backup-{}-{n}.tmp", std::process::id()));
        let io = |source: std::io::Error| ServiceError::Io { path: path.clone(), source };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let mut file = BackupFile { path: path.clone(), info: None };
        let out = std::fs::File::create(&path).map_err(io)?;
        let mut out = std::io::BufWriter::new(out);
        let info = self.ledger().export_snapshot(&mut out)?;
        std::io::Write::flush(&mut out).map_err(io)?;
        file.info = Some(info);
        Ok(file)
    }

    /// Writes a snapshot now and compacts the log.
    pub async fn create_snapshot(&self) -> Result<SnapshotInfo, ServiceError> {
        Ok(self.inner.raft.create_snapshot().await?)
    }
}

/// The members as `pb::Member`s, by node id.
pub fn members_of(s: &Status) -> Vec<pb::Member> {
    s.membership
        .all()
        .into_iter()
        .map(|id| {
            let info = s.membership.metadata.get(&id).and_then(|b| MemberInfo::decode(b));
            let kind =
                if s.membership.learners.contains(&id) { pb::MemberKind::Learner } else { pb::MemberKind::Voter };
            pb::Member {
                node_id: id,
                peer_id: info.as_ref().map(|i| i.peer_id.clone()).unwrap_or_default(),
                party_id: String::new(),
                kind: kind as i32,
                api_endpoint: info.as_ref().map(|i| i.api.clone()).unwrap_or_default(),
                addresses: info.map(|i| i.addrs).unwrap_or_default(),
                match_index: s.progress.get(&id).copied().unwrap_or_default(),
                reachable: id == s.id || s.reachable.contains(&id),
            }
        })
        .collect()
}

/// A backup written by [`Service::write_backup`]; deleted on drop.
#[derive(Debug)]
pub struct BackupFile {
    /// Where it is.
    pub path: std::path::PathBuf,
    info: Option<veritrace_ledger::SnapshotInfo>,
}

impl BackupFile {
    /// What it holds: applied state and record count.
    pub fn info(&self) -> Option<&veritrace_ledger::SnapshotInfo> {
        self.info.as_ref()
    }
}

impl Drop for BackupFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %self.path.display(), cause = %e, "cannot delete a backup file");
        }
    }
}

/// Whether a node should receive traffic (`/readyz`, gRPC health).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// The node knows a leader (itself included).
    pub has_leader: bool,
    /// The leader's node id, 0 when none is known.
    pub leader_id: u64,
    /// Highest Raft index known committed here.
    pub commit_index: u64,
    /// Highest Raft index applied here.
    pub applied_index: u64,
    /// Ready: a leader is known and at most `max_lag` committed entries
    /// wait to be applied.
    pub ready: bool,
    /// Why not ready, for the probe's body; empty when ready.
    pub reason: String,
}

impl Service {
    /// The node's readiness: it knows a leader and has applied all but at
    /// most `ops.ready_max_lag` committed entries. A node cut off from the
    /// leader turns not-ready once its election timeout passes (it starts
    /// an election and forgets the leader).
    pub async fn readiness(&self) -> Readiness {
        let max_lag = self.inner.config.ready_max_lag;
        let not_ready = |reason: String| Readiness {
            has_leader: false,
            leader_id: 0,
            commit_index: 0,
            applied_index: 0,
            ready: false,
            reason,
        };
        let status = match tokio::time::timeout(std::time::Duration::from_secs(2), self.raft_status()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return not_ready(format!("raft driver: {e}")),
            Err(_) => return not_ready("raft driver did not answer within 2 s".into()),
        };
        let has_leader = status.leader != 0;
        let lag = status.commit.saturating_sub(status.applied);
        let reason = if let Some(what) = self.ledger().corruption() {
            // Served data would be wrong: no traffic until rebuilt.
            format!("storage corruption detected: {what}; rebuild this node from its peers")
        } else if !has_leader {
            "no leader known".to_owned()
        } else if lag > max_lag {
            format!("applying: {lag} committed entries behind (more than {max_lag})")
        } else {
            String::new()
        };
        Readiness {
            has_leader,
            leader_id: status.leader,
            commit_index: status.commit,
            applied_index: status.applied,
            ready: reason.is_empty(),
            reason,
        }
    }

    /// The replica's metric catalogue: render it with `encode()` for `/metrics`.
    pub fn metrics(&self) -> &veritrace_metrics::Metrics {
        &self.inner.metrics
    }
}

/// The id of an envelope (blake3 of its bytes, as receipts show it), for
/// log spans.
pub(crate) fn envelope_id(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Waits up to five seconds for `values` to hold a value `reached`
/// accepts; `what` names the wait in the timeout.
async fn wait_until(
    mut values: tokio::sync::watch::Receiver<u64>,
    reached: impl Fn(u64) -> bool,
    what: impl FnOnce() -> String,
) -> Result<(), ServiceError> {
    let waited = tokio::time::timeout(std::time::Duration::from_secs(5), values.wait_for(|v| reached(*v)));
    match waited.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(_)) => Err(DriverError::Stopped.into()),
        Err(_) => Err(DriverError::Timeout(what()).into()),
    }
}
