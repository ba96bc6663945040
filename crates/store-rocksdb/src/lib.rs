//! RocksDB implementation of [`veritrace_storage::KvEngine`].
//!
//! This is the only crate in the workspace that links RocksDB. Everything
//! above it depends on the trait, so the ledger and (later) consensus are
//! tested against the in-memory engine too.
//!
//! Durability: RocksDB's write-ahead log is always on. A write with
//! `WriteOptions::SYNC` fsyncs the WAL before returning; an unsynced write
//! is atomic but may be lost in a crash. On open, WAL recovery runs in
//! `TolerateCorruptedTailRecords` mode: a torn record at the very end of
//! the log (a write cut short by the crash, never acknowledged as synced)
//! is dropped, and any other corruption refuses the open.
//!
//! Why not `PointInTime` (RocksDB's default): it stops replay at the first
//! corrupt record *anywhere* and opens without a word, so one bad sector in
//! the middle of the log silently drops every synced write after it. The
//! Raft log lives here: a lost synced vote lets a node vote twice in a term,
//! a lost synced entry un-acknowledges a committed write. A node that
//! cannot prove its log must not start; the operator rebuilds it from its
//! peers (operator guide, "A node refuses to start: corrupt write-ahead log").

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, DB, DBCompressionType, DBRecoveryMode, Direction, IteratorMode, Options};
use veritrace_storage::{BatchOp, KvEngine, KvIter, KvView, StorageError, WriteBatch, WriteOptions};

/// A RocksDB database opened with a fixed set of column families.
pub struct RocksEngine {
    db: DB,
    cfs: Vec<String>,
}

impl std::fmt::Debug for RocksEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksEngine").field("path", &self.db.path()).field("cfs", &self.cfs).finish()
    }
}

impl RocksEngine {
    /// Opens (creating if needed) the database at `path` with column
    /// families `cfs`. Column families found on disk but not named are
    /// opened too (so a newer layout never fails to open on an older
    /// binary), but cannot be used through this engine.
    pub fn open(path: &Path, cfs: &[&str]) -> Result<Self, StorageError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_wal_recovery_mode(DBRecoveryMode::TolerateCorruptedTailRecords);
        opts.set_compression_type(DBCompressionType::Lz4);
        opts.set_bottommost_compression_type(DBCompressionType::Zstd);
        // Keep file handles bounded; a node runs next to other services.
        opts.set_max_open_files(512);

        let open_err =
            |e: rocksdb::Error| StorageError::Open { path: path.display().to_string(), cause: e.to_string() };
        let mut names: Vec<String> = cfs.iter().map(|s| s.to_string()).collect();
        if let Ok(existing) = DB::list_cf(&opts, path) {
            for cf in existing {
                if cf != "default" && !names.contains(&cf) {
                    names.push(cf);
                }
            }
        }
        let descriptors = names.iter().map(|name| ColumnFamilyDescriptor::new(name, cf_options()));
        let db = DB::open_cf_descriptors(&opts, path, descriptors).map_err(open_err)?;
        Ok(Self { db, cfs: cfs.iter().map(|s| s.to_string()).collect() })
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StorageError> {
        if !self.cfs.iter().any(|c| c == name) {
            return Err(StorageError::UnknownColumnFamily { name: name.to_string() });
        }
        self.db.cf_handle(name).ok_or_else(|| StorageError::UnknownColumnFamily { name: name.to_string() })
    }

    /// Forces memtables to disk (tests use it to make tampering visible to
    /// a raw reopen; production never needs it).
    pub fn flush(&self) -> Result<(), StorageError> {
        for name in &self.cfs {
            let cf = self.cf(name)?;
            self.db.flush_cf(cf).map_err(|e| engine_err("flush", e))?;
        }
        Ok(())
    }
}

fn cf_options() -> Options {
    let mut o = Options::default();
    o.set_compression_type(DBCompressionType::Lz4);
    o
}

fn engine_err(op: &'static str, e: rocksdb::Error) -> StorageError {
    use rocksdb::ErrorKind;
    if e.kind() == ErrorKind::Corruption {
        return StorageError::Corrupt { op, cause: e.to_string() };
    }
    let retryable =
        matches!(e.kind(), ErrorKind::Busy | ErrorKind::TimedOut | ErrorKind::TryAgain | ErrorKind::Incomplete);
    StorageError::Engine { op, cause: e.to_string(), retryable }
}

impl KvEngine for RocksEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let handle = self.cf(cf)?;
        self.db.get_cf(handle, key).map_err(|e| engine_err("get", e))
    }

    fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<(), StorageError> {
        let mut wb = rocksdb::WriteBatch::default();
        for op in batch.into_ops() {
            match op {
                BatchOp::Put { cf, key, value } => wb.put_cf(self.cf(cf)?, key, value),
                BatchOp::Delete { cf, key } => wb.delete_cf(self.cf(cf)?, key),
            }
        }
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(opts.sync);
        self.db.write_opt(wb, &wo).map_err(|e| engine_err("write", e))
    }

    fn scan<'a>(&'a self, cf: &str, start: &[u8], end: Option<&[u8]>) -> Result<KvIter<'a>, StorageError> {
        let handle = self.cf(cf)?;
        Ok(bounded(self.db.iterator_cf(handle, IteratorMode::From(start, Direction::Forward)), end))
    }

    fn column_families(&self) -> Vec<String> {
        self.cfs.clone()
    }

    fn read_view(&self, read: &mut dyn FnMut(&dyn KvView)) -> Result<(), StorageError> {
        // A RocksDB snapshot pins a sequence number: reads through it skip
        // every later write, and compactions keep the versions it needs.
        let snapshot = self.db.snapshot();
        read(&RocksView { engine: self, snapshot });
        Ok(())
    }
}

