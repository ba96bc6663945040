//! Attestations, recalls, complaints, consumer scans; and determinism of
//! the whole domain across replicas.

use veritrace_core::Reason;
use veritrace_core::scan as rules;
use veritrace_ledger::testing::*;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

fn stocked() -> (Network, String) {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    net.ok("brand", commission(&g, "L1", &["S1", "S2", "S3"]));
    (net, g)
}

fn attest(a: pb::Attestation) -> Action {
    Action::Attestation(a)
}

#[test]
fn attestations_come_from_inspection_parties_with_complete_fields() {
    let (mut net, g) = stocked();
    net.ok("lab", attest(attestation("cert-1", &g)));
    assert_eq!(net.refused("lab", attest(attestation("cert-1", &g))), Reason::AlreadyExists);
    assert_eq!(net.refused("brand", attest(attestation("cert-2", &g))), Reason::NotPermitted);

    let mut gb = attestation("gb-1", &g);
    gb.scheme = pb::CertificationScheme::GbT as i32;
    assert_eq!(net.refused("lab", attest(gb.clone())), Reason::InvalidAction, "GB/T needs the standard number");
    gb.scheme_detail = "GB/T 18401-2010".into();
    net.ok("lab", attest(gb));

    assert_eq!(net.refused("lab", attest(attestation("unreg", &gtin(2)))), Reason::ProductNotRegistered);
    let mut on_items = attestation("items-1", &g);
    on_items.subject_gtins.clear();
    on_items.subject_items = vec![pb::ItemSet { gtin: g.clone(), lots: vec![], serials: vec!["S9".into()] }];
    assert_eq!(net.refused("lab", attest(on_items.clone())), Reason::ItemNotCommissioned);
    on_items.subject_items[0].serials = vec!["S1".into()];
    let r = net.ok("lab", attest(on_items));
    let history = net.ledger.leaves_by_item(&epc_key(&sgtin(&g, "S1")), None, 10).expect("page");
    assert!(history.contains(&r.leaf_index.expect("leaf")));

    // Revocation by its signer only.
    let revoke =
        |id: &str| Action::RevokeAttestation(pb::RevokeAttestation { attestation_id: id.into(), reason: "x".into() });
    assert_eq!(net.refused("lab", revoke("nope")), Reason::NotFound);
    net.ok("lab", revoke("cert-1"));
    assert_eq!(net.refused("lab", revoke("cert-1")), Reason::InvalidAction);
}

#[test]
fn recalls_come_from_the_owning_brand_or_a_regulator() {
    let (mut net, g) = stocked();
    assert_eq!(net.refused("brand-2", recall("r1", &g)), Reason::GtinNotOwned);
    assert_eq!(net.refused("shop", recall("r1", &g)), Reason::NotPermitted);
    assert_eq!(net.refused("regulator", recall("r1", &gtin(2))), Reason::ProductNotRegistered);
    net.ok("regulator", recall("r1", &g));
    assert_eq!(net.refused("regulator", recall("r1", &g)), Reason::AlreadyExists);
    // The same id is the brand's own namespace.
    net.ok("brand", recall("r1", &g));
    assert_eq!(net.refused("brand", ship(&[&sgtin(&g, "S1")], "shop", None)), Reason::ItemRecalled);
    net.ok("brand", close_recall("r1"));
    assert_eq!(
        net.refused("brand", ship(&[&sgtin(&g, "S1")], "shop", None)),
        Reason::ItemRecalled,
        "the regulator's recall stands"
    );
    net.ok("regulator", close_recall("r1"));
    net.ok("brand", ship(&[&sgtin(&g, "S1")], "shop", None));
    assert_eq!(net.refused("regulator", close_recall("r1")), Reason::InvalidAction, "already closed");
}

#[test]
fn a_recall_with_a_future_effective_time_waits() {
    let (mut net, g) = stocked();
    let mut r = match recall("later", &g) {
        Action::Recall(r) => r,
        _ => unreachable!(),
    };
    let at = net.next_header().commit_time_ms / 1000 + 3600;
    r.effective_time = Some(prost_types::Timestamp { seconds: at, nanos: 0 });
    net.ok("brand", Action::Recall(r));
    net.ok("brand", step("storing", &[&sgtin(&g, "S1")]));
    net.advance(3600 * 1000);
    assert_eq!(net.refused("brand", step("storing", &[&sgtin(&g, "S1")])), Reason::ItemRecalled);
}

