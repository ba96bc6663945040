//! The driver's metrics over the simulated network: the leader's state
//! and proposal counters, leader changes seen by a follower, failed
//! proposals, and snapshots created and installed.

#![allow(clippy::unwrap_used)]

mod support;

use support::{Cluster, item};
use veritrace_consensus::{DriverConfig, DriverError};
use veritrace_metrics::Metrics;

fn no_tweak(_: &mut DriverConfig) {}

fn value(m: &Metrics, series: &str) -> f64 {
    m.sample(series).unwrap_or_else(|| panic!("no sample {series}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_reports_its_state_and_counts_committed_proposals() {
    let c = Cluster::start(3, 21, no_tweak);
    let n = 12u64;
    let mut want = Vec::new();
    for i in 0..n as u32 {
        c.propose(&item(i), None, &[]).await;
        want.push(item(i));
    }
    c.converge(&[1, 2, 3], &want).await;
    let l = c.leader(&[]).await;
    c.wait_metrics(l, "leader state", |m| {
        let r = m.raft();
        r.has_leader.get() == 1
            && r.is_leader.get() == 1
            && r.proposals_applied.get() >= n
            && r.applied_index.get() == r.commit_index.get()
    })
    .await;
    let m = c.metrics(l);
    let r = m.raft();
    assert!(r.term.get() >= 1);
    assert!(r.commit_index.get() as u64 >= n, "every proposal took an entry at most");
    assert_eq!(r.apply_lag_entries.get(), 0);
    assert!(r.proposals_committed.get() >= n && r.proposals_committed.get() >= r.proposals_applied.get());
    assert!(r.leader_changes.get() >= 1, "the first leader counts");
    assert!(value(m, "veritrace_raft_log_fsync_duration_seconds_count") > 0.0);
    assert!(value(m, "veritrace_raft_apply_duration_seconds_count") > 0.0);
    assert_eq!(value(m, "veritrace_raft_proposals_pending"), 0.0);
    assert!(value(m, "veritrace_raft_proposals_applied_total") >= n as f64);
    // Followers applied the same proposals and know they are not leader.
    for f in (1..=3).filter(|id| *id != l) {
        c.wait_metrics(f, "follower applied", |m| m.raft().proposals_applied.get() >= n).await;
        let r = c.metrics(f).raft();
        assert_eq!((r.has_leader.get(), r.is_leader.get()), (1, 0));
        assert!(value(c.metrics(f), "veritrace_raft_log_fsync_duration_seconds_count") > 0.0);
    }
    // Each node has its own catalogue.
    assert_eq!((1..=3).map(|id| c.metrics(id).raft().is_leader.get()).sum::<i64>(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_counts_the_new_leader_after_the_old_one_is_isolated() {
    let c = Cluster::start(3, 22, no_tweak);
    c.propose(&item(0), None, &[]).await;
    let old = c.leader(&[]).await;
    let f = (1..=3).find(|id| *id != old).unwrap();
    c.wait_metrics(f, "follower knows the leader", |m| m.raft().has_leader.get() == 1).await;
    let before = c.metrics(f).raft().leader_changes.get();
    assert!(before >= 1, "the first leader counts");

    c.net.isolate(old);
    c.propose(&item(1), None, &[old]).await;
    let new = c.leader(&[old]).await;
    assert_ne!(new, old);
    c.wait_metrics(f, "leader change seen", |m| m.raft().leader_changes.get() > before).await;
    // The isolated leader steps down (check quorum) ...
    c.wait_metrics(old, "old leader stepped down", |m| m.raft().is_leader.get() == 0).await;
    let old_changes = c.metrics(old).raft().leader_changes.get();
    // ... and once healed it sees the new leader too.
    c.net.heal();
    c.wait_metrics(old, "healed node follows", |m| {
        m.raft().has_leader.get() == 1 && m.raft().leader_changes.get() > old_changes
    })
    .await;
    c.converge(&[1, 2, 3], &[item(0), item(1)]).await;
}

fn small_proposals(cfg: &mut DriverConfig) {
    cfg.max_proposal_bytes = 64;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_proposals_are_counted_on_the_node_that_took_them() {
    let c = Cluster::start(3, 23, small_proposals);
    c.propose(&item(0), None, &[]).await;
    let l = c.leader(&[]).await;
    let f = (1..=3).find(|id| *id != l).unwrap();
    let failed = |id: u64| c.metrics(id).raft().proposals_failed.get();
    let (l0, f0) = (failed(l), failed(f));

    let too_large = c.handle(l).propose(vec![7; 65]).await.unwrap_err();
    assert!(matches!(too_large, DriverError::Refused { ref reason, .. } if reason == "TOO_LARGE"), "{too_large}");
    assert_eq!(failed(l), l0 + 1);

    // A proposal accepted and applied does not count.
    c.handle(l).propose(item(1)).await.unwrap();
    assert_eq!(failed(l), l0 + 1);

    // A driver that stopped fails its proposals.
    c.nodes[&f].task.abort();
    for _ in 0..100 {
        if c.nodes[&f].task.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(c.handle(f).propose(item(2)).await.unwrap_err(), DriverError::Stopped);
    assert_eq!(failed(f), f0 + 1);
    assert_eq!(failed(l), l0 + 1, "counted only where the caller proposed");
}

fn small_snapshots(cfg: &mut DriverConfig) {
    cfg.snapshot_interval = 20;
    cfg.snapshot_keep_entries = 2;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_created_and_installed_are_counted() {
    let c = Cluster::start(3, 24, small_snapshots);
    let (l, lagging) = c.isolate_a_follower().await;
    let created = c.metrics(l).raft().snapshots.get();
    let mut want = vec![item(0)];
    for i in 1..60 {
        c.propose(&item(i), None, &[lagging]).await;
        want.push(item(i));
    }
    let l = c.leader(&[lagging]).await;
    assert!(c.metrics(l).raft().snapshots.get() > created, "the leader compacted its log");
    c.net.heal();
    c.converge(&[1, 2, 3], &want).await;
    c.wait_metrics(lagging, "snapshot installed", |m| m.raft().snapshots_applied.get() >= 1).await;
    assert!(value(c.metrics(lagging), "veritrace_raft_snapshots_applied_total") >= 1.0);
}
