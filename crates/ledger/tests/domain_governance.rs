//! Governance: k-of-n proposals, suspensions, key revocation, role policy.

use veritrace_core::Reason;
use veritrace_ledger::default_policy;
use veritrace_ledger::testing::*;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::governance_action::Action as Gov;

fn status(net: &Network, proposal: &str) -> pb::ProposalStatus {
    let p = net.proposal(proposal).expect("proposal stored");
    pb::ProposalStatus::try_from(p.status).expect("known status")
}

fn party_status(net: &Network, id: &str) -> pb::PartyStatus {
    let p = net.ledger.party(id).expect("read").expect("party exists");
    pb::PartyStatus::try_from(p.status).expect("known status")
}

#[test]
fn a_proposal_executes_only_at_the_threshold_approval() {
    let mut net = Network::new();
    let newco = register_party("newco", &[pb::PartyRole::BrandOwner], &["0799999"]);
    net.ok("admin-a", propose("p-newco", newco));
    assert_eq!(status(&net, "p-newco"), pb::ProposalStatus::Open);
    assert_eq!(net.ledger.party("newco").expect("read"), None, "one approval of two does not execute");
    assert_eq!(net.refused("newco", register_product(&gtin_under("0799999", 1), "newco")), Reason::UnknownParty);

    net.ok("admin-b", approve("p-newco"));
    assert_eq!(status(&net, "p-newco"), pb::ProposalStatus::Executed);
    let p = net.ledger.party("newco").expect("read").expect("registered");
    assert_eq!(p.status, pb::PartyStatus::Active as i32);
    assert!(p.joined_at.is_some());
    assert_eq!(p.signing_keys[0].status, pb::KeyStatus::Active as i32);
    assert!(p.signing_keys[0].added_at.is_some());
    // The new party can sign at once, within the rights of its role.
    net.ok("newco", register_product(&gtin_under("0799999", 1), "newco"));

    // A late third approval finds the proposal closed.
    assert_eq!(net.refused("admin-c", approve("p-newco")), Reason::ProposalNotOpen);
}

#[test]
fn one_party_approves_once() {
    let mut net = Network::new();
    net.ok("admin-a", propose("p1", suspend("shop")));
    assert_eq!(net.refused("admin-a", approve("p1")), Reason::AlreadyApproved);
    assert_eq!(status(&net, "p1"), pb::ProposalStatus::Open);
    assert_eq!(party_status(&net, "shop"), pb::PartyStatus::Active);
    // Proposal ids are unique; approving an unknown one is NOT_FOUND.
    assert_eq!(net.refused("admin-b", propose("p1", suspend("lab"))), Reason::AlreadyExists);
    assert_eq!(net.refused("admin-b", approve("nope")), Reason::NotFound);
}

#[test]
fn only_admins_propose_and_approve() {
    let mut net = Network::new();
    assert_eq!(net.refused("brand", propose("p1", suspend("brand-2"))), Reason::NotPermitted);
    net.ok("admin-a", propose("p2", suspend("brand-2")));
    assert_eq!(net.refused("regulator", approve("p2")), Reason::NotPermitted);
    assert_eq!(party_status(&net, "brand-2"), pb::PartyStatus::Active);
}

#[test]
fn a_suspended_party_is_refused_until_reinstated() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    let r = govern(&mut net, "susp", suspend("brand"));
    assert_eq!(r.outcome, veritrace_ledger::Outcome::Applied);
    assert_eq!(party_status(&net, "brand"), pb::PartyStatus::Suspended);
    assert_eq!(net.refused("brand", commission(&g, "", &["S1"])), Reason::PartySuspended);
    // Suspending twice fails at execution: the proposal closes as FAILED.
    govern(&mut net, "susp-again", suspend("brand"));
    assert_eq!(status(&net, "susp-again"), pb::ProposalStatus::Failed);

    govern(&mut net, "back", reinstate("brand"));
    assert_eq!(party_status(&net, "brand"), pb::PartyStatus::Active);
    net.ok("brand", commission(&g, "", &["S1"]));
    // Reinstating an active party fails.
    govern(&mut net, "back-again", reinstate("brand"));
    assert_eq!(status(&net, "back-again"), pb::ProposalStatus::Failed);
}

#[test]
fn suspending_admins_below_the_threshold_fails_and_changes_nothing() {
    let mut net = Network::new();
    // Three admins, threshold 2: one may go.
    govern(&mut net, "drop-c", suspend("admin-c"));
    assert_eq!(status(&net, "drop-c"), pb::ProposalStatus::Executed);
    assert_eq!(party_status(&net, "admin-c"), pb::PartyStatus::Suspended);

    // A second would leave one admin: the approval is recorded, the
    // proposal fails, admin-b stays active and can still approve.
    let r = govern(&mut net, "drop-b", suspend("admin-b"));
    assert_eq!(r.outcome, veritrace_ledger::Outcome::Applied, "the approval itself is recorded");
    let p = net.proposal("drop-b").expect("stored");
    assert_eq!(p.status, pb::ProposalStatus::Failed as i32);
    assert!(p.failure_reason.starts_with("GOVERNANCE_QUORUM_AT_RISK"), "{}", p.failure_reason);
    assert_eq!(party_status(&net, "admin-b"), pb::PartyStatus::Active);
    govern(&mut net, "c-back", reinstate("admin-c"));
    assert_eq!(party_status(&net, "admin-c"), pb::PartyStatus::Active);

    // The suspended admin's approval does not count towards the quorum.
    govern(&mut net, "drop-c2", suspend("admin-c"));
    net.ok("admin-b", propose("newco", register_party("newco", &[pb::PartyRole::Retailer], &[])));
    assert_eq!(net.refused("admin-c", approve("newco")), Reason::PartySuspended);
    assert_eq!(status(&net, "newco"), pb::ProposalStatus::Open);
}

