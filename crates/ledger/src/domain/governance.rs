//! Governance: k-of-n ADMIN proposals that admit, change and suspend
//! parties, change the validator allow-list and the policies; and a
//! party's revocation of its own key.
//!
//! A proposal takes effect at the approval that brings the number of
//! distinct approvers who are ACTIVE ADMINs at that point to the threshold.
//! It is then checked against the state at that point: a proposal that has
//! become invalid is closed as FAILED (the approval itself is recorded).

use veritrace_core::{PublicKey, Reason};
use veritrace_proto::timestamp_from_ms;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::governance_action::Action as Gov;
use veritrace_storage::KvEngine;

use super::validate::{self, MAX_TEXT};
use super::{Ctx, Fail, Rule, policy, refuse, require};
use crate::schema::CF_STATE;
use crate::state::records::SuspensionList;
use crate::state::{StateView, keys};
use crate::{Genesis, LedgerError};

/// Proposals stay open this long unless the rule says otherwise.
const DEFAULT_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// The governance rule in force as of `view`.
pub(crate) fn rule_in_force<E: KvEngine>(
    view: &StateView<'_, E>,
    genesis: &Genesis,
) -> Result<pb::GovernanceRule, LedgerError> {
    if let Some(r) = view.record::<pb::GovernanceRule>(CF_STATE, keys::GOVERNANCE_RULE, "governance rule")? {
        return Ok(r);
    }
    Ok(genesis.proto().governance.unwrap_or_default())
}

fn threshold(rule: &pb::GovernanceRule) -> usize {
    rule.threshold.max(1) as usize
}

fn ttl_ms(rule: &pb::GovernanceRule) -> i64 {
    rule.proposal_ttl.as_ref().map(|d| d.seconds.saturating_mul(1000)).filter(|ms| *ms > 0).unwrap_or(DEFAULT_TTL_MS)
}

fn is_active_admin(p: &pb::Party) -> bool {
    p.status == pb::PartyStatus::Active as i32 && p.roles.contains(&(pb::PartyRole::Admin as i32))
}

/// Every party record, in id order.
pub(crate) fn all_parties<E: KvEngine>(view: &StateView<'_, E>) -> Result<Vec<pb::Party>, LedgerError> {
    view.scan_prefix(CF_STATE, keys::PARTY_PREFIX)?
        .iter()
        .map(|(_, v)| crate::state::decode_record::<pb::Party>(v, "party"))
        .collect()
}

fn active_admins<E: KvEngine>(view: &StateView<'_, E>) -> Result<Vec<String>, LedgerError> {
    Ok(all_parties(view)?.into_iter().filter(is_active_admin).map(|p| p.party_id).collect())
}

pub(super) fn propose<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::ProposeGovernance) -> Rule {
    validate::client_id("proposal_id", &a.proposal_id)?;
    validate::text("rationale", &a.rationale, MAX_TEXT, false)?;
    let Some(action) = a.action.as_ref().and_then(|g| g.action.as_ref()) else {
        return refuse(Reason::InvalidAction, "action: the proposal proposes nothing");
    };
    check_shape(action)?;
    let key = keys::proposal(&a.proposal_id);
    if ctx.view.exists(CF_STATE, &key)? {
        return refuse(Reason::AlreadyExists, format!("proposal {} already exists", a.proposal_id));
    }
    let rule = rule_in_force(&ctx.view, ctx.genesis)?;
    let proposal = pb::GovernanceProposal {
        proposal_id: a.proposal_id.clone(),
        action: a.action.clone(),
        rationale: a.rationale.clone(),
        proposer_party_id: ctx.signer_id().to_owned(),
        approver_party_ids: vec![ctx.signer_id().to_owned()],
        status: pb::ProposalStatus::Open as i32,
        failure_reason: String::new(),
        proposed_at: Some(timestamp_from_ms(ctx.time_ms)),
        expires_at: Some(timestamp_from_ms(ctx.time_ms.saturating_add(ttl_ms(&rule)))),
        envelope_ids: vec![ctx.envelope_id.as_bytes().to_vec()],
    };
    settle(ctx, proposal, &rule)
}

