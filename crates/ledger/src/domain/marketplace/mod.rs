//! The marketplace rules: supplier signals (licences, audits, bonds,
//! blacklist), IP complaints with counter-notice, trade complaints tied to
//! orders, and brands' acknowledgements of complaints.
//!
//! Threat model (ARCHITECTURE.md, "Marketplace cases"): every party may be
//! an adversary. A rival files complaints to take a competitor's genuine
//! items off the market, so a complaint only names what the accused
//! commissioned or holds, the accused always gets the policy's window to
//! answer, and only a third party (the role policy's deciding role, never
//! a party of the case) rules. An accused stalls, so every wait has a
//! deadline that resolves the case at apply when it lapses. A deciding
//! party sits on a case, so its ruling has a deadline too. Nobody can
//! rewrite a step: each is a leaf, and the case record only ever moves
//! forward.
//!
//! Deadlines are counted from commit times and checked at apply: a step
//! committed after its deadline is refused (DEADLINE_PASSED); the first
//! batch committed after a deadline resolves the case as the policy fixed
//! when the deadline was set ([`sweep`]), before any envelope of that
//! batch runs. So every replica decides the same at the same position.

pub(crate) mod acks;
pub(crate) mod cases;
pub(crate) mod ip;
pub(crate) mod supplier;
pub(crate) mod trade;

use veritrace_core::Reason;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::validate;
use super::{Rule, refuse, require};

use crate::schema::CF_STATE;
use crate::state::{StateView, keys};
use crate::{Genesis, LedgerError};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Shortest window a policy may set.
const MIN_WINDOW_MS: i64 = 1000;
/// Longest window a policy may set.
const MAX_WINDOW_MS: i64 = 365 * DAY_MS;

/// A list of blake3 digests (evidence kept off-ledger, cited envelope
/// ids): `at_least` to 64, each 32 bytes.
pub(crate) fn digest_list(field: &str, digests: &[Vec<u8>], at_least: usize) -> Rule {
    require(digests.len() >= at_least && digests.len() <= 64, || {
        format!("{field}: {at_least} to 64 digests are required, got {}", digests.len())
    })?;
    digests.iter().try_for_each(|d| validate::digest(field, d, false))
}

/// A validity span: `from` required, `until` after it when set.
pub(crate) fn validity(
    from_field: &str,
    from: &Option<prost_types::Timestamp>,
    until: &Option<prost_types::Timestamp>,
) -> Rule {
    let Some(from) = from else { return refuse(Reason::InvalidAction, format!("{from_field} is required")) };
    let from = validate::time_ms(from_field, from)?;
    if let Some(until) = until {
        require(validate::time_ms("valid_until", until)? > from, || format!("valid_until must be after {from_field}"))?;
    }
    Ok(())
}

/// The marketplace policy in force as of `view`.
pub(crate) fn policy_in_force<E: KvEngine>(
    view: &StateView<'_, E>,
    genesis: &Genesis,
) -> Result<pb::MarketplacePolicy, LedgerError> {
    if let Some(p) = view.record::<pb::MarketplacePolicy>(CF_STATE, keys::MARKETPLACE_POLICY, "marketplace policy")? {
        return Ok(p);
    }
    Ok(genesis.proto().marketplace_policy.unwrap_or_default())
}

/// Checks a policy before it is put in force.
pub(crate) fn validate_policy(p: &pb::MarketplacePolicy) -> Result<(), String> {
    let windows = [
        ("ip_answer_window", &p.ip_answer_window),
        ("ip_decision_window", &p.ip_decision_window),
        ("trade_answer_window", &p.trade_answer_window),
        ("trade_reply_window", &p.trade_reply_window),
        ("trade_decision_window", &p.trade_decision_window),
        ("report_ack_window", &p.report_ack_window),
    ];
    for (name, d) in windows {
        let Some(d) = d else { continue };
        let ms = d.seconds.saturating_mul(1000).saturating_add(i64::from(d.nanos / 1_000_000));
        if !(MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&ms) || d.nanos < 0 {
            return Err(format!("{name}: must be between 1 second and 365 days"));
        }
    }
    let outcomes =
        [p.ip_on_no_answer, p.ip_on_no_ruling, p.trade_on_no_answer, p.trade_on_no_ruling].into_iter().enumerate();
    for (i, o) in outcomes {
        if pb::LapseOutcome::try_from(o).is_err() {
            return Err(format!("lapse outcome {i}: {o} is unknown"));
        }
    }
    Ok(())
}

