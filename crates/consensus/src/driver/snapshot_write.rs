//! Creating snapshots (log compaction) without holding up the Raft loop.
//!
//! The loop asks the state machine to fix its state ([`StateMachine::snapshot`]
//! returns once it has); a thread finishes the file (the state machine's own
//! writer, then sync, hash and rename) and reports back with
//! [`Internal::SnapshotWritten`]; only then does the loop record the
//! snapshot for raft and compact the log behind it. One snapshot is written
//! at a time. A write that fails changes nothing but the log's length: it
//! is logged and counted (`snapshot_failures`), and the next automatic
//! snapshot starts [`WRITE_RETRY_TICKS`] later.

use std::collections::BTreeMap;
use std::path::Path;

use raft::Storage;
use raft::eraftpb::ConfState;
use veritrace_storage::KvEngine;

use super::run::{Driver, Fatal, Internal};
use super::snapshots::{SnapshotData, SnapshotInfo, hash_file, rename_durably, snapshot_path};
use super::{DriverError, StateMachine};
use crate::transport::{NodeId, Transport};

/// Ticks after a failed snapshot write before the next automatic one.
pub(super) const WRITE_RETRY_TICKS: u64 = 600;

/// A snapshot being written, as [`StateMachine::snapshot`] returns it.
pub struct SnapshotWrite<E> {
    inner: WriteInner<E>,
}

enum WriteInner<E> {
    Done(Result<Vec<u8>, E>),
    Background(std::thread::JoinHandle<Result<Vec<u8>, E>>),
}

impl<E: std::fmt::Display> SnapshotWrite<E> {
    /// A write that is already finished, with its descriptor or error.
    pub fn done(result: Result<Vec<u8>, E>) -> Self {
        SnapshotWrite { inner: WriteInner::Done(result) }
    }

    /// A write going on on `thread`, which ends with the descriptor once
    /// the file is complete and synced.
    pub fn background(thread: std::thread::JoinHandle<Result<Vec<u8>, E>>) -> Self {
        SnapshotWrite { inner: WriteInner::Background(thread) }
    }

    /// Waits for the write; a writer thread that panicked is an error.
    fn wait(self) -> Result<Vec<u8>, String> {
        match self.inner {
            WriteInner::Done(result) => result.map_err(|e| e.to_string()),
            WriteInner::Background(thread) => match thread.join() {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => Err("the snapshot writer thread panicked".to_owned()),
            },
        }
    }
}

/// A snapshot whose file is being written, and what it will be recorded
/// with once it is.
pub(super) struct SnapshotJob {
    index: u64,
    term: u64,
    conf_state: ConfState,
    metadata: BTreeMap<NodeId, Vec<u8>>,
    /// Callers of [`crate::RaftHandle::create_snapshot`] waiting for it.
    waiters: Vec<SnapshotReply>,
    /// Callers that asked once more had been applied than it covers: they
    /// get a new snapshot when it is done.
    later: Vec<SnapshotReply>,
    /// The thread finishing the file (joined when the driver stops).
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SnapshotJob {
    /// Waits for the writer thread (the driver is stopping: nothing may
    /// keep writing into the node's directories after it).
    pub(super) fn join(self) {
        if let Some(thread) = self.thread {
            let _ = thread.join();
        }
    }
}

/// Where an asked-for snapshot's outcome goes.
pub(super) type SnapshotReply = tokio::sync::oneshot::Sender<Result<SnapshotInfo, DriverError>>;

/// A finished snapshot file: its descriptor, size and blake3 hash.
pub(super) struct WrittenFile {
    descriptor: Vec<u8>,
    size: u64,
    hash: [u8; 32],
}

fn text<'a>(what: &'a str, p: &'a Path) -> impl Fn(std::io::Error) -> String + 'a {
    move |e| format!("{what} {}: {e}", p.display())
}

/// Waits for `write` to finish `tmp`, then hashes it and moves it to
/// `path`, durably; removes `tmp` if that fails. Runs off the Raft loop:
/// at 10^7 items this is seconds.
fn finish_file<E: std::fmt::Display>(write: SnapshotWrite<E>, tmp: &Path, path: &Path) -> Result<WrittenFile, String> {
    let written = write_and_move(write, tmp, path);
    if written.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    written
}

fn write_and_move<E: std::fmt::Display>(
    write: SnapshotWrite<E>,
    tmp: &Path,
    path: &Path,
) -> Result<WrittenFile, String> {
    let descriptor = write.wait()?;
    let (size, hash) = hash_file(tmp).map_err(text("read", tmp))?;
    rename_durably(tmp, path).map_err(text("rename", tmp))?;
    Ok(WrittenFile { descriptor, size, hash })
}

impl<E: KvEngine, S: StateMachine, T: Transport> Driver<E, S, T> {
    /// Starts a snapshot when the log has grown `snapshot_interval` entries
    /// past the last one, or raft-rs asked for one, unless one is being
    /// written.
    pub(super) fn maybe_snapshot(&mut self) -> Result<(), Fatal> {
        if self.snapshot_job.is_some() || self.ticks < self.snapshot_retry_at {
            return Ok(());
        }
        let applied = self.node.raft.raft_log.applied;
        let wanted = self.store.take_snapshot_wanted() && applied > self.snapshot_index;
        if wanted || applied >= self.snapshot_index + self.cfg.snapshot_interval {
            self.start_snapshot(None)?;
        }
        Ok(())
    }

