//! Intellectual-property rights and complaints: the rights-protection
//! platforms' notice, counter-notice and ruling, with deadlines.
//!
//! A complaint names only what the accused commissioned or registered as
//! its own GTINs, so a rival cannot take a third party's genuine items off
//! the market by accusing someone who holds them; it is filed under a
//! right the filer registered and that is valid at the commit. An upheld
//! or accepted complaint withdraws the items it named (verification then
//! answers WITHDRAWN, reason IP_INFRINGEMENT) and counts a strike.

use veritrace_core::Reason;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::super::validate::{self, MAX_TEXT};
use super::super::{Ctx, Rule, products, refuse, require};
use super::cases::{self, step};
use super::{Windows, digest_list, policy_in_force, supplier, validity};
use crate::schema::CF_STATE;
use crate::state::market::{CaseKind, CaseRecord, IpRightRecord};
use crate::state::records::ItemRecord;
use crate::state::{StateView, keys};
use crate::{Genesis, LedgerError};

/// Most items one IP complaint may name.
pub(crate) const MAX_ITEMS: usize = 1000;

pub(crate) fn register_right<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::RegisterIpRight) -> Rule {
    validate::client_id("right_id", &a.right_id)?;
    validate::enum_set::<pb::IpRightKind>("kind", a.kind)?;
    validate::text("number", &a.number, 200, true)?;
    validate::country("jurisdiction", &a.jurisdiction)?;
    validity("valid_from", &a.valid_from, &a.valid_until)?;
    require(a.gtins.len() <= 1000, || "gtins: at most 1,000".into())?;
    for g in &a.gtins {
        validate::gtin("gtins", g)?;
    }
    digest_list("evidence_digests", &a.evidence_digests, 1)?;
    let me = ctx.signer_id().to_owned();
    let key = keys::ip_right(&me, &a.right_id);
    if ctx.view.exists(CF_STATE, &key)? {
        return refuse(Reason::AlreadyExists, format!("right {} exists already", a.right_id));
    }
    let rec = IpRightRecord { right: Some(a.clone()), holder: me, leaf: ctx.leaf, ..Default::default() };
    ctx.view.put_record(CF_STATE, key, &rec);
    Ok(())
}

pub(crate) fn attest_right<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::AttestIpRight) -> Rule {
    validate::text("note", &a.note, MAX_TEXT, false)?;
    let key = keys::ip_right(&a.holder_party_id, &a.right_id);
    let Some(mut rec) = ctx.view.record::<IpRightRecord>(CF_STATE, &key, "IP right")? else {
        return refuse(Reason::NotFound, format!("{} registered no right {:?}", a.holder_party_id, a.right_id));
    };
    if rec.holder == ctx.signer_id() {
        return refuse(Reason::ConflictOfInterest, "a holder cannot attest its own right");
    }
    if !rec.attested_by.is_empty() {
        return refuse(
            Reason::AlreadyExists,
            format!("right {} is attested by {} already", a.right_id, rec.attested_by),
        );
    }
    rec.attested_by = ctx.signer_id().to_owned();
    rec.attested_leaf = ctx.leaf;
    ctx.view.put_record(CF_STATE, key, &rec);
    Ok(())
}

/// Whether the right a complaint is filed under was attested by an
/// authority.
pub(crate) fn right_attested<E: KvEngine>(view: &StateView<'_, E>, rec: &CaseRecord) -> Result<bool, LedgerError> {
    let right_id = rec.ip.as_ref().map(|c| c.right_id.as_str()).unwrap_or_default();
    let right = view.record::<IpRightRecord>(CF_STATE, &keys::ip_right(&rec.filer, right_id), "IP right")?;
    Ok(right.is_some_and(|r| !r.attested_by.is_empty()))
}

/// Whether a right is valid at `time_ms`.
pub(crate) fn right_valid(rec: &IpRightRecord, time_ms: i64) -> bool {
    let Some(r) = &rec.right else { return false };
    let from = r.valid_from.as_ref().map(veritrace_proto::ms_from_timestamp).unwrap_or(i64::MAX);
    let until = r.valid_until.as_ref().map(veritrace_proto::ms_from_timestamp).unwrap_or(i64::MAX);
    from <= time_ms && time_ms < until
}

