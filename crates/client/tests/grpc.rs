//! The client against a real in-process cluster (veritrace-testkit): the real ledger, application
//! layer and gRPC server of every replica, on loopback TCP.

use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tonic::Code;
use veritrace_client::proto as pb;
use veritrace_client::{Client, ClientError, ConnectOptions};
use veritrace_core::Envelope;
use veritrace_testkit::{TestCluster, fixture, product};

/// A cluster of `voters` replicas with a leader, the leader's id and a client of it.
async fn with_leader(voters: u64) -> (TestCluster, u64, Client) {
    let cluster = TestCluster::start(voters).await;
    let leader = cluster.leader(&[]).await;
    let client = cluster.client(leader).await;
    (cluster, leader, client)
}

/// The leaves replica `id` holds.
fn tree_size(cluster: &TestCluster, id: u64) -> u64 {
    cluster.service(id).ledger().tree_head().tree_size
}

fn envelope_id(envelope: &pb::SignedEnvelope) -> [u8; 32] {
    *Envelope::from_proto(envelope.clone()).expect("an envelope").id().as_bytes()
}

/// An UNAVAILABLE status with `reason` in a `google.rpc.ErrorInfo`, built by the server's own code.
fn unavailable(reason: &str) -> tonic::Status {
    veritrace_testkit::status::reason(Code::Unavailable, reason, "injected at the edge")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_comes_back_whole() {
    let (cluster, leader, client) = with_leader(3).await;
    let receipts = client.submit(vec![product(1), product(2)]).await.expect("submit");
    assert!(receipts.iter().all(|r| r.outcome() == pb::Outcome::Applied), "{receipts:?}");
    assert_eq!(cluster.converge().await, 2);
    // What GetStatus carries is the replica's own status, every field (polled: match indexes and
    // reachability settle after the writes).
    let status = cluster
        .eventually("GetStatus to equal the replica's status", || async {
            let answered = client.status().await.ok()?;
            let own = cluster.service(leader).status().await.ok()?;
            (answered == own).then_some(answered)
        })
        .await;
    assert_eq!(status.role(), pb::RaftRole::Leader);
    assert_eq!((status.node_id, status.leader_id, status.tree_size), (leader, leader, 2));
    assert_eq!(status.root_hash, cluster.service(leader).ledger().tree_head().root.as_bytes().to_vec());
    assert_eq!(status.peer_id, format!("sim{leader}"));
    assert_eq!((status.party_id.as_str(), status.network_id.as_str()), ("admin-a", fixture::NETWORK));
    assert!(status.term > 0 && status.commit_index >= status.applied_index && status.applied_index > 0, "{status:?}");
    let members: Vec<(u64, pb::MemberKind, String)> =
        status.members.iter().map(|m| (m.node_id, m.kind(), m.api_endpoint.clone())).collect();
    let expected: Vec<(u64, pb::MemberKind, String)> =
        (1..=3).map(|id| (id, pb::MemberKind::Voter, cluster.api(id))).collect();
    assert_eq!(members, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_host_port_gets_http_and_clones_share_the_connection() {
    let (cluster, leader, client) = with_leader(1).await;
    client.submit(vec![product(1)]).await.expect("submit");
    let endpoint = cluster.api(leader);
    let bare = endpoint.strip_prefix("http://").expect("a plaintext endpoint");
    let client = Client::connect(bare).await.expect("connect without scheme");
    assert_eq!(client.endpoint(), endpoint);
    let other = client.clone();
    let (a, b) = tokio::join!(client.status(), other.tree_head());
    assert_eq!(a.expect("status").tree_size, 1);
    assert_eq!(b.expect("tree head").tree_size, tree_size(&cluster, leader));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_members_returns_every_member() {
    let (cluster, leader, client) = with_leader(3).await;
    let members = cluster
        .eventually("ListMembers to equal the members of GetStatus", || async {
            let listed = client.list_members().await.ok()?;
            let status = cluster.service(leader).status().await.ok()?;
            (listed == status.members).then_some(listed)
        })
        .await;
    let ids: Vec<u64> = members.iter().map(|m| m.node_id).collect();
    assert_eq!(ids, [1, 2, 3]);
    for m in &members {
        assert_eq!(m.kind(), pb::MemberKind::Voter);
        assert_eq!(
            (m.peer_id.clone(), m.addresses.clone()),
            (format!("sim{}", m.node_id), vec![format!("sim/{}", m.node_id)])
        );
    }
}

/// A learner joins, catches up and becomes a voter; a founding follower leaves; leadership moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_calls_return_the_cluster_answers() {
    // Replica 4 runs with an empty log until it is added.
    let cluster = TestCluster::builder(3).learners(1).start().await;
    let leader = cluster.leader(&[4]).await;
    let client = cluster.client(leader).await;
    client.submit(vec![product(1)]).await.expect("submit");

    let addresses = vec!["sim/4".to_owned()];
    // Membership follows governance: not before a k-of-n decision names the peer.
    let err = client.add_learner(4, "sim4", addresses.clone(), &cluster.api(4)).await.expect_err("not listed");
    assert_eq!((err.code(), err.reason()), (Some(Code::FailedPrecondition), Some("NOT_A_VALIDATOR")), "{err}");
    cluster.assign_validator(leader, "brand", "sim4").await;
    let added = client.add_learner(4, "sim4", addresses.clone(), &cluster.api(4)).await.expect("add learner");
    let member = added.member.expect("member");
    assert_eq!((member.node_id, member.peer_id.as_str(), member.kind()), (4, "sim4", pb::MemberKind::Learner));
    assert_eq!(member.addresses, addresses);
    assert!(added.log_index > 0);
    let listed = client.list_members().await.expect("members");
    let learner = listed.iter().find(|m| m.node_id == 4).expect("the learner is listed");
    assert_eq!((learner.kind(), learner.api_endpoint.clone()), (pb::MemberKind::Learner, cluster.api(4)));

    // The learner receives the log (it is caught up once it holds the envelope).
    assert_eq!(cluster.converge().await, 3, "the product and the governance decision");
    // Asked of a follower: it names the leader, and the client goes there
    // with its admin token (nodes do not forward admin calls).
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let promoted = cluster.client(follower).await.promote_member(4).await.expect("promote via a follower");
    assert_eq!(promoted.member.map(|m| (m.node_id, m.kind())), Some((4, pb::MemberKind::Voter)));
    assert!(promoted.log_index > added.log_index);

    let gone = (1..=3).find(|id| *id != leader).expect("a follower");
    let removed = client.remove_member(gone).await.expect("remove");
    assert!(removed.log_index > promoted.log_index);
    let listed = client.list_members().await.expect("members");
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|m| m.node_id != gone && m.kind() == pb::MemberKind::Voter), "{listed:?}");

    let term = cluster.service(leader).raft_status().await.expect("raft status").term;
    let transferred = client.transfer_leader(0).await.expect("transfer");
    assert_ne!(transferred.leader_id, leader);
    assert!(listed.iter().any(|m| m.node_id == transferred.leader_id), "the new leader is a voter");
    assert!(transferred.term > term, "{} after {term}", transferred.term);
    assert_eq!(cluster.leader(&[gone]).await, transferred.leader_id);
}

/// A follower forwards submissions to the leader it knows; NOT_LEADER comes back when that one
/// has stepped down. Here `stale` misses a leadership transfer from `old` to `new`, then can
/// reach only `old`, which names `new`. Ticks of 100 ms (elections after 1-2 s) leave `stale`
/// believing in `old` for the few calls this takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_leader_carries_reason_and_leader_metadata() {
    let cluster = TestCluster::builder(3).tick(Duration::from_millis(100)).start().await;
    let old = cluster.leader(&[]).await;
    let followers: Vec<u64> = (1..=3).filter(|id| *id != old).collect();
    let (new, stale) = (followers[0], followers[1]);

    cluster.partition(&[&[old, new], &[stale]]);
    let moved = cluster.client(old).await.transfer_leader(new).await.expect("transfer");
    assert_eq!(moved.leader_id, new);
    cluster
        .eventually("the old leader to follow the new one", || async {
            (cluster.service(old).raft_status().await.ok()?.leader == new).then_some(())
        })
        .await;
    cluster.partition(&[&[old, stale], &[new]]);
    let believed = cluster.service(stale).raft_status().await.expect("raft status").leader;
    assert_eq!(believed, old, "the cut-off follower still believes in the old leader");

    let once = ConnectOptions { submit_retries: 0, ..cluster.connect_options() };
    let client = Client::connect_with(&cluster.api(stale), &once).await.expect("connect");
    let err = client.submit(vec![product(9)]).await.expect_err("the old leader refuses");
    assert_eq!(err.reason(), Some("NOT_LEADER"));
    assert!(err.is_not_leader());
    assert_eq!(err.code(), Some(Code::Unavailable));
    assert_eq!(err.leader_id(), Some(new));
    assert_eq!(err.leader_api(), Some(cluster.api(new).as_str()));
    let ClientError::Rpc { metadata, message, .. } = &err else { panic!("not an Rpc error: {err:?}") };
    assert!(message.contains("not the leader"), "{message}");
    assert_eq!(err.to_string(), format!("NOT_LEADER: {message} (code Unavailable)"));
    assert_eq!(metadata.get("leader_id"), Some(&new.to_string()));
    assert_eq!(metadata.len(), 2);
    cluster.heal();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_reasons_and_bare_statuses() {
    let mut cluster = TestCluster::start(3).await;
    let leader = cluster.leader(&[]).await;
    let client = cluster.client(leader).await;
    let followers: Vec<u64> = (1..=3).filter(|id| *id != leader).collect();
    // With one follower down, removing the other would leave one voter of two heard from.
    cluster.crash(followers[0]).await;
    cluster
        .eventually("the leader to count the crashed follower unreachable", || async {
            let members = cluster.service(leader).status().await.ok()?.members;
            members.iter().any(|m| m.node_id == followers[0] && !m.reachable).then_some(())
        })
        .await;
    let err = client.remove_member(followers[1]).await.expect_err("quorum at risk");
    assert_eq!((err.code(), err.reason()), (Some(Code::FailedPrecondition), Some("QUORUM_AT_RISK")));
    assert!(!err.is_not_leader());
    assert_eq!(err.leader_id(), None);

    // A member's PeerId under another node id would cut that member off.
    let taken = format!("sim{}", followers[1]);
    let err = client.add_learner(77, &taken, Vec::new(), "").await.expect_err("a member's peer id");
    assert_eq!((err.code(), err.reason()), (Some(Code::FailedPrecondition), Some("PEER_ID_IN_USE")), "{err}");
    let err = client.add_learner(0, "", Vec::new(), "").await.expect_err("no peer id");
    assert_eq!((err.code(), err.reason()), (Some(Code::InvalidArgument), Some("INVALID_ARGUMENT")));
    assert_eq!(err.metadata("field"), Some("peer_id"));
    let err = client.remove_member(0).await.expect_err("no node id");
    assert_eq!(
        (err.code(), err.reason(), err.metadata("field")),
        (Some(Code::InvalidArgument), Some("INVALID_ARGUMENT"), Some("node_id"))
    );

    // The server gives every refusal a reason; a bare status (a proxy's, say) is injected at its edge.
    cluster.inject(leader).fail_next("RemoveMember", tonic::Status::invalid_argument("node_id is required"));
    let err = client.remove_member(0).await.expect_err("bare status");
    assert_eq!((err.code(), err.reason()), (Some(Code::InvalidArgument), None));
    assert_eq!(err.to_string(), "node_id is required (code InvalidArgument)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_returns_one_receipt_per_envelope_in_order() {
    let (cluster, leader, client) = with_leader(1).await;
    let (good, other) = (product(1), product(2));
    // A brand's real signature over another payload of the brand's.
    let mut forged = product(3);
    forged.payload = product(4).payload;
    let sent = vec![good.clone(), forged.clone(), other.clone()];

    let receipts = client.submit(sent).await.expect("submit");
    assert_eq!(receipts.len(), 3);
    assert_eq!(receipts[0].envelope_id, envelope_id(&good).to_vec());
    assert_eq!((receipts[0].outcome(), receipts[0].leaf_index), (pb::Outcome::Applied, 0));
    assert_eq!((receipts[1].outcome(), receipts[1].reason.as_str()), (pb::Outcome::Rejected, "BAD_SIGNATURE"));
    assert_eq!(receipts[2].envelope_id, envelope_id(&other).to_vec());
    assert_eq!((receipts[2].outcome(), receipts[2].leaf_index), (pb::Outcome::Applied, 1));
    assert!(
        receipts.iter().all(|r| r.log_index == receipts[0].log_index && r.log_index > 0),
        "one entry: {receipts:?}"
    );

    // The ledger holds the envelopes as sent, and not the forgery.
    assert_eq!(tree_size(&cluster, leader), 2);
    for envelope in [good, other] {
        let entry = client.get_envelope(envelope_id(&envelope)).await.expect("get").expect("in the ledger");
        assert_eq!(entry.envelope, Some(envelope));
    }
    assert_eq!(client.get_envelope(envelope_id(&forged)).await.expect("get"), None);
}

/// A transiently unavailable cluster is retried (envelopes are idempotent); other refusals, or
/// a client with retries off, fail at once. The refusals replace the answers after the replica
/// handled the calls, as lost answers would: the first attempt lands, the retries find it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_retries_transient_unavailability_only() {
    let (cluster, leader, client) = with_leader(1).await;
    let faults = cluster.inject(leader);
    let refuse = |reasons: &[&str]| reasons.iter().for_each(|r| faults.fail_next("SubmitEnvelopes", unavailable(r)));
    let calls = || faults.calls("SubmitEnvelopes");
    let envelopes: Vec<pb::SignedEnvelope> = (1..=4).map(product).collect();

    refuse(&["LEADER_UNREACHABLE", "NOT_LEADER", "PROPOSAL_DROPPED"]);
    let receipts = client.submit(vec![envelopes[0].clone()]).await.expect("the fourth attempt succeeds");
    assert_eq!((receipts[0].outcome(), receipts[0].leaf_index), (pb::Outcome::Duplicate, 0));
    assert_eq!(calls(), 4, "three refused attempts, then one answered");

    refuse(&["LEADER_UNREACHABLE"; 4]);
    let err = client.submit(vec![envelopes[1].clone()]).await.expect_err("retries run out");
    assert_eq!(err.reason(), Some("LEADER_UNREACHABLE"));
    assert!(err.is_transient());
    assert_eq!(calls(), 8);

    refuse(&["SHUTTING_DOWN"]);
    let err = client.submit(vec![envelopes[2].clone()]).await.expect_err("not retried");
    assert_eq!((err.reason(), err.is_transient()), (Some("SHUTTING_DOWN"), false));
    assert_eq!(calls(), 9, "one attempt only");

    let options = ConnectOptions { submit_retries: 0, ..cluster.connect_options() };
    let no_retries = Client::connect_with(client.endpoint(), &options).await.expect("connect");
    refuse(&["LEADER_UNREACHABLE"]);
    let err = no_retries.submit(vec![envelopes[3].clone()]).await.expect_err("retries off");
    assert_eq!(err.reason(), Some("LEADER_UNREACHABLE"));
    assert_eq!(calls(), 10, "one more attempt only");
    assert_eq!(faults.pending(), 0);

    // Every envelope is in the ledger exactly once, in the order sent.
    assert_eq!(tree_size(&cluster, leader), 4);
    for (leaf, envelope) in (0..).zip(&envelopes) {
        let entry = client.get_envelope(envelope_id(envelope)).await.expect("get").expect("in the ledger");
        assert_eq!(entry.receipt.map(|r| r.leaf_index), Some(leaf));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_envelope_found_and_not_found() {
    let (_cluster, _, client) = with_leader(1).await;
    let envelope = product(1);
    client.submit(vec![envelope.clone()]).await.expect("submit");
    let id = envelope_id(&envelope);
    let entry = client.get_envelope(id).await.expect("get").expect("known id");
    assert_eq!(
        entry.receipt.map(|r| (r.outcome(), r.envelope_id, r.leaf_index)),
        Some((pb::Outcome::Applied, id.to_vec(), 0))
    );
    assert_eq!(entry.envelope, Some(envelope));
    assert_eq!(client.get_envelope([1; 32]).await.expect("not found is not an error"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_fails_slow_calls() {
    let (cluster, leader, _) = with_leader(1).await;
    cluster.inject(leader).delay_next("CreateSnapshot", Duration::from_millis(1500));
    let options = ConnectOptions { request_timeout: Some(Duration::from_millis(300)), ..cluster.connect_options() };
    let client = Client::connect_with(&cluster.api(leader), &options).await.expect("connect");
    let started = Instant::now();
    let err = client.create_snapshot().await.expect_err("times out");
    assert!(started.elapsed() < Duration::from_millis(1200), "took {:?}", started.elapsed());
    assert!(matches!(err.code(), Some(Code::Cancelled | Code::DeadlineExceeded)), "{err:?}");
    assert_eq!(cluster.inject(leader).calls("CreateSnapshot"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_snapshot_without_timeout_waits() {
    let (cluster, leader, client) = with_leader(1).await;
    client.submit(vec![product(1), product(2)]).await.expect("submit");
    cluster.inject(leader).delay_next("CreateSnapshot", Duration::from_millis(1500));
    let options = ConnectOptions { request_timeout: None, ..cluster.connect_options() };
    let client = Client::connect_with(&cluster.api(leader), &options).await.expect("connect");
    let started = Instant::now();
    let snapshot = client.create_snapshot().await.expect("snapshot");
    assert!(started.elapsed() >= Duration::from_millis(1500), "took {:?}", started.elapsed());
    let raft = cluster.service(leader).raft_status().await.expect("raft status");
    assert_eq!((snapshot.index, snapshot.term, snapshot.tree_size), (raft.snapshot_index, raft.term, 2));
    assert!(snapshot.index > 0 && snapshot.size_bytes > 0, "{snapshot:?}");
}

/// A local port with nothing listening on it (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("local addr").port()
}

#[tokio::test]
async fn closed_port_is_a_connect_error_naming_the_endpoint() {
    let port = closed_port().await;
    let err = Client::connect(&format!("127.0.0.1:{port}")).await.expect_err("nothing listens");
    let ClientError::Connect { endpoint, .. } = &err else { panic!("not a Connect error: {err:?}") };
    assert_eq!(endpoint, &format!("http://127.0.0.1:{port}"));
    let text = err.to_string();
    assert!(text.contains(&format!("http://127.0.0.1:{port}")), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

#[tokio::test]
async fn malformed_endpoint_is_invalid() {
    for bad in ["http://", "127.0.0.1:port", "ftp://127.0.0.1:7401", ""] {
        let err = Client::connect(bad).await.expect_err("malformed");
        let ClientError::InvalidEndpoint { endpoint, reason } = &err else { panic!("{bad:?}: {err:?}") };
        assert_eq!(endpoint, bad);
        assert!(!reason.is_empty());
    }
}
