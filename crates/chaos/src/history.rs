//! What the clients saw: one record per operation, with when it was
//! invoked and how it completed, in the harness's monotonic clock.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

/// How a write ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum WriteOutcome {
    /// Acknowledged: the receipt's leaf index.
    Ok {
        /// Where the receipt says the envelope is.
        leaf: u64,
    },
    /// Refused before any commit could happen (a definite failure).
    Fail(String),
    /// Timed out or broke mid-call: it may or may not be in the ledger.
    Unknown(String),
}

/// One operation.
#[derive(Debug, Clone, Serialize)]
pub enum Op {
    /// A submission of one envelope.
    Write {
        /// Client worker.
        process: usize,
        /// Node called.
        node: u64,
        /// The envelope's id (hex).
        envelope: String,
        /// Microseconds since the run started.
        invoked_us: u64,
        /// Microseconds since the run started, when it completed.
        completed_us: u64,
        /// How.
        outcome: WriteOutcome,
    },
    /// A linearizable read of the tree size.
    Read {
        /// Client worker.
        process: usize,
        /// Node called.
        node: u64,
        /// Microseconds since the run started.
        invoked_us: u64,
        /// Microseconds since the run started, when it completed.
        completed_us: u64,
        /// The tree size read, when the read succeeded.
        size: Option<u64>,
    },
}

/// The history of one run, shared by the clients.
#[derive(Debug, Clone)]
pub struct History {
    started: Instant,
    ops: Arc<Mutex<Vec<Op>>>,
}

impl Default for History {
    fn default() -> Self {
        History { started: Instant::now(), ops: Arc::default() }
    }
}

impl History {
    /// Microseconds since the run started.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Records a completed operation.
    pub fn record(&self, op: Op) {
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).push(op);
    }

    /// Every operation so far.
    pub fn ops(&self) -> Vec<Op> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
