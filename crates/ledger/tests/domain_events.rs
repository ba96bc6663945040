//! EPCIS life-cycle rules: commissioning, custody, circulation, recalls,
//! aggregation, error declarations, tracking numbers, customs.

use veritrace_core::Reason;
use veritrace_core::vocab::{CUSTOMS_CLEARING, CUSTOMS_DECLARING, CUSTOMS_SEIZING, DISP_SEIZED};
use veritrace_ledger::default_policy;
use veritrace_ledger::state::keys;
use veritrace_ledger::state::records::TrackingRecord;
use veritrace_ledger::testing::*;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::governance_action::Action as Gov;

/// A network where `brand` registered GTIN 1 and commissioned `n` serials
/// S1..Sn; returns the GTIN and the items' EPC URIs.
fn stocked(n: usize) -> (Network, String, Vec<String>) {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    let s = serials(n);
    let refs: Vec<&str> = s.iter().map(String::as_str).collect();
    net.ok("brand", commission(&g, "L1", &refs));
    let epcs = s.iter().map(|x| sgtin(&g, x)).collect();
    (net, g, epcs)
}

fn custodian(net: &Network, g: &str, serial: &str) -> (String, bool) {
    let s = net.item(g, serial).expect("item").state.expect("state");
    (s.custodian, s.in_transit)
}

#[test]
fn events_name_only_commissioned_items() {
    let (mut net, g, _) = stocked(1);
    let ghost = sgtin(&g, "S99");
    assert_eq!(net.refused("brand", step("storing", &[&ghost])), Reason::ItemNotCommissioned);
    assert_eq!(net.refused("brand", epcis(object_event("", "", &[&ghost]))), Reason::ItemNotCommissioned);
    // Even with a commissioned item next to it.
    assert_eq!(net.refused("brand", step("storing", &[&sgtin(&g, "S1"), &ghost])), Reason::ItemNotCommissioned);
    // Malformed identifiers and shapes.
    assert_eq!(net.refused("brand", step("storing", &["urn:epc:id:sgtin:bad"])), Reason::InvalidAction);
    let mut e = object_event("storing", "", &[&sgtin(&g, "S1")]);
    e.event_time_zone_offset = "Z".into();
    assert_eq!(net.refused("brand", epcis(e)), Reason::InvalidAction);
}

#[test]
fn custody_passes_from_shipper_through_carrier_to_the_addressee() {
    let (mut net, g, epcs) = stocked(2);
    let item = [epcs[0].as_str()];
    // Receiving what nobody shipped; shipping what one does not hold.
    assert_eq!(net.refused("shop", step("receiving", &item)), Reason::NotInTransit);
    assert_eq!(net.refused("shop", ship(&item, "brand", None)), Reason::NotCustodian);
    assert_eq!(net.refused("carrier", step("departing", &item)), Reason::NotInTransit);

    net.ok("brand", ship(&item, "shop", Some(("carrier", "TRK1"))));
    assert_eq!(custodian(&net, &g, "S1"), ("brand".into(), true));
    let state = net.item(&g, "S1").expect("item").state.expect("state");
    assert_eq!((state.shipped_by.as_str(), state.ship_to.as_str()), ("brand", "shop"));
    // In transit: the shipper cannot ship it again or sell it.
    assert_eq!(net.refused("brand", ship(&item, "brand-2", None)), Reason::NotCustodian);

    let key = keys::tracking(&tracking("carrier", "TRK1").biz_transaction);
    let t: TrackingRecord = net.state(&key).expect("tracking recorded");
    assert_eq!((t.carrier.as_str(), t.shipper.as_str(), t.confirmed), ("carrier", "brand", false));
    // The carrier's pickup under the number confirms it.
    let mut pickup = object_event("departing", "in_transit", &item);
    pickup.biz_transaction_list.push(tracking("carrier", "TRK1"));
    net.ok("carrier", epcis(pickup));
    let t: TrackingRecord = net.state(&key).expect("tracking recorded");
    assert!(t.confirmed);
    assert_eq!(net.item(&g, "S1").expect("item").state.expect("state").carrier, "carrier");

    // Someone else receiving: wrong recipient.
    assert_eq!(net.refused("brand-2", step("receiving", &item)), Reason::WrongRecipient);
    net.ok("shop", step("receiving", &item));
    assert_eq!(custodian(&net, &g, "S1"), ("shop".into(), false));
    // Only sellers sell, and only what they hold.
    assert_eq!(net.refused("brand", step("retail_selling", &[&epcs[1]])), Reason::NotPermitted);
    assert_eq!(net.refused("shop", step("retail_selling", &[&epcs[1]])), Reason::NotCustodian);
    net.ok("shop", step("retail_selling", &item));
    let s = net.item(&g, "S1").expect("item").state.expect("state");
    assert!(s.sold && s.reached_retail);
}

