//! JSON documents (shapes documented in the parent module).

use serde_json::{Value, json};
use veritrace_proto::v1::{GetStatusResponse, Member, Receipt};

use super::{member_kind_name, outcome_name, role_name};

/// Pretty-printed `value` with a final newline.
pub(super) fn document(value: Value) -> String {
    format!("{value:#}\n")
}

pub(super) fn status(s: &GetStatusResponse) -> Value {
    json!({
        "node_id": s.node_id,
        "peer_id": s.peer_id,
        "party_id": s.party_id,
        "network_id": s.network_id,
        "role": role_name(s.role()),
        "leader_id": s.leader_id,
        "term": s.term,
        "commit_index": s.commit_index,
        "applied_index": s.applied_index,
        "snapshot_index": s.snapshot_index,
        "tree_size": s.tree_size,
        "root_hash": hex::encode(&s.root_hash),
        "shard_id": s.shard_id,
        "version": s.version,
        "members": members(&s.members),
    })
}

pub(super) fn members(members: &[Member]) -> Value {
    Value::Array(members.iter().map(member).collect())
}

fn member(m: &Member) -> Value {
    json!({
        "node_id": m.node_id,
        "peer_id": m.peer_id,
        "party_id": m.party_id,
        "kind": member_kind_name(m.kind()),
        "addresses": m.addresses,
        "api_endpoint": m.api_endpoint,
        "match_index": m.match_index,
        "reachable": m.reachable,
    })
}

pub(super) fn receipt(r: &Receipt) -> Value {
    json!({
        "envelope_id": hex::encode(&r.envelope_id),
        "outcome": outcome_name(r.outcome()),
        "reason": r.reason,
        "message": r.message,
        "leaf_index": r.leaf_index,
        "log_index": r.log_index,
        "commit_time": r.commit_time.as_ref().map(ToString::to_string),
        "shard_id": r.shard_id,
    })
}
