//! Snapshots: serving them in chunks, and downloading, checking and
//! installing them on a lagging follower (creating them is in
//! `snapshot_write`).
//!
//! A Raft snapshot message carries only a small [`SnapshotData`]: the
//! state machine's descriptor, the file's size and blake3 hash, and the
//! members' metadata. The follower downloads the file from the sender in
//! chunks ([`Transport::fetch_snapshot_chunk`]) *before* it steps the
//! message into raft, checks size and hash, and only then lets raft accept
//! the snapshot; installing it hands the file to
//! [`StateMachine::restore`], which checks the state itself (for the
//! ledger: its checksum and Merkle root). A failed download drops the
//! message; the leader retries after [`SNAPSHOT_RETRY_TICKS`].

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use raft::eraftpb::{Message, Snapshot};
use raft::{ProgressState, SnapshotStatus};
use veritrace_storage::KvEngine;

use super::StateMachine;
use super::run::{Driver, Fatal, Internal};
use crate::transport::{MAX_SNAPSHOT_CHUNK, NodeId, SnapshotChunk, Transport};
use crate::wire::{self, Reader, WireError};

/// Ticks a leader waits for a follower to install a snapshot before it
/// sends a new one.
pub const SNAPSHOT_RETRY_TICKS: u64 = 100;

/// What a snapshot covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Raft index of the last entry it covers.
    pub index: u64,
    /// Term of that entry.
    pub term: u64,
    /// Size of the snapshot file in bytes.
    pub size_bytes: u64,
    /// The state machine's descriptor.
    pub descriptor: Vec<u8>,
}

/// The `data` of a Raft snapshot message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotData {
    pub size: u64,
    pub hash: [u8; 32],
    pub descriptor: Vec<u8>,
    pub metadata: BTreeMap<NodeId, Vec<u8>>,
}

impl SnapshotData {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![1u8];
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.hash);
        out.extend_from_slice(&(self.descriptor.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.descriptor);
        out.extend_from_slice(&wire::encode_metadata(&self.metadata));
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new("snapshot data", bytes);
        let v = r.u8()?;
        if v != 1 {
            return Err(WireError { what: "snapshot data", reason: format!("unknown version {v}") });
        }
        let size = r.u64()?;
        let mut hash = [0u8; 32];
        for (i, b) in hash.iter_mut().enumerate() {
            *b = r.u8().map_err(|e| WireError { what: e.what, reason: format!("hash byte {i}: {}", e.reason) })?;
        }
        let descriptor = r.bytes()?.to_vec();
        let metadata = wire::read_metadata(&mut r)?;
        r.finish()?;
        Ok(SnapshotData { size, hash, descriptor, metadata })
    }
}

/// The file holding this node's snapshot at `index` inside `dir`.
pub fn snapshot_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("snap-{index:020}.vtsnap"))
}

pub(super) fn hash_file(path: &Path) -> std::io::Result<(u64, [u8; 32])> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let size = std::io::copy(&mut f, &mut hasher)?;
    Ok((size, *hasher.finalize().as_bytes()))
}

fn io(what: &str, path: &Path) -> impl Fn(std::io::Error) -> Fatal {
    let what = format!("{what} {}", path.display());
    move |e| Fatal::Snapshot(format!("{what}: {e}"))
}

/// Downloads snapshot `index` from `from` into `dir`, checking size and hash.
async fn download<T: Transport>(
    transport: Arc<T>,
    from: NodeId,
    index: u64,
    data: &SnapshotData,
    dir: PathBuf,
) -> Result<PathBuf, String> {
    let part = dir.join(format!("recv-{index:020}.part"));
    let mut file = std::fs::File::create(&part).map_err(|e| format!("create {}: {e}", part.display()))?;
    let mut offset = 0u64;
    loop {
        // A chunk request may fail transiently (a connection being
        // re-established): retry it a few times before giving up.
        let mut attempt = 0;
        let chunk = loop {
            match transport.fetch_snapshot_chunk(from, index, offset).await {
                Ok(chunk) => break chunk,
                Err(e) if attempt >= 4 => return Err(e.to_string()),
                Err(_) => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
                }
            }
        };
        if chunk.offset != offset {
            return Err(format!("chunk at offset {} when {offset} was asked", chunk.offset));
        }
        offset += chunk.data.len() as u64;
        if offset > data.size {
            return Err(format!("snapshot longer than announced {} bytes", data.size));
        }
        file.write_all(&chunk.data).map_err(|e| format!("write {}: {e}", part.display()))?;
        if chunk.last {
            break;
        }
        if chunk.data.is_empty() {
            return Err("empty chunk before the end".into());
        }
    }
    file.sync_all().map_err(|e| format!("sync {}: {e}", part.display()))?;
    let (size, hash) = hash_file(&part).map_err(|e| format!("read {}: {e}", part.display()))?;
    if size != data.size || hash != data.hash {
        let _ = std::fs::remove_file(&part);
        return Err(format!("snapshot {index} does not match its announced size and hash"));
    }
    let done = dir.join(format!("recv-{index:020}.vtsnap"));
    std::fs::rename(&part, &done).map_err(|e| format!("rename {}: {e}", part.display()))?;
    Ok(done)
}

