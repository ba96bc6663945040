//! Products, manufacturer authorizations, commissioning and decommissioning.

use veritrace_core::Reason;
use veritrace_ledger::testing::*;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::governance_action::Action as Gov;
use veritrace_proto::v1::transaction::Action;

fn commission_action(a: Action) -> pb::CommissionItems {
    match a {
        Action::CommissionItems(c) => c,
        _ => unreachable!(),
    }
}

#[test]
fn a_brand_registers_gtins_under_its_own_prefix_only() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    // Re-registering one's own product updates it.
    net.ok("brand", register_product(&g, "brand"));
    // Outside the brand's prefix.
    assert_eq!(net.refused("brand", register_product(&gtin_under(BRAND2_PREFIX, 1), "brand")), Reason::GtinNotOwned);
    // Another brand: neither for itself nor in the name of the owner.
    assert_eq!(net.refused("brand-2", register_product(&g, "brand-2")), Reason::GtinNotOwned);
    assert_eq!(net.refused("brand-2", register_product(&g, "brand")), Reason::GtinNotOwned);
    // Not a BRAND_OWNER at all: the role policy refuses.
    assert_eq!(net.refused("shop", register_product(&g, "brand")), Reason::NotPermitted);
    // Malformed GTINs.
    let mut bad = gtin(2);
    bad.replace_range(13..14, if bad.ends_with('0') { "1" } else { "0" });
    assert_eq!(net.refused("brand", register_product(&bad, "brand")), Reason::InvalidAction, "check digit");
    assert_eq!(net.refused("brand", register_product(&g[1..], "brand")), Reason::InvalidAction, "13 digits");
}

#[test]
fn a_registered_gtin_stays_with_its_brand_even_under_an_overlapping_prefix() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    // brand-2 is given the same prefix by governance (a licence transfer).
    let add = Gov::UpdateParty(pb::UpdateParty {
        party_id: "brand-2".into(),
        add_gs1_company_prefixes: vec![BRAND_PREFIX.into()],
        ..Default::default()
    });
    govern(&mut net, "prefix", add);
    assert_eq!(net.refused("brand-2", register_product(&g, "brand-2")), Reason::GtinNotOwned);
    // A GTIN nobody registered yet is now brand-2's to register.
    net.ok("brand-2", register_product(&gtin(2), "brand-2"));
}

#[test]
fn commissioning_needs_a_registered_product_and_unique_serials() {
    let mut net = Network::new();
    let g = gtin(1);
    assert_eq!(net.refused("brand", commission(&g, "L1", &["S1"])), Reason::ProductNotRegistered);
    net.ok("brand", register_product(&g, "brand"));
    assert_eq!(net.refused("brand", commission(&g, "L1", &["S1", "S2", "S1"])), Reason::InvalidAction);
    net.ok("brand", commission(&g, "L1", &["S1", "S2"]));
    assert_eq!(net.refused("brand", commission(&g, "L2", &["S3", "S2"])), Reason::ItemAlreadyCommissioned);
    // The refused batch left nothing: S3 is still free.
    assert!(net.item(&g, "S3").is_none());
    net.ok("brand", commission(&g, "L2", &["S3"]));

    let item = net.item(&g, "S1").expect("commissioned");
    assert_eq!(item.lot, "L1");
    assert_eq!(item.salt, SALT.to_vec());
    assert_eq!(item.code_digest, digest_of(&g, "S1"));
    assert_eq!(item.commissioned_by, "brand");
    assert_eq!(item.state.expect("state").custodian, "brand");
    // The commissioning is in the item's history.
    let key = epc_key(&sgtin(&g, "S1"));
    assert_eq!(net.ledger.leaves_by_item(&key, None, 10).expect("page").len(), 1);
    // Other brands may not commission it.
    assert_eq!(net.refused("brand-2", commission(&g, "", &["S9"])), Reason::GtinNotOwned);
}

