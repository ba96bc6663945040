//! The marketplace rules: supplier signals, IP complaints with
//! counter-notice, trade complaints, acknowledgements of consumer reports,
//! deadlines enforced at apply, and the attacks each rule is there for.

#![allow(clippy::unwrap_used)]

use veritrace_core::Reason;
use veritrace_core::gs1::Sgtin;
use veritrace_ledger::testing::*;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::governance_action::Action as Gov;
use veritrace_proto::v1::transaction::Action;

const DAY_MS: i64 = 24 * 3600 * 1000;

fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    Some(veritrace_proto::timestamp_from_ms(ms))
}

fn digest(label: &str) -> Vec<u8> {
    blake3::hash(label.as_bytes()).as_bytes().to_vec()
}

fn right(id: &str) -> Action {
    Action::RegisterIpRight(pb::RegisterIpRight {
        right_id: id.into(),
        kind: pb::IpRightKind::Trademark as i32,
        number: "TM-4711".into(),
        jurisdiction: "CN".into(),
        valid_from: ts(0),
        evidence_digests: vec![digest("certificate")],
        ..Default::default()
    })
}

fn ip_complaint(id: &str, accused: &str, items: &[(&str, &str)]) -> pb::FileIpComplaint {
    pb::FileIpComplaint {
        complaint_id: id.into(),
        right_id: "tm-1".into(),
        accused_party_id: accused.into(),
        items: items.iter().map(|(g, s)| pb::GtinSerial { gtin: (*g).into(), serial: (*s).into() }).collect(),
        text: "the logo copies our registered mark".into(),
        evidence_digests: vec![digest("photos")],
        ..Default::default()
    }
}

fn answer_ip(complainant: &str, id: &str, kind: pb::IpAnswerKind) -> Action {
    Action::AnswerIpComplaint(pb::AnswerIpComplaint {
        complainant_party_id: complainant.into(),
        complaint_id: id.into(),
        kind: kind as i32,
        text: "we hold a licence from the mark's owner".into(),
        evidence_digests: vec![digest("licence")],
    })
}

fn rule_ip(complainant: &str, id: &str, decision: pb::CaseDecision) -> Action {
    Action::RuleIpComplaint(pb::RuleIpComplaint {
        complainant_party_id: complainant.into(),
        complaint_id: id.into(),
        decision: decision as i32,
        reason: "the licence does not cover this product".into(),
    })
}

fn policy(p: pb::MarketplacePolicy) -> Gov {
    Gov::UpdateMarketplacePolicy(pb::UpdateMarketplacePolicy { marketplace_policy: Some(p) })
}

fn secs(s: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: s, nanos: 0 })
}

/// Two admins approve a governance action.
fn govern(net: &mut Network, id: &str, action: Gov) {
    net.ok("admin-a", propose(id, action));
    net.ok("admin-b", approve(id));
    assert_eq!(net.proposal(id).expect("proposal").status, pb::ProposalStatus::Executed as i32);
}

/// `brand` holds trademark tm-1, attested by the regulator; `brand-2` sells
/// look-alikes under its own GTIN, serials F1..F4.
fn infringer() -> (Network, String) {
    let (mut net, fake) = self_declared_infringer();
    net.ok(
        "regulator",
        Action::AttestIpRight(pb::AttestIpRight {
            holder_party_id: "brand".into(),
            right_id: "tm-1".into(),
            note: "registration TM-4711 checked".into(),
        }),
    );
    (net, fake)
}

/// As [`infringer`], the right only self-declared.
fn self_declared_infringer() -> (Network, String) {
    let mut net = Network::new();
    net.ok("brand", right("tm-1"));
    let fake = gtin_under(BRAND2_PREFIX, 7);
    net.ok("brand-2", register_product(&fake, "brand-2"));
    net.ok("brand-2", commission(&fake, "L1", &["F1", "F2", "F3", "F4"]));
    (net, fake)
}

fn item_state(net: &Network, gtin: &str, serial: &str) -> (pb::ItemState, i32) {
    let item = Sgtin::parse_any(&sgtin(gtin, serial)).expect("item");
    let r = net.ledger.item_report(&item, i64::MAX / 2).expect("report");
    (r.state, r.decommission_reason)
}

