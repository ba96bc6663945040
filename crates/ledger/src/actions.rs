//! Item keys of the indexes.

use veritrace_core::gs1::{EpcId, Gtin, Serial, Sgtin};

/// The item-index key of a GTIN + serial, or `None` when either is invalid.
pub fn sgtin_key(gtin: &str, serial: &str) -> Option<Vec<u8>> {
    let gtin = Gtin::parse(gtin).ok()?;
    let serial = Serial::parse(serial).ok()?;
    Some(EpcId::Sgtin(Sgtin::new(gtin, serial)).key_bytes())
}
