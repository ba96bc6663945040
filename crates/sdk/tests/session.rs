//! `Veritrace` against a real in-process replica (veritrace-testkit) running the ledger's fixture
//! network: real receipts, real proofs under tree heads signed by the replica's head key, and a
//! replica that can be made to lie.

use veritrace_core::receipt::ReceiptError;
use veritrace_sdk::{PartySigner, SdkError, SecretKey, Veritrace};
use veritrace_testkit::{ClusterBuilder, TestCluster, fixture as fx, node_key};

/// Starts `cluster` (one voter, id 1), waits for its leader and opens a session with it.
async fn session(cluster: ClusterBuilder) -> (Veritrace, TestCluster) {
    let cluster = cluster.start().await;
    cluster.leader(&[]).await;
    // Submissions through `submit` sign the call as their signer; the rest as the cluster's party.
    let session = Veritrace::connect_with(&cluster.api(1), &cluster.connect_options()).await.expect("connect");
    (session, cluster)
}

/// The leaves the replica holds.
fn tree_size(cluster: &TestCluster) -> u64 {
    cluster.service(1).ledger().tree_head().tree_size
}

fn brand(network_id: &str) -> PartySigner {
    PartySigner::new("brand", fx::party_key("brand"), network_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_returns_a_checked_receipt_and_a_resubmission_the_original() {
    let (node, cluster) = session(TestCluster::builder(1)).await;
    assert_eq!(node.network_id(), fx::NETWORK);
    let signer = brand(node.network_id());

    let first = node.submit(&signer, fx::register_product(&fx::gtin(1), "brand")).await.expect("applied");
    assert!(!first.is_duplicate());
    assert_eq!(first.leaf_index(), 0);
    assert_eq!(first.tree_head().signer, node_key(1).public());
    assert_eq!(first.envelope().transaction().expect("tx").party_id, "brand");

    // A retry of the same envelope (e.g. after a timeout): the original receipt, nothing new.
    let envelope = signer.sign_action(fx::register_product(&fx::gtin(2), "brand"));
    let applied = node.submit_envelope(&envelope).await.expect("applied");
    let again = node.submit_envelope(&envelope).await.expect("duplicate");
    assert!(again.is_duplicate());
    assert_eq!(again.envelope_id(), envelope.id());
    assert_eq!((again.leaf_index(), again.commit_time_ms()), (applied.leaf_index(), applied.commit_time_ms()));
    assert_eq!(tree_size(&cluster), 2, "the envelope was recorded once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_judged_envelope_by_envelope() {
    let (node, cluster) = session(TestCluster::builder(1)).await;
    let signer = brand(node.network_id());
    let results = node
        .submit_batch(
            &signer,
            vec![
                fx::register_product(&fx::gtin(1), "brand"),
                // Under the other brand's company prefix: refused.
                fx::register_product(&fx::gtin_under(fx::BRAND2_PREFIX, 1), "brand"),
                fx::register_product(&fx::gtin(2), "brand"),
            ],
        )
        .await
        .expect("the call succeeds");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().map(|s| s.leaf_index()).ok(), Some(0));
    match &results[1] {
        Err(e @ SdkError::Rejected { .. }) => assert!(e.reason().is_some_and(|r| !r.is_empty()), "{e}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(results[2].as_ref().map(|s| s.leaf_index()).ok(), Some(1));
    assert_eq!(tree_size(&cluster), 2, "the refused envelope took no leaf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_for_another_network_sends_nothing() {
    let (node, cluster) = session(TestCluster::builder(1)).await;
    let err = node.submit(&brand("other-net"), fx::register_product(&fx::gtin(1), "brand")).await.expect_err("refused");
    assert!(matches!(err, SdkError::WrongNetwork { .. }), "{err:?}");
    assert_eq!(cluster.inject(1).calls("SubmitEnvelopes"), 0);
    assert_eq!(tree_size(&cluster), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_node_is_caught() {
    let (node, cluster) = session(TestCluster::builder(1).lying_head_signer(1)).await;
    let err = node
        .submit(&brand(node.network_id()), fx::register_product(&fx::gtin(1), "brand"))
        .await
        .expect_err("bad tree head signature");
    assert!(matches!(err, SdkError::ReceiptCheck { source: ReceiptError::Signature(_), .. }), "{err:?}");
    // The replica did apply it: only its vouching is false.
    assert_eq!(tree_size(&cluster), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_trusted_tree_head_signers_are_accepted() {
    let (node, cluster) = session(TestCluster::builder(1)).await;
    let stranger = SecretKey::from_seed_label("sdk-test/stranger").public();
    let strict = node.clone().trust_tree_head_signers([stranger]);
    let err = strict
        .submit(&brand(node.network_id()), fx::register_product(&fx::gtin(1), "brand"))
        .await
        .expect_err("untrusted");
    assert!(matches!(err, SdkError::UntrustedSigner { .. }), "{err:?}");

    let trusting = node.trust_tree_head_signers([stranger, node_key(1).public()]);
    trusting.submit(&brand(trusting.network_id()), fx::register_product(&fx::gtin(2), "brand")).await.expect("trusted");
    assert_eq!(tree_size(&cluster), 2);
}
