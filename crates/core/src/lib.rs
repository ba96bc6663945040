//! Veritrace's pure domain core.
//!
//! Everything a client, an auditor or a node needs to agree on what the
//! ledger means, with no I/O and no async: so it links alone into an
//! offline verifier.
//!
//! * [`hash`]: the blake3 [`Hash`] type.
//! * [`merkle`]: the append-only Merkle tree (RFC 9162 structure, blake3,
//!   0x00 / 0x01 domain separation), inclusion and consistency proofs.
//! * [`gs1`]: GTIN, SGTIN EPC URIs and GS1 Digital Link, normalised.
//! * [`code`]: secret verification codes and their salted digests.

pub mod code;
pub mod gs1;
pub mod hash;
pub mod merkle;

pub use hash::{Hash, HASH_LEN};
