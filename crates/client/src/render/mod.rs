//! Rendering of responses for command-line tools: aligned tables for people, JSON for scripts.
//!
//! Every function returns text ending in a newline, ready for `print!`.
//!
//! # JSON
//!
//! The JSON objects are hand-built, so their shape is stable: field names are the snake_case proto
//! field names, byte fields are lowercase hex, enums are lowercase words, integers are JSON numbers
//! (64-bit values above 2^53, such as node ids derived from peer ids, lose precision in tools that
//! read numbers as doubles, jq 1.6 among them). Keys come in alphabetical order.
//!
//! - Status ([`render_status`]): `node_id`, `peer_id`, `party_id`, `network_id`, `role` (see
//!   [`role_name`]), `leader_id` (0: none known), `term`, `commit_index`, `applied_index`,
//!   `snapshot_index`, `tree_size`, `root_hash`, `shard_id`, `version`, `members` (member objects).
//! - Member: `node_id`, `peer_id`, `party_id`, `kind` (see [`member_kind_name`]), `addresses`
//!   (array of multiaddr strings), `api_endpoint` (its gRPC URL, empty if unknown), `match_index`,
//!   `reachable` (boolean).
//! - Members ([`render_members`]): `{"members": [member, ...]}`.
//! - Receipt: `envelope_id`, `outcome` (see [`outcome_name`]), `reason` and `message` (empty
//!   unless rejected), `leaf_index`, `log_index`, `commit_time` (RFC 3339 text or null),
//!   `shard_id`.
//! - Receipts ([`render_receipts`]): `{"receipts": [receipt, ...]}`.
//!
//! For example, `jq -r '.members[] | select(.reachable | not) | .node_id'` on a status lists the
//! members the node cannot reach.

mod json;
mod table;

use std::fmt;
use std::str::FromStr;

use veritrace_proto::v1::{GetStatusResponse, Member, MemberKind, Outcome, RaftRole, Receipt};

/// How to render a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Aligned text for people.
    #[default]
    Table,
    /// A JSON document for scripts (see the [module documentation](self)).
    Json,
}

/// An output format name other than "table" or "json".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format {value:?} (expected \"table\" or \"json\")")]
pub struct ParseOutputFormatError {
    /// The name as given.
    pub value: String,
}

impl FromStr for OutputFormat {
    type Err = ParseOutputFormatError;

    /// Parses "table" or "json" (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("table") {
            Ok(Self::Table)
        } else if s.eq_ignore_ascii_case("json") {
            Ok(Self::Json)
        } else {
            Err(ParseOutputFormatError { value: s.to_owned() })
        }
    }
}

impl fmt::Display for OutputFormat {
    /// "table" or "json", the names [`FromStr`] accepts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Table => "table",
            Self::Json => "json",
        })
    }
}

/// Renders a node's status: its fields then its members.
pub fn render_status(status: &GetStatusResponse, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table::status(status),
        OutputFormat::Json => json::document(json::status(status)),
    }
}

/// Renders Raft members.
pub fn render_members(members: &[Member], format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table::members(members),
        OutputFormat::Json => json::document(serde_json::json!({ "members": json::members(members) })),
    }
}

/// Renders receipts of submitted envelopes.
pub fn render_receipts(receipts: &[Receipt], format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table::receipts(receipts),
        OutputFormat::Json => {
            let receipts: Vec<_> = receipts.iter().map(json::receipt).collect();
            json::document(serde_json::json!({ "receipts": receipts }))
        }
    }
}

/// The word for a Raft role: "leader", "follower", "candidate", "pre-candidate", "learner", or
/// "unknown" (unspecified or a value this client does not know).
pub fn role_name(role: RaftRole) -> &'static str {
    match role {
        RaftRole::Leader => "leader",
        RaftRole::Follower => "follower",
        RaftRole::Candidate => "candidate",
        RaftRole::PreCandidate => "pre-candidate",
        RaftRole::Learner => "learner",
        RaftRole::Unspecified => "unknown",
    }
}

/// The word for a member kind: "voter", "learner" or "unknown".
pub fn member_kind_name(kind: MemberKind) -> &'static str {
    match kind {
        MemberKind::Voter => "voter",
        MemberKind::Learner => "learner",
        MemberKind::Unspecified => "unknown",
    }
}

/// The word for a receipt outcome: "applied", "duplicate", "rejected" or "unknown".
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Applied => "applied",
        Outcome::Duplicate => "duplicate",
        Outcome::Rejected => "rejected",
        Outcome::Unspecified => "unknown",
    }
}

/// Columns padded to their widest cell, two spaces apart, no trailing
/// spaces: the table style of every command, for tables built elsewhere.
pub fn text_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    table::table(headers, rows)
}