#[test]
fn consumer_scans_are_checked_and_counted() {
    let (mut net, g) = stocked();
    let paris = || place("FR", "Paris", 48.86, 2.35);
    assert_eq!(net.refused("app", scan(&g, "S1", place("FR", "Paris", 48.8566, 2.3522))), Reason::InvalidAction);
    let mut half = paris();
    half.longitude = None;
    assert_eq!(net.refused("app", scan(&g, "S1", half)), Reason::InvalidAction);
    assert_eq!(net.refused("app", scan(&g, "S1", place("FR", "", 91.0, 0.0))), Reason::InvalidAction);
    assert_eq!(net.refused("app", scan(&g, "S99", paris())), Reason::ItemNotCommissioned);
    for n in 1..=2 {
        let scan = net.verify_matched("admin-a", &g, "S1", &format!("request-000000000{n}"), None, paris(), None);
        assert_eq!(scan.outcome, veritrace_ledger::Outcome::Applied);
    }
    let item = net.item(&g, "S1").expect("item");
    let stats = item.scans.expect("scans");
    assert_eq!(stats.count, 2);
    assert_eq!(stats.places, vec!["FR/paris".to_string()]);
    // Still with the brand: scanned before retail.
    assert!(stats.signals.iter().any(|s| s == rules::SCANNED_BEFORE_RETAIL), "{:?}", stats.signals);
    let log = item.attempts.expect("attempts");
    assert_eq!((log.total, log.matched), (2, 2));
}

#[test]
fn a_label_scanned_in_three_cities_is_flagged() {
    let (mut net, g) = stocked();
    // Through the shop to a consumer first.
    let item = sgtin(&g, "S2");
    net.ok("brand", ship(&[&item], "shop", None));
    net.ok("shop", step("receiving", &[&item]));
    net.ok("shop", step("retail_selling", &[&item]));
    let mut n = 0;
    let mut verify = |net: &mut Network, p: pb::Place, verdict: pb::Verdict| {
        n += 1;
        let scan = net.verify_matched("admin-a", &g, "S2", &format!("request-{n:010}"), None, p, Some(verdict));
        assert_eq!(scan.outcome, veritrace_ledger::Outcome::Applied, "{verdict:?}");
    };
    verify(&mut net, place("FR", "Paris", 48.86, 2.35), pb::Verdict::GenuineFirstScan);
    net.advance(24 * 3600 * 1000);
    verify(&mut net, place("FR", "Lyon", 45.76, 4.84), pb::Verdict::GenuineSeenBefore);
    let signals = net.item(&g, "S2").expect("item").scans.expect("scans").signals;
    assert!(signals.is_empty(), "two places are plausible: {signals:?}");
    net.advance(24 * 3600 * 1000);
    verify(&mut net, place("DE", "Berlin", 52.52, 13.40), pb::Verdict::SuspectedClone);
    let signals = net.item(&g, "S2").expect("item").scans.expect("scans").signals;
    assert_eq!(signals, vec![rules::MANY_PLACES.to_string()]);
    // Ten minutes later in Shanghai: impossible travel.
    net.advance(10 * 60 * 1000);
    verify(&mut net, place("CN", "Shanghai", 31.23, 121.47), pb::Verdict::SuspectedClone);
    let signals = net.item(&g, "S2").expect("item").scans.expect("scans").signals;
    assert!(signals.iter().any(|s| s == rules::IMPOSSIBLE_TRAVEL), "{signals:?}");
}

