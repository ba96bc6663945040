//! Bounds on the long-running work a caller can start on a node: streams
//! that follow the ledger (`Watch`) and whole-ledger jobs (`Audit`,
//! `SaveSnapshot`). Each holds a task (and, for the jobs, a blocking
//! thread re-reading the whole store) for as long as it runs; without a
//! bound, callers could start them until the node spends all its time and
//! memory there and the Raft driver, which shares the runtime, starves.
//! A caller over the bound is refused at once (`RESOURCE_EXHAUSTED`, with a
//! retry delay), never queued.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Runs a read that walks many records (a journey, a page of envelopes, a
/// party's profile) on tokio's blocking pool, not on the async workers the
/// Raft driver shares: a burst of heavy reads then queues there instead of
/// delaying heartbeats and appends.
/// Any edge's error type serves, given how to say the read itself failed.
pub async fn off_the_runtime<T: Send + 'static, E: From<ReadFailed> + Send + 'static>(
    read: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    match tokio::task::spawn_blocking(read).await {
        Ok(answer) => answer,
        Err(e) => Err(ReadFailed(format!("the read failed: {e}")).into()),
    }
}

/// A read on the blocking pool that panicked or was cancelled.
#[derive(Debug)]
pub struct ReadFailed(pub String);

impl From<ReadFailed> for tonic::Status {
    fn from(e: ReadFailed) -> Self {
        crate::status::reason(tonic::Code::Internal, "INTERNAL", e.0)
    }
}

/// Most `Watch` streams a node serves at once.
pub const MAX_WATCHES: usize = 256;

/// Most whole-ledger jobs (`Audit`, `SaveSnapshot`) a node runs at once.
pub const MAX_LEDGER_JOBS: usize = 2;

/// The node's bounds, shared by every service of one server.
#[derive(Debug, Clone)]
pub struct WorkLimits {
    watches: Arc<Semaphore>,
    jobs: Arc<Semaphore>,
}

impl Default for WorkLimits {
    fn default() -> Self {
        WorkLimits::new(MAX_WATCHES, MAX_LEDGER_JOBS)
    }
}

impl WorkLimits {
    /// At most `watches` streams and `jobs` whole-ledger jobs at once.
    pub fn new(watches: usize, jobs: usize) -> Self {
        WorkLimits { watches: Arc::new(Semaphore::new(watches)), jobs: Arc::new(Semaphore::new(jobs)) }
    }

    /// A place for one more `Watch` stream, held until the permit drops;
    /// `RESOURCE_EXHAUSTED`, reason `TOO_MANY_WATCHES`, when all are taken.
    pub fn watch(&self) -> Result<OwnedSemaphorePermit, tonic::Status> {
        Arc::clone(&self.watches).try_acquire_owned().map_err(|_| {
            crate::edge::limited(
                "TOO_MANY_WATCHES",
                &format!("this node already serves {MAX_WATCHES} Watch streams"),
                Duration::from_secs(5),
            )
        })
    }

    /// A place for one whole-ledger job; `RESOURCE_EXHAUSTED`, reason
    /// `LEDGER_JOBS_BUSY`, when all are taken.
    pub fn ledger_job(&self, what: &str) -> Result<OwnedSemaphorePermit, tonic::Status> {
        Arc::clone(&self.jobs).try_acquire_owned().map_err(|_| {
            crate::edge::limited(
                "LEDGER_JOBS_BUSY",
                &format!("{what}: this node already runs {MAX_LEDGER_JOBS} audits or backups"),
                Duration::from_secs(10),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt as _;

    #[test]
    fn a_caller_over_the_bound_is_refused_until_a_place_frees() {
        let limits = WorkLimits::new(1, 1);
        let held = limits.watch().expect("the first watch");
        let refused = limits.watch().expect_err("the second");
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert_eq!(refused.get_details_error_info().map(|i| i.reason), Some("TOO_MANY_WATCHES".to_owned()));
        drop(held);
        let _again = limits.watch().expect("a place freed");
        let job = limits.ledger_job("Audit").expect("one job");
        let busy = limits.ledger_job("SaveSnapshot").expect_err("busy");
        assert_eq!(busy.get_details_error_info().map(|i| i.reason), Some("LEDGER_JOBS_BUSY".to_owned()));
        drop(job);
        let _free = limits.ledger_job("Audit").expect("free again");
    }
}