#[test]
fn raising_the_threshold_above_the_admins_fails() {
    let mut net = Network::new();
    let rule = |t| {
        Gov::UpdateGovernanceRule(pb::UpdateGovernanceRule {
            governance: Some(pb::GovernanceRule { threshold: t, proposal_ttl: None }),
        })
    };
    govern(&mut net, "t4", rule(4));
    assert_eq!(status(&net, "t4"), pb::ProposalStatus::Failed);
    govern(&mut net, "t3", rule(3));
    assert_eq!(status(&net, "t3"), pb::ProposalStatus::Executed);
    // Now two approvals are not enough.
    govern(&mut net, "susp", suspend("shop"));
    assert_eq!(status(&net, "susp"), pb::ProposalStatus::Open);
    net.ok("admin-c", approve("susp"));
    assert_eq!(party_status(&net, "shop"), pb::PartyStatus::Suspended);
}

#[test]
fn revoked_keys_stop_signing_and_the_last_key_stays() {
    let mut net = Network::new();
    let old = party_key("carrier");
    let new = spare_key("carrier");
    // Adding a key needs governance.
    let add = Gov::UpdateParty(pb::UpdateParty {
        party_id: "carrier".into(),
        add_keys: vec![pb::SigningKey { public_key: new.public().to_bytes().to_vec(), ..Default::default() }],
        ..Default::default()
    });
    govern(&mut net, "rotate", add);
    assert_eq!(status(&net, "rotate"), pb::ProposalStatus::Executed);

    // Both keys sign; the old one revokes itself.
    net.use_key("carrier", new.clone());
    net.ok("carrier", observe_action());
    net.use_key("carrier", old.clone());
    net.ok("carrier", revoke_key(&old));
    assert_eq!(net.refused("carrier", observe_action()), Reason::KeyNotAuthorized);
    let p = net.ledger.party("carrier").expect("read").expect("party");
    let k = p.signing_keys.iter().find(|k| k.public_key == old.public().to_bytes()).expect("old key kept");
    assert_eq!(k.status, pb::KeyStatus::Revoked as i32);
    assert!(k.revoked_at.is_some());

    net.use_key("carrier", new.clone());
    net.ok("carrier", observe_action());
    assert_eq!(net.refused("carrier", revoke_key(&new)), Reason::LastActiveKey);
    assert_eq!(net.refused("carrier", revoke_key(&old)), Reason::InvalidAction, "already revoked");
    assert_eq!(net.refused("carrier", revoke_key(&party_key("shop"))), Reason::NotFound, "another party's key");
    net.ok("carrier", observe_action());
}

/// An event a LOGISTICS party may sign: `transporting` an untracked asset
/// (its truck).
fn observe_action() -> veritrace_proto::v1::transaction::Action {
    step("transporting", &["urn:epc:id:giai:0614141.TRUCK1"])
}

#[test]
fn an_expired_proposal_cannot_be_approved() {
    let mut net = Network::new();
    net.ok("admin-a", propose("late", suspend("shop")));
    net.advance(PROPOSAL_TTL_SECS * 1000 + 1);
    assert_eq!(net.refused("admin-b", approve("late")), Reason::ProposalNotOpen);
    assert_eq!(party_status(&net, "shop"), pb::PartyStatus::Active);
}

#[test]
fn a_proposal_approved_within_its_ttl_executes() {
    let mut net = Network::new();
    net.ok("admin-a", propose("timely", suspend("shop")));
    net.advance(PROPOSAL_TTL_SECS * 1000 - 5000);
    net.ok("admin-b", approve("timely"));
    assert_eq!(party_status(&net, "shop"), pb::PartyStatus::Suspended);
}

