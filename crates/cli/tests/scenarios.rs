//! The seed stories on a real 3-node cluster (processes, RocksDB, libp2p,
//! gRPC over TCP): an imported cosmetics batch from brand to consumer, a
//! copied label scanned in three cities, a shipment whose tracking number
//! no carrier confirmed, a pallet carried to its items, a suspended
//! party, a wrong code guessed until lock-out, and a recalled batch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use prost::Message as _;
use support::{Party, TestCluster, batch};
use veritrace_client::Client;
use veritrace_core::gs1::{Gtin, Serial, Sgtin};
use veritrace_core::receipt::verify_receipt;
use veritrace_core::{Envelope, SecretKey, vocab};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

struct Net {
    client: Client,
    network_id: String,
    nonce: u64,
}

struct Who {
    id: String,
    key: SecretKey,
}

impl Net {
    fn sign(&mut self, who: &Who, action: Action) -> pb::SignedEnvelope {
        self.nonce += 1;
        let tx = pb::Transaction {
            party_id: who.id.clone(),
            nonce: self.nonce,
            network_id: self.network_id.clone(),
            action: Some(action),
            ..Default::default()
        };
        pb::SignedEnvelope::decode(Envelope::sign_transaction(&tx, &who.key).bytes()).unwrap()
    }

    async fn submit(&mut self, who: &Who, action: Action) -> pb::Receipt {
        let env = self.sign(who, action);
        self.client.submit(vec![env]).await.unwrap().remove(0)
    }

    async fn ok(&mut self, who: &Who, action: Action) -> pb::Receipt {
        let r = self.submit(who, action).await;
        assert_eq!(r.outcome, pb::Outcome::Applied as i32, "{} refused: {} {}", who.id, r.reason, r.message);
        r
    }

    async fn refused(&mut self, who: &Who, action: Action, reason: &str) {
        let before = self.client.status().await.unwrap().tree_size;
        let r = self.submit(who, action).await;
        assert_eq!((r.outcome, r.reason.as_str()), (pb::Outcome::Rejected as i32, reason), "{}", r.message);
        assert_eq!(self.client.status().await.unwrap().tree_size, before, "a refusal changes nothing");
    }

    async fn verify(
        &self,
        item: &Sgtin,
        code: &str,
        city: &str,
        country: &str,
    ) -> Result<pb::VerifyItemResponse, veritrace_client::ClientError> {
        self.client
            .verify_item(pb::VerifyItemRequest {
                item: Some(pb::verify_item_request::Item::ItemUri(item.to_digital_link())),
                code: code.into(),
                place: Some(pb::Place { country: country.into(), city: city.into(), ..Default::default() }),
                channel: "test".into(),
                ..Default::default()
            })
            .await
    }
}

fn party(p: Party) -> Who {
    Who { id: p.id, key: p.key }
}

