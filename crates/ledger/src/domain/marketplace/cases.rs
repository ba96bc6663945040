//! What IP and trade cases share: the record, its two parties' indexes, the
//! running deadline, the counts in the respondent's profile, and the
//! resolution of a lapsed deadline.

use veritrace_core::Reason;
use veritrace_proto::timestamp_from_ms;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::super::{Ctx, Rule, refuse};
use super::{ip, supplier};
use crate::schema::CF_STATE;
use crate::state::market::{CaseKind, CaseRecord};
use crate::state::{StateView, keys};
use crate::{Genesis, LedgerError};

/// A step as the case shows it.
pub(crate) fn step(name: &str, party: &str, leaf: u64, time_ms: i64, text: &str) -> pb::CaseStep {
    pb::CaseStep {
        step: name.into(),
        party_id: party.into(),
        leaf_index: leaf,
        time: Some(timestamp_from_ms(time_ms)),
        text: text.into(),
    }
}

/// The name of a case status, for messages.
pub(crate) fn status_name(status: i32) -> &'static str {
    pb::CaseStatus::try_from(status).map(|s| s.as_str_name()).unwrap_or("?")
}

/// Refuses a case against a party that does not exist or is suspended: a
/// suspended party signs nothing, so it could not answer, and the case
/// would lapse against it unheard.
pub(crate) fn answerable<E: KvEngine>(ctx: &Ctx<'_, E>, field: &str, party: &str) -> Rule {
    match ctx.party(party)? {
        None => refuse(Reason::NotFound, format!("{field}: no party {party:?}")),
        Some(p) if p.status == pb::PartyStatus::Suspended as i32 => {
            refuse(Reason::PartySuspended, format!("{field}: {party} is suspended and could not answer"))
        }
        Some(_) => Ok(()),
    }
}

/// Loads a case, refusing NOT_FOUND when there is none.
pub(crate) fn load<E: KvEngine>(
    view: &StateView<'_, E>,
    kind: CaseKind,
    filer: &str,
    id: &str,
) -> Rule<(Vec<u8>, CaseRecord)> {
    let key = keys::case(kind, filer, id);
    match view.record::<CaseRecord>(CF_STATE, &key, "case")? {
        Some(rec) => Ok((key, rec)),
        None => refuse(Reason::NotFound, format!("{filer} filed no such complaint {id:?}")),
    }
}

/// Refuses a step that waits for `status` when the case waits for
/// something else, or when its deadline is past at `time_ms`.
pub(crate) fn expect_step(rec: &CaseRecord, status: pb::CaseStatus, time_ms: i64, what: &str) -> Rule {
    if rec.status == status as i32 && time_ms > rec.deadline_ms {
        // Lapsed, and no batch has swept it yet (same batch).
        return refuse(Reason::DeadlinePassed, format!("the deadline for the {what} passed"));
    }
    if rec.status != status as i32 {
        // A deadline lapsed and moved the case on (closed it, or handed it
        // to the deciding party): the step awaited then is late.
        if rec.closed_by == pb::ClosedBy::Lapse as i32 || rec.steps.iter().any(|s| s.step == "lapsed") {
            return refuse(
                Reason::DeadlinePassed,
                format!("the deadline for the {what} passed; the case closed as {}", status_name(rec.status)),
            );
        }
        return refuse(
            Reason::CaseNotOpen,
            format!("the case is {}, not waiting for the {what}", status_name(rec.status)),
        );
    }
    Ok(())
}

/// Stores a new case: the record, its parties' indexes, its first deadline
/// and the respondent's counts.
pub(crate) fn open<E: KvEngine>(
    view: &mut StateView<'_, E>,
    mut rec: CaseRecord,
    id: &str,
    deadline_ms: i64,
    lapse: pb::LapseOutcome,
) -> Result<(), LedgerError> {
    let kind = CaseKind::try_from(rec.kind).unwrap_or(CaseKind::Unspecified);
    let key = keys::case(kind, &rec.filer, id);
    for party in [&rec.filer, &rec.respondent] {
        view.put(CF_STATE, keys::party_case(party, kind, rec.filed_leaf), key.clone());
    }
    supplier::count(view, &rec.respondent, &rec.count_kind, rec.filed_leaf, |c| {
        c.filed += 1;
        c.open += 1;
    })?;
    rec.status = pb::CaseStatus::AwaitingAnswer as i32;
    rec.awaited_since_leaf = rec.filed_leaf;
    set_deadline(view, &key, &mut rec, deadline_ms, lapse);
    view.put_record(CF_STATE, key, &rec);
    Ok(())
}

/// Moves an open case to wait for its next step until `deadline_ms`.
pub(crate) fn wait_for<E: KvEngine>(
    view: &mut StateView<'_, E>,
    key: &[u8],
    rec: &mut CaseRecord,
    status: pb::CaseStatus,
    since_leaf: u64,
    deadline_ms: i64,
    lapse: pb::LapseOutcome,
) {
    view.delete(CF_STATE, keys::deadline(rec.deadline_ms, key));
    rec.status = status as i32;
    rec.awaited_since_leaf = since_leaf;
    set_deadline(view, key, rec, deadline_ms, lapse);
}

