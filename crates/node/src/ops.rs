//! What a running node does for its API: submit envelopes, linearizable
//! read barriers, status, and membership operations.

use std::sync::Arc;

use veritrace_consensus::{MembershipChange, NodeId, SnapshotInfo, Status};
use veritrace_ledger::Ledger;
use veritrace_net::PeerId;
use veritrace_proto::v1 as pb;

use crate::NodeError;
use crate::members::{MemberInfo, node_id_from_peer_id};
use crate::node::Node;
use crate::state_machine::{Engine, MAX_ENVELOPES_PER_PROPOSAL, decode_answer, encode_proposal};

/// Largest total size of the envelopes of one submission.
pub const MAX_SUBMISSION_BYTES: usize = 3 * 1024 * 1024 - 64 * 1024;

impl Node {
    /// This node's Raft id.
    pub fn id(&self) -> NodeId {
        self.inner.config.node.id
    }

    /// This node's libp2p `PeerId`.
    pub fn peer_id(&self) -> &str {
        &self.inner.peer_id
    }

    /// The ledger as applied on this node now (may trail the leader; call
    /// [`Node::read_barrier`] first for a linearizable read).
    pub fn ledger(&self) -> Arc<Ledger<Engine>> {
        self.inner.ledger.get()
    }

    /// The current tree head of this node's ledger, signed with its node key.
    pub fn signed_tree_head(&self) -> pb::SignedTreeHead {
        self.sign_tree_head(self.ledger().tree_head())
    }

    /// The tree head of the first `size` leaves, signed with the node key
    /// (its timestamp is the commit time of leaf `size - 1`).
    pub fn signed_tree_head_at(&self, size: u64) -> Result<pb::SignedTreeHead, NodeError> {
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

    /// Signs `head` with this node's key.
    pub fn sign_tree_head(&self, head: veritrace_core::TreeHead) -> pb::SignedTreeHead {
        let sth = head.sign(&self.inner.signer);
        pb::SignedTreeHead {
            tree_size: sth.head.tree_size,
            root_hash: sth.head.root.as_bytes().to_vec(),
            timestamp: Some(veritrace_proto::timestamp_from_ms(sth.head.timestamp_ms)),
            shard_id: sth.head.shard_id,
            signer_key_id: sth.signer.to_bytes().to_vec(),
            signature: sth.signature.to_vec(),
        }
    }

    /// Submits envelopes (1 to 1,000) and returns one receipt per envelope
    /// once they are committed and applied. Followers forward to the leader.
    pub async fn submit(&self, envelopes: Vec<Vec<u8>>) -> Result<Vec<pb::Receipt>, NodeError> {
        if envelopes.is_empty() || envelopes.len() > MAX_ENVELOPES_PER_PROPOSAL {
            return Err(NodeError::invalid(
                "envelopes",
                format!("{} envelopes; send 1 to {MAX_ENVELOPES_PER_PROPOSAL}", envelopes.len()),
            ));
        }
        let size: usize = envelopes.iter().map(Vec::len).sum();
        if size > MAX_SUBMISSION_BYTES {
            return Err(NodeError::invalid("envelopes", format!("{size} bytes; at most {MAX_SUBMISSION_BYTES}")));
        }
        let n = envelopes.len();
        let answer = self.inner.raft.propose(encode_proposal(&envelopes)).await?;
        let receipts = decode_answer(&answer).map_err(|e| NodeError::Answer(e.to_string()))?;
        if receipts.len() != n {
            return Err(NodeError::Answer(format!("{} receipts for {n} envelopes", receipts.len())));
        }
        Ok(receipts)
    }

    /// Waits until this node has applied everything committed when called
    /// (ReadIndex); reads after it are linearizable.
    pub async fn read_barrier(&self) -> Result<u64, NodeError> {
        Ok(self.inner.raft.read_index().await?)
    }

    /// The Raft driver's status.
    pub async fn raft_status(&self) -> Result<Status, NodeError> {
        Ok(self.inner.raft.status().await?)
    }

    /// The gRPC endpoint of member `node`, if known.
    pub fn member_api(&self, node: NodeId) -> Option<String> {
        let membership = self.inner.raft.membership();
        let bytes = membership.borrow().metadata.get(&node).cloned()?;
        MemberInfo::decode(&bytes).map(|m| m.api).filter(|a| !a.is_empty())
    }

    /// `ClusterService.GetStatus`.
    pub async fn status(&self) -> Result<pb::GetStatusResponse, NodeError> {
        let s = self.raft_status().await?;
        let ledger = self.ledger();
        let head = ledger.tree_head();
        let mut members = members(&s);
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
            peer_id: self.inner.peer_id.clone(),
            party_id: self.inner.config.node.party_id.clone().unwrap_or_default(),
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
            version: env!("CARGO_PKG_VERSION").to_string(),
            network_id: self.inner.network_id.clone(),
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
    ) -> Result<(pb::Member, u64), NodeError> {
        let parsed: PeerId = peer_id.parse().map_err(|e| NodeError::invalid("peer_id", format!("{e}")))?;
        for (i, a) in addresses.iter().enumerate() {
            a.parse::<veritrace_net::Multiaddr>()
                .map_err(|e| NodeError::invalid(&format!("addresses[{i}]"), format!("{a:?}: {e}")))?;
        }
        let node = if node_id == 0 { node_id_from_peer_id(&parsed) } else { node_id };
        let info = MemberInfo { peer_id: parsed.to_string(), api, addrs: addresses.clone() };
        let index = self
            .inner
            .raft
            .change_membership(vec![MembershipChange::AddLearner { node, metadata: info.encode() }])
            .await?;
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
    pub async fn promote(&self, node: NodeId) -> Result<u64, NodeError> {
        Ok(self.inner.raft.change_membership(vec![MembershipChange::Promote { node }]).await?)
    }

    /// Removes member `node`; returns the log index of the change.
    pub async fn remove(&self, node: NodeId) -> Result<u64, NodeError> {
        Ok(self.inner.raft.change_membership(vec![MembershipChange::Remove { node }]).await?)
    }

    /// Hands leadership to `node` (0: the most up-to-date voter).
    pub async fn transfer_leader(&self, node: NodeId) -> Result<NodeId, NodeError> {
        Ok(self.inner.raft.transfer_leader(node).await?)
    }

    /// Writes a snapshot now and compacts the log.
    pub async fn create_snapshot(&self) -> Result<SnapshotInfo, NodeError> {
        Ok(self.inner.raft.create_snapshot().await?)
    }
}

/// The members as `pb::Member`s, by node id.
pub fn members(s: &Status) -> Vec<pb::Member> {
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
                addresses: info.map(|i| i.addrs).unwrap_or_default(),
                match_index: s.progress.get(&id).copied().unwrap_or_default(),
                reachable: id == s.id || s.reachable.contains(&id),
            }
        })
        .collect()
}
