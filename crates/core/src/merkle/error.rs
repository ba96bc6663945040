//! Errors of proof generation and verification.

use std::convert::Infallible;

use super::NodeId;

/// Why a Merkle computation or verification failed.
///
/// `E` is the [`NodeSource`](super::NodeSource)'s error; functions that read
/// no storage (verification, [`Frontier`](super::Frontier)) use the default
/// [`Infallible`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError<E = Infallible> {
    /// The leaf index is not below the tree size.
    #[error("leaf index {leaf_index} is out of range for a tree of {tree_size} leaves")]
    LeafOutOfRange {
        /// The requested leaf.
        leaf_index: u64,
        /// The tree size it was requested in.
        tree_size: u64,
    },
    /// Consistency sizes must satisfy `1 <= first <= second`.
    #[error("invalid consistency sizes: first {first}, second {second} (need 1 <= first <= second)")]
    InvalidSizes {
        /// The older tree size.
        first: u64,
        /// The newer tree size.
        second: u64,
    },
    /// The proof has fewer hashes than the sizes require.
    #[error("proof too short: expected {expected} hashes, got {got}")]
    ProofTooShort {
        /// Number of hashes the sizes require.
        expected: usize,
        /// Number of hashes supplied.
        got: usize,
    },
    /// The proof has more hashes than the sizes require.
    #[error("proof too long: expected {expected} hashes, got {got}")]
    ProofTooLong {
        /// Number of hashes the sizes require.
        expected: usize,
        /// Number of hashes supplied.
        got: usize,
    },
    /// The proof does not lead to the expected root(s).
    #[error("proof does not match the root")]
    RootMismatch,
    /// A frontier needs one peak per set bit of its size.
    #[error("invalid frontier: size {size} needs {expected} peaks, got {got}")]
    InvalidFrontier {
        /// The claimed tree size.
        size: u64,
        /// `size.count_ones()`.
        expected: usize,
        /// Number of peaks supplied.
        got: usize,
    },
    /// The tree already holds `u64::MAX` leaves.
    #[error("the tree is full")]
    TreeFull,
    /// A size beyond the leaves held was asked of a [`MemTree`](super::MemTree).
    #[error("size {requested} is beyond the {available} leaves held")]
    SizeBeyondTree {
        /// The size asked for.
        requested: u64,
        /// The number of leaves held.
        available: u64,
    },
    /// Reading a node from the [`NodeSource`](super::NodeSource) failed.
    #[error("node lookup failed")]
    Source(#[source] E),
}

impl<E> MerkleError<E> {
    /// Converts the [`MerkleError::Source`] payload, keeping every other variant.
    pub fn map_source<F>(self, f: impl FnOnce(E) -> F) -> MerkleError<F> {
        match self {
            MerkleError::LeafOutOfRange { leaf_index, tree_size } => {
                MerkleError::LeafOutOfRange { leaf_index, tree_size }
            }
            MerkleError::InvalidSizes { first, second } => MerkleError::InvalidSizes { first, second },
            MerkleError::ProofTooShort { expected, got } => MerkleError::ProofTooShort { expected, got },
            MerkleError::ProofTooLong { expected, got } => MerkleError::ProofTooLong { expected, got },
            MerkleError::RootMismatch => MerkleError::RootMismatch,
            MerkleError::InvalidFrontier { size, expected, got } => {
                MerkleError::InvalidFrontier { size, expected, got }
            }
            MerkleError::TreeFull => MerkleError::TreeFull,
            MerkleError::SizeBeyondTree { requested, available } => {
                MerkleError::SizeBeyondTree { requested, available }
            }
            MerkleError::Source(e) => MerkleError::Source(f(e)),
        }
    }
}

impl MerkleError<Infallible> {
    /// Re-types a storage-free error (from verification or a
    /// [`Frontier`](super::Frontier)) for any source error type.
    pub fn widen<F>(self) -> MerkleError<F> {
        self.map_source(|never| match never {})
    }
}

/// A map-backed [`NodeSource`](super::NodeSource) does not hold this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node {0:?} is not stored")]
pub struct MissingNode(pub NodeId);
