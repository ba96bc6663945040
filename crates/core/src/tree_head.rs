//! Tree heads: a node's signed statement of the ledger's root at a size.

use crate::Hash;
use crate::keys::{KeyError, PublicKey, SecretKey, SigningContext};

/// The ledger's commitment to its first `tree_size` leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Shard of the log (0 until the log is sharded).
    pub shard_id: u32,
    /// Number of leaves committed to.
    pub tree_size: u64,
    /// Merkle root of those leaves.
    pub root: Hash,
    /// Commit time of the newest leaf, unix milliseconds (0 when empty).
    pub timestamp_ms: i64,
}

impl TreeHead {
    /// The exact bytes a node signs (after the tree-head context prefix).
    pub fn signing_bytes(&self) -> [u8; 4 + 8 + 32 + 8] {
        let mut out = [0u8; 52];
        out[..4].copy_from_slice(&self.shard_id.to_be_bytes());
        out[4..12].copy_from_slice(&self.tree_size.to_be_bytes());
        out[12..44].copy_from_slice(self.root.as_bytes());
        out[44..].copy_from_slice(&self.timestamp_ms.to_be_bytes());
        out
    }

    /// Signs this head with a node key.
    pub fn sign(&self, key: &SecretKey) -> SignedTreeHead {
        SignedTreeHead {
            head: *self,
            signer: key.public(),
            signature: key.sign(SigningContext::TreeHead, &self.signing_bytes()),
        }
    }
}

/// A tree head with the signature of the node that served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    /// The head.
    pub head: TreeHead,
    /// The signing node's public key.
    pub signer: PublicKey,
    /// ed25519 signature over the tree-head context and `signing_bytes`.
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    /// Checks the signature (not whether the signer is trusted: compare
    /// `signer` with the validator keys you trust).
    pub fn verify(&self) -> Result<(), KeyError> {
        self.signer.verify(SigningContext::TreeHead, &self.head.signing_bytes(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_head_verifies_and_detects_changes() {
        let key = SecretKey::from_seed_label("node1");
        let head = TreeHead { shard_id: 0, tree_size: 10, root: Hash::digest(b"r"), timestamp_ms: 5 };
        let sth = head.sign(&key);
        assert_eq!(sth.verify(), Ok(()));
        let mut bad = sth.clone();
        bad.head.tree_size = 11;
        assert_eq!(bad.verify(), Err(KeyError::BadSignature));
    }
}
