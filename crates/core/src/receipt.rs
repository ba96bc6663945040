//! Offline checking of a receipt: that an envelope is in the ledger at the
//! position the receipt claims, under a tree head a node signed.
//!
//! A consumer app or auditor holding the envelope bytes and a receipt with
//! its inclusion proof and signed tree head needs nothing else, and trusts
//! no node beyond checking that [`VerifiedReceipt::tree_head`]'s signer is
//! a validator key it knows (and, to detect a forked log, that tree heads
//! it collects over time are consistent with each other).

use veritrace_proto::ms_from_timestamp;
use veritrace_proto::v1 as pb;

use crate::keys::{KeyError, PublicKey};
use crate::merkle::{self, MerkleError};
use crate::{Envelope, EnvelopeError, Hash, LeafRecord, SignedTreeHead, TreeHead};

/// Why a receipt does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt is not for an envelope in the ledger.
    #[error("receipt outcome is {outcome:?}, not APPLIED or DUPLICATE")]
    NotInLedger {
        /// The outcome found.
        outcome: pb::Outcome,
    },
    /// No inclusion proof or tree head (ask with proofs).
    #[error("receipt carries no {missing}")]
    Missing {
        /// What is missing.
        missing: &'static str,
    },
    /// The envelope bytes do not decode.
    #[error("envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// The envelope's id differs from the receipt's.
    #[error("receipt is for envelope {receipt}, the envelope given is {actual}")]
    WrongEnvelope {
        /// Id in the receipt (hex).
        receipt: String,
        /// Id of the bytes given (hex).
        actual: String,
    },
    /// A hash or key field has the wrong length.
    #[error("{field} is malformed")]
    Malformed {
        /// The field.
        field: &'static str,
    },
    /// The proof is for another leaf or size than the receipt and head.
    #[error(
        "inclusion proof is for leaf {proof_leaf} of {proof_size}, receipt says leaf {leaf} under a head of size {head_size}"
    )]
    ProofMismatch {
        /// Leaf in the proof.
        proof_leaf: u64,
        /// Size in the proof.
        proof_size: u64,
        /// Leaf in the receipt.
        leaf: u64,
        /// Size of the tree head.
        head_size: u64,
    },
    /// The proof does not lead to the head's root.
    #[error("inclusion proof: {0}")]
    Inclusion(MerkleError),
    /// The tree head's signature does not verify.
    #[error("tree head signature: {0}")]
    Signature(KeyError),
}

/// A receipt that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The envelope.
    pub envelope: Envelope,
    /// The leaf rebuilt from the receipt and envelope.
    pub leaf: LeafRecord,
    /// The tree head the leaf is proven under; check that its `signer` is
    /// a validator you trust.
    pub tree_head: SignedTreeHead,
}

/// A signed tree head as its protobuf message (no co-signatures).
pub fn tree_head_to_proto(sth: &SignedTreeHead) -> pb::SignedTreeHead {
    pb::SignedTreeHead {
        tree_size: sth.head.tree_size,
        root_hash: sth.head.root.as_bytes().to_vec(),
        timestamp: Some(veritrace_proto::timestamp_from_ms(sth.head.timestamp_ms)),
        shard_id: sth.head.shard_id,
        signer_key_id: sth.signer.to_bytes().to_vec(),
        signature: sth.signature.to_vec(),
        cosignatures: Vec::new(),
    }
}

/// Converts a protobuf tree head (without checking its signature).
pub fn tree_head_from_proto(sth: &pb::SignedTreeHead) -> Result<SignedTreeHead, ReceiptError> {
    let root =
        Hash::from_slice(&sth.root_hash).map_err(|_| ReceiptError::Malformed { field: "tree_head.root_hash" })?;
    let signer = PublicKey::from_slice(&sth.signer_key_id)
        .map_err(|_| ReceiptError::Malformed { field: "tree_head.signer_key_id" })?;
    let signature: [u8; 64] =
        sth.signature.as_slice().try_into().map_err(|_| ReceiptError::Malformed { field: "tree_head.signature" })?;
    let head = TreeHead {
        shard_id: sth.shard_id,
        tree_size: sth.tree_size,
        root,
        timestamp_ms: sth.timestamp.as_ref().map_or(0, ms_from_timestamp),
    };
    Ok(SignedTreeHead { head, signer, signature })
}

/// The receipt of a stored leaf, with `outcome` (APPLIED when read back,
/// DUPLICATE when answering a resubmission) and without proofs: what a
/// node answers for a leaf it holds.
pub fn receipt_of_leaf(leaf: &LeafRecord, outcome: pb::Outcome) -> pb::Receipt {
    pb::Receipt {
        envelope_id: Hash::digest(&leaf.envelope).as_bytes().to_vec(),
        outcome: outcome as i32,
        leaf_index: leaf.leaf_index,
        log_index: leaf.log_index,
        commit_time: Some(veritrace_proto::timestamp_from_ms(leaf.commit_time_ms)),
        shard_id: leaf.shard_id,
        batch_position: leaf.batch_position,
        ..Default::default()
    }
}

/// Checks `receipt` (with its inclusion proof and signed tree head) against
/// the canonical `envelope_bytes` it is for: the envelope's signature, its
/// id, the leaf rebuilt from the receipt's commit metadata, the inclusion
/// proof up to the head's root, and the head's signature.
pub fn verify_receipt(receipt: &pb::Receipt, envelope_bytes: &[u8]) -> Result<VerifiedReceipt, ReceiptError> {
    let outcome = pb::Outcome::try_from(receipt.outcome).unwrap_or(pb::Outcome::Unspecified);
    if !matches!(outcome, pb::Outcome::Applied | pb::Outcome::Duplicate) {
        return Err(ReceiptError::NotInLedger { outcome });
    }
    let proof = receipt.inclusion.as_ref().ok_or(ReceiptError::Missing { missing: "inclusion proof" })?;
    let sth = receipt.tree_head.as_ref().ok_or(ReceiptError::Missing { missing: "tree head" })?;
    let envelope = Envelope::decode(envelope_bytes)?;
    envelope.verify()?;
    if envelope.id().as_bytes().as_slice() != receipt.envelope_id.as_slice() {
        return Err(ReceiptError::WrongEnvelope {
            receipt: hex::encode(&receipt.envelope_id),
            actual: envelope.id().to_string(),
        });
    }
    let tree_head = tree_head_from_proto(sth)?;
    if proof.leaf_index != receipt.leaf_index || proof.tree_size != tree_head.head.tree_size {
        return Err(ReceiptError::ProofMismatch {
            proof_leaf: proof.leaf_index,
            proof_size: proof.tree_size,
            leaf: receipt.leaf_index,
            head_size: tree_head.head.tree_size,
        });
    }
    let leaf = LeafRecord {
        leaf_index: receipt.leaf_index,
        log_index: receipt.log_index,
        batch_position: receipt.batch_position,
        commit_time_ms: receipt.commit_time.as_ref().map_or(0, ms_from_timestamp),
        shard_id: receipt.shard_id,
        envelope: envelope_bytes.to_vec(),
    };
    let hashes = proof
        .hashes
        .iter()
        .map(|h| Hash::from_slice(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ReceiptError::Malformed { field: "inclusion.hashes" })?;
    merkle::verify_inclusion(&leaf.hash(), leaf.leaf_index, proof.tree_size, &hashes, &tree_head.head.root)
        .map_err(ReceiptError::Inclusion)?;
    tree_head.verify().map_err(ReceiptError::Signature)?;
    Ok(VerifiedReceipt { envelope, leaf, tree_head })
}
