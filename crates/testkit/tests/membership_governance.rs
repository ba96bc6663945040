//! Membership follows governance (`crates/service/src/admission.rs`), read
//! as an attacker would: a leader running other code proposes membership
//! changes straight to Raft, skipping its own service's check. Every
//! replica judges the committed change against the ledger and applies a
//! refused one as a no-op, so the configuration does not move; the same
//! change goes through once a k-of-n decision allows it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use veritrace_consensus::{DriverError, MembershipChange, NodeId};
use veritrace_service::MemberInfo;
use veritrace_testkit::TestCluster;

/// Voters and learners as replica `id` applied them.
fn config(cluster: &TestCluster, id: NodeId) -> (BTreeSet<NodeId>, BTreeSet<NodeId>) {
    let m = cluster.service(id).raft().membership().borrow().clone();
    (m.voters, m.learners)
}

fn refused_reason(e: DriverError) -> String {
    match e {
        DriverError::Refused { reason, .. } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn sim_member(id: NodeId, cluster: &TestCluster) -> Vec<u8> {
    MemberInfo { peer_id: format!("sim{id}"), api: cluster.api(id), addrs: vec![format!("sim/{id}")] }.encode()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cannot_add_promote_or_remove_against_the_ledger() {
    let cluster = TestCluster::builder(3).learners(1).start().await;
    let leader = cluster.leader(&[4]).await;
    let target = (1..=3).find(|id| *id != leader).expect("a follower");
    let raft = cluster.service(leader).raft().clone();
    let founding = (BTreeSet::from([1, 2, 3]), BTreeSet::new());

    // Added straight to Raft without a decision: committed, and a no-op everywhere.
    let add = MembershipChange::AddLearner { node: 4, metadata: sim_member(4, &cluster) };
    let e = raft.change_membership(vec![add.clone()]).await.expect_err("an unlisted learner");
    assert_eq!(refused_reason(e), "NOT_ADMITTED");
    for id in 1..=3 {
        assert_eq!(config(&cluster, id), founding, "replica {id} took the learner in");
    }
    // Posing as a member's peer is no better, even once that peer is listed.
    cluster.assign_validator(leader, "brand", &format!("sim{target}")).await;
    let impostor = MembershipChange::AddLearner { node: 77, metadata: sim_member(target, &cluster) };
    let e = raft.change_membership(vec![impostor]).await.expect_err("a member's PeerId under another id");
    assert_eq!(refused_reason(e), "NOT_ADMITTED");
    // The target is now brand's listed validator: removing it needs a decision first.
    let remove = MembershipChange::Remove { node: target };
    let e = raft.change_membership(vec![remove.clone()]).await.expect_err("a listed validator");
    assert_eq!(refused_reason(e), "NOT_ADMITTED");
    let e = cluster.client(leader).await.remove_member(target).await.expect_err("the service's own check");
    assert_eq!(e.reason(), Some("STILL_A_VALIDATOR"), "{e}");
    cluster
        .eventually("every replica still has the founding voters", || async {
            (1..=3).all(|id| config(&cluster, id) == founding).then_some(())
        })
        .await;

    // Once governance lists node 4, the same change goes through; promotion too.
    cluster.assign_validator(leader, "maker", "sim4").await;
    raft.change_membership(vec![add]).await.expect("a listed learner");
    cluster.converge().await;
    raft.change_membership(vec![MembershipChange::Promote { node: 4 }]).await.expect("a listed voter");
    // De-listed, the target may go.
    cluster.assign_validator(leader, "brand", "").await;
    raft.change_membership(vec![remove]).await.expect("a de-listed member");
    let want: BTreeSet<NodeId> = [1, 2, 3, 4].into_iter().filter(|id| *id != target).collect();
    cluster
        .eventually("every remaining replica applied the governed changes", || async {
            want.iter().all(|id| config(&cluster, *id).0 == want).then_some(())
        })
        .await;
}
