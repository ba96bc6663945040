//! Errors of the ledger.

use veritrace_core::merkle::MerkleError;
use veritrace_storage::StorageError;

/// A failure of a ledger operation. Per-envelope refusals are not errors:
/// they are [`crate::Outcome::Rejected`] receipts.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The storage engine failed. Apply stops; the node must not continue
    /// applying until an operator looks (state on disk is still the last
    /// fully applied batch, because every batch is one atomic write).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Stored data does not decode or contradicts itself.
    #[error("ledger data is corrupt: {what}")]
    Corrupt {
        /// What was found wrong.
        what: String,
    },
    /// A batch arrived out of order.
    #[error("batch log index {got} does not follow the applied index {applied}")]
    OutOfOrder {
        /// Index of the offered batch.
        got: u64,
        /// Last applied index.
        applied: u64,
    },
    /// The store has never been initialised with a genesis.
    #[error("ledger is not initialised (no genesis); create it first")]
    NotInitialised,
    /// `create` on a store that already holds a ledger.
    #[error("ledger is already initialised")]
    AlreadyInitialised,
    /// The genesis document is invalid.
    #[error("invalid genesis: {what}")]
    InvalidGenesis {
        /// What is wrong with it.
        what: String,
    },
    /// A proof or lookup asked for something outside the tree.
    #[error("{what}")]
    OutOfRange {
        /// What was out of range.
        what: String,
    },
    /// A snapshot could not be read or does not match its root.
    #[error("snapshot rejected: {what}")]
    Snapshot {
        /// Why.
        what: String,
    },
}

impl From<MerkleError<LedgerError>> for LedgerError {
    fn from(e: MerkleError<LedgerError>) -> Self {
        match e {
            MerkleError::Source(s) => s,
            other => LedgerError::OutOfRange { what: other.to_string() },
        }
    }
}
