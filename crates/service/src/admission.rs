//! Membership follows governance: which Raft membership changes the ledger
//! admits.
//!
//! Threat model: every organisation runs a validator and holds an admin
//! token for its own node; one of them may lead. Without this rule the
//! leader's operator alone could add a learner (which then receives the
//! whole ledger), promote a node of its own to outvote the others, or
//! remove a rival's validator. With it, a change takes effect only as the
//! ledger's governed validator list ([`Ledger::validator_party`], set by
//! the genesis or a k-of-n `ChangeValidators` decision) allows:
//!
//! * a node joins as a learner, or is promoted, only while its PeerId is
//!   the validator of an ACTIVE party (`NOT_A_VALIDATOR` otherwise);
//! * a PeerId already announced by another member is refused
//!   (`PEER_ID_IN_USE`): every node would route that member's traffic to
//!   the newcomer;
//! * a member is removed only once its PeerId no longer is
//!   (`STILL_A_VALIDATOR`): governance de-lists it first (or suspends its
//!   party). A member that never announced a PeerId cannot be a governed
//!   validator and may be removed.
//!
//! The same judgement runs twice: on the leader before it proposes (a
//! clear refusal for the operator), and on every replica when the change
//! commits ([`crate::LedgerStateMachine`]'s `admits`), where a refused
//! change becomes a no-op whoever proposed it. It reads only the applied
//! ledger state and the replicated member metadata, so every replica
//! judges a committed change alike.

use std::collections::BTreeMap;

use veritrace_consensus::{MembershipChange, NodeId};
use veritrace_ledger::{Ledger, LedgerError};
use veritrace_storage::KvEngine;

use crate::members::MemberInfo;

/// The ledger's answer about one membership change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The change may take effect.
    Admitted,
    /// It may not: a machine-readable reason and a message for operators.
    Refused {
        /// `NOT_A_VALIDATOR`, `STILL_A_VALIDATOR` or `PEER_ID_IN_USE`.
        reason: &'static str,
        /// What is wrong and what governance decision is missing.
        message: String,
    },
}

/// Judges `change` against `ledger`'s applied state; `members` is the
/// metadata each current member announced (an `AddLearner` carries the
/// new member's).
pub fn judge<E: KvEngine>(
    ledger: &Ledger<E>,
    change: &MembershipChange,
    members: &BTreeMap<NodeId, Vec<u8>>,
) -> Result<Admission, LedgerError> {
    let peer_of = |bytes: &[u8]| MemberInfo::decode(bytes).map(|m| m.peer_id).filter(|p| !p.is_empty());
    let (node, peer, joining) = match change {
        MembershipChange::AddLearner { node, metadata } => (*node, peer_of(metadata), true),
        MembershipChange::Promote { node } => (*node, members.get(node).and_then(|m| peer_of(m)), true),
        MembershipChange::Remove { node } => (*node, members.get(node).and_then(|m| peer_of(m)), false),
    };
    if let (MembershipChange::AddLearner { .. }, Some(peer)) = (change, &peer)
        && let Some(holder) = members.iter().find(|(id, m)| **id != node && peer_of(m).as_ref() == Some(peer))
    {
        // Every node would route the member's traffic to the newcomer.
        return Ok(Admission::Refused {
            reason: "PEER_ID_IN_USE",
            message: format!("peer id {peer} is member {}'s", holder.0),
        });
    }
    let Some(peer) = peer else {
        if joining {
            return Ok(Admission::Refused {
                reason: "NOT_A_VALIDATOR",
                message: format!("node {node} announced no PeerId, so no governance decision can name it"),
            });
        }
        return Ok(Admission::Admitted);
    };
    let party = ledger.validator_party(&peer)?;
    Ok(match (joining, party) {
        (true, Some(_)) | (false, None) => Admission::Admitted,
        (true, None) => Admission::Refused {
            reason: "NOT_A_VALIDATOR",
            message: format!(
                "peer {peer} (node {node}) is not the validator of an active party: a k-of-n ChangeValidators \
                 decision must name it first"
            ),
        },
        (false, Some(p)) => Admission::Refused {
            reason: "STILL_A_VALIDATOR",
            message: format!(
                "peer {peer} (node {node}) is still party {}'s validator: a k-of-n ChangeValidators decision must \
                 de-list it (or assign the party another peer) first",
                p.party_id
            ),
        },
    })
}
