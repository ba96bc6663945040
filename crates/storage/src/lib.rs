//! Key-value engine traits for Veritrace.
//!
//! Everything above this crate (the ledger state machine, later the Raft log
//! storage) talks to an ordered key-value store only through [`KvEngine`].
//! The production engine lives in `veritrace-store-rocksdb`, the only crate
//! that links RocksDB; [`MemEngine`] serves unit tests and simulations. This
//! mirrors TiKV's `engine_traits`: a crate of traits that never depends on
//! the engine it abstracts, so most edits never relink the C++ library.
//!
//! ### Contract every engine keeps
//!
//! * Keys are ordered bytewise within a column family; [`KvEngine::scan`]
//!   yields them in that order.
//! * [`KvEngine::write`] applies a [`WriteBatch`] atomically: after a crash
//!   either every operation of the batch is visible or none is.
//! * With [`WriteOptions::sync`] set, `write` returns only after the batch
//!   is durable (fsync'd). Without it, a crash may lose the batch (never a
//!   part of it).
//! * Column families are fixed when the engine is opened; naming any other
//!   returns [`StorageError::UnknownColumnFamily`] and changes nothing.
//! * Errors are returned, never panicked on. An engine that fails a write
//!   must be treated as failed by its caller: the ledger stops applying (it
//!   cannot know how much of a non-atomic failure happened outside the
//!   engine).

mod batch;
#[cfg(any(test, feature = "testing"))]
pub mod crash;
mod error;
#[cfg(any(test, feature = "testing"))]
pub mod faulty;
mod mem;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use batch::{BatchOp, WriteBatch};
pub use error::StorageError;
pub use mem::MemEngine;

/// A key-value pair as read from an engine.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// Iterator over the pairs of a range scan, in key order.
pub type KvIter<'a> = Box<dyn Iterator<Item = Result<KvPair, StorageError>> + 'a>;

/// Durability of one [`KvEngine::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// Return only after the batch is on stable storage (fsync). The Raft
    /// path and the ledger's applied index use `true`.
    pub sync: bool,
}

impl WriteOptions {
    /// Durable writes: the call returns after fsync.
    pub const SYNC: WriteOptions = WriteOptions { sync: true };
    /// Buffered writes: atomic, but a crash may lose the most recent ones.
    pub const NO_SYNC: WriteOptions = WriteOptions { sync: false };
}

/// An ordered, transactional (batch-atomic) key-value store with column
/// families. See the crate docs for the contract.
pub trait KvEngine: Send + Sync + 'static {
    /// Reads one key. `Ok(None)` when absent.
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Applies `batch` atomically, durably when `opts.sync` is set.
    fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<(), StorageError>;

    /// Yields the pairs with `start <= key < end` (no upper bound when `end`
    /// is `None`) in key order.
    fn scan<'a>(&'a self, cf: &str, start: &[u8], end: Option<&[u8]>) -> Result<KvIter<'a>, StorageError>;

    /// The column families this engine was opened with.
    fn column_families(&self) -> Vec<String>;

    /// Calls `read` with a point-in-time view of the engine: writes made
    /// after the view was taken, by any thread, are invisible to it, so a
    /// long scan (a snapshot export) sees one consistent state while
    /// writers go on. The view lives only for the call.
    fn read_view(&self, read: &mut dyn FnMut(&dyn KvView)) -> Result<(), StorageError>;
}

/// A consistent, read-only view of an engine at one moment (see
/// [`KvEngine::read_view`]). Reads follow the engine's rules: unknown
/// column families are errors, scans are in key order.
pub trait KvView {
    /// Reads one key as it was when the view was taken.
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Yields the pairs with `start <= key < end` as they were when the view
    /// was taken, in key order.
    fn scan<'a>(&'a self, cf: &str, start: &[u8], end: Option<&[u8]>) -> Result<KvIter<'a>, StorageError>;
}

impl<E: KvEngine + ?Sized> KvEngine for std::sync::Arc<E> {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        (**self).get(cf, key)
    }
    fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<(), StorageError> {
        (**self).write(batch, opts)
    }
    fn scan<'a>(&'a self, cf: &str, start: &[u8], end: Option<&[u8]>) -> Result<KvIter<'a>, StorageError> {
        (**self).scan(cf, start, end)
    }
    fn column_families(&self) -> Vec<String> {
        (**self).column_families()
    }
    fn read_view(&self, read: &mut dyn FnMut(&dyn KvView)) -> Result<(), StorageError> {
        (**self).read_view(read)
    }
}

/// Returns the smallest key greater than every key starting with `prefix`,
/// or `None` when no such key exists (the prefix is all `0xff`). Use it as
/// the exclusive end of a prefix scan.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last != 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_non_ff_byte() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn mem_engine_passes_conformance() {
        testing::conformance(MemEngine::new);
    }
}
