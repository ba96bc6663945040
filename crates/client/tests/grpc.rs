//! The client against an in-test gRPC server over real TCP.

mod support;

use std::time::{Duration, Instant};

use support::{FOLLOWER_ONLY_NODE, FakeNode, KNOWN_ID, LEADER_API};
use tonic::Code;
use veritrace_client::proto as pb;
use veritrace_client::{Client, ClientError, ConnectOptions};
use veritrace_core::{Envelope, SecretKey};

async fn client() -> (Client, FakeNode) {
    let node = FakeNode::default();
    let addr = support::serve(node.clone()).await;
    let client = Client::connect(&format!("http://{addr}")).await.expect("connect");
    (client, node)
}

#[tokio::test]
async fn status_comes_back_whole() {
    let (client, _) = client().await;
    let status = client.status().await.expect("status");
    assert_eq!(status, support::canned_status());
    assert_eq!(status.role(), pb::RaftRole::Leader);
    assert_eq!(status.members.len(), 3);
}

#[tokio::test]
async fn bare_host_port_gets_http_and_clones_share_the_connection() {
    let addr = support::serve(FakeNode::default()).await;
    let client = Client::connect(&addr.to_string()).await.expect("connect without scheme");
    assert_eq!(client.endpoint(), format!("http://{addr}"));
    let other = client.clone();
    let (a, b) = tokio::join!(client.status(), other.tree_head());
    assert_eq!(a.expect("status").tree_size, 120);
    assert_eq!(b.expect("tree head").tree_size, 120);
}

#[tokio::test]
async fn list_members_follows_every_page() {
    let (client, _) = client().await;
    let members = client.list_members().await.expect("members");
    assert_eq!(members, support::canned_members());
}

#[tokio::test]
async fn membership_calls_return_the_node_answers() {
    let (client, _) = client().await;
    let addresses = vec!["/ip4/10.0.0.4/tcp/7400".to_owned()];
    let added = client.add_learner(4, "12D3KooWNode4", addresses.clone(), "").await.expect("add learner");
    let member = added.member.expect("member");
    assert_eq!((member.node_id, member.peer_id.as_str(), member.kind()), (4, "12D3KooWNode4", pb::MemberKind::Learner));
    assert_eq!(member.addresses, addresses);
    assert_eq!(added.log_index, 43);

    let promoted = client.promote_member(4).await.expect("promote");
    assert_eq!(promoted.member.map(|m| m.kind()), Some(pb::MemberKind::Voter));
    assert_eq!(client.remove_member(3).await.expect("remove").log_index, 45);
    let transferred = client.transfer_leader(0).await.expect("transfer");
    assert_eq!((transferred.leader_id, transferred.term), (2, 8));
}

#[tokio::test]
async fn not_leader_carries_reason_and_leader_metadata() {
    let (client, _) = client().await;
    let err = client.promote_member(FOLLOWER_ONLY_NODE).await.expect_err("a follower refuses");
    assert_eq!(err.reason(), Some("NOT_LEADER"));
    assert!(err.is_not_leader());
    assert_eq!(err.code(), Some(Code::Unavailable));
    assert_eq!(err.leader_id(), Some(2));
    assert_eq!(err.leader_api(), Some(LEADER_API));
    assert_eq!(err.to_string(), "NOT_LEADER: not the leader (code Unavailable)");
    let ClientError::Rpc { metadata, message, .. } = &err else { panic!("not an Rpc error: {err:?}") };
    assert_eq!(message, "not the leader");
    assert_eq!(metadata.get("leader_id").map(String::as_str), Some("2"));
    assert_eq!(metadata.len(), 2);
}

#[tokio::test]
async fn other_reasons_and_bare_statuses() {
    let (client, _) = client().await;
    let err = client.remove_member(1).await.expect_err("quorum at risk");
    assert_eq!((err.code(), err.reason()), (Some(Code::FailedPrecondition), Some("QUORUM_AT_RISK")));
    assert_eq!(err.metadata("voters"), Some("2"));
    assert!(!err.is_not_leader());

    let err = client.add_learner(0, "", Vec::new(), "").await.expect_err("no peer id");
    assert_eq!((err.code(), err.reason()), (Some(Code::InvalidArgument), Some("INVALID_ARGUMENT")));

    let err = client.remove_member(0).await.expect_err("bare status");
    assert_eq!((err.code(), err.reason()), (Some(Code::InvalidArgument), None));
    assert_eq!(err.to_string(), "node_id is required (code InvalidArgument)");
}

