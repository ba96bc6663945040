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
//!
//! Installing survives a crash at any point: the file is renamed to this
//! node's own snapshot durably, the install is recorded
//! ([`RaftLogStore::begin_snapshot_install`]) before the state machine
//! changes, and the log, conf state, members and descriptor follow the
//! restore in one batch that ends the record. A node that stops with the
//! record still there restores the file again when it starts
//! ([`finish_cut_short_install`]), before raft-rs reads the log.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use raft::eraftpb::{Message, Snapshot};
use raft::{ProgressState, SnapshotStatus};
use veritrace_storage::KvEngine;

use super::StateMachine;
use super::run::{Driver, Fatal, Internal};
use crate::log_store::RaftLogStore;
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

/// Syncs directory `dir`: the names created, renamed or removed in it
/// survive a power loss only then.
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Renames `from` to `to` durably: the file is synced before the rename
/// and `to`'s directory after it, so once this returns `to` names the
/// complete file after a power loss.
pub(super) fn rename_durably(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::File::open(from)?.sync_all()?;
    std::fs::rename(from, to)?;
    sync_dir(to.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")))
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
    rename_durably(&part, &done).map_err(|e| format!("rename {}: {e}", part.display()))?;
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

    /// Raft accepted a snapshot: replace the state machine, then the log
    /// (see the module docs for what a crash midway leaves).
    pub(super) fn install_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), Fatal> {
        let meta = snapshot.get_metadata();
        let index = meta.index;
        let data = SnapshotData::decode(&snapshot.data).map_err(|e| Fatal::Snapshot(e.to_string()))?;
        let path = match self.fetched.take() {
            Some((i, p)) if i == index => p,
            _ => return Err(Fatal::Snapshot(format!("raft accepted snapshot {index} that was not downloaded"))),
        };
        // Keep the file as this node's own snapshot, so it can serve it, and
        // so a restart can restore it again: durably, before anything
        // refers to it.
        let own = snapshot_path(&self.cfg.snapshot_dir, index);
        rename_durably(&path, &own).map_err(io("rename", &path))?;
        self.store.begin_snapshot_install(snapshot)?;
        if let Err(e) = self.sm.restore(&own, &data.descriptor, index) {
            // The state machine is as it was, or holds no state (start-up
            // rebuilds it from this node's last snapshot); the log is
            // unchanged. Forget the install, so a restart does not retry a
            // snapshot that may never restore: the leader sends one again.
            self.store.abandon_snapshot_install()?;
            return Err(Fatal::StateMachine(e.to_string()));
        }
        self.store.install_snapshot(snapshot, &wire::encode_metadata(&data.metadata))?;
        self.metadata = data.metadata;
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

/// Start-up, before raft-rs reads the log: finishes an install a crash
/// cut short ([`Driver::install_snapshot`]). Until it is finished the state
/// machine may be ahead of the log (applied beyond its last index, which
/// raft-rs cannot start from) or half restored, so the snapshot's file is
/// restored again (`restore` replaces the whole state) and the log is set
/// to it. A failure leaves the record for the next start.
pub(super) fn finish_cut_short_install<E: KvEngine, S: StateMachine>(
    id: NodeId,
    store: &RaftLogStore<E>,
    sm: &mut S,
    dir: &Path,
) -> Result<(), Fatal> {
    let Some(snapshot) = store.snapshot_install()? else { return Ok(()) };
    let index = snapshot.get_metadata().index;
    let path = snapshot_path(dir, index);
    tracing::warn!(node = id, index, file = %path.display(), "a snapshot install was cut short; finishing it");
    let data = SnapshotData::decode(&snapshot.data).map_err(|e| Fatal::Snapshot(e.to_string()))?;
    // The file was renamed durably before the install was recorded: if it
    // is gone or refused now, the disk lost data. Keeping the record (and
    // failing each start) is the safe side: dropping it would start raft
    // from a log behind the restored state. The operator replaces the node.
    sm.restore(&path, &data.descriptor, index).map_err(|e| {
        Fatal::StateMachine(format!(
            "finishing the snapshot install at {index} that a crash cut short, from {}: {e}; the data directory \
             lost data: replace this node (operator guide, section 5.3)",
            path.display()
        ))
    })?;
    store.install_snapshot(&snapshot, &wire::encode_metadata(&data.metadata))?;
    Ok(())
}

/// Start-up, after [`finish_cut_short_install`]: a state machine behind
/// the log's truncation point cannot catch up from the log (the entries
/// between are gone), and starting raft at the truncation point would skip
/// any state-machine entry among them silently. One engine's write-ahead
/// log makes that impossible today (the synced truncation makes every
/// earlier apply durable), but a store split across engines or a disk that
/// lost writes could get here. The gap may also hold only no-op and
/// configuration entries, which the state machine never sees: restoring
/// this node's own snapshot (newer than the state machine) is right in
/// both cases. A bootstrapped log, truncated before any snapshot exists,
/// has nothing to restore.
pub(super) fn catch_up_from_own_snapshot<E: KvEngine, S: StateMachine>(
    id: NodeId,
    store: &RaftLogStore<E>,
    sm: &mut S,
    dir: &Path,
) -> Result<(), Fatal> {
    let truncated = store.snapshot_metadata().index;
    let applied = sm.applied_index();
    if applied >= truncated {
        return Ok(());
    }
    let Some(own) = store.snapshot_descriptor().filter(|d| d.index >= truncated) else {
        return Ok(());
    };
    let data = SnapshotData::decode(&own.data).map_err(|e| Fatal::Snapshot(e.to_string()))?;
    // Ahead of the state machine? Its own view of the snapshot when it has
    // one: a gap of no-op and configuration entries restores nothing.
    let ahead = match sm.snapshot_applied_index(&data.descriptor) {
        Some(restored) => restored > applied,
        None => own.index > applied,
    };
    if !ahead {
        return Ok(());
    }
    let path = snapshot_path(dir, own.index);
    tracing::info!(node = id, applied, truncated, index = own.index, file = %path.display(),
        "the state machine is behind the log's start; restoring this node's own snapshot");
    sm.restore(&path, &data.descriptor, own.index).map_err(|e| {
        Fatal::StateMachine(format!("restoring snapshot {} to catch up: {e}; replace this node", own.index))
    })
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

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Refused(String);

    /// A state machine whose whole state is the index it last applied or
    /// restored.
    struct Restored(u64);

    impl StateMachine for Restored {
        type Error = Refused;

        fn apply(&mut self, index: u64, _at: i64, proposals: &[&[u8]]) -> Result<Vec<Vec<u8>>, Refused> {
            self.0 = index;
            Ok(vec![Vec::new(); proposals.len()])
        }

        fn applied_index(&self) -> u64 {
            self.0
        }

        fn snapshot(&mut self, _path: &Path) -> Result<super::super::SnapshotWrite<Refused>, Refused> {
            Err(Refused("not in this test".into()))
        }

        fn restore(&mut self, path: &Path, descriptor: &[u8], index: u64) -> Result<(), Refused> {
            std::fs::metadata(path).map_err(|e| Refused(e.to_string()))?;
            // Like the ledger: the applied index in the descriptor when it
            // names one (the last entry the state machine saw), else `index`.
            self.0 = self.snapshot_applied_index(descriptor).unwrap_or(index);
            Ok(())
        }

        fn snapshot_applied_index(&self, descriptor: &[u8]) -> Option<u64> {
            descriptor.first_chunk::<8>().map(|b| u64::from_be_bytes(*b))
        }
    }

    /// A follower whose log ends at 5 restored a snapshot at 50 and
    /// crashed before the log followed: the state machine is beyond the
    /// log's last index, which raft-rs cannot start from. Start-up finishes
    /// the install.
    #[test]
    fn an_install_cut_short_after_the_restore_is_finished_at_start_up() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = veritrace_storage::MemEngine::new(crate::RAFT_CFS);
        let store = RaftLogStore::bootstrap(engine, &[1, 2, 3], &[]).expect("bootstrap");
        let entries: Vec<raft::eraftpb::Entry> =
            (2..=5).map(|index| raft::eraftpb::Entry { index, term: 1, ..Default::default() }).collect();
        store.append(&entries).expect("append");
        let data = SnapshotData {
            size: 0,
            hash: [0; 32],
            descriptor: Vec::new(),
            metadata: [(1, b"one".to_vec())].into_iter().collect(),
        };
        let mut snapshot = Snapshot { data: data.encode().into(), ..Default::default() };
        let meta = snapshot.mut_metadata();
        meta.index = 50;
        meta.term = 3;
        meta.mut_conf_state().voters = vec![1, 2, 3];
        std::fs::write(snapshot_path(dir.path(), 50), b"").expect("snapshot file");
        // Driver::install_snapshot up to the restore, then the crash.
        store.begin_snapshot_install(&snapshot).expect("begin");
        let mut sm = Restored(0);
        sm.restore(&snapshot_path(dir.path(), 50), &data.descriptor, 50).expect("restore");

        let restarted = RaftLogStore::open(store.engine_ref().deep_clone()).expect("reopen");
        assert_eq!(restarted.hard_state().commit, 1, "the log knows nothing of the snapshot");
        finish_cut_short_install(1, &restarted, &mut sm, dir.path()).expect("finish");
        assert_eq!(restarted.snapshot_metadata().index, 50);
        assert_eq!(restarted.hard_state().commit, 50);
        assert_eq!(restarted.snapshot_descriptor().map(|d| d.index), Some(50));
        assert_eq!(restarted.members().expect("members"), wire::encode_metadata(&data.metadata));
        assert!(restarted.snapshot_install().expect("record").is_none());
        // What Driver::new then asks of raft-rs: applied 50 <= commit 50 <= last index 50.
        let config = raft::Config { id: 1, applied: sm.applied_index(), ..Default::default() };
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        raft::RawNode::new(&config, restarted, &logger).expect("raft starts");
    }

    /// A state machine behind the log's truncation point restores this
    /// node's own snapshot instead of skipping the entries the log lost; a
    /// bootstrapped log with no snapshot has nothing to restore.
    #[test]
    fn a_state_machine_behind_the_log_start_restores_the_own_snapshot() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = veritrace_storage::MemEngine::new(crate::RAFT_CFS);
        let store = RaftLogStore::bootstrap(engine, &[1, 2, 3], &[]).expect("bootstrap");
        let mut sm = Restored(0);
        catch_up_from_own_snapshot(1, &store, &mut sm, dir.path()).expect("nothing to do");
        assert_eq!(sm.0, 0, "a fresh log has no snapshot to restore");

        let data = SnapshotData { size: 0, hash: [0; 32], descriptor: Vec::new(), metadata: Default::default() };
        let mut snapshot = Snapshot { data: data.encode().into(), ..Default::default() };
        let meta = snapshot.mut_metadata();
        meta.index = 50;
        meta.term = 2;
        meta.mut_conf_state().voters = vec![1, 2, 3];
        std::fs::write(snapshot_path(dir.path(), 50), b"").expect("snapshot file");
        store.install_snapshot(&snapshot, &wire::encode_metadata(&data.metadata)).expect("install");
        let mut behind = Restored(10);
        catch_up_from_own_snapshot(1, &store, &mut behind, dir.path()).expect("restored");
        assert_eq!(behind.0, 50, "restored to the snapshot, not started past lost entries");
        let mut ahead = Restored(60);
        catch_up_from_own_snapshot(1, &store, &mut ahead, dir.path()).expect("nothing to do");
        assert_eq!(ahead.0, 60);

        // The snapshot's state machine stopped at 10 (entries 11..=50 were
        // no-ops and configuration changes): a state machine at 10 has
        // everything, and start-up restores nothing (no re-import on every
        // start).
        let data = SnapshotData { descriptor: 10u64.to_be_bytes().to_vec(), ..data };
        let mut snapshot = Snapshot { data: data.encode().into(), ..snapshot };
        snapshot.mut_metadata().index = 60;
        std::fs::write(snapshot_path(dir.path(), 60), b"").expect("snapshot file");
        store.install_snapshot(&snapshot, &wire::encode_metadata(&data.metadata)).expect("install");
        let mut same = Restored(10);
        std::fs::remove_file(snapshot_path(dir.path(), 60)).expect("remove");
        catch_up_from_own_snapshot(1, &store, &mut same, dir.path()).expect("nothing restored, file not needed");
        assert_eq!(same.0, 10);
    }
}
