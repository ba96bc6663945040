//! Tables and JSON for command-line tools.

mod support;

use serde_json::{Value, json};
use veritrace_client::proto as pb;
use veritrace_client::render::{OutputFormat, render_members, render_receipts, render_status};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

/// The value after "key:" on the line starting with it.
fn value_of<'a>(table: &'a str, key: &str) -> Option<&'a str> {
    table.lines().find_map(|line| line.strip_prefix(&format!("{key}:")).map(str::trim))
}

/// The cells of the table line whose first cell is `first`.
fn row<'a>(table: &'a str, first: &str) -> Vec<&'a str> {
    let line = table.lines().find(|l| l.split_whitespace().next() == Some(first)).expect("row present");
    line.split_whitespace().collect()
}

fn receipts() -> Vec<pb::Receipt> {
    let mut applied = pb::Receipt {
        envelope_id: vec![0x01; 32],
        outcome: pb::Outcome::Applied.into(),
        leaf_index: 120,
        log_index: 50,
        ..Default::default()
    };
    applied.commit_time.get_or_insert_default().seconds = 1_700_000_000;
    let rejected = pb::Receipt {
        envelope_id: vec![0x02; 32],
        outcome: pb::Outcome::Rejected.into(),
        reason: "BAD_SIGNATURE".to_owned(),
        message: "signature does not verify".to_owned(),
        log_index: 50,
        ..Default::default()
    };
    vec![applied, rejected]
}

#[test]
fn status_table_has_aligned_fields_and_members() {
    let text = render_status(&support::canned_status(), OutputFormat::Table);
    let expected = [
        ("node id", "1"),
        ("peer id", "12D3KooWNode1"),
        ("party", "brand-a"),
        ("network", "veritrace-test"),
        ("role", "leader"),
        ("leader", "1 (this node)"),
        ("term", "7"),
        ("commit index", "42"),
        ("applied index", "41"),
        ("snapshot index", "30"),
        ("tree size", "120"),
        ("root", &"ab".repeat(32)),
        ("version", "0.1.0"),
    ];
    for (key, value) in expected {
        assert_eq!(value_of(&text, key), Some(value), "{key} in\n{text}");
    }
    // Values start in one column.
    let columns: Vec<usize> = text
        .lines()
        .take(expected.len())
        .map(|l| l.len() - l.split_once(':').map_or("", |(_, value)| value.trim_start()).len())
        .collect();
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "values not aligned:\n{text}");

    let header = text.lines().find(|l| l.starts_with("ID")).expect("members header");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["ID", "KIND", "PEER", "MATCH", "REACHABLE", "ADDRESSES"]
    );
    assert_eq!(
        row(&text, "1"),
        ["1", "voter", "12D3KooWNode1", "42", "yes", "/ip4/10.0.0.1/tcp/7400,/dns4/n1.example.org/tcp/7400"]
    );
    assert_eq!(row(&text, "3")[..5], ["3", "learner", "12D3KooWNode3", "12", "no"]);
}

#[test]
fn status_table_roles_and_empty_values() {
    for (role, word) in [
        (pb::RaftRole::Follower, "follower"),
        (pb::RaftRole::Candidate, "candidate"),
        (pb::RaftRole::PreCandidate, "pre-candidate"),
        (pb::RaftRole::Learner, "learner"),
        (pb::RaftRole::Unspecified, "unknown"),
    ] {
        let status = pb::GetStatusResponse { node_id: 3, role: role.into(), ..Default::default() };
        let text = render_status(&status, OutputFormat::Table);
        assert_eq!(value_of(&text, "role"), Some(word));
        assert_eq!(value_of(&text, "leader"), Some("none"));
        assert_eq!(value_of(&text, "root"), Some("-"));
        assert!(text.contains("no members"), "{text}");
    }
}

