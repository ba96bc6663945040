//! Snapshots and determinism on the in-memory engine.

use proptest::prelude::*;
use veritrace_ledger::testing::{genesis, header, mem_ledger, observe, signed};
use veritrace_ledger::{ALL_CFS, Ledger, LedgerError, LedgerOptions};
use veritrace_storage::MemEngine;

const ITEM: &str = "urn:epc:id:giai:0614141.A400";

fn export(ledger: &Ledger<MemEngine>) -> Vec<u8> {
    let mut out = Vec::new();
    ledger.export_snapshot(&mut out).expect("export");
    out
}

fn filled(batches: &[usize]) -> Ledger<MemEngine> {
    let (ledger, p) = mem_ledger(3);
    let mut nonce = 0;
    for (i, &n) in batches.iter().enumerate() {
        let batch: Vec<Vec<u8>> = (0..n)
            .map(|j| {
                nonce += 1;
                // Every fifth envelope is garbage: refusals must be deterministic too.
                if nonce % 5 == 0 { b"junk".to_vec() } else { signed(&p[j % 3], nonce, observe(&[ITEM], j % 7)) }
            })
            .collect();
        ledger.apply(&header(i as u64 + 1), &batch).expect("apply");
    }
    ledger
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Two replicas fed the same batches hold the same root and export
    /// byte-identical snapshots.
    #[test]
    fn same_batches_same_root_and_bytes(batches in prop::collection::vec(0usize..12, 1..8)) {
        let a = filled(&batches);
        let b = filled(&batches);
        prop_assert_eq!(a.applied(), b.applied());
        prop_assert_eq!(export(&a), export(&b));
    }
}

#[test]
fn snapshot_round_trip_restores_the_same_state() {
    let source = filled(&[5, 9, 3]);
    let bytes = export(&source);
    let (restored, info) =
        Ledger::import_snapshot(MemEngine::new(ALL_CFS), bytes.as_slice(), LedgerOptions::default()).expect("import");
    assert_eq!(info.applied, source.applied());
    assert_eq!(restored.applied(), source.applied());
    assert_eq!(export(&restored), bytes, "re-export is byte-identical");
    assert!(restored.audit(true).expect("audit").is_clean());
}

/// The export fixes its state under the apply lock, then lets applies go
/// on while it writes: what they apply is not in the file.
#[test]
fn applies_after_the_pin_do_not_show_in_the_snapshot() {
    let (ledger, p) = mem_ledger(3);
    ledger.apply(&header(1), &[signed(&p[0], 1, observe(&[ITEM], 0))]).expect("apply");
    let before = ledger.applied();
    let expected = export(&ledger);
    let mut out = Vec::new();
    let info = ledger
        .export_snapshot_pinned(&mut out, || {
            // Would deadlock if the export still held the apply lock.
            ledger.apply(&header(2), &[signed(&p[1], 2, observe(&[ITEM], 1))]).expect("apply during the export");
        })
        .expect("export");
    assert_eq!(info.applied, before);
    assert_eq!(out, expected, "the file holds the state at the pin, byte for byte");
    assert_eq!(ledger.applied().tree_size, before.tree_size + 1, "the apply during the export landed");
}

#[test]
fn every_corrupted_or_truncated_snapshot_is_refused_and_never_opens() {
    let source = filled(&[4, 4]);
    let bytes = export(&source);
    // Flip one bit at a spread of positions (every byte is covered by the
    // checksum), and cut the stream at a spread of lengths.
    let step = (bytes.len() / 97).max(1);
    for pos in (0..bytes.len()).step_by(step) {
        let mut bad = bytes.clone();
        bad[pos] ^= 0x10;
        let engine = MemEngine::new(ALL_CFS);
        let result = Ledger::import_snapshot(engine, bad.as_slice(), LedgerOptions::default());
        assert!(result.is_err(), "flip at {pos} was accepted");
    }
    for len in (0..bytes.len()).step_by(step) {
        let result = Ledger::import_snapshot(MemEngine::new(ALL_CFS), &bytes[..len], LedgerOptions::default());
        assert!(matches!(result, Err(LedgerError::Snapshot { .. })), "truncation at {len}");
    }
}