pub(crate) fn file<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::FileIpComplaint) -> Rule {
    validate::client_id("complaint_id", &a.complaint_id)?;
    validate::party_id("accused_party_id", &a.accused_party_id)?;
    validate::text("text", &a.text, MAX_TEXT, true)?;
    digest_list("evidence_digests", &a.evidence_digests, 1)?;
    let me = ctx.signer_id().to_owned();
    require(a.accused_party_id != me, || "accused_party_id: a party cannot accuse itself".into())?;
    super::cases::answerable(ctx, "accused_party_id", &a.accused_party_id)?;
    let right_key = keys::ip_right(&me, &a.right_id);
    let Some(right) = ctx.view.record::<IpRightRecord>(CF_STATE, &right_key, "IP right")? else {
        return refuse(Reason::NotFound, format!("{me} registered no right {:?}", a.right_id));
    };
    require(right_valid(&right, ctx.time_ms), || format!("right {} is not valid at this commit", a.right_id))?;
    require(!a.gtins.is_empty() || !a.listings.is_empty() || !a.items.is_empty(), || {
        "name what infringes: gtins, listings or items".into()
    })?;
    require(a.items.len() <= MAX_ITEMS && a.gtins.len() <= MAX_ITEMS && a.listings.len() <= MAX_ITEMS, || {
        format!("at most {MAX_ITEMS} gtins, listings and items each")
    })?;
    let key = keys::case(CaseKind::Ip, &me, &a.complaint_id);
    if ctx.view.exists(CF_STATE, &key)? {
        return refuse(Reason::AlreadyExists, format!("IP complaint {} exists already", a.complaint_id));
    }
    for g in &a.gtins {
        validate::gtin("gtins", g)?;
        let product = products::registered(ctx, g)?;
        if product.brand_party_id != a.accused_party_id {
            return refuse(
                Reason::InvalidAction,
                format!("gtins: {g} belongs to {}, not to the accused", product.brand_party_id),
            );
        }
        ctx.index_gtin(g);
    }
    for l in &a.listings {
        validate::text("listings", l, 512, true)?;
        let Some((platform, listing)) = l.split_once(':') else {
            return refuse(
                Reason::InvalidAction,
                format!("listings: {l:?} is not \"{{platform party}}:{{listing id}}\""),
            );
        };
        require(!listing.is_empty(), || format!("listings: {l:?} names no listing"))?;
        if ctx.party(platform)?.is_none() {
            return refuse(Reason::NotFound, format!("listings: no party {platform:?}"));
        }
    }
    for i in &a.items {
        let (_, item_key) = validate::item_key("items", &i.gtin, &i.serial)?;
        let Some(item) = ctx.view.record::<ItemRecord>(CF_STATE, &keys::item(&item_key), "item")? else {
            return refuse(
                Reason::ItemNotCommissioned,
                format!("items: {}/{} was never commissioned", i.gtin, i.serial),
            );
        };
        // Only the accused's own items: a shop or carrier holding another
        // brand's genuine goods cannot be made the route to withdraw them
        // (that brand is no party to the case and could not answer).
        if item.commissioned_by != a.accused_party_id {
            return refuse(
                Reason::InvalidAction,
                format!("items: {}/{} was not commissioned by the accused", i.gtin, i.serial),
            );
        }
        ctx.index_object(&item_key, "");
    }
    let policy = policy_in_force(&ctx.view, ctx.genesis)?;
    let w = Windows(&policy);
    let rec = CaseRecord {
        kind: CaseKind::Ip as i32,
        filer: me.clone(),
        respondent: a.accused_party_id.clone(),
        ip: Some(a.clone()),
        steps: vec![step("filed", &me, ctx.leaf, ctx.time_ms, &a.text)],
        filed_leaf: ctx.leaf,
        count_kind: "ip".into(),
        ..Default::default()
    };
    let deadline = ctx.time_ms.saturating_add(w.ip_answer_ms());
    cases::open(&mut ctx.view, rec, &a.complaint_id, deadline, w.ip_on_no_answer())?;
    Ok(())
}