#[test]
fn status_json_is_stable_and_parses() {
    let value = parse(&render_status(&support::canned_status(), OutputFormat::Json));
    let expected = json!({
        "node_id": 1,
        "peer_id": "12D3KooWNode1",
        "party_id": "brand-a",
        "network_id": "veritrace-test",
        "role": "leader",
        "leader_id": 1,
        "term": 7,
        "commit_index": 42,
        "applied_index": 41,
        "snapshot_index": 30,
        "tree_size": 120,
        "root_hash": "ab".repeat(32),
        "shard_id": 0,
        "version": "0.1.0",
    });
    for (key, want) in expected.as_object().expect("object") {
        assert_eq!(&value[key], want, "{key}");
    }
    let members = value["members"].as_array().expect("members array");
    assert_eq!(members.len(), 3);
    assert_eq!(
        members[2],
        json!({
            "node_id": 3,
            "peer_id": "12D3KooWNode3",
            "party_id": "",
            "kind": "learner",
            "addresses": ["/ip4/10.0.0.3/tcp/7400", "/dns4/n3.example.org/tcp/7400"],
            "api_endpoint": "http://10.0.0.3:7401",
            "match_index": 12,
            "reachable": false,
        })
    );
    assert_eq!(value.as_object().map(|o| o.len()), Some(expected.as_object().map_or(0, |o| o.len()) + 1));
}

#[test]
fn members_table_and_json() {
    let members = support::canned_members();
    let text = render_members(&members, OutputFormat::Table);
    assert!(text.starts_with("ID"), "{text}");
    assert_eq!(row(&text, "2")[..5], ["2", "voter", "12D3KooWNode2", "40", "yes"]);
    assert_eq!(text.lines().count(), 4);
    assert_eq!(render_members(&[], OutputFormat::Table), "no members\n");

    let value = parse(&render_members(&members, OutputFormat::Json));
    let ids: Vec<u64> =
        value["members"].as_array().expect("array").iter().filter_map(|m| m["node_id"].as_u64()).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(value["members"][0]["kind"], "voter");
    assert_eq!(value["members"][0]["reachable"], true);
    assert_eq!(parse(&render_members(&[], OutputFormat::Json)), json!({ "members": [] }));
}

#[test]
fn receipts_table_shows_ids_outcomes_indexes_and_reasons() {
    let text = render_receipts(&receipts(), OutputFormat::Table);
    let header = text.lines().next().expect("header");
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["ENVELOPE", "OUTCOME", "LEAF", "LOG", "REASON"]);
    assert_eq!(row(&text, &"01".repeat(32)), [&"01".repeat(32), "applied", "120", "50", "-"]);
    let rejected = row(&text, &"02".repeat(32));
    assert_eq!(rejected[..5], [&"02".repeat(32), "rejected", "-", "50", "BAD_SIGNATURE:"]);
    assert!(text.contains("BAD_SIGNATURE: signature does not verify"), "{text}");
}

#[test]
fn receipts_json() {
    let value = parse(&render_receipts(&receipts(), OutputFormat::Json));
    assert_eq!(
        value["receipts"][0],
        json!({
            "envelope_id": "01".repeat(32),
            "outcome": "applied",
            "reason": "",
            "message": "",
            "leaf_index": 120,
            "log_index": 50,
            "commit_time": "2023-11-14T22:13:20Z",
            "shard_id": 0,
        })
    );
    assert_eq!(value["receipts"][1]["outcome"], "rejected");
    assert_eq!(value["receipts"][1]["reason"], "BAD_SIGNATURE");
    assert_eq!(value["receipts"][1]["commit_time"], Value::Null);
}

#[test]
fn output_format_parses_and_names_bad_values() {
    assert_eq!("table".parse::<OutputFormat>(), Ok(OutputFormat::Table));
    assert_eq!("JSON".parse::<OutputFormat>(), Ok(OutputFormat::Json));
    assert_eq!(OutputFormat::default(), OutputFormat::Table);
    assert_eq!(OutputFormat::Json.to_string(), "json");
    let err = "yaml".parse::<OutputFormat>().expect_err("not a format");
    assert_eq!(err.value, "yaml");
    assert!(err.to_string().contains("\"yaml\""), "{err}");
    assert!("".parse::<OutputFormat>().is_err());
}
