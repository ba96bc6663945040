//! Shared helpers for the cross-crate tests: ledgers on real RocksDB in
//! temporary directories.

use std::path::Path;

use veritrace_ledger::testing::genesis;
use veritrace_ledger::{ALL_CFS, Ledger, LedgerOptions};
use veritrace_store_rocksdb::RocksEngine;

/// Opens the RocksDB engine of a ledger at `dir`.
pub fn engine(dir: &Path) -> RocksEngine {
    RocksEngine::open(dir, ALL_CFS).expect("open RocksDB")
}

/// Creates a fixture ledger (genesis with `n` parties) on RocksDB at `dir`.
pub fn create(dir: &Path, n: usize) -> Ledger<RocksEngine> {
    let (g, _) = genesis(n);
    Ledger::create(engine(dir), &g, LedgerOptions::default()).expect("create ledger")
}

/// Reopens the ledger at `dir`.
pub fn reopen(dir: &Path) -> Ledger<RocksEngine> {
    Ledger::open(engine(dir), LedgerOptions::default()).expect("reopen ledger")
}
