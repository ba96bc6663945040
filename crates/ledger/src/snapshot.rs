//! Export and import of the whole ledger state.
//!
//! A snapshot is every key of every ledger column family, in a fixed
//! column-family order and key order, so two replicas with the same state
//! export byte-identical snapshots. Format (version 2, integers BE):
//!
//! ```text
//! magic "VTSNAP\0\x02" (8)
//! applied_index u64 | tree_size u64 | root [32] | last_commit_time_ms i64
//! records: cf u8 (1-based position in ALL_CFS) | key_len u32 | key | value_len u32 | value
//! end: cf = 0
//! checksum: blake3 of every byte before it [32]
//! ```
//!
//! Import writes into an empty engine in bounded batches, holding back the
//! applied-state record until the checksum matched and the Merkle root
//! recomputed from the imported leaves equals the header's root. A crash
//! or refusal midway leaves a store without an applied state, which
//! [`crate::Ledger::open`] refuses: a half-imported snapshot is never served.
//!
//! Version 2 holds sealed state values (`crate::state::seal`): export
//! refuses a value that fails its tag (the node is corrupt; it never ships
//! what every importer would refuse), import checks every one and requires
//! the sealed state format in `meta`. Version 1 (before sealing: the same
//! layout, raw state values) is still imported, for old backups, and its
//! state sealed once imported; builds before version 2 refuse a version 2
//! file by its magic instead of misreading its tags as data.

use std::io::{Read, Write};

use veritrace_storage::{KvEngine, KvView, WriteBatch, WriteOptions};

use crate::schema::*;
use crate::{Ledger, LedgerError, LedgerOptions};

const MAGIC: &[u8; 8] = b"VTSNAP\0\x02";
/// Snapshots written before state sealing (raw state values).
const MAGIC_UNSEALED: &[u8; 8] = b"VTSNAP\0\x01";
const MAX_KEY: u32 = 64 * 1024;
const MAX_VALUE: u32 = 16 * 1024 * 1024;
const IMPORT_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Counts an exported snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The applied state the snapshot captures.
    pub applied: AppliedState,
    /// Records written or read.
    pub records: u64,
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.inner.write_all(bytes)
    }
}

fn snap_err(what: impl Into<String>) -> LedgerError {
    LedgerError::Snapshot { what: what.into() }
}

/// Refuses a view whose stored applied state is not `applied`: the store
/// was being replaced under this ledger (a snapshot install clears and
/// re-imports the engine without this ledger's apply lock).
fn check_view(view: &dyn KvView, applied: &AppliedState) -> Result<(), LedgerError> {
    match view.get(CF_META, KEY_APPLIED)?.as_deref().and_then(AppliedState::decode) {
        Some(stored) if stored == *applied => Ok(()),
        _ => Err(snap_err("the store no longer holds this ledger's state (a snapshot is being installed)")),
    }
}

/// Writes `view` (which holds exactly `applied`) in the snapshot format,
/// refusing a state value that fails its tag.
fn write_snapshot<W: Write>(view: &dyn KvView, applied: &AppliedState, out: W) -> Result<SnapshotInfo, LedgerError> {
    let io = |e: std::io::Error| snap_err(format!("write: {e}"));
    let mut w = HashingWriter { inner: out, hasher: blake3::Hasher::new() };
    w.put(MAGIC).map_err(io)?;
    w.put(&header_bytes(applied)).map_err(io)?;
    let mut records = 0u64;
    for (i, cf) in ALL_CFS.iter().enumerate() {
        for kv in view.scan(cf, &[], None)? {
            let (k, v) = kv?;
            if *cf == CF_STATE {
                crate::state::seal::open(&k, &v)?;
            }
            w.put(&[(i + 1) as u8]).map_err(io)?;
            w.put(&(k.len() as u32).to_be_bytes()).map_err(io)?;
            w.put(&k).map_err(io)?;
            w.put(&(v.len() as u32).to_be_bytes()).map_err(io)?;
            w.put(&v).map_err(io)?;
            records += 1;
        }
    }
    w.put(&[0]).map_err(io)?;
    let sum = w.hasher.finalize();
    w.inner.write_all(sum.as_bytes()).map_err(io)?;
    w.inner.flush().map_err(io)?;
    Ok(SnapshotInfo { applied: *applied, records })
}