pub(super) fn approve<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::ApproveGovernance) -> Rule {
    let key = keys::proposal(&a.proposal_id);
    let Some(mut proposal) = ctx.view.record::<pb::GovernanceProposal>(CF_STATE, &key, "proposal")? else {
        return refuse(Reason::NotFound, format!("no proposal {:?}", a.proposal_id));
    };
    if proposal.status != pb::ProposalStatus::Open as i32 {
        let status = pb::ProposalStatus::try_from(proposal.status).map(|s| s.as_str_name()).unwrap_or("?");
        return refuse(Reason::ProposalNotOpen, format!("proposal {} is {status}", a.proposal_id));
    }
    let expires =
        proposal.expires_at.as_ref().map(|t| validate::time_ms("expires_at", t)).transpose()?.unwrap_or(i64::MAX);
    if ctx.time_ms > expires {
        return refuse(Reason::ProposalNotOpen, format!("proposal {} expired", a.proposal_id));
    }
    if proposal.approver_party_ids.iter().any(|p| p == ctx.signer_id()) {
        return refuse(
            Reason::AlreadyApproved,
            format!("{} already approved proposal {}", ctx.signer_id(), a.proposal_id),
        );
    }
    proposal.approver_party_ids.push(ctx.signer_id().to_owned());
    proposal.envelope_ids.push(ctx.envelope_id.as_bytes().to_vec());
    let rule = rule_in_force(&ctx.view, ctx.genesis)?;
    settle(ctx, proposal, &rule)
}

/// Executes the proposal if its approvals reach the threshold, then stores it.
fn settle<E: KvEngine>(ctx: &mut Ctx<'_, E>, mut proposal: pb::GovernanceProposal, rule: &pb::GovernanceRule) -> Rule {
    let admins = active_admins(&ctx.view)?;
    let approvals = proposal.approver_party_ids.iter().filter(|p| admins.contains(p)).count();
    if approvals >= threshold(rule) {
        let action = proposal.action.as_ref().and_then(|g| g.action.clone());
        // Run the action in a layer of its own: if it fails, the proposal
        // is closed as FAILED and none of the action's writes remain.
        let outcome = match action {
            Some(action) => ctx.nested(|ctx| execute(ctx, &action)),
            None => Err(Fail::Refused(super::Refusal { reason: Reason::InvalidAction, message: "no action".into() })),
        };
        match outcome {
            Ok(()) => proposal.status = pb::ProposalStatus::Executed as i32,
            Err(Fail::Refused(r)) => {
                proposal.status = pb::ProposalStatus::Failed as i32;
                proposal.failure_reason = format!("{}: {}", r.reason.code(), r.message);
            }
            Err(storage) => return Err(storage),
        }
    }
    ctx.view.put_record(CF_STATE, keys::proposal(&proposal.proposal_id), &proposal);
    Ok(())
}

/// Checks what can be checked without state, at proposal time.
fn check_shape(action: &Gov) -> Rule {
    match action {
        Gov::RegisterParty(r) => {
            let Some(p) = &r.party else { return refuse(Reason::InvalidAction, "register_party.party is required") };
            check_new_party(p)
        }
        Gov::UpdateParty(u) => validate::party_id("update_party.party_id", &u.party_id),
        Gov::SuspendParty(s) => {
            validate::party_id("suspend_party.party_id", &s.party_id)?;
            validate::text("suspend_party.reason", &s.reason, MAX_TEXT, true)
        }
        Gov::ReinstateParty(s) => validate::party_id("reinstate_party.party_id", &s.party_id),
        Gov::ChangeValidators(c) => {
            require(!c.assignments.is_empty(), || "change_validators: no assignments".into())?;
            for a in &c.assignments {
                validate::party_id("change_validators.party_id", &a.party_id)?;
                check_peer_id(&a.peer_id)?;
            }
            Ok(())
        }
        Gov::UpdateRolePolicy(u) => {
            let p = u.role_policy.clone().unwrap_or_default();
            policy::validate(&p).or_else(|m| refuse(Reason::InvalidAction, format!("update_role_policy: {m}")))
        }
        Gov::UpdateGovernanceRule(u) => {
            let r = u.governance.unwrap_or_default();
            require(r.threshold >= 1, || "update_governance_rule: threshold must be at least 1".into())
        }
        Gov::BlacklistParty(b) => {
            validate::party_id("blacklist_party.party_id", &b.party_id)?;
            validate::text("blacklist_party.reason", &b.reason, MAX_TEXT, true)
        }
        Gov::UpdateMarketplacePolicy(u) => {
            let p = u.marketplace_policy.unwrap_or_default();
            super::marketplace::validate_policy(&p)
                .or_else(|m| refuse(Reason::InvalidAction, format!("update_marketplace_policy: {m}")))
        }
    }
}