#[test]
fn a_counter_noticed_ip_complaint_upheld_by_the_platform_withdraws_the_items_and_counts_a_strike() {
    let (mut net, fake) = infringer();
    let filed =
        net.ok("brand", Action::FileIpComplaint(ip_complaint("ipc-1", "brand-2", &[(&fake, "F1"), (&fake, "F2")])));
    let case = net.ledger.ip_case("brand", "ipc-1").expect("read").expect("case");
    assert_eq!(case.status, pb::CaseStatus::AwaitingAnswer as i32);
    assert_eq!(case.right.as_ref().map(|r| r.attested_by.as_str()), Some("regulator"));

    // Only the accused answers; only a third party rules, and only once answered.
    assert_eq!(net.refused("shop", answer_ip("brand", "ipc-1", pb::IpAnswerKind::CounterNotice)), Reason::NotCaseParty);
    assert_eq!(net.refused("app", rule_ip("brand", "ipc-1", pb::CaseDecision::Uphold)), Reason::CaseNotOpen);
    net.ok("brand-2", answer_ip("brand", "ipc-1", pb::IpAnswerKind::CounterNotice));
    assert_eq!(net.refused("brand-2", answer_ip("brand", "ipc-1", pb::IpAnswerKind::Accept)), Reason::CaseNotOpen);
    assert_eq!(net.refused("shop", rule_ip("brand", "ipc-1", pb::CaseDecision::Uphold)), Reason::NotPermitted);
    assert_eq!(
        net.ledger.item_report(&Sgtin::parse_any(&sgtin(&fake, "F1")).unwrap(), 0).unwrap().state,
        pb::ItemState::Active
    );

    let ruling = net.ok("app", rule_ip("brand", "ipc-1", pb::CaseDecision::Uphold));
    assert_eq!(
        item_state(&net, &fake, "F1"),
        (pb::ItemState::Withdrawn, pb::DecommissionReason::IpInfringement as i32)
    );
    assert_eq!(item_state(&net, &fake, "F2").0, pb::ItemState::Withdrawn);
    assert_eq!(item_state(&net, &fake, "F3").0, pb::ItemState::Active, "not named, not withdrawn");
    let case = net.ledger.ip_case("brand", "ipc-1").unwrap().unwrap();
    assert_eq!(case.status, pb::CaseStatus::Upheld as i32);
    assert_eq!(case.closed_by, pb::ClosedBy::Party as i32);
    assert_eq!(case.items_withdrawn, 2);
    let steps: Vec<(&str, u64)> = case.steps.iter().map(|s| (s.step.as_str(), s.leaf_index)).collect();
    assert_eq!(steps.first(), Some(&("filed", filed.leaf_index.unwrap())));
    assert_eq!(steps.last(), Some(&("upheld", ruling.leaf_index.unwrap())));
    // The ruling is in the items' histories.
    let history = net.ledger.leaves_by_item(&epc_key(&sgtin(&fake, "F1")), None, 50).unwrap();
    assert!(history.contains(&ruling.leaf_index.unwrap()) && history.contains(&filed.leaf_index.unwrap()));

    let profile = net.ledger.supplier_profile("brand-2").unwrap().unwrap();
    assert_eq!(profile.ip_strikes, 1);
    let ip = profile.complaints.iter().find(|c| c.kind == "ip").expect("ip counts");
    assert_eq!((ip.filed, ip.open, ip.upheld, ip.rejected), (1, 0, 1, 0));
    assert_eq!(ip.leaves, vec![filed.leaf_index.unwrap()]);
    assert_eq!(net.replay().applied(), net.ledger.applied(), "a replay reaches the same state");
}

#[test]
fn an_ip_complaint_can_only_name_what_the_accused_makes_or_holds() {
    let (mut net, fake) = infringer();
    let genuine = gtin(1);
    net.ok("brand-2", register_product(&gtin_under(BRAND2_PREFIX, 8), "brand-2"));
    net.ok("brand", register_product(&genuine, "brand"));
    net.ok("brand", commission(&genuine, "L1", &["G1"]));
    // A rival cannot reach a third party's genuine items by accusing someone else.
    let mut c = ip_complaint("ipc-x", "brand-2", &[(&genuine, "G1")]);
    assert_eq!(net.refused("brand", Action::FileIpComplaint(c.clone())), Reason::InvalidAction);
    c.items.clear();
    c.gtins = vec![genuine.clone()];
    assert_eq!(net.refused("brand", Action::FileIpComplaint(c.clone())), Reason::InvalidAction);
    // Nor file under a right it does not hold, or without evidence.
    let mut c = ip_complaint("ipc-y", "brand-2", &[(&fake, "F1")]);
    c.right_id = "tm-other".into();
    assert_eq!(net.refused("brand", Action::FileIpComplaint(c.clone())), Reason::NotFound);
    c.right_id = "tm-1".into();
    c.evidence_digests.clear();
    assert_eq!(net.refused("brand", Action::FileIpComplaint(c.clone())), Reason::InvalidAction);
    assert_eq!(
        net.refused("shop", Action::FileIpComplaint(ip_complaint("s", "brand-2", &[(&fake, "F1")]))),
        Reason::NotPermitted
    );
    // Every refusal changed nothing.
    let before = net.stored_state();
    assert_eq!(
        net.refused("brand", Action::FileIpComplaint(ip_complaint("ipc-z", "brand", &[]))),
        Reason::InvalidAction
    );
    assert_eq!(net.stored_state(), before);
}

