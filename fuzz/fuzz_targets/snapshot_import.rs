//! A snapshot file as a leader (or a backup) hands it over, imported into
//! an empty store: refused with an error, never a panic, never half a
//! ledger that opens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veritrace_ledger::{ALL_CFS, Ledger, LedgerOptions};
use veritrace_storage::MemEngine;

fuzz_target!(|data: &[u8]| {
    let engine = std::sync::Arc::new(MemEngine::new(ALL_CFS));
    if let Ok((ledger, _)) = Ledger::import_snapshot(engine, data, LedgerOptions::default()) {
        let _ = ledger.audit(false);
    }
});
