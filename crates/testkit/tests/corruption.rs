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

/// The state a verdict is read from (party records here) is sealed per
/// value: a flipped bit or a cut-short value in a minority replica's
/// `state` column family is refused on read, noted in health, and the
/// other replicas serve the true record. A write that must read the
/// damaged record does not apply wrongly on the damaged replica: it stops
/// there, and the healthy majority commits it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_state_record_is_detected_on_read_never_served_and_reported_in_health() {
    use veritrace_ledger::schema::CF_STATE;
    use veritrace_ledger::state::keys;

    let cluster = TestCluster::builder(3).seed(43).start().await;
    let leader = cluster.leader(&[]).await;
    let victim = if leader == 1 { 2 } else { 1 };
    cluster.client(leader).await.submit(vec![product(1)]).await.expect("submit");
    assert_eq!(cluster.converge().await, 1);
    let before = cluster.client(victim).await.party_profile("brand").await.expect("profile");
    assert!(cluster.service(victim).readiness().await.ready);

    // The disk flips one bit of brand's party record, and cuts admin-a's short.
    let engine = cluster.engine(victim);
    let flip = |key: Vec<u8>, f: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = engine.get(CF_STATE, &key).expect("get").expect("record stored");
        f(&mut bytes);
        let mut batch = WriteBatch::new();
        batch.put(CF_STATE, key, bytes);
        engine.write(batch, WriteOptions::SYNC).expect("write");
    };
    flip(keys::party("brand"), &|b| b[3] ^= 0x10);
    flip(keys::party("admin-a"), &|b| b.truncate(b.len() - 5));

    for party in ["brand", "admin-a"] {
        let err = cluster.client(victim).await.party_profile(party).await.expect_err("a changed record is not served");
        assert_eq!(err.code(), Some(tonic::Code::DataLoss), "{party}: {err:?}");
        assert_eq!(err.reason(), Some("DATA_CORRUPT"), "{party}: {err:?}");
    }
    let err = cluster.client(victim).await.list_parties(Default::default()).await.expect_err("nor listed");
    assert_eq!(err.reason(), Some("DATA_CORRUPT"), "{err:?}");
    let readiness = cluster.service(victim).readiness().await;
    assert!(!readiness.ready && readiness.reason.contains("state record"), "{readiness:?}");
    let truth = cluster.client(leader).await.party_profile("brand").await.expect("the leader serves it");
    assert_eq!(truth, before, "the healthy replicas serve the true record");

    // A write that reads brand's record: committed by the healthy majority.
    let receipts = cluster.client(leader).await.submit(vec![product(2)]).await.expect("submit");
    assert_eq!(receipts.len(), 1);
    let other = (1..=3).find(|id| *id != leader && *id != victim).expect("a third replica");
    cluster
        .eventually("the healthy replicas applied the write", || async {
            [leader, other].iter().all(|id| cluster.service(*id).ledger().applied().tree_size == 2).then_some(())
        })
        .await;
    assert_eq!(
        cluster.service(victim).ledger().applied().tree_size,
        1,
        "the damaged replica applied nothing from bad state"
    );
    // Not merely lagging: its driver stopped on the damaged record (a node
    // process exits for its supervisor), and health names the record's kind.
    cluster
        .eventually("the damaged replica's driver stopped", || async {
            cluster.service(victim).raft_status().await.is_err().then_some(())
        })
        .await;
    let what = cluster.service(victim).ledger().corruption().expect("noted");
    assert!(what.contains("party/#"), "{what}");
}
