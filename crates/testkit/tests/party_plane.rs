//! The party plane (`crates/server/src/party_auth.rs`) read as an attacker
//! would: an anonymous script, a stranger with a key of its own, a replayed
//! or stale credential, a credential for another method or network, a
//! suspended party. Real gRPC over TCP to in-process replicas; the public
//! plane stays open throughout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tonic::metadata::MetadataValue;
use veritrace_client::{Client, ClientError, ConnectOptions, PartyCredential};
use veritrace_core::SecretKey;
use veritrace_core::party_call::{Credential, MAX_SKEW_MS, PartyCall, methods};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::ledger_service_client::LedgerServiceClient;
use veritrace_testkit::{TestCluster, fixture as fx, signed};

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

fn reason(e: &ClientError) -> (Option<tonic::Code>, String) {
    (e.code(), e.reason().unwrap_or_default().to_owned())
}

fn status_reason(s: &tonic::Status) -> (tonic::Code, String) {
    (s.code(), veritrace_server::status::reason_of(s).unwrap_or_default())
}

/// A GetEnvelope request for `id` carrying `credential`.
fn get_with(id: &[u8], credential: &Credential) -> tonic::Request<pb::GetEnvelopeRequest> {
    let mut request =
        tonic::Request::new(pb::GetEnvelopeRequest { envelope_id: id.to_vec(), include_proof: false, tree_size: 0 });
    for (name, value) in credential.headers() {
        request.metadata_mut().insert(name, MetadataValue::try_from(value.as_str()).unwrap());
    }
    request
}

fn call(method: &str, party: &str, key: &SecretKey, time_ms: u64) -> Credential {
    let nonce: [u8; 16] = rand_nonce();
    PartyCall { network_id: fx::NETWORK, node: "sim1", method, party_id: party, time_ms, nonce }.sign(key)
}