#[test]
fn a_counter_notice_after_the_deadline_is_refused_and_the_lapse_upholds() {
    let (mut net, fake) = infringer();
    let p = pb::MarketplacePolicy { ip_answer_window: secs(60), ..Default::default() };
    govern(&mut net, "mp-1", policy(p));
    net.ok("brand", Action::FileIpComplaint(ip_complaint("ipc-2", "brand-2", &[(&fake, "F3")])));
    net.advance(61_000);
    // The first batch after the deadline resolves the case before its envelopes run.
    let before = net.stored_state();
    let late = net.submit("brand-2", answer_ip("brand", "ipc-2", pb::IpAnswerKind::CounterNotice));
    assert_eq!(reason_of(&late), Some(Reason::DeadlinePassed));
    let case = net.ledger.ip_case("brand", "ipc-2").unwrap().unwrap();
    assert_eq!((case.status, case.closed_by), (pb::CaseStatus::Upheld as i32, pb::ClosedBy::Lapse as i32));
    assert_eq!(case.steps.last().map(|s| s.step.as_str()), Some("lapsed"));
    assert_ne!(net.stored_state(), before, "the lapse itself is applied");
    assert_eq!(
        item_state(&net, &fake, "F3"),
        (pb::ItemState::Withdrawn, pb::DecommissionReason::IpInfringement as i32)
    );
    assert_eq!(net.ledger.supplier_profile("brand-2").unwrap().unwrap().ip_strikes, 1);
    assert_eq!(net.replay().applied(), net.ledger.applied(), "a replay reaches the same state");
}

#[test]
fn an_unruled_counter_notice_lapses_as_the_policy_says_and_strikes_propose_a_suspension() {
    let (mut net, fake) = infringer();
    let p = pb::MarketplacePolicy {
        ip_decision_window: secs(30),
        strikes_for_suspension_proposal: 2,
        ..Default::default()
    };
    govern(&mut net, "mp-1", policy(p));
    net.ok("brand", Action::FileIpComplaint(ip_complaint("a", "brand-2", &[(&fake, "F1")])));
    net.ok("brand-2", answer_ip("brand", "a", pb::IpAnswerKind::CounterNotice));
    net.advance(31_000);
    net.ok("brand", Action::FileIpComplaint(ip_complaint("b", "brand-2", &[(&fake, "F2")])));
    let a = net.ledger.ip_case("brand", "a").unwrap().unwrap();
    assert_eq!((a.status, a.closed_by), (pb::CaseStatus::Rejected as i32, pb::ClosedBy::Lapse as i32));
    assert_eq!(item_state(&net, &fake, "F1").0, pb::ItemState::Active, "a rejected complaint withdraws nothing");
    assert_eq!(net.refused("app", rule_ip("brand", "a", pb::CaseDecision::Uphold)), Reason::DeadlinePassed);

    net.ok("brand-2", answer_ip("brand", "b", pb::IpAnswerKind::Accept));
    net.ok("brand", Action::FileIpComplaint(ip_complaint("c", "brand-2", &[(&fake, "F3")])));
    net.ok("brand-2", answer_ip("brand", "c", pb::IpAnswerKind::Accept));
    let profile = net.ledger.supplier_profile("brand-2").unwrap().unwrap();
    assert_eq!(profile.ip_strikes, 2);
    let proposal = net.proposal("ledger:strikes:brand-2:2").expect("the strike policy proposes a suspension");
    assert_eq!(proposal.status, pb::ProposalStatus::Open as i32);
    assert!(proposal.approver_party_ids.is_empty() && proposal.proposer_party_id.is_empty());
    // Admins decide as for any proposal.
    net.ok("admin-a", approve("ledger:strikes:brand-2:2"));
    net.ok("admin-b", approve("ledger:strikes:brand-2:2"));
    assert!(net.ledger.supplier_profile("brand-2").unwrap().unwrap().suspended);
    // A suspended party could not answer: no new case against it.
    let e = net.refused("brand", Action::FileIpComplaint(ip_complaint("e", "brand-2", &[(&fake, "F4")])));
    assert_eq!(e, Reason::PartySuspended);
}

#[test]
fn an_id_taken_first_does_not_stop_the_strike_policy() {
    let (mut net, fake) = infringer();
    govern(
        &mut net,
        "mp-1",
        policy(pb::MarketplacePolicy { strikes_for_suspension_proposal: 1, ..Default::default() }),
    );
    let squat = Gov::SuspendParty(pb::SuspendParty { party_id: "shop".into(), reason: "x".into() });
    net.ok("admin-a", propose("ledger:strikes:brand-2:1", squat));
    net.ok("brand", Action::FileIpComplaint(ip_complaint("a", "brand-2", &[(&fake, "F1")])));
    let accepted = net.ok("brand-2", answer_ip("brand", "a", pb::IpAnswerKind::Accept));
    let id = format!("ledger:strikes:brand-2:1@{}", accepted.commit_time_ms);
    let opened = net.proposal(&id).expect("opened under a fresh id");
    assert!(opened.proposer_party_id.is_empty() && opened.status == pb::ProposalStatus::Open as i32);
}