#[test]
fn party_reports_are_attributed_and_counted_apart() {
    let (mut net, g) = stocked();
    // A rival platform "reports" scans of a genuine item in three cities.
    for (country, city, lat, lon) in
        [("FR", "Paris", 48.86, 2.35), ("DE", "Berlin", 52.52, 13.40), ("CN", "Shanghai", 31.23, 121.47)]
    {
        net.ok("app", scan(&g, "S1", place(country, city, lat, lon)));
    }
    // admin-a operates a validator and may report too; admin-b may not.
    net.ok("admin-a", scan(&g, "S1", place("FR", "Paris", 48.86, 2.35)));
    assert_eq!(net.refused("admin-b", scan(&g, "S1", place("FR", "Paris", 48.86, 2.35))), Reason::NotPermitted);
    assert_eq!(net.refused("shop", scan(&g, "S1", place("FR", "Paris", 48.86, 2.35))), Reason::NotPermitted);
    let stats = net.item(&g, "S1").expect("item").scans.expect("scans");
    assert_eq!((stats.count, stats.party_reported), (0, 4), "reports are not consumer scans");
    assert!(stats.signals.is_empty(), "reports raise no clone signals: {:?}", stats.signals);
}

#[test]
fn complaints_mark_reported_counterfeits() {
    let (mut net, g) = stocked();
    let complaint = |id: &str, serial: &str| {
        Action::Complaint(pb::Complaint {
            complaint_id: id.into(),
            category: pb::ComplaintCategory::SuspectedCounterfeit as i32,
            text: "label looks wrong".into(),
            subject: Some(pb::complaint::Subject::Item(pb::GtinSerial { gtin: gtin(1), serial: serial.into() })),
            ..Default::default()
        })
    };
    assert_eq!(net.refused("brand", complaint("c1", "S1")), Reason::NotPermitted);
    assert_eq!(net.refused("app", complaint("c1", "S99")), Reason::ItemNotCommissioned);
    net.ok("app", complaint("c1", "S1"));
    assert_eq!(net.refused("app", complaint("c1", "S1")), Reason::AlreadyExists);
    assert!(net.item(&g, "S1").expect("item").reported_counterfeit);
}

/// One of everything, in one network; then the same batches into a fresh
/// ledger.
#[test]
fn replicas_applying_the_same_batches_agree() {
    let (mut net, g) = stocked();
    let items: Vec<String> = ["S1", "S2", "S3"].iter().map(|s| sgtin(&g, s)).collect();
    let pallet = sscc(1);
    net.ok("brand", authorize("auth", "maker", &[&g]));
    net.ok("maker", commission(&g, "L2", &["M1"]));
    net.ok("brand", pack(&pallet, &[&items[0], &items[1]]));
    net.ok("brand", ship(&[&pallet], "shop", Some(("carrier", "T1"))));
    net.ok("carrier", step("departing", &[&pallet]));
    net.ok("shop", step("receiving", &[&pallet]));
    net.ok("shop", step("retail_selling", &[&items[0]]));
    net.ok("app", scan(&g, "S1", place("FR", "Paris", 48.86, 2.35)));
    net.ok("lab", attest(attestation("cert", &g)));
    net.ok("customs", step(veritrace_core::vocab::CUSTOMS_DECLARING, &[&items[2]]));
    net.ok("customs", step(veritrace_core::vocab::CUSTOMS_SEIZING, &[&items[2]]));
    net.ok("admin-a", propose("susp", suspend("brand-2")));
    // A batch with several envelopes, some refused.
    let batch = vec![
        net.sign("admin-b", approve("susp")),
        net.sign("brand-2", register_product(&gtin_under(BRAND2_PREFIX, 1), "brand-2")),
        net.sign("regulator", recall("r", &g)),
        net.sign("brand", ship(&[&items[2]], "shop", None)),
    ];
    let receipts = net.apply(batch);
    assert_eq!(reason_of(&receipts[1]), Some(Reason::PartySuspended));
    assert_eq!(reason_of(&receipts[3]), Some(Reason::ItemOutOfCirculation));

    let replica = net.replay();
    assert_eq!(replica.applied(), net.ledger.applied());
    let fresh = Network::new();
    assert_ne!(fresh.ledger.applied().root, net.ledger.applied().root);
    // Byte for byte, every column family.
    let dump = |l: &veritrace_ledger::Ledger<veritrace_storage::MemEngine>| {
        use veritrace_storage::KvEngine;
        veritrace_ledger::ALL_CFS
            .iter()
            .flat_map(|cf| l.engine().scan(cf, &[], None).expect("scan").map(|kv| kv.expect("kv")).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    assert_eq!(dump(&replica), dump(&net.ledger));
    assert_eq!(replica.audit(true).expect("audit").first_problem, None);
}
