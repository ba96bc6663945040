//! Threshold code checks (CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1) on an
//! in-process cluster of five replicas, three of which hold shares of a
//! brand's 2-of-3 code key: a code verifies through any replica, share or
//! not; with one holder down it still does; with two down it is answered
//! UNAVAILABLE and nothing is spent. A dishonest replica asking a helper
//! directly, without spending the item's guesses on the ledger, gets the
//! ledger's wrong-guess allowance per item and window, nothing without the
//! label token, and nothing once the item's guess budget is spent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use prost::Message as _;
use veritrace_core::gs1::{Gtin, Serial, Sgtin};
use veritrace_core::oprf::files::ShareFile;
use veritrace_core::oprf::{BlindedElement, DleqProof, EvaluatedElement, OprfKey, PublicShare, unblinded};
use veritrace_core::scan::{LOCKOUT_FAILURES, MAX_ATTEMPTS_PER_WINDOW};
use veritrace_proto::v1 as pb;
use veritrace_service::code_check::UNSETTLED_HELP_PER_ASKER;
use veritrace_testkit::{ClusterBuilder, TestCluster, fixture, signed};

const SERIALS: [&str; 6] = ["S1", "S2", "S3", "S4", "S5", "S6"];

fn request(gtin: &str, serial: &str, code: &str, id: &str) -> pb::VerifyItemRequest {
    pb::VerifyItemRequest {
        item: Some(pb::verify_item_request::Item::GtinSerial(pb::GtinSerial {
            gtin: gtin.into(),
            serial: serial.into(),
        })),
        code: code.into(),
        label_token: fixture::token_of(gtin, serial).to_string(),
        request_id: format!("threshold-codes-{id}-0123456789"),
        ..Default::default()
    }
}

/// The code matched: a recorded scan (the items never reached a shop, so
/// the verdict is SUSPECTED_CLONE, SCANNED_BEFORE_RETAIL, not INVALID_CODE).
fn matched(r: &pb::VerifyItemResponse) -> bool {
    r.verdict == pb::Verdict::SuspectedClone as i32
        && r.clone_signals == ["SCANNED_BEFORE_RETAIL"]
        && r.receipt.as_ref().is_some_and(|receipt| receipt.outcome == pb::Outcome::Applied as i32)
}

fn item(gtin: &str, serial: &str) -> Sgtin {
    Sgtin::new(Gtin::parse(gtin).unwrap(), Serial::parse(serial).unwrap())
}

fn evaluate(gtin: &str, serial: &str, code: &str, token: bool) -> Vec<u8> {
    pb::EvaluateCodeRequest {
        item: Some(pb::GtinSerial { gtin: gtin.into(), serial: serial.into() }),
        code: code.into(),
        label_token: if token { fixture::token_of(gtin, serial).as_bytes().to_vec() } else { Vec::new() },
        request_id: b"direct-request-0123".to_vec(),
        omit_proof: false,
        tree_size: 0,
    }
    .encode_to_vec()
}

/// Replica `helper`'s answer to `request` from replica `from`, decoded.
async fn ask_helper(helper: &veritrace_service::Service, from: u64, request: &[u8]) -> pb::EvaluateCodeResponse {
    pb::EvaluateCodeResponse::decode(helper.answer_peer_request(from, request).await.as_slice()).unwrap()
}

/// Each code of `typed` for `serial`, asked of replica `via`, is left
/// undecided (UNAVAILABLE, CODE_CHECK_UNAVAILABLE), and the item's guess
/// budget there is untouched: `why` names what should not have spent one.
async fn assert_undecided(
    cluster: &TestCluster,
    via: u64,
    gtin: &str,
    serial: &str,
    typed: &[(String, &str)],
    why: &str,
) {
    for (code, id) in typed {
        let refused = cluster.client(via).await.verify_item(request(gtin, serial, code, id)).await.unwrap_err();
        assert_eq!(
            (refused.code(), refused.reason()),
            (Some(tonic::Code::Unavailable), Some("CODE_CHECK_UNAVAILABLE")),
            "{refused}"
        );
    }
    let report = cluster.service(via).ledger().item_report(&item(gtin, serial), veritrace_service::now_ms());
    assert_eq!(report.unwrap().budget.left, LOCKOUT_FAILURES as u32, "{why} spent a guess");
}

/// A cluster of `voters` replicas of which 1, 2 and 3 hold shares of a
/// brand's 2-of-3 code key drawn from `key_seed`; with `liar`, that node
/// holds another key's share under this key's name (its proofs fail).
fn keyed(
    voters: u64,
    key_seed: u64,
    cluster_seed: u64,
    liar: Option<u64>,
) -> (ClusterBuilder, OprfKey, pb::ThresholdCodeKey) {
    let (key, files, public) = fixture::code_key(key_seed, 2, &[1, 2, 3]);
    let (_, other, _) = fixture::code_key(key_seed + 1, 2, &[1, 2, 3]);
    let mut builder = TestCluster::builder(voters).seed(cluster_seed);
    for ((node, file), (_, others)) in files.into_iter().zip(other) {
        let file =
            if liar == Some(node) { ShareFile { public_key: file.public_key, share: others.share } } else { file };
        builder = builder.code_key_share(node, file);
    }
    (builder, key, public)
}

