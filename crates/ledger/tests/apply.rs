//! Apply, idempotence, bad input, determinism and proofs on the in-memory engine.

use veritrace_core::merkle::{self, MemTree};
use veritrace_core::{Envelope, Reason, SecretKey};
use veritrace_ledger::schema::{CF_LEAVES, CF_META, KEY_APPLIED};
use veritrace_ledger::testing::{TestParty, header, mem_ledger, observe, signed, tx};
use veritrace_ledger::{BatchHeader, LedgerError, Outcome};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;
use veritrace_storage::{KvEngine, WriteBatch, WriteOptions};

const ITEM: &str = "urn:epc:id:giai:0614141.A400";

fn reason(outcome: &Outcome) -> Option<Reason> {
    match outcome {
        Outcome::Rejected { reason, .. } => Some(*reason),
        _ => None,
    }
}

#[test]
fn valid_envelopes_become_leaves_under_the_expected_root() {
    let (ledger, p) = mem_ledger(2);
    let batch: Vec<Vec<u8>> = (0..5).map(|i| signed(&p[i % 2], i as u64, observe(&[ITEM], 0))).collect();
    let receipts = ledger.apply(&header(1), &batch).expect("apply");
    assert!(receipts.iter().all(|r| r.outcome == Outcome::Applied));
    assert_eq!(receipts.iter().map(|r| r.leaf_index).collect::<Vec<_>>(), (0..5).map(Some).collect::<Vec<_>>());

    // Recompute the root independently from the stored leaf records.
    let mut tree = MemTree::new();
    for i in 0..5 {
        let leaf = ledger.leaf(i).expect("leaf");
        assert_eq!(leaf.envelope, batch[i as usize]);
        assert_eq!(leaf.log_index, 1);
        assert_eq!(leaf.commit_time_ms, header(1).commit_time_ms);
        tree.push(&leaf.encode());
    }
    let applied = ledger.applied();
    assert_eq!((applied.applied_index, applied.tree_size), (1, 5));
    assert_eq!(applied.root, tree.root());
    assert_eq!(ledger.find_envelope(&Envelope::decode(&batch[3]).expect("env").id()).expect("find"), Some(3));
}

#[test]
fn resubmission_returns_the_first_receipt() {
    let (ledger, p) = mem_ledger(1);
    let env = signed(&p[0], 7, observe(&[ITEM], 0));
    let first = ledger.apply(&header(1), &[env.clone(), env.clone()]).expect("apply");
    assert_eq!(first[0].outcome, Outcome::Applied);
    assert_eq!(first[1].outcome, Outcome::Duplicate);
    assert_eq!(first[1].leaf_index, Some(0));
    let later = ledger.apply(&header(2), &[env]).expect("apply");
    assert_eq!(later[0].outcome, Outcome::Duplicate);
    assert_eq!((later[0].leaf_index, later[0].log_index), (Some(0), 1));
    assert_eq!(later[0].commit_time_ms, header(1).commit_time_ms);
    assert_eq!(ledger.applied().tree_size, 1);
}

#[test]
fn nonce_reuse_with_another_payload_is_refused() {
    let (ledger, p) = mem_ledger(1);
    let a = signed(&p[0], 1, observe(&[ITEM], 0));
    let b = signed(&p[0], 1, observe(&[ITEM], 3));
    let r = ledger.apply(&header(1), &[a, b]).expect("apply");
    assert_eq!(r[0].outcome, Outcome::Applied);
    assert_eq!(reason(&r[1].outcome), Some(Reason::NonceReused));
}

