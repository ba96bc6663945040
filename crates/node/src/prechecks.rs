//! Envelope prechecks (decode, strict signature check, transaction decode)
//! run ahead of apply on worker threads.
//!
//! The Raft driver calls [`StateMachine::prepare`] when an entry is
//! appended to this node's log, before it is fsynced and while it is being
//! replicated. [`Prechecks::start`] hands its envelopes to the workers;
//! when the entry commits, [`Prechecks::take`] collects the results (waiting
//! for a check still running, doing inline whatever was never started).
//! The checks are a pure function of the bytes
//! ([`veritrace_ledger::Prechecked`]), so apply's answer is the same
//! whichever thread computed them, and every replica still checks every
//! signature itself.
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
use veritrace_ledger::{Prechecked, precheck_all};

/// Envelopes per job: small enough that one entry spreads over every worker.
const JOB_ENVELOPES: usize = 16;
/// Jobs waiting for a worker.
const QUEUE_JOBS: usize = 1024;
/// Results kept for apply.
const MAX_RESULTS: usize = 100_000;
/// Longest apply waits for a running check before doing it itself.
const WAIT_LIMIT: Duration = Duration::from_secs(2);

type Job = Vec<(Hash, Vec<u8>)>;

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
    done: HashMap<Hash, Prechecked>,
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

    /// Starts checking `envelopes` in the background. Envelopes already
    /// checked or being checked are skipped.
    pub fn start(&self, envelopes: Vec<Vec<u8>>) {
        let Some(jobs) = &self.jobs else { return };
        let mut fresh: Job = Vec::with_capacity(envelopes.len());
        {
            let mut r = self.shared.lock();
            for bytes in envelopes {
                let key = Hash::digest(&bytes);
                if !r.done.contains_key(&key) && r.running.insert(key) {
                    fresh.push((key, bytes));
                }
            }
        }
        let mut rest = fresh;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(JOB_ENVELOPES));
            let job = std::mem::replace(&mut rest, tail);
            match jobs.try_send(job) {
                Ok(()) => {}
                Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                    // Overloaded: apply will check these itself.
                    let mut r = self.shared.lock();
                    for (key, _) in job {
                        r.running.remove(&key);
                    }
                    self.shared.finished.notify_all();
                }
            }
        }
    }

    /// The prechecks of `envelopes`, in order: those computed ahead, after
    /// waiting for any still running, and the rest computed now.
    pub fn take(&self, envelopes: &[Vec<u8>]) -> Vec<Prechecked> {
        let keys: Vec<Hash> = envelopes.iter().map(|b| Hash::digest(b)).collect();
        let mut found: Vec<Option<Prechecked>> = Vec::with_capacity(envelopes.len());
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
        let missing: Vec<&Vec<u8>> =
            envelopes.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(b, _)| b).collect();
        let mut computed = precheck_all(&missing).into_iter();
        found.into_iter().map(|f| f.or_else(|| computed.next()).unwrap_or_else(|| Prechecked::new(&[]))).collect()
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
        let checked: Vec<(Hash, Prechecked)> =
            job.into_iter().map(|(key, bytes)| (key, Prechecked::new(&bytes))).collect();
        let mut r = shared.lock();
        for (key, result) in checked {
            r.running.remove(&key);
            if r.done.insert(key, result).is_none() {
                r.order.push_back(key);
            }
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
        let mut batch: Vec<Vec<u8>> = (0..50).map(signed).collect();
        batch[9] = b"junk".to_vec();
        pool.start(batch[..30].to_vec());
        let taken = pool.take(&batch);
        let direct: Vec<Prechecked> = batch.iter().map(|b| Prechecked::new(b)).collect();
        assert_eq!(summary(&taken), summary(&direct));
        assert!(!taken[9].is_valid());
        assert_eq!(taken.iter().filter(|c| c.is_valid()).count(), 49);
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
        let newest: HashSet<Hash> = batch[6..].iter().map(|b| Hash::digest(b)).collect();
        assert_eq!(kept, newest);
    }
}
