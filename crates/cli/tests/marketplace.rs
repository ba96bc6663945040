//! The marketplace seed stories on a real 3-process cluster (RocksDB,
//! libp2p, gRPC over TCP, the `veritrace` binary for the CLI steps): a
//! buyer compares two suppliers; an IP complaint answered by a
//! counter-notice and upheld withdraws the items, which then verify as
//! WITHDRAWN, and counts a strike; a counter-notice after the deadline is
//! refused; a false-delivery complaint is resolved by refund; a quantity
//! complaint is rejected by ruling; a consumer report is acknowledged by
//! the brand. Every refusal changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{Party, Signer, TestCluster, ok, veritrace};
use veritrace_core::gs1::{Gtin, Sgtin};
use veritrace_core::{SecretKey, vocab};
use veritrace_ledger::testing::TestParty;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::governance_action::Action as Gov;
use veritrace_proto::v1::transaction::Action;

const DAY_MS: i64 = 24 * 3600 * 1000;

fn now_ms() -> i64 {
    veritrace_service::now_ms()
}

fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    Some(veritrace_proto::timestamp_from_ms(ms))
}

fn digest(label: &str) -> Vec<u8> {
    blake3::hash(label.as_bytes()).as_bytes().to_vec()
}

fn party(id: &str) -> TestParty {
    TestParty { id: id.into(), key: SecretKey::from_seed_label(&format!("market/{id}")) }
}

fn of_node(cluster: &TestCluster, k: u64) -> TestParty {
    let p = Party::of_node(cluster, k);
    TestParty { id: p.id, key: p.key }
}

/// The party's key as `veritrace init` writes one (hex seed), for the CLI.
fn key_file(dir: &Path, who: &TestParty) -> PathBuf {
    let path = dir.join(format!("{}.key", who.id));
    std::fs::write(&path, hex::encode(who.key.to_bytes())).unwrap();
    path
}

fn propose(id: &str, action: Gov) -> Action {
    Action::ProposeGovernance(pb::ProposeGovernance {
        proposal_id: id.into(),
        action: Some(pb::GovernanceAction { action: Some(action) }),
        rationale: "marketplace scenario".into(),
    })
}

fn approve(id: &str) -> Action {
    Action::ApproveGovernance(pb::ApproveGovernance { proposal_id: id.into() })
}

fn admit(who: &TestParty, role: pb::PartyRole, prefix: Option<&str>) -> Gov {
    Gov::RegisterParty(pb::RegisterParty {
        party: Some(pb::Party {
            party_id: who.id.clone(),
            display_name: who.id.clone(),
            country: "CN".into(),
            roles: vec![role as i32],
            signing_keys: vec![pb::SigningKey {
                public_key: who.key.public().to_bytes().to_vec(),
                ..Default::default()
            }],
            gs1_company_prefixes: prefix.map(|p| vec![p.to_owned()]).unwrap_or_default(),
            ..Default::default()
        }),
    })
}

fn register(gtin: &Gtin, brand: &str) -> Action {
    Action::RegisterProduct(pb::RegisterProduct {
        gtin: gtin.to_string(),
        name: "Running shoe".into(),
        brand_party_id: brand.into(),
        ..Default::default()
    })
}

fn ship(item: &Sgtin, to: &str, tracking: &str) -> Action {
    Action::EpcisEvent(pb::EpcisEvent {
        event_time: ts(now_ms()),
        event_time_zone_offset: "+08:00".into(),
        biz_step: "shipping".into(),
        disposition: "in_transit".into(),
        biz_transaction_list: vec![pb::BizTransaction {
            r#type: vocab::BTT_TRACKING_NUMBER.into(),
            biz_transaction: tracking.into(),
        }],
        destination_list: vec![pb::Destination {
            r#type: "owning_party".into(),
            destination: format!("urn:veritrace:party:{to}"),
        }],
        event: Some(pb::epcis_event::Event::ObjectEvent(pb::ObjectEvent {
            action: pb::EpcisAction::Observe as i32,
            epc_list: vec![veritrace_ledger::testing::sgtin(item.gtin.as_str(), item.serial.as_str())],
            ..Default::default()
        })),
        ..Default::default()
    })
}

