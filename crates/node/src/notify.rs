//! The systemd notification protocol (`sd_notify`), for a unit with
//! `Type=notify` (`deploy/systemd/veritrace.service`).
//!
//! * `READY=1` once the node has opened and checked its stores, started
//!   Raft and the network and bound every listener: the node serves from
//!   then on. It does not wait for a leader: founding nodes start in any
//!   order, and a unit that waited for a quorum would time out on the
//!   first host. Traffic readiness stays `/readyz`'s job.
//! * `STATUS=...` whenever readiness changes (`ready: leader 2` or
//!   `not ready: no leader known`), shown by `systemctl status`.
//! * `STOPPING=1` when shutdown begins (SIGTERM), so systemd knows the
//!   drain and the storage flush that follow are part of a clean stop.
//!
//! Without `NOTIFY_SOCKET` in the environment (not started by systemd)
//! every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;

/// Whether the process was started with a notification socket.
pub fn enabled() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some()
}

fn send(states: &[NotifyState<'_>]) {
    if !enabled() {
        return;
    }
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(cause = %e, "sd_notify failed");
    }
}

/// `READY=1` with a first status line.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `STOPPING=1`.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping: draining requests, flushing storage")]);
}

/// Keeps the unit's status line in step with the node's readiness until
/// the task is dropped; sends only changes.
pub async fn follow_readiness(service: veritrace_service::Service) {
    if !enabled() {
        return;
    }
    let mut last = String::new();
    loop {
        // One Raft status read: readiness carries the leader it saw.
        let r = service.readiness().await;
        let status =
            if r.ready { format!("ready: leader {}", r.leader_id) } else { format!("not ready: {}", r.reason) };
        if status != last {
            send(&[NotifyState::Status(&status)]);
            last = status;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
