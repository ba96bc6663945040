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
//! Raft messages: only a voter leads or campaigns. A leading or
//! campaigning message (append, heartbeat, snapshot, vote, pre-vote,
//! timeout-now) from a node that is not a voter in the applied
//! configuration, nor in a configuration entry appended here but not yet
//! applied, is dropped before raft-rs sees it: a learner or a stranger
//! cannot move this node's term, make it follow, or feed it entries
//! (raft-rs would panic on one that conflicts with a committed entry).
//! The price, and its bound: a voter that lags behind the entry promoting
//! a learner cannot follow that node while it leads, having never heard
//! of the promotion. After twice the election timeout without a leading
//! message from any voter, a lagging node accepts leading messages from
//! a *learner* of its configuration (one that governance admitted), so it
//! catches up; strangers stay dropped.

use std::collections::BTreeSet;

use protobuf::Message as _;
use raft::GetEntriesContext;
use raft::eraftpb::{ConfChange, ConfChangeType, ConfChangeV2, Entry, EntryType, Message, MessageType};
use veritrace_storage::KvEngine;

use super::run::{Driver, Fatal};
use super::{MembershipChange, StateMachine};
use crate::transport::{NodeId, Transport};
use crate::wire::ChangeContext;

impl<E: KvEngine, S: StateMachine, T: Transport> Driver<E, S, T> {
    /// Replaces the node id of every change of `cc` (committed at `entry`)
    /// that is not admitted by 0; returns how many were.
    pub(super) fn veto_unadmitted(&mut self, entry: &Entry, cc: &mut ConfChangeV2) -> Result<usize, Fatal> {
        let context = ChangeContext::decode(&entry.context).ok();
        let conf = self.node.raft.prs().conf().to_conf_state();
        let is_voter = |n| conf.voters.contains(&n) || conf.voters_outgoing.contains(&n);
        let is_learner = |n| conf.learners.contains(&n) || conf.learners_next.contains(&n);
        let mut vetoed = 0;
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
                    self.ask(&MembershipChange::AddLearner { node, metadata })?
                }
                ConfChangeType::AddNode if is_voter(node) => true,
                ConfChangeType::AddNode if is_learner(node) => self.ask(&MembershipChange::Promote { node })?,
                ConfChangeType::AddNode => false,
                ConfChangeType::RemoveNode if !is_voter(node) && !is_learner(node) => true,
                ConfChangeType::RemoveNode => self.ask(&MembershipChange::Remove { node })?,
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

    fn ask(&self, change: &MembershipChange) -> Result<bool, Fatal> {
        self.sm.admits(change, &self.metadata).map_err(|e| Fatal::StateMachine(e.to_string()))
    }

    /// Whether `m` is a leading or campaigning message from a node this
    /// one does not count as a voter (see the module docs), to be dropped.
    pub(super) fn refuses_leading_from(&mut self, m: &Message) -> bool {
        use MessageType::*;
        let kind = m.get_msg_type();
        let leading = matches!(kind, MsgAppend | MsgHeartbeat | MsgSnapshot);
        if !leading && !matches!(kind, MsgRequestVote | MsgRequestPreVote | MsgTimeoutNow) {
            return false;
        }
        let conf = self.node.raft.prs().conf().to_conf_state();
        // A node waiting to be added knows no configuration yet.
        if conf.voters.is_empty() {
            return false;
        }
        if conf.voters.contains(&m.from) || conf.voters_outgoing.contains(&m.from) || self.promoted_in_log(m.from) {
            if leading {
                self.leading_heard = self.ticks;
            }
            return false;
        }
        let learner = conf.learners.contains(&m.from) || conf.learners_next.contains(&m.from);
        let starved = self.ticks.saturating_sub(self.leading_heard) > 2 * self.cfg.election_ticks as u64;
        !(leading && learner && starved)
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
        let entries = log.entries(key.0 + 1, None, GetEntriesContext::empty(false)).unwrap_or_default();
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
