//! Envelope prechecks (decode, signature check by the cofactored rule,
//! batched per chunk, transaction decode) run ahead of apply on worker
//! threads.
//!
//! The Raft driver calls [`StateMachine::prepare`] when an entry is
//! appended to this node's log, before it is fsynced and while it is being
//! replicated. [`Prechecks::start`] cuts its envelopes into the ledger's
//! precheck chunks ([`veritrace_ledger::PRECHECK_CHUNK`]) and hands them
//! to the workers; when the entry commits, [`Prechecks::take`] cuts the
//! same envelopes the same way and collects the results (waiting for a
//! chunk still running, doing inline whatever was never started). A chunk's
//! checks are a pure function of its bytes
//! ([`veritrace_ledger::precheck_chunk`]), and results are keyed by a hash
//! of the whole chunk, so apply's answer is the same whichever thread
//! computed them, and every replica still checks every signature itself.
//!
//! Everything is bounded: the job queue (a full queue means the work is
//! done at apply instead), and the results kept (the oldest are dropped,
//! e.g. those of entries a new leader overwrote).
//!
//! [`StateMachine::prepare`]: veritrace_consensus::StateMachine::prepare

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use veritrace_core::Hash;
use veritrace_ledger::{PRECHECK_CHUNK, Prechecked, precheck_chunk, precheck_chunks};

/// Jobs (chunks) waiting for a worker.
const QUEUE_JOBS: usize = 1024;
/// Chunk results kept for apply (at most 64 envelopes each).
const MAX_RESULTS: usize = 2048;
/// Longest apply waits for a running check before doing it itself.
const WAIT_LIMIT: Duration = Duration::from_secs(2);

/// One chunk to check: its key and its envelopes.
type Job = (Hash, Vec<Vec<u8>>);

