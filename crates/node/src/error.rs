//! Errors of a running node.

use std::path::PathBuf;

use veritrace_consensus::{DriverError, LogStoreError, StartError};
use veritrace_ledger::LedgerError;
use veritrace_net::NetError;
use veritrace_storage::StorageError;

use crate::{ConfigError, KeyFileError};

/// Why a node could not start or a request to it failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration file is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The node key file is unusable.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The genesis file is unusable or does not match the data directory.
    #[error("genesis {path}: {reason}")]
    Genesis {
        /// The genesis file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The storage engine failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The Raft log store failed.
    #[error(transparent)]
    LogStore(#[from] LogStoreError),
    /// The network failed.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The Raft driver could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The Raft driver refused or failed the request.
    #[error(transparent)]
    Driver(#[from] DriverError),
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
    /// Wrong codes lock this serial until `until_ms` (unix ms).
    #[error("too many wrong codes for this item; try again after {until_ms} (unix ms)")]
    LockedOut {
        /// When the lock-out ends.
        until_ms: i64,
    },
    /// The node lacks configuration the request needs.
    #[error("node is not configured for this: {0}")]
    NotConfigured(String),
    /// The ledger refused the consumer scan the node tried to record.
    #[error("the ledger refused the scan record: {reason}: {message}")]
    ScanRefused {
        /// Machine-readable reason.
        reason: String,
        /// Detail.
        message: String,
    },
    /// The leader's answer did not decode (a version mismatch).
    #[error("malformed answer from the cluster: {0}")]
    Answer(String),
}

impl NodeError {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        NodeError::InvalidArgument { field: field.into(), reason: reason.into() }
    }
}