impl<E: KvEngine, S: StateMachine, T: Transport> Driver<E, S, T> {
    /// A follower got a snapshot message: download the file first, then
    /// step the message (see the module docs).
    pub(super) fn on_snapshot_message(&mut self, m: Message) {
        let index = m.get_snapshot().get_metadata().index;
        let ready = matches!(&self.fetched, Some((i, _)) if *i == index);
        if index <= self.node.raft.raft_log.committed || ready {
            if let Err(e) = self.node.step(m) {
                tracing::debug!(node = self.id, index, cause = %e, "raft refused a snapshot message");
            }
            return;
        }
        if self.fetching.is_some_and(|f| f >= index) {
            return; // a download is under way; the leader resends meanwhile
        }
        let data = match SnapshotData::decode(&m.get_snapshot().data) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(node = self.id, from = m.from, cause = %e, "malformed snapshot message; dropped");
                return;
            }
        };
        tracing::info!(node = self.id, from = m.from, index, size = data.size, "downloading a snapshot");
        self.fetching = Some(index);
        let transport = Arc::clone(&self.transport);
        let dir = self.cfg.snapshot_dir.clone();
        let done = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = download(transport, m.from, index, &data, dir).await;
            let _ = done.send(Internal::SnapshotFetched { msg: Box::new(m), index, result }).await;
        });
    }

    /// Raft accepted a snapshot: replace the state machine, then the log.
    pub(super) fn install_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), Fatal> {
        let meta = snapshot.get_metadata();
        let index = meta.index;
        let data = SnapshotData::decode(&snapshot.data).map_err(|e| Fatal::Snapshot(e.to_string()))?;
        let path = match self.fetched.take() {
            Some((i, p)) if i == index => p,
            _ => return Err(Fatal::Snapshot(format!("raft accepted snapshot {index} that was not downloaded"))),
        };
        self.sm.restore(&path, &data.descriptor, index).map_err(|e| Fatal::StateMachine(e.to_string()))?;
        self.store.apply_snapshot_metadata(meta)?;
        self.metadata = data.metadata.clone();
        self.store.set_members(&wire::encode_metadata(&self.metadata))?;
        // Keep the file as this node's own snapshot, so it can serve it.
        let own = snapshot_path(&self.cfg.snapshot_dir, index);
        std::fs::rename(&path, &own).map_err(io("rename", &path))?;
        self.store.set_snapshot_descriptor(index, meta.term, meta.get_conf_state().clone(), snapshot.data.to_vec())?;
        self.snapshot_index = index;
        self.publish_membership();
        self.remove_old_snapshots(index);
        self.cfg.metrics.raft().snapshots_applied.inc();
        tracing::info!(node = self.id, index, term = meta.term, "installed a snapshot");
        Ok(())
    }

    /// Deletes snapshot files older than the previous one, and stale
    /// downloads.
    pub(super) fn remove_old_snapshots(&self, latest: u64) {
        let Ok(entries) = std::fs::read_dir(&self.cfg.snapshot_dir) else { return };
        let mut snaps: Vec<(u64, PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let index = name
                .strip_prefix("snap-")
                .or_else(|| name.strip_prefix("recv-"))
                .and_then(|rest| rest.get(..20))
                .and_then(|digits| digits.parse::<u64>().ok());
            match index {
                Some(i) if name.starts_with("snap-") && name.ends_with(".vtsnap") => snaps.push((i, entry.path())),
                Some(i) if name.starts_with("recv-") && i <= latest => {
                    let _ = std::fs::remove_file(entry.path());
                }
                _ => {}
            }
        }
        snaps.sort();
        let keep = 2;
        for (i, path) in snaps.iter().rev().skip(keep) {
            if *i < latest {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// Serves one chunk of a snapshot file this node has.
    pub(super) fn read_snapshot_chunk(&self, index: u64, offset: u64) -> Result<SnapshotChunk, String> {
        let path = snapshot_path(&self.cfg.snapshot_dir, index);
        let mut file = std::fs::File::open(&path).map_err(|_| format!("snapshot {index} is not available here"))?;
        let size = file.metadata().map_err(|e| e.to_string())?.len();
        if offset > size {
            return Err(format!("offset {offset} beyond snapshot size {size}"));
        }
        file.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
        let want = (size - offset).min(MAX_SNAPSHOT_CHUNK as u64) as usize;
        let mut data = vec![0u8; want];
        file.read_exact(&mut data).map_err(|e| e.to_string())?;
        Ok(SnapshotChunk { offset, last: offset + want as u64 >= size, data })
    }

    /// Leader: a follower that has not installed a snapshot in time gets a
    /// fresh one (its download may have failed).
    pub(super) fn retry_stuck_snapshots(&mut self) {
        if !self.is_leader() {
            return;
        }
        let now = self.ticks;
        let stuck: Vec<NodeId> = self
            .node
            .raft
            .prs()
            .iter()
            .filter(|(id, pr)| {
                pr.state == ProgressState::Snapshot
                    && self.snapshot_sent.get(id).is_none_or(|sent| now - sent >= SNAPSHOT_RETRY_TICKS)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stuck {
            self.snapshot_sent.remove(&id);
            self.node.report_snapshot(id, SnapshotStatus::Failure);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_data_round_trips_and_refuses_truncation() {
        let d = SnapshotData {
            size: 42,
            hash: [7; 32],
            descriptor: b"desc".to_vec(),
            metadata: [(1, b"a".to_vec()), (4, vec![])].into_iter().collect(),
        };
        let bytes = d.encode();
        assert_eq!(SnapshotData::decode(&bytes), Ok(d));
        for cut in 0..bytes.len() {
            assert!(SnapshotData::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