#[test]
fn a_tracking_number_is_confirmed_only_by_the_carrier_it_names() {
    let (mut net, _, epcs) = stocked(1);
    let item = [epcs[0].as_str()];
    net.ok("brand", ship(&item, "shop", Some(("fast-freight", "X1"))));
    let mut pickup = object_event("departing", "", &item);
    pickup.biz_transaction_list.push(tracking("fast-freight", "X1"));
    // Another logistics party cannot pick up a shipment that names its
    // carrier, so it cannot confirm the number either.
    assert_eq!(net.refused("carrier", epcis(pickup.clone())), Reason::WrongCarrier);
    assert_eq!(net.refused("carrier", step("arriving", &item)), Reason::WrongCarrier);
    let key = keys::tracking(&tracking("fast-freight", "X1").biz_transaction);
    let t: TrackingRecord = net.state(&key).expect("tracking recorded");
    assert!(!t.confirmed, "carrier is not fast-freight");
}

#[test]
fn a_shipment_without_a_named_carrier_stays_with_the_one_that_picked_it_up() {
    let (mut net, g, epcs) = stocked(1);
    let item = [epcs[0].as_str()];
    net.ok("brand", ship(&item, "shop", None));
    net.ok("carrier", step("departing", &item));
    // A second logistics party, admitted by governance, cannot take over.
    govern(&mut net, "rival-carrier", register_party("carrier-2", &[pb::PartyRole::Logistics], &[]));
    assert_eq!(net.refused("carrier-2", step("arriving", &item)), Reason::WrongCarrier);
    assert_eq!(net.refused("carrier-2", step("departing", &item)), Reason::WrongCarrier);
    net.ok("carrier", step("arriving", &item));
    net.ok("shop", step("receiving", &item));
    assert_eq!(custodian(&net, &g, "S1"), ("shop".into(), false));
}