fn check_peer_id(peer: &str) -> Rule {
    require(peer.len() <= 128 && peer.bytes().all(|b| b.is_ascii_alphanumeric()), || {
        format!("peer id {peer:?} is not a base58 libp2p PeerId")
    })
}

/// Checks a party as given to RegisterParty (or a genesis).
pub(crate) fn check_new_party(p: &pb::Party) -> Rule {
    validate::party_id("party.party_id", &p.party_id)?;
    validate::text("party.display_name", &p.display_name, 200, true)?;
    validate::country("party.country", &p.country)?;
    check_party_fields(p)?;
    require(p.status == 0 && p.joined_at.is_none() && p.validator_peer_id.is_empty(), || {
        "party.status, joined_at and validator_peer_id are set by the ledger; leave them unset".into()
    })?;
    require(p.signing_keys.iter().any(|k| k.status != pb::KeyStatus::Revoked as i32), || {
        "party.signing_keys: at least one active key is required".into()
    })?;
    for k in &p.signing_keys {
        check_new_key(k)?;
    }
    Ok(())
}

/// The fields a party needs whether it is founded by the genesis or
/// admitted later: roles (at least one, known, no repeats), GS1 Company
/// Prefixes (4 to 12 digits) and party GLNs (13 digits).
pub(crate) fn check_party_fields(p: &pb::Party) -> Rule {
    check_roles("party.roles", &p.roles)?;
    for prefix in &p.gs1_company_prefixes {
        validate::digits("party.gs1_company_prefixes", prefix, 4, 12)?;
    }
    for gln in &p.party_glns {
        validate::digits("party.party_glns", gln, 13, 13)?;
    }
    Ok(())
}

fn check_roles(field: &str, roles: &[i32]) -> Rule {
    require(!roles.is_empty(), || format!("{field}: at least one role is required"))?;
    for (i, r) in roles.iter().enumerate() {
        validate::enum_set::<pb::PartyRole>(field, *r)?;
        require(!roles[..i].contains(r), || format!("{field}: role {r} is listed twice"))?;
    }
    Ok(())
}

fn check_new_key(k: &pb::SigningKey) -> Rule {
    PublicKey::from_slice(&k.public_key)
        .or_else(|e| refuse(Reason::InvalidAction, format!("signing key: {e}")))
        .map(|_| ())?;
    require(k.status <= pb::KeyStatus::Active as i32 && k.added_at.is_none() && k.revoked_at.is_none(), || {
        "signing key: status, added_at and revoked_at are set by the ledger".into()
    })?;
    validate::text("signing key label", &k.label, 200, false)
}

/// Runs an approved governance action.
fn execute<E: KvEngine>(ctx: &mut Ctx<'_, E>, action: &Gov) -> Rule {
    match action {
        Gov::RegisterParty(r) => register_party(ctx, r.party.clone().unwrap_or_default()),
        Gov::UpdateParty(u) => update_party(ctx, u),
        Gov::SuspendParty(s) => suspend(ctx, s),
        Gov::ReinstateParty(s) => reinstate(ctx, s),
        Gov::ChangeValidators(c) => change_validators(ctx, c),
        Gov::UpdateRolePolicy(u) => {
            ctx.view.put_record(CF_STATE, keys::ROLE_POLICY.to_vec(), &u.role_policy.clone().unwrap_or_default());
            Ok(())
        }
        Gov::UpdateGovernanceRule(u) => {
            let rule = u.governance.unwrap_or_default();
            let admins = active_admins(&ctx.view)?.len();
            if threshold(&rule) > admins {
                return refuse(
                    Reason::GovernanceQuorumAtRisk,
                    format!("threshold {} exceeds the {admins} active admin parties", rule.threshold),
                );
            }
            ctx.view.put_record(CF_STATE, keys::GOVERNANCE_RULE.to_vec(), &rule);
            Ok(())
        }
        Gov::BlacklistParty(b) => super::marketplace::supplier::blacklist(ctx, b),
        Gov::UpdateMarketplacePolicy(u) => {
            let p = u.marketplace_policy.unwrap_or_default();
            ctx.view.put_record(CF_STATE, keys::MARKETPLACE_POLICY.to_vec(), &p);
            Ok(())
        }
    }
}

