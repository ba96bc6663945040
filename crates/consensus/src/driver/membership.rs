//! Membership changes (conf change v2) and leadership transfer, with the
//! checks that keep the cluster able to reach quorum.
//!
//! Rules, checked on the leader when the change is proposed:
//!
//! * one change at a time: refused (`CHANGE_IN_PROGRESS`) while a change
//!   is uncommitted or the configuration is joint;
//! * a learner is promoted only once its log is within
//!   [`PROMOTE_MAX_LAG`] entries of the leader's commit (`NOT_CAUGHT_UP`);
//! * a removal must leave a quorum of the new voter set among the voters
//!   the leader heard from recently (`QUORUM_AT_RISK`), and the leader
//!   does not remove itself (`LEADER_REMOVAL`: transfer leadership first).
//!
//! Several changes in one request enter joint consensus and leave it
//! automatically (raft-rs `auto_leave`).

use std::collections::BTreeMap;

use protobuf::RepeatedField;
use raft::eraftpb::{ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2, ConfState, Entry};
use veritrace_storage::KvEngine;

use super::run::{Driver, Fatal, PendingTransfer};
use super::{DriverError, MembershipChange, Reply, StateMachine};
use crate::transport::{NodeId, Transport};
use crate::wire::{self, ChangeContext};

/// Most entries a learner may lag behind the leader's commit and still be
/// promoted.
pub const PROMOTE_MAX_LAG: u64 = 1000;

fn refused(reason: &str, message: String) -> DriverError {
    DriverError::Refused { reason: reason.into(), message }
}