impl<E: KvEngine> Ledger<E> {
    /// Writes the whole state to `out`. The state is fixed first, under the
    /// apply lock; see [`Ledger::export_snapshot_pinned`].
    pub fn export_snapshot<W: Write>(&self, out: W) -> Result<SnapshotInfo, LedgerError> {
        self.export_snapshot_pinned(out, || {})
    }

    /// Writes the whole state to `out`, calling `pinned` as soon as the state
    /// it writes is fixed: the apply lock is held only while a point-in-time
    /// view of the engine is taken ([`KvEngine::read_view`]), so applies can
    /// go on (on another thread) while the view is written out. A caller that
    /// must know which applies the file holds waits for `pinned`; the file
    /// then holds exactly what was applied before it.
    pub fn export_snapshot_pinned<W: Write>(&self, out: W, pinned: impl FnOnce()) -> Result<SnapshotInfo, LedgerError> {
        let mut writer = Some(self.apply_lock.lock().unwrap_or_else(|e| e.into_inner()));
        let applied = self.applied();
        let (mut out, mut pinned) = (Some(out), Some(pinned));
        let mut result = None;
        self.engine.read_view(&mut |view| {
            drop(writer.take());
            if let Some(pinned) = pinned.take() {
                pinned();
            }
            if let Some(out) = out.take() {
                result = Some(check_view(view, &applied).and_then(|()| write_snapshot(view, &applied, out)));
                // A state value failing its tag is this node's corruption.
                result = result.take().map(|r| r.map_err(|e| self.noted(e)));
            }
        })?;
        drop(writer);
        result.unwrap_or_else(|| Err(snap_err("the engine gave no view to export")))
    }

    /// Deletes every ledger key from `engine` (in bounded, synced batches),
    /// so a snapshot can be imported into it. The applied-state record goes
    /// first: a crash midway leaves a store [`Ledger::open`] refuses, never
    /// a half-old ledger that looks valid.
    pub fn clear(engine: &E) -> Result<(), LedgerError> {
        let mut batch = WriteBatch::new();
        batch.delete(CF_META, KEY_APPLIED.to_vec());
        engine.write(batch, WriteOptions::SYNC)?;
        for cf in ALL_CFS {
            let mut batch = WriteBatch::new();
            let mut bytes = 0usize;
            for kv in engine.scan(cf, &[], None)? {
                let (k, _) = kv?;
                bytes += k.len();
                batch.delete(cf, k);
                if bytes >= IMPORT_BATCH_BYTES {
                    engine.write(std::mem::take(&mut batch), WriteOptions::SYNC)?;
                    bytes = 0;
                }
            }
            engine.write(batch, WriteOptions::SYNC)?;
        }
        Ok(())
    }