#[test]
fn an_unanswered_complaint_under_a_self_declared_right_goes_to_the_deciding_party() {
    let (mut net, fake) = self_declared_infringer();
    govern(&mut net, "mp-1", policy(pb::MarketplacePolicy { ip_answer_window: secs(10), ..Default::default() }));
    net.ok("brand", Action::FileIpComplaint(ip_complaint("a", "brand-2", &[(&fake, "F1")])));
    net.advance(11_000);
    assert_eq!(
        net.refused("brand-2", answer_ip("brand", "a", pb::IpAnswerKind::CounterNotice)),
        Reason::DeadlinePassed
    );
    let case = net.ledger.ip_case("brand", "a").unwrap().unwrap();
    assert_eq!(case.status, pb::CaseStatus::AwaitingRuling as i32, "no withdrawal, no strike unheard");
    assert_eq!(item_state(&net, &fake, "F1").0, pb::ItemState::Active);
    net.ok("app", rule_ip("brand", "a", pb::CaseDecision::Reject));
    assert_eq!(net.ledger.supplier_profile("brand-2").unwrap().unwrap().ip_strikes, 0);
    // Once an authority attests the right, silence is acceptance.
    net.ok(
        "regulator",
        Action::AttestIpRight(pb::AttestIpRight {
            holder_party_id: "brand".into(),
            right_id: "tm-1".into(),
            note: "registration TM-4711 checked".into(),
        }),
    );
    assert_eq!(
        net.refused(
            "brand",
            Action::AttestIpRight(pb::AttestIpRight {
                holder_party_id: "brand".into(),
                right_id: "tm-1".into(),
                note: String::new(),
            })
        ),
        Reason::NotPermitted
    );
    net.ok("brand", Action::FileIpComplaint(ip_complaint("b", "brand-2", &[(&fake, "F2")])));
    net.advance(11_000);
    net.ok(
        "admin-a",
        propose("noop", Gov::SuspendParty(pb::SuspendParty { party_id: "carrier".into(), reason: "t".into() })),
    );
    let case = net.ledger.ip_case("brand", "b").unwrap().unwrap();
    assert_eq!((case.status, case.closed_by), (pb::CaseStatus::Upheld as i32, pb::ClosedBy::Lapse as i32));
    assert_eq!(item_state(&net, &fake, "F2").0, pb::ItemState::Withdrawn);
}

fn trade(id: &str, kind: pb::TradeComplaintKind) -> pb::FileTradeComplaint {
    pb::FileTradeComplaint {
        complaint_id: id.into(),
        seller_party_id: "brand".into(),
        order: "urn:epcglobal:cbv:bt:0614141000005:PO-4711".into(),
        kind: kind as i32,
        text: "see the order".into(),
        ..Default::default()
    }
}

fn answer_trade(id: &str, kind: pb::TradeAnswerKind) -> Action {
    Action::AnswerTradeComplaint(pb::AnswerTradeComplaint {
        buyer_party_id: "shop".into(),
        complaint_id: id.into(),
        kind: kind as i32,
        refund_reference: "PAY-99".into(),
        text: "we shipped the full quantity".into(),
        ..Default::default()
    })
}

fn reply(id: &str, kind: pb::TradeReplyKind) -> Action {
    Action::ReplyTradeComplaint(pb::ReplyTradeComplaint {
        complaint_id: id.into(),
        kind: kind as i32,
        text: "the platform should look at the photos".into(),
    })
}

/// `brand` ships S1 to `shop` under carrier tracking 1Z (never confirmed)
/// and S2 under 2Z, which the carrier confirms.
fn shipped() -> Network {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    net.ok("brand", commission(&g, "L1", &["S1", "S2"]));
    net.ok("brand", ship(&[&sgtin(&g, "S1")], "shop", Some(("carrier", "1Z"))));
    net.ok("brand", ship(&[&sgtin(&g, "S2")], "shop", Some(("carrier", "2Z"))));
    let mut pickup = object_event("departing", "", &[&sgtin(&g, "S2")]);
    pickup.biz_transaction_list.push(tracking("carrier", "2Z"));
    net.ok("carrier", epcis(pickup));
    net
}