impl<E: KvEngine, S: StateMachine, T: Transport> Driver<E, S, T> {
    fn check_changes(&self, changes: &[MembershipChange]) -> Result<(), DriverError> {
        let raft = &self.node.raft;
        if changes.is_empty() {
            return Err(refused("INVALID_NODE", "no change requested".into()));
        }
        let cs = raft.prs().conf().to_conf_state();
        if raft.has_pending_conf() || !cs.voters_outgoing.is_empty() {
            return Err(refused("CHANGE_IN_PROGRESS", "another membership change is in progress".into()));
        }
        let is_voter = |n: NodeId| cs.voters.contains(&n);
        let is_learner = |n: NodeId| cs.learners.contains(&n);
        let mut voters: Vec<NodeId> = cs.voters.clone();
        for change in changes {
            match change {
                MembershipChange::AddLearner { node, .. } => {
                    if *node == 0 {
                        return Err(refused("INVALID_NODE", "node id 0 is reserved".into()));
                    }
                    if is_voter(*node) || is_learner(*node) {
                        return Err(refused("ALREADY_MEMBER", format!("node {node} is already a member")));
                    }
                }
                MembershipChange::Promote { node } => {
                    if !is_learner(*node) {
                        return Err(refused("NOT_A_LEARNER", format!("node {node} is not a learner")));
                    }
                    let matched = raft.prs().get(*node).map_or(0, |p| p.matched);
                    let commit = raft.raft_log.committed;
                    if matched + PROMOTE_MAX_LAG < commit {
                        return Err(refused(
                            "NOT_CAUGHT_UP",
                            format!("learner {node} has {matched} of {commit} entries; wait for it to catch up"),
                        ));
                    }
                    voters.push(*node);
                }
                MembershipChange::Remove { node } => {
                    if !is_voter(*node) && !is_learner(*node) {
                        return Err(refused("NOT_A_MEMBER", format!("node {node} is not a member")));
                    }
                    if *node == self.id {
                        return Err(refused(
                            "LEADER_REMOVAL",
                            format!("node {node} is the leader; transfer leadership first"),
                        ));
                    }
                    voters.retain(|v| v != node);
                }
            }
        }
        if voters.is_empty() {
            return Err(refused("QUORUM_AT_RISK", "the change would leave no voter".into()));
        }
        let removes_voter = changes.iter().any(|c| matches!(c, MembershipChange::Remove { node } if is_voter(*node)));
        if removes_voter {
            let active = voters.iter().filter(|v| self.recently_heard(**v)).count();
            let quorum = voters.len() / 2 + 1;
            if active < quorum {
                return Err(refused(
                    "QUORUM_AT_RISK",
                    format!(
                        "only {active} of the {} remaining voters were heard from recently; {quorum} are needed",
                        voters.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// This node, or a peer it received a Raft message from within the
    /// last election timeout.
    fn recently_heard(&self, node: NodeId) -> bool {
        node == self.id
            || self
                .last_heard
                .get(&node)
                .is_some_and(|t| self.ticks.saturating_sub(*t) <= self.cfg.election_ticks as u64)
    }

    pub(super) fn propose_membership(&mut self, changes: Vec<MembershipChange>, reply: Reply) {
        if let Err(e) = self.check_changes(&changes) {
            let _ = reply.send(Err(e));
            return;
        }
        let mut singles = Vec::new();
        let mut metadata = std::collections::BTreeMap::new();
        for change in &changes {
            let mut s = ConfChangeSingle::default();
            match change {
                MembershipChange::AddLearner { node, metadata: m } => {
                    s.set_change_type(ConfChangeType::AddLearnerNode);
                    s.node_id = *node;
                    metadata.insert(*node, m.clone());
                }
                MembershipChange::Promote { node } => {
                    s.set_change_type(ConfChangeType::AddNode);
                    s.node_id = *node;
                }
                MembershipChange::Remove { node } => {
                    s.set_change_type(ConfChangeType::RemoveNode);
                    s.node_id = *node;
                }
            }
            singles.push(s);
        }
        let request = self.next_request;
        self.next_request += 1;
        let context = ChangeContext { proposer: self.id, request, metadata }.encode();
        let mut cc = ConfChangeV2::default();
        cc.set_transition(ConfChangeTransition::Auto);
        cc.set_changes(RepeatedField::from_vec(singles));
        match self.node.propose_conf_change(context, cc) {
            Ok(()) => {
                self.pending.insert(request, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(DriverError::Dropped(e.to_string())));
            }
        }
    }

    /// Persists the configuration a committed change produced (raft-rs
    /// already switched to it) and answers its proposer: with the index,
    /// or `NOT_ADMITTED` when `vetoed` of its changes were made no-ops.
    pub(super) fn record_conf_change(&mut self, entry: &Entry, cs: ConfState, vetoed: usize) -> Result<(), Fatal> {
        let context = ChangeContext::decode(&entry.context).ok();
        if let Some(ctx) = &context {
            merge_new_members(&mut self.metadata, &ctx.metadata);
        }
        let members: std::collections::BTreeSet<NodeId> =
            cs.voters.iter().chain(&cs.voters_outgoing).chain(&cs.learners).chain(&cs.learners_next).copied().collect();
        self.metadata.retain(|id, _| members.contains(id));
        self.store.record_conf_change(&cs, entry.index, &wire::encode_metadata(&self.metadata))?;
        self.publish_membership();
        tracing::info!(node = self.id, index = entry.index, voters = ?cs.voters, learners = ?cs.learners,
            outgoing = ?cs.voters_outgoing, "configuration changed");
        if let Some(ctx) = context
            && ctx.proposer == self.id
            && let Some(reply) = self.pending.remove(&ctx.request)
        {
            let answer = if vetoed == 0 {
                Ok(entry.index.to_be_bytes().to_vec())
            } else {
                Err(refused(
                    "NOT_ADMITTED",
                    format!("the ledger does not admit the change (committed at {} as a no-op)", entry.index),
                ))
            };
            let _ = reply.send(answer);
        }
        Ok(())
    }

    /// A committed change raft-rs refused: nothing changed; its proposer
    /// hears why.
    pub(super) fn refuse_conf_change(&mut self, entry: &Entry, why: &str) {
        tracing::warn!(
            node = self.id,
            index = entry.index,
            cause = why,
            "a committed configuration change is invalid; applied as a no-op"
        );
        if let Some(ctx) = ChangeContext::decode(&entry.context).ok()
            && ctx.proposer == self.id
            && let Some(reply) = self.pending.remove(&ctx.request)
        {
            let _ = reply.send(Err(refused("INVALID_CHANGE", format!("raft refused the committed change: {why}"))));
        }
    }

    pub(super) fn start_transfer(&mut self, target: NodeId, reply: Reply) {
        let raft = &self.node.raft;
        let voters = raft.prs().conf().to_conf_state().voters;
        let target = if target == 0 {
            voters
                .iter()
                .copied()
                .filter(|v| *v != self.id)
                .max_by_key(|v| raft.prs().get(*v).map_or(0, |p| p.matched))
                .unwrap_or(0)
        } else {
            target
        };
        if target == self.id {
            let _ = reply.send(Ok(target.to_be_bytes().to_vec()));
            return;
        }
        if target == 0 || !voters.contains(&target) {
            let _ = reply.send(Err(refused("NOT_A_VOTER", format!("node {target} is not a voter"))));
            return;
        }
        self.node.transfer_leader(target);
        let deadline = self.ticks + 2 * self.cfg.election_ticks as u64;
        self.transfers.push(PendingTransfer { target, reply, deadline });
    }
}

/// Takes the metadata a change carries for members not known yet, and only
/// for those: an honest leader sends only the added nodes' (`AddLearner`),
/// and no change may rewrite what an existing member announced (its PeerId,
/// addresses, endpoint), whoever proposed it.
fn merge_new_members(known: &mut BTreeMap<NodeId, Vec<u8>>, proposed: &BTreeMap<NodeId, Vec<u8>>) {
    for (node, bytes) in proposed {
        known.entry(*node).or_insert_with(|| bytes.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_adds_new_members_metadata_and_rewrites_none() {
        let mut known: BTreeMap<NodeId, Vec<u8>> = [(1, b"one".to_vec()), (2, b"two".to_vec())].into();
        let proposed: BTreeMap<NodeId, Vec<u8>> = [(2, b"rogue".to_vec()), (4, b"four".to_vec())].into();
        merge_new_members(&mut known, &proposed);
        assert_eq!(known, [(1, b"one".to_vec()), (2, b"two".to_vec()), (4, b"four".to_vec())].into());
    }
}
