//! Read-time integrity of the `state` column family (`state::seal`): every
//! value carries a tag over its key and bytes. A changed value is refused
//! on read, by apply and by snapshot import; a store written before
//! sealing is sealed once when it is opened.

#![allow(clippy::unwrap_used)]

use veritrace_ledger::schema::{CF_META, CF_STATE};
use veritrace_ledger::state::keys;
use veritrace_ledger::testing::{TestParty, header, mem_ledger, observe, signed};
use veritrace_ledger::{ALL_CFS, Ledger, LedgerError, LedgerOptions};
use veritrace_storage::{KvEngine, MemEngine, WriteBatch, WriteOptions};

const ITEM: &str = "urn:epc:id:giai:0614141.A401";

fn rewrite(engine: &MemEngine, cf: &'static str, key: Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = engine.get(cf, &key).expect("get").expect("stored");
    f(&mut bytes);
    let mut batch = WriteBatch::new();
    batch.put(cf, key, bytes);
    engine.write(batch, WriteOptions::SYNC).expect("write");
}

/// Three fixture parties and one applied envelope.
fn applied_once() -> (Ledger<MemEngine>, Vec<TestParty>) {
    let (ledger, p) = mem_ledger(3);
    ledger.apply(&header(1), &[signed(&p[0], 1, observe(&[ITEM], 0))]).expect("apply");
    (ledger, p)
}

/// The ledger's snapshot (format 2).
fn export(ledger: &Ledger<MemEngine>) -> Vec<u8> {
    let mut out = Vec::new();
    ledger.export_snapshot(&mut out).expect("export");
    out
}

fn is_corrupt(e: &LedgerError) -> bool {
    matches!(e, LedgerError::Corrupt { .. })
}

#[test]
fn a_flipped_state_bit_is_refused_by_reads_and_apply_and_noted() {
    let (ledger, p) = mem_ledger(3);
    let party = p[0].id.clone();
    assert!(ledger.party(&party).expect("read").is_some());
    rewrite(ledger.engine(), CF_STATE, keys::party(&party), |b| b[1] ^= 0x04);

    let e = ledger.party(&party).expect_err("a changed record is not served");
    assert!(is_corrupt(&e), "{e:?}");
    assert!(ledger.corruption().is_some_and(|w| w.contains("state record")), "{:?}", ledger.corruption());
    // Apply needs the signer's record: it stops instead of judging from it.
    let before = ledger.applied();
    let e = ledger.apply(&header(1), &[signed(&p[0], 1, observe(&[ITEM], 0))]).expect_err("no apply from bad state");
    assert!(is_corrupt(&e), "{e:?}");
    assert_eq!(ledger.applied(), before, "nothing applied");
    // Another party's record is intact and still served.
    assert!(ledger.party(&p[1].id).expect("read").is_some());
}

#[test]
fn a_store_written_before_sealing_is_sealed_when_opened() {
    let (ledger, p) = applied_once();
    let engine = ledger.engine().deep_clone();
    let applied = ledger.applied();
    // Make it look like a 0.5 store: untagged values, no format record.
    let state: Vec<(Vec<u8>, Vec<u8>)> = engine
        .scan(CF_STATE, &[], None)
        .expect("scan")
        .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("kv"))
        .collect();
    assert!(!state.is_empty());
    let mut batch = WriteBatch::new();
    for (k, v) in &state {
        batch.put(CF_STATE, k.clone(), v[..v.len() - 16].to_vec());
    }
    batch.delete(CF_META, b"state_format".to_vec());
    engine.write(batch, WriteOptions::SYNC).expect("write");

    let reopened = Ledger::open(engine, LedgerOptions::default()).expect("an old store opens");
    assert_eq!(reopened.applied(), applied);
    assert_eq!(reopened.engine().get(CF_META, b"state_format").expect("get"), Some(vec![2]));
    for (k, v) in &state {
        assert_eq!(&reopened.engine().get(CF_STATE, k).expect("get").expect("kept"), v, "resealed as new");
    }
    assert_eq!(reopened.party(&p[0].id).expect("read"), ledger.party(&p[0].id).expect("read"));
    assert!(reopened.corruption().is_none());
}

#[test]
fn a_snapshot_carrying_a_changed_state_record_is_refused() {
    let (ledger, _) = applied_once();
    let v2 = export(&ledger);
    // A sender whose disk changed a state value after the export checked
    // it (or a forger): the file's checksum is made to match.
    let tampered = rewrite_snapshot_with(&v2, 2, |cf, _, value| {
        if cf == CF_STATE {
            let last = value.len() - 1;
            value[last] ^= 0x80;
        }
        true
    });
    let e = Ledger::import_snapshot(MemEngine::new(ALL_CFS), tampered.as_slice(), LedgerOptions::default())
        .expect_err("the importer checks every state record");
    assert!(e.to_string().contains("state record"), "{e}");
}

