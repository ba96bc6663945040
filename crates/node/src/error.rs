//! Errors of starting and running a node process.

use std::path::PathBuf;

use veritrace_net::NetError;
use veritrace_server::ServeError;
use veritrace_service::ServiceError;
use veritrace_storage::StorageError;

use crate::{ConfigError, KeyFileError};

/// Why a node could not start or stopped with an error.
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
    /// The storage engine could not be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The network could not start.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The application layer could not start (ledger, Raft log, driver).
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A listener could not start or failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// A code key share file is unusable.
    #[error("code key share {path}: {reason}")]
    CodeKeyShare {
        /// The share file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The Raft driver stopped while the node was serving (a write to the
    /// Raft log failed, e.g. the disk is full): the node exits so that its
    /// supervisor restarts it, instead of answering `SHUTTING_DOWN`.
    #[error("the Raft driver stopped: {0}")]
    DriverStopped(String),
    /// A file or directory could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}
