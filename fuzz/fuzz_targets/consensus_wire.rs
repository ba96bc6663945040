//! Everything a peer sends the Raft driver: proposal batches (entry data),
//! forwarded requests and their answers, member metadata, membership
//! change contexts, snapshot descriptors and raft-rs messages.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    veritrace_consensus::fuzzing::decode_everything(data);
});