/// Submits and asserts the refusal `reason`, and that the tree did not grow.
async fn refused(net: &mut Signer, who: &TestParty, action: Action, reason: &str) {
    let before = net.client.status().await.unwrap().tree_size;
    let r = net.submit(who, action).await;
    assert_eq!((r.outcome, r.reason.as_str()), (pb::Outcome::Rejected as i32, reason), "{}", r.message);
    assert_eq!(net.client.status().await.unwrap().tree_size, before, "a refusal changes nothing");
}

/// Runs a `veritrace market ...` read as `reader` and parses its JSON.
fn market_json(endpoint: &str, reader: (&str, &Path), args: &[&str]) -> Value {
    let key = reader.1.to_str().unwrap();
    let mut all = vec!["market"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json", "--endpoint", endpoint, "--as-party", reader.0, "--party-key", key]);
    serde_json::from_str(&ok(&all)).unwrap()
}

/// Runs a signed `veritrace market ...` action as `signer`.
fn market_act(endpoint: &str, signer: (&str, &Path), args: &[&str]) -> std::process::Output {
    let key = signer.1.to_str().unwrap();
    let mut all = vec!["market"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--endpoint", endpoint, "--party", signer.0, "--key", key]);
    veritrace(&all)
}

fn leaf(r: &pb::Receipt) -> u64 {
    r.leaf_index
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketplace_stories_on_a_three_node_cluster() {
    // The network continues one started three years and a few days ago, so
    // its founders have been on it that long.
    let started = now_ms() - (3 * 365 + 5) * DAY_MS;
    let started = veritrace_epcis::format_time(&ts(started).unwrap());
    let mut cluster =
        TestCluster::init_with(3, 0, &["--genesis-time", &started], |c| c.api.verification.per_address_per_minute = 0);
    for id in 1..=3 {
        cluster.start(id);
    }
    let leader = cluster.leader(&[1, 2, 3]).await;
    let follower = if leader == 1 { 2 } else { 1 };
    let endpoint = cluster.api(follower).to_owned();
    let (veteran, lab, customs) = (of_node(&cluster, 1), of_node(&cluster, 2), of_node(&cluster, 3));
    let mut net = Signer { client: cluster.client(follower).await, network_id: cluster.network_id.clone(), nonce: 10 };
    let (newcomer, platform, samr, buyer) = (party("newcomer"), party("market"), party("samr"), party("buyer"));
    let keys = tempfile::tempdir().unwrap();
    let buyer_key = key_file(keys.path(), &buyer);
    let veteran_key = cluster.node_dir(1).join("party.key");

    // Governance (2 of 3 admins) admits a new brand, a platform, a market
    // regulator and a buyer.
    for (who, role, prefix) in [
        (&newcomer, pb::PartyRole::BrandOwner, Some("0712345")),
        (&platform, pb::PartyRole::Platform, None),
        (&samr, pb::PartyRole::Regulator, None),
        (&buyer, pb::PartyRole::Retailer, None),
    ] {
        let id = format!("admit-{}", who.id);
        net.ok(&veteran, propose(&id, admit(who, role, prefix))).await;
        net.ok(&lab, approve(&id)).await;
    }

    // The veteran's signals: a licence from the registry authority, an
    // audit by the inspection body, a bond held by the platform.
    let now = now_ms();
    let licence = Action::BusinessLicence(pb::BusinessLicence {
        licence_id: "lic-veteran".into(),
        subject_party_id: veteran.id.clone(),
        licence_number: "91310000MA1FL0000X".into(),
        registered_capital: Some(pb::Money { amount: "5000000".into(), currency: "CNY".into() }),
        business_scope: "footwear".into(),
        valid_from: ts(now - 1000 * DAY_MS),
        valid_until: ts(now + 1000 * DAY_MS),
        document_digest: digest("licence.pdf"),
    });
    refused(&mut net, &veteran, licence.clone(), "ROLE_NOT_PERMITTED").await;
    let licence_leaf = leaf(&net.ok(&samr, licence).await);
    let audit_leaf = leaf(
        &net.ok(
            &lab,
            Action::FactoryAudit(pb::FactoryAudit {
                audit_id: "aud-1".into(),
                subject_party_id: veteran.id.clone(),
                site_address: "Jinjiang, Fujian".into(),
                claimed: Some(pb::SiteFigures { staff_count: 500, floor_area_m2: 20000, production_lines: 8 }),
                attested: Some(pb::SiteFigures { staff_count: 480, floor_area_m2: 19000, production_lines: 8 }),
                passed: true,
                audited_at: ts(now - 20 * DAY_MS),
                valid_until: ts(now + 345 * DAY_MS),
                ..Default::default()
            }),
        )
        .await,
    );
    let bond_leaf = leaf(
        &net.ok(
            &platform,
            Action::DeliveryBond(pb::DeliveryBond {
                bond_id: "bond-1".into(),
                subject_party_id: veteran.id.clone(),
                amount: Some(pb::Money { amount: "200000".into(), currency: "CNY".into() }),
                valid_from: ts(now - DAY_MS),
                valid_until: None,
            }),
        )
        .await,
    );

    // The newcomer: a certificate that expired, and look-alikes of the
    // veteran's trademark.
    let cert_leaf = leaf(
        &net.ok(
            &lab,
            Action::Attestation(pb::Attestation {
                attestation_id: "cert-old".into(),
                scheme: pb::CertificationScheme::Ccc as i32,
                certificate_number: "2020011234567890".into(),
                result: pb::AttestationResult::Conformant as i32,
                subject_party_id: newcomer.id.clone(),
                valid_from: ts(now - 400 * DAY_MS),
                valid_until: ts(now - 30 * DAY_MS),
                document_digest: digest("ccc.pdf"),
                ..Default::default()
            }),
        )
        .await,
    );
    let fake_gtin = Gtin::parse(&veritrace_ledger::testing::gtin_under("0712345", 1)).unwrap();
    net.ok(&newcomer, register(&fake_gtin, &newcomer.id)).await;
    let support::Batch { items: fakes, action: commission } = support::batch(fake_gtin, "F", 4);
    net.ok(&newcomer, commission).await;
    net.ok(
        &veteran,
        Action::RegisterIpRight(pb::RegisterIpRight {
            right_id: "tm-1".into(),
            kind: pb::IpRightKind::Trademark as i32,
            number: "TM-4711".into(),
            jurisdiction: "CN".into(),
            valid_from: ts(now - 3000 * DAY_MS),
            evidence_digests: vec![digest("tm-certificate.pdf")],
            ..Default::default()
        }),
    )
    .await;
    // The trademark office (the regulator here) confirms the right: an
    // unanswered notice under it then stands.
    net.ok(
        &samr,
        Action::AttestIpRight(pb::AttestIpRight {
            holder_party_id: veteran.id.clone(),
            right_id: "tm-1".into(),
            note: "registration TM-4711 checked".into(),
        }),
    )
    .await;
    let gs = |i: usize| pb::GtinSerial { gtin: fake_gtin.to_string(), serial: fakes[i].0.serial.to_string() };
    let complaint = |id: &str, items: Vec<pb::GtinSerial>| {
        Action::FileIpComplaint(pb::FileIpComplaint {
            complaint_id: id.into(),
            right_id: "tm-1".into(),
            accused_party_id: newcomer.id.clone(),
            items,
            text: "the logo copies our registered mark".into(),
            evidence_digests: vec![digest("photos.zip")],
            ..Default::default()
        })
    };

    // The IP complaint: counter-notice, then the platform upholds it.
    let filed = leaf(&net.ok(&veteran, complaint("ipc-1", vec![gs(0), gs(1)])).await);
    let answer = |id: &str, kind: pb::IpAnswerKind| {
        Action::AnswerIpComplaint(pb::AnswerIpComplaint {
            complainant_party_id: veteran.id.clone(),
            complaint_id: id.into(),
            kind: kind as i32,
            text: "we hold a licence from the mark's owner".into(),
            evidence_digests: vec![digest("licence-letter.pdf")],
        })
    };
    refused(&mut net, &customs, answer("ipc-1", pb::IpAnswerKind::CounterNotice), "NOT_CASE_PARTY").await;
    // The accused counter-notifies and the platform rules, through the CLI
    // (evidence files are digested locally; only digests reach the ledger).
    let newcomer_key = key_file(keys.path(), &newcomer);
    let platform_key = key_file(keys.path(), &platform);
    let letter = keys.path().join("licence-letter.pdf");
    std::fs::write(&letter, b"%PDF- a licence letter").unwrap();
    let accused = (newcomer.id.as_str(), newcomer_key.as_path());
    let both = market_act(&endpoint, accused, &["answer-ip", &veteran.id, "ipc-1", "--counter-notice", "--accept"]);
    assert!(!both.status.success() && String::from_utf8_lossy(&both.stderr).contains("exactly one of"));
    let counter = market_act(
        &endpoint,
        accused,
        &[
            "answer-ip",
            &veteran.id,
            "ipc-1",
            "--counter-notice",
            "--text",
            "licensed",
            "--evidence",
            letter.to_str().unwrap(),
        ],
    );
    assert!(counter.status.success(), "{}", String::from_utf8_lossy(&counter.stderr));
    let rule = |decision: pb::CaseDecision| {
        Action::RuleIpComplaint(pb::RuleIpComplaint {
            complainant_party_id: veteran.id.clone(),
            complaint_id: "ipc-1".into(),
            decision: decision as i32,
            reason: "the letter does not cover this product".into(),
        })
    };
    refused(&mut net, &veteran, rule(pb::CaseDecision::Reject), "ROLE_NOT_PERMITTED").await;
    let ruled = market_act(
        &endpoint,
        (platform.id.as_str(), platform_key.as_path()),
        &["rule-ip", &veteran.id, "ipc-1", "--uphold", "--reason", "the letter does not cover this product"],
    );
    assert!(ruled.status.success(), "{}", String::from_utf8_lossy(&ruled.stderr));
    let ipc1 = net.client.ip_case(&veteran.id, "ipc-1").await.unwrap();
    assert_eq!(ipc1.steps[1].step, "counter_notice");
    assert_eq!((ipc1.status, ipc1.items_withdrawn), (pb::CaseStatus::Upheld as i32, 2));
    let withdrawn = net
        .client
        .verify_item(pb::VerifyItemRequest {
            item: Some(pb::verify_item_request::Item::ItemUri(fakes[0].0.to_digital_link())),
            code: fakes[0].1.clone(),
            place: Some(pb::Place { country: "CN".into(), city: "Shenzhen".into(), ..Default::default() }),
            channel: "test".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(withdrawn.verdict, pb::Verdict::Withdrawn as i32);
    assert_eq!(withdrawn.withdrawal_reason, pb::DecommissionReason::IpInfringement as i32);

    // The buyer compares the two suppliers (through the CLI, as itself).
    let reader = (buyer.id.as_str(), buyer_key.as_path());
    let old = market_json(&endpoint, reader, &["profile", &veteran.id]);
    assert!(old["days_on_network"].as_u64().unwrap() >= 3 * 365, "{old:#}");
    assert_eq!(old["licences"].as_array().unwrap().len(), 1);
    assert_eq!(old["licences"][0]["valid"], true);
    assert_eq!(old["licences"][0]["source"]["leaf_index"], licence_leaf);
    assert_eq!(old["licences"][0]["source"]["signer_party_id"], "samr");
    assert_eq!(old["audits"][0]["source"]["leaf_index"], audit_leaf);
    assert_eq!(old["audits"][0]["audit"]["attested"]["staff_count"], 480);
    assert_eq!(old["bonds"][0]["source"]["leaf_index"], bond_leaf);
    assert_eq!(old["bonds"][0]["valid"], true);
    assert_eq!(old["certificates"], serde_json::json!([]));
    assert_eq!(old["complaints"], serde_json::json!([]));
    assert_eq!((old["ip_strikes"].as_u64(), old["blacklist"].is_null()), (Some(0), true));

    let new = market_json(&endpoint, reader, &["profile", &newcomer.id]);
    assert_eq!(new["days_on_network"], 0);
    for signal in ["licences", "audits", "bonds"] {
        assert_eq!(new[signal], serde_json::json!([]), "{signal}");
    }
    let cert = &new["certificates"][0];
    assert_eq!((cert["expired"].as_bool(), cert["valid"].as_bool()), (Some(true), Some(false)));
    assert_eq!(cert["source"]["leaf_index"], cert_leaf);
    assert_eq!(new["complaints"].as_array().unwrap().len(), 1);
    let ip = &new["complaints"][0];
    assert_eq!((ip["kind"].as_str(), ip["filed"].as_u64(), ip["upheld"].as_u64()), (Some("ip"), Some(1), Some(1)));
    assert_eq!(ip["leaves"], serde_json::json!([filed]));
    assert_eq!(new["ip_strikes"], 1);

    // A counter-notice after the deadline is refused: the policy gives 2 s.
    let policy = pb::MarketplacePolicy {
        ip_answer_window: Some(prost_types::Duration { seconds: 2, nanos: 0 }),
        ..Default::default()
    };
    let update = Gov::UpdateMarketplacePolicy(pb::UpdateMarketplacePolicy { marketplace_policy: Some(policy) });
    net.ok(&veteran, propose("mp-short", update)).await;
    net.ok(&lab, approve("mp-short")).await;
    net.ok(&veteran, complaint("ipc-2", vec![gs(2)])).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    refused(&mut net, &newcomer, answer("ipc-2", pb::IpAnswerKind::CounterNotice), "DEADLINE_PASSED").await;
    let case = market_json(&endpoint, reader, &["case", "ip", &veteran.id, "ipc-2"]);
    assert_eq!((case["status"].as_str(), case["closed_by"].as_str()), (Some("upheld"), Some("lapse")), "{case:#}");

    // A false delivery, resolved by refund (the buyer and the seller
    // through the CLI).
    // party-1's GS1 Company Prefix, as `veritrace init` gives it.
    let shoe = Gtin::parse(&veritrace_ledger::testing::gtin_under("0614141", 2)).unwrap();
    net.ok(&veteran, register(&shoe, &veteran.id)).await;
    let support::Batch { items: shoes, action: commission } = support::batch(shoe, "S", 2);
    net.ok(&veteran, commission).await;
    let tracking = format!("{}swift:1Z999", vocab::TRACKING_PREFIX);
    net.ok(&veteran, ship(&shoes[0].0, &buyer.id, &tracking)).await;
    let signer = (buyer.id.as_str(), buyer_key.as_path());
    let file = |tracking: &str| {
        market_act(
            &endpoint,
            signer,
            &[
                "file-trade",
                "--id",
                "fd-1",
                "--seller",
                &veteran.id,
                "--order",
                "urn:epcglobal:cbv:bt:0614141000005:PO-1",
            ]
            .into_iter()
            .chain(["--kind", "false-delivery", "--tracking", tracking, "--text", "nothing arrived"])
            .collect::<Vec<_>>(),
        )
    };
    let unknown = file(&format!("{}swift:NOPE", vocab::TRACKING_PREFIX));
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("NOT_FOUND"));
    assert!(file(&tracking).status.success());
    let seller = (veteran.id.as_str(), veteran_key.as_path());
    let answered = market_act(&endpoint, seller, &["answer-trade", &buyer.id, "fd-1", "--refund", "PAY-2024-77"]);
    assert!(answered.status.success(), "{}", String::from_utf8_lossy(&answered.stderr));
    assert!(market_act(&endpoint, signer, &["reply-trade", "fd-1", "--accept"]).status.success());
    let case = market_json(&endpoint, reader, &["case", "trade", &buyer.id, "fd-1"]);
    assert_eq!(
        (case["status"].as_str(), case["answer"]["refund_reference"].as_str()),
        (Some("resolved"), Some("PAY-2024-77"))
    );

    // A quantity complaint, disputed, escalated, rejected by the platform.
    let qty = Action::FileTradeComplaint(pb::FileTradeComplaint {
        complaint_id: "q-1".into(),
        seller_party_id: veteran.id.clone(),
        order: "urn:epcglobal:cbv:bt:0614141000005:PO-2".into(),
        kind: pb::TradeComplaintKind::QuantityShort as i32,
        quantity_ordered: 100,
        quantity_received: 80,
        text: "20 pairs missing".into(),
        ..Default::default()
    });
    net.ok(&buyer, qty).await;
    net.ok(
        &veteran,
        Action::AnswerTradeComplaint(pb::AnswerTradeComplaint {
            buyer_party_id: buyer.id.clone(),
            complaint_id: "q-1".into(),
            kind: pb::TradeAnswerKind::Dispute as i32,
            text: "the carrier weighed 100 pairs".into(),
            ..Default::default()
        }),
    )
    .await;
    net.ok(
        &buyer,
        Action::ReplyTradeComplaint(pb::ReplyTradeComplaint {
            complaint_id: "q-1".into(),
            kind: pb::TradeReplyKind::Escalate as i32,
            text: "please look at our receiving photos".into(),
        }),
    )
    .await;
    let ruling = || {
        Action::RuleTradeComplaint(pb::RuleTradeComplaint {
            buyer_party_id: "buyer".into(),
            complaint_id: "q-1".into(),
            decision: pb::CaseDecision::Reject as i32,
            reason: "the carrier's weight shows 100 pairs".into(),
            remedy: String::new(),
        })
    };
    refused(&mut net, &buyer, ruling(), "ROLE_NOT_PERMITTED").await;
    net.ok(&platform, ruling()).await;
    let q = net.client.trade_case(&buyer.id, "q-1").await.unwrap();
    let steps: Vec<&str> = q.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!((q.status, steps), (pb::CaseStatus::Rejected as i32, vec!["filed", "dispute", "escalate", "rejected"]));

    // A consumer report reaches the brand, which acknowledges it.
    net.ok(
        &platform,
        Action::Complaint(pb::Complaint {
            complaint_id: "report-1".into(),
            subject: Some(pb::complaint::Subject::Item(pb::GtinSerial {
                gtin: shoe.to_string(),
                serial: shoes[1].0.serial.to_string(),
            })),
            category: pb::ComplaintCategory::SuspectedCounterfeit as i32,
            ..Default::default()
        }),
    )
    .await;
    let reports =
        |v: &Value| v["complaints"].as_array().unwrap().iter().find(|c| c["kind"] == "consumer_report").cloned();
    let before = reports(&market_json(&endpoint, reader, &["profile", &veteran.id])).expect("routed to the brand");
    assert_eq!((before["open"].as_u64(), before["settled"].as_u64()), (Some(1), Some(0)));
    let acked = market_act(&endpoint, seller, &["acknowledge", &platform.id, "report-1", "--note", "sample requested"]);
    assert!(acked.status.success(), "{}", String::from_utf8_lossy(&acked.stderr));
    let after = reports(&market_json(&endpoint, reader, &["profile", &veteran.id])).unwrap();
    assert_eq!((after["open"].as_u64(), after["settled"].as_u64()), (Some(0), Some(1)));

    // Every node holds the same ledger.
    let size = net.client.status().await.unwrap().tree_size;
    cluster.converge(&[1, 2, 3], size).await;
}
