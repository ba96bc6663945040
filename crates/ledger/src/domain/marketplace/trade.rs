//! Trade complaints: a buyer's complaint about an order with a seller, the
//! seller's answer (re-deliver, refund, partial refund, dispute), the
//! buyer's reply (accept or escalate) and the deciding party's ruling.
//!
//! What the ledger can check, it checks when the complaint is filed: a
//! false delivery names a tracking number the seller shipped under and its
//! carrier never confirmed; a quantity complaint received less than
//! ordered; one complaint per order and seller. A counterfeit complaint
//! cites consumer verifications, which the case shows with their verdicts.
//! The rest is the parties' word, signed.

use veritrace_core::Reason;
use veritrace_core::vocab;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::super::validate::{self, MAX_TEXT};
use super::super::{Ctx, Rule, refuse, require};
use super::cases::{self, step};
use super::{Windows, digest_list, policy_in_force, supplier};
use crate::schema::CF_STATE;
use crate::state::keys;
use crate::state::market::{CaseKind, CaseRecord};
use crate::state::records::TrackingRecord;

/// The seller's shipment under `tracking`, refused unless it is one and
/// its carrier has not confirmed it.
fn unconfirmed_shipment<E: KvEngine>(ctx: &Ctx<'_, E>, tracking: &str, seller: &str) -> Rule {
    require(vocab::parse_tracking(tracking).is_some(), || {
        format!("tracking: {tracking:?} is not \"urn:veritrace:tracking:{{carrier}}:{{number}}\"")
    })?;
    let rec: TrackingRecord = ctx.view.record(CF_STATE, &keys::tracking(tracking), "tracking")?.unwrap_or_default();
    if rec.shipper != seller {
        return refuse(Reason::NotFound, format!("tracking: the seller shipped nothing under {tracking}"));
    }
    // A confirmation before the seller shipped under the number confirms
    // some other shipment, not this one.
    if rec.confirmed && rec.confirmed_leaf > rec.shipped_leaf {
        return refuse(
            Reason::TrackingConfirmed,
            format!("tracking: carrier {} confirmed {tracking} at leaf {}", rec.carrier, rec.confirmed_leaf),
        );
    }
    Ok(())
}

pub(crate) fn file<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::FileTradeComplaint) -> Rule {
    validate::client_id("complaint_id", &a.complaint_id)?;
    validate::party_id("seller_party_id", &a.seller_party_id)?;
    validate::text("order", &a.order, 512, true)?;
    let kind: pb::TradeComplaintKind = validate::enum_set("kind", a.kind)?;
    validate::text("text", &a.text, MAX_TEXT, false)?;
    supplier::money("amount_claimed", &a.amount_claimed, false)?;
    digest_list("evidence_digests", &a.evidence_digests, 0)?;
    let me = ctx.signer_id().to_owned();
    require(a.seller_party_id != me, || "seller_party_id: a party cannot complain about itself".into())?;
    cases::answerable(ctx, "seller_party_id", &a.seller_party_id)?;
    let key = keys::case(CaseKind::Trade, &me, &a.complaint_id);
    if ctx.view.exists(CF_STATE, &key)? {
        return refuse(Reason::AlreadyExists, format!("trade complaint {} exists already", a.complaint_id));
    }
    match kind {
        pb::TradeComplaintKind::FalseDelivery => unconfirmed_shipment(ctx, &a.tracking, &a.seller_party_id)?,
        pb::TradeComplaintKind::QuantityShort => require(a.quantity_received < a.quantity_ordered, || {
            "quantity_received must be less than quantity_ordered".into()
        })?,
        // The cited verifications are evidence the case shows with their
        // verdicts, read from their leaves with proofs (`Ledger::trade_case`);
        // apply does not read leaves, whose bytes only the Merkle tree
        // vouches for.
        pb::TradeComplaintKind::Counterfeit => require(!a.scan_envelope_ids.is_empty(), || {
            "scan_envelope_ids: cite 1 to 64 consumer verifications of the goods".into()
        })?,
        _ => require(a.scan_envelope_ids.is_empty(), || {
            "scan_envelope_ids: only a counterfeit complaint cites verifications".into()
        })?,
    }
    digest_list("scan_envelope_ids", &a.scan_envelope_ids, 0)?;
    validate::text("tracking", &a.tracking, 512, false)?;
    // One complaint per order and seller: a buyer cannot inflate a
    // seller's counts with copies of one grievance.
    let order_key = keys::trade_order(&me, &a.seller_party_id, &a.order);
    if let Some(first) = ctx.view.get(CF_STATE, &order_key)? {
        let first = String::from_utf8_lossy(&first).into_owned();
        return refuse(Reason::AlreadyExists, format!("order {}: complaint {first} is about it already", a.order));
    }
    ctx.view.put(CF_STATE, order_key, a.complaint_id.clone().into_bytes());
    let policy = policy_in_force(&ctx.view, ctx.genesis)?;
    let w = Windows(&policy);
    let rec = CaseRecord {
        kind: CaseKind::Trade as i32,
        filer: me.clone(),
        respondent: a.seller_party_id.clone(),
        trade: Some(a.clone()),
        steps: vec![step("filed", &me, ctx.leaf, ctx.time_ms, &a.text)],
        filed_leaf: ctx.leaf,
        count_kind: kind.as_str_name().trim_start_matches("TRADE_COMPLAINT_KIND_").to_owned(),
        ..Default::default()
    };
    let deadline = ctx.time_ms.saturating_add(w.trade_answer_ms());
    cases::open(&mut ctx.view, rec, &a.complaint_id, deadline, w.trade_on_no_answer())?;
    Ok(())
}