/// A [`KvView`] over a RocksDB snapshot.
struct RocksView<'a> {
    engine: &'a RocksEngine,
    snapshot: rocksdb::Snapshot<'a>,
}

impl KvView for RocksView<'_> {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let handle = self.engine.cf(cf)?;
        self.snapshot.get_cf(handle, key).map_err(|e| engine_err("get", e))
    }

    fn scan<'a>(&'a self, cf: &str, start: &[u8], end: Option<&[u8]>) -> Result<KvIter<'a>, StorageError> {
        let handle = self.engine.cf(cf)?;
        Ok(bounded(self.snapshot.iterator_cf(handle, IteratorMode::From(start, Direction::Forward)), end))
    }
}

/// Turns a forward RocksDB iterator into a [`KvIter`] that stops before
/// `end`.
fn bounded<'a>(
    iter: impl Iterator<Item = Result<(Box<[u8]>, Box<[u8]>), rocksdb::Error>> + 'a,
    end: Option<&[u8]>,
) -> KvIter<'a> {
    let end = end.map(|e| e.to_vec());
    let iter = iter
        .map(|r| r.map(|(k, v)| (k.into_vec(), v.into_vec())).map_err(|e| engine_err("scan", e)))
        .take_while(move |r| match (r, &end) {
            (Ok((k, _)), Some(end)) => k.as_slice() < end.as_slice(),
            _ => true,
        });
    Box::new(iter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rocks_engine_passes_conformance() {
        let dirs = std::sync::Mutex::new(Vec::new());
        veritrace_storage::testing::conformance(|cfs| {
            let dir = tempfile::tempdir().expect("tempdir");
            let engine = RocksEngine::open(dir.path(), cfs).expect("open");
            dirs.lock().expect("lock").push(dir);
            engine
        });
    }

    #[test]
    fn synced_writes_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let e = RocksEngine::open(dir.path(), &["a"]).expect("open");
            let mut b = WriteBatch::new();
            b.put("a", b"k".to_vec(), b"v".to_vec());
            e.write(b, WriteOptions::SYNC).expect("write");
        }
        let e = RocksEngine::open(dir.path(), &["a"]).expect("reopen");
        assert_eq!(e.get("a", b"k").expect("get"), Some(b"v".to_vec()));
    }

    /// Writes keys 0..n (200-byte values) to a new database in `dir`, each
    /// synced, closes it, and returns its write-ahead log file.
    fn synced_writes_then_wal(dir: &Path, n: u32) -> std::path::PathBuf {
        {
            let e = RocksEngine::open(dir, &["a"]).expect("open");
            for i in 0..n {
                let mut b = WriteBatch::new();
                b.put("a", i.to_be_bytes().to_vec(), vec![b'v'; 200]);
                e.write(b, WriteOptions::SYNC).expect("write");
            }
        }
        std::fs::read_dir(dir)
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .expect("a write-ahead log file")
    }

    /// A corrupt record in the middle of the write-ahead log refuses the
    /// open: under `PointInTime` the database opened without the synced
    /// writes after the corruption (a Raft vote or entry could vanish).
    #[test]
    fn corruption_inside_the_write_ahead_log_refuses_the_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wal = synced_writes_then_wal(dir.path(), 50);
        let mut bytes = std::fs::read(&wal).expect("read wal");
        assert!(bytes.len() > 5000, "the 50 writes are in the log ({} bytes)", bytes.len());
        // A payload byte of a record about a quarter in: a checksum mismatch
        // with many synced records after it.
        let at = bytes.len() / 4;
        bytes[at] ^= 0x40;
        std::fs::write(&wal, &bytes).expect("write wal");
        let err = RocksEngine::open(dir.path(), &["a"]).expect_err("a corrupt log must not open");
        assert!(matches!(err, StorageError::Open { .. }), "got {err:?}");
        assert!(err.to_string().to_lowercase().contains("corrupt"), "names the corruption: {err}");
    }

    /// A torn last record (a write the crash cut short) is dropped and the
    /// database opens with every complete write.
    #[test]
    fn a_torn_tail_of_the_write_ahead_log_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wal = synced_writes_then_wal(dir.path(), 10);
        let len = std::fs::metadata(&wal).expect("stat").len();
        let f = std::fs::OpenOptions::new().write(true).open(&wal).expect("open wal");
        f.set_len(len - 100).expect("truncate");
        let e = RocksEngine::open(dir.path(), &["a"]).expect("a torn tail opens");
        assert_eq!(e.get("a", &8u32.to_be_bytes()).expect("get"), Some(vec![b'v'; 200]));
        assert_eq!(e.get("a", &9u32.to_be_bytes()).expect("get"), None, "the torn write is gone");
    }

    #[test]
    fn open_on_a_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").expect("write");
        let err = RocksEngine::open(&file, &["a"]).expect_err("must fail");
        assert!(matches!(err, StorageError::Open { .. }), "got {err:?}");
    }
}