/// Registers the product under `public` and commissions [`SERIALS`]
/// under `key`, through replica `via`; returns the GTIN.
async fn stock(cluster: &TestCluster, via: u64, key: &OprfKey, public: &pb::ThresholdCodeKey) -> String {
    let gtin = fixture::gtin(1);
    let setup = vec![
        signed("brand", 1, fixture::register_product_with_code_key(&gtin, "brand", public)),
        signed("brand", 2, fixture::commission_under_key(&gtin, &SERIALS, key)),
    ];
    cluster.submit_applied(via, setup).await;
    gtin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_replica_checks_a_code_alone_and_helpers_count_what_they_give() {
    let (builder, key, public) = keyed(5, 5, 3, None);
    let mut cluster = builder.start().await;
    let leader = cluster.leader(&[]).await;
    let gtin = stock(&cluster, leader, &key, &public).await;
    cluster.converge().await;
    let record = cluster.service(5).ledger().item_record(&item(&gtin, "S1")).unwrap().unwrap();
    assert!(record.salt.is_empty() && record.code_key == public.public_key, "stored under the key, unsalted");

    // Replica 5 holds no share and checks codes all the same.
    let code = |serial: &str| fixture::code_of(&gtin, serial);
    let genuine = cluster.client(5).await.verify_item(request(&gtin, "S1", &code("S1"), "a")).await.unwrap();
    assert!(matched(&genuine), "{genuine:?}");
    let wrong = if code("S2") == "000000" { "000001".to_owned() } else { "000000".to_owned() };
    let invalid = cluster.client(4).await.verify_item(request(&gtin, "S2", &wrong, "b")).await.unwrap();
    assert_eq!((invalid.verdict, invalid.attempts_left), (pb::Verdict::InvalidCode as i32, 4), "{invalid:?}");

    // One holder down: two remain, enough.
    cluster.crash(2).await;
    // It may have led: reads wait for a leader.
    cluster.leader(&[2]).await;
    let still = cluster.client(1).await.verify_item(request(&gtin, "S3", &code("S3"), "c")).await.unwrap();
    assert!(matched(&still), "{still:?}");

    // Two down: the cluster still commits (3 of 5 voters) but no code of
    // this key can be checked, right or wrong, and nothing is spent.
    cluster.crash(3).await;
    cluster.leader(&[2, 3]).await;
    assert_undecided(&cluster, 4, &gtin, "S4", &[(code("S4"), "d"), (wrong.clone(), "d")], "an unchecked code").await;
    cluster.restart(2).await;
    let back = cluster
        .eventually("S4 verifies with two holders again", || {
            let client = cluster.client(4);
            let req = request(&gtin, "S4", &code("S4"), "e");
            async move { client.await.verify_item(req).await.ok() }
        })
        .await;
    assert!(matched(&back), "{back:?}");

    // A dishonest replica 4 asks helper 1 directly, for S5, guess after guess.
    let helper = cluster.service(1);
    let share =
        PublicShare::from_bytes(&<[u8; 33]>::try_from(public.shares[0].public_share.as_slice()).unwrap()).unwrap();
    let mut answered = 0;
    for guess in 0..MAX_ATTEMPTS_PER_WINDOW {
        let typed = format!("{guess:06}");
        let answer = ask_helper(helper, 4, &evaluate(&gtin, "S5", &typed, true)).await;
        if answer.refusal_reason.is_empty() {
            // A real evaluation under helper 1's registered share.
            let input = veritrace_core::code::oprf_input(&item(&gtin, "S5").key_bytes(), &typed);
            let (_, element): (_, BlindedElement) = unblinded(&input);
            let z = EvaluatedElement::from_bytes(&answer.evaluated.as_slice().try_into().unwrap()).unwrap();
            let proof = DleqProof::from_bytes(&answer.proof.as_slice().try_into().unwrap()).unwrap();
            share.verify(&element, &z, &proof).expect("the evaluation is helper 1's");
            answered += 1;
        } else {
            assert_eq!(answer.refusal_reason, "CODE_HELP_EXHAUSTED", "{answer:?}");
        }
    }
    // Its guesses are counted nowhere on the ledger: it gets the ledger's
    // wrong-guess allowance from this helper, and no more.
    assert_eq!(answered, UNSETTLED_HELP_PER_ASKER, "helper 1 gave replica 4 more than the unsettled allowance");
    // Replica 5 has its own allowance; nobody gets one without the token.
    let other = ask_helper(helper, 5, &evaluate(&gtin, "S5", "123456", true)).await;
    assert!(other.refusal_reason.is_empty(), "{other:?}");
    let tokenless = ask_helper(helper, 5, &evaluate(&gtin, "S6", "123456", false)).await;
    assert_eq!(tokenless.refusal_reason, "LABEL_TOKEN_REQUIRED");
    let garbage = ask_helper(helper, 5, &[0xff, 0x01]).await;
    assert_eq!(garbage.refusal_reason, "INVALID_ACTION");

    // S2's budget spent through the ledger (one wrong guess above, four
    // more now): helpers refuse to help with it, even for the right code.
    let wrongs: Vec<String> =
        (2..20).map(|n| format!("{n:06}")).filter(|c| *c != code("S2")).take(LOCKOUT_FAILURES - 1).collect();
    for (n, typed) in wrongs.iter().enumerate() {
        let answer = cluster.client(5).await.verify_item(request(&gtin, "S2", typed, &format!("f{n}"))).await.unwrap();
        assert_eq!(answer.verdict, pb::Verdict::InvalidCode as i32);
    }
    // Counted attempts add no leaf, so equal roots say nothing: wait until
    // helper 1 has applied them.
    cluster
        .eventually("helper 1 sees S2's budget spent", || {
            let left = cluster.service(1).ledger().item_report(&item(&gtin, "S2"), veritrace_service::now_ms());
            async move { (left.ok()?.budget.left == 0).then_some(()) }
        })
        .await;
    let spent = ask_helper(helper, 5, &evaluate(&gtin, "S2", &code("S2"), true)).await;
    assert_eq!(spent.refusal_reason, "CODE_ATTEMPTS_EXHAUSTED", "{spent:?}");
}

/// Helpers are asked without proofs first and with them only after a
/// mismatch; a holder that answers with another key's share (its proof
/// fails against the share the brand registered) can neither make a
/// genuine item look wrong nor spend its guesses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_holder_cannot_fail_a_genuine_code_or_spend_a_guess() {
    let (builder, key, public) = keyed(3, 7, 9, Some(2));
    let mut cluster = builder.start().await;
    let leader = cluster.leader(&[]).await;
    let gtin = stock(&cluster, leader, &key, &public).await;
    cluster.converge().await;
    let code = |serial: &str| fixture::code_of(&gtin, serial);
    let wrong = |serial: &str| if code(serial) == "000000" { "000001".to_owned() } else { "000000".to_owned() };

    // All three up: whichever holder node 1 asks, right codes match (a
    // lie makes a mismatch, whose proofs unmask it; node 3 is asked
    // instead) and a wrong code is believed wrong only with proofs.
    for serial in ["S1", "S2", "S3"] {
        let genuine = cluster.client(1).await.verify_item(request(&gtin, serial, &code(serial), serial)).await.unwrap();
        assert!(matched(&genuine), "{serial}: {genuine:?}");
    }
    let invalid = cluster.client(1).await.verify_item(request(&gtin, "S4", &wrong("S4"), "w4")).await.unwrap();
    assert_eq!((invalid.verdict, invalid.attempts_left), (pb::Verdict::InvalidCode as i32, 4), "{invalid:?}");

    // Node 3 down: node 1 can only combine with the liar. Neither a right
    // nor a wrong code is decided, and nothing is spent.
    cluster.crash(3).await;
    cluster.leader(&[3]).await;
    assert_undecided(&cluster, 1, &gtin, "S5", &[(code("S5"), "r5"), (wrong("S5"), "w5")], "a liar's answer").await;
}