#[test]
fn shipping_to_a_party_gln_addresses_its_owner() {
    let (mut net, _, epcs) = stocked(1);
    let item = [epcs[0].as_str()];
    let mut e = object_event("shipping", "in_transit", &item);
    e.destination_list.push(pb::Destination { r#type: "owning_party".into(), destination: pgln_uri(&shop_gln()) });
    net.ok("brand", epcis(e));
    assert_eq!(net.refused("brand-2", step("receiving", &item)), Reason::WrongRecipient);
    net.ok("shop", step("receiving", &item));
}

#[test]
fn out_of_circulation_items_do_not_move() {
    let (mut net, g, epcs) = stocked(3);
    net.ok("brand", decommission(&g, &["S1"], pb::DecommissionReason::Withdrawn));
    assert_eq!(net.refused("brand", ship(&[&epcs[0]], "shop", None)), Reason::ItemOutOfCirculation);
    // Observing it is still fine (an inspection of a withdrawn item).
    net.ok("lab", step("inspecting", &[&epcs[0]]));

    // Destroyed by an event.
    net.ok("brand", step("destroying", &[&epcs[1]]));
    assert_eq!(net.item(&g, "S2").expect("item").decommission_reason, pb::DecommissionReason::Destroyed as i32);
    assert_eq!(net.refused("brand", ship(&[&epcs[1]], "shop", None)), Reason::ItemOutOfCirculation);
    // Reported stolen.
    net.ok("brand", epcis(object_event("", "stolen", &[&epcs[2]])));
    assert_eq!(net.refused("brand", step("storing", &[&epcs[2]])), Reason::ItemOutOfCirculation);
}

#[test]
fn a_recall_in_force_blocks_movement_until_closed() {
    let (mut net, _, epcs) = stocked(2);
    let item = [epcs[0].as_str()];
    net.ok("brand", recall("r1", &gtin(1)));
    assert_eq!(net.refused("brand", ship(&item, "shop", None)), Reason::ItemRecalled);
    // Returning is allowed under a recall.
    net.ok("brand", step("returning", &item));
    // Only the issuer closes.
    assert_eq!(net.refused("regulator", close_recall("r1")), Reason::NotIssuer);
    net.ok("brand", close_recall("r1"));
    net.ok("brand", ship(&item, "shop", None));

    // A recall of some serials covers only those.
    let mut some = match recall("r2", &gtin(1)) {
        pb::transaction::Action::Recall(r) => r,
        _ => unreachable!(),
    };
    some.serials = vec!["S2".into()];
    net.ok("brand", pb::transaction::Action::Recall(some));
    assert_eq!(net.refused("brand", step("storing", &[&epcs[1]])), Reason::ItemRecalled);
    net.ok("shop", step("receiving", &item));
}

#[test]
fn packing_then_shipping_a_pallet_moves_its_contents() {
    let (mut net, g, epcs) = stocked(3);
    let pallet = sscc(1);
    let items: Vec<&str> = epcs.iter().map(String::as_str).collect();
    net.ok("brand", pack(&pallet, &items[..2]));
    let s1 = net.item(&g, "S1").expect("item").state.expect("state");
    assert_eq!(s1.parent, epc_key(&pallet));
    assert_eq!(s1.parent_uri, pallet);

    net.ok("brand", ship(&[&pallet], "shop", Some(("carrier", "P1"))));
    assert_eq!(custodian(&net, &g, "S1"), ("brand".into(), true), "contents ship with the pallet");
    assert_eq!(custodian(&net, &g, "S3"), ("brand".into(), false), "S3 was not packed");
    net.ok("carrier", step("departing", &[&pallet]));
    net.ok("carrier", step("arriving", &[&pallet]));
    assert_eq!(net.refused("brand-2", step("receiving", &[&pallet])), Reason::WrongRecipient);
    net.ok("shop", step("receiving", &[&pallet]));
    assert_eq!(custodian(&net, &g, "S1"), ("shop".into(), false));
    assert_eq!(custodian(&net, &g, "S2"), ("shop".into(), false));
    // The receiver sells an item of the pallet.
    net.ok("shop", step("retail_selling", &[items[1]]));
    assert!(net.item(&g, "S2").expect("item").state.expect("state").sold);

    // The item's history lists the pallet's events next to its own.
    let history = net.ledger.leaves_by_item(&epc_key(items[0]), None, 100).expect("page");
    let pallet_history = net.ledger.leaves_by_item(&epc_key(&pallet), None, 100).expect("page");
    assert_eq!(pallet_history.len(), 5, "pack, ship, depart, arrive, receive");
    for leaf in &pallet_history {
        assert!(history.contains(leaf), "pallet event at leaf {leaf} missing from the item's history {history:?}");
    }
    assert_eq!(history.len(), 6, "commissioning plus the pallet's five events");
}

#[test]
fn aggregation_refuses_double_packing_cycles_and_strangers() {
    let (mut net, _, epcs) = stocked(4);
    let items: Vec<&str> = epcs.iter().map(String::as_str).collect();
    let (case, pallet, other) = (sscc(1), sscc(2), sscc(3));
    net.ok("brand", pack(&case, &items[..2]));
    // An item already in the case cannot go into another container...
    assert_eq!(net.refused("brand", pack(&other, &[items[0]])), Reason::AlreadyAggregated);
    // ...but packing it again into the same case is harmless.
    net.ok("brand", pack(&case, &[items[0]]));
    // Case into pallet; then the pallet into the case closes a loop.
    net.ok("brand", pack(&pallet, &[&case]));
    assert_eq!(net.refused("brand", pack(&case, &[&pallet])), Reason::AggregationCycle);
    assert_eq!(net.refused("brand", pack(&other, &[&other])), Reason::AggregationCycle);
    assert_eq!(net.refused("brand", pack(&pallet, &[&pallet])), Reason::AggregationCycle);
    // Unpacking something that is not inside.
    assert_eq!(net.refused("brand", unpack(&case, &[items[2]])), Reason::NotInContainer);
    assert_eq!(net.refused("brand", unpack(&pallet, &[items[0]])), Reason::NotInContainer, "grandchild");
    // Only the custodian packs.
    assert_eq!(net.refused("maker", pack(&other, &[items[3]])), Reason::NotCustodian);
    // Unpacking frees the item for another container.
    net.ok("brand", unpack(&case, &[items[1]]));
    net.ok("brand", pack(&other, &[items[1]]));
}

#[test]
fn unpacking_everything_frees_every_child() {
    let (mut net, g, epcs) = stocked(2);
    let items: Vec<&str> = epcs.iter().map(String::as_str).collect();
    let (pallet, other) = (sscc(1), sscc(2));
    net.ok("brand", pack(&pallet, &items));
    net.ok("brand", unpack(&pallet, &[]));
    for serial in ["S1", "S2"] {
        let s = net.item(&g, serial).expect("item").state.expect("state");
        assert!(s.parent.is_empty() && s.parent_uri.is_empty(), "{serial} still points at {}", s.parent_uri);
    }
    net.ok("brand", pack(&other, &items));
    // And shipping the emptied pallet no longer moves them.
    net.ok("brand", ship(&[&pallet], "shop", None));
    assert_eq!(custodian(&net, &g, "S1"), ("brand".into(), false));
}

#[test]
fn a_recalled_item_inside_a_pallet_stops_the_pallet() {
    let (mut net, _, epcs) = stocked(2);
    let pallet = sscc(1);
    net.ok("brand", pack(&pallet, &[&epcs[0], &epcs[1]]));
    net.ok("regulator", recall("reg-1", &gtin(1)));
    assert_eq!(net.refused("brand", ship(&[&pallet], "shop", None)), Reason::ItemRecalled);
}

#[test]
fn error_declarations_come_from_the_recording_party() {
    let (mut net, _, epcs) = stocked(1);
    let item = [epcs[0].as_str()];
    let original = with_id(object_event("storing", "", &item), "urn:uuid:ev-1");
    net.ok("brand", epcis(original.clone()));
    assert_eq!(net.refused("brand", epcis(original.clone())), Reason::AlreadyExists, "event ids are unique");
    assert_eq!(
        net.refused("maker", declare_error(object_event("", "", &item), "urn:uuid:ev-1")),
        Reason::NotEventOwner
    );
    assert_eq!(net.refused("brand", declare_error(object_event("", "", &item), "urn:uuid:nope")), Reason::UnknownEvent);
    let before = net.ledger.leaves_by_item(&epc_key(item[0]), None, 100).expect("page").len();
    net.ok("brand", declare_error(object_event("", "", &item), "urn:uuid:ev-1"));
    assert_eq!(
        net.refused("brand", declare_error(object_event("", "", &item), "urn:uuid:ev-1")),
        Reason::AlreadyExists,
        "declared once"
    );
    // The declaration is listed in the item's history; the id stays taken.
    assert_eq!(net.ledger.leaves_by_item(&epc_key(item[0]), None, 100).expect("page").len(), before + 1);
    assert_eq!(net.refused("brand", epcis(original)), Reason::AlreadyExists);
}

#[test]
fn customs_declares_clears_and_seizes() {
    let (mut net, g, epcs) = stocked(2);
    let item = [epcs[0].as_str()];
    for s in [CUSTOMS_DECLARING, CUSTOMS_CLEARING, CUSTOMS_SEIZING] {
        assert_eq!(net.refused("brand", step(s, &item)), Reason::NotPermitted, "{s} by the brand");
        assert_eq!(net.refused("carrier", step(s, &item)), Reason::NotPermitted, "{s} by the carrier");
    }
    net.ok("customs", step(CUSTOMS_DECLARING, &item));
    assert!(net.item(&g, "S1").expect("item").state.expect("state").in_customs);
    net.ok("customs", step(CUSTOMS_CLEARING, &item));
    assert!(!net.item(&g, "S1").expect("item").state.expect("state").in_customs);
    // Customs does not ship.
    assert_eq!(net.refused("customs", ship(&item, "shop", None)), Reason::NotPermitted);

    // Cleared, the goods are neither held by customs nor declared to it.
    assert_eq!(
        net.refused("customs", epcis(object_event(CUSTOMS_SEIZING, DISP_SEIZED, &item))),
        Reason::SeizureNotPermitted
    );
    net.ok("customs", step(CUSTOMS_DECLARING, &item));
    net.ok("customs", epcis(object_event(CUSTOMS_SEIZING, DISP_SEIZED, &item)));
    assert!(net.item(&g, "S1").expect("item").state.expect("state").seized);
    assert_eq!(net.refused("brand", ship(&item, "shop", None)), Reason::ItemOutOfCirculation);
    // The other item is unaffected.
    net.ok("brand", ship(&[&epcs[1]], "shop", None));
}

#[test]
fn naming_a_container_does_not_take_it() {
    let (mut net, g, epcs) = stocked(1);
    let pallet = sscc(1);
    // Others name the brand's SSCC before it is ever packed.
    net.ok("lab", step("inspecting", &[&pallet]));
    net.ok("brand-2", step("storing", &[&pallet]));
    net.ok("brand", pack(&pallet, &[&epcs[0]]));
    net.ok("brand", ship(&[&pallet], "shop", None));
    assert_eq!(custodian(&net, &g, "S1"), ("brand".into(), true));
    // Once packed, the container is the packer's.
    assert_eq!(net.refused("brand-2", step("storing", &[&pallet])), Reason::NotCustodian);
}

#[test]
fn a_container_packed_into_another_is_held_by_the_packer() {
    let (mut net, g, epcs) = stocked(1);
    let (case, pallet) = (sscc(1), sscc(2));
    net.ok("brand", pack(&pallet, &[&case]));
    net.ok("brand", unpack(&pallet, &[&case]));
    net.ok("brand", pack(&case, &[&epcs[0]]));
    net.ok("brand", ship(&[&case], "shop", None));
    net.ok("shop", step("receiving", &[&case]));
    assert_eq!(custodian(&net, &g, "S1"), ("shop".into(), false));
}

#[test]
fn only_the_holder_destroys_or_reports_stolen() {
    let (mut net, g, epcs) = stocked(2);
    let item = [epcs[0].as_str()];
    assert_eq!(net.refused("brand-2", step("destroying", &item)), Reason::NotCustodian);
    assert_eq!(net.refused("maker", epcis(object_event("", "stolen", &item))), Reason::NotCustodian);
    assert_eq!(net.refused("lab", epcis(object_event("inspecting", "destroyed", &item))), Reason::NotCustodian);
    let mut delete = object_event("", "", &item);
    if let Some(pb::epcis_event::Event::ObjectEvent(o)) = &mut delete.event {
        o.action = pb::EpcisAction::Delete as i32;
    }
    assert_eq!(net.refused("brand-2", epcis(delete.clone())), Reason::NotCustodian);
    assert_eq!(net.item(&g, "S1").expect("item").decommission_reason, 0);
    net.ok("brand", ship(&item, "shop", None));
    net.ok("shop", step("receiving", &item));
    // The holder may.
    assert_eq!(net.refused("brand", epcis(delete)), Reason::NotCustodian, "no longer the brand's");
    net.ok("brand", step("destroying", &[&epcs[1]]));
}

#[test]
fn removing_items_from_a_business_transaction_does_not_destroy_them() {
    let (mut net, g, epcs) = stocked(1);
    let item = [epcs[0].as_str()];
    let tx_event = |action: pb::EpcisAction| {
        let mut e = object_event("", "", &item);
        e.biz_transaction_list
            .push(pb::BizTransaction { r#type: "po".into(), biz_transaction: "urn:example:po:1".into() });
        e.event = Some(pb::epcis_event::Event::TransactionEvent(pb::TransactionEvent {
            action: action as i32,
            epc_list: vec![item[0].to_string()],
            ..Default::default()
        }));
        epcis(e)
    };
    net.ok("brand", tx_event(pb::EpcisAction::Add));
    net.ok("brand", tx_event(pb::EpcisAction::Delete));
    assert_eq!(net.item(&g, "S1").expect("item").decommission_reason, 0);
    net.ok("brand", ship(&item, "shop", None));
}

#[test]
fn only_the_customs_party_goods_were_declared_to_seizes_or_clears_them() {
    let (mut net, g, epcs) = stocked(2);
    let item = [epcs[0].as_str()];
    govern(&mut net, "second-customs", register_party("customs-2", &[pb::PartyRole::Customs], &[]));
    net.ok("customs", step(CUSTOMS_DECLARING, &item));
    assert_eq!(net.item(&g, "S1").expect("item").state.expect("state").customs_party, "customs");
    for s in [CUSTOMS_SEIZING, CUSTOMS_CLEARING] {
        assert_eq!(net.refused("customs-2", step(s, &item)), Reason::SeizureNotPermitted, "{s} by another customs");
    }
    assert!(!net.item(&g, "S1").expect("item").state.expect("state").seized);
    // Goods never declared: no customs party seizes them.
    assert_eq!(net.refused("customs-2", step(CUSTOMS_SEIZING, &[&epcs[1]])), Reason::SeizureNotPermitted);
    net.ok("customs", step(CUSTOMS_SEIZING, &item));
    assert!(net.item(&g, "S1").expect("item").state.expect("state").seized);
}

#[test]
fn a_seized_disposition_outside_customs_seizing_seizes_nothing() {
    let (mut net, g, epcs) = stocked(1);
    let item = [epcs[0].as_str()];
    // An inspector's inspection, or the holder's own storing, marked seized.
    for (party, step_name) in [("lab", "inspecting"), ("brand", "storing")] {
        let refused = net.refused(party, epcis(object_event(step_name, DISP_SEIZED, &item)));
        assert_eq!(refused, Reason::SeizureNotPermitted, "{step_name} by {party}");
    }
    assert!(!net.item(&g, "S1").expect("item").state.expect("state").seized);
    net.ok("brand", ship(&item, "shop", None));
}

#[test]
fn a_role_policy_cannot_hand_seizure_to_another_role() {
    let (mut net, g, epcs) = stocked(1);
    let item = [epcs[0].as_str()];
    let mut policy = default_policy();
    policy.rules.push(pb::PermissionRule {
        action: "epcis_event".into(),
        biz_step: CUSTOMS_SEIZING.into(),
        allowed_roles: vec![pb::PartyRole::BrandOwner as i32],
        ..Default::default()
    });
    govern(&mut net, "policy", Gov::UpdateRolePolicy(pb::UpdateRolePolicy { role_policy: Some(policy) }));
    // The brand holds the goods, but seizing is not a brand's to do.
    assert_eq!(net.refused("brand", step(CUSTOMS_SEIZING, &item)), Reason::SeizureNotPermitted);
    assert!(!net.item(&g, "S1").expect("item").state.expect("state").seized);
}

/// An event may name up to 100,000 identifiers and a pallet may hold as
/// many children; every replica runs the rules on its Raft loop, so
/// de-duplication, packing and unpacking must stay linear (a scan per
/// identifier, as before, took minutes here and tens of seconds in release).
#[test]
fn events_with_a_hundred_thousand_identifiers_apply_and_deduplicate() {
    let mut net = Network::new();
    let pallet = sscc(0);
    let cases: Vec<String> = (1..=50_000).map(sscc).collect();
    let refs: Vec<&str> = cases.iter().map(String::as_str).collect();
    net.ok("brand", pack(&pallet, &refs));
    let record: veritrace_ledger::state::records::ContainerRecord =
        net.state(&keys::container(&epc_key(&pallet))).expect("pallet recorded");
    assert_eq!(record.children.len(), 50_000);
    assert_eq!(record.children[7], epc_key(&cases[7]), "children keep the event's order");

    // Every case twice: 100,000 identifiers naming 50,000 objects.
    let twice: Vec<&str> = refs.iter().chain(refs.iter()).copied().collect();
    net.ok("brand", epcis(object_event("storing", "", &twice)));

    net.ok("brand", unpack(&pallet, &refs[..49_999]));
    let record: veritrace_ledger::state::records::ContainerRecord =
        net.state(&keys::container(&epc_key(&pallet))).expect("pallet recorded");
    assert_eq!(record.children, vec![epc_key(&cases[49_999])], "only the case not unpacked is left");
}

/// An event time no clock shows is refused, not a panic on every replica
/// (`seconds.abs()` overflowed for `i64::MIN` in debug builds).
#[test]
fn event_times_out_of_range_are_refused() {
    let (mut net, g, _) = stocked(1);
    for seconds in [i64::MIN, i64::MAX, 400_000_000_000, -400_000_000_000] {
        let mut e = object_event("storing", "", &[&sgtin(&g, "S1")]);
        e.event_time = Some(prost_types::Timestamp { seconds, nanos: 0 });
        assert_eq!(net.refused("brand", epcis(e)), Reason::InvalidAction, "{seconds}");
    }
}
