//! EPCIS 2.0 JSON-LD documents as an integrator posts them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(events) = veritrace_epcis::parse_document(text) {
        for e in &events {
            let _ = serde_json::to_string(&veritrace_epcis::event_to_json(e));
        }
    }
});
