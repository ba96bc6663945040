//! Read-time integrity of the `state` column family (`state::seal`): every
//! value carries a tag over its key and bytes. A changed value is refused
//! on read, by apply and by snapshot import; a store written before
//! sealing is sealed once when it is opened.

use veritrace_ledger::schema::{CF_META, CF_STATE};
use veritrace_ledger::state::keys;
use veritrace_ledger::testing::{header, mem_ledger, observe, signed};
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
    let (ledger, p) = mem_ledger(3);
    ledger.apply(&header(1), &[signed(&p[0], 1, observe(&[ITEM], 0))]).expect("apply");
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
    let (ledger, p) = mem_ledger(3);
    ledger.apply(&header(1), &[signed(&p[0], 1, observe(&[ITEM], 0))]).expect("apply");
    rewrite(ledger.engine(), CF_STATE, keys::party(&p[2].id), |b| {
        let last = b.len() - 1;
        b[last] ^= 0x80;
    });
    let mut out = Vec::new();
    ledger.export_snapshot(&mut out).expect("export copies bytes as they are");
    let e = Ledger::import_snapshot(MemEngine::new(ALL_CFS), out.as_slice(), LedgerOptions::default())
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
