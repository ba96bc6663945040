//! The append-only Merkle tree: RFC 9162 structure, blake3 hashing.
//!
//! # Tree shape
//!
//! The tree over leaves `d[0..n)` has exactly the shape of RFC 9162 §2.1.1
//! (Certificate Transparency v2):
//!
//! ```text
//! MTH({})      = blake3("")                        (empty_root)
//! MTH({d0})    = blake3(0x00 || d0)                (leaf_hash)
//! MTH(D[n])    = blake3(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   (node_hash)
//!                where k is the largest power of two smaller than n
//! ```
//!
//! The only departure from RFC 9162 is the hash function: blake3 instead of
//! SHA-256. The one-byte prefixes [`LEAF_PREFIX`] (`0x00`) and
//! [`NODE_PREFIX`] (`0x01`) separate the two domains, so a leaf can never be
//! passed off as an interior node (second-preimage protection). Inclusion
//! proofs ([`inclusion_proof`], RFC 9162 §2.1.3) and consistency proofs
//! ([`consistency_proof`], §2.1.4) are byte-for-byte the RFC's `PATH` and
//! `PROOF` lists, and [`verify_inclusion`] / [`verify_consistency`] are the
//! RFC's verification algorithms (§2.1.3.2, §2.1.4.2): plain functions of
//! their arguments that an offline verifier can run without any storage.
//!
//! # Storage model: perfect nodes only
//!
//! Because the left child of every node is a perfect subtree of `2^k`
//! leaves, every node of every past version of the tree is either
//!
//! * a *perfect* subtree: `2^level` leaves starting at a multiple of
//!   `2^level`, named by a [`NodeId`] `{ level, index }` covering leaves
//!   `[index << level, (index + 1) << level)`. Once complete, its hash never
//!   changes, whatever is appended later; or
//! * a *right-edge* node of some tree size `m`, whose hash is the right fold
//!   (`node_hash(p0, node_hash(p1, ... pk))`) of the perfect subtrees that
//!   decompose its range (one per set bit of its width, largest first).
//!
//! So storage only ever holds perfect nodes (level 0 being the leaf hashes),
//! written once by [`Frontier::append`], and read back through the
//! [`NodeSource`] trait. Roots and proofs for *any* past size `m <= n` are
//! then computed from `O(log n)` perfect-node reads: at most one node per
//! level for the path, plus one fold of at most 64 peaks for the single
//! right-edge node a proof can need. Nothing ever reads a node that is not
//! complete at the requested size, so a proof for size `m` is the same
//! whether it is generated at size `m` or long after.
//!
//! [`Frontier`] keeps the right edge (the peaks) of the growing tree in
//! memory for appends and the current root; [`MemTree`] is a complete
//! in-memory store for tests, benches and clients.

mod error;
mod frontier;
mod mem;
mod proof;
mod verify;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::ops::Range;

use crate::Hash;

pub use error::{MerkleError, MissingNode};
pub use frontier::{Frontier, peak_ids};
pub use mem::MemTree;
pub use proof::{consistency_proof, inclusion_proof, root_at};
pub use verify::{verify_consistency, verify_inclusion};

/// Domain-separation prefix hashed before a leaf's bytes.
pub const LEAF_PREFIX: u8 = 0x00;

/// Domain-separation prefix hashed before the two children of an interior node.
pub const NODE_PREFIX: u8 = 0x01;

/// The hash of a leaf: `blake3(0x00 || leaf_bytes)`.
pub fn leaf_hash(leaf_bytes: &[u8]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[LEAF_PREFIX]);
    hasher.update(leaf_bytes);
    hasher.finalize().into()
}

/// The hash of an interior node: `blake3(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(left.as_bytes());
    buf[33..].copy_from_slice(right.as_bytes());
    Hash::digest(&buf)
}

/// The root of the empty tree: `blake3("")`, as RFC 9162 defines `MTH({})`.
pub fn empty_root() -> Hash {
    Hash::digest(b"")
}

/// A perfect subtree: `2^level` leaves `[index << level, (index + 1) << level)`.
///
/// Level 0 nodes are the leaves themselves (`index` is the leaf index).
/// The derived order (level, then index) is the order of [`NodeId::to_key`]
/// keys, so a key-value store keeps each level contiguous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves: the subtree holds `2^level` leaves.
    pub level: u8,
    /// Position among the nodes of this level, leftmost 0.
    pub index: u64,
}

/// Length of [`NodeId::to_key`].
pub const NODE_KEY_LEN: usize = 9;

impl NodeId {
    /// The level-0 node of leaf `index`.
    pub const fn leaf(index: u64) -> Self {
        NodeId { level: 0, index }
    }