#[test]
fn salts_and_digests_must_have_their_lengths() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    let base = || commission_action(commission(&gtin(1), "", &["S1"]));

    let mut short_salt = base();
    short_salt.batch_salt = vec![1; 15];
    assert_eq!(net.refused("brand", Action::CommissionItems(short_salt)), Reason::CodePolicyMismatch);

    let mut no_salt = base();
    no_salt.batch_salt.clear();
    assert_eq!(net.refused("brand", Action::CommissionItems(no_salt)), Reason::CodePolicyMismatch);

    let mut bad_item_salt = base();
    bad_item_salt.items[0].salt = vec![1; 17];
    assert_eq!(net.refused("brand", Action::CommissionItems(bad_item_salt)), Reason::CodePolicyMismatch);

    let mut short_digest = base();
    short_digest.items[0].code_digest.truncate(31);
    assert_eq!(net.refused("brand", Action::CommissionItems(short_digest)), Reason::InvalidAction);

    let mut no_digest = base();
    no_digest.items[0].code_digest.clear();
    assert_eq!(net.refused("brand", Action::CommissionItems(no_digest)), Reason::InvalidAction);

    let mut bad_scheme = base();
    bad_scheme.digest_scheme = 7;
    assert_eq!(net.refused("brand", Action::CommissionItems(bad_scheme)), Reason::CodePolicyMismatch);

    // A per-item salt works without a batch salt.
    let mut own_salt = base();
    own_salt.batch_salt.clear();
    own_salt.items[0].salt = vec![9; 16];
    net.ok("brand", Action::CommissionItems(own_salt));
    assert_eq!(net.item(&g, "S1").expect("item").salt, vec![9; 16]);
}

#[test]
fn a_manufacturer_acts_only_under_a_brand_authorization_in_force() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    assert_eq!(net.refused("maker", commission(&g, "", &["M1"])), Reason::ManufacturerNotAuthorized);

    net.ok("brand", authorize("auth-1", "maker", &[&g]));
    net.ok("maker", commission(&g, "", &["M1"]));
    assert_eq!(net.item(&g, "M1").expect("item").commissioned_by, "maker");
    // Only GTINs the authorization names.
    let other = gtin(2);
    net.ok("brand", register_product(&other, "brand"));
    assert_eq!(net.refused("maker", commission(&other, "", &["M1"])), Reason::ManufacturerNotAuthorized);
    // Only the granting brand revokes; an unknown id is NOT_FOUND.
    let revoke = |id: &str| {
        Action::RevokeManufacturerAuthorization(pb::RevokeManufacturerAuthorization {
            authorization_id: id.into(),
            reason: "contract ended".into(),
        })
    };
    assert_eq!(net.refused("brand-2", revoke("auth-1")), Reason::NotFound);
    net.ok("brand", revoke("auth-1"));
    assert_eq!(net.refused("maker", commission(&g, "", &["M2"])), Reason::ManufacturerNotAuthorized);
    assert_eq!(net.refused("brand", revoke("auth-1")), Reason::InvalidAction, "already revoked");
    assert_eq!(net.refused("brand", authorize("auth-1", "maker", &[&g])), Reason::AlreadyExists);
}

#[test]
fn authorizations_are_checked_at_grant() {
    let mut net = Network::new();
    let g = gtin(1);
    // A brand authorises only for its own GTINs, and only manufacturers.
    assert_eq!(net.refused("brand-2", authorize("a", "maker", &[&g])), Reason::GtinNotOwned);
    assert_eq!(net.refused("brand", authorize("a", "shop", &[&g])), Reason::InvalidAction);
    assert_eq!(net.refused("brand", authorize("a", "nobody", &[&g])), Reason::NotFound);
    assert_eq!(net.refused("maker", authorize("a", "maker", &[&g])), Reason::NotPermitted);

    // A prefix grant covers every GTIN under it; a validity window is honoured.
    let mut grant = match authorize("by-prefix", "maker", &[]) {
        Action::AuthorizeManufacturer(a) => a,
        _ => unreachable!(),
    };
    grant.company_prefixes = vec![BRAND_PREFIX.into()];
    let until = net.next_header().commit_time_ms / 1000 + 60;
    grant.valid_until = Some(prost_types::Timestamp { seconds: until, nanos: 0 });
    net.ok("brand", Action::AuthorizeManufacturer(grant));
    net.ok("maker", register_product(&g, "brand"));
    net.ok("maker", commission(&g, "", &["M1"]));
    net.advance(60_000);
    assert_eq!(net.refused("maker", commission(&g, "", &["M2"])), Reason::ManufacturerNotAuthorized);
}

#[test]
fn a_refused_envelope_changes_nothing() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    net.ok("brand", commission(&g, "", &["S1"]));
    let before = net.ledger.applied();
    let state = net.stored_state();
    // Two good serials, then a used one: the whole action is refused.
    assert_eq!(net.refused("brand", commission(&g, "", &["S2", "S3", "S1"])), Reason::ItemAlreadyCommissioned);
    let after = net.ledger.applied();
    assert_eq!((after.tree_size, after.root), (before.tree_size, before.root));
    assert_eq!(net.stored_state(), state, "no state, index or leaf was written");
    assert!(net.item(&g, "S2").is_none());
    assert_eq!(net.refused("brand", step("packing", &[&sgtin(&g, "S2")])), Reason::ItemNotCommissioned);
}