#[test]
fn update_role_policy_changes_what_is_allowed() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    let attest = || veritrace_proto::v1::transaction::Action::Attestation(attestation("a1", &gtin(1)));
    assert_eq!(net.refused("brand", attest()), Reason::NotPermitted);

    let mut policy = default_policy();
    policy.rules.push(pb::PermissionRule {
        action: "attestation".into(),
        allowed_roles: vec![pb::PartyRole::BrandOwner as i32],
        ..Default::default()
    });
    // Rules for the lab's attestations are removed.
    policy.rules.retain(|r| !(r.action == "attestation" && r.allowed_roles == [pb::PartyRole::Inspection as i32]));
    govern(&mut net, "policy", Gov::UpdateRolePolicy(pb::UpdateRolePolicy { role_policy: Some(policy) }));
    assert_eq!(status(&net, "policy"), pb::ProposalStatus::Executed);
    net.ok("brand", attest());
    assert_eq!(
        net.refused("lab", veritrace_proto::v1::transaction::Action::Attestation(attestation("a2", &g))),
        Reason::NotPermitted
    );

    // An empty policy would refuse everything: refused at proposal time.
    let empty = Gov::UpdateRolePolicy(pb::UpdateRolePolicy { role_policy: Some(pb::RolePolicy { rules: vec![] }) });
    assert_eq!(net.refused("admin-a", propose("empty", empty)), Reason::InvalidAction);
    // So is one that takes proposing or approving from the admins: no
    // later proposal could ever undo it.
    for action in ["propose_governance", "approve_governance"] {
        let mut locking = default_policy();
        locking.rules.retain(|r| r.action != action);
        let gov = Gov::UpdateRolePolicy(pb::UpdateRolePolicy { role_policy: Some(locking) });
        assert_eq!(net.refused("admin-a", propose(&format!("lock-{action}"), gov)), Reason::InvalidAction, "{action}");
    }
}

#[test]
fn change_validators_lets_an_operator_record_scans() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    net.ok("brand", commission(&g, "", &["S1"]));
    let here = || scan(&gtin(1), "S1", place("FR", "Paris", 48.86, 2.35));
    assert_eq!(net.refused("regulator", here()), Reason::NotPermitted);
    let assign = Gov::ChangeValidators(pb::ChangeValidators {
        assignments: vec![pb::ValidatorAssignment {
            party_id: "regulator".into(),
            peer_id: "12D3KooWRegulator".into(),
        }],
    });
    govern(&mut net, "val", assign);
    assert_eq!(net.ledger.party("regulator").expect("read").expect("p").validator_peer_id, "12D3KooWRegulator");
    net.ok("regulator", here());
    // A peer id belongs to one party.
    let steal = Gov::ChangeValidators(pb::ChangeValidators {
        assignments: vec![pb::ValidatorAssignment { party_id: "lab".into(), peer_id: "12D3KooWRegulator".into() }],
    });
    govern(&mut net, "steal", steal);
    assert_eq!(status(&net, "steal"), pb::ProposalStatus::Failed);
}

#[test]
fn a_removed_validator_peer_can_be_assigned_again() {
    let mut net = Network::new();
    let assign = |party: &str, peer: &str| {
        Gov::ChangeValidators(pb::ChangeValidators {
            assignments: vec![pb::ValidatorAssignment { party_id: party.into(), peer_id: peer.into() }],
        })
    };
    // admin-a hands its validator over to the lab: remove, then assign.
    govern(&mut net, "drop", assign("admin-a", ""));
    assert_eq!(status(&net, "drop"), pb::ProposalStatus::Executed);
    assert_eq!(net.ledger.party("admin-a").expect("read").expect("p").validator_peer_id, "");
    govern(&mut net, "hand-over", assign("lab", ADMIN_A_PEER));
    assert_eq!(status(&net, "hand-over"), pb::ProposalStatus::Executed);
    assert_eq!(net.ledger.party("lab").expect("read").expect("p").validator_peer_id, ADMIN_A_PEER);
}

#[test]
fn a_removed_party_gln_no_longer_names_the_party() {
    let mut net = Network::new();
    let g = gtin(1);
    net.ok("brand", register_product(&g, "brand"));
    net.ok("brand", commission(&g, "", &["S1"]));
    let gln = brand_gln();
    let update = |party: &str, add: &[&str], remove: &[&str]| {
        Gov::UpdateParty(pb::UpdateParty {
            party_id: party.into(),
            add_party_glns: add.iter().map(|s| s.to_string()).collect(),
            remove_party_glns: remove.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
    };
    // Another party cannot declare it while the brand holds it.
    govern(&mut net, "grab", update("shop", &[&gln], &[]));
    assert_eq!(status(&net, "grab"), pb::ProposalStatus::Failed);
    // The brand gives it up; the shop declares it.
    govern(&mut net, "release", update("brand", &[], &[&gln]));
    assert_eq!(status(&net, "release"), pb::ProposalStatus::Executed);
    assert!(net.ledger.party("brand").expect("read").expect("p").party_glns.is_empty());
    govern(&mut net, "take", update("shop", &[&gln], &[]));
    assert_eq!(status(&net, "take"), pb::ProposalStatus::Executed);
    // A shipment to the GLN is now addressed to the shop.
    let item = sgtin(&g, "S1");
    let mut e = object_event("shipping", "in_transit", &[&item]);
    e.destination_list.push(pb::Destination { r#type: "owning_party".into(), destination: pgln_uri(&gln) });
    net.ok("brand", epcis(e));
    assert_eq!(net.item(&g, "S1").expect("item").state.expect("state").ship_to, "shop");
}
