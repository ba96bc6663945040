//! Tables and JSON for command-line tools.

use serde_json::{Value, json};
use veritrace_client::proto as pb;
use veritrace_client::render::{
    OutputFormat, member_kind_name, message_json, outcome_name, render_json, render_members, render_message,
    render_receipts, render_status, role_name,
};

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

/// A status with three members.
fn canned_status() -> pb::GetStatusResponse {
    pb::GetStatusResponse {
        node_id: 1,
        peer_id: "12D3KooWNode1".to_owned(),
        party_id: "brand-a".to_owned(),
        role: pb::RaftRole::Leader.into(),
        leader_id: 1,
        term: 7,
        commit_index: 42,
        applied_index: 41,
        snapshot_index: 30,
        tree_size: 120,
        root_hash: vec![0xab; 32],
        shard_id: 0,
        members: canned_members(),
        version: "0.6.0".to_owned(),
        network_id: "veritrace-test".to_owned(),
        revision: "90873ed1a2b3".to_owned(),
    }
}

/// Members 1 and 2 (voters) and 3 (an unreachable learner).
fn canned_members() -> Vec<pb::Member> {
    let member = |node_id: u64, kind: pb::MemberKind, match_index: u64, reachable: bool| pb::Member {
        node_id,
        peer_id: format!("12D3KooWNode{node_id}"),
        party_id: if kind == pb::MemberKind::Voter { format!("party-{node_id}") } else { String::new() },
        kind: kind.into(),
        addresses: vec![format!("/ip4/10.0.0.{node_id}/tcp/7400"), format!("/dns4/n{node_id}.example.org/tcp/7400")],
        match_index,
        reachable,
        api_endpoint: format!("http://10.0.0.{node_id}:7401"),
    };
    vec![
        member(1, pb::MemberKind::Voter, 42, true),
        member(2, pb::MemberKind::Voter, 40, true),
        member(3, pb::MemberKind::Learner, 12, false),
    ]
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
    let text = render_status(&canned_status(), OutputFormat::Table);
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
        ("version", "0.6.0"),
        ("revision", "90873ed1a2b3"),
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
        (pb::RaftRole::PreCandidate, "pre_candidate"),
        (pb::RaftRole::Learner, "learner"),
        (pb::RaftRole::Unspecified, "unspecified"),
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
    let value = parse(&render_status(&canned_status(), OutputFormat::Json));
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
        "version": "0.6.0",
        "revision": "90873ed1a2b3",
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
    let members = canned_members();
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
            "inclusion": null,
            "tree_head": null,
            "batch_position": 0,
        })
    );
    assert_eq!(value["receipts"][1]["outcome"], "rejected");
    assert_eq!(value["receipts"][1]["reason"], "BAD_SIGNATURE");
    assert_eq!(value["receipts"][1]["commit_time"], Value::Null);
}

#[test]
fn receipts_json_with_proof_and_tree_head() {
    let receipt = verify_response().receipt.expect("receipt");
    let value = parse(&render_receipts(std::slice::from_ref(&receipt), OutputFormat::Json));
    let r = &value["receipts"][0];
    assert_eq!(r["leaf_index"].as_u64(), Some(receipt.leaf_index), "2^53 + 1 stays exact: {r}");
    assert_eq!(r["commit_time"], "2023-11-14T22:13:20.250Z");
    assert_eq!(
        r["inclusion"],
        json!({ "leaf_index": receipt.leaf_index, "tree_size": 1u64 << 54,
                                       "hashes": ["11".repeat(32), "22".repeat(32)] })
    );
    assert_eq!(
        r["tree_head"],
        json!({ "tree_size": 1u64 << 54, "root_hash": "33".repeat(32), "timestamp": "2023-11-14T22:13:21Z",
                "shard_id": 0, "signer_key_id": "44".repeat(8), "signature": "55".repeat(64), "cosignatures": [] })
    );
}