pub(crate) fn answer<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::AnswerIpComplaint) -> Rule {
    let kind: pb::IpAnswerKind = validate::enum_set("kind", a.kind)?;
    validate::text("text", &a.text, MAX_TEXT, kind == pb::IpAnswerKind::CounterNotice)?;
    let needed = usize::from(kind == pb::IpAnswerKind::CounterNotice);
    digest_list("evidence_digests", &a.evidence_digests, needed)?;
    let (key, mut rec) = cases::load(&ctx.view, CaseKind::Ip, &a.complainant_party_id, &a.complaint_id)?;
    if rec.respondent != ctx.signer_id() {
        return refuse(Reason::NotCaseParty, format!("only the accused, {}, may answer", rec.respondent));
    }
    cases::expect_step(&rec, pb::CaseStatus::AwaitingAnswer, ctx.time_ms, "answer")?;
    let me = ctx.signer_id().to_owned();
    match kind {
        pb::IpAnswerKind::CounterNotice => {
            rec.steps.push(step("counter_notice", &me, ctx.leaf, ctx.time_ms, &a.text));
            let policy = policy_in_force(&ctx.view, ctx.genesis)?;
            let w = Windows(&policy);
            let deadline = ctx.time_ms.saturating_add(w.ip_decision_ms());
            let status = pb::CaseStatus::AwaitingRuling;
            cases::wait_for(&mut ctx.view, &key, &mut rec, status, ctx.leaf, deadline, w.ip_on_no_ruling());
        }
        _ => {
            rec.steps.push(step("accept", &me, ctx.leaf, ctx.time_ms, &a.text));
            cases::close(&mut ctx.view, &key, &mut rec, pb::CaseStatus::Accepted, pb::ClosedBy::Party)?;
            enforce_uphold(&mut ctx.view, ctx.genesis, &mut rec, ctx.leaf, ctx.time_ms, "accepted by the accused")?;
        }
    }
    index_items(ctx, &rec);
    ctx.view.put_record(CF_STATE, key, &rec);
    Ok(())
}

pub(crate) fn rule<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::RuleIpComplaint) -> Rule {
    let decision: pb::CaseDecision = validate::enum_set("decision", a.decision)?;
    validate::text("reason", &a.reason, MAX_TEXT, true)?;
    let (key, mut rec) = cases::load(&ctx.view, CaseKind::Ip, &a.complainant_party_id, &a.complaint_id)?;
    let me = ctx.signer_id().to_owned();
    if rec.filer == me || rec.respondent == me {
        return refuse(Reason::ConflictOfInterest, "a party of the case cannot rule on it");
    }
    cases::expect_step(&rec, pb::CaseStatus::AwaitingRuling, ctx.time_ms, "ruling")?;
    let upheld = decision == pb::CaseDecision::Uphold;
    rec.steps.push(step(if upheld { "upheld" } else { "rejected" }, &me, ctx.leaf, ctx.time_ms, &a.reason));
    let status = if upheld { pb::CaseStatus::Upheld } else { pb::CaseStatus::Rejected };
    cases::close(&mut ctx.view, &key, &mut rec, status, pb::ClosedBy::Party)?;
    if upheld {
        let why = format!("upheld by {me}");
        enforce_uphold(&mut ctx.view, ctx.genesis, &mut rec, ctx.leaf, ctx.time_ms, &why)?;
    }
    index_items(ctx, &rec);
    ctx.view.put_record(CF_STATE, key, &rec);
    Ok(())
}

/// Lists this step in the histories of the items the complaint names.
fn index_items<E: KvEngine>(ctx: &mut Ctx<'_, E>, rec: &CaseRecord) {
    for i in rec.ip.iter().flat_map(|c| &c.items) {
        if let Ok((_, k)) = validate::item_key("items", &i.gtin, &i.serial) {
            ctx.index_object(&k, "");
        }
    }
}

/// What an upheld or accepted complaint does: withdraws the items it named
/// (those still in circulation; `leaf` is the deciding step's, or for a
/// lapse the step whose deadline lapsed) and counts a strike.
pub(crate) fn enforce_uphold<E: KvEngine>(
    view: &mut StateView<'_, E>,
    genesis: &Genesis,
    rec: &mut CaseRecord,
    leaf: u64,
    time_ms: i64,
    why: &str,
) -> Result<(), LedgerError> {
    let mut withdrawn = 0u32;
    for i in rec.ip.iter().flat_map(|c| &c.items) {
        let Ok((_, item_key)) = validate::item_key("items", &i.gtin, &i.serial) else { continue };
        let key = keys::item(&item_key);
        let Some(mut item) = view.record::<ItemRecord>(CF_STATE, &key, "item")? else { continue };
        // Still in circulation (not taken out on its own or with its lot).
        if crate::domain::lifecycle::decommission_reason(view, &item)? == 0 {
            item.decommission_reason = pb::DecommissionReason::IpInfringement as i32;
            item.decommissioned_leaf = leaf;
            view.put_record(CF_STATE, key, &item);
            withdrawn += 1;
        }
    }
    rec.items_withdrawn = withdrawn;
    if let Some(last) = rec.steps.last_mut()
        && last.text.is_empty()
    {
        last.text = why.to_owned();
    }
    supplier::add_strike(view, genesis, &rec.respondent.clone(), time_ms)
}
