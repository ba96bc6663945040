//! Ledger apply throughput on real RocksDB (fsync per batch) and on the
//! in-memory engine, with 256-byte signed events.
//!
//! Run: `cargo bench -p veritrace-tests --bench ledger_apply`.
//! Each iteration applies one batch; throughput is reported in envelopes.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use veritrace_ledger::testing::{genesis, observe, signed};
use veritrace_ledger::{ALL_CFS, BatchHeader, Ledger, LedgerOptions, Outcome};
use veritrace_storage::{KvEngine, MemEngine};
use veritrace_store_rocksdb::RocksEngine;

const ITEM: &str = "urn:epc:id:sgtin:0614141.112345.400";

/// Pre-signed envelopes of about 256 bytes each (signing is not timed).
fn envelopes(n: usize, start_nonce: u64) -> Vec<Vec<u8>> {
    let (_, parties) = genesis(4);
    let probe = signed(&parties[0], 0, observe(&[ITEM], 0)).len();
    let pad = 256usize.saturating_sub(probe);
    (0..n).map(|i| signed(&parties[i % 4], start_nonce + i as u64, observe(&[ITEM], pad))).collect()
}

fn bench_engine<E: KvEngine>(c: &mut Criterion, name: &str, ledger: Ledger<E>) {
    let mut group = c.benchmark_group(format!("apply_{name}"));
    group.sample_size(20);
    // Nonces never repeat across iterations or groups: every envelope applies.
    let mut next_nonce = 0u64;
    for batch in [1usize, 100, 1000] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter_batched(
                || {
                    next_nonce += batch as u64;
                    envelopes(batch, next_nonce - batch as u64)
                },
                |envs| {
                    let index = ledger.applied().applied_index + 1;
                    let header = BatchHeader { log_index: index, commit_time_ms: index as i64 };
                    let receipts = ledger.apply(&header, &envs).expect("apply");
                    assert!(receipts.iter().all(|r| r.outcome == Outcome::Applied), "every envelope applies");
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn apply(c: &mut Criterion) {
    let (g, _) = genesis(4);
    let dir = tempfile::tempdir().expect("tempdir");
    let rocks = RocksEngine::open(dir.path(), ALL_CFS).expect("open RocksDB");
    bench_engine(c, "rocksdb_fsync", Ledger::create(rocks, &g, LedgerOptions::default()).expect("create"));
    bench_engine(c, "mem", Ledger::create(MemEngine::new(ALL_CFS), &g, LedgerOptions::default()).expect("create"));
}

criterion_group!(benches, apply);
criterion_main!(benches);