fn event(step: &str, epcs: &[String], tracking: Option<(&str, &str)>, ship_to: Option<&str>) -> Action {
    Action::EpcisEvent(pb::EpcisEvent {
        event_time: Some(veritrace_proto::timestamp_from_ms(1_780_000_000_000)),
        event_time_zone_offset: "+08:00".into(),
        biz_step: step.into(),
        biz_transaction_list: tracking
            .map(|(c, n)| {
                vec![pb::BizTransaction {
                    r#type: vocab::BTT_TRACKING_NUMBER.into(),
                    biz_transaction: format!("{}{c}:{n}", vocab::TRACKING_PREFIX),
                }]
            })
            .unwrap_or_default(),
        destination_list: ship_to
            .map(|p| {
                vec![pb::Destination { r#type: "owning_party".into(), destination: format!("urn:veritrace:party:{p}") }]
            })
            .unwrap_or_default(),
        event: Some(pb::epcis_event::Event::ObjectEvent(pb::ObjectEvent {
            action: pb::EpcisAction::Observe as i32,
            epc_list: epcs.to_vec(),
            ..Default::default()
        })),
        ..Default::default()
    })
}

fn admit(id: &str, key: &SecretKey, role: pb::PartyRole) -> Action {
    Action::ProposeGovernance(pb::ProposeGovernance {
        proposal_id: format!("admit-{id}"),
        rationale: "scenario".into(),
        action: Some(pb::GovernanceAction {
            action: Some(pb::governance_action::Action::RegisterParty(pb::RegisterParty {
                party: Some(pb::Party {
                    party_id: id.into(),
                    display_name: id.into(),
                    country: "CN".into(),
                    roles: vec![role as i32],
                    signing_keys: vec![pb::SigningKey {
                        public_key: key.public().to_bytes().to_vec(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            })),
        }),
    })
}

fn approve(id: &str) -> Action {
    Action::ApproveGovernance(pb::ApproveGovernance { proposal_id: id.into() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_stories_on_a_three_node_cluster() {
    // One test client verifies many items: no per-address limit here
    // (tests/code_secrecy.rs tests it).
    let mut cluster = TestCluster::init(3, 0, |c| c.api.verification.per_address_per_minute = 0);
    for id in 1..=3 {
        cluster.start(id);
    }
    let leader = cluster.leader(&[1, 2, 3]).await;
    let follower = if leader == 1 { 2 } else { 1 };
    let (brand, lab, customs) =
        (party(Party::of_node(&cluster, 1)), party(Party::of_node(&cluster, 2)), party(Party::of_node(&cluster, 3)));
    let mut net = Net { client: cluster.client(follower).await, network_id: cluster.network_id.clone(), nonce: 1 };
    let carrier = Who { id: "swift-logistics".into(), key: SecretKey::from_seed_label("scenario/carrier") };
    let shop = Who { id: "shopnow".into(), key: SecretKey::from_seed_label("scenario/shop") };
    let rogue = Who { id: "rogue-seller".into(), key: SecretKey::from_seed_label("scenario/rogue") };

    // Governance: 2 of 3 admins admit a carrier, a platform and a retailer.
    for (who, role) in
        [(&carrier, pb::PartyRole::Logistics), (&shop, pb::PartyRole::Platform), (&rogue, pb::PartyRole::Retailer)]
    {
        net.ok(&brand, admit(&who.id, &who.key, role)).await;
        net.ok(&lab, approve(&format!("admit-{}", who.id))).await;
    }
    net.refused(&lab, approve("admit-shopnow"), "PROPOSAL_NOT_OPEN").await;
    let stranger = Who { id: "stranger".into(), key: SecretKey::from_seed_label("scenario/stranger") };
    net.refused(&stranger, approve("admit-shopnow"), "UNKNOWN_PARTY").await;

    // The cosmetics batch: brand -> inspection -> customs -> carrier -> platform.
    let gtin = Gtin::from_body("061414100001").unwrap();
    net.ok(
        &brand,
        Action::RegisterProduct(pb::RegisterProduct {
            gtin: gtin.to_string(),
            brand_party_id: brand.id.clone(),
            name: "Rose Night Cream".into(),
            origin_country: "FR".into(),
            ..Default::default()
        }),
    )
    .await;
    let lot1 = batch(gtin, "L1", 6);
    net.ok(&brand, lot1.action.clone()).await;
    let uris: Vec<String> = lot1.items.iter().map(|(s, _)| s.to_digital_link()).collect();
    net.ok(
        &lab,
        Action::Attestation(pb::Attestation {
            attestation_id: "QT-1".into(),
            scheme: pb::CertificationScheme::GbT as i32,
            scheme_detail: "GB/T 29665-2013".into(),
            certificate_number: "QT/2026/00001".into(),
            result: pb::AttestationResult::Conformant as i32,
            valid_from: Some(veritrace_proto::timestamp_from_ms(0)),
            subject_items: vec![pb::ItemSet { gtin: gtin.to_string(), lots: vec!["L1".into()], serials: vec![] }],
            ..Default::default()
        }),
    )
    .await;
    net.ok(&lab, event("inspecting", &uris, None, None)).await;
    net.ok(&customs, event(vocab::CUSTOMS_DECLARING, &uris, None, None)).await;
    // Scanned while in customs custody: a clone signal for that item.
    let (in_customs, in_customs_code) = &lot1.items[5];
    let early = net.verify(in_customs, in_customs_code, "Shenzhen", "CN").await.unwrap();
    assert_eq!(early.verdict, pb::Verdict::SuspectedClone as i32);
    assert!(early.clone_signals.iter().any(|s| s == "SCANNED_BEFORE_RETAIL"), "{:?}", early.clone_signals);
    net.ok(&customs, event(vocab::CUSTOMS_CLEARING, &uris, None, None)).await;
    let trk = Some(("swift-logistics", "SF0001"));
    net.refused(&carrier, event("shipping", &uris, trk, Some("shopnow")), "ROLE_NOT_PERMITTED").await;
    net.refused(&rogue, event("shipping", &uris, trk, Some("shopnow")), "NOT_CUSTODIAN").await;
    net.ok(&brand, event("shipping", &uris, trk, Some("shopnow"))).await;
    net.ok(&carrier, event("departing", &uris, trk, None)).await;
    net.ok(&carrier, event("arriving", &uris, trk, None)).await;
    net.refused(&rogue, event("receiving", &uris, None, None), "WRONG_RECIPIENT").await;
    net.ok(&shop, event("receiving", &uris, None, None)).await;
    net.ok(&shop, event("retail_selling", &uris[..1], None, None)).await;

    // The consumer scans item 0: genuine, with the journey and a receipt checked offline.
    let (item, code) = &lot1.items[0];
    let first = net.verify(item, code, "Hangzhou", "CN").await.unwrap();
    assert_eq!(first.verdict, pb::Verdict::GenuineFirstScan as i32, "{first:?}");
    let steps: Vec<(&str, &str)> = first
        .journey
        .iter()
        .map(|s| {
            (
                s.party.as_ref().unwrap().party_id.as_str(),
                if s.biz_step.is_empty() { s.action.as_str() } else { s.biz_step.as_str() },
            )
        })
        .collect();
    for want in [
        ("party-1", "commissioning"),
        ("party-2", "inspecting"),
        ("party-3", vocab::CUSTOMS_CLEARING),
        ("party-1", "shipping"),
        ("swift-logistics", "arriving"),
        ("shopnow", "retail_selling"),
    ] {
        assert!(steps.contains(&want), "journey lacks {want:?}: {steps:?}");
    }
    let shipping = first.journey.iter().find(|s| s.biz_step == "shipping").unwrap();
    assert!(shipping.tracking_numbers.iter().all(|t| t.confirmed), "the carrier confirmed SF0001");
    let inspection = first.journey.iter().find(|s| s.biz_step == "inspecting").unwrap();
    assert_eq!(inspection.certificates[0].certificate_number, "QT/2026/00001");
    assert_eq!(first.certificates.len(), 1);
    let bytes = first.scan_envelope.as_ref().unwrap().encode_to_vec();
    let checked = verify_receipt(first.receipt.as_ref().unwrap(), &bytes).expect("receipt verifies offline");
    let mut tampered = first.receipt.clone().unwrap();
    tampered.leaf_index += 1;
    assert!(verify_receipt(&tampered, &bytes).is_err(), "a wrong leaf index must not verify");
    assert!(checked.tree_head.head.tree_size > checked.leaf.leaf_index);
    // ListEnvelopes: the item's own EPCIS events, two per page, in log order.
    let mut listed = Vec::new();
    let mut token = String::new();
    loop {
        let page = net
            .client
            .list_envelopes(pb::ListEnvelopesRequest {
                item: Some(pb::GtinSerial { gtin: gtin.to_string(), serial: item.serial.to_string() }),
                actions: vec!["epcis_event".into()],
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap();
        listed.extend(page.entries.iter().map(|e| e.receipt.as_ref().unwrap().leaf_index));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let epcis_steps: Vec<u64> =
        first.journey.iter().filter(|s| s.action == "epcis_event").map(|s| s.leaf_index).collect();
    assert_eq!(listed, epcis_steps, "direct EPCIS events of the item, in log order");
    let again = net.verify(item, code, "Hangzhou", "CN").await.unwrap();
    assert_eq!(again.verdict, pb::Verdict::GenuineSeenBefore as i32);
    assert_eq!(again.scan_stats.unwrap().count, 2);

    // The same label copied onto fakes and scanned in three cities.
    let (copied, copied_code) = &lot1.items[1];
    let mut seen = Vec::new();
    for (city, country) in [("Shanghai", "CN"), ("Paris", "FR"), ("New York", "US")] {
        let a = net.verify(copied, copied_code, city, country).await.unwrap();
        seen.push((a.verdict, a.clone_signals));
    }
    assert_eq!(seen[0].0, pb::Verdict::GenuineFirstScan as i32);
    assert_eq!(seen[2].0, pb::Verdict::SuspectedClone as i32, "{seen:?}");
    assert!(seen[2].1.iter().any(|s| s == "MANY_PLACES"));

    // A seller's shipment with a tracking number no carrier confirmed.
    let (resold, _) = &lot1.items[2];
    net.ok(&shop, event("shipping", &[resold.to_digital_link()], Some(("swift-logistics", "FAKE-42")), None)).await;
    let history = net.client.item_history(&resold.to_digital_link()).await.unwrap();
    let unconfirmed = history.steps.iter().rev().find(|s| s.biz_step == "shipping").unwrap();
    assert_eq!(unconfirmed.party.as_ref().unwrap().party_id, "shopnow");
    assert!(!unconfirmed.tracking_numbers[0].confirmed, "nobody confirmed FAKE-42");

    // A pallet: events on it reach the items packed in it.
    let lot2 = batch(gtin, "L2", 2);
    net.ok(&brand, lot2.action.clone()).await;
    let pallet = "urn:epc:id:sscc:0614141.1234567890".to_string();
    let packed: Vec<String> = lot2.items.iter().map(|(s, _)| s.to_digital_link()).collect();
    net.ok(
        &brand,
        Action::EpcisEvent(pb::EpcisEvent {
            event_time: Some(veritrace_proto::timestamp_from_ms(1_780_000_000_000)),
            event_time_zone_offset: "+08:00".into(),
            biz_step: "packing".into(),
            event: Some(pb::epcis_event::Event::AggregationEvent(pb::AggregationEvent {
                action: pb::EpcisAction::Add as i32,
                parent_id: pallet.clone(),
                child_epcs: packed.clone(),
                ..Default::default()
            })),
            ..Default::default()
        }),
    )
    .await;
    let p = std::slice::from_ref(&pallet);
    net.ok(&brand, event("shipping", p, Some(("swift-logistics", "SF0002")), Some("shopnow"))).await;
    net.ok(&carrier, event("departing", p, Some(("swift-logistics", "SF0002")), None)).await;
    net.ok(&shop, event("receiving", p, None, None)).await;
    net.ok(&shop, event("retail_selling", &packed[..1], None, None)).await;
    let (boxed, boxed_code) = &lot2.items[0];
    let v = net.verify(boxed, boxed_code, "Suzhou", "CN").await.unwrap();
    assert_eq!(v.verdict, pb::Verdict::GenuineFirstScan as i32);
    let via: Vec<&pb::JourneyStep> = v.journey.iter().filter(|s| s.container_id == pallet).collect();
    assert!(
        via.iter().any(|s| s.biz_step == "shipping") && via.iter().any(|s| s.biz_step == "receiving"),
        "{:?}",
        v.journey
    );

    // One strike: the admins suspend the rogue seller; its envelopes are refused.
    net.ok(
        &brand,
        Action::ProposeGovernance(pb::ProposeGovernance {
            proposal_id: "suspend-rogue".into(),
            rationale: "sold counterfeits".into(),
            action: Some(pb::GovernanceAction {
                action: Some(pb::governance_action::Action::SuspendParty(pb::SuspendParty {
                    party_id: rogue.id.clone(),
                    reason: "sold counterfeits".into(),
                })),
            }),
        }),
    )
    .await;
    net.ok(&customs, approve("suspend-rogue")).await;
    let complaint = Action::Complaint(pb::Complaint {
        complaint_id: "c-1".into(),
        subject: Some(pb::complaint::Subject::Gtin(gtin.to_string())),
        category: pb::ComplaintCategory::QualityDefect as i32,
        ..Default::default()
    });
    net.refused(&rogue, complaint, "PARTY_SUSPENDED").await;
    let profile = net.client.party_profile("rogue-seller").await.unwrap();
    assert_eq!(profile.suspensions.len(), 1);

    // A wrong code guessed repeatedly spends the item's guesses, even for the right code.
    let (guessed, right) = &lot1.items[3];
    for n in 0..5 {
        let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1 + n) % 1_000_000);
        let a = net.verify(guessed, &wrong, "Lyon", "FR").await.unwrap();
        assert_eq!(a.verdict, pb::Verdict::InvalidCode as i32);
        assert!(a.journey.is_empty(), "a wrong code shows no journey");
    }
    let locked = net.verify(guessed, right, "Lyon", "FR").await.expect_err("locked out");
    assert_eq!(locked.reason(), Some("CODE_ATTEMPTS_EXHAUSTED"), "{locked}");
    let bad = net.verify(item, "12ab", "Lyon", "FR").await.expect_err("not a code");
    assert_eq!(bad.reason(), Some("INVALID_ARGUMENT"), "{bad}");

    // A recalled batch: verification says so, and nothing more is sold.
    net.ok(
        &brand,
        Action::Recall(pb::Recall {
            recall_id: "R-1".into(),
            gtin: gtin.to_string(),
            lots: vec!["L1".into()],
            reason: "contaminated".into(),
            severity: pb::RecallSeverity::Serious as i32,
            consumer_instructions: "stop using it".into(),
            ..Default::default()
        }),
    )
    .await;
    let (recalled, recalled_code) = &lot1.items[4];
    let r = net.verify(recalled, recalled_code, "Hangzhou", "CN").await.unwrap();
    assert_eq!(r.verdict, pb::Verdict::Recalled as i32);
    assert_eq!(r.recalls[0].recall.as_ref().unwrap().recall_id, "R-1");
    net.refused(&shop, event("retail_selling", &[recalled.to_digital_link()], None, None), "ITEM_RECALLED").await;

    // Bad identifiers get a machine-readable reason.
    let e = net
        .client
        .verify_item(pb::VerifyItemRequest {
            item: Some(pb::verify_item_request::Item::ItemUri("https://id.gs1.org/01/123/21/x".into())),
            code: "123456".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad id");
    assert_eq!(e.reason(), Some("INVALID_ITEM_ID"));
    let unknown = Sgtin::new(gtin, Serial::parse("NEVER").unwrap());
    assert_eq!(net.verify(&unknown, "123456", "", "").await.unwrap().verdict, pb::Verdict::UnknownItem as i32);

    // The integrator commands' `-o json` is the one dialect: snake_case names, hex bytes, enum
    // words without their type prefix, numbers, RFC 3339 times, null for what is not set.
    let api = cluster.api(follower).to_owned();
    let json = |args: &[&str]| -> serde_json::Value {
        let out = support::ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("veritrace {args:?}: not JSON ({e}):\n{out}"))
    };
    // A verdict other than genuine exits 10 + its number: RECALLED is 6.
    let recalled_json = support::exits(
        16,
        &[
            "verify",
            "--endpoint",
            &api,
            "--item",
            &recalled.to_digital_link(),
            "--code",
            recalled_code,
            "--country",
            "CN",
            "-o",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&recalled_json).expect("verify -o json");
    assert_eq!(v["verdict"], "recalled", "{v}");
    assert_eq!(v["recalls"][0]["recall"]["recall_id"], "R-1", "{v}");
    assert_eq!(v["recalls"][0]["recall"]["severity"], "serious", "{v}");
    assert_eq!(v["item"]["serial"], recalled.serial.to_string(), "{v}");
    let receipt = &v["receipt"];
    assert_eq!(receipt["outcome"], "applied", "{v}");
    assert_eq!(hex::decode(receipt["envelope_id"].as_str().unwrap()).map(|id| id.len()), Ok(32), "{v}");
    assert!(receipt["leaf_index"].is_u64() && receipt["inclusion"]["tree_size"].is_u64(), "{v}");
    let committed: prost_types::Timestamp = receipt["commit_time"].as_str().unwrap().parse().expect("RFC 3339");
    assert!(committed.seconds > 1_700_000_000, "{v}");
    assert!(hex::decode(v["scan_envelope"]["payload"].as_str().unwrap()).is_ok(), "{v}");
    // The receipt's head is co-signed, and the CLI says by whom.
    assert!(receipt["tree_head"]["cosignatures"].as_array().is_some_and(|c| c.len() >= 2), "{v}");
    let link = recalled.to_digital_link();
    let table = support::exits(16, &["verify", "--endpoint", &api, "--item", &link, "--code", recalled_code]);
    assert!(table.contains("receipt verified offline") && table.contains("co-signed by party-"), "{table}");

    // History round-trips against the gRPC answer.
    let uri = item.to_digital_link();
    let h = json(&["history", "--endpoint", &api, "--item", &uri, "-o", "json"]);
    let want = net.client.item_history(&uri).await.unwrap();
    assert_eq!(h["state"], "recalled", "{h}");
    let steps = h["steps"].as_array().unwrap();
    assert_eq!(steps.len(), want.steps.len(), "{h}");
    for (got, want) in steps.iter().zip(&want.steps) {
        assert_eq!(got["envelope_id"], hex::encode(&want.envelope_id), "{h}");
        assert_eq!(got["leaf_index"].as_u64(), Some(want.leaf_index), "{h}");
        assert_eq!(got["biz_step"], want.biz_step.as_str(), "{h}");
        assert_eq!(got["party"]["party_id"], want.party.as_ref().unwrap().party_id.as_str(), "{h}");
    }

    let p = json(&["party", "show", "--endpoint", &api, "rogue-seller", "-o", "json"]);
    assert_eq!(p["party"]["status"], "suspended", "{p}");
    assert_eq!(p["party"]["roles"], serde_json::json!(["retailer"]), "{p}");
    assert_eq!(p["suspensions"][0]["reason"], "sold counterfeits", "{p}");
    assert_eq!(p["suspensions"][0]["reinstated_at"], serde_json::Value::Null, "{p}");
    assert!(p["joined_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{p}");
    // Without -o json, `party show` is a table for people.
    let table = support::ok(&["party", "show", "--endpoint", &api, "rogue-seller"]);
    assert!(table.starts_with("party:      rogue-seller ("), "{table}");
    assert!(table.contains("status:     SUSPENDED") && table.contains("roles:      RETAILER"), "{table}");
    assert!(table.contains("sold counterfeits") && !table.contains("reinstated"), "{table}");

    let list = json(&["party", "list", "--endpoint", &api, "--include-suspended", "-o", "json"]);
    let parties = list["parties"].as_array().unwrap();
    let carrier = parties.iter().find(|p| p["party_id"] == "swift-logistics").expect("the carrier is listed");
    assert_eq!(carrier["roles"], serde_json::json!(["logistics"]), "{list}");
    assert_eq!(carrier["status"], "active", "{list}");
    let key = carrier["signing_keys"][0]["public_key"].as_str().unwrap();
    assert_eq!(hex::decode(key).map(|k| k.len()), Ok(32), "{list}");
    assert!(carrier["signing_keys"][0]["status"].as_str().is_some_and(|w| w == w.to_lowercase()), "{list}");
    assert!(parties.iter().any(|p| p["party_id"] == "rogue-seller" && p["status"] == "suspended"), "{list}");
}
