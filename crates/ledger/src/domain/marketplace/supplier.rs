//! Supplier signals: business licences (a registry authority), factory
//! audits (an inspection party), delivery bonds (a platform), the
//! blacklist (governance), IP strikes and complaint counts (the cases),
//! and confirmed deliveries (carriers' confirmations of tracking numbers).
//!
//! Each signal is a statement by the party whose role the policy trusts
//! for it, kept with its leaf; none is a claim the supplier makes about
//! itself (the audit shows the supplier's claimed figures next to the
//! auditor's).

use veritrace_core::Reason;
use veritrace_proto::timestamp_from_ms;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::governance_action::Action as Gov;
use veritrace_storage::KvEngine;

use super::super::validate::{self, MAX_TEXT};
use super::super::{Ctx, Rule, governance, refuse, require};
use super::validity;
use crate::schema::CF_STATE;
use crate::state::market::{SignalEntry, SupplierRecord};
use crate::state::{StateView, keys};
use crate::{Genesis, LedgerError};

/// Most complaint leaves a count keeps (the newest are dropped beyond).
const MAX_COUNTED_LEAVES: usize = 100;

fn load<E: KvEngine>(view: &StateView<'_, E>, party: &str) -> Result<SupplierRecord, LedgerError> {
    Ok(view.record(CF_STATE, &keys::supplier(party), "supplier")?.unwrap_or_default())
}

fn save<E: KvEngine>(view: &mut StateView<'_, E>, party: &str, rec: &SupplierRecord) {
    view.put_record(CF_STATE, keys::supplier(party), rec);
}

/// Updates the counts of complaints of `kind` against `party`; a non-zero
/// `leaf` is listed as a complaint counted.
pub(crate) fn count<E: KvEngine>(
    view: &mut StateView<'_, E>,
    party: &str,
    kind: &str,
    leaf: u64,
    f: impl FnOnce(&mut pb::ComplaintCounts),
) -> Result<(), LedgerError> {
    let mut rec = load(view, party)?;
    let i = match rec.complaints.binary_search_by(|c| c.kind.as_str().cmp(kind)) {
        Ok(i) => i,
        Err(i) => {
            rec.complaints.insert(i, pb::ComplaintCounts { kind: kind.into(), ..Default::default() });
            i
        }
    };
    let counts = &mut rec.complaints[i];
    f(counts);
    if leaf != 0 {
        // The newest: early complaints cannot hide later ones.
        if counts.leaves.len() >= MAX_COUNTED_LEAVES {
            counts.leaves.remove(0);
        }
        counts.leaves.push(leaf);
    }
    save(view, party, &rec);
    Ok(())
}

/// Counts an upheld or accepted IP complaint against `party`; at every
/// multiple of the policy's strike count, opens a governance proposal to
/// suspend it.
pub(crate) fn add_strike<E: KvEngine>(
    view: &mut StateView<'_, E>,
    genesis: &Genesis,
    party: &str,
    time_ms: i64,
) -> Result<(), LedgerError> {
    let mut rec = load(view, party)?;
    rec.ip_strikes += 1;
    let strikes = rec.ip_strikes;
    save(view, party, &rec);
    let policy = super::policy_in_force(view, genesis)?;
    let every = super::Windows(&policy).strikes_for_proposal();
    if strikes % every == 0 {
        let id = format!("{}strikes:{party}:{strikes}", governance::LEDGER_PROPOSAL_PREFIX);
        let reason = format!("{strikes} upheld intellectual-property complaints (strike policy: every {every})");
        let action = Gov::SuspendParty(pb::SuspendParty { party_id: party.into(), reason: reason.clone() });
        governance::open_ledger_proposal(view, genesis, &id, action, reason, time_ms)?;
    }
    Ok(())
}

/// Whether a tracking record counts as a delivery of its shipper's: the
/// carrier it names confirmed it after the shipper shipped under it, and
/// the carrier is not the shipper itself (no party vouches for itself).
pub(crate) fn counts_as_delivery(rec: &crate::state::records::TrackingRecord) -> bool {
    rec.confirmed && !rec.shipper.is_empty() && rec.confirmed_leaf > rec.shipped_leaf && rec.carrier != rec.shipper
}

/// Lists a party's shipment whose tracking number its carrier confirmed
/// at `leaf` (the confirmation's leaf).
pub(crate) fn record_delivery<E: KvEngine>(view: &mut StateView<'_, E>, shipper: &str, leaf: u64, tracking: &str) {
    view.put(CF_STATE, keys::delivered(shipper, leaf, tracking), Vec::new());
}