    /// Imports a snapshot into `engine`, which must hold no ledger, checks
    /// it (see the module docs) and opens the ledger.
    pub fn import_snapshot<R: Read>(
        engine: E,
        input: R,
        opts: LedgerOptions,
    ) -> Result<(Self, SnapshotInfo), LedgerError> {
        if engine.get(CF_META, KEY_APPLIED)?.is_some() || engine.get(CF_META, KEY_GENESIS)?.is_some() {
            return Err(LedgerError::AlreadyInitialised);
        }
        let mut r = HashingReader { inner: input, hasher: blake3::Hasher::new() };
        let mut magic = [0u8; 8];
        r.read(&mut magic)?;
        let sealed = match &magic {
            m if m == MAGIC => true,
            m if m == MAGIC_UNSEALED => false,
            _ => return Err(snap_err("not a Veritrace snapshot (bad magic or version)")),
        };
        let mut header = [0u8; 56];
        r.read(&mut header)?;
        let applied = parse_header(&header);
        let mut batch = WriteBatch::new();
        let mut batch_bytes = 0usize;
        let mut held_back = None;
        let mut records = 0u64;
        let mut last: Option<(u8, Vec<u8>)> = None;
        // A sealed snapshot must say so in `meta` (which comes first).
        let mut marked = false;
        loop {
            let mut tag = [0u8; 1];
            r.read(&mut tag)?;
            if tag[0] == 0 {
                break;
            }
            let cf = *ALL_CFS
                .get(usize::from(tag[0]) - 1)
                .ok_or_else(|| snap_err(format!("unknown column family tag {}", tag[0])))?;
            let key = r.read_len_prefixed(MAX_KEY)?;
            let value = r.read_len_prefixed(MAX_VALUE)?;
            // Records must be strictly ordered: a snapshot has one encoding.
            if let Some((ltag, lkey)) = &last
                && (*ltag, lkey.as_slice()) >= (tag[0], key.as_slice())
            {
                return Err(snap_err("records out of order"));
            }
            last = Some((tag[0], key.clone()));
            records += 1;
            if cf == CF_META && key == crate::state::seal::KEY_STATE_FORMAT {
                if !sealed || value != [crate::state::seal::STATE_FORMAT_SEALED] {
                    return Err(snap_err(format!("state format {value:?} does not match snapshot version")));
                }
                marked = true;
            }
            // A sender whose disk flipped a state bit is caught here, not
            // when the record is first read. (An unsealed snapshot, from a
            // build before sealing, is sealed by `Ledger::open` below.)
            if cf == CF_STATE && sealed {
                if !marked {
                    return Err(snap_err("a sealed snapshot without the sealed state format"));
                }
                crate::state::seal::open(&key, &value)
                    .map_err(|e| snap_err(format!("a state record fails its check: {e}")))?;
            }
            if cf == CF_META && key == KEY_APPLIED {
                held_back = Some(value);
                continue;
            }
            batch_bytes += key.len() + value.len();
            batch.put(cf, key, value);
            if batch_bytes >= IMPORT_BATCH_BYTES {
                engine.write(std::mem::take(&mut batch), WriteOptions::NO_SYNC)?;
                batch_bytes = 0;
            }
        }
        if sealed && !marked {
            return Err(snap_err("a sealed snapshot without the sealed state format"));
        }
        let computed = r.hasher.finalize();
        let mut sum = [0u8; 32];
        r.inner.read_exact(&mut sum).map_err(|e| snap_err(format!("read checksum: {e}")))?;
        if computed.as_bytes() != &sum {
            return Err(snap_err("checksum mismatch"));
        }
        let held_back = held_back.ok_or_else(|| snap_err("no applied-state record"))?;
        if AppliedState::decode(&held_back) != Some(applied) {
            return Err(snap_err("applied-state record disagrees with the header"));
        }
        engine.write(batch, WriteOptions::SYNC)?;
        // Verify the Merkle root from the imported leaves before the state
        // becomes openable.
        let report = crate::audit::audit_engine(&engine, &applied, false)?;
        if let Some(p) = report.first_problem {
            return Err(snap_err(format!("imported state fails audit at leaf {}: {}", p.leaf_index, p.what)));
        }
        let mut fin = WriteBatch::new();
        fin.put(CF_META, KEY_APPLIED.to_vec(), held_back);
        engine.write(fin, WriteOptions::SYNC)?;
        let ledger = Ledger::open(engine, opts)?;
        Ok((ledger, SnapshotInfo { applied, records }))
    }
}

fn header_bytes(a: &AppliedState) -> [u8; 56] {
    let mut h = [0u8; 56];
    h[..8].copy_from_slice(&a.applied_index.to_be_bytes());
    h[8..16].copy_from_slice(&a.tree_size.to_be_bytes());
    h[16..48].copy_from_slice(a.root.as_bytes());
    h[48..].copy_from_slice(&a.last_commit_time_ms.to_be_bytes());
    h
}

fn parse_header(h: &[u8; 56]) -> AppliedState {
    let mut root = [0u8; 32];
    root.copy_from_slice(&h[16..48]);
    let u = |r: std::ops::Range<usize>| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&h[r]);
        a
    };
    AppliedState {
        applied_index: u64::from_be_bytes(u(0..8)),
        tree_size: u64::from_be_bytes(u(8..16)),
        root: veritrace_core::Hash(root),
        last_commit_time_ms: i64::from_be_bytes(u(48..56)),
    }
}

struct HashingReader<R: Read> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> Result<(), LedgerError> {
        self.inner.read_exact(buf).map_err(|e| snap_err(format!("truncated or unreadable: {e}")))?;
        self.hasher.update(buf);
        Ok(())
    }

    fn read_len_prefixed(&mut self, max: u32) -> Result<Vec<u8>, LedgerError> {
        let mut len = [0u8; 4];
        self.read(&mut len)?;
        let len = u32::from_be_bytes(len);
        if len > max {
            return Err(snap_err(format!("record of {len} bytes exceeds the limit of {max}")));
        }
        let mut buf = vec![0u8; len as usize];
        self.read(&mut buf)?;
        Ok(buf)
    }
}
