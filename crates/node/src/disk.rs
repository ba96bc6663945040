//! The disk watch: refuses new writes while the data directory's
//! filesystem is short of space, and takes them again when space returns.
//!
//! Why a reserve instead of writing until `ENOSPC`: a Raft log write that
//! fails cannot be half-done (raft-rs holds the `Ready` until it is
//! persisted), so a node that hits `ENOSPC` in the driver stops and exits
//! for its supervisor to restart. Refusing client proposals while
//! [`crate::config::NodeSection::min_free_disk_bytes`] are still free keeps
//! that for the case the reserve was too small (TiKV's `reserve-space`,
//! etcd's `NOSPACE` alarm serve the same end). Raft's own traffic is not
//! refused: the entries other nodes' clients write still replicate here,
//! from the reserve.

use std::path::{Path, PathBuf};
use std::time::Duration;

use veritrace_consensus::ProposalGate;

/// How often free space is read.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The reason proposals carry while the gate is closed for space.
pub const DISK_FULL: &str = "DISK_FULL";

/// Bytes available to the node's user on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let s = rustix::fs::statvfs(path)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Closes `gate` when fewer than `min_free` bytes are free, opens it when
/// there are again; returns the bytes free (None when they could not be
/// read: the gate is left as it is).
pub fn check(path: &Path, min_free: u64, gate: &ProposalGate) -> Option<u64> {
    let free = match free_bytes(path) {
        Ok(free) => free,
        Err(e) => {
            tracing::warn!(path = %path.display(), cause = %e, "cannot read free disk space");
            return None;
        }
    };
    if free < min_free {
        let message = format!(
            "{free} bytes free on the filesystem of {}, below node.min_free_disk_bytes ({min_free}); \
             writes resume when space returns",
            path.display()
        );
        if gate.close(DISK_FULL, message) {
            tracing::error!(path = %path.display(), free, min_free, "disk nearly full: refusing new writes");
        }
    } else if gate.open() {
        tracing::info!(path = %path.display(), free, min_free, "disk space back: taking writes again");
    }
    Some(free)
}

/// Runs [`check`] every [`CHECK_EVERY`] until the task is aborted,
/// reporting free bytes in `veritrace_storage_free_bytes`.
pub async fn watch(path: PathBuf, min_free: u64, gate: ProposalGate, metrics: veritrace_metrics::Metrics) {
    loop {
        let (p, g) = (path.clone(), gate.clone());
        if let Ok(Some(free)) = tokio::task::spawn_blocking(move || check(&p, min_free, &g)).await {
            metrics.ledger().set_free_disk_bytes(free);
        }
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_follows_the_reserve() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gate = ProposalGate::default();
        let free = check(dir.path(), 0, &gate).expect("statvfs works on a temp dir");
        assert!(free > 0);
        assert_eq!(gate.closed(), None);
        // A reserve above what the filesystem has: closed, with the numbers.
        check(dir.path(), u64::MAX, &gate).expect("statvfs");
        let closed = gate.closed().expect("closed");
        assert_eq!(closed.reason, DISK_FULL);
        assert!(closed.message.contains("node.min_free_disk_bytes"), "{}", closed.message);
        // Space "returns": open again.
        check(dir.path(), 1, &gate).expect("statvfs");
        assert_eq!(gate.closed(), None);
    }

    #[test]
    fn an_unreadable_path_leaves_the_gate_as_it_is() {
        let gate = ProposalGate::default();
        gate.close(DISK_FULL, "earlier");
        assert_eq!(check(Path::new("/nonexistent/veritrace"), 1, &gate), None);
        assert!(gate.closed().is_some());
    }
}