#[test]
fn bad_input_is_refused_with_a_reason_and_changes_nothing() {
    let (ledger, p) = mem_ledger(2);
    ledger.apply(&header(1), &[signed(&p[0], 1, observe(&[ITEM], 0))]).expect("apply");
    let before = ledger.applied();
    let state_before = state_without_applied(&ledger);

    let mut forged = Envelope::decode(&signed(&p[0], 2, observe(&[ITEM], 0))).expect("env").to_proto();
    forged.payload[3] ^= 1;
    let forged = Envelope::from_proto(forged).expect("shape").bytes().to_vec();
    let other_network = {
        let mut t = tx(&p[0], 3, observe(&[ITEM], 0));
        t.network_id = "elsewhere".into();
        Envelope::sign_transaction(&t, &p[0].key).bytes().to_vec()
    };
    let impostor = Envelope::sign_transaction(&tx(&p[0], 4, observe(&[ITEM], 0)), &p[1].key).bytes().to_vec();
    let stranger = TestParty { id: "stranger".into(), key: SecretKey::from_seed_label("stranger") };
    let unknown = signed(&stranger, 5, observe(&[ITEM], 0));
    let no_action = {
        let mut t = tx(&p[0], 6, observe(&[ITEM], 0));
        t.action = None;
        Envelope::sign_transaction(&t, &p[0].key).bytes().to_vec()
    };
    let governance = signed(&p[0], 7, Action::ApproveGovernance(pb::ApproveGovernance::default()));
    let not_a_tx = Envelope::sign(vec![0xff, 0xff, 0xff], &p[0].key).bytes().to_vec();
    let oversize = vec![0x0a; veritrace_core::envelope::MAX_ENVELOPE_BYTES + 1];

    let cases: Vec<(Vec<u8>, Reason)> = vec![
        (b"garbage".to_vec(), Reason::MalformedEnvelope),
        (Vec::new(), Reason::EmptyPayload),
        (oversize, Reason::TooLarge),
        (forged, Reason::BadSignature),
        (other_network, Reason::WrongNetwork),
        (impostor, Reason::KeyNotAuthorized),
        (unknown, Reason::UnknownParty),
        (no_action, Reason::MissingAction),
        (governance, Reason::NotPermitted),
        (not_a_tx, Reason::MalformedTransaction),
    ];
    let batch: Vec<Vec<u8>> = cases.iter().map(|(b, _)| b.clone()).collect();
    let receipts = ledger.apply(&header(2), &batch).expect("apply");
    for ((_, want), got) in cases.iter().zip(&receipts) {
        assert_eq!(reason(&got.outcome), Some(*want), "receipt {got:?}");
        assert_eq!(got.leaf_index, None);
    }
    let after = ledger.applied();
    assert_eq!((after.tree_size, after.root), (before.tree_size, before.root));
    assert_eq!(after.applied_index, 2, "the batch is consumed even when every envelope is refused");
    // Apart from the applied index, every stored byte is unchanged.
    assert_eq!(state_without_applied(&ledger), state_before);
}

/// Every (column family, key, value) except the applied-state record.
fn state_without_applied(
    ledger: &veritrace_ledger::Ledger<veritrace_storage::MemEngine>,
) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for cf in veritrace_ledger::ALL_CFS {
        for kv in ledger.engine().scan(cf, &[], None).expect("scan") {
            let (k, v) = kv.expect("kv");
            if !(*cf == CF_META && k == KEY_APPLIED) {
                out.push((cf.to_string(), k, v));
            }
        }
    }
    out
}

#[test]
fn replayed_or_stale_batches_are_errors_not_changes() {
    let (ledger, p) = mem_ledger(1);
    ledger.apply(&header(5), &[signed(&p[0], 1, observe(&[ITEM], 0))]).expect("apply");
    let stale = ledger.apply(&header(5), &[signed(&p[0], 2, observe(&[ITEM], 0))]);
    assert!(matches!(stale, Err(LedgerError::OutOfOrder { got: 5, applied: 5 })));
    let older = ledger.apply(&BatchHeader { log_index: 1, commit_time_ms: 0 }, &[]);
    assert!(matches!(older, Err(LedgerError::OutOfOrder { .. })));
    assert_eq!(ledger.applied().tree_size, 1);
}

#[test]
fn item_and_party_indexes_page_in_log_order() {
    let (ledger, p) = mem_ledger(2);
    let other = "urn:epc:id:giai:0614141.A401";
    let batch: Vec<Vec<u8>> = (0..10)
        .map(|i| {
            let epcs: &[&str] = if i % 3 == 0 { &[ITEM, other] } else { &[other] };
            signed(&p[i % 2], i as u64, observe(epcs, 0))
        })
        .collect();
    ledger.apply(&header(1), &batch).expect("apply");
    let key = veritrace_core::gs1::EpcId::parse(ITEM).expect("epc").key_bytes();
    assert_eq!(ledger.leaves_by_item(&key, None, 100).expect("page"), vec![0, 3, 6, 9]);
    assert_eq!(ledger.leaves_by_item(&key, Some(3), 2).expect("page"), vec![6, 9]);
    assert_eq!(ledger.leaves_by_party("party-1", None, 3).expect("page"), vec![1, 3, 5]);
    assert_eq!(ledger.leaves_by_party("party-1", Some(5), 10).expect("page"), vec![7, 9]);
    assert!(ledger.leaves_by_party("party", None, 10).expect("page").is_empty(), "prefix of another id");
}

