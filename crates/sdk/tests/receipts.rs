//! Offline receipt checks on real receipts: envelopes signed by `PartySigner`, applied by the
//! ledger's in-memory fixture network, proven with its Merkle tree and a signed tree head.

use veritrace_core::merkle::MerkleError;
use veritrace_core::receipt::ReceiptError;
use veritrace_ledger::Outcome;
use veritrace_ledger::testing::{self as fx, Network};
use veritrace_sdk::{
    Action, Envelope, PartySigner, SdkError, SecretKey, Submitted, VerifiedItem, check_receipt, proto,
    timestamp_from_ms,
};

fn node_key() -> SecretKey {
    SecretKey::from_seed_label("sdk-test/node-1")
}

fn brand() -> PartySigner {
    PartySigner::new("brand", fx::party_key("brand"), fx::NETWORK)
}

/// `action` signed by `signer` with `nonce`, at a client time inside the fixture's window.
fn signed(signer: &PartySigner, nonce: u64, action: Action) -> Envelope {
    signer.sign(&signer.transaction_at(action, nonce, fx::BASE_TIME_MS + 500))
}

/// The API form of a ledger receipt with its inclusion proof in the current tree and that
/// tree's head signed by `key`, as a node's SubmitEnvelopes with `include_proofs` returns it.
fn proven(net: &Network, receipt: &veritrace_ledger::Receipt, key: &SecretKey) -> proto::Receipt {
    let mut out = receipt.to_proto();
    let head = net.ledger.tree_head();
    let hashes = net.ledger.inclusion_proof(out.leaf_index, head.tree_size).expect("inclusion proof");
    out.inclusion = Some(proto::InclusionProof {
        leaf_index: out.leaf_index,
        tree_size: head.tree_size,
        hashes: hashes.iter().map(|h| h.as_bytes().to_vec()).collect(),
    });
    let sth = head.sign(key);
    out.tree_head = Some(proto::SignedTreeHead {
        tree_size: sth.head.tree_size,
        root_hash: sth.head.root.as_bytes().to_vec(),
        timestamp: Some(timestamp_from_ms(sth.head.timestamp_ms)),
        shard_id: sth.head.shard_id,
        signer_key_id: sth.signer.to_bytes().to_vec(),
        signature: sth.signature.to_vec(),
        cosignatures: Vec::new(),
    });
    out
}

/// A network where `brand` registered two products; returns the second envelope and its
/// proven receipt (leaf 1 of 2, so the proof is not empty).
fn applied() -> (Network, Envelope, proto::Receipt) {
    let mut net = Network::new();
    let first = signed(&brand(), 1, fx::register_product(&fx::gtin(1), "brand"));
    assert_eq!(net.apply(vec![first.bytes().to_vec()])[0].outcome, Outcome::Applied);
    let envelope = signed(&brand(), 2, fx::register_product(&fx::gtin(2), "brand"));
    let receipt = net.apply(vec![envelope.bytes().to_vec()]).remove(0);
    assert_eq!(receipt.outcome, Outcome::Applied);
    let receipt = proven(&net, &receipt, &node_key());
    (net, envelope, receipt)
}

fn check_error(receipt: &proto::Receipt, envelope: &Envelope) -> ReceiptError {
    match check_receipt(receipt, envelope, &[]) {
        Err(SdkError::ReceiptCheck { envelope_id, source }) => {
            assert_eq!(envelope_id, Some(envelope.id()));
            source
        }
        other => panic!("expected ReceiptCheck, got {other:?}"),
    }
}

#[test]
fn a_real_receipt_checks_out_offline() {
    let (_net, envelope, receipt) = applied();
    let done = Submitted::from_receipt(&envelope, receipt.clone(), &[]).expect("receipt checks out");
    assert_eq!(done.envelope_id(), envelope.id());
    assert_eq!(done.envelope(), &envelope);
    assert!(!done.is_duplicate());
    assert_eq!(done.leaf_index(), 1);
    assert_eq!(done.commit_time_ms(), fx::BASE_TIME_MS + 2000);
    assert_eq!(done.tree_head().head.tree_size, 2);
    assert_eq!(done.tree_head().signer, node_key().public());
    assert_eq!(done.receipt, receipt);
}