/// Every enum word of a renderer is the generic rule's: the hand-written names agree with it.
#[test]
fn enum_names_agree_with_the_generic_rule() {
    for role in [
        pb::RaftRole::Unspecified,
        pb::RaftRole::Follower,
        pb::RaftRole::PreCandidate,
        pb::RaftRole::Candidate,
        pb::RaftRole::Leader,
        pb::RaftRole::Learner,
    ] {
        let status = pb::GetStatusResponse { role: role.into(), ..Default::default() };
        let value = parse(&render_status(&status, OutputFormat::Json));
        assert_eq!(value["role"], role_name(role));
        let want = role.as_str_name().strip_prefix("RAFT_ROLE_").expect("prefix").to_ascii_lowercase();
        assert_eq!(role_name(role), want);
    }
    for kind in [pb::MemberKind::Unspecified, pb::MemberKind::Voter, pb::MemberKind::Learner] {
        let member = pb::Member { kind: kind.into(), ..Default::default() };
        let value = parse(&render_members(&[member], OutputFormat::Json));
        assert_eq!(value["members"][0]["kind"], member_kind_name(kind));
        let want = kind.as_str_name().strip_prefix("MEMBER_KIND_").expect("prefix").to_ascii_lowercase();
        assert_eq!(member_kind_name(kind), want);
    }
    for outcome in [pb::Outcome::Unspecified, pb::Outcome::Applied, pb::Outcome::Duplicate, pb::Outcome::Rejected] {
        let receipt = pb::Receipt { outcome: outcome.into(), ..Default::default() };
        let value = parse(&render_receipts(&[receipt], OutputFormat::Json));
        assert_eq!(value["receipts"][0]["outcome"], outcome_name(outcome));
        let want = outcome.as_str_name().strip_prefix("OUTCOME_").expect("prefix").to_ascii_lowercase();
        assert_eq!(outcome_name(outcome), want);
    }
}

fn ts(seconds: i64, nanos: i32) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos })
}

/// 2^53 + 1: the smallest integer a double cannot hold.
const BIG: u64 = (1 << 53) + 1;

fn party_summary() -> pb::PartySummary {
    pb::PartySummary {
        party_id: "acme".to_owned(),
        display_name: "ACME Cosmetics".to_owned(),
        roles: vec![pb::PartyRole::BrandOwner.into(), pb::PartyRole::Manufacturer.into()],
        country: "FR".to_owned(),
        status: pb::PartyStatus::Active.into(),
    }
}

fn certificate() -> pb::CertificateRef {
    pb::CertificateRef {
        attested_by: Some(party_summary()),
        attestation_id: "QT-1".to_owned(),
        scheme: pb::CertificationScheme::GbT.into(),
        certificate_number: "QT/2026/00001".to_owned(),
        result: pb::AttestationResult::NonConformant.into(),
        valid_from: ts(0, 0),
        valid_until: None,
        validity: pb::AttestationValidity::Valid.into(),
        validity_at_step: pb::AttestationValidity::NotYetValid.into(),
        document_digest: vec![0xde, 0xad, 0xbe, 0xef],
        envelope_id: vec![0x0a; 32],
        ..Default::default()
    }
}

fn product() -> pb::ProductSummary {
    pb::ProductSummary {
        gtin: "00614141000012".to_owned(),
        name: "Rose Night Cream".to_owned(),
        brand: Some(party_summary()),
        origin_country: "FR".to_owned(),
        ..Default::default()
    }
}

fn journey_step() -> pb::JourneyStep {
    pb::JourneyStep {
        party: Some(party_summary()),
        action: "epcis_event".to_owned(),
        event_type: "ObjectEvent".to_owned(),
        epcis_action: pb::EpcisAction::Observe.into(),
        biz_step: "shipping".to_owned(),
        place: Some(pb::Place { country: "CN".to_owned(), latitude: Some(30.27), ..Default::default() }),
        event_time: ts(1_700_000_000, 0),
        record_time: ts(1_700_000_001, 123_456_000),
        certificates: vec![certificate()],
        envelope_id: vec![0xcd; 32],
        leaf_index: BIG,
        tracking_numbers: vec![pb::TrackingNumber {
            biz_transaction: "urn:veritrace:tracking:swift:SF0001".to_owned(),
            carrier: "swift".to_owned(),
            confirmed: true,
            confirmed_leaf_index: 7,
        }],
        ..Default::default()
    }
}

