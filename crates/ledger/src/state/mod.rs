//! The ledger's domain state: versioned records in the `state` column
//! family, read and written through per-envelope overlays.

pub mod keys;
mod overlay;
pub mod records;

pub(crate) use overlay::{Overlay, StateView, decode_record, encode_record};
