//! The kit itself: a 3-replica in-process cluster elects a leader,
//! replicates over real gRPC, survives a crash and restart and a
//! partition, and ends with equal roots everywhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use veritrace_proto::v1 as pb;
use veritrace_server::AdminSection;
use veritrace_testkit::{TestCluster, product};

fn applied(receipts: &[pb::Receipt]) -> bool {
    receipts.iter().all(|r| r.outcome == pb::Outcome::Applied as i32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_elect_replicate_and_agree() {
    let cluster = TestCluster::start(3).await;
    let leader = cluster.leader(&[]).await;
    let follower = if leader == 1 { 2 } else { 1 };
    // Through a follower: forwarded to the leader over the simulated network.
    let client = cluster.client(follower).await;
    let receipts = client.submit(vec![product(1), product(2)]).await.expect("submit");
    assert!(applied(&receipts), "{receipts:?}");
    assert_eq!(cluster.converge().await, 2);
    let status = cluster.client(leader).await.status().await.expect("status");
    assert_eq!((status.node_id, status.leader_id, status.tree_size), (leader, leader, 2));
    assert_eq!(status.members.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_replica_restarts_and_catches_up() {
    let mut cluster = TestCluster::builder(3).seed(7).start().await;
    let leader = cluster.leader(&[]).await;
    cluster.crash(leader).await;
    let new_leader = cluster.leader(&[leader]).await;
    assert_ne!(new_leader, leader);
    let receipts = cluster.client(new_leader).await.submit(vec![product(1)]).await.expect("submit");
    assert!(applied(&receipts), "{receipts:?}");
    cluster.restart(leader).await;
    // The restarted replica kept its engine and learns what it missed.
    assert_eq!(cluster.converge().await, 1);
    let root = cluster.service(new_leader).ledger().tree_head().root;
    assert_eq!(cluster.service(leader).ledger().tree_head().root, root);
    // And it serves again on its old port.
    let status = cluster.client(leader).await.status().await.expect("status after restart");
    assert_eq!(status.tree_size, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minority_partition_cannot_commit_and_heals() {
    let cluster = TestCluster::builder(3).seed(11).start().await;
    let leader = cluster.leader(&[]).await;
    let cut = if leader == 3 { 1 } else { 3 };
    cluster.isolate(cut);
    // The majority goes on.
    let majority_leader = cluster.leader(&[cut]).await;
    let receipts = cluster.client(majority_leader).await.submit(vec![product(1)]).await.expect("submit");
    assert!(applied(&receipts));
    // The cut-off replica cannot commit: its submit fails, nothing is applied there.
    let err = cluster.client(cut).await.submit(vec![product(2)]).await.expect_err("no quorum");
    // Refused as unavailable, timed out at the node, or the client's own deadline (Cancelled).
    let timed_out = matches!(err.code(), Some(tonic::Code::Cancelled | tonic::Code::DeadlineExceeded));
    assert!(err.is_transient() || timed_out, "{err:?}");
    assert_eq!(cluster.service(cut).ledger().tree_head().tree_size, 0);
    cluster.heal();
    assert_eq!(cluster.converge().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_faults_replace_answers_after_the_work_is_done() {
    let cluster = TestCluster::start(1).await;
    cluster.leader(&[]).await;
    let client = cluster.client(1).await;
    cluster.inject(1).fail_next("SubmitEnvelopes", tonic::Status::unavailable("answer lost"));
    let options = veritrace_client::ConnectOptions { submit_retries: 0, ..cluster.connect_options() };
    let once = veritrace_client::Client::connect_with(&cluster.api(1), &options).await.expect("connect");
    // One envelope, sent twice (`product` stamps a new client time on each call).
    let envelope = product(1);
    let err = once.submit(vec![envelope.clone()]).await.expect_err("the answer was replaced");
    assert_eq!(err.code(), Some(tonic::Code::Unavailable));
    // The envelope landed all the same: a resubmission is a duplicate.
    let receipts = client.submit(vec![envelope]).await.expect("resubmit");
    assert_eq!(receipts[0].outcome, pb::Outcome::Duplicate as i32);
    assert_eq!(cluster.inject(1).calls("SubmitEnvelopes"), 2);
    assert_eq!(cluster.inject(1).pending(), 0);
}

/// A backup holds every item's code digests. With an admin token the
/// caller needs it, from wherever it calls; on a node whose admin plane is
/// open (`api.admin.insecure`) a backup goes to loopback callers only. A
/// call whose peer is not loopback (here one with no peer address at all,
/// as the handler sees a non-TCP or proxied caller) is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_needs_the_admin_token_or_an_open_plane_and_loopback() {
    use veritrace_proto::v1::cluster_service_server::ClusterService as _;
    use veritrace_server::admin_auth::AdminGate;
    let cluster = TestCluster::start(1).await;
    cluster.leader(&[]).await;
    let backup = || tonic::Request::new(pb::SaveSnapshotRequest::default());
    let refusal = |r: Result<_, tonic::Status>| r.err().map(|s| (s.code(), s.message().to_owned()));

    let open = AdminGate::from_config(&AdminSection { token_blake3: None, insecure: true }, false).unwrap();
    let api = veritrace_server::cluster::ClusterApi::new(cluster.service(1).clone(), open);
    let (code, message) = refusal(api.save_snapshot(backup()).await).expect("a backup to a caller not on loopback");
    assert_eq!(code, tonic::Code::PermissionDenied, "{message}");

    let (token, hash) = veritrace_server::admin_auth::new_token();
    let gated = AdminGate::from_config(&AdminSection { token_blake3: Some(hash), insecure: false }, false).unwrap();
    let api = veritrace_server::cluster::ClusterApi::new(cluster.service(1).clone(), gated);
    let (code, message) = refusal(api.save_snapshot(backup()).await).expect("a backup without the token");
    assert_eq!(code, tonic::Code::Unauthenticated, "{message}");
    let mut with_token = backup();
    with_token.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert!(api.save_snapshot(with_token).await.is_ok(), "the token holder gets the backup from anywhere");

    let mut out = Vec::new();
    let saved = cluster.client(1).await.save_snapshot(&mut out).await;
    assert!(saved.is_ok() && !out.is_empty(), "the cluster's admin client gets the backup: {saved:?}");
    let anonymous = veritrace_client::Client::connect(&cluster.api(1)).await.unwrap();
    let err = anonymous.save_snapshot(&mut Vec::new()).await.expect_err("no token, no backup");
    assert_eq!(err.reason(), Some("ADMIN_TOKEN_REQUIRED"), "{err}");
    // Status and the member list stay readable without it.
    assert_eq!(anonymous.status().await.unwrap().node_id, 1);
    assert_eq!(anonymous.list_members().await.unwrap().len(), 1);
}
