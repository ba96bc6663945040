//! Code attempts: an item's guess budget, spent through consensus before a
//! verification checks the code.
//!
//! Deciding the budget at apply makes it one budget for the whole network:
//! however many requests arrive at once, on whatever nodes, the log orders
//! their attempts and at most `LOCKOUT_FAILURES` unmatched ones (and
//! `MAX_ATTEMPTS_PER_WINDOW` in all) per window are counted; the rest are
//! refused before any code is compared. A counted attempt changes the
//! item's state and appends no leaf (see `apply`), so wrong guesses cost
//! the log nothing.
//!
//! Items commissioned with a label token take attempts only with the
//! token, so nobody who has not seen the label can spend its guesses.

use veritrace_core::Reason;
use veritrace_core::label_token::label_token_digest;
use veritrace_core::scan::{self, GuessBudget};
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::{Ctx, Rule, refuse, require, validate};
use crate::schema::CF_STATE;
use crate::state::keys;
use crate::state::records::{AttemptLog, AttemptRecord, ItemRecord};

/// Shortest and longest request id, in bytes.
pub const REQUEST_ID_LEN: std::ops::RangeInclusive<usize> = 16..=64;

pub(crate) fn check_request_id(field: &str, id: &[u8]) -> Rule {
    require(REQUEST_ID_LEN.contains(&id.len()), || {
        format!("{field}: {} bytes; a request id is 16 to 64 bytes", id.len())
    })
}

/// The item's attempts younger than the window at `now_ms`.
pub(crate) fn recent(log: &AttemptLog, now_ms: i64) -> impl Iterator<Item = &AttemptRecord> {
    log.recent.iter().filter(move |a| now_ms - a.time_ms < scan::LOCKOUT_WINDOW_MS)
}

/// The item's guess budget at `now_ms`.
pub fn budget(item: &ItemRecord, now_ms: i64) -> GuessBudget {
    let log = item.attempts.clone().unwrap_or_default();
    GuessBudget::at(recent(&log, now_ms).map(|a| (a.time_ms, a.matched)), now_ms)
}

/// Checks a presented label token (empty: none) against the item's: the
/// one rule apply and a verifying node both use.
pub fn label_token_refusal(item: &ItemRecord, token: &[u8]) -> Option<(Reason, String)> {
    if item.label_token_digest.is_empty() {
        return None;
    }
    if token.is_empty() {
        return Some((
            Reason::LabelTokenRequired,
            format!("item {}/{} takes verifications only with its label token", item.gtin, item.serial),
        ));
    }
    if label_token_digest(token).as_bytes()[..] != item.label_token_digest[..] {
        return Some((Reason::LabelTokenMismatch, "the label token is not this item's".into()));
    }
    None
}

/// The leaf of the scan recorded for verification `request_id` of the
/// item, if that verification is over.
pub fn recorded_scan(item: &ItemRecord, request_id: &[u8]) -> Option<u64> {
    let log = item.attempts.as_ref()?;
    log.recent.iter().find(|r| r.request_id == request_id && r.matched).map(|r| r.scan_leaf)
}

fn check_label_token(item: &ItemRecord, token: &[u8]) -> Rule {
    match label_token_refusal(item, token) {
        Some((reason, message)) => refuse(reason, message),
        None => Ok(()),
    }
}

pub(super) fn spend<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::CodeAttempt) -> Rule {
    let Some(item) = &a.item else { return refuse(Reason::InvalidAction, "item is required") };
    let (_, key) = validate::item_key("item", &item.gtin, &item.serial)?;
    let record_key = keys::item(&key);
    let Some(mut rec) = ctx.view.record::<ItemRecord>(CF_STATE, &record_key, "item")? else {
        return refuse(
            Reason::ItemNotCommissioned,
            format!("item {}/{} was never commissioned", item.gtin, item.serial),
        );
    };
    count(ctx, &mut rec, &a.request_id, &a.label_token, None)?;
    ctx.view.put_record(CF_STATE, record_key, &rec);
    Ok(())
}

/// Counts one guess on `rec` for verification `request_id` with the
/// presented `label_token`, as the envelope being applied: a `CodeAttempt`
/// (a wrong code: `matched_scan` is `None`), or a consumer scan that spends
/// its own guess and records it as matched (`matched_scan`: its leaf).
/// Refuses, changing nothing, when the signer is no validator operator,
/// the envelope is stale or a replay, the token is missing or wrong, the
/// verification is already recorded, or the item's budget is spent.
pub(crate) fn count<E: KvEngine>(
    ctx: &mut Ctx<'_, E>,
    rec: &mut ItemRecord,
    request_id: &[u8],
    label_token: &[u8],
    matched_scan: Option<u64>,
) -> Rule {
    // Not in the role policy: a protocol step of the nodes that serve
    // VerifyItem (they hold the digests codes are compared with), never a
    // business permission to grant.
    if ctx.signer.validator_peer_id.is_empty() {
        return refuse(Reason::NotPermitted, "code guesses are counted by validator operators only (VerifyItem)");
    }
    // Fresh, so a guess copied from the log cannot be replayed once its
    // record has left the window.
    match ctx.client_time_ms {
        Some(t) if ctx.time_ms - t <= scan::LOCKOUT_WINDOW_MS => {}
        Some(t) => {
            return refuse(
                Reason::ClientTimeOutOfWindow,
                format!("a code guess's client_time {t} is more than 15 minutes before the commit time"),
            );
        }
        None => return refuse(Reason::InvalidAction, "a code guess needs a client_time"),
    }
    check_request_id("request_id", request_id)?;
    require(label_token.len() <= 64, || "label_token: at most 64 bytes".into())?;
    check_label_token(rec, label_token)?;
    let now = ctx.time_ms;
    let mut log = rec.attempts.take().unwrap_or_default();
    log.recent.retain(|r| now - r.time_ms < scan::LOCKOUT_WINDOW_MS);
    let attempt_id = ctx.envelope_id.as_bytes().to_vec();
    if log.recent.iter().any(|r| r.attempt_id == attempt_id) {
        return refuse(Reason::AlreadyExists, "this envelope's guess was counted already (a replay)");
    }
    // A request id names one verification, not one guess: a retry of a
    // wrong code is a new guess and spends again (else one id would buy
    // unlimited comparisons). Only a verification whose scan is recorded
    // is over; the node answers its retries from the scan.
    if let Some(done) = log.recent.iter().find(|r| r.request_id == request_id && r.matched) {
        return refuse(Reason::ScanAlreadyRecorded, format!("the scan of this request_id is leaf {}", done.scan_leaf));
    }
    let budget = GuessBudget::at(log.recent.iter().map(|r| (r.time_ms, r.matched)), now);
    if budget.left == 0 {
        let open_at = budget.open_at_ms.unwrap_or(now);
        return refuse(
            Reason::CodeAttemptsExhausted,
            format!("item {}/{} takes no guess until {open_at} (unix ms)", rec.gtin, rec.serial),
        );
    }
    log.recent.push(AttemptRecord {
        request_id: request_id.to_vec(),
        time_ms: now,
        party_id: ctx.signer_id().to_owned(),
        matched: matched_scan.is_some(),
        scan_leaf: matched_scan.unwrap_or_default(),
        attempt_id,
    });
    log.total += 1;
    if matched_scan.is_some() {
        log.matched += 1;
    }
    rec.attempts = Some(log);
    Ok(())
}
