//! The role policy: which roles may sign which action.
//!
//! The policy in force is the last `UpdateRolePolicy` executed, else the
//! genesis's `role_policy`, else [`default_policy`] (the table documented
//! on `veritrace.v1.RolePolicy`). It denies by default: an action no rule
//! allows is refused with ROLE_NOT_PERMITTED.

use veritrace_core::Reason;
use veritrace_core::vocab::same_term;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;
use veritrace_storage::KvEngine;

use super::{ACTION_NAMES, CASE_PARTY_ACTIONS, Ctx, Rule, action_name, products, refuse, require};
use crate::schema::CF_STATE;
use crate::state::{StateView, keys};
use crate::{Genesis, LedgerError};
use pb::PartyRole as R;

fn rule(action: &str, biz_step: &str, roles: &[R], brand_authorized: &[R], validators: bool) -> pb::PermissionRule {
    pb::PermissionRule {
        action: action.into(),
        biz_step: biz_step.into(),
        allowed_roles: roles.iter().map(|r| *r as i32).collect(),
        brand_authorized_roles: brand_authorized.iter().map(|r| *r as i32).collect(),
        allow_validator_operators: validators,
    }
}

/// The default permission table (see `veritrace.v1.RolePolicy`).
pub fn default_policy() -> pb::RolePolicy {
    const BRAND: &[R] = &[R::BrandOwner];
    const MAKERS: &[R] = &[R::BrandOwner, R::Manufacturer];
    const TRADE: &[R] = &[R::BrandOwner, R::Manufacturer, R::Wholesaler, R::Retailer, R::Platform];
    const HANDLING: &[R] = &[R::BrandOwner, R::Manufacturer, R::Wholesaler, R::Retailer, R::Platform, R::Logistics];
    const SELLERS: &[R] = &[R::Retailer, R::Platform];
    let mut rules = vec![
        rule("register_product", "", BRAND, &[R::Manufacturer], false),
        rule("commission_items", "", BRAND, &[R::Manufacturer], false),
        rule("decommission_items", "", BRAND, &[R::Manufacturer], false),
        rule("authorize_manufacturer", "", BRAND, &[], false),
        rule("revoke_manufacturer_authorization", "", BRAND, &[], false),
        rule("attestation", "", &[R::Inspection], &[], false),
        rule("revoke_attestation", "", &[R::Inspection], &[], false),
        rule("recall", "", &[R::BrandOwner, R::Regulator], &[], false),
        rule("close_recall", "", &[R::BrandOwner, R::Regulator], &[], false),
        rule("consumer_scan", "", &[R::Platform], &[], true),
        rule("complaint", "", &[R::Platform, R::Retailer, R::Regulator], &[], true),
        rule("propose_governance", "", &[R::Admin], &[], false),
        rule("approve_governance", "", &[R::Admin], &[], false),
        rule("business_licence", "", &[R::Regulator], &[], false),
        rule("factory_audit", "", &[R::Inspection], &[], false),
        rule("delivery_bond", "", &[R::Platform], &[], false),
        rule("register_ip_right", "", BRAND, &[], false),
        rule("attest_ip_right", "", &[R::Regulator], &[], false),
        rule("file_ip_complaint", "", BRAND, &[], false),
        rule("rule_ip_complaint", "", &[R::Platform], &[], false),
        rule("file_trade_complaint", "", TRADE, &[], false),
        rule("rule_trade_complaint", "", &[R::Platform], &[], false),
        rule("epcis_event", "inspecting", &[R::Inspection], &[], false),
        rule("epcis_event", "", MAKERS, &[], false),
    ];
    for step in [
        veritrace_core::vocab::CUSTOMS_DECLARING,
        veritrace_core::vocab::CUSTOMS_CLEARING,
        veritrace_core::vocab::CUSTOMS_SEIZING,
    ] {
        rules.push(rule("epcis_event", step, &[R::Customs], &[], false));
    }
    for step in ["transporting", "departing", "arriving", "loading", "unloading"] {
        rules.push(rule("epcis_event", step, &[R::Logistics], &[], false));
    }
    for step in ["receiving", "shipping", "storing", "picking", "stocking", "accepting", "returning"] {
        rules.push(rule("epcis_event", step, TRADE, &[], false));
    }
    for step in ["packing", "unpacking", "staging_outbound"] {
        rules.push(rule("epcis_event", step, HANDLING, &[], false));
    }
    for step in ["retail_selling", "dispensing"] {
        rules.push(rule("epcis_event", step, SELLERS, &[], false));
    }
    pb::RolePolicy { rules }
}

