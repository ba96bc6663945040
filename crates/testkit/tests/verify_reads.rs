//! `VerifyItem` reads the item from the answering replica without a
//! consensus round (crates/service/src/verify.rs, `item_record_for_verify`),
//! except before it would answer UNKNOWN_ITEM: a replica that has not yet
//! applied a commissioning must catch up first, never deny a genuine item.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use veritrace_proto::v1 as pb;
use veritrace_testkit::{TestCluster, fixture, signed};

fn request(gtin: &str, serial: &str, id: &str) -> pb::VerifyItemRequest {
    pb::VerifyItemRequest {
        item: Some(pb::verify_item_request::Item::GtinSerial(pb::GtinSerial {
            gtin: gtin.into(),
            serial: serial.into(),
        })),
        code: fixture::code_of(gtin, serial),
        label_token: fixture::token_of(gtin, serial).to_string(),
        request_id: format!("verify-reads-{id}-0123456789"),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_replica_catches_up_before_it_calls_an_item_unknown() {
    let cluster = TestCluster::builder(3).seed(5).start().await;
    let (lagging, majority) = cluster.isolate_a_follower().await;
    let gtin = fixture::gtin(1);
    let setup = vec![
        signed("brand", 1, fixture::register_product(&gtin, "brand")),
        signed("brand", 2, fixture::commission_with_tokens(&gtin, "L1", &["S1"])),
    ];
    cluster.submit_applied(majority, setup).await;
    assert_eq!(cluster.service(lagging).ledger().tree_head().tree_size, 0, "the cut-off replica saw nothing");

    // Asked while cut off, the lagging replica does not answer from its
    // stale state: its read barrier cannot complete, and it says so.
    let client = cluster.client(lagging).await;
    let cut_off = client.verify_item(request(&gtin, "S1", "a")).await;
    let err = cut_off.expect_err("a replica that had not seen the commissioning answered");
    let unavailable = matches!(err.code(), Some(tonic::Code::Unavailable | tonic::Code::DeadlineExceeded));
    assert!(err.is_transient() || unavailable, "{err:?}");

    // Reconnected, it catches up and the genuine item verifies there.
    cluster.heal();
    let answer = cluster
        .eventually("the reconnected replica verifies the item", || {
            let req = request(&gtin, "S1", "b");
            async { cluster.client(lagging).await.verify_item(req).await.ok() }
        })
        .await;
    assert_ne!(answer.verdict, pb::Verdict::UnknownItem as i32, "{answer:?}");
    // Applied, or Duplicate if an earlier poll recorded it and lost its answer.
    let recorded = answer.receipt.as_ref().map(|r| r.outcome);
    assert!([Some(pb::Outcome::Applied as i32), Some(pb::Outcome::Duplicate as i32)].contains(&recorded), "{answer:?}");
}
