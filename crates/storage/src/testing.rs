//! The conformance suite every [`KvEngine`] must pass.
//!
//! Call [`conformance`] from an engine's tests with a factory that opens a
//! fresh, empty engine with the given column families.

use crate::{KvEngine, StorageError, WriteBatch, WriteOptions};

/// Column families the suite opens engines with.
pub const SUITE_CFS: &[&str] = &["a", "b"];

/// Runs every check of the suite against engines made by `open`.
///
/// # Panics
///
/// Panics (as a test failure) on the first broken rule.
pub fn conformance<E: KvEngine>(open: impl Fn(&[&str]) -> E) {
    get_missing_is_none(&open(SUITE_CFS));
    batch_applies_in_order(&open(SUITE_CFS));
    unknown_cf_is_error_and_changes_nothing(&open(SUITE_CFS));
    scan_is_ordered_and_bounded(&open(SUITE_CFS));
    column_families_are_separate(&open(SUITE_CFS));
    view_is_point_in_time(&open(SUITE_CFS));
}

fn get_missing_is_none<E: KvEngine>(e: &E) {
    assert_eq!(e.get("a", b"nope").expect("get"), None);
}

fn batch_applies_in_order<E: KvEngine>(e: &E) {
    let mut b = WriteBatch::new();
    b.put("a", b"k".to_vec(), b"1".to_vec());
    b.put("a", b"k".to_vec(), b"2".to_vec());
    b.put("a", b"gone".to_vec(), b"x".to_vec());
    b.delete("a", b"gone".to_vec());
    e.write(b, WriteOptions::SYNC).expect("write");
    assert_eq!(e.get("a", b"k").expect("get"), Some(b"2".to_vec()));
    assert_eq!(e.get("a", b"gone").expect("get"), None);
}

fn unknown_cf_is_error_and_changes_nothing<E: KvEngine>(e: &E) {
    let mut b = WriteBatch::new();
    b.put("a", b"k".to_vec(), b"v".to_vec());
    b.put("zzz", b"k".to_vec(), b"v".to_vec());
    let err = e.write(b, WriteOptions::SYNC).expect_err("unknown cf must fail");
    assert!(matches!(err, StorageError::UnknownColumnFamily { .. }), "got {err:?}");
    assert_eq!(e.get("a", b"k").expect("get"), None, "a failed batch must change nothing");
    assert!(e.get("zzz", b"k").is_err());
    assert!(e.scan("zzz", b"", None).is_err());
}

fn scan_is_ordered_and_bounded<E: KvEngine>(e: &E) {
    let mut b = WriteBatch::new();
    for k in [&b"c"[..], b"a", b"b", b"d", b"\xff"] {
        b.put("a", k.to_vec(), k.to_vec());
    }
    e.write(b, WriteOptions::NO_SYNC).expect("write");
    let keys = |start: &[u8], end: Option<&[u8]>| -> Vec<Vec<u8>> {
        e.scan("a", start, end).expect("scan").map(|r| r.expect("item").0).collect()
    };
    assert_eq!(keys(b"", None), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec(), b"\xff".to_vec()]);
    assert_eq!(keys(b"b", Some(b"d")), vec![b"b".to_vec(), b"c".to_vec()]);
    assert!(keys(b"d", Some(b"b")).is_empty());
}

fn column_families_are_separate<E: KvEngine>(e: &E) {
    let mut b = WriteBatch::new();
    b.put("a", b"k".to_vec(), b"in-a".to_vec());
    b.put("b", b"k".to_vec(), b"in-b".to_vec());
    e.write(b, WriteOptions::SYNC).expect("write");
    assert_eq!(e.get("a", b"k").expect("get"), Some(b"in-a".to_vec()));
    assert_eq!(e.get("b", b"k").expect("get"), Some(b"in-b".to_vec()));
    let mut cfs = e.column_families();
    cfs.retain(|c| c != "default");
    cfs.sort();
    assert_eq!(cfs, vec!["a".to_string(), "b".to_string()]);
}

fn view_is_point_in_time<E: KvEngine>(e: &E) {
    let mut b = WriteBatch::new();
    b.put("a", b"k".to_vec(), b"old".to_vec());
    b.put("a", b"gone".to_vec(), b"x".to_vec());
    e.write(b, WriteOptions::SYNC).expect("write");
    let mut seen = None;
    e.read_view(&mut |view| {
        // Writes after the view was taken change the engine, not the view.
        let mut b = WriteBatch::new();
        b.put("a", b"k".to_vec(), b"new".to_vec());
        b.put("a", b"added".to_vec(), b"y".to_vec());
        b.delete("a", b"gone".to_vec());
        e.write(b, WriteOptions::SYNC).expect("write during the view");
        let keys: Vec<Vec<u8>> = view.scan("a", b"", None).expect("scan").map(|r| r.expect("item").0).collect();
        let bounded: Vec<Vec<u8>> =
            view.scan("a", b"h", Some(b"z")).expect("scan").map(|r| r.expect("item").0).collect();
        seen = Some((view.get("a", b"k").expect("get"), keys, bounded, view.get("zzz", b"k").is_err()));
    })
    .expect("read_view");
    let (k, keys, bounded, unknown_is_error) = seen.expect("the view was called");
    assert_eq!(k, Some(b"old".to_vec()));
    assert_eq!(keys, vec![b"gone".to_vec(), b"k".to_vec()]);
    assert_eq!(bounded, vec![b"k".to_vec()]);
    assert!(unknown_is_error, "an unknown column family is an error in a view too");
    assert_eq!(e.get("a", b"k").expect("get"), Some(b"new".to_vec()));
    assert_eq!(e.get("a", b"gone").expect("get"), None);
}