#[test]
fn a_false_delivery_complaint_resolved_by_refund() {
    let mut net = shipped();
    let tracking = |n: &str| format!("urn:veritrace:tracking:carrier:{n}");
    let mut c = trade("t-1", pb::TradeComplaintKind::FalseDelivery);
    c.tracking = tracking("2Z");
    assert_eq!(net.refused("shop", Action::FileTradeComplaint(c.clone())), Reason::TrackingConfirmed);
    c.tracking = tracking("9Z");
    assert_eq!(net.refused("shop", Action::FileTradeComplaint(c.clone())), Reason::NotFound);
    c.tracking = tracking("1Z");
    net.ok("shop", Action::FileTradeComplaint(c));
    assert_eq!(net.refused("shop", answer_trade("t-1", pb::TradeAnswerKind::Refund)), Reason::NotCaseParty);
    net.ok("brand", answer_trade("t-1", pb::TradeAnswerKind::Refund));
    net.ok("shop", reply("t-1", pb::TradeReplyKind::Accept));
    let case = net.ledger.trade_case("shop", "t-1").unwrap().unwrap();
    assert_eq!((case.status, case.closed_by), (pb::CaseStatus::Resolved as i32, pb::ClosedBy::Party as i32));
    assert_eq!(case.answer.as_ref().map(|a| a.refund_reference.as_str()), Some("PAY-99"));
    let profile = net.ledger.supplier_profile("brand").unwrap().unwrap();
    let fd = profile.complaints.iter().find(|c| c.kind == "FALSE_DELIVERY").expect("counted");
    assert_eq!((fd.filed, fd.open, fd.settled), (1, 0, 1));
    assert_eq!(profile.confirmed_deliveries, 1, "2Z was confirmed by its carrier");
}

#[test]
fn a_quantity_complaint_rejected_by_ruling() {
    let mut net = shipped();
    let mut c = trade("t-2", pb::TradeComplaintKind::QuantityShort);
    (c.quantity_ordered, c.quantity_received) = (100, 100);
    assert_eq!(net.refused("shop", Action::FileTradeComplaint(c.clone())), Reason::InvalidAction);
    c.quantity_received = 80;
    net.ok("shop", Action::FileTradeComplaint(c));
    net.ok("brand", answer_trade("t-2", pb::TradeAnswerKind::Dispute));
    net.ok("shop", reply("t-2", pb::TradeReplyKind::Escalate));
    let rule = |decision: pb::CaseDecision| {
        Action::RuleTradeComplaint(pb::RuleTradeComplaint {
            buyer_party_id: "shop".into(),
            complaint_id: "t-2".into(),
            decision: decision as i32,
            reason: "the carrier's weight matches 100 units".into(),
            remedy: String::new(),
        })
    };
    assert_eq!(net.refused("brand", rule(pb::CaseDecision::Reject)), Reason::NotPermitted);
    net.ok("app", rule(pb::CaseDecision::Reject));
    let case = net.ledger.trade_case("shop", "t-2").unwrap().unwrap();
    assert_eq!(case.status, pb::CaseStatus::Rejected as i32);
    let steps: Vec<&str> = case.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, ["filed", "dispute", "escalate", "rejected"]);
    let counts = net.ledger.supplier_profile("brand").unwrap().unwrap();
    let q = counts.complaints.iter().find(|c| c.kind == "QUANTITY_SHORT").unwrap();
    assert_eq!((q.filed, q.rejected, q.upheld), (1, 1, 0));
    let (cases, next) = net.ledger.list_cases("shop", false, 0, 10).unwrap();
    assert_eq!(next, None);
    assert!(
        matches!(&cases[..], [pb::CaseEntry { case: Some(pb::case_entry::Case::TradeCase(t)) }] if t.name == "parties/shop/tradeCases/t-2")
    );
    assert!(net.ledger.list_cases("brand", true, 0, 10).unwrap().0.is_empty(), "closed cases are not open");
}

#[test]
fn an_unanswered_trade_complaint_is_upheld_at_the_deadline() {
    let mut net = shipped();
    let p = pb::MarketplacePolicy { trade_answer_window: secs(10), ..Default::default() };
    govern(&mut net, "mp-1", policy(p));
    net.ok("shop", Action::FileTradeComplaint(trade("t-3", pb::TradeComplaintKind::NotShipped)));
    net.advance(11_000);
    assert_eq!(net.refused("brand", answer_trade("t-3", pb::TradeAnswerKind::Refund)), Reason::DeadlinePassed);
    let case = net.ledger.trade_case("shop", "t-3").unwrap().unwrap();
    assert_eq!((case.status, case.closed_by), (pb::CaseStatus::Upheld as i32, pb::ClosedBy::Lapse as i32));
}