fn verify_response() -> pb::VerifyItemResponse {
    pb::VerifyItemResponse {
        verdict: pb::Verdict::GenuineFirstScan.into(),
        item: Some(pb::GtinSerial { gtin: "00614141000012".to_owned(), serial: "LOT1-000001".to_owned() }),
        product: Some(product()),
        scan_stats: Some(pb::ScanStats {
            count: 1,
            first_scan_time: ts(1_700_000_000, 250_000_000),
            first_scan_place: Some(pb::Place {
                country: "CN".to_owned(),
                city: "Hangzhou".to_owned(),
                ..Default::default()
            }),
            distinct_countries: 1,
            invalid_code_count: BIG,
            ..Default::default()
        }),
        clone_signals: vec!["MANY_DEVICES".to_owned()],
        journey: vec![journey_step()],
        certificates: vec![certificate()],
        recalls: vec![],
        receipt: Some(pb::Receipt {
            envelope_id: vec![0xef; 32],
            outcome: pb::Outcome::Applied.into(),
            leaf_index: BIG,
            log_index: 50,
            commit_time: ts(1_700_000_000, 250_000_000),
            inclusion: Some(pb::InclusionProof {
                leaf_index: BIG,
                tree_size: 1 << 54,
                hashes: vec![vec![0x11; 32], vec![0x22; 32]],
            }),
            tree_head: Some(pb::SignedTreeHead {
                tree_size: 1 << 54,
                root_hash: vec![0x33; 32],
                timestamp: ts(1_700_000_001, 0),
                shard_id: 0,
                signer_key_id: vec![0x44; 8],
                signature: vec![0x55; 64],
                cosignatures: Vec::new(),
            }),
            ..Default::default()
        }),
        attempts_left: 4,
        withdrawal_reason: 0,
        scan_envelope: Some(pb::SignedEnvelope {
            payload: vec![0x00, 0x01, 0xfe, 0xff],
            signer_key_id: vec![0x44; 8],
            signature: vec![0x55; 64],
        }),
    }
}

/// Every key of `value`, at any depth, is snake_case (no camelCase from the proto3 JSON mapping).
fn assert_snake_case_keys(value: &Value, path: &str) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                assert!(
                    !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{path}.{key} is not snake_case"
                );
                assert_snake_case_keys(inner, &format!("{path}.{key}"));
            }
        }
        Value::Array(items) => items.iter().for_each(|item| assert_snake_case_keys(item, &format!("{path}[]"))),
        _ => {}
    }
}

/// The text of a message as the CLI prints it, checked to parse and to use snake_case names only.
fn rendered<M: prost::Message>(name: &str, message: &M) -> Value {
    let text = render_message(name, message).expect("renders");
    assert!(text.ends_with("}\n"), "a document ending in a newline: {text}");
    let value = parse(&text);
    assert_eq!(message_json(name, message).expect("renders"), value);
    assert_snake_case_keys(&value, "");
    value
}