/// Checks an amount of money: `required` refuses an unset one.
pub(crate) fn money(field: &str, m: &Option<pb::Money>, required: bool) -> Rule {
    let Some(m) = m else {
        return require(!required, || format!("{field} is required"));
    };
    let (whole, cents) = m.amount.split_once('.').unwrap_or((&m.amount, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    require(!whole.is_empty() && m.amount.len() <= 20 && digits(whole) && digits(cents) && cents.len() <= 2, || {
        format!("{field}.amount: {:?} must be a decimal amount with at most 2 decimals", m.amount)
    })?;
    require(m.currency.len() == 3 && m.currency.bytes().all(|b| b.is_ascii_uppercase()), || {
        format!("{field}.currency: {:?} is not an ISO 4217 code", m.currency)
    })
}

/// Adds a signal about `subject` after checking the id is new for the signer.
fn add_signal<E: KvEngine>(
    ctx: &mut Ctx<'_, E>,
    kind: &str,
    id: &str,
    subject: &str,
    fill: impl FnOnce(&mut SignalEntry),
) -> Rule {
    validate::party_id("subject_party_id", subject)?;
    if ctx.party(subject)?.is_none() {
        return refuse(Reason::NotFound, format!("no party {subject:?}"));
    }
    let me = ctx.signer_id().to_owned();
    let id_key = keys::market_id(kind, &me, id);
    if ctx.view.exists(CF_STATE, &id_key)? {
        return refuse(Reason::AlreadyExists, format!("{kind} {id} exists already"));
    }
    let mut entry = SignalEntry { signer: me, leaf: ctx.leaf, record_ms: ctx.time_ms, ..Default::default() };
    fill(&mut entry);
    ctx.view.put_record(CF_STATE, keys::supplier_signal(subject, ctx.leaf), &entry);
    ctx.view.put(CF_STATE, id_key, Vec::new());
    Ok(())
}

pub(crate) fn licence<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::BusinessLicence) -> Rule {
    validate::client_id("licence_id", &a.licence_id)?;
    validate::text("licence_number", &a.licence_number, 200, true)?;
    money("registered_capital", &a.registered_capital, false)?;
    validate::text("business_scope", &a.business_scope, MAX_TEXT, false)?;
    validity("valid_from", &a.valid_from, &a.valid_until)?;
    validate::digest("document_digest", &a.document_digest, true)?;
    add_signal(ctx, "licence", &a.licence_id, &a.subject_party_id, |e| e.licence = Some(a.clone()))
}

pub(crate) fn audit<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::FactoryAudit) -> Rule {
    validate::client_id("audit_id", &a.audit_id)?;
    validate::text("site_address", &a.site_address, 1000, true)?;
    if let Some(site) = &a.site {
        if !site.country.is_empty() {
            validate::country("site.country", &site.country)?;
        }
        validate::text("site.city", &site.city, 200, false)?;
    }
    require(a.attested.is_some(), || "attested: the auditor's figures are required".into())?;
    validity("audited_at", &a.audited_at, &a.valid_until)?;
    validate::digest("report_digest", &a.report_digest, true)?;
    add_signal(ctx, "audit", &a.audit_id, &a.subject_party_id, |e| e.audit = Some(a.clone()))
}

pub(crate) fn bond<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::DeliveryBond) -> Rule {
    validate::client_id("bond_id", &a.bond_id)?;
    money("amount", &a.amount, true)?;
    validity("valid_from", &a.valid_from, &a.valid_until)?;
    add_signal(ctx, "bond", &a.bond_id, &a.subject_party_id, |e| e.bond = Some(a.clone()))
}

/// Executes an approved `BlacklistParty`.
pub(crate) fn blacklist<E: KvEngine>(ctx: &mut Ctx<'_, E>, b: &pb::BlacklistParty) -> Rule {
    if ctx.party(&b.party_id)?.is_none() {
        return refuse(Reason::NotFound, format!("no party {:?}", b.party_id));
    }
    let mut rec = load(&ctx.view, &b.party_id)?;
    let listed_now = rec.blacklist.as_ref().is_some_and(|s| s.listed);
    require(listed_now != b.listed, || {
        format!("{} is {} the blacklist already", b.party_id, if b.listed { "on" } else { "off" })
    })?;
    rec.blacklist = Some(pb::BlacklistSignal {
        listed: b.listed,
        reason: b.reason.clone(),
        leaf_index: ctx.leaf,
        since: Some(timestamp_from_ms(ctx.time_ms)),
    });
    save(&mut ctx.view, &b.party_id, &rec);
    Ok(())
}
