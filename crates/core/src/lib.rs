//! Veritrace's pure domain core.
//!
//! Everything a client, an auditor or a node needs to agree on what the
//! ledger means, with no I/O and no async: so it links alone into an
//! offline verifier.
//!
//! * [`hash`]: the blake3 [`Hash`] type.
//! * [`keys`], [`envelope`]: ed25519 keys with signing contexts, signed
//!   envelopes with canonical bytes and ids; [`cofactored`]: the signature
//!   rule, one at a time or batched.
//! * [`leaf`], [`tree_head`]: what a ledger leaf is and a node's signed
//!   statement of the root.
//! * [`reason`]: stable machine-readable refusal codes.
//! * [`merkle`]: the append-only Merkle tree (RFC 9162 structure, blake3,
//!   0x00 / 0x01 domain separation), inclusion and consistency proofs.
//! * [`gs1`]: GTIN, SGTIN EPC URIs and GS1 Digital Link, normalised.
//! * [`code`]: secret verification codes and their salted digests.
//! * [`vocab`]: CBV vocabulary values and what each bizStep does to custody.
//! * [`scan`]: consumer scans: clone signals, wrong-code lock-out, verdicts.
//! * [`founders`]: founding parties' signatures on a genesis.
//! * [`party_call`]: the signed credential of a party-plane gRPC call.
//! * [`cosign`]: co-signed tree heads and equivocation evidence.
//! * [`private_data`]: salted commitments to private business fields.
//! * [`receipt`]: offline checking of a receipt, its proof and tree head.

pub mod code;
pub mod cofactored;
pub mod cosign;
pub mod envelope;
pub mod founders;
pub mod gs1;
pub mod hash;
pub mod ids;
pub mod keys;
pub mod label_token;
pub mod leaf;
pub mod merkle;
pub mod oprf;
pub mod party_call;
pub mod private_data;
pub mod reason;
pub mod receipt;
pub mod scan;
pub mod tree_head;
pub mod vocab;

pub use envelope::{Envelope, EnvelopeError};
pub use hash::{HASH_LEN, Hash};
pub use keys::{PublicKey, SecretKey, SigningContext};
pub use leaf::LeafRecord;
pub use reason::Reason;
pub use tree_head::{SignedTreeHead, TreeHead};