#[tokio::test]
async fn submit_returns_one_receipt_per_envelope_in_order() {
    let (client, node) = client().await;
    let key = SecretKey::from_seed_label("brand-a");
    let good = Envelope::sign(b"payload one".to_vec(), &key);
    let other = Envelope::sign(b"payload two".to_vec(), &key);
    let mut forged = good.to_proto();
    forged.payload = b"tampered".to_vec();
    let sent = vec![good.to_proto(), forged, other.to_proto()];

    let receipts = client.submit(sent.clone()).await.expect("submit");
    assert_eq!(receipts.len(), 3);
    assert_eq!(receipts[0].envelope_id, good.id().as_bytes().to_vec());
    assert_eq!((receipts[0].outcome(), receipts[0].leaf_index), (pb::Outcome::Applied, 120));
    assert_eq!((receipts[1].outcome(), receipts[1].reason.as_str()), (pb::Outcome::Rejected, "BAD_SIGNATURE"));
    assert_eq!(receipts[2].envelope_id, other.id().as_bytes().to_vec());
    assert_eq!(receipts[2].leaf_index, 121);
    assert_eq!(*node.received.lock().expect("lock"), sent, "the server got the envelopes as sent");
}

/// A transiently unavailable cluster is retried (envelopes are idempotent); other refusals, or
/// a client with retries off, fail at once.
#[tokio::test]
async fn submit_retries_transient_unavailability_only() {
    let (client, node) = client().await;
    let env = Envelope::sign(b"payload".to_vec(), &SecretKey::from_seed_label("brand-a")).to_proto();
    *node.submit_failures.lock().expect("lock") = vec!["LEADER_UNREACHABLE", "NOT_LEADER", "PROPOSAL_DROPPED"];
    let receipts = client.submit(vec![env.clone()]).await.expect("the fourth attempt succeeds");
    assert_eq!(receipts[0].outcome(), pb::Outcome::Applied);
    assert_eq!(node.received.lock().expect("lock").len(), 4, "three refused attempts, then one that landed");

    *node.submit_failures.lock().expect("lock") = vec!["LEADER_UNREACHABLE"; 4];
    let err = client.submit(vec![env.clone()]).await.expect_err("retries run out");
    assert_eq!(err.reason(), Some("LEADER_UNREACHABLE"));
    assert!(err.is_transient());

    node.received.lock().expect("lock").clear();
    *node.submit_failures.lock().expect("lock") = vec!["SHUTTING_DOWN"];
    let err = client.submit(vec![env.clone()]).await.expect_err("not retried");
    assert_eq!((err.reason(), err.is_transient()), (Some("SHUTTING_DOWN"), false));
    assert_eq!(node.received.lock().expect("lock").len(), 1, "one attempt only");

    let addr = client.endpoint().to_owned();
    let no_retries = Client::connect_with(&addr, &ConnectOptions { submit_retries: 0, ..ConnectOptions::default() })
        .await
        .expect("connect");
    *node.submit_failures.lock().expect("lock") = vec!["LEADER_UNREACHABLE"];
    let err = no_retries.submit(vec![env]).await.expect_err("retries off");
    assert_eq!(err.reason(), Some("LEADER_UNREACHABLE"));
    assert_eq!(node.received.lock().expect("lock").len(), 2, "one more attempt only");
}

#[tokio::test]
async fn get_envelope_found_and_not_found() {
    let (client, _) = client().await;
    let entry = client.get_envelope(KNOWN_ID).await.expect("get").expect("known id");
    assert_eq!(entry.receipt.map(|r| (r.envelope_id, r.leaf_index)), Some((KNOWN_ID.to_vec(), 5)));
    assert_eq!(client.get_envelope([1; 32]).await.expect("not found is not an error"), None);
}

#[tokio::test]
async fn request_timeout_fails_slow_calls() {
    // The fake CreateSnapshot takes 1.5 s.
    let addr = support::serve(FakeNode::default()).await;
    let options = ConnectOptions { request_timeout: Some(Duration::from_millis(300)), ..ConnectOptions::default() };
    let client = Client::connect_with(&addr.to_string(), &options).await.expect("connect");
    let started = Instant::now();
    let err = client.create_snapshot().await.expect_err("times out");
    assert!(started.elapsed() < Duration::from_millis(1200), "took {:?}", started.elapsed());
    assert!(matches!(err.code(), Some(Code::Cancelled | Code::DeadlineExceeded)), "{err:?}");
}

#[tokio::test]
async fn create_snapshot_without_timeout_waits() {
    let addr = support::serve(FakeNode::default()).await;
    let options = ConnectOptions { request_timeout: None, ..ConnectOptions::default() };
    let client = Client::connect_with(&addr.to_string(), &options).await.expect("connect");
    let snapshot = client.create_snapshot().await.expect("snapshot");
    assert_eq!((snapshot.index, snapshot.tree_size, snapshot.size_bytes), (42, 120, 4096));
}

#[tokio::test]
async fn closed_port_is_a_connect_error_naming_the_endpoint() {
    let port = support::closed_port().await;
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