/// A helper that has not applied the commissioning an asker has (it lags,
/// or was cut off) waits to catch up before it answers NOT_FOUND.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_helper_catches_up_before_it_calls_an_item_unknown() {
    let (builder, key, public) = keyed(3, 11, 13, None);
    let cluster = builder.start().await;
    let (lagging, majority) = cluster.isolate_a_follower().await;
    let gtin = stock(&cluster, majority, &key, &public).await;
    let asker_size = cluster.service(majority).ledger().applied().tree_size;
    let code = fixture::code_of(&gtin, "S1");
    let ask = |tree_size: u64| {
        let mut req = pb::EvaluateCodeRequest::decode(evaluate(&gtin, "S1", &code, true).as_slice()).unwrap();
        req.tree_size = tree_size;
        req.encode_to_vec()
    };
    // An asker that says nothing of its ledger: refused at once.
    let helper = cluster.service(lagging).clone();
    let at_once = ask_helper(&helper, 1, &ask(0)).await;
    assert_eq!(at_once.refusal_reason, "NOT_FOUND", "{at_once:?}");
    // One that held more leaves: the helper waits, and answers once healed.
    let request = ask(asker_size);
    let waiting = tokio::spawn(async move { helper.answer_peer_request(1, &request).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "the lagging helper refused without waiting to catch up");
    cluster.heal();
    let answer = pb::EvaluateCodeResponse::decode(waiting.await.unwrap().as_slice()).unwrap();
    assert!(answer.refusal_reason.is_empty() && answer.evaluated.len() == 32, "{answer:?}");
}
