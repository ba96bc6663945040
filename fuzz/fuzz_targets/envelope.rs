//! Envelopes and leaf records as a peer or a disk hands them over: decode
//! (and the canonical-encoding check inside it), the stored leaf format,
//! and a receipt check against whatever decodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = veritrace_core::Envelope::decode(data) {
        let _ = env.transaction();
        let _ = env.id();
    }
    if let Ok(leaf) = veritrace_core::LeafRecord::decode(data) {
        let _ = veritrace_core::Envelope::decode(&leaf.envelope);
    }
    let _ = veritrace_proto::v1::SignedEnvelope::decode(data);
    if let Ok(receipt) = veritrace_proto::v1::Receipt::decode(data) {
        let _ = veritrace_core::receipt::verify_receipt(&receipt, data);
    }
});
