//! Code attempts: the guess budget decided at apply, label tokens, one
//! scan per request id, verdicts the ledger stands behind, and no leaf for
//! a guess.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use veritrace_core::Reason;
use veritrace_core::gs1::Sgtin;
use veritrace_core::scan::{LOCKOUT_FAILURES, LOCKOUT_WINDOW_MS, MAX_ATTEMPTS_PER_WINDOW};
use veritrace_core::vocab::{CUSTOMS_DECLARING, CUSTOMS_SEIZING, DISP_SEIZED};
use veritrace_ledger::Outcome;
use veritrace_ledger::testing::*;
use veritrace_proto::v1 as pb;

fn stocked() -> (Network, String) {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    net.ok("brand", commission_with_tokens(&g, "L1", &["T1", "T2"]));
    net.ok("brand", commission(&g, "L2", &["P1"]));
    (net, g)
}

fn id(n: usize) -> String {
    format!("request-{n:010}")
}

fn paris() -> pb::Place {
    place("FR", "Paris", 48.86, 2.35)
}

fn token(g: &str, serial: &str) -> Vec<u8> {
    token_of(g, serial).as_bytes().to_vec()
}

/// The validator operator whose node serves the verifications.
const NODE: &str = "admin-a";

fn report(net: &Network, g: &str, serial: &str) -> veritrace_ledger::ItemReport {
    let item = Sgtin::parse_any(&sgtin(g, serial)).unwrap();
    net.ledger.item_report(&item, net.next_header().commit_time_ms).unwrap()
}

#[test]
fn wrong_guesses_are_budgeted_in_log_order_and_leave_no_leaf() {
    let (mut net, g) = stocked();
    let t = token(&g, "T1");
    let size = net.ledger.tree_head().tree_size;
    // Two hundred requests at once, in one batch: the log orders them and
    // apply counts exactly the budget.
    let envelopes: Vec<Vec<u8>> = (0..200).map(|n| net.sign(NODE, attempt(&g, "T1", &id(n), Some(&t)))).collect();
    let receipts = net.apply(envelopes);
    let counted = receipts.iter().filter(|r| r.outcome == Outcome::Counted).count();
    assert_eq!(counted, LOCKOUT_FAILURES);
    assert!(
        receipts
            .iter()
            .filter(|r| r.outcome != Outcome::Counted)
            .all(|r| reason_of(r) == Some(Reason::CodeAttemptsExhausted))
    );
    assert!(receipts.iter().all(|r| r.leaf_index.is_none()), "a guess is never a leaf");
    assert_eq!(net.ledger.tree_head().tree_size, size, "the log did not grow");
    assert_eq!(report(&net, &g, "T1").budget.left, 0);
    // The window passes: the item takes guesses again; other items never stopped.
    net.ok(NODE, attempt(&g, "T2", &id(1000), Some(&token(&g, "T2"))));
    net.advance(LOCKOUT_WINDOW_MS);
    net.ok(NODE, attempt(&g, "T1", &id(1001), Some(&t)));
    let invalid = report(&net, &g, "T1").scan_stats.unwrap().invalid_code_count;
    assert_eq!(invalid, LOCKOUT_FAILURES as u64 + 1, "counted, not logged");
    // Replaying the log gives the same state (apply is deterministic).
    assert_eq!(net.replay().tree_head().root, net.ledger.tree_head().root);
}

#[test]
fn a_matching_code_spends_its_own_guess() {
    let (mut net, g) = stocked();
    let t = token(&g, "T1");
    // Five wrong guesses under one request id are counted; the right code
    // then finds the budget spent: its scan is refused and records nothing.
    for _ in 0..LOCKOUT_FAILURES {
        net.ok(NODE, attempt(&g, "T1", &id(1), Some(&t)));
    }
    let scan = net.verify_matched(NODE, &g, "T1", &id(1), Some(&t), paris(), None);
    assert_eq!(reason_of(&scan), Some(Reason::CodeAttemptsExhausted), "no scan without a guess of its own");
    assert_eq!(report(&net, &g, "T1").scan_stats.unwrap().count, 0);
    // Without the label's token a scan is refused like a guess.
    let bare = net.verify_matched(NODE, &g, "T2", &id(2), None, paris(), None);
    assert_eq!(reason_of(&bare), Some(Reason::LabelTokenRequired));
}

