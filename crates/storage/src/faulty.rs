//! [`FaultyEngine`]: an engine wrapper that fails writes on demand, for
//! tests of what a node does when its disk refuses a write (full, or an
//! I/O error). Reads pass through. TiKV keeps the same kind of engine
//! next to its production and in-memory ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{KvEngine, KvIter, KvView, StorageError, WriteBatch, WriteOptions};

/// The switch of a [`FaultyEngine`]: while on, every write fails as a full
/// disk would. Cheap to clone; every clone is the same switch.
#[derive(Debug, Clone, Default)]
pub struct WriteFaults {
    failing: Arc<AtomicBool>,
    refused: Arc<AtomicU64>,
}

impl WriteFaults {
    /// Makes every write fail with `No space left on device` (on) or pass
    /// (off).
    pub fn set_disk_full(&self, full: bool) {
        self.failing.store(full, Ordering::SeqCst);
    }

    /// Writes refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }
}

/// Wraps an engine; writes fail while its [`WriteFaults`] say so.
#[derive(Debug)]
pub struct FaultyEngine<E> {
    inner: E,
    faults: WriteFaults,
}

impl<E: KvEngine> FaultyEngine<E> {
    /// `inner`, with writes failing while `faults` is on.
    pub fn new(inner: E, faults: WriteFaults) -> Self {
        FaultyEngine { inner, faults }
    }
}

impl<E: KvEngine> KvEngine for FaultyEngine<E> {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(cf, key)
    }

    fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<(), StorageError> {
        if self.faults.failing.load(Ordering::SeqCst) {
            self.faults.refused.fetch_add(1, Ordering::SeqCst);
            return Err(StorageError::Engine {
                op: "write",
                cause: "IO error: No space left on device (injected)".into(),
                retryable: false,
            });
        }
        self.inner.write(batch, opts)
    }

    fn scan<'a>(&'a self, cf: &str, start: &[u8], end: Option<&[u8]>) -> Result<KvIter<'a>, StorageError> {
        self.inner.scan(cf, start, end)
    }

    fn column_families(&self) -> Vec<String> {
        self.inner.column_families()
    }

    fn read_view(&self, read: &mut dyn FnMut(&dyn KvView)) -> Result<(), StorageError> {
        self.inner.read_view(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemEngine;

    #[test]
    fn writes_fail_while_the_disk_is_full_and_change_nothing() {
        let faults = WriteFaults::default();
        let e = FaultyEngine::new(MemEngine::new(&["a"]), faults.clone());
        let put = |k: &[u8]| {
            let mut b = WriteBatch::new();
            b.put("a", k.to_vec(), b"v".to_vec());
            b
        };
        e.write(put(b"1"), WriteOptions::SYNC).expect("write");
        faults.set_disk_full(true);
        let err = e.write(put(b"2"), WriteOptions::SYNC).expect_err("refused");
        assert!(err.to_string().contains("No space left"), "{err}");
        assert_eq!(e.get("a", b"2").expect("get"), None);
        assert_eq!(e.get("a", b"1").expect("get"), Some(b"v".to_vec()), "reads go on");
        assert_eq!(faults.refused(), 1);
        faults.set_disk_full(false);
        e.write(put(b"2"), WriteOptions::SYNC).expect("write after space returns");
    }
}
