//! Private business data (`crates/service/src/private.rs`): a brand puts
//! an order number and a price on the shared log as salted commitments
//! only, names the shop as their reader, and hands the clear values to its
//! own node, which passes them to the shop's node and to no other. Public
//! reads never show them; the shop reads them; a rival party, or the shop
//! at a node that was not given them, gets nothing; the shop discloses one
//! later and anyone checks it against the public commitment. Real gRPC
//! between in-process replicas.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use prost::Message as _;
use veritrace_client::{Client, ConnectOptions, PartyCredential};
use veritrace_core::private_data::{SALT_LEN, commit, verify_disclosure};
use veritrace_core::{Envelope, Hash};
use veritrace_proto::v1 as pb;
use veritrace_testkit::{TestCluster, fixture as fx};

async fn as_party(cluster: &TestCluster, node: u64, party: &str) -> Client {
    let options =
        ConnectOptions { party: Some(PartyCredential::new(party, fx::party_key(party))), ..ConnectOptions::default() };
    Client::connect_with(&cluster.api(node), &options).await.unwrap()
}

fn reason(e: &veritrace_client::ClientError) -> (Option<tonic::Code>, String) {
    (e.code(), e.reason().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_fields_reach_the_named_parties_only_and_disclose_with_a_proof() {
    // Node 1 is the brand's, node 2 the shop's, node 3 an admin's.
    let cluster = TestCluster::builder(3).node_party(1, "brand").node_party(2, "shop").start().await;
    let leader = cluster.leader(&[]).await;
    cluster.assign_validator(leader, "brand", "sim1").await;
    cluster.assign_validator(leader, "shop", "sim2").await;

    // The brand commits to two fields and names the shop.
    let fields = [("po", "PO-4711"), ("price", "EUR 12.40")];
    let values: Vec<pb::PrivateValue> = fields
        .iter()
        .enumerate()
        .map(|(i, (name, value))| pb::PrivateValue {
            name: (*name).into(),
            value: (*value).into(),
            salt: vec![i as u8 + 1; SALT_LEN],
        })
        .collect();
    let commitments = values
        .iter()
        .map(|v| pb::PrivateCommitment {
            name: v.name.clone(),
            commitment: commit(&v.name, &v.value, &v.salt.clone().try_into().unwrap()).as_bytes().to_vec(),
        })
        .collect();
    let tx = pb::Transaction {
        party_id: "brand".into(),
        nonce: 77,
        client_time: Some(veritrace_proto::timestamp_from_ms(veritrace_service::now_ms())),
        network_id: fx::NETWORK.into(),
        action: Some(fx::register_product(&fx::gtin(9), "brand")),
        private_commitments: commitments,
        private_to: vec!["shop".into()],
    };
    let envelope = Envelope::sign_transaction(&tx, &fx::party_key("brand"));
    let id = *envelope.id().as_bytes();
    let brand = as_party(&cluster, 1, "brand").await;
    let receipts = brand.submit(vec![envelope.to_proto()]).await.unwrap();
    assert_eq!(receipts[0].outcome, pb::Outcome::Applied as i32, "{receipts:?}");
    cluster.converge().await;

    // The shared log holds commitments, never the values.
    let rival = as_party(&cluster, 3, "brand-2").await;
    let entry = rival.get_envelope(id).await.unwrap().expect("in the ledger");
    let public = entry.encode_to_vec();
    for (_, value) in fields {
        assert!(!public.windows(value.len()).any(|w| w == value.as_bytes()), "{value} is on the log");
    }

    // Only the submitter hands them out, and only values that open the commitments.
    let shop_at_2 = as_party(&cluster, 2, "shop").await;
    let e = shop_at_2.put_private_data(id, values.clone()).await.expect_err("not the submitter");
    assert_eq!(reason(&e), (Some(tonic::Code::PermissionDenied), "NOT_THE_SUBMITTER".into()));
    let mut wrong = values.clone();
    wrong[0].value = "PO-0001".into();
    let e = brand.put_private_data(id, wrong).await.expect_err("a value that does not open");
    assert_eq!(e.code(), Some(tonic::Code::InvalidArgument), "{e}");
    // Not through a node whose party may not read them.
    let brand_at_3 = as_party(&cluster, 3, "brand").await;
    let e = brand_at_3.put_private_data(id, values.clone()).await.expect_err("an admin's node");
    assert_eq!(reason(&e), (Some(tonic::Code::FailedPrecondition), "NOT_A_RECIPIENT_NODE".into()));

    let mut stored = brand.put_private_data(id, values.clone()).await.unwrap();
    stored.sort();
    assert_eq!(stored, ["brand", "shop"]);

    // The shop reads them at its node; a rival cannot; node 3 never got them.
    assert_eq!(shop_at_2.get_private_data(id).await.unwrap(), values);
    let rival_at_2 = as_party(&cluster, 2, "brand-2").await;
    let e = rival_at_2.get_private_data(id).await.expect_err("a rival");
    assert_eq!(reason(&e), (Some(tonic::Code::PermissionDenied), "NOT_A_RECIPIENT".into()));
    let shop_at_3 = as_party(&cluster, 3, "shop").await;
    let e = shop_at_3.get_private_data(id).await.expect_err("node 3 holds nothing");
    assert_eq!(reason(&e), (Some(tonic::Code::NotFound), "PRIVATE_DATA_NOT_HERE".into()));
    let anonymous = Client::connect(&cluster.api(2)).await.unwrap();
    let e = anonymous.get_private_data(id).await.expect_err("anonymous");
    assert_eq!(e.code(), Some(tonic::Code::Unauthenticated));

    // The shop discloses the order number; anyone checks it against the public commitment.
    let public_tx = entry.envelope.map(|e| pb::Transaction::decode(e.payload.as_slice()).unwrap()).unwrap();
    let po = &public_tx.private_commitments[0];
    let disclosed = &values[0];
    assert!(verify_disclosure(&po.commitment, &disclosed.name, &disclosed.value, &disclosed.salt));
    assert!(!verify_disclosure(&po.commitment, &disclosed.name, "PO-4712", &disclosed.salt));
    assert_eq!(Hash::from_slice(&po.commitment).map(|_| ()), Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_private_commitments_are_refused() {
    let cluster = TestCluster::start(1).await;
    cluster.leader(&[]).await;
    let client = cluster.client(1).await;
    let base = |nonce: u64| pb::Transaction {
        party_id: "brand".into(),
        nonce,
        client_time: Some(veritrace_proto::timestamp_from_ms(veritrace_service::now_ms())),
        network_id: fx::NETWORK.into(),
        action: Some(fx::register_product(&fx::gtin(nonce as u32), "brand")),
        ..Default::default()
    };
    let good = pb::PrivateCommitment { name: "po".into(), commitment: vec![1; 32] };
    let cases = [
        pb::Transaction { private_to: vec!["shop".into()], ..base(1) },
        pb::Transaction {
            private_commitments: vec![pb::PrivateCommitment { commitment: vec![1; 31], ..good.clone() }],
            ..base(2)
        },
        pb::Transaction { private_commitments: vec![good.clone(), good.clone()], ..base(3) },
        pb::Transaction { private_commitments: vec![good.clone()], private_to: vec!["nobody".into()], ..base(4) },
        pb::Transaction { private_commitments: vec![pb::PrivateCommitment { name: "".into(), ..good }], ..base(5) },
    ];
    for tx in cases {
        let env = Envelope::sign_transaction(&tx, &fx::party_key("brand")).to_proto();
        let r = client.submit(vec![env]).await.unwrap();
        assert_eq!(
            (r[0].outcome, r[0].reason.as_str()),
            (pb::Outcome::Rejected as i32, "INVALID_ACTION"),
            "{tx:?}: {r:?}"
        );
    }
    assert_eq!(cluster.service(1).ledger().tree_head().tree_size, 0, "nothing reached the log");
}