#[test]
fn envelopes_of_one_batch_see_each_other() {
    let mut net = Network::new();
    let g = gtin(1);
    let batch = vec![
        net.sign("brand", register_product(&g, "brand")),
        net.sign("brand", commission(&g, "", &["S1"])),
        net.sign("brand", commission(&g, "", &["S1"])),
        net.sign("brand", ship(&[&sgtin(&g, "S1")], "shop", None)),
    ];
    let r = net.apply(batch);
    assert_eq!(r[0].outcome, veritrace_ledger::Outcome::Applied);
    assert_eq!(r[1].outcome, veritrace_ledger::Outcome::Applied);
    assert_eq!(reason_of(&r[2]), Some(Reason::ItemAlreadyCommissioned));
    assert_eq!(r[3].outcome, veritrace_ledger::Outcome::Applied);
    assert!(net.item(&g, "S1").expect("item").state.expect("state").in_transit);
}

#[test]
fn decommissioning_takes_items_out_of_circulation() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    net.ok("brand", commission(&g, "L1", &["S1", "S2", "S3"]));
    assert_eq!(
        net.refused("brand", decommission(&g, &["S9"], pb::DecommissionReason::Damaged)),
        Reason::ItemNotCommissioned
    );
    assert_eq!(
        net.refused("brand-2", decommission(&g, &["S1"], pb::DecommissionReason::Damaged)),
        Reason::GtinNotOwned
    );
    net.ok("brand", decommission(&g, &["S1"], pb::DecommissionReason::Damaged));
    assert_eq!(net.item(&g, "S1").expect("item").decommission_reason, pb::DecommissionReason::Damaged as i32);
    assert_eq!(net.refused("brand", ship(&[&sgtin(&g, "S1")], "shop", None)), Reason::ItemOutOfCirculation);
    // A whole lot.
    let lot = Action::DecommissionItems(pb::DecommissionItems {
        items: Some(pb::ItemSet { gtin: g.clone(), lots: vec!["L1".into()], serials: vec![] }),
        reason: pb::DecommissionReason::Expired as i32,
        note: String::new(),
    });
    net.ok("brand", lot);
    assert_eq!(net.refused("brand", ship(&[&sgtin(&g, "S2")], "shop", None)), Reason::ItemOutOfCirculation);
}

/// A production time no clock shows is refused at apply: journeys compute
/// with it (seconds times 1000 overflowed for `i64::MAX` seconds).
#[test]
fn production_time_out_of_range_is_refused() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    for (seconds, nanos) in [(i64::MAX, 0), (i64::MIN, 0), (1_700_000_000, -1), (1_700_000_000, 1_000_000_000)] {
        let mut a = commission_action(commission(&g, "", &["S1"]));
        a.production_time = Some(prost_types::Timestamp { seconds, nanos });
        assert_eq!(net.refused("brand", Action::CommissionItems(a)), Reason::InvalidAction, "{seconds}.{nanos}");
    }
    assert!(net.item(&g, "S1").is_none(), "nothing was commissioned");
    let mut a = commission_action(commission(&g, "", &["S1"]));
    a.production_time = Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 });
    net.ok("brand", Action::CommissionItems(a));
}

#[test]
fn a_product_may_name_its_own_label_host_in_normalised_form_only() {
    let mut net = Network::new();
    let g = gtin(1);
    let with_host = |host: &str| {
        let mut a = register_product(&g, "brand");
        if let Action::RegisterProduct(p) = &mut a {
            p.label_host = host.into();
        }
        a
    };
    for bad in [
        "https://Verify.Brand.example",
        "https://verify.brand.example/",
        "https://verify.brand.example/p",
        "ftp://x.example",
        "verify.brand.example",
    ] {
        assert_eq!(net.refused("brand", with_host(bad)), Reason::InvalidAction, "{bad}");
    }
    assert!(net.ledger.product(&g).expect("read").is_none(), "a refused registration registers nothing");
    net.ok("brand", with_host("https://verify.brand.example"));
    let product = net.ledger.product(&g).expect("read").expect("registered");
    assert_eq!(product.label_host, "https://verify.brand.example");
}