#[test]
fn supplier_signals_come_from_the_roles_trusted_for_them_with_their_leaves() {
    let mut net = Network::new();
    let now = BASE_TIME_MS;
    let licence = pb::BusinessLicence {
        licence_id: "lic-1".into(),
        subject_party_id: "maker".into(),
        licence_number: "91310000MA1FL0000X".into(),
        registered_capital: Some(pb::Money { amount: "5000000".into(), currency: "CNY".into() }),
        business_scope: "footwear manufacturing".into(),
        valid_from: ts(now - 1000 * DAY_MS),
        valid_until: ts(now + 1000 * DAY_MS),
        ..Default::default()
    };
    assert_eq!(net.refused("lab", Action::BusinessLicence(licence.clone())), Reason::NotPermitted);
    assert_eq!(
        net.refused("maker", Action::BusinessLicence(licence.clone())),
        Reason::NotPermitted,
        "no self-attesting"
    );
    let lic_leaf = net.ok("regulator", Action::BusinessLicence(licence.clone())).leaf_index.unwrap();
    assert_eq!(net.refused("regulator", Action::BusinessLicence(licence)), Reason::AlreadyExists);
    let audit = pb::FactoryAudit {
        audit_id: "aud-1".into(),
        subject_party_id: "maker".into(),
        site_address: "Jinjiang, Fujian".into(),
        claimed: Some(pb::SiteFigures { staff_count: 500, floor_area_m2: 20000, production_lines: 8 }),
        attested: Some(pb::SiteFigures { staff_count: 320, floor_area_m2: 15000, production_lines: 6 }),
        passed: true,
        audited_at: ts(now - 10 * DAY_MS),
        ..Default::default()
    };
    let audit_leaf = net.ok("lab", Action::FactoryAudit(audit)).leaf_index.unwrap();
    let bond = pb::DeliveryBond {
        bond_id: "bond-1".into(),
        subject_party_id: "maker".into(),
        amount: Some(pb::Money { amount: "12.345".into(), currency: "CNY".into() }),
        valid_from: ts(now),
        ..Default::default()
    };
    assert_eq!(net.refused("app", Action::DeliveryBond(bond.clone())), Reason::InvalidAction, "3 decimals");
    let mut bond = bond;
    bond.amount = Some(pb::Money { amount: "200000".into(), currency: "CNY".into() });
    let bond_leaf = net.ok("app", Action::DeliveryBond(bond)).leaf_index.unwrap();
    govern(
        &mut net,
        "bl-1",
        Gov::BlacklistParty(pb::BlacklistParty { party_id: "maker".into(), listed: true, reason: "fraud".into() }),
    );

    let p = net.ledger.supplier_profile("maker").unwrap().unwrap();
    assert_eq!(p.licences.len(), 1);
    assert!(p.licences[0].valid && !p.licences[0].expired);
    assert_eq!(
        p.licences[0].source.as_ref().map(|s| (s.leaf_index, s.signer_party_id.as_str())),
        Some((lic_leaf, "regulator"))
    );
    assert_eq!(p.audits[0].source.as_ref().unwrap().leaf_index, audit_leaf);
    let a = p.audits[0].audit.as_ref().unwrap();
    assert_eq!((a.claimed.unwrap().staff_count, a.attested.unwrap().staff_count), (500, 320));
    assert_eq!(p.bonds[0].source.as_ref().unwrap().leaf_index, bond_leaf);
    let bl = p.blacklist.expect("blacklisted");
    assert!(bl.listed && bl.reason == "fraud" && bl.leaf_index > bond_leaf);
    assert!(!p.suspended, "a blacklisted party is not suspended");
    assert_eq!(net.ledger.supplier_profile("nobody").unwrap(), None);
    // A certificate about the party, then revoked by its signer.
    let mut cert = attestation("iso-1", &gtin(1));
    cert.subject_gtins.clear();
    cert.subject_party_id = "maker".into();
    cert.scheme = pb::CertificationScheme::ManagementSystem as i32;
    cert.scheme_detail = "ISO 9001:2015".into();
    let cert_leaf = net.ok("lab", Action::Attestation(cert)).leaf_index.unwrap();
    let shown = net.ledger.supplier_profile("maker").unwrap().unwrap().certificates;
    assert_eq!(shown.len(), 1);
    assert!(shown[0].valid && !shown[0].revoked && shown[0].source.as_ref().unwrap().leaf_index == cert_leaf);
    let revoke = pb::RevokeAttestation { attestation_id: "iso-1".into(), reason: "site closed".into() };
    net.ok("lab", Action::RevokeAttestation(revoke));
    let shown = net.ledger.supplier_profile("maker").unwrap().unwrap().certificates;
    assert!(!shown[0].valid && shown[0].revoked, "{shown:?}");
}

