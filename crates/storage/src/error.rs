//! Errors of storage engines.

/// An engine failure. [`StorageError::is_retryable`] tells transient from fatal.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The column family was not declared when the engine was opened.
    #[error("unknown column family {name:?}")]
    UnknownColumnFamily {
        /// The name that was asked for.
        name: String,
    },
    /// The engine could not be opened at `path`.
    #[error("cannot open storage at {path}: {cause}")]
    Open {
        /// Directory of the engine.
        path: String,
        /// The engine's message.
        cause: String,
    },
    /// Stored data failed the engine's own checks (a block checksum, a
    /// truncated file): it is not returned. Not retryable: the store is
    /// damaged and the node must be rebuilt.
    #[error("storage {op} found corrupt data: {cause}")]
    Corrupt {
        /// What was being done (`get`, `scan`, ...).
        op: &'static str,
        /// The engine's message.
        cause: String,
    },
    /// A read, write or scan failed inside the engine.
    #[error("storage {op} failed: {cause}")]
    Engine {
        /// What was being done (`get`, `write`, `scan`, ...).
        op: &'static str,
        /// The engine's message.
        cause: String,
        /// Whether retrying the same call may succeed (busy, timed out).
        retryable: bool,
    },
}

impl StorageError {
    /// True when the same call may succeed if retried; false for failures
    /// that need an operator (corruption, I/O error, misconfiguration).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StorageError::Engine { retryable: true, .. })
    }
}
