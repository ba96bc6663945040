//! Ledger time follows the median of the voters' clocks, not the leader's
//! alone (crates/consensus/src/driver/clock.rs): a leader whose clock jumps
//! a year ahead does not move commit time, so fresh client times are still
//! accepted, and a voter whose clock is off changes nothing either.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use veritrace_testkit::{TestCluster, product};

const YEAR_MS: i64 = 365 * 24 * 3_600_000;

fn now_ms() -> i64 {
    veritrace_service::now_ms()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_a_year_off_does_not_move_ledger_time() {
    let cluster = TestCluster::builder(3).seed(17).start().await;
    let leader = cluster.leader(&[]).await;
    cluster.submit_applied(leader, vec![product(1)]).await;
    // The leader reads its voters' clocks when it takes office and every
    // second; give the first answers time to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The leader's clock jumps a year ahead.
    cluster.skew_clock(leader, YEAR_MS);
    cluster.submit_applied(leader, vec![product(2)]).await;
    let commit = cluster.service(leader).ledger().applied().last_commit_time_ms;
    assert!(commit < now_ms() + 60_000, "commit time followed the leader's clock: {commit} vs {}", now_ms());
    // A fresh client time is still within the window of ledger time.
    cluster.submit_applied(leader, vec![product(3)]).await;

    // A voter's clock a year behind, with the leader's back: time goes on.
    cluster.skew_clock(leader, 0);
    let follower = if leader == 1 { 2 } else { 1 };
    cluster.skew_clock(follower, -YEAR_MS);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let before = now_ms();
    cluster.submit_applied(leader, vec![product(4)]).await;
    let commit = cluster.service(leader).ledger().applied().last_commit_time_ms;
    assert!(commit >= before - 5_000 && commit < now_ms() + 60_000, "commit time {commit} strayed from {before}");
}