#[test]
fn verify_item_response_json() {
    let answer = verify_response();
    let v = rendered("veritrace.v1.VerifyItemResponse", &answer);
    assert_eq!(v["verdict"], "genuine_first_scan");
    assert_eq!(v["item"], json!({ "gtin": "00614141000012", "serial": "LOT1-000001" }));
    assert_eq!(v["product"]["brand"]["roles"], json!(["brand_owner", "manufacturer"]));
    assert_eq!(v["product"]["brand"]["status"], "active");
    assert_eq!(v["product"]["image_uri"], "", "defaults are written");

    let stats = &v["scan_stats"];
    assert_eq!(stats["first_scan_time"], "2023-11-14T22:13:20.250Z");
    assert_eq!(stats["previous_scan_time"], Value::Null, "an unset message is null");
    assert_eq!(stats["previous_scan_place"], Value::Null);
    assert_eq!(stats["invalid_code_count"].as_u64(), Some(BIG), "64-bit integers are exact numbers");
    assert_eq!(stats["first_scan_place"]["latitude"], Value::Null, "an unset optional is null");
    assert_eq!(v["clone_signals"], json!(["MANY_DEVICES"]));

    let step = &v["journey"][0];
    assert_eq!(step["epcis_action"], "observe");
    assert_eq!(step["place"]["latitude"], 30.27);
    assert_eq!(step["event_time"], "2023-11-14T22:13:20Z");
    assert_eq!(step["record_time"], "2023-11-14T22:13:21.123456Z");
    assert_eq!(step["envelope_id"], "cd".repeat(32));
    assert_eq!(step["leaf_index"].as_u64(), Some(BIG));
    assert_eq!(step["tracking_numbers"][0]["confirmed"], true);
    assert_eq!(step["certificates"][0]["validity_at_step"], "not_yet_valid");

    let cert = &v["certificates"][0];
    assert_eq!(cert["scheme"], "gb_t");
    assert_eq!(cert["result"], "non_conformant");
    assert_eq!(cert["validity"], "valid");
    assert_eq!(cert["valid_from"], "1970-01-01T00:00:00Z", "a set timestamp at the epoch is written");
    assert_eq!(cert["valid_until"], Value::Null);
    assert_eq!(cert["document_digest"], "deadbeef");
    assert_eq!(v["recalls"], json!([]));

    assert_eq!(v["receipt"]["outcome"], "applied");
    assert_eq!(v["receipt"]["inclusion"]["hashes"][1], "22".repeat(32));
    assert_eq!(v["scan_envelope"]["payload"], "0001feff");

    // Key fields round-trip: hex back to the bytes, text back to the timestamp, numbers exact.
    let receipt = answer.receipt.as_ref().expect("receipt");
    let id = hex::decode(v["receipt"]["envelope_id"].as_str().expect("hex")).expect("valid hex");
    assert_eq!(id, receipt.envelope_id);
    let time: prost_types::Timestamp = v["receipt"]["commit_time"].as_str().expect("text").parse().expect("RFC 3339");
    assert_eq!(Some(time), receipt.commit_time);
    assert_eq!(v["receipt"]["leaf_index"].as_u64(), Some(receipt.leaf_index));
    let payload = hex::decode(v["scan_envelope"]["payload"].as_str().expect("hex")).expect("valid hex");
    assert_eq!(Some(payload), answer.scan_envelope.as_ref().map(|e| e.payload.clone()));
}

#[test]
fn item_history_response_json() {
    let history = pb::GetItemHistoryResponse {
        item: Some(pb::GtinSerial { gtin: "00614141000012".to_owned(), serial: "LOT1-000002".to_owned() }),
        state: pb::ItemState::Recalled.into(),
        product: None,
        steps: vec![journey_step(), pb::JourneyStep { retracted: true, ..Default::default() }],
        next_page_token: "t2".to_owned(),
    };
    let v = rendered("veritrace.v1.GetItemHistoryResponse", &history);
    assert_eq!(v["state"], "recalled");
    assert_eq!(v["product"], Value::Null);
    assert_eq!(v["next_page_token"], "t2");
    let steps = v["steps"].as_array().expect("array");
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["envelope_id"], "cd".repeat(32));
    assert_eq!(steps[1]["retracted"], true);
    assert_eq!(steps[1]["epcis_action"], "unspecified");
    assert_eq!(steps[1]["party"], Value::Null);
    assert_eq!(steps[1]["envelope_id"], "", "empty bytes are the empty string");
    assert_eq!(steps[1]["certificates"], json!([]));
    let step = &history.steps[0];
    assert_eq!(steps[0]["leaf_index"].as_u64(), Some(step.leaf_index));
    assert_eq!(steps[0]["biz_step"], step.biz_step);
}