#[test]
fn tampered_receipts_are_refused() {
    let (_net, envelope, receipt) = applied();

    // Commit metadata is part of the leaf: a different commit time is another leaf.
    let mut r = receipt.clone();
    r.commit_time = Some(timestamp_from_ms(fx::BASE_TIME_MS + 9_999));
    assert!(matches!(check_error(&r, &envelope), ReceiptError::Inclusion(MerkleError::RootMismatch)), "commit time");

    let mut r = receipt.clone();
    r.batch_position = 3;
    assert!(matches!(check_error(&r, &envelope), ReceiptError::Inclusion(_)), "batch position");

    let mut r = receipt.clone();
    if let Some(proof) = r.inclusion.as_mut() {
        proof.hashes[0][0] ^= 1;
    }
    assert!(matches!(check_error(&r, &envelope), ReceiptError::Inclusion(_)), "proof hash");

    let mut r = receipt.clone();
    if let Some(head) = r.tree_head.as_mut() {
        head.root_hash[0] ^= 1;
    }
    assert!(matches!(check_error(&r, &envelope), ReceiptError::Inclusion(_)), "root");

    let mut r = receipt.clone();
    if let Some(head) = r.tree_head.as_mut() {
        head.signature[0] ^= 1;
    }
    assert!(matches!(check_error(&r, &envelope), ReceiptError::Signature(_)), "head signature");

    let mut r = receipt.clone();
    r.leaf_index = 0;
    assert!(matches!(check_error(&r, &envelope), ReceiptError::ProofMismatch { .. }), "leaf index");

    let mut r = receipt.clone();
    r.envelope_id[0] ^= 1;
    assert!(matches!(check_error(&r, &envelope), ReceiptError::WrongEnvelope { .. }), "envelope id");

    let mut r = receipt.clone();
    r.inclusion = None;
    assert_eq!(check_error(&r, &envelope), ReceiptError::Missing { missing: "inclusion proof" });

    // A receipt without proofs, as SubmitEnvelopes without include_proofs returns it.
    let mut r = receipt.clone();
    r.tree_head = None;
    assert_eq!(check_error(&r, &envelope), ReceiptError::Missing { missing: "tree head" });

    // The right receipt for another envelope.
    let other = signed(&brand(), 3, fx::register_product(&fx::gtin(3), "brand"));
    match check_receipt(&receipt, &other, &[]) {
        Err(SdkError::ReceiptCheck { source: ReceiptError::WrongEnvelope { .. }, .. }) => {}
        other => panic!("expected WrongEnvelope, got {other:?}"),
    }
}

#[test]
fn a_head_from_an_untrusted_signer_is_refused() {
    let (_net, envelope, receipt) = applied();
    let trusted = [SecretKey::from_seed_label("sdk-test/node-2").public(), node_key().public()];
    assert!(check_receipt(&receipt, &envelope, &trusted).is_ok());
    let stranger = [SecretKey::from_seed_label("sdk-test/node-2").public()];
    match check_receipt(&receipt, &envelope, &stranger) {
        Err(SdkError::UntrustedSigner { envelope_id, signer }) => {
            assert_eq!(envelope_id, envelope.id());
            assert_eq!(signer, node_key().public().to_bytes());
        }
        other => panic!("expected UntrustedSigner, got {other:?}"),
    }
}

#[test]
fn a_refusal_is_a_rejected_error_with_the_ledger_reason() {
    let (mut net, _envelope, _receipt) = applied();
    // Nonce 2 is taken by the second product: another envelope with it is refused.
    let reused = signed(&brand(), 2, fx::register_product(&fx::gtin(4), "brand"));
    let receipt = net.apply(vec![reused.bytes().to_vec()]).remove(0);
    let receipt = receipt.to_proto();
    match Submitted::from_receipt(&reused, receipt, &[]) {
        Err(e @ SdkError::Rejected { .. }) => {
            assert_eq!(e.reason(), Some("NONCE_REUSED"));
            let SdkError::Rejected { envelope_id, .. } = e else { unreachable!() };
            assert_eq!(envelope_id, reused.id());
        }
        other => panic!("expected Rejected, got {other:?}"),
    }

    // A signer for another network is refused by the ledger too (the session stops it earlier).
    let elsewhere = PartySigner::new("brand", fx::party_key("brand"), "other-net");
    let wrong = signed(&elsewhere, 9, fx::register_product(&fx::gtin(5), "brand"));
    let receipt = net.apply(vec![wrong.bytes().to_vec()]).remove(0).to_proto();
    let err = check_receipt(&receipt, &wrong, &[]).expect_err("refused");
    assert_eq!(err.reason(), Some("WRONG_NETWORK"));
}

#[test]
fn resubmitting_an_envelope_surfaces_the_original_receipt() {
    let (mut net, envelope, first) = applied();
    let original = Submitted::from_receipt(&envelope, first, &[]).expect("first receipt");

    // More leaves arrive, then the same envelope is submitted again (a retry after a timeout).
    let later = signed(&brand(), 10, fx::register_product(&fx::gtin(6), "brand"));
    net.apply(vec![later.bytes().to_vec()]);
    let again = net.apply(vec![envelope.bytes().to_vec()]).remove(0);
    assert_eq!(again.outcome, Outcome::Duplicate);
    let again = proven(&net, &again, &node_key());

    let resubmitted = Submitted::from_receipt(&envelope, again, &[]).expect("duplicate receipt checks out");
    assert!(resubmitted.is_duplicate());
    assert_eq!(resubmitted.envelope_id(), original.envelope_id());
    assert_eq!(resubmitted.leaf_index(), original.leaf_index());
    assert_eq!(resubmitted.commit_time_ms(), original.commit_time_ms());
    // Proven under the newer, larger tree head.
    assert_eq!(resubmitted.tree_head().head.tree_size, 3);
    assert_eq!(net.ledger.tree_head().tree_size, 3, "nothing was recorded twice");
}