/// Checks a policy before it is put in force: known actions, known roles.
pub(crate) fn validate(policy: &pb::RolePolicy) -> Result<(), String> {
    if policy.rules.is_empty() {
        return Err("role policy has no rules: every action would be refused".into());
    }
    for (i, r) in policy.rules.iter().enumerate() {
        if !ACTION_NAMES.contains(&r.action.as_str()) {
            return Err(format!("rule {i}: unknown action {:?}", r.action));
        }
        if CASE_PARTY_ACTIONS.contains(&r.action.as_str()) {
            return Err(format!("rule {i}: {} is a case party's own step and takes no rule", r.action));
        }
        if !r.biz_step.is_empty() && r.action != "epcis_event" {
            return Err(format!("rule {i}: biz_step is only meaningful for epcis_event"));
        }
        for role in r.allowed_roles.iter().chain(&r.brand_authorized_roles) {
            if *role == 0 || pb::PartyRole::try_from(*role).is_err() {
                return Err(format!("rule {i}: role {role} is unset or unknown"));
            }
        }
    }
    // Governance is how a policy is ever changed again: a policy that
    // takes proposing or approving from the admins would lock it for good.
    for action in ["propose_governance", "approve_governance"] {
        let admins_may = policy
            .rules
            .iter()
            .any(|r| r.action == action && r.biz_step.is_empty() && r.allowed_roles.contains(&(R::Admin as i32)));
        if !admins_may {
            return Err(format!("no rule lets ADMIN {action}: governance would be locked for good"));
        }
    }
    Ok(())
}

/// The policy in force as of `view`.
pub(crate) fn in_force<E: KvEngine>(view: &StateView<'_, E>, genesis: &Genesis) -> Result<pb::RolePolicy, LedgerError> {
    if let Some(p) = view.record::<pb::RolePolicy>(CF_STATE, keys::ROLE_POLICY, "role policy")? {
        return Ok(p);
    }
    Ok(genesis.proto().role_policy.clone().filter(|p| !p.rules.is_empty()).unwrap_or_else(default_policy))
}

/// GTINs an action is about, for rules that allow brand-authorised roles.
fn action_gtins(action: &Action) -> Vec<String> {
    match action {
        Action::RegisterProduct(a) => vec![a.gtin.clone()],
        Action::CommissionItems(a) => vec![a.gtin.clone()],
        Action::DecommissionItems(a) => a.items.iter().map(|s| s.gtin.clone()).collect(),
        _ => Vec::new(),
    }
}

/// Refuses the action unless a rule of the policy in force allows it.
pub(crate) fn check<E: KvEngine>(ctx: &Ctx<'_, E>, action: &Action) -> Rule {
    let name = action_name(action);
    if name == "revoke_signing_key" {
        return Ok(()); // One's own key, always: a leaked key must not wait for anyone.
    }
    if CASE_PARTY_ACTIONS.contains(&name) {
        // Due process: a party can always take its own step in a case
        // against it or about its product; the rule checks who it is.
        return Ok(());
    }
    if name == "code_attempt" {
        // A protocol step of the nodes that serve VerifyItem, never a
        // business permission to grant: its own rule decides who.
        return Ok(());
    }
    let policy = in_force(&ctx.view, ctx.genesis)?;
    let candidates: Vec<&pb::PermissionRule> = match action {
        Action::EpcisEvent(e) => {
            let exact: Vec<_> = policy
                .rules
                .iter()
                .filter(|r| r.action == name && !r.biz_step.is_empty() && same_term(&r.biz_step, &e.biz_step))
                .collect();
            if exact.is_empty() {
                policy.rules.iter().filter(|r| r.action == name && r.biz_step.is_empty()).collect()
            } else {
                exact
            }
        }
        _ => policy.rules.iter().filter(|r| r.action == name).collect(),
    };
    let roles = &ctx.signer.roles;
    let mut authorised_role_matched = false;
    for r in &candidates {
        if r.allowed_roles.iter().any(|role| roles.contains(role)) {
            return Ok(());
        }
        if r.allow_validator_operators && !ctx.signer.validator_peer_id.is_empty() {
            return Ok(());
        }
        if r.brand_authorized_roles.iter().any(|role| roles.contains(role)) {
            authorised_role_matched = true;
        }
    }
    if authorised_role_matched {
        let gtins = action_gtins(action);
        require(!gtins.is_empty(), || format!("{name} names no GTIN to check a brand authorization against"))?;
        for gtin in &gtins {
            if products::authorizing_brand(ctx, ctx.signer_id(), gtin)?.is_none() {
                return refuse(
                    Reason::ManufacturerNotAuthorized,
                    format!("no brand authorization in force lets {} act on GTIN {gtin}", ctx.signer_id()),
                );
            }
        }
        return Ok(());
    }
    let step = match action {
        Action::EpcisEvent(e) if !e.biz_step.is_empty() => format!(" with bizStep {:?}", e.biz_step),
        _ => String::new(),
    };
    let role_names: Vec<&str> =
        roles.iter().filter_map(|r| pb::PartyRole::try_from(*r).ok()).map(|r| r.as_str_name()).collect();
    refuse(
        Reason::NotPermitted,
        format!("the role policy does not allow {name}{step} for party {} (roles {:?})", ctx.signer_id(), role_names),
    )
}