pub(crate) fn answer<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::AnswerTradeComplaint) -> Rule {
    let kind: pb::TradeAnswerKind = validate::enum_set("kind", a.kind)?;
    validate::text("text", &a.text, MAX_TEXT, kind == pb::TradeAnswerKind::Dispute)?;
    digest_list("evidence_digests", &a.evidence_digests, 0)?;
    match kind {
        pb::TradeAnswerKind::Redeliver => require(vocab::parse_tracking(&a.tracking).is_some(), || {
            "tracking: a re-delivery names its tracking number (urn:veritrace:tracking:{carrier}:{number})".into()
        })?,
        pb::TradeAnswerKind::Refund | pb::TradeAnswerKind::PartialRefund => {
            validate::text("refund_reference", &a.refund_reference, 200, true)?;
            let partial = kind == pb::TradeAnswerKind::PartialRefund;
            supplier::money("refund_amount", &a.refund_amount, partial)?;
        }
        _ => {}
    }
    validate::text("tracking", &a.tracking, 512, false)?;
    validate::text("refund_reference", &a.refund_reference, 200, false)?;
    supplier::money("refund_amount", &a.refund_amount, false)?;
    let (key, mut rec) = cases::load(&ctx.view, CaseKind::Trade, &a.buyer_party_id, &a.complaint_id)?;
    if rec.respondent != ctx.signer_id() {
        return refuse(Reason::NotCaseParty, format!("only the seller, {}, may answer", rec.respondent));
    }
    cases::expect_step(&rec, pb::CaseStatus::AwaitingAnswer, ctx.time_ms, "answer")?;
    let name = kind.as_str_name().trim_start_matches("TRADE_ANSWER_KIND_").to_ascii_lowercase();
    rec.steps.push(step(&name, ctx.signer_id(), ctx.leaf, ctx.time_ms, &a.text));
    rec.trade_answer = Some(a.clone());
    let policy = policy_in_force(&ctx.view, ctx.genesis)?;
    let deadline = ctx.time_ms.saturating_add(Windows(&policy).trade_reply_ms());
    let (status, answer_stands) = (pb::CaseStatus::AwaitingReply, pb::LapseOutcome::Unspecified);
    cases::wait_for(&mut ctx.view, &key, &mut rec, status, ctx.leaf, deadline, answer_stands);
    ctx.view.put_record(CF_STATE, key, &rec);
    Ok(())
}

pub(crate) fn reply<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::ReplyTradeComplaint) -> Rule {
    let kind: pb::TradeReplyKind = validate::enum_set("kind", a.kind)?;
    validate::text("text", &a.text, MAX_TEXT, kind == pb::TradeReplyKind::Escalate)?;
    let me = ctx.signer_id().to_owned();
    let (key, mut rec) = cases::load(&ctx.view, CaseKind::Trade, &me, &a.complaint_id)?;
    cases::expect_step(&rec, pb::CaseStatus::AwaitingReply, ctx.time_ms, "buyer's reply")?;
    if kind == pb::TradeReplyKind::Escalate {
        rec.steps.push(step("escalate", &me, ctx.leaf, ctx.time_ms, &a.text));
        let policy = policy_in_force(&ctx.view, ctx.genesis)?;
        let w = Windows(&policy);
        let deadline = ctx.time_ms.saturating_add(w.trade_decision_ms());
        let status = pb::CaseStatus::AwaitingRuling;
        cases::wait_for(&mut ctx.view, &key, &mut rec, status, ctx.leaf, deadline, w.trade_on_no_ruling());
    } else {
        rec.steps.push(step("accept", &me, ctx.leaf, ctx.time_ms, &a.text));
        cases::close(&mut ctx.view, &key, &mut rec, pb::CaseStatus::Resolved, pb::ClosedBy::Party)?;
    }
    ctx.view.put_record(CF_STATE, key, &rec);
    Ok(())
}

pub(crate) fn rule<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::RuleTradeComplaint) -> Rule {
    let decision: pb::CaseDecision = validate::enum_set("decision", a.decision)?;
    validate::text("reason", &a.reason, MAX_TEXT, true)?;
    validate::text("remedy", &a.remedy, 1000, false)?;
    let (key, mut rec) = cases::load(&ctx.view, CaseKind::Trade, &a.buyer_party_id, &a.complaint_id)?;
    let me = ctx.signer_id().to_owned();
    if rec.filer == me || rec.respondent == me {
        return refuse(Reason::ConflictOfInterest, "a party of the case cannot rule on it");
    }
    cases::expect_step(&rec, pb::CaseStatus::AwaitingRuling, ctx.time_ms, "ruling")?;
    let upheld = decision == pb::CaseDecision::Uphold;
    let text = if a.remedy.is_empty() { a.reason.clone() } else { format!("{} (remedy: {})", a.reason, a.remedy) };
    rec.steps.push(step(if upheld { "upheld" } else { "rejected" }, &me, ctx.leaf, ctx.time_ms, &text));
    let status = if upheld { pb::CaseStatus::Upheld } else { pb::CaseStatus::Rejected };
    cases::close(&mut ctx.view, &key, &mut rec, status, pb::ClosedBy::Party)?;
    ctx.view.put_record(CF_STATE, key, &rec);
    Ok(())
}