#[test]
fn a_refused_import_leaves_no_openable_ledger() {
    let bytes = export(&filled(&[6]));
    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 1] ^= 1; // checksum
    let engine = std::sync::Arc::new(MemEngine::new(ALL_CFS));
    assert!(Ledger::import_snapshot(engine.clone(), bad.as_slice(), LedgerOptions::default()).is_err());
    assert!(matches!(Ledger::open(engine, LedgerOptions::default()), Err(LedgerError::NotInitialised)));
}

#[test]
fn import_refuses_a_store_that_already_holds_a_ledger() {
    let bytes = export(&filled(&[2]));
    let (g, _) = genesis(1);
    let engine = std::sync::Arc::new(MemEngine::new(ALL_CFS));
    Ledger::create(engine.clone(), &g, LedgerOptions::default()).expect("create");
    let result = Ledger::import_snapshot(engine, bytes.as_slice(), LedgerOptions::default());
    assert!(matches!(result, Err(LedgerError::AlreadyInitialised)));
}

#[test]
fn invalid_genesis_is_refused() {
    let (mut g, _) = genesis(2);
    g.founding_parties[1].party_id = g.founding_parties[0].party_id.clone();
    let err = Ledger::create(MemEngine::new(ALL_CFS), &g, LedgerOptions::default()).expect_err("duplicate party");
    assert!(matches!(err, LedgerError::InvalidGenesis { .. }), "{err}");
    let (mut g, _) = genesis(1);
    g.founding_parties[0].signing_keys[0].public_key = vec![1; 31];
    assert!(matches!(
        Ledger::create(MemEngine::new(ALL_CFS), &g, LedgerOptions::default()),
        Err(LedgerError::InvalidGenesis { .. })
    ));
    let (mut g, _) = genesis(1);
    g.network_id = "Bad Net".into();
    assert!(Ledger::create(MemEngine::new(ALL_CFS), &g, LedgerOptions::default()).is_err());
    // The labels' host: an origin, written the one normalised way.
    for bad in ["HTTPS://verify.example", "https://verify.example/", "https://verify.example/x", "verify.example"] {
        let (mut g, _) = genesis(1);
        g.label_host = bad.into();
        let err = Ledger::create(MemEngine::new(ALL_CFS), &g, LedgerOptions::default()).expect_err(bad);
        assert!(err.to_string().contains("label_host"), "{bad}: {err}");
    }
    let (mut g, _) = genesis(1);
    g.label_host = "https://verify.example:8443".into();
    let ledger = Ledger::create(MemEngine::new(ALL_CFS), &g, LedgerOptions::default()).expect("a good host");
    assert_eq!(ledger.genesis().proto().label_host, "https://verify.example:8443");
}

#[test]
fn clear_then_import_replaces_a_lagging_ledger_with_the_snapshot() {
    let source = filled(&[5, 9, 3]);
    let bytes = export(&source);
    let engine = std::sync::Arc::new(MemEngine::new(ALL_CFS));
    let (g, p) = genesis(3);
    let lagging = Ledger::create(engine.clone(), &g, LedgerOptions::default()).expect("create");
    lagging.apply(&header(1), &[signed(&p[0], 1, observe(&[ITEM], 0))]).expect("apply");
    drop(lagging);
    Ledger::clear(&engine).expect("clear");
    assert!(matches!(Ledger::open(engine.clone(), LedgerOptions::default()), Err(LedgerError::NotInitialised)));
    let (restored, _) = Ledger::import_snapshot(engine, bytes.as_slice(), LedgerOptions::default()).expect("import");
    assert_eq!(restored.applied(), source.applied());
    let mut again = Vec::new();
    restored.export_snapshot(&mut again).expect("export");
    assert_eq!(again, bytes, "the cleared store holds exactly the snapshot");
}