fn set_deadline<E: KvEngine>(
    view: &mut StateView<'_, E>,
    key: &[u8],
    rec: &mut CaseRecord,
    deadline_ms: i64,
    lapse: pb::LapseOutcome,
) {
    rec.deadline_ms = deadline_ms;
    rec.lapse_outcome = lapse as i32;
    view.put(CF_STATE, keys::deadline(deadline_ms, key), Vec::new());
}

/// Closes a case: no deadline runs any more, and the respondent's counts
/// move from open to the outcome.
pub(crate) fn close<E: KvEngine>(
    view: &mut StateView<'_, E>,
    key: &[u8],
    rec: &mut CaseRecord,
    status: pb::CaseStatus,
    closed_by: pb::ClosedBy,
) -> Result<(), LedgerError> {
    view.delete(CF_STATE, keys::deadline(rec.deadline_ms, key));
    rec.status = status as i32;
    rec.closed_by = closed_by as i32;
    rec.deadline_ms = 0;
    rec.lapse_outcome = 0;
    supplier::count(view, &rec.respondent, &rec.count_kind, 0, |c| {
        c.open = c.open.saturating_sub(1);
        match status {
            pb::CaseStatus::Upheld => c.upheld += 1,
            pb::CaseStatus::Rejected => c.rejected += 1,
            _ => c.settled += 1,
        }
    })?;
    Ok(())
}

/// Resolves the case at `case_key` whose deadline lapsed before
/// `time_ms`, as its record says. A key without a case, or a case that no
/// longer waits, is left alone (nothing to resolve).
pub(crate) fn lapse<E: KvEngine>(
    view: &mut StateView<'_, E>,
    genesis: &Genesis,
    case_key: &[u8],
    time_ms: i64,
) -> Result<(), LedgerError> {
    let Some(mut rec) = view.record::<CaseRecord>(CF_STATE, case_key, "case")? else {
        return Ok(());
    };
    let waiting = [pb::CaseStatus::AwaitingAnswer, pb::CaseStatus::AwaitingReply, pb::CaseStatus::AwaitingRuling];
    if !waiting.iter().any(|s| rec.status == *s as i32) || rec.deadline_ms >= time_ms {
        return Ok(());
    }
    let upheld = match pb::LapseOutcome::try_from(rec.lapse_outcome) {
        Ok(pb::LapseOutcome::Uphold) => true,
        Ok(pb::LapseOutcome::Reject) => false,
        _ => {
            // A trade answer the buyer let stand.
            let disputed = rec.trade_answer.as_ref().is_some_and(|a| a.kind == pb::TradeAnswerKind::Dispute as i32);
            let status = if disputed { pb::CaseStatus::Rejected } else { pb::CaseStatus::Resolved };
            let text =
                format!("no reply before the deadline: the seller's answer stands ({})", status_name(status as i32));
            rec.steps.push(step("lapsed", "", rec.awaited_since_leaf, time_ms, &text));
            close(view, case_key, &mut rec, status, pb::ClosedBy::Lapse)?;
            view.put_record(CF_STATE, case_key.to_vec(), &rec);
            return Ok(());
        }
    };
    let waited = status_name(rec.status);
    if upheld && rec.kind == CaseKind::Ip as i32 && rec.status == pb::CaseStatus::AwaitingAnswer as i32 {
        // An unanswered notice stands by itself only under a right an
        // authority attested; under a self-declared one the deciding party
        // rules, so an unverified claim never withdraws goods or strikes
        // a party unheard.
        if !ip::right_attested(view, &rec)? {
            let policy = super::policy_in_force(view, genesis)?;
            let w = super::Windows(&policy);
            let text = "no answer before the deadline; the right is self-declared, so the deciding party rules";
            rec.steps.push(step("lapsed", "", rec.awaited_since_leaf, time_ms, text));
            let (since, deadline) = (rec.awaited_since_leaf, time_ms.saturating_add(w.ip_decision_ms()));
            let status = pb::CaseStatus::AwaitingRuling;
            wait_for(view, case_key, &mut rec, status, since, deadline, w.ip_on_no_ruling());
            view.put_record(CF_STATE, case_key.to_vec(), &rec);
            return Ok(());
        }
    }
    let status = if upheld { pb::CaseStatus::Upheld } else { pb::CaseStatus::Rejected };
    let text =
        format!("no step before the deadline ({waited}): the policy {}", if upheld { "upholds" } else { "rejects" });
    rec.steps.push(step("lapsed", "", rec.awaited_since_leaf, time_ms, &text));
    let since = rec.awaited_since_leaf;
    close(view, case_key, &mut rec, status, pb::ClosedBy::Lapse)?;
    if upheld && rec.kind == CaseKind::Ip as i32 {
        let why = format!("upheld when the deadline for {waited} lapsed");
        ip::enforce_uphold(view, genesis, &mut rec, since, time_ms, &why)?;
    }
    view.put_record(CF_STATE, case_key.to_vec(), &rec);
    Ok(())
}
