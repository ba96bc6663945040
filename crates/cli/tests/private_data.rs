//! Private business data on real node processes: party-1 (the brand) puts
//! an order number on the log as a salted commitment, names party-2, and
//! hands the clear value to its own node, which passes it to party-2's node
//! only. Public reads never show it, party-2 reads it, party-3 cannot, and
//! party-3's node holds no copy; the disclosed value checks against the
//! public commitment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use prost::Message as _;
use support::{Party, TestCluster};
use veritrace_client::{Client, ConnectOptions, PartyCredential};
use veritrace_core::Envelope;
use veritrace_core::private_data::{SALT_LEN, commit, verify_disclosure};
use veritrace_ledger::testing as fx;
use veritrace_proto::v1 as pb;

async fn as_party(cluster: &TestCluster, node: u64, party: &Party) -> Client {
    let options = ConnectOptions {
        party: Some(PartyCredential::new(party.id.clone(), party.key.clone())),
        ..ConnectOptions::default()
    };
    Client::connect_with(cluster.api(node), &options).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_order_number_reaches_the_named_party_only() {
    let cluster = TestCluster::running(3, 0).await;
    let (brand, lab, customs) = (Party::of_node(&cluster, 1), Party::of_node(&cluster, 2), Party::of_node(&cluster, 3));
    let salt = [9u8; SALT_LEN];
    let value = pb::PrivateValue { name: "po".into(), value: "PO-2026-0042".into(), salt: salt.to_vec() };
    let tx = pb::Transaction {
        party_id: brand.id.clone(),
        nonce: 1,
        client_time: Some(veritrace_proto::timestamp_from_ms(veritrace_service::now_ms())),
        network_id: brand.network_id.clone(),
        action: Some(fx::register_product(&fx::gtin(7), &brand.id)),
        private_commitments: vec![pb::PrivateCommitment {
            name: "po".into(),
            commitment: commit("po", "PO-2026-0042", &salt).as_bytes().to_vec(),
        }],
        private_to: vec![lab.id.clone()],
    };
    let envelope = Envelope::sign_transaction(&tx, &brand.key);
    let id = *envelope.id().as_bytes();
    let at_1 = as_party(&cluster, 1, &brand).await;
    let receipts = at_1.submit(vec![envelope.to_proto()]).await.unwrap();
    assert_eq!(receipts[0].outcome, pb::Outcome::Applied as i32, "{receipts:?}");
    cluster.converge(&[1, 2, 3], 1).await;

    let mut stored = at_1.put_private_data(id, vec![value.clone()]).await.unwrap();
    stored.sort();
    assert_eq!(stored, [brand.id.clone(), lab.id.clone()]);

    // The named party reads it at its node.
    assert_eq!(as_party(&cluster, 2, &lab).await.get_private_data(id).await.unwrap(), vec![value.clone()]);
    // Another party may not; its node never got a copy.
    let e = as_party(&cluster, 3, &customs).await.get_private_data(id).await.expect_err("not named");
    assert_eq!(e.reason(), Some("NOT_A_RECIPIENT"), "{e}");
    let e = as_party(&cluster, 3, &lab).await.get_private_data(id).await.expect_err("no copy at node 3");
    assert_eq!(e.reason(), Some("PRIVATE_DATA_NOT_HERE"), "{e}");
    assert!(!cluster.node_dir(3).join("data/private").exists(), "node 3 stored private data");
    assert!(cluster.node_dir(2).join("data/private").read_dir().unwrap().count() == 1);

    // Public reads carry the commitment, never the value; the disclosure checks.
    let entry = as_party(&cluster, 3, &customs).await.get_envelope(id).await.unwrap().unwrap();
    let bytes = entry.encode_to_vec();
    assert!(!bytes.windows(12).any(|w| w == b"PO-2026-0042"), "the value is on the log");
    let public = pb::Transaction::decode(entry.envelope.unwrap().payload.as_slice()).unwrap();
    let c = &public.private_commitments[0];
    assert!(verify_disclosure(&c.commitment, &value.name, &value.value, &value.salt));
    assert!(!verify_disclosure(&c.commitment, &value.name, "PO-2026-0043", &value.salt));
}