#[test]
fn a_store_of_an_unknown_state_format_is_refused() {
    let (ledger, _) = mem_ledger(1);
    let engine = ledger.engine().deep_clone();
    let mut batch = WriteBatch::new();
    batch.put(CF_META, b"state_format".to_vec(), vec![9]);
    engine.write(batch, WriteOptions::SYNC).expect("write");
    let e = Ledger::open(engine, LedgerOptions::default()).expect_err("a newer format");
    assert!(e.to_string().contains("state format 9"), "{e}");
}

/// Rewrites a version-2 snapshot as a build before sealing wrote it:
/// magic `version`, raw state values when `strip`, no state-format record
/// unless `keep_marker`, and a fresh checksum.
fn rewrite_snapshot(v2: &[u8], version: u8, strip: bool, keep_marker: bool) -> Vec<u8> {
    rewrite_snapshot_with(v2, version, |cf, key, value| {
        if cf == CF_STATE && strip {
            value.truncate(value.len() - 16);
        }
        !(cf == CF_META && key == b"state_format" && !keep_marker)
    })
}

/// Rewrites a snapshot record by record: `edit` may change a value and
/// says whether to keep the record; magic `version`, a fresh checksum.
fn rewrite_snapshot_with(v2: &[u8], version: u8, mut edit: impl FnMut(&str, &[u8], &mut Vec<u8>) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&v2[..7]);
    out.push(version);
    out.extend_from_slice(&v2[8..64]);
    let mut at = 64;
    loop {
        let tag = v2[at];
        at += 1;
        if tag == 0 {
            break;
        }
        let klen = u32::from_be_bytes(v2[at..at + 4].try_into().unwrap()) as usize;
        let key = &v2[at + 4..at + 4 + klen];
        at += 4 + klen;
        let vlen = u32::from_be_bytes(v2[at..at + 4].try_into().unwrap()) as usize;
        let mut value = v2[at + 4..at + 4 + vlen].to_vec();
        at += 4 + vlen;
        if !edit(ALL_CFS[usize::from(tag) - 1], key, &mut value) {
            continue;
        }
        out.push(tag);
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(&value);
    }
    out.push(0);
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

#[test]
fn an_unsealed_snapshot_of_an_older_build_is_imported_and_sealed_and_a_sealed_one_must_say_so() {
    let (ledger, p) = applied_once();
    let v2 = export(&ledger);
    assert_eq!(&v2[..8], b"VTSNAP\0\x02");

    // Version 1 (an old backup): imported, sealed, and it re-exports as the
    // very snapshot the sealed ledger writes.
    let v1 = rewrite_snapshot(&v2, 1, true, false);
    let (restored, _) = Ledger::import_snapshot(MemEngine::new(ALL_CFS), v1.as_slice(), LedgerOptions::default())
        .expect("a version-1 snapshot imports");
    assert_eq!(restored.party(&p[0].id).expect("read"), ledger.party(&p[0].id).expect("read"));
    assert_eq!(export(&restored), v2, "sealing is deterministic: the same bytes as the sealed ledger's");

    // Version 2 without the format record, or version 1 carrying tags as data.
    for (what, bytes) in [
        ("no marker", rewrite_snapshot(&v2, 2, false, false)),
        ("version 1 with a marker", rewrite_snapshot(&v2, 1, false, true)),
    ] {
        let e = Ledger::import_snapshot(MemEngine::new(ALL_CFS), bytes.as_slice(), LedgerOptions::default())
            .expect_err(what);
        assert!(e.to_string().contains("state format"), "{what}: {e}");
    }
}

#[test]
fn a_node_with_a_changed_state_record_exports_no_snapshot_and_says_so() {
    let (ledger, p) = mem_ledger(3);
    rewrite(ledger.engine(), CF_STATE, keys::party(&p[1].id), |b| b[0] ^= 0x01);
    let e = ledger.export_snapshot(&mut Vec::new()).expect_err("never ships what importers refuse");
    assert!(is_corrupt(&e), "{e:?}");
    assert!(ledger.corruption().is_some());
}

#[test]
fn audit_sweeps_every_state_record_and_names_the_damaged_ones() {
    let (ledger, p) = mem_ledger(3);
    let clean = ledger.audit(false).expect("audit");
    assert!(clean.is_clean() && clean.state_records_checked > 0, "{clean:?}");
    rewrite(ledger.engine(), CF_STATE, keys::party(&p[2].id), |b| b.truncate(3));
    let report = ledger.audit(false).expect("audit");
    assert!(!report.is_clean());
    assert_eq!(report.first_problem, None, "the leaves are sound");
    assert_eq!(report.state_records_damaged, 1);
    assert_eq!(report.state_records_checked, clean.state_records_checked);
    assert!(report.state_damage[0].contains("party/#"), "{:?}", report.state_damage);
    assert!(ledger.corruption().is_some(), "noted for health");
}
