//! Records the ledger reads back from disk: the stored genesis, the
//! applied state, and a whole store opened from arbitrary key-value pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veritrace_ledger::schema::AppliedState;
use veritrace_ledger::{ALL_CFS, Ledger, LedgerOptions};
use veritrace_storage::{KvEngine as _, MemEngine, WriteBatch, WriteOptions};

fuzz_target!(|data: &[u8]| {
    let _ = veritrace_ledger::Genesis::decode(data);
    let _ = AppliedState::decode(data);
    // Pairs of (column family, key, value) split from the input.
    let engine = MemEngine::new(ALL_CFS);
    let mut batch = WriteBatch::new();
    for chunk in data.chunks(24) {
        let Some((&cf, rest)) = chunk.split_first() else { continue };
        let (key, value) = rest.split_at(rest.len().min(9));
        batch.put(ALL_CFS[usize::from(cf) % ALL_CFS.len()], key.to_vec(), value.to_vec());
    }
    if engine.write(batch, WriteOptions::SYNC).is_ok()
        && let Ok(ledger) = Ledger::open(std::sync::Arc::new(engine), LedgerOptions::default())
    {
        let head = ledger.tree_head();
        for i in 0..head.tree_size.min(4) {
            let _ = ledger.leaf(i);
            let _ = ledger.inclusion_proof(i, head.tree_size);
        }
        let _ = ledger.audit(false);
    }
});