#[test]
fn one_request_id_buys_no_extra_guesses_and_records_one_scan() {
    let (mut net, g) = stocked();
    let t = token(&g, "T1");
    // The same request id again with another wrong code is another guess.
    for _ in 0..LOCKOUT_FAILURES {
        net.ok(NODE, attempt(&g, "T1", &id(1), Some(&t)));
    }
    let over = net.submit(NODE, attempt(&g, "T1", &id(1), Some(&t)));
    assert_eq!(reason_of(&over), Some(Reason::CodeAttemptsExhausted), "a reused id is no free guess");
    net.advance(LOCKOUT_WINDOW_MS);
    let first = net.verify_matched(NODE, &g, "T1", &id(2), Some(&t), paris(), None);
    assert_eq!(first.outcome, Outcome::Applied);
    // The same verification recorded again: refused, naming the first.
    let again = net.verify_matched(NODE, &g, "T1", &id(2), Some(&t), paris(), None);
    assert_eq!(reason_of(&again), Some(Reason::ScanAlreadyRecorded));
    // A verification that is over takes no further guess under its id.
    let reused = net.submit(NODE, attempt(&g, "T1", &id(2), Some(&t)));
    assert_eq!(reason_of(&reused), Some(Reason::ScanAlreadyRecorded));
    assert_eq!(report(&net, &g, "T1").scan_stats.unwrap().count, 1);
    // The matched guess does not count against the wrong-code budget.
    assert_eq!(report(&net, &g, "T1").budget.left, LOCKOUT_FAILURES as u32);
}

#[test]
fn guesses_cannot_be_replayed_or_counted_by_non_validators() {
    let (mut net, g) = stocked();
    let t = token(&g, "T1");
    let envelope = net.sign(NODE, attempt(&g, "T1", &id(1), Some(&t)));
    assert_eq!(net.apply(vec![envelope.clone()])[0].outcome, Outcome::Counted);
    let replay = net.apply(vec![envelope.clone()]).remove(0);
    assert_eq!(reason_of(&replay), Some(Reason::AlreadyExists), "one envelope counts once");
    // Past the window the attempt's client time is stale.
    net.advance(LOCKOUT_WINDOW_MS + 1);
    let stale = net.apply(vec![envelope]).remove(0);
    assert_eq!(reason_of(&stale), Some(Reason::ClientTimeOutOfWindow));
    // A platform may report scans, but not count guesses or record consumer scans.
    let platform = net.verify_matched("app", &g, "T1", &id(2), Some(&t), paris(), None);
    assert_eq!(reason_of(&platform), Some(Reason::NotPermitted));
}

#[test]
fn matched_scans_are_bounded_per_window_too() {
    let (mut net, g) = stocked();
    for n in 0..MAX_ATTEMPTS_PER_WINDOW {
        let scan = net.verify_matched(NODE, &g, "P1", &id(n), None, paris(), None);
        assert_eq!(scan.outcome, Outcome::Applied);
    }
    let over = net.submit(NODE, attempt(&g, "P1", &id(99), None));
    assert_eq!(reason_of(&over), Some(Reason::CodeAttemptsExhausted));
}

