//! The application layer's proposal and answer formats (a Raft entry's
//! envelopes, the receipts a leader answers a follower with).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(envelopes) = veritrace_service::state_machine::decode_proposal(data) {
        let _ = veritrace_service::state_machine::encode_proposal(&envelopes);
    }
    let _ = veritrace_service::state_machine::decode_answer(data);
});