/// Proposal ids the ledger itself opens start with this. Parties may use
/// such ids too (refusing them now would refuse proposals older builds
/// accepted, and a replay would diverge); an id already taken gets the
/// commit time appended.
pub(crate) const LEDGER_PROPOSAL_PREFIX: &str = "ledger:";

/// Opens a proposal on the ledger's own motion (a policy's consequence,
/// e.g. the strike policy's suspension proposal), with no approvals yet:
/// the admins decide as for any proposal. When `id` is taken, opens it as
/// `{id}@{time_ms}`; when that is taken too, opens nothing.
pub(crate) fn open_ledger_proposal<E: KvEngine>(
    view: &mut StateView<'_, E>,
    genesis: &Genesis,
    id: &str,
    action: Gov,
    rationale: String,
    time_ms: i64,
) -> Result<(), LedgerError> {
    let mut id = id.to_owned();
    if view.exists(CF_STATE, &keys::proposal(&id))? {
        id = format!("{id}@{time_ms}");
        if view.exists(CF_STATE, &keys::proposal(&id))? {
            return Ok(());
        }
    }
    let key = keys::proposal(&id);
    let rule = rule_in_force(view, genesis)?;
    let proposal = pb::GovernanceProposal {
        proposal_id: id,
        action: Some(pb::GovernanceAction { action: Some(action) }),
        rationale,
        proposer_party_id: String::new(),
        approver_party_ids: Vec::new(),
        status: pb::ProposalStatus::Open as i32,
        failure_reason: String::new(),
        proposed_at: Some(timestamp_from_ms(time_ms)),
        expires_at: Some(timestamp_from_ms(time_ms.saturating_add(ttl_ms(&rule)))),
        envelope_ids: Vec::new(),
    };
    view.put_record(CF_STATE, key, &proposal);
    Ok(())
}

fn add_key<E: KvEngine>(ctx: &mut Ctx<'_, E>, party: &str, k: &mut pb::SigningKey) -> Rule {
    if ctx.view.exists(CF_STATE, &keys::signing_key(&k.public_key))? {
        return refuse(
            Reason::AlreadyExists,
            format!("signing key {} belongs to a party already", hex::encode(&k.public_key)),
        );
    }
    k.status = pb::KeyStatus::Active as i32;
    k.added_at = Some(timestamp_from_ms(ctx.time_ms));
    ctx.view.put(CF_STATE, keys::signing_key(&k.public_key), party.as_bytes().to_vec());
    Ok(())
}

fn add_gln<E: KvEngine>(ctx: &mut Ctx<'_, E>, party: &str, gln: &str) -> Rule {
    if ctx.view.get(CF_STATE, &keys::party_gln(gln))?.is_some_and(|owner| owner != party.as_bytes()) {
        return refuse(Reason::AlreadyExists, format!("party GLN {gln} is declared by another party"));
    }
    ctx.view.put(CF_STATE, keys::party_gln(gln), party.as_bytes().to_vec());
    Ok(())
}

fn register_party<E: KvEngine>(ctx: &mut Ctx<'_, E>, mut p: pb::Party) -> Rule {
    check_new_party(&p)?;
    if ctx.party(&p.party_id)?.is_some() {
        return refuse(Reason::AlreadyExists, format!("party {} exists already", p.party_id));
    }
    let id = p.party_id.clone();
    p.signing_keys.retain(|k| k.status != pb::KeyStatus::Revoked as i32);
    for k in &mut p.signing_keys {
        add_key(ctx, &id, k)?;
    }
    for gln in p.party_glns.clone() {
        add_gln(ctx, &id, &gln)?;
    }
    p.status = pb::PartyStatus::Active as i32;
    p.joined_at = Some(timestamp_from_ms(ctx.time_ms));
    ctx.view.put_record(CF_STATE, keys::party(&id), &p);
    Ok(())
}

