//! Errors of the application operations.

use std::path::PathBuf;

use veritrace_consensus::{DriverError, LogStoreError, StartError};
use veritrace_ledger::LedgerError;
use veritrace_storage::StorageError;

/// Why a replica could not start or a request to it failed.
///
/// The edge maps each variant to a gRPC status with a machine-readable
/// reason (`veritrace-server`'s `status` module); nothing here names a
/// transport.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The storage engine failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The Raft log store failed.
    #[error(transparent)]
    LogStore(#[from] LogStoreError),
    /// The Raft driver could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The Raft driver refused or failed the request.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// The stored ledger belongs to another network than the genesis given.
    #[error("genesis: {0}")]
    Genesis(String),
    /// A request argument is invalid; nothing changed.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The argument.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A file or directory could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The item's guess budget is spent until `until_ms` (unix ms).
    #[error("this item takes no more codes for now; try again after {until_ms} (unix ms)")]
    LockedOut {
        /// When the next guess is possible.
        until_ms: i64,
    },
    /// The item's label carries a token and the request did not present
    /// it, or presented another (reason `LABEL_TOKEN_REQUIRED` or
    /// `LABEL_TOKEN_MISMATCH`). Nothing was spent.
    #[error("{message}")]
    LabelToken {
        /// Machine-readable reason.
        reason: &'static str,
        /// Detail.
        message: String,
    },
    /// The replica lacks configuration the request needs.
    #[error("node is not configured for this: {0}")]
    NotConfigured(String),
    /// The ledger refused the consumer scan the replica tried to record.
    #[error("the ledger refused the scan record: {reason}: {message}")]
    ScanRefused {
        /// Machine-readable reason.
        reason: String,
        /// Detail.
        message: String,
    },
    /// Fewer validators than the item's code key needs helped check the
    /// code (threshold-OPRF items): nothing was decided; retry later.
    #[error("the code could not be checked now: {0}")]
    CodeCheckUnavailable(String),
    /// The leader's answer did not decode (a version mismatch).
    #[error("malformed answer from the cluster: {0}")]
    Answer(String),
    /// A request this node refuses with a gRPC code of its own.
    #[error("{reason}: {message}")]
    Refused {
        /// The gRPC code's name: `PERMISSION_DENIED`, `NOT_FOUND` or
        /// `FAILED_PRECONDITION`.
        code: &'static str,
        /// Machine-readable reason.
        reason: &'static str,
        /// Detail.
        message: String,
    },
}

impl ServiceError {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        ServiceError::InvalidArgument { field: field.into(), reason: reason.into() }
    }
}