#[test]
fn proofs_for_every_past_size_verify() {
    let (ledger, p) = mem_ledger(1);
    let mut roots = vec![merkle::empty_root()];
    for b in 1..=12u64 {
        let batch: Vec<Vec<u8>> = (0..b % 4 + 1).map(|i| signed(&p[0], b * 100 + i, observe(&[ITEM], 0))).collect();
        ledger.apply(&header(b), &batch).expect("apply");
        let a = ledger.applied();
        while (roots.len() as u64) <= a.tree_size {
            roots.push(a.root);
        }
        // Only the last root of a batch is a real head; recompute the rest.
        for size in 1..=a.tree_size {
            roots[size as usize] = ledger.root_at(size).expect("root");
        }
    }
    let n = ledger.applied().tree_size;
    for m in 1..=n {
        let root_m = ledger.root_at(m).expect("root");
        for leaf in 0..m {
            let proof = ledger.inclusion_proof(leaf, m).expect("proof");
            let hash = ledger.leaf(leaf).expect("leaf").hash();
            merkle::verify_inclusion(&hash, leaf, m, &proof, &root_m).expect("inclusion verifies");
        }
        let proof = ledger.consistency_proof(m, n).expect("proof");
        merkle::verify_consistency(m, n, &root_m, &ledger.applied().root, &proof).expect("consistency verifies");
    }
    assert!(matches!(ledger.inclusion_proof(0, n + 1), Err(LedgerError::OutOfRange { .. })));
    assert!(matches!(ledger.inclusion_proof(n, n), Err(LedgerError::OutOfRange { .. })));
}

#[test]
fn reopen_recovers_the_same_head() {
    let (ledger, p) = mem_ledger(1);
    ledger
        .apply(&header(1), &(0..7).map(|i| signed(&p[0], i, observe(&[ITEM], 0))).collect::<Vec<_>>())
        .expect("apply");
    let copy = ledger.engine().deep_clone();
    let reopened = veritrace_ledger::Ledger::open(copy, Default::default()).expect("reopen");
    assert_eq!(reopened.applied(), ledger.applied());
    let r = reopened.apply(&header(2), &[signed(&p[0], 99, observe(&[ITEM], 0))]).expect("apply after reopen");
    assert_eq!(r[0].leaf_index, Some(7));
}

#[test]
fn audit_names_the_first_tampered_leaf() {
    let (ledger, p) = mem_ledger(1);
    ledger
        .apply(&header(1), &(0..6).map(|i| signed(&p[0], i, observe(&[ITEM], 0))).collect::<Vec<_>>())
        .expect("apply");
    assert!(ledger.audit(true).expect("audit").is_clean());
    // Rewrite leaf 3's envelope payload in storage, keeping its length.
    let key = 3u64.to_be_bytes();
    let mut bytes = ledger.engine().get(CF_LEAVES, &key).expect("get").expect("leaf 3");
    let last = bytes.len() - 70;
    bytes[last] ^= 0x01;
    let mut b = WriteBatch::new();
    b.put(CF_LEAVES, key.to_vec(), bytes);
    ledger.engine().write(b, WriteOptions::SYNC).expect("tamper");
    let report = ledger.audit(false).expect("audit");
    let problem = report.first_problem.expect("tampering is found");
    assert_eq!(problem.leaf_index, 3, "{problem:?}");
}

#[test]
fn corrupt_applied_state_is_reported_on_open() {
    let (ledger, _) = mem_ledger(1);
    let mut b = WriteBatch::new();
    b.put(CF_META, KEY_APPLIED.to_vec(), b"junk".to_vec());
    ledger.engine().write(b, WriteOptions::SYNC).expect("write");
    let copy = ledger.engine().deep_clone();
    assert!(matches!(veritrace_ledger::Ledger::open(copy, Default::default()), Err(LedgerError::Corrupt { .. })));
}