fn rand_nonce() -> [u8; 16] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&N.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    nonce[8..].copy_from_slice(&now_ms().to_be_bytes());
    nonce
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_verify_but_read_and_submit_nothing() {
    let cluster = TestCluster::start(1).await;
    cluster.leader(&[]).await;
    let product = fx::gtin(1);
    let receipts = cluster.submit_applied(1, vec![signed("brand", 1, fx::register_product(&product, "brand"))]).await;
    let id: [u8; 32] = receipts[0].envelope_id.clone().try_into().unwrap();

    let anonymous = Client::connect(&cluster.api(1)).await.unwrap();
    let required = (Some(tonic::Code::Unauthenticated), "PARTY_AUTH_REQUIRED".to_owned());
    let e = anonymous.get_envelope(id).await.expect_err("anonymous read of an envelope");
    assert_eq!(reason(&e), required, "{e}");
    let e = anonymous.list_envelopes(pb::ListEnvelopesRequest::default()).await.expect_err("anonymous listing");
    assert_eq!(reason(&e), required, "{e}");
    let e = anonymous.watch(pb::WatchRequest::default()).await.expect_err("anonymous watch");
    assert_eq!(reason(&e), required, "{e}");
    let e = anonymous.list_proposals(pb::ListProposalsRequest::default()).await.expect_err("anonymous proposals");
    assert_eq!(reason(&e), required, "{e}");
    let before = cluster.service(1).ledger().tree_head().tree_size;
    let e = anonymous.submit(vec![signed("brand", 2, fx::register_product(&fx::gtin(2), "brand"))]).await;
    assert_eq!(reason(&e.expect_err("anonymous submission")), required);
    assert_eq!(cluster.service(1).ledger().tree_head().tree_size, before, "nothing reached the log");

    // The public plane: tree heads, proofs, genesis, parties, verification.
    assert_eq!(anonymous.tree_head().await.unwrap().tree_size, before);
    assert!(anonymous.inclusion_proof(id).await.is_ok());
    assert_eq!(anonymous.genesis().await.unwrap().genesis.unwrap().network_id, fx::NETWORK);
    assert!(!anonymous.list_parties(pb::ListPartiesRequest::default()).await.unwrap().parties.is_empty());
    let verify = pb::VerifyItemRequest {
        item: Some(pb::verify_item_request::Item::GtinSerial(pb::GtinSerial { gtin: product, serial: "X".into() })),
        code: "123456".into(),
        ..Default::default()
    };
    let answer = anonymous.verify_item(verify).await.expect("consumers verify without a credential");
    assert_eq!(answer.verdict, pb::Verdict::UnknownItem as i32, "{answer:?}");

    // Any registered party may read and submit.
    let as_shop = anonymous.with_party(PartyCredential::new("shop", fx::party_key("shop")));
    assert!(as_shop.get_envelope(id).await.unwrap().is_some());
    let r = as_shop.submit(vec![signed("brand", 3, fx::register_product(&fx::gtin(3), "brand"))]).await.unwrap();
    assert_eq!(r[0].outcome, pb::Outcome::Applied as i32, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_stale_and_misdirected_credentials_are_refused() {
    let cluster = TestCluster::start(1).await;
    cluster.leader(&[]).await;
    let receipts =
        cluster.submit_applied(1, vec![signed("brand", 1, fx::register_product(&fx::gtin(1), "brand"))]).await;
    let id = receipts[0].envelope_id.clone();
    let mut raw = LedgerServiceClient::connect(cluster.api(1)).await.unwrap();
    let shop = fx::party_key("shop");
    let now = now_ms();

    // A good credential works once; the same credential again is a replay.
    let good = call(methods::GET_ENVELOPE, "shop", &shop, now);
    assert!(raw.get_envelope(get_with(&id, &good)).await.is_ok());
    let replay = raw.get_envelope(get_with(&id, &good)).await.expect_err("a replayed credential");
    assert_eq!(status_reason(&replay), (tonic::Code::Unauthenticated, "PARTY_AUTH_REPLAYED".into()));

    let refused = |c: &Credential| {
        let request = get_with(&id, c);
        let mut raw = raw.clone();
        async move { status_reason(&raw.get_envelope(request).await.expect_err("a bad credential")) }
    };
    let unauth = |r: &str| (tonic::Code::Unauthenticated, r.to_owned());
    // A stranger's own key, claiming to be the shop, or as itself.
    let stranger = SecretKey::from_seed_label("stranger");
    assert_eq!(refused(&call(methods::GET_ENVELOPE, "shop", &stranger, now)).await, unauth("PARTY_KEY_NOT_AUTHORIZED"));
    assert_eq!(
        refused(&call(methods::GET_ENVELOPE, "nobody", &stranger, now)).await,
        unauth("PARTY_KEY_NOT_AUTHORIZED")
    );
    // Another party's key does not make the shop.
    assert_eq!(
        refused(&call(methods::GET_ENVELOPE, "shop", &fx::party_key("brand"), now)).await,
        unauth("PARTY_KEY_NOT_AUTHORIZED")
    );
    // Signed for another method, or another network.
    assert_eq!(refused(&call(methods::WATCH, "shop", &shop, now)).await, unauth("PARTY_AUTH_INVALID"));
    let other_net = PartyCall {
        network_id: "other-net",
        node: "sim1",
        method: methods::GET_ENVELOPE,
        party_id: "shop",
        time_ms: now,
        nonce: rand_nonce(),
    };
    assert_eq!(refused(&other_net.sign(&shop)).await, unauth("PARTY_AUTH_INVALID"));
    // Signed for another node: a node operator who received it cannot replay it here.
    let other_node = PartyCall { network_id: fx::NETWORK, node: "sim2", nonce: rand_nonce(), ..other_net };
    assert_eq!(refused(&other_node.sign(&shop)).await, unauth("PARTY_AUTH_INVALID"));
    // A tampered signature, a claim to be another party with the shop's signature.
    let mut tampered = call(methods::GET_ENVELOPE, "shop", &shop, now);
    tampered.signature[5] ^= 1;
    assert_eq!(refused(&tampered).await, unauth("PARTY_AUTH_INVALID"));
    let mut renamed = call(methods::GET_ENVELOPE, "shop", &shop, now);
    renamed.party_id = "brand".into();
    assert_eq!(refused(&renamed).await, unauth("PARTY_AUTH_INVALID"));
    // Too old, too far ahead.
    let stale = call(methods::GET_ENVELOPE, "shop", &shop, now - MAX_SKEW_MS - 60_000);
    assert_eq!(refused(&stale).await, unauth("PARTY_AUTH_STALE"));
    let ahead = call(methods::GET_ENVELOPE, "shop", &shop, now + MAX_SKEW_MS + 60_000);
    assert_eq!(refused(&ahead).await, unauth("PARTY_AUTH_STALE"));
    // Half a credential, and garbage.
    let mut half = tonic::Request::new(pb::GetEnvelopeRequest { envelope_id: id.clone(), ..Default::default() });
    half.metadata_mut().insert("veritrace-party", MetadataValue::from_static("shop"));
    let e = raw.get_envelope(half).await.expect_err("half a credential");
    assert_eq!(status_reason(&e), unauth("PARTY_AUTH_INVALID"));
    assert!(e.message().contains("veritrace-key"), "{}", e.message());
    let mut garbage = good.clone();
    garbage.nonce = rand_nonce();
    let mut request = get_with(&id, &garbage);
    request.metadata_mut().insert("veritrace-time", MetadataValue::from_static("yesterday"));
    let e = raw.get_envelope(request).await.expect_err("a garbage time");
    assert_eq!(status_reason(&e), unauth("PARTY_AUTH_INVALID"));
    assert!(e.message().contains("veritrace-time"), "{}", e.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_party_loses_the_party_plane() {
    let cluster = TestCluster::start(1).await;
    cluster.leader(&[]).await;
    let options = ConnectOptions {
        party: Some(PartyCredential::new("shop", fx::party_key("shop"))),
        ..ConnectOptions::default()
    };
    let shop = Client::connect_with(&cluster.api(1), &options).await.unwrap();
    // A watch the shop opened before its suspension.
    let mut stream = shop.watch(pb::WatchRequest::default()).await.unwrap();
    let suspend = vec![
        signed("admin-a", 1, fx::propose("suspend-shop", fx::suspend("shop"))),
        signed("admin-b", 2, fx::approve("suspend-shop")),
    ];
    let receipts = cluster.submit_applied(1, suspend).await;
    assert!(receipts.iter().all(|r| r.outcome == pb::Outcome::Applied as i32), "{receipts:?}");
    let by_admin = pb::ListEnvelopesRequest { party_id: "admin-a".into(), ..Default::default() };
    let e = shop.list_envelopes(by_admin.clone()).await.expect_err("a suspended party read");
    assert_eq!(reason(&e), (Some(tonic::Code::PermissionDenied), "PARTY_SUSPENDED".into()), "{e}");
    // The open watch ends with the same refusal, whatever it sent before.
    let ended = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), stream.message()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Err(status)) => break status,
            other => panic!("the suspended party's watch went on: {other:?}"),
        }
    };
    assert_eq!(status_reason(&ended), (tonic::Code::PermissionDenied, "PARTY_SUSPENDED".into()));
    // Its peers still read.
    let page = cluster.client(1).await.list_envelopes(by_admin).await.unwrap();
    assert_eq!(page.entries.len(), 1, "admin-a's proposal");
}
