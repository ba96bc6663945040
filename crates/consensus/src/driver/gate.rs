//! [`ProposalGate`]: a switch that makes the driver refuse new proposals,
//! with a reason, while something outside consensus says so (the node's
//! disk watch closes it when free space falls below the reserve).
//!
//! Only client proposals stop: Raft's own traffic (appends from the leader,
//! votes, heartbeats, membership entries already in the log) goes on, so
//! the rest of the cluster keeps its quorum, and the node takes writes
//! again, in process, when the gate opens.

use std::sync::{Arc, Mutex};

/// Why proposals are refused, while they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateClosed {
    /// Machine-readable reason, e.g. `DISK_FULL`.
    pub reason: &'static str,
    /// What the operator reads.
    pub message: String,
}

/// A shared open / closed switch for client proposals; open by default.
/// Cheap to clone; every clone is the same switch.
#[derive(Debug, Clone, Default)]
pub struct ProposalGate(Arc<Mutex<Option<GateClosed>>>);

impl ProposalGate {
    /// Refuses new proposals with `reason` and `message` until
    /// [`ProposalGate::open`]. Returns whether it was open before.
    pub fn close(&self, reason: &'static str, message: impl Into<String>) -> bool {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let was_open = g.is_none();
        *g = Some(GateClosed { reason, message: message.into() });
        was_open
    }

    /// Takes proposals again. Returns whether it was closed before.
    pub fn open(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take().is_some()
    }

    /// Why proposals are refused now, if they are.
    pub fn closed(&self) -> Option<GateClosed> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_and_opens_for_every_clone() {
        let gate = ProposalGate::default();
        let other = gate.clone();
        assert_eq!(gate.closed(), None);
        assert!(other.close("DISK_FULL", "12 bytes free"));
        assert!(!other.close("DISK_FULL", "10 bytes free"), "already closed");
        assert_eq!(gate.closed().map(|c| (c.reason, c.message)), Some(("DISK_FULL", "10 bytes free".to_owned())));
        assert!(gate.open());
        assert!(!gate.open());
        assert_eq!(other.closed(), None);
    }
}