fn existing<E: KvEngine>(ctx: &Ctx<'_, E>, id: &str) -> Rule<pb::Party> {
    match ctx.party(id)? {
        Some(p) => Ok(p),
        None => refuse(Reason::NotFound, format!("no party {id:?}")),
    }
}

/// Refuses if `after` would leave fewer active admins than the threshold.
fn keep_admin_quorum<E: KvEngine>(ctx: &Ctx<'_, E>, after: &pb::Party) -> Rule {
    let rule = rule_in_force(&ctx.view, ctx.genesis)?;
    let mut admins = active_admins(&ctx.view)?;
    admins.retain(|id| id != &after.party_id);
    if is_active_admin(after) {
        admins.push(after.party_id.clone());
    }
    if admins.len() < threshold(&rule) {
        return refuse(
            Reason::GovernanceQuorumAtRisk,
            format!(
                "{} active admin parties would remain, fewer than the threshold {}",
                admins.len(),
                threshold(&rule)
            ),
        );
    }
    Ok(())
}

fn update_party<E: KvEngine>(ctx: &mut Ctx<'_, E>, u: &pb::UpdateParty) -> Rule {
    let mut p = existing(ctx, &u.party_id)?;
    if !u.display_name.is_empty() {
        validate::text("update_party.display_name", &u.display_name, 200, true)?;
        p.display_name = u.display_name.clone();
    }
    if !u.country.is_empty() {
        validate::country("update_party.country", &u.country)?;
        p.country = u.country.clone();
    }
    for r in &u.add_roles {
        validate::enum_set::<pb::PartyRole>("update_party.add_roles", *r)?;
        if !p.roles.contains(r) {
            p.roles.push(*r);
        }
    }
    p.roles.retain(|r| !u.remove_roles.contains(r));
    require(!p.roles.is_empty(), || "update_party: the party must keep at least one role".into())?;
    for k in &u.add_keys {
        check_new_key(k)?;
        let mut k = k.clone();
        add_key(ctx, &u.party_id, &mut k)?;
        p.signing_keys.push(k);
    }
    for pk in &u.revoke_keys {
        let Some(k) = p.signing_keys.iter_mut().find(|k| &k.public_key == pk) else {
            return refuse(Reason::NotFound, format!("party {} has no key {}", u.party_id, hex::encode(pk)));
        };
        k.status = pb::KeyStatus::Revoked as i32;
        k.revoked_at = Some(timestamp_from_ms(ctx.time_ms));
    }
    if !p.signing_keys.iter().any(|k| k.status == pb::KeyStatus::Active as i32) {
        return refuse(Reason::LastActiveKey, format!("party {} would have no active key", u.party_id));
    }
    for prefix in &u.add_gs1_company_prefixes {
        validate::digits("update_party.add_gs1_company_prefixes", prefix, 4, 12)?;
        if !p.gs1_company_prefixes.contains(prefix) {
            p.gs1_company_prefixes.push(prefix.clone());
        }
    }
    p.gs1_company_prefixes.retain(|x| !u.remove_gs1_company_prefixes.contains(x));
    for gln in &u.add_party_glns {
        validate::digits("update_party.add_party_glns", gln, 13, 13)?;
        add_gln(ctx, &u.party_id, gln)?;
        if !p.party_glns.contains(gln) {
            p.party_glns.push(gln.clone());
        }
    }
    for gln in &u.remove_party_glns {
        // The GLN no longer names this party: free it for destinations and
        // for another party to declare.
        if p.party_glns.contains(gln) && !u.add_party_glns.contains(gln) {
            ctx.view.delete(CF_STATE, keys::party_gln(gln));
        }
    }
    p.party_glns.retain(|x| !u.remove_party_glns.contains(x));
    keep_admin_quorum(ctx, &p)?;
    ctx.view.put_record(CF_STATE, keys::party(&p.party_id), &p);
    Ok(())
}