#[test]
fn party_profile_response_json() {
    let profile = pb::GetPartyProfileResponse {
        party: Some(party_summary()),
        joined_at: ts(1_700_000_000, 0),
        validator_operator: true,
        attestations: vec![certificate()],
        suspensions: vec![pb::Suspension {
            suspended_at: ts(1_700_000_100, 0),
            reason: "audit".to_owned(),
            reinstated_at: None,
            reinstate_reason: String::new(),
        }],
    };
    let v = rendered("veritrace.v1.GetPartyProfileResponse", &profile);
    assert_eq!(
        v["party"],
        json!({ "party_id": "acme", "display_name": "ACME Cosmetics", "roles": ["brand_owner", "manufacturer"],
                "country": "FR", "status": "active" })
    );
    assert_eq!(v["joined_at"], "2023-11-14T22:13:20Z");
    assert_eq!(v["validator_operator"], true);
    assert_eq!(v["attestations"][0]["envelope_id"], "0a".repeat(32));
    assert_eq!(
        v["suspensions"],
        json!([{ "suspended_at": "2023-11-14T22:15:00Z", "reason": "audit", "reinstated_at": null,
                 "reinstate_reason": "" }])
    );
}

#[test]
fn list_parties_response_json() {
    let list = pb::ListPartiesResponse {
        parties: vec![pb::Party {
            party_id: "party-1".to_owned(),
            display_name: "Brand".to_owned(),
            country: "CN".to_owned(),
            roles: vec![pb::PartyRole::Admin.into(), pb::PartyRole::BrandOwner.into()],
            signing_keys: vec![pb::SigningKey {
                public_key: vec![0x7f; 32],
                status: pb::KeyStatus::Revoked.into(),
                label: "k1".to_owned(),
                added_at: ts(1_700_000_000, 0),
                revoked_at: ts(1_700_000_060, 0),
            }],
            validator_peer_id: "12D3KooWNode1".to_owned(),
            status: pb::PartyStatus::Suspended.into(),
            gs1_company_prefixes: vec!["0614141".to_owned()],
            party_glns: vec![],
            joined_at: None,
        }],
        next_page_token: String::new(),
    };
    let v = rendered("veritrace.v1.ListPartiesResponse", &list);
    let p = &v["parties"][0];
    assert_eq!(p["roles"], json!(["admin", "brand_owner"]));
    assert_eq!(p["status"], "suspended");
    assert_eq!(p["joined_at"], Value::Null);
    assert_eq!(p["party_glns"], json!([]));
    assert_eq!(
        p["signing_keys"],
        json!([{ "public_key": "7f".repeat(32), "status": "revoked", "label": "k1",
                 "added_at": "2023-11-14T22:13:20Z", "revoked_at": "2023-11-14T22:14:20Z" }])
    );
    assert_eq!(v["next_page_token"], "");
    let key = hex::decode(p["signing_keys"][0]["public_key"].as_str().expect("hex")).expect("valid hex");
    assert_eq!(key, list.parties[0].signing_keys[0].public_key);
}

#[test]
fn oneofs_show_their_set_field_only() {
    let entry = pb::WatchResponse {
        event: Some(pb::watch_response::Event::TreeHead(pb::SignedTreeHead { tree_size: 3, ..Default::default() })),
    };
    let v = rendered("veritrace.v1.WatchResponse", &entry);
    assert_eq!(v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()), Some(vec!["tree_head".to_owned()]));
    assert_eq!(v["tree_head"]["tree_size"], 3);
    assert_eq!(v["tree_head"]["timestamp"], Value::Null);
    assert_eq!(rendered("veritrace.v1.WatchResponse", &pb::WatchResponse::default()), json!({}));
}

#[test]
fn messages_are_named_or_refused() {
    let err = message_json("veritrace.v1.NoSuchResponse", &pb::Receipt::default()).expect_err("no such message");
    assert!(err.to_string().contains("veritrace.v1.NoSuchResponse"), "{err}");
    assert_eq!(render_json(&json!({ "a": 1 })), "{\n  \"a\": 1\n}\n");
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
