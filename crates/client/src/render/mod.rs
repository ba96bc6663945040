//! Rendering of responses for command-line tools: aligned tables for people, JSON for scripts.
//!
//! Every function returns text ending in a newline, ready for `print!`.
//!
//! # JSON
//!
//! Every `-o json` of the `veritrace` command line, for every command, writes this one dialect.
//! It is not the canonical proto3 JSON mapping (camelCase names, base64 bytes, `"VERDICT_..."`
//! enums): its names and values are the ones tables, logs and the `.proto` files show. Messages
//! are converted generically, from the descriptors compiled into `veritrace-proto`
//! ([`message_json`]); views that are not protobuf messages (e.g. `cluster status` rows, `health`)
//! follow the same rules.
//!
//! - **Field names** are the proto field names, in snake_case (`node_id`, `root_hash`,
//!   `scan_stats`). Keys come in alphabetical order.
//! - **Every field is written**, its default value included (`""`, `0`, `false`, `[]`).
//! - **Bytes** are lowercase hex (`"envelope_id": "9f3a..."`), as in tables and logs.
//! - **Enums** are the value's name in lowercase without its type's prefix:
//!   `RAFT_ROLE_LEADER` is `"leader"`, `VERDICT_GENUINE_FIRST_SCAN` is `"genuine_first_scan"`,
//!   `OUTCOME_APPLIED` is `"applied"`, an `*_UNSPECIFIED` value is `"unspecified"`. A value the
//!   descriptors do not name (from a newer node) is written as its number.
//! - **Integers**, 64-bit ones included, are JSON numbers. Values above 2^53 would lose precision
//!   in tools that read numbers as doubles, jq 1.6 among them; Veritrace keeps ids, indexes and
//!   sizes below it (node ids derived from peer ids too). Floating-point values are numbers too; NaN and the infinities, which JSON has no
//!   numbers for, are the strings `"NaN"`, `"Infinity"` and `"-Infinity"`.
//! - **`google.protobuf.Timestamp`** is RFC 3339 text in UTC (`"2023-11-14T22:13:20Z"`, with
//!   3, 6 or 9 fraction digits when needed); **`google.protobuf.Duration`** is seconds with an `s`
//!   (`"90s"`, `"0.250s"`).
//! - **A message field that is not set is `null`**, and so is an unset `optional` field (e.g.
//!   `Place.latitude`). Other messages, nested or repeated, are objects.
//! - **A oneof** appears as its set field only, under that field's name (a `WatchResponse` has
//!   either `"entry"` or `"tree_head"`); nothing when none is set.
//! - **Repeated fields** are arrays, **maps** objects (keys as text).
//!
//! A command prints one pretty-printed document ([`render_message`], or [`render_json`] for a
//! view built elsewhere); a stream (`watch`) prints one compact object a line.
//!
//! [`render_status`] writes a `GetStatusResponse`, [`render_members`] `{"members": [Member, ...]}`,
//! [`render_receipts`] `{"receipts": [Receipt, ...]}`; the fields of each message are those of
//! `proto/veritrace/v1/*.proto`. A receipt, for example:
//!
//! ```json
//! {
//!   "batch_position": 0,
//!   "commit_time": "2023-11-14T22:13:20Z",
//!   "envelope_id": "0101010101010101010101010101010101010101010101010101010101010101",
//!   "inclusion": null,
//!   "leaf_index": 120,
//!   "log_index": 50,
//!   "message": "",
//!   "outcome": "applied",
//!   "reason": "",
//!   "shard_id": 0,
//!   "tree_head": null
//! }
//! ```
//!
//! `jq -r '.members[] | select(.reachable | not) | .node_id'` on a status lists the members the
//! node cannot reach; `jq -r .verdict` on `veritrace verify -o json` prints e.g.
//! `genuine_first_scan`.

mod json;
mod table;

use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use veritrace_proto::v1::{GetStatusResponse, Member, MemberKind, Outcome, RaftRole, Receipt};

pub use json::JsonError;

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
        OutputFormat::Json => json::document(&json::known("veritrace.v1.GetStatusResponse", status)),
    }
}

/// Renders Raft members.
pub fn render_members(members: &[Member], format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table::members(members),
        OutputFormat::Json => {
            let members: Vec<Value> = members.iter().map(|m| json::known("veritrace.v1.Member", m)).collect();
            json::document(&serde_json::json!({ "members": members }))
        }
    }
}

/// Renders receipts of submitted envelopes.
pub fn render_receipts(receipts: &[Receipt], format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table::receipts(receipts),
        OutputFormat::Json => {
            let receipts: Vec<Value> = receipts.iter().map(|r| json::known("veritrace.v1.Receipt", r)).collect();
            json::document(&serde_json::json!({ "receipts": receipts }))
        }
    }
}

/// Any `veritrace.v1` message (or `google.protobuf` one) as a JSON value of the
/// [dialect](self#json). `full_name` is its protobuf name, e.g. "veritrace.v1.VerifyItemResponse".
///
/// Fails only when no message has that name in the descriptors, or when `message` is not of it.
pub fn message_json<M: prost::Message>(full_name: &str, message: &M) -> Result<Value, JsonError> {
    json::message_value(full_name, message)
}

/// The descriptor of the `veritrace.v1` (or `google.protobuf`) message named `full_name`, from
/// the descriptors compiled into `veritrace-proto`, loaded once per process: for readers of other
/// JSON mappings (`tx submit` parses canonical proto3 JSON with it).
pub fn message_descriptor(full_name: &str) -> Result<prost_reflect::MessageDescriptor, JsonError> {
    json::descriptor(full_name)
}

/// [`message_json`] as a pretty-printed JSON document ending in a newline.
pub fn render_message<M: prost::Message>(full_name: &str, message: &M) -> Result<String, JsonError> {
    Ok(json::document(&message_json(full_name, message)?))
}

/// A JSON value built elsewhere (a view that is not a protobuf message), pretty-printed the way
/// the functions above print theirs, ending in a newline. Building it is the caller's part: the
/// [rules](self#json) apply to it too.
pub fn render_json(value: &Value) -> String {
    json::document(value)
}

/// The word for a Raft role: "leader", "follower", "candidate", "pre_candidate", "learner" or
/// "unspecified" (the [enum rule](self#json) of the JSON dialect).
pub fn role_name(role: RaftRole) -> &'static str {
    match role {
        RaftRole::Leader => "leader",
        RaftRole::Follower => "follower",
        RaftRole::Candidate => "candidate",
        RaftRole::PreCandidate => "pre_candidate",
        RaftRole::Learner => "learner",
        RaftRole::Unspecified => "unspecified",
    }
}

/// The word for a member kind: "voter", "learner" or "unspecified" (the [enum rule](self#json)).
pub fn member_kind_name(kind: MemberKind) -> &'static str {
    match kind {
        MemberKind::Voter => "voter",
        MemberKind::Learner => "learner",
        MemberKind::Unspecified => "unspecified",
    }
}

/// The word for a receipt outcome: "applied", "duplicate", "rejected", "counted" or "unspecified" (the
/// [enum rule](self#json)).
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Applied => "applied",
        Outcome::Duplicate => "duplicate",
        Outcome::Rejected => "rejected",
        Outcome::Counted => "counted",
        Outcome::Unspecified => "unspecified",
    }
}

/// Columns padded to their widest cell, two spaces apart, no trailing
/// spaces: the table style of every command, for tables built elsewhere.
pub fn text_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    table::table(headers, rows)
}