    /// The snapshot already recorded at the applied index, if there is one.
    fn snapshot_at_applied(&self) -> Result<Option<SnapshotInfo>, Fatal> {
        let applied = self.node.raft.raft_log.applied;
        let Some(d) = self.store.snapshot_descriptor().filter(|d| d.index == applied) else { return Ok(None) };
        let Ok(data) = SnapshotData::decode(&d.data) else { return Ok(None) };
        let term = self.store.term(applied)?;
        Ok(Some(SnapshotInfo { index: applied, term, size_bytes: data.size, descriptor: data.descriptor }))
    }

    /// Fixes the state machine's state at the applied index and has its
    /// file written on a thread of its own; [`Driver::on_snapshot_written`]
    /// records it when done. `waiter`, if any, gets the outcome; a caller
    /// arriving while a snapshot is being written waits for that one. An
    /// error is fatal (the waiter hears of it first).
    pub(super) fn start_snapshot(&mut self, waiter: Option<SnapshotReply>) -> Result<(), Fatal> {
        let applied = self.node.raft.raft_log.applied;
        if let Some(job) = self.snapshot_job.as_mut() {
            if job.index >= applied {
                job.waiters.extend(waiter);
            } else {
                job.later.extend(waiter);
            }
            return Ok(());
        }
        let answer = |waiter: Option<SnapshotReply>, result: Result<SnapshotInfo, DriverError>| {
            if let Some(w) = waiter {
                let _ = w.send(result);
            }
        };
        if applied == 0 {
            answer(waiter, Err(DriverError::Dropped("nothing applied yet".into())));
            return Ok(());
        }
        match self.snapshot_at_applied() {
            Ok(Some(info)) => {
                answer(waiter, Ok(info));
                return Ok(());
            }
            Ok(None) => {}
            Err(e) => {
                answer(waiter, Err(DriverError::Dropped(e.to_string())));
                return Err(e);
            }
        }
        let path = snapshot_path(&self.cfg.snapshot_dir, applied);
        let tmp = path.with_extension("tmp");
        let started = self.sm.snapshot(&tmp).map_err(|e| Fatal::StateMachine(e.to_string())).and_then(|write| {
            let term = self.store.term(applied)?;
            Ok((write, term))
        });
        let (write, term) = match started {
            Ok(started) => started,
            Err(e) => {
                answer(waiter, Err(DriverError::Dropped(e.to_string())));
                return Err(e);
            }
        };
        self.snapshot_job = Some(SnapshotJob {
            index: applied,
            term,
            conf_state: self.node.raft.prs().conf().to_conf_state(),
            metadata: self.metadata.clone(),
            waiters: waiter.into_iter().collect(),
            later: Vec::new(),
            thread: None,
        });
        tracing::debug!(node = self.id, index = applied, "writing a snapshot");
        let done = self.internal_tx.clone();
        let spawned = std::thread::Builder::new().name("raft-snapshot".into()).spawn(move || {
            let result = finish_file(write, &tmp, &path);
            // The loop may have stopped meanwhile; nothing waits then.
            let _ = done.blocking_send(Internal::SnapshotWritten { index: applied, result });
        });
        match (spawned, self.snapshot_job.as_mut()) {
            (Ok(thread), Some(job)) => job.thread = Some(thread),
            (Ok(_), None) => {}
            (Err(e), _) => {
                let e = Fatal::Snapshot(format!("starting the snapshot writer: {e}"));
                for w in self.snapshot_job.take().map(|j| j.waiters).unwrap_or_default() {
                    let _ = w.send(Err(DriverError::Dropped(e.to_string())));
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// A snapshot's file is written (or failed): record it for raft and
    /// compact the log behind it, unless a newer snapshot was installed
    /// meanwhile. A failed write is not fatal ([`Driver::snapshot_failed`]);
    /// failing to record a written one is.
    pub(super) fn on_snapshot_written(&mut self, index: u64, result: Result<WrittenFile, String>) -> Result<(), Fatal> {
        let Some(mut job) = self.snapshot_job.take_if(|j| j.index == index) else {
            return Err(Fatal::Snapshot(format!("snapshot {index} was written but not started")));
        };
        // The thread has sent its last word: it is done or about to be.
        job.thread.take();
        let later = std::mem::take(&mut job.later);
        self.finish_job(job, result)?;
        // Callers that asked for more than the job covered get a new one.
        for w in later {
            self.start_snapshot(Some(w))?;
        }
        Ok(())
    }

    fn finish_job(&mut self, job: SnapshotJob, result: Result<WrittenFile, String>) -> Result<(), Fatal> {
        let index = job.index;
        if index <= self.snapshot_index {
            // A leader's snapshot was installed while this one was written
            // (and may have removed its file): drop it, whatever the
            // outcome, and give its waiters the installed one.
            let _ = std::fs::remove_file(snapshot_path(&self.cfg.snapshot_dir, index));
            let installed = self.store.snapshot_descriptor().filter(|d| d.index == self.snapshot_index);
            let info = installed.and_then(|d| {
                let data = SnapshotData::decode(&d.data).ok()?;
                Some(SnapshotInfo { index: d.index, term: d.term, size_bytes: data.size, descriptor: data.descriptor })
            });
            for w in job.waiters {
                let cause = format!("snapshot {index} was superseded by snapshot {}", self.snapshot_index);
                let _ = w.send(info.clone().ok_or(DriverError::Dropped(cause)));
            }
            return Ok(());
        }
        let file = match result {
            Ok(file) => file,
            Err(e) => {
                self.snapshot_failed(index, &e);
                for w in job.waiters {
                    let _ = w.send(Err(DriverError::Dropped(format!("writing snapshot {index}: {e}"))));
                }
                return Ok(());
            }
        };
        let info = self.record_snapshot(job.index, job.term, job.conf_state, job.metadata, file)?;
        for w in job.waiters {
            let _ = w.send(Ok(info.clone()));
        }
        Ok(())
    }

    /// A snapshot's file could not be written (a full disk, an I/O error, a
    /// writer that failed): its temporary file is gone and nothing was
    /// recorded, so the log is only not compacted yet. Logs and counts it,
    /// and holds automatic snapshots back for [`WRITE_RETRY_TICKS`] (an
    /// explicit request still starts one at once).
    fn snapshot_failed(&mut self, index: u64, cause: &str) {
        self.snapshot_retry_at = self.ticks + WRITE_RETRY_TICKS;
        self.cfg.metrics.raft().snapshot_failures.inc();
        tracing::error!(
            node = self.id,
            index,
            cause,
            retry_in_ticks = WRITE_RETRY_TICKS,
            "writing a snapshot failed; the log is not compacted"
        );
    }

    /// Writes a snapshot at the applied index and records it, waiting for
    /// the file on this thread (start-up only: the loop is not running).
    pub(super) fn create_snapshot_now(&mut self) -> Result<SnapshotInfo, Fatal> {
        let applied = self.node.raft.raft_log.applied;
        if applied == 0 {
            return Err(Fatal::Snapshot("nothing applied yet".into()));
        }
        if let Some(info) = self.snapshot_at_applied()? {
            return Ok(info);
        }
        let path = snapshot_path(&self.cfg.snapshot_dir, applied);
        let tmp = path.with_extension("tmp");
        let write = self.sm.snapshot(&tmp).map_err(|e| Fatal::StateMachine(e.to_string()))?;
        let file = finish_file(write, &tmp, &path).map_err(Fatal::Snapshot)?;
        let (term, cs) = (self.store.term(applied)?, self.node.raft.prs().conf().to_conf_state());
        self.record_snapshot(applied, term, cs, self.metadata.clone(), file)
    }

    /// Records a written snapshot for raft and compacts the log behind it.
    fn record_snapshot(
        &mut self,
        index: u64,
        term: u64,
        conf_state: ConfState,
        metadata: BTreeMap<NodeId, Vec<u8>>,
        file: WrittenFile,
    ) -> Result<SnapshotInfo, Fatal> {
        let WrittenFile { descriptor, size, hash } = file;
        let data = SnapshotData { size, hash, descriptor: descriptor.clone(), metadata };
        self.store.set_snapshot_descriptor(index, term, conf_state, data.encode())?;
        self.snapshot_index = index;
        let keep_from = index.saturating_sub(self.cfg.snapshot_keep_entries) + 1;
        self.store.compact(keep_from)?;
        self.remove_old_snapshots(index);
        self.cfg.metrics.raft().snapshots.inc();
        tracing::info!(node = self.id, index, term, size, "created a snapshot");
        Ok(SnapshotInfo { index, term, size_bytes: size, descriptor })
    }

    /// Deletes the files of snapshots whose writing a crash or stop cut
    /// short (start-up only: no snapshot is being written then).
    pub(super) fn remove_unfinished_snapshots(&self) {
        let Ok(entries) = std::fs::read_dir(&self.cfg.snapshot_dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("snap-") && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