/// A recorded scan (a platform's report of a matched code, verdict GENUINE_FIRST_SCAN) and its
/// proven receipt.
fn scan_applied() -> (Network, Envelope, proto::Receipt) {
    let mut net = Network::new();
    let g = fx::gtin(1);
    for (nonce, action) in [(1, fx::register_product(&g, "brand")), (2, fx::commission(&g, "L1", &["S1"]))] {
        assert_eq!(net.apply(vec![signed(&brand(), nonce, action).bytes().to_vec()])[0].outcome, Outcome::Applied);
    }
    let app = PartySigner::new("app", fx::party_key("app"), fx::NETWORK);
    let envelope = signed(&app, 3, fx::scan(&g, "S1", fx::place("FR", "Paris", 48.86, 2.35)));
    let receipt = net.apply(vec![envelope.bytes().to_vec()]).remove(0);
    assert_eq!(receipt.outcome, Outcome::Applied);
    let receipt = proven(&net, &receipt, &node_key());
    (net, envelope, receipt)
}

#[test]
fn verify_item_responses_have_their_scan_receipt_checked() {
    let (_net, envelope, receipt) = scan_applied();
    let response =
        |receipt: Option<proto::Receipt>, envelope: Option<proto::SignedEnvelope>| proto::VerifyItemResponse {
            verdict: proto::Verdict::GenuineFirstScan as i32,
            receipt,
            scan_envelope: envelope,
            ..Default::default()
        };

    let ok = VerifiedItem::from_response(response(Some(receipt.clone()), Some(envelope.to_proto())), &[])
        .expect("scan receipt checks out");
    assert_eq!(ok.verdict(), proto::Verdict::GenuineFirstScan);
    assert_eq!(ok.scan.as_ref().map(|s| s.leaf.leaf_index), Some(2));

    // A node that answers another verdict than it recorded is caught.
    let mut other = response(Some(receipt.clone()), Some(envelope.to_proto()));
    other.verdict = proto::Verdict::GenuineSeenBefore as i32;
    match VerifiedItem::from_response(other, &[]) {
        Err(SdkError::VerdictNotRecorded { answered, recorded, .. }) => {
            assert_eq!(
                (answered.as_str(), recorded.as_str()),
                ("VERDICT_GENUINE_SEEN_BEFORE", "VERDICT_GENUINE_FIRST_SCAN")
            );
        }
        other => panic!("expected VerdictNotRecorded, got {other:?}"),
    }

    // An answer is for the request that asked: a copy of another verification's is refused.
    let request = |request_id: &str| proto::VerifyItemRequest { request_id: request_id.into(), ..Default::default() };
    let mut for_item = response(Some(receipt.clone()), Some(envelope.to_proto()));
    for_item.item = Some(proto::GtinSerial { gtin: fx::gtin(1), serial: "S1".into() });
    let answered = VerifiedItem::from_response(for_item.clone(), &[]).expect("checks out");
    assert!(answered.check_request(&request("")).is_ok(), "no request id: the item is checked");
    assert!(matches!(
        answered.check_request(&request("my-own-request-00001")),
        Err(SdkError::AnswerNotForRequest { .. })
    ));
    for_item.item = Some(proto::GtinSerial { gtin: fx::gtin(1), serial: "S2".into() });
    let other_item = VerifiedItem::from_response(for_item, &[]).expect("checks out");
    assert!(matches!(other_item.check_request(&request("")), Err(SdkError::AnswerNotForRequest { .. })));

    let nothing = VerifiedItem::from_response(response(None, None), &[]).expect("nothing recorded");
    assert_eq!(nothing.scan, None);

    let mut tampered = receipt.clone();
    tampered.log_index += 1;
    assert!(matches!(
        VerifiedItem::from_response(response(Some(tampered), Some(envelope.to_proto())), &[]),
        Err(SdkError::ReceiptCheck { source: ReceiptError::Inclusion(_), .. })
    ));

    match VerifiedItem::from_response(response(Some(receipt), None), &[]) {
        Err(SdkError::ReceiptCheck { envelope_id, source: ReceiptError::Missing { missing: "scan envelope" } }) => {
            assert_eq!(envelope_id, Some(envelope.id()));
        }
        other => panic!("expected a missing scan envelope, got {other:?}"),
    }
    assert!(matches!(
        VerifiedItem::from_response(response(None, Some(envelope.to_proto())), &[]),
        Err(SdkError::ReceiptCheck { source: ReceiptError::Missing { missing: "scan receipt" }, .. })
    ));
}
