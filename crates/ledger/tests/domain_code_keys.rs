//! Brands' threshold code keys: what a product's policy may name, what a
//! commissioning under it must look like, and what the item records.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use veritrace_core::Reason;
use veritrace_core::gs1::Sgtin;
use veritrace_ledger::testing::*;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

fn with_policy(gtin: &str, policy: pb::CodePolicy) -> Action {
    let mut action = register_product(gtin, "brand");
    if let Action::RegisterProduct(p) = &mut action {
        p.code_policy = Some(policy);
    }
    action
}

fn oprf_policy(key: pb::ThresholdCodeKey) -> pb::CodePolicy {
    pb::CodePolicy {
        digest_scheme: pb::CodeDigestScheme::ThresholdOprfV1 as i32,
        code_key: Some(key),
        ..Default::default()
    }
}

#[test]
fn a_product_names_a_valid_key_once_and_its_items_are_stored_under_it() {
    let mut net = Network::new();
    let (key, _, public) = code_key(1, 2, &[1, 2, 3]);
    let g = gtin(1);
    net.ok("brand", register_product_with_code_key(&g, "brand", &public));
    net.ok("brand", commission_under_key(&g, &["K1", "K2"], &key));
    let item = Sgtin::parse_any(&sgtin(&g, "K1")).unwrap();
    let record = net.ledger.item_record(&item).unwrap().unwrap();
    assert!(record.salt.is_empty());
    assert_eq!(record.code_key, public.public_key);
    assert_eq!(net.ledger.code_key(&public.public_key).unwrap(), Some(public.clone()));
    // The same key may serve another product, unchanged.
    net.ok("brand", register_product_with_code_key(&gtin(2), "brand", &public));
    // A changed share list under the same public key is refused.
    let mut changed = public.clone();
    changed.shares[0].node_id = 9;
    assert_eq!(
        net.refused("brand", register_product_with_code_key(&gtin(3), "brand", &changed)),
        Reason::InvalidAction
    );
}

#[test]
fn keys_that_protect_nothing_or_do_not_add_up_are_refused() {
    let mut net = Network::new();
    let g = gtin(1);
    let (_, _, good) = code_key(2, 2, &[1, 2, 3]);
    let (_, _, other) = code_key(3, 2, &[1, 2, 3]);
    let mut cases: Vec<(&str, pb::CodePolicy)> = Vec::new();
    let mut t1 = good.clone();
    t1.threshold = 1;
    cases.push(("threshold 1", oprf_policy(t1)));
    let mut t4 = good.clone();
    t4.threshold = 4;
    cases.push(("threshold above the shares", oprf_policy(t4)));
    let mut foreign = good.clone();
    foreign.shares[2] = other.shares[2].clone();
    cases.push(("a share of another key", oprf_policy(foreign)));
    let mut twice = good.clone();
    twice.shares[1].node_id = twice.shares[0].node_id;
    cases.push(("one node twice", oprf_policy(twice)));
    let mut short = good.clone();
    short.public_key.truncate(31);
    cases.push(("a short public key", oprf_policy(short)));
    let mut wrong_key = good.clone();
    wrong_key.public_key = other.public_key.clone();
    cases.push(("the shares of another public key", oprf_policy(wrong_key)));
    cases.push((
        "no key",
        pb::CodePolicy { digest_scheme: pb::CodeDigestScheme::ThresholdOprfV1 as i32, ..Default::default() },
    ));
    cases.push((
        "a key with BLAKE3_V1",
        pb::CodePolicy {
            digest_scheme: pb::CodeDigestScheme::Blake3V1 as i32,
            code_key: Some(good.clone()),
            ..Default::default()
        },
    ));
    cases.push(("an unknown scheme", pb::CodePolicy { digest_scheme: 9, ..Default::default() }));
    for (what, policy) in cases {
        assert_eq!(net.refused("brand", with_policy(&g, policy)), Reason::InvalidAction, "{what} was accepted");
    }
    net.ok("brand", with_policy(&g, oprf_policy(good)));
}

#[test]
fn a_commissioning_under_a_key_carries_no_salt_and_the_products_scheme() {
    let mut net = Network::new();
    let (key, _, public) = code_key(4, 2, &[1, 2]);
    let g = gtin(1);
    net.ok("brand", register_product_with_code_key(&g, "brand", &public));
    let mut salted = commission_under_key(&g, &["A1"], &key);
    if let Action::CommissionItems(c) = &mut salted {
        c.batch_salt = SALT.to_vec();
    }
    assert_eq!(net.refused("brand", salted), Reason::InvalidAction);
    // Salted BLAKE3_V1 digests for an OPRF product: the scheme differs.
    assert_eq!(net.refused("brand", commission(&g, "L1", &["A2"])), Reason::CodePolicyMismatch);
    net.ok("brand", commission_under_key(&g, &["A3"], &key));
}

#[test]
fn a_key_belongs_to_the_brand_that_proved_it_holds_it() {
    let mut net = Network::new();
    let (_, _, public) = code_key(5, 2, &[1, 2, 3]);
    // A rival brand naming the key: its proof is for "brand", not for it.
    let rival_gtin = gtin_under(BRAND2_PREFIX, 1);
    let mut rival = register_product(&rival_gtin, "brand-2");
    if let Action::RegisterProduct(p) = &mut rival {
        p.code_policy = Some(oprf_policy(public.clone()));
    }
    assert_eq!(net.refused("brand-2", rival.clone()), Reason::InvalidAction);
    // No proof, or a proof of another key: refused too.
    let mut unproved = public.clone();
    unproved.possession_proof.clear();
    assert_eq!(net.refused("brand", with_policy(&gtin(1), oprf_policy(unproved))), Reason::InvalidAction);
    let (_, _, other) = code_key(6, 2, &[1, 2, 3]);
    let mut borrowed = public.clone();
    borrowed.possession_proof = other.possession_proof.clone();
    assert_eq!(net.refused("brand", with_policy(&gtin(1), oprf_policy(borrowed))), Reason::InvalidAction);
    // Once the brand registered it, it stays the brand's.
    net.ok("brand", register_product_with_code_key(&gtin(1), "brand", &public));
    assert_eq!(net.refused("brand-2", rival), Reason::InvalidAction);
}

#[test]
fn a_batch_digested_with_another_key_is_refused() {
    let mut net = Network::new();
    let (key, _, public) = code_key(7, 2, &[1, 2]);
    let (other_key, _, _) = code_key(8, 2, &[1, 2]);
    let g = gtin(1);
    net.ok("brand", register_product_with_code_key(&g, "brand", &public));
    assert_eq!(net.refused("brand", commission_under_key(&g, &["W1"], &other_key)), Reason::CodePolicyMismatch);
    let mut unnamed = commission_under_key(&g, &["W2"], &key);
    if let Action::CommissionItems(c) = &mut unnamed {
        c.code_key.clear();
    }
    assert_eq!(net.refused("brand", unnamed), Reason::CodePolicyMismatch);
    // A BLAKE3_V1 batch may not name a key.
    net.ok("brand", register_product(&gtin(2), "brand"));
    let mut named = commission(&gtin(2), "L1", &["W3"]);
    if let Action::CommissionItems(c) = &mut named {
        c.code_key = public.public_key.clone();
    }
    assert_eq!(net.refused("brand", named), Reason::InvalidAction);
}
