//! Committed membership changes that the state machine does not admit
//! become no-ops, on every replica alike.
//!
//! Why at apply time, and not only when the leader proposes: the leader
//! may be another organisation's node running other code. Whatever it
//! proposes and gets committed, each replica asks its own state machine
//! ([`StateMachine::admits`]) about each change, with the state applied up
//! to just before the change's entry, and turns a refused change into a
//! change of node 0, which raft-rs skips. Every replica judges the same
//! entry against the same state, so every replica ends with the same
//! configuration, and a leader cannot add, promote or remove a member the
//! state machine (for Veritrace: the ledger's governed validator list) does
//! not allow.
//!
//! Also refused here, whatever the state machine says: turning a voter
//! into a learner (Veritrace never proposes it), and making a voter of a
//! node that was not a learner (members join as learners first).
//!
//! Raft messages: only voters lead, campaign or move terms. Before
//! raft-rs sees a message from a peer, the driver drops: any `MsgPropose`
//! (proposals travel over the forward channel; raft-rs would append a
//! peer's entries as its own, and panics on an empty one); read-index
//! messages without exactly one entry (raft-rs indexes it unchecked) and
//! read-index answers from a node that is not the leader; anything from a
//! node that is not a member; and, from a learner, any leading or
//! campaigning message (append, heartbeat, snapshot, votes, timeout-now,
//! transfer) and any message of a higher term. A voter is one of the
//! applied configuration or of a configuration entry appended here but not
//! yet applied. The price: a voter that lags behind the entry promoting a
//! learner cannot follow that node while it leads (it never heard of the
//! promotion); it catches up once a voter it knows leads (`leader
//! transfer`).

use std::collections::BTreeSet;

use protobuf::Message as _;
use raft::GetEntriesContext;
use raft::eraftpb::{ConfChange, ConfChangeType, ConfChangeV2, Entry, EntryType, Message, MessageType};
use veritrace_storage::KvEngine;

use super::run::{Driver, Fatal};
use super::{MembershipChange, StateMachine};
use crate::transport::{NodeId, Transport};
use crate::wire::ChangeContext;

/// Most bytes of unapplied log read to find pending promotions.
const MAX_SCAN_BYTES: u64 = 64 * 1024 * 1024;

impl<E: KvEngine, S: StateMachine, T: Transport> Driver<E, S, T> {
    /// Replaces the node id of every change of `cc` (committed at `entry`)
    /// that is not admitted by 0; returns how many were.
    pub(super) fn veto_unadmitted(&mut self, entry: &Entry, cc: &mut ConfChangeV2) -> Result<usize, Fatal> {
        let context = ChangeContext::decode(&entry.context).ok();
        let conf = self.node.raft.prs().conf().to_conf_state();
        let is_voter = |n| conf.voters.contains(&n) || conf.voters_outgoing.contains(&n);
        let is_learner = |n| conf.learners.contains(&n) || conf.learners_next.contains(&n);
        let mut vetoed = 0;
        // Judged in order: a change sees the members the ones before it in
        // the same entry admitted (two AddLearners of one PeerId).
        let mut members = self.metadata.clone();
        for single in cc.mut_changes().iter_mut() {
            let node = single.node_id;
            if node == 0 {
                continue;
            }
            let admitted = match single.get_change_type() {
                ConfChangeType::AddLearnerNode if is_voter(node) => false,
                // Already a learner: the change changes nothing.
                ConfChangeType::AddLearnerNode if is_learner(node) => true,
                ConfChangeType::AddLearnerNode => {
                    let metadata = context.as_ref().and_then(|c| c.metadata.get(&node)).cloned().unwrap_or_default();
                    let admitted =
                        self.ask(&MembershipChange::AddLearner { node, metadata: metadata.clone() }, &members)?;
                    if admitted {
                        members.insert(node, metadata);
                    }
                    admitted
                }
                ConfChangeType::AddNode if is_voter(node) => true,
                ConfChangeType::AddNode if is_learner(node) => {
                    self.ask(&MembershipChange::Promote { node }, &members)?
                }
                ConfChangeType::AddNode => false,
                ConfChangeType::RemoveNode if !is_voter(node) && !is_learner(node) => true,
                ConfChangeType::RemoveNode => self.ask(&MembershipChange::Remove { node }, &members)?,
            };
            if !admitted {
                tracing::warn!(
                    node = self.id,
                    index = entry.index,
                    member = node,
                    change = ?single.get_change_type(),
                    "a committed membership change is not admitted by the state machine; applied as a no-op"
                );
                single.node_id = 0;
                vetoed += 1;
            }
        }
        Ok(vetoed)
    }