fn suspend<E: KvEngine>(ctx: &mut Ctx<'_, E>, s: &pb::SuspendParty) -> Rule {
    let mut p = existing(ctx, &s.party_id)?;
    if p.status != pb::PartyStatus::Active as i32 {
        return refuse(Reason::PartySuspended, format!("party {} is already suspended", s.party_id));
    }
    p.status = pb::PartyStatus::Suspended as i32;
    keep_admin_quorum(ctx, &p)?;
    let key = keys::suspensions(&s.party_id);
    let mut list = ctx.view.record::<SuspensionList>(CF_STATE, &key, "suspensions")?.unwrap_or_default();
    list.entries.push(pb::Suspension {
        suspended_at: Some(timestamp_from_ms(ctx.time_ms)),
        reason: s.reason.clone(),
        ..Default::default()
    });
    ctx.view.put_record(CF_STATE, key, &list);
    ctx.view.put_record(CF_STATE, keys::party(&p.party_id), &p);
    Ok(())
}

fn reinstate<E: KvEngine>(ctx: &mut Ctx<'_, E>, s: &pb::ReinstateParty) -> Rule {
    let mut p = existing(ctx, &s.party_id)?;
    if p.status != pb::PartyStatus::Suspended as i32 {
        return refuse(Reason::InvalidAction, format!("party {} is not suspended", s.party_id));
    }
    p.status = pb::PartyStatus::Active as i32;
    let key = keys::suspensions(&s.party_id);
    let mut list = ctx.view.record::<SuspensionList>(CF_STATE, &key, "suspensions")?.unwrap_or_default();
    if let Some(last) = list.entries.last_mut() {
        last.reinstated_at = Some(timestamp_from_ms(ctx.time_ms));
        last.reinstate_reason = s.reason.clone();
    }
    ctx.view.put_record(CF_STATE, key, &list);
    ctx.view.put_record(CF_STATE, keys::party(&p.party_id), &p);
    Ok(())
}

fn change_validators<E: KvEngine>(ctx: &mut Ctx<'_, E>, c: &pb::ChangeValidators) -> Rule {
    for a in &c.assignments {
        let mut p = existing(ctx, &a.party_id)?;
        if !a.peer_id.is_empty() {
            if p.status != pb::PartyStatus::Active as i32 {
                return refuse(Reason::PartySuspended, format!("party {} is suspended", a.party_id));
            }
            let owner = ctx.view.get(CF_STATE, &keys::validator_peer(&a.peer_id))?;
            if owner.is_some_and(|o| o != a.party_id.as_bytes()) {
                return refuse(Reason::AlreadyExists, format!("peer {} is another party's validator", a.peer_id));
            }
            ctx.view.put(CF_STATE, keys::validator_peer(&a.peer_id), a.party_id.as_bytes().to_vec());
        }
        // The party's previous peer is no longer its validator: free it.
        if !p.validator_peer_id.is_empty() && p.validator_peer_id != a.peer_id {
            ctx.view.delete(CF_STATE, keys::validator_peer(&p.validator_peer_id));
        }
        p.validator_peer_id = a.peer_id.clone();
        ctx.view.put_record(CF_STATE, keys::party(&p.party_id), &p);
    }
    Ok(())
}

pub(super) fn revoke_own_key<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::RevokeSigningKey) -> Rule {
    validate::text("reason", &a.reason, MAX_TEXT, false)?;
    let mut p = ctx.signer.clone();
    let Some(k) = p.signing_keys.iter_mut().find(|k| k.public_key == a.public_key) else {
        return refuse(Reason::NotFound, format!("party {} has no key {}", p.party_id, hex::encode(&a.public_key)));
    };
    if k.status != pb::KeyStatus::Active as i32 {
        return refuse(Reason::InvalidAction, "the key is already revoked");
    }
    k.status = pb::KeyStatus::Revoked as i32;
    k.revoked_at = Some(timestamp_from_ms(ctx.time_ms));
    if !p.signing_keys.iter().any(|k| k.status == pb::KeyStatus::Active as i32) {
        return refuse(Reason::LastActiveKey, format!("party {} would have no active key", p.party_id));
    }
    ctx.view.put_record(CF_STATE, keys::party(&p.party_id), &p);
    Ok(())
}