/// The key of a chunk: blake3 over its envelopes, each length-prefixed.
fn chunk_key<B: AsRef<[u8]>>(chunk: &[B]) -> Hash {
    let mut h = blake3::Hasher::new();
    for bytes in chunk {
        let bytes = bytes.as_ref();
        h.update(&(bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    }
    Hash::from(h.finalize())
}

/// A pool of precheck workers and the results they hand to apply.
pub struct Prechecks {
    jobs: Option<SyncSender<Job>>,
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<Results>,
    finished: Condvar,
    max_results: usize,
}

#[derive(Default)]
struct Results {
    done: HashMap<Hash, Vec<Prechecked>>,
    /// Insertion order of `done`, for dropping the oldest.
    order: VecDeque<Hash>,
    running: HashSet<Hash>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Results> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Prechecks {
    /// Starts `workers` threads (at least one).
    pub fn new(workers: usize) -> Self {
        Self::with_limit(workers, MAX_RESULTS)
    }

    fn with_limit(workers: usize, max_results: usize) -> Self {
        let shared = Arc::new(Shared { state: Mutex::default(), finished: Condvar::new(), max_results });
        let (tx, rx) = sync_channel::<Job>(QUEUE_JOBS);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..workers.max(1) {
            let (rx, shared) = (Arc::clone(&rx), Arc::clone(&shared));
            let spawned = std::thread::Builder::new().name(format!("precheck-{n}")).spawn(move || work(&rx, &shared));
            if let Err(e) = spawned {
                tracing::warn!(cause = %e, "cannot start a precheck worker; checks run at apply");
            }
        }
        Prechecks { jobs: Some(tx), shared }
    }

    /// One worker per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// Starts checking `envelopes` (an entry's, in order) in the
    /// background, chunk by chunk. Chunks already checked or being checked
    /// are skipped.
    pub fn start(&self, envelopes: Vec<Vec<u8>>) {
        let Some(jobs) = &self.jobs else { return };
        let mut fresh: Vec<Job> = Vec::new();
        {
            let mut r = self.shared.lock();
            let mut rest = envelopes;
            while !rest.is_empty() {
                let tail = rest.split_off(rest.len().min(PRECHECK_CHUNK));
                let chunk = std::mem::replace(&mut rest, tail);
                let key = chunk_key(&chunk);
                if !r.done.contains_key(&key) && r.running.insert(key) {
                    fresh.push((key, chunk));
                }
            }
        }
        for job in fresh {
            match jobs.try_send(job) {
                Ok(()) => {}
                Err(TrySendError::Full((key, _)) | TrySendError::Disconnected((key, _))) => {
                    // Overloaded: apply will check this chunk itself.
                    self.shared.lock().running.remove(&key);
                    self.shared.finished.notify_all();
                }
            }
        }
    }

    /// The prechecks of `envelopes` (the same list `start` was given), in
    /// order: chunks computed ahead, after waiting for any still running,
    /// and the rest computed now.
    pub fn take(&self, envelopes: &[Vec<u8>]) -> Vec<Prechecked> {
        let chunks: Vec<&[Vec<u8>]> = envelopes.chunks(PRECHECK_CHUNK).collect();
        let keys: Vec<Hash> = chunks.iter().map(|c| chunk_key(c)).collect();
        let mut found: Vec<Option<Vec<Prechecked>>> = Vec::with_capacity(chunks.len());
        {
            let deadline = Instant::now() + WAIT_LIMIT;
            let mut r = self.shared.lock();
            for key in &keys {
                while r.running.contains(key) {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    r = self.shared.finished.wait_timeout(r, left).unwrap_or_else(|e| e.into_inner()).0;
                }
                found.push(r.done.remove(key));
            }
        }
        let missing: Vec<&[Vec<u8>]> =
            chunks.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(c, _)| *c).collect();
        let mut computed = precheck_chunks(&missing).into_iter();
        chunks
            .iter()
            .zip(found)
            .flat_map(|(chunk, f)| f.or_else(|| computed.next()).unwrap_or_else(|| precheck_chunk(chunk)))
            .collect()
    }
}

impl Drop for Prechecks {
    fn drop(&mut self) {
        // Closing the queue ends the workers once it is drained.
        self.jobs = None;
    }
}

fn work(jobs: &Mutex<Receiver<Job>>, shared: &Shared) {
    loop {
        let job = match jobs.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let (key, chunk) = job;
        let checked = precheck_chunk(&chunk);
        let mut r = shared.lock();
        r.running.remove(&key);
        if r.done.insert(key, checked).is_none() {
            r.order.push_back(key);
        }
        while r.order.len() > shared.max_results {
            if let Some(old) = r.order.pop_front() {
                r.done.remove(&old);
            }
        }
        drop(r);
        shared.finished.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use veritrace_core::{Envelope, SecretKey};
    use veritrace_proto::v1 as pb;

    fn signed(i: u64) -> Vec<u8> {
        let key = SecretKey::from_seed_label("prechecks");
        let tx = pb::Transaction { party_id: "p".into(), nonce: i, ..Default::default() };
        Envelope::sign_transaction(&tx, &key).bytes().to_vec()
    }

    fn summary(p: &[Prechecked]) -> Vec<(Option<Hash>, bool)> {
        p.iter().map(|c| (c.id(), c.is_valid())).collect()
    }

    #[test]
    fn results_started_ahead_equal_results_computed_at_take() {
        let pool = Prechecks::new(2);
        // Three chunks; the first two are started ahead.
        let mut batch: Vec<Vec<u8>> = (0..150).map(signed).collect();
        batch[9] = b"junk".to_vec();
        pool.start(batch[..2 * PRECHECK_CHUNK].to_vec());
        let taken = pool.take(&batch);
        let direct: Vec<Prechecked> = batch.iter().map(|b| Prechecked::new(b)).collect();
        assert_eq!(summary(&taken), summary(&direct));
        assert!(!taken[9].is_valid());
        assert_eq!(taken.iter().filter(|c| c.is_valid()).count(), 149);
        // Taking removes the results; a second take recomputes them.
        assert_eq!(summary(&pool.take(&batch[..5])), summary(&direct[..5]));
        assert!(pool.shared.lock().done.is_empty());
        assert!(pool.shared.lock().running.is_empty());
    }

    #[test]
    fn the_oldest_results_are_dropped_beyond_the_limit() {
        let pool = Prechecks::with_limit(1, 4);
        let batch: Vec<Vec<u8>> = (0..10).map(signed).collect();
        for b in &batch {
            pool.start(vec![b.clone()]);
            let _ = pool.take(&[]); // nothing to take: just let the worker run
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pool.shared.lock().running.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let r = pool.shared.lock();
        assert_eq!(r.done.len(), 4);
        let kept: HashSet<Hash> = r.done.keys().copied().collect();
        let newest: HashSet<Hash> = batch[6..].iter().map(|b| chunk_key(std::slice::from_ref(b))).collect();
        assert_eq!(kept, newest);
    }
}