    fn ask(
        &self,
        change: &MembershipChange,
        members: &std::collections::BTreeMap<NodeId, Vec<u8>>,
    ) -> Result<bool, Fatal> {
        self.sm.admits(change, members).map_err(|e| Fatal::StateMachine(e.to_string()))
    }

    /// Why `m` must not reach raft-rs, if it must not (see the module
    /// docs); `None` lets it through.
    pub(super) fn refuses(&mut self, m: &Message) -> Option<&'static str> {
        use MessageType::*;
        let kind = m.get_msg_type();
        // Proposals travel over the forward channel to the leader's driver,
        // never as Raft messages (raft-rs would append a peer's entries
        // as its own, and panics on an empty one).
        if kind == MsgPropose {
            return Some("a proposal sent as a Raft message");
        }
        // raft-rs indexes the first entry of these without a check.
        if matches!(kind, MsgReadIndex | MsgReadIndexResp) && m.entries.len() != 1 {
            return Some("a read index message without exactly one entry");
        }
        let raft = &self.node.raft;
        if kind == MsgReadIndexResp && m.from != raft.leader_id {
            return Some("a read index answer from a node that is not the leader");
        }
        // Read in place: this runs for every Raft message.
        let conf = raft.prs().conf();
        // A node waiting to be added knows no configuration yet.
        if conf.voters().ids().is_empty() {
            return None;
        }
        let term = raft.term;
        let voter = conf.voters().contains(m.from);
        let learner = conf.learners().contains(&m.from) || conf.learners_next().contains(&m.from);
        if voter || self.promoted_in_log(m.from) {
            return None;
        }
        if !learner {
            return Some("a node that is not a member");
        }
        if matches!(
            kind,
            MsgAppend
                | MsgHeartbeat
                | MsgSnapshot
                | MsgRequestVote
                | MsgRequestPreVote
                | MsgTimeoutNow
                | MsgTransferLeader
        ) {
            return Some("a learner leading or campaigning");
        }
        if m.term > term {
            return Some("a learner raising the term");
        }
        None
    }

    /// Whether a configuration entry appended here after the applied index
    /// makes `node` a voter. Computed once per (applied, last index).
    fn promoted_in_log(&mut self, node: NodeId) -> bool {
        let log = &self.node.raft.raft_log;
        let key = (log.applied(), log.last_index());
        if let Some((at, voters)) = &self.pending_voters
            && *at == key
        {
            return voters.contains(&node);
        }
        let mut voters = BTreeSet::new();
        // Bounded: the unapplied tail is short unless this node lags, and
        // the answer is kept until the log moves.
        let entries = log.entries(key.0 + 1, Some(MAX_SCAN_BYTES), GetEntriesContext::empty(false)).unwrap_or_default();
        for entry in entries {
            let changes = match entry.get_entry_type() {
                EntryType::EntryConfChangeV2 => ConfChangeV2::parse_from_bytes(&entry.data)
                    .map(|cc| cc.get_changes().iter().map(|c| (c.get_change_type(), c.node_id)).collect())
                    .unwrap_or_default(),
                EntryType::EntryConfChange => ConfChange::parse_from_bytes(&entry.data)
                    .map(|cc| vec![(cc.get_change_type(), cc.node_id)])
                    .unwrap_or_default(),
                EntryType::EntryNormal => Vec::new(),
            };
            voters.extend(changes.into_iter().filter(|(t, _)| *t == ConfChangeType::AddNode).map(|(_, n)| n));
        }
        let found = voters.contains(&node);
        self.pending_voters = Some((key, voters));
        found
    }
}