#[test]
fn a_consumer_report_reaches_the_brand_which_must_acknowledge_it() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    net.ok("brand", commission(&g, "L1", &["S1"]));
    let complaint = Action::Complaint(pb::Complaint {
        complaint_id: "scan-1".into(),
        subject: Some(pb::complaint::Subject::Item(pb::GtinSerial { gtin: g.clone(), serial: "S1".into() })),
        category: pb::ComplaintCategory::SuspectedCounterfeit as i32,
        ..Default::default()
    });
    net.ok("app", complaint);
    let ack = |note: &str| {
        Action::AcknowledgeComplaint(pb::AcknowledgeComplaint {
            filer_party_id: "app".into(),
            complaint_id: "scan-1".into(),
            note: note.into(),
        })
    };
    let p = net.ledger.supplier_profile("brand").unwrap().unwrap();
    let reports = p.complaints.iter().find(|c| c.kind == "consumer_report").expect("routed to the brand");
    assert_eq!((reports.filed, reports.open), (1, 1));
    assert_eq!(p.overdue_acknowledgements, 0);
    net.advance(4 * DAY_MS);
    net.ok(
        "admin-a",
        propose("noop", Gov::SuspendParty(pb::SuspendParty { party_id: "shop".into(), reason: "t".into() })),
    );
    assert_eq!(net.ledger.supplier_profile("brand").unwrap().unwrap().overdue_acknowledgements, 1, "past 3 days");
    assert_eq!(net.refused("brand-2", ack("not ours")), Reason::NotCaseParty);
    net.ok("brand", ack("investigating, sample requested"));
    assert_eq!(net.refused("brand", ack("again")), Reason::AlreadyExists);
    let p = net.ledger.supplier_profile("brand").unwrap().unwrap();
    let reports = p.complaints.iter().find(|c| c.kind == "consumer_report").unwrap();
    assert_eq!((reports.filed, reports.open, reports.settled), (1, 0, 1));
    assert_eq!((p.overdue_acknowledgements, p.late_acknowledgements), (0, 1), "acknowledged after 4 days: late");
}

#[test]
fn a_policy_with_impossible_windows_or_a_rule_for_case_parties_is_refused() {
    let mut net = Network::new();
    let long = pb::MarketplacePolicy { trade_reply_window: secs(400 * 24 * 3600), ..Default::default() };
    assert_eq!(net.refused("admin-a", propose("p1", policy(long))), Reason::InvalidAction);
    let zero = pb::MarketplacePolicy {
        ip_answer_window: Some(prost_types::Duration { seconds: 0, nanos: 1 }),
        ..Default::default()
    };
    assert_eq!(net.refused("admin-a", propose("p2", policy(zero))), Reason::InvalidAction);
    let mut roles = veritrace_ledger::default_policy();
    roles.rules.push(pb::PermissionRule {
        action: "answer_ip_complaint".into(),
        allowed_roles: vec![pb::PartyRole::Admin as i32],
        ..Default::default()
    });
    let update = Gov::UpdateRolePolicy(pb::UpdateRolePolicy { role_policy: Some(roles) });
    assert_eq!(net.refused("admin-a", propose("p3", update)), Reason::InvalidAction);
}

#[test]
fn a_store_from_before_the_marketplace_gets_its_derived_indexes_when_opened() {
    use veritrace_ledger::schema::{CF_META, CF_STATE};
    use veritrace_ledger::{Ledger, LedgerOptions};
    use veritrace_storage::{KvEngine as _, WriteBatch, WriteOptions};

    let mut net = shipped();
    net.ok(
        "app",
        Action::Complaint(pb::Complaint {
            complaint_id: "report-1".into(),
            subject: Some(pb::complaint::Subject::Gtin(gtin(1))),
            category: pb::ComplaintCategory::QualityDefect as i32,
            ..Default::default()
        }),
    );
    let before = net.ledger.supplier_profile("brand").unwrap().unwrap();
    assert_eq!(before.confirmed_deliveries, 1);
    assert!(before.complaints.iter().any(|c| c.kind == "consumer_report" && c.filed == 1));
    // Make it look like a 0.5 store: no derived keys, no marker.
    let engine = net.ledger.engine().deep_clone();
    let mut batch = WriteBatch::new();
    let derived: Vec<Vec<u8>> = engine
        .scan(CF_STATE, &[], None)
        .unwrap()
        .map(|kv| kv.unwrap().0.to_vec())
        .filter(|k| k.starts_with(b"delivered/") || k.starts_with(b"brand-complaint/"))
        .collect();
    assert_eq!(derived.len(), 2, "one delivery, one complaint routed");
    for k in derived {
        batch.delete(CF_STATE, k);
    }
    batch.delete(CF_META, b"derived_indexes".to_vec());
    engine.write(batch, WriteOptions::SYNC).unwrap();

    let reopened = Ledger::open(engine, LedgerOptions::default()).expect("an older store opens");
    assert_eq!(reopened.supplier_profile("brand").unwrap().unwrap(), before);
    assert_eq!(reopened.engine().get(CF_META, b"derived_indexes").unwrap(), Some(vec![1]));
}