#[test]
fn the_label_token_gates_the_budget() {
    let (mut net, g) = stocked();
    assert_eq!(net.refused(NODE, attempt(&g, "T1", &id(1), None)), Reason::LabelTokenRequired);
    assert_eq!(net.refused(NODE, attempt(&g, "T1", &id(2), Some(&token(&g, "T2")))), Reason::LabelTokenMismatch);
    assert_eq!(net.refused(NODE, attempt(&g, "T1", &id(3), Some(b"short"))), Reason::LabelTokenMismatch);
    assert_eq!(report(&net, &g, "T1").budget.left, LOCKOUT_FAILURES as u32, "refusals spend nothing");
    // A label without a token takes attempts from anyone (older labels).
    net.ok(NODE, attempt(&g, "P1", &id(4), None));
    // Only validator operators count attempts: not a platform, not a shop, not an admin without a node.
    for who in ["app", "shop", "admin-b"] {
        assert_eq!(net.refused(who, attempt(&g, "P1", &id(5), None)), Reason::NotPermitted, "{who}");
    }
    // Malformed ids and unknown items.
    assert_eq!(net.refused(NODE, attempt(&g, "P1", "short", None)), Reason::InvalidAction);
    assert_eq!(net.refused(NODE, attempt(&g, "P9", &id(8), None)), Reason::ItemNotCommissioned);
}

#[test]
fn the_recorded_verdict_and_signals_are_the_ledgers() {
    let (mut net, g) = stocked();
    let t = token(&g, "T1");
    // Still with the brand, so scanned before retail: a clone signal.
    let wrong = net.verify_matched(NODE, &g, "T1", &id(1), Some(&t), paris(), Some(pb::Verdict::GenuineFirstScan));
    assert_eq!(reason_of(&wrong), Some(Reason::VerdictMismatch));
    assert_eq!(report(&net, &g, "T1").budget.left, LOCKOUT_FAILURES as u32, "a refused scan spends nothing");
    let item = Sgtin::parse_any(&sgtin(&g, "T1")).unwrap();
    let (verdict, signals) =
        net.ledger.preview_matched_scan(&item, &paris(), &[], net.next_header().commit_time_ms).unwrap().unwrap();
    let expected = vec![veritrace_core::scan::SCANNED_BEFORE_RETAIL.to_string()];
    assert_eq!((verdict, signals), (pb::Verdict::SuspectedClone, expected));
    // The right verdict without its signals is refused too.
    let bare = consumer_scan(&g, "T1", &id(3), Some(&t), paris(), verdict, vec![]);
    assert_eq!(net.refused(NODE, bare), Reason::VerdictMismatch);
    let ok = net.verify_matched(NODE, &g, "T1", &id(3), Some(&t), paris(), None);
    assert_eq!(ok.outcome, Outcome::Applied);
}

#[test]
fn previous_scan_fields_describe_the_scan_before() {
    let (mut net, g) = stocked();
    let t = token(&g, "T1");
    let lyon = place("FR", "Lyon", 45.76, 4.84);
    for (n, p) in [(1, paris()), (2, lyon.clone())] {
        let scan = net.verify_matched(NODE, &g, "T1", &id(n), Some(&t), p, None);
        assert_eq!(scan.outcome, Outcome::Applied);
        net.advance(3_600_000);
    }
    let stats = report(&net, &g, "T1").scan_stats.unwrap();
    assert_eq!(stats.count, 2);
    assert_eq!(stats.first_scan_place.as_ref().map(|p| p.city.as_str()), Some("Paris"));
    assert_eq!(
        stats.previous_scan_place.as_ref().map(|p| p.city.as_str()),
        Some("Paris"),
        "the scan before the latest"
    );
}

#[test]
fn a_seized_item_verifies_as_withdrawn() {
    let (mut net, g) = stocked();
    net.ok("customs", epcis(object_event(CUSTOMS_DECLARING, "", &[&sgtin(&g, "T1")])));
    net.ok("customs", epcis(object_event(CUSTOMS_SEIZING, DISP_SEIZED, &[&sgtin(&g, "T1")])));
    let r = report(&net, &g, "T1");
    assert_eq!(r.state, pb::ItemState::Withdrawn);
    assert_eq!(r.verdict(true), pb::Verdict::Withdrawn);
    assert_eq!(r.verdict(false), pb::Verdict::InvalidCode);
}
