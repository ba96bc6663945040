//! GS1 identifiers as clients and labels write them: SGTIN, SSCC and SGLN
//! in every form (EPC URI, Digital Link, element string), EPC URIs of any
//! scheme, label tokens and tracking numbers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veritrace_core::gs1::{EpcId, Sgln, Sgtin, Sscc};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(id) = Sgtin::parse_any(s) {
        let _ = id.to_epc_uri(7);
        let _ = id.to_digital_link();
    }
    let _ = Sscc::parse_any(s);
    let _ = Sgln::parse_any(s);
    if let Ok(epc) = EpcId::parse(s) {
        let _ = epc.key_bytes();
    }
    let _ = veritrace_core::label_token::LabelToken::parse(s);
    let _ = veritrace_core::vocab::parse_tracking(s);
});