    /// Storage key: the level byte, then the index as big-endian u64.
    pub fn to_key(&self) -> [u8; NODE_KEY_LEN] {
        let mut key = [0u8; NODE_KEY_LEN];
        key[0] = self.level;
        key[1..].copy_from_slice(&self.index.to_be_bytes());
        key
    }

    /// Parses a [`NodeId::to_key`] key.
    ///
    /// Returns `None` unless `key` is exactly 9 bytes naming a node that
    /// fits in a tree of at most `u64::MAX` leaves (see [`NodeId::leaves`]).
    pub fn from_key(key: &[u8]) -> Option<NodeId> {
        let (&level, index) = key.split_first()?;
        let index = u64::from_be_bytes(index.try_into().ok()?);
        let id = NodeId { level, index };
        id.leaves().map(|_| id)
    }

    /// The leaves this node covers, or `None` if they do not fit in a tree
    /// of at most `u64::MAX` leaves (`level >= 64` or `index` too large).
    pub fn leaves(&self) -> Option<Range<u64>> {
        let width = 1u64.checked_shl(u32::from(self.level))?;
        let start = self.index.checked_mul(width)?;
        let end = start.checked_add(width)?;
        Some(start..end)
    }

    /// Whether this node is complete (all its leaves present) in a tree of
    /// `size` leaves, i.e. whether its hash exists and is final at that size.
    pub fn is_complete_in(&self, size: u64) -> bool {
        self.leaves().is_some_and(|r| r.end <= size)
    }
}

/// Source of perfect-subtree hashes (the ledger implements it over RocksDB).
///
/// The proof and root functions only ever ask for nodes that are complete
/// at the tree size they were given (see [`NodeId::is_complete_in`]).
pub trait NodeSource {
    /// Why a node could not be read; surfaces as [`MerkleError::Source`].
    type Error;

    /// The hash of the perfect subtree `id`.
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;

    fn node(&self, id: NodeId) -> Result<Hash, Self::Error> {
        (**self).node(id)
    }
}

impl<H: BuildHasher> NodeSource for HashMap<NodeId, Hash, H> {
    type Error = MissingNode;

    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.get(&id).copied().ok_or(MissingNode(id))
    }
}

impl NodeSource for BTreeMap<NodeId, Hash> {
    type Error = MissingNode;

    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.get(&id).copied().ok_or(MissingNode(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_domain_separated() {
        let a = leaf_hash(b"x");
        assert_eq!(a, Hash::digest(b"\x00x"));
        let n = node_hash(&a, &a);
        let mut buf = vec![NODE_PREFIX];
        buf.extend_from_slice(a.as_bytes());
        buf.extend_from_slice(a.as_bytes());
        assert_eq!(n, Hash::digest(&buf));
        assert_eq!(empty_root(), Hash::from(blake3::hash(b"")));
        assert_ne!(leaf_hash(b""), empty_root());
    }

    #[test]
    fn node_key_round_trip_and_order() {
        let ids = [
            NodeId::leaf(0),
            NodeId::leaf(u64::MAX - 1),
            NodeId { level: 1, index: 7 },
            NodeId { level: 63, index: 0 },
        ];
        for id in ids {
            assert_eq!(NodeId::from_key(&id.to_key()), Some(id));
        }
        let mut sorted = ids;
        sorted.sort();
        let mut keys: Vec<_> = ids.iter().map(NodeId::to_key).collect();
        keys.sort();
        let from_keys: Vec<_> = keys.iter().filter_map(|k| NodeId::from_key(k)).collect();
        assert_eq!(from_keys, sorted);
    }

    #[test]
    fn node_key_rejects_bad_keys() {
        assert_eq!(NodeId::from_key(&[]), None);
        assert_eq!(NodeId::from_key(&[0; 8]), None);
        assert_eq!(NodeId::from_key(&[0; 10]), None);
        assert_eq!(NodeId::from_key(&NodeId { level: 64, index: 0 }.to_key()), None);
        assert_eq!(NodeId::from_key(&NodeId { level: 63, index: 1 }.to_key()), None);
        assert_eq!(NodeId::from_key(&NodeId::leaf(u64::MAX).to_key()), None);
    }

    #[test]
    fn completeness() {
        let id = NodeId { level: 2, index: 1 };
        assert_eq!(id.leaves(), Some(4..8));
        assert!(!id.is_complete_in(7));
        assert!(id.is_complete_in(8));
        assert!(!NodeId { level: 200, index: 0 }.is_complete_in(u64::MAX));
    }
}
