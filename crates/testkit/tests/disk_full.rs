//! A full disk: the node refuses new writes with a clear status while its
//! disk watch says so, and takes them again in process when space returns;
//! a node whose log write fails anyway stops its driver (and a node
//! process exits for its supervisor), then restarts with nothing lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use veritrace_proto::v1 as pb;
use veritrace_testkit::{TestCluster, product};

fn applied(receipts: &[pb::Receipt]) -> bool {
    receipts.iter().all(|r| r.outcome == pb::Outcome::Applied as i32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_refused_while_the_disk_is_short_and_resume_when_space_returns() {
    let cluster = TestCluster::builder(3).seed(31).start().await;
    let leader = cluster.leader(&[]).await;
    let follower = if leader == 1 { 2 } else { 1 };
    assert!(applied(&cluster.client(leader).await.submit(vec![product(1)]).await.expect("submit")));

    // The leader's disk is short: its own callers and the followers that
    // forward to it are refused, RESOURCE_EXHAUSTED / DISK_FULL.
    cluster.proposal_gate(leader).close("DISK_FULL", "1000 bytes free, below node.min_free_disk_bytes");
    for via in [leader, follower] {
        let err = cluster.client(via).await.submit(vec![product(2)]).await.expect_err("refused");
        assert_eq!(err.code(), Some(tonic::Code::ResourceExhausted), "via {via}: {err:?}");
        assert_eq!(err.reason(), Some("DISK_FULL"), "via {via}: {err:?}");
    }
    // Nothing changed, and reads still work.
    let status = cluster.client(follower).await.status().await.expect("reads go on");
    assert_eq!(status.tree_size, 1);

    // Space returns: the same node takes writes again, no restart.
    cluster.proposal_gate(leader).open();
    assert!(applied(&cluster.client(follower).await.submit(vec![product(2)]).await.expect("submit")));

    // A follower with a short disk refuses its own callers before
    // forwarding; the others go on.
    cluster.proposal_gate(follower).close("DISK_FULL", "short");
    let err = cluster.client(follower).await.submit(vec![product(3)]).await.expect_err("refused");
    assert_eq!(err.reason(), Some("DISK_FULL"), "{err:?}");
    assert!(applied(&cluster.client(leader).await.submit(vec![product(3)]).await.expect("submit")));
    assert_eq!(cluster.converge().await, 3, "the short follower still replicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_log_write_stops_the_driver_and_a_restart_loses_nothing() {
    let mut cluster = TestCluster::builder(3).seed(32).start().await;
    let leader = cluster.leader(&[]).await;
    let follower = if leader == 1 { 2 } else { 1 };
    assert!(applied(&cluster.client(leader).await.submit(vec![product(1)]).await.expect("submit")));

    // The follower's disk fails every write: the next append it must
    // persist stops its driver, with the reason.
    cluster.write_faults(follower).set_disk_full(true);
    let raft = cluster.service(follower).raft().clone();
    let stopped = tokio::spawn(async move { raft.stopped().await });
    let mut acked = 1;
    for n in 2..=6 {
        let receipts = cluster.client(leader).await.submit(vec![product(n)]).await.expect("a majority writes on");
        assert!(applied(&receipts));
        acked += 1;
    }
    let why = tokio::time::timeout(std::time::Duration::from_secs(10), stopped)
        .await
        .expect("the driver stopped")
        .expect("join")
        .expect("with a reason");
    assert!(why.contains("No space left on device"), "{why}");
    assert!(cluster.write_faults(follower).refused() > 0);

    // Space returns; the node restarts (its supervisor's job) and catches
    // up: every acknowledged write is there, roots equal.
    cluster.write_faults(follower).set_disk_full(false);
    cluster.crash(follower).await;
    cluster.restart(follower).await;
    assert_eq!(cluster.converge().await, acked);
    let root = cluster.service(leader).ledger().tree_head().root;
    assert_eq!(cluster.service(follower).ledger().tree_head().root, root);
}