/// The named windows of a policy, with their defaults applied.
pub(crate) struct Windows<'a>(pub(crate) &'a pb::MarketplacePolicy);

fn window(d: &Option<prost_types::Duration>, default_days: i64) -> i64 {
    d.as_ref()
        .map(|d| d.seconds.saturating_mul(1000).saturating_add(i64::from(d.nanos / 1_000_000)))
        .filter(|ms| *ms > 0)
        .unwrap_or(default_days * DAY_MS)
}

fn outcome(v: i32, default: pb::LapseOutcome) -> pb::LapseOutcome {
    match pb::LapseOutcome::try_from(v) {
        Ok(pb::LapseOutcome::Unspecified) | Err(_) => default,
        Ok(o) => o,
    }
}

impl Windows<'_> {
    pub(crate) fn ip_answer_ms(&self) -> i64 {
        window(&self.0.ip_answer_window, 7)
    }
    pub(crate) fn ip_on_no_answer(&self) -> pb::LapseOutcome {
        outcome(self.0.ip_on_no_answer, pb::LapseOutcome::Uphold)
    }
    pub(crate) fn ip_decision_ms(&self) -> i64 {
        window(&self.0.ip_decision_window, 14)
    }
    pub(crate) fn ip_on_no_ruling(&self) -> pb::LapseOutcome {
        outcome(self.0.ip_on_no_ruling, pb::LapseOutcome::Reject)
    }
    pub(crate) fn strikes_for_proposal(&self) -> u32 {
        if self.0.strikes_for_suspension_proposal == 0 { 3 } else { self.0.strikes_for_suspension_proposal }
    }
    pub(crate) fn trade_answer_ms(&self) -> i64 {
        window(&self.0.trade_answer_window, 5)
    }
    pub(crate) fn trade_on_no_answer(&self) -> pb::LapseOutcome {
        outcome(self.0.trade_on_no_answer, pb::LapseOutcome::Uphold)
    }
    pub(crate) fn trade_reply_ms(&self) -> i64 {
        window(&self.0.trade_reply_window, 5)
    }
    pub(crate) fn trade_decision_ms(&self) -> i64 {
        window(&self.0.trade_decision_window, 7)
    }
    pub(crate) fn trade_on_no_ruling(&self) -> pb::LapseOutcome {
        outcome(self.0.trade_on_no_ruling, pb::LapseOutcome::Reject)
    }
    pub(crate) fn report_ack_ms(&self) -> i64 {
        window(&self.0.report_ack_window, 3)
    }
}

/// Most lapsed cases one batch resolves; the rest wait for the next batch
/// (a late step is refused all the same: the rules compare the deadline
/// with the commit time). Bounds the work a burst of cases filed to lapse
/// together can put on one batch: at most this many cases, each
/// withdrawing at most `ip::MAX_ITEMS` items.
pub const MAX_LAPSES_PER_BATCH: usize = 64;

/// Resolves the cases whose deadline is before `commit_time_ms`, earliest
/// deadline first, at most [`MAX_LAPSES_PER_BATCH`], as each record's lapse
/// outcome says. Runs at the start of each batch, before its envelopes.
pub(crate) fn sweep<E: KvEngine>(
    view: &mut StateView<'_, E>,
    genesis: &Genesis,
    commit_time_ms: i64,
) -> Result<(), LedgerError> {
    let end = keys::deadline(commit_time_ms, &[]);
    let lapsed = view.scan_range_first(CF_STATE, keys::DEADLINE_PREFIX, Some(&end), MAX_LAPSES_PER_BATCH)?;
    for (key, _) in lapsed {
        view.delete(CF_STATE, key.clone());
        // Every deadline key is the prefix, 8 bytes of time, then a case key.
        let Some(case_key) = key.get(keys::DEADLINE_PREFIX.len() + 8..) else { continue };
        cases::lapse(view, genesis, case_key, commit_time_ms)?;
    }
    Ok(())
}
