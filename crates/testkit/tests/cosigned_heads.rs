//! Co-signed tree heads (`crates/service/src/cosign.rs`): a receipt's head
//! carries validators' co-signatures that verify offline against the
//! validator set with a quorum, and fail with one removed or a stranger's
//! added; a replica made to serve a forked history while co-signing
//! honestly leaves equivocation evidence that the audit returns and that
//! checks offline. Real gRPC between in-process replicas.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use veritrace_core::cosign::{CoSignError, Validator, ValidatorSet, check_equivocation, cosignature, verify_cosigned};
use veritrace_core::{SecretKey, TreeHead};
use veritrace_proto::v1 as pb;
use veritrace_testkit::{TestCluster, node_key, product};

/// Each replica's node key as the validator of its own party.
fn validators() -> ValidatorSet {
    ValidatorSet::majority(
        (1..=3).map(|id| Validator { party_id: format!("party-{id}"), key: node_key(id).public() }).collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_carry_heads_a_quorum_of_validators_cosigned() {
    let cluster = TestCluster::start(3).await;
    let leader = cluster.leader(&[]).await;
    let client = cluster.client(leader).await;
    let receipts = client.submit_with_proofs(vec![product(1)]).await.unwrap();
    let head = receipts[0].tree_head.clone().expect("a head");
    let parties = verify_cosigned(&head, &validators()).expect("co-signed by a quorum");
    assert!(parties.len() >= 2, "{parties:?}");
    assert!(parties.contains(&format!("party-{leader}")), "the serving replica signs too: {parties:?}");

    // Fewer than a quorum: keep one co-signature.
    let mut one = head.clone();
    one.cosignatures.truncate(1);
    assert!(matches!(verify_cosigned(&one, &validators()), Err(CoSignError::TooFew { have: 1, need: 2, .. })));
    // A stranger's signature in place of a validator's does not make the quorum.
    let sth = veritrace_core::receipt::tree_head_from_proto(&head).unwrap();
    let mut foreign = one.clone();
    foreign.cosignatures.push(cosignature(&sth.head.sign(&SecretKey::from_seed_label("stranger"))));
    assert!(matches!(verify_cosigned(&foreign, &validators()), Err(CoSignError::TooFew { have: 1, ignored: 1, .. })));

    // GetTreeHead co-signed on request, from a follower too.
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let follower = cluster.client(follower).await;
    let head = cluster
        .eventually("the follower's head is co-signed by a quorum", || async {
            let request = pb::GetTreeHeadRequest { cosigned: true, ..Default::default() };
            let head = follower.tree_head_with(request).await.ok()?;
            verify_cosigned(&head, &validators()).ok().map(|_| head)
        })
        .await;
    assert!(head.tree_size >= 1);
}

/// With a member down, receipts are still co-signed by the quorum that is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_down_does_not_stop_co_signing() {
    let mut cluster = TestCluster::start(3).await;
    let leader = cluster.leader(&[]).await;
    let down = (1..=3).find(|id| *id != leader).unwrap();
    cluster.crash(down).await;
    let client = cluster.client(leader).await;
    let receipts = client.submit_with_proofs(vec![product(2)]).await.unwrap();
    let parties = verify_cosigned(&receipts[0].tree_head.clone().unwrap(), &validators()).expect("a quorum is up");
    assert!(!parties.contains(&format!("party-{down}")), "{parties:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_showing_a_forked_history_is_caught_equivocating() {
    let cluster = TestCluster::builder(3).forking_head_signer(2).start().await;
    let leader = cluster.leader(&[]).await;
    cluster.submit_applied(leader, vec![product(1)]).await;
    cluster.converge().await;

    // Replica 2 serves its forked head; nobody else has that root.
    let forked = cluster
        .client(2)
        .await
        .tree_head_with(pb::GetTreeHeadRequest { cosigned: true, ..Default::default() })
        .await
        .unwrap();
    let err = verify_cosigned(&forked, &validators()).expect_err("a fork is not co-signed");
    assert!(matches!(err, CoSignError::TooFew { have: 1, .. }), "{err}");

    // The others kept replica 2's two signed roots of that size.
    let evidence = cluster
        .eventually("a peer holds equivocation evidence against replica 2", || async {
            for id in [1, 3] {
                let audit = cluster.client(id).await.audit(true, 0).await.ok()?;
                if let Some(e) = audit.equivocations.first() {
                    return Some(e.clone());
                }
            }
            None
        })
        .await;
    let (first, second) = (evidence.first.unwrap(), evidence.second.unwrap());
    assert_eq!(check_equivocation(&first, &second), Ok(node_key(2).public()));
    assert_eq!(first.tree_size, forked.tree_size);
    // An honest replica's heads are not evidence against it.
    let honest = |root: &[u8]| {
        let head = TreeHead {
            shard_id: 0,
            tree_size: first.tree_size,
            root: veritrace_core::Hash::from_slice(root).unwrap(),
            timestamp_ms: 0,
        };
        veritrace_core::receipt::tree_head_to_proto(&head.sign(&node_key(1)))
    };
    assert!(check_equivocation(&honest(&first.root_hash), &honest(&first.root_hash)).is_err());
}
