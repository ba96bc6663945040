//! A minority replica's disk changes a stored leaf under it: the replica
//! detects it on the next read (the leaf no longer hashes to its Merkle
//! leaf), never serves the changed data (DATA_LOSS, reason DATA_CORRUPT),
//! and says so in health; the other replicas serve the true record.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use prost::Message as _;
use veritrace_ledger::schema::CF_LEAVES;
use veritrace_storage::{KvEngine as _, WriteBatch, WriteOptions};
use veritrace_testkit::{TestCluster, product};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_leaf_is_detected_on_read_never_served_and_reported_in_health() {
    let cluster = TestCluster::builder(3).seed(41).start().await;
    let leader = cluster.leader(&[]).await;
    let victim = if leader == 1 { 2 } else { 1 };
    let envelopes: Vec<_> = (1..=3).map(product).collect();
    cluster.client(leader).await.submit(envelopes.clone()).await.expect("submit");
    assert_eq!(cluster.converge().await, 3);
    let id: [u8; 32] = *blake3::hash(&envelopes[1].encode_to_vec()).as_bytes();
    assert!(cluster.client(victim).await.get_envelope(id).await.expect("read").is_some());
    assert!(cluster.service(victim).readiness().await.ready);

    // The disk flips a bit in leaf 1's record.
    let engine = cluster.engine(victim);
    let key = 1u64.to_be_bytes();
    let mut bytes = engine.get(CF_LEAVES, &key).expect("get").expect("leaf 1 stored");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let mut batch = WriteBatch::new();
    batch.put(CF_LEAVES, key.to_vec(), bytes);
    engine.write(batch, WriteOptions::SYNC).expect("write");

    let err = cluster.client(victim).await.get_envelope(id).await.expect_err("the changed leaf is not served");
    assert_eq!(err.code(), Some(tonic::Code::DataLoss), "{err:?}");
    assert_eq!(err.reason(), Some("DATA_CORRUPT"), "{err:?}");
    let readiness = cluster.service(victim).readiness().await;
    assert!(!readiness.ready && readiness.reason.contains("corruption"), "{readiness:?}");
    // The others serve the true record.
    let entry = cluster.client(leader).await.get_envelope(id).await.expect("read").expect("found");
    assert_eq!(entry.envelope.expect("envelope").encode_to_vec(), envelopes[1].encode_to_vec());
}