#[test]
fn a_burst_of_cases_lapsing_together_is_resolved_a_bounded_number_per_batch() {
    let mut net = shipped();
    let p = pb::MarketplacePolicy { trade_answer_window: secs(10), ..Default::default() };
    govern(&mut net, "mp-1", policy(p));
    let n = veritrace_ledger::MAX_LAPSES_PER_BATCH + 6;
    let filing = |i: usize| {
        let mut c = trade(&format!("t-{i}"), pb::TradeComplaintKind::NotShipped);
        c.order = format!("urn:epcglobal:cbv:bt:0614141000005:PO-{i}");
        Action::FileTradeComplaint(c)
    };
    let filings: Vec<Vec<u8>> = (0..n).map(|i| net.sign("shop", filing(i))).collect();
    net.apply(filings);
    net.advance(11_000);
    let open = |net: &Network| net.ledger.list_cases("brand", true, 0, 1000).unwrap().0.len();
    assert_eq!(open(&net), n);
    // The first batch after the deadline resolves the first 64; a late
    // answer to one still waiting is refused all the same.
    assert_eq!(
        net.refused("brand", answer_trade(&format!("t-{}", n - 1), pb::TradeAnswerKind::Refund)),
        Reason::DeadlinePassed
    );
    assert_eq!(open(&net), n - veritrace_ledger::MAX_LAPSES_PER_BATCH);
    net.ok(
        "admin-a",
        propose("noop", Gov::SuspendParty(pb::SuspendParty { party_id: "carrier".into(), reason: "t".into() })),
    );
    assert_eq!(open(&net), 0);
    let last = net.ledger.trade_case("shop", &format!("t-{}", n - 1)).unwrap().unwrap();
    assert_eq!((last.status, last.closed_by), (pb::CaseStatus::Upheld as i32, pb::ClosedBy::Lapse as i32));
    assert_eq!(net.replay().applied(), net.ledger.applied());
}

#[test]
fn a_counterfeit_complaint_shows_the_verdicts_it_cites_and_an_order_takes_one_complaint() {
    let mut net = shipped();
    let g = gtin(1);
    let place = pb::Place { country: "CN".into(), city: "Shenzhen".into(), ..Default::default() };
    let scan = net.verify_matched("admin-a", &g, "S2", "req-0000000000000001", None, place, None);
    let scan_id = scan.envelope_id.expect("id").as_bytes().to_vec();
    let recorded = net.ledger.item_report(&Sgtin::parse_any(&sgtin(&g, "S2")).unwrap(), i64::MAX / 2).unwrap();
    let mut c = trade("c-1", pb::TradeComplaintKind::Counterfeit);
    assert_eq!(
        net.refused("shop", Action::FileTradeComplaint(c.clone())),
        Reason::InvalidAction,
        "cite a verification"
    );
    c.scan_envelope_ids = vec![scan_id.clone(), digest("no such envelope")];
    net.ok("shop", Action::FileTradeComplaint(c));
    let case = net.ledger.trade_case("shop", "c-1").unwrap().unwrap();
    assert_eq!(case.cited_scans.len(), 2);
    let cited = &case.cited_scans[0];
    assert!(cited.found && cited.leaf_index == scan.leaf_index.unwrap());
    assert_eq!(cited.item.as_ref().map(|i| i.serial.as_str()), Some("S2"));
    assert_ne!(cited.verdict, 0);
    assert!(recorded.scan_stats.is_some());
    assert!(!case.cited_scans[1].found, "an id of nothing is shown as not found");
    // The same order again, under another id: refused.
    let mut again = trade("c-2", pb::TradeComplaintKind::QuantityShort);
    (again.quantity_ordered, again.quantity_received) = (10, 5);
    assert_eq!(net.refused("shop", Action::FileTradeComplaint(again)), Reason::AlreadyExists);
    // Verifications are cited by counterfeit complaints only.
    let mut other = trade("c-3", pb::TradeComplaintKind::Quality);
    other.order = "urn:epcglobal:cbv:bt:0614141000005:PO-9".into();
    other.scan_envelope_ids = vec![scan_id];
    assert_eq!(net.refused("shop", Action::FileTradeComplaint(other)), Reason::InvalidAction);
}

#[test]
fn a_confirmation_before_the_shipment_neither_confirms_it_nor_counts_as_a_delivery() {
    let mut net = shipped();
    let g = gtin(1);
    net.ok("brand", commission(&g, "L1", &["S3"]));
    // The carrier names tracking 3Z on another shipment's pickup, before
    // the brand ships anything under it.
    let mut pickup = object_event("loading", "", &[&sgtin(&g, "S2")]);
    pickup.biz_transaction_list.push(tracking("carrier", "3Z"));
    net.ok("carrier", epcis(pickup));
    net.ok("brand", ship(&[&sgtin(&g, "S3")], "shop", Some(("carrier", "3Z"))));
    let mut c = trade("fd-3", pb::TradeComplaintKind::FalseDelivery);
    c.tracking = "urn:veritrace:tracking:carrier:3Z".into();
    net.ok("shop", Action::FileTradeComplaint(c));
    assert_eq!(net.ledger.supplier_profile("brand").unwrap().unwrap().confirmed_deliveries, 1, "only 2Z");
}
