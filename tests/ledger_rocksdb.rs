//! The ledger on real RocksDB: restart, tamper detection, determinism and
//! snapshots across stores.

use veritrace_core::merkle;
use veritrace_ledger::testing::{genesis, header, observe, signed};
use veritrace_ledger::{Ledger, LedgerOptions, Outcome};
use veritrace_storage::{KvEngine, WriteBatch, WriteOptions};
use veritrace_tests::{create, engine, reopen};

const ITEM: &str = "urn:epc:id:giai:0614141.A400";

fn fill(ledger: &Ledger<veritrace_store_rocksdb::RocksEngine>, batches: u64, per_batch: u64) {
    let (_, parties) = genesis(3);
    for b in 1..=batches {
        let envs: Vec<Vec<u8>> =
            (0..per_batch).map(|i| signed(&parties[(i % 3) as usize], b * 1000 + i, observe(&[ITEM], 16))).collect();
        let receipts = ledger.apply(&header(b), &envs).expect("apply");
        assert!(receipts.iter().all(|r| r.outcome == Outcome::Applied));
    }
}

#[test]
fn close_and_reopen_keeps_root_and_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (head, proof) = {
        let ledger = create(dir.path(), 3);
        fill(&ledger, 20, 13);
        let head = ledger.tree_head();
        (head, ledger.inclusion_proof(100, head.tree_size).expect("proof"))
    };
    let ledger = reopen(dir.path());
    assert_eq!(ledger.tree_head(), head);
    let leaf = ledger.leaf(100).expect("leaf");
    merkle::verify_inclusion(&leaf.hash(), 100, head.tree_size, &proof, &head.root).expect("old proof still verifies");
    assert_eq!(ledger.inclusion_proof(100, head.tree_size).expect("proof"), proof);
    // And the reopened ledger keeps appending where it stopped.
    fill_more(&ledger);
    let after = ledger.applied();
    let consistency = ledger.consistency_proof(head.tree_size, after.tree_size).expect("proof");
    merkle::verify_consistency(head.tree_size, after.tree_size, &head.root, &after.root, &consistency)
        .expect("consistent");
}

fn fill_more(ledger: &Ledger<veritrace_store_rocksdb::RocksEngine>) {
    let (_, parties) = genesis(3);
    let next = ledger.applied().applied_index + 1;
    let envs: Vec<Vec<u8>> = (0..5).map(|i| signed(&parties[0], 900_000 + i, observe(&[ITEM], 0))).collect();
    ledger.apply(&header(next), &envs).expect("apply");
}

#[test]
fn editing_a_stored_envelope_is_found_by_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let ledger = create(dir.path(), 3);
        fill(&ledger, 4, 10);
        assert!(ledger.audit(true).expect("audit").is_clean());
    }
    {
        // An attacker with disk access rewrites one byte of leaf 17's envelope.
        let raw = engine(dir.path());
        let key = 17u64.to_be_bytes();
        let mut value = raw.get("leaves", &key).expect("get").expect("leaf 17 exists");
        let at = value.len() - 40;
        value[at] ^= 0x01;
        let mut b = WriteBatch::new();
        b.put("leaves", key.to_vec(), value);
        raw.write(b, WriteOptions::SYNC).expect("tamper");
    }
    let ledger = reopen(dir.path());
    let report = ledger.audit(true).expect("audit");
    let problem = report.first_problem.expect("tampering detected");
    assert_eq!(problem.leaf_index, 17, "{problem:?}");
}

#[test]
fn two_stores_fed_the_same_batches_export_identical_bytes() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let la = create(a.path(), 3);
    let lb = create(b.path(), 3);
    fill(&la, 8, 9);
    fill(&lb, 8, 9);
    assert_eq!(la.applied(), lb.applied());
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    la.export_snapshot(&mut sa).expect("export");
    lb.export_snapshot(&mut sb).expect("export");
    assert_eq!(sa, sb);
}

#[test]
fn snapshot_restores_into_a_new_rocksdb_store() {
    let src = tempfile::tempdir().expect("tempdir");
    let dst = tempfile::tempdir().expect("tempdir");
    let ledger = create(src.path(), 3);
    fill(&ledger, 6, 11);
    let mut bytes = Vec::new();
    ledger.export_snapshot(&mut bytes).expect("export");
    let (restored, _) =
        Ledger::import_snapshot(engine(dst.path()), bytes.as_slice(), LedgerOptions::default()).expect("import");
    assert_eq!(restored.applied(), ledger.applied());
    drop(restored);
    let reopened = reopen(dst.path());
    assert_eq!(reopened.applied(), ledger.applied());
    assert!(reopened.audit(true).expect("audit").is_clean());
}

/// On RocksDB the export reads a RocksDB snapshot: batches applied after
/// the pin (while the file is written) are not in it, and it still equals
/// the export of a store that never saw them.
#[test]
fn applies_during_an_export_stay_out_of_it() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let (busy, quiet) = (create(a.path(), 3), create(b.path(), 3));
    fill(&busy, 4, 9);
    fill(&quiet, 4, 9);
    let before = busy.applied();
    let mut during = Vec::new();
    let info = busy
        .export_snapshot_pinned(&mut during, || {
            let (_, parties) = genesis(3);
            let envs: Vec<Vec<u8>> =
                (0..9).map(|i| signed(&parties[(i % 3) as usize], 90_000 + i, observe(&[ITEM], 16))).collect();
            busy.apply(&header(5), &envs).expect("apply while the export runs");
        })
        .expect("export");
    assert_eq!(info.applied, before);
    assert_eq!(busy.applied().tree_size, before.tree_size + 9, "the apply during the export landed");
    let mut expected = Vec::new();
    quiet.export_snapshot(&mut expected).expect("export");
    assert_eq!(during, expected, "byte for byte the state at the pin");
}
