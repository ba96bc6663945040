//! Reads that answer domain questions: an item's state, verdict inputs and
//! journey; party profiles; lists of parties and proposals.
//!
//! Reads see the last applied batch (a read never blocks apply). They
//! build API messages directly, so the gRPC layer stays thin.

mod journey;
mod marketplace;
mod parties;
mod summaries;

pub use journey::JOURNEY_ACTIONS;
pub use parties::PartyFilter;
pub use summaries::{certificate, party_summary, product_summary, validity};

use veritrace_core::gs1::{EpcId, Sgtin};
use veritrace_core::scan::{self, GuessBudget, VerdictInputs};
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use crate::domain::lifecycle;
use crate::schema::CF_STATE;
use crate::state::records::{AttestationRecord, ItemRecord, ProductRecord, RefList};
use crate::state::{Overlay, StateView, keys};
use crate::{Ledger, LedgerError};

/// Everything the ledger knows about an item that a verification needs.
#[derive(Debug, Clone)]
pub struct ItemReport {
    /// The item record; `None` for an item never commissioned.
    pub record: Option<ItemRecord>,
    /// Its product class.
    pub product: Option<pb::ProductSummary>,
    /// Its state.
    pub state: pb::ItemState,
    /// Decommission reason (its own or its lot's); 0 when in circulation.
    pub decommission_reason: i32,
    /// Out of circulation: decommissioned (itself or its lot) or seized.
    pub withdrawn: bool,
    /// Recalls in force.
    pub recalls: Vec<pb::RecallNotice>,
    /// Attestations covering the item, its lot or its GTIN, valid or not.
    pub certificates: Vec<pb::CertificateRef>,
    /// Scan counts.
    pub scan_stats: Option<pb::ScanStats>,
    /// Clone signals raised so far.
    pub clone_signals: Vec<String>,
    /// The item's guess budget now.
    pub budget: GuessBudget,
}

impl ItemReport {
    /// The verdict of these facts for a code that `matched` or not,
    /// counting the scans recorded so far (see
    /// [`Ledger::preview_matched_scan`] for the verdict a new scan gets).
    pub fn verdict(&self, matched: bool) -> pb::Verdict {
        scan::verdict(&VerdictInputs {
            known: self.record.is_some(),
            code_matched: matched,
            withdrawn: self.withdrawn,
            recalled: !self.recalls.is_empty(),
            clone_signals: self.clone_signals.clone(),
            scan_count: self.scan_stats.as_ref().map_or(0, |s| s.count),
        })
    }
}

impl Default for ItemReport {
    fn default() -> Self {
        ItemReport {
            record: None,
            product: None,
            state: pb::ItemState::Unspecified,
            decommission_reason: 0,
            withdrawn: false,
            recalls: Vec::new(),
            certificates: Vec::new(),
            scan_stats: None,
            clone_signals: Vec::new(),
            budget: GuessBudget { left: scan::LOCKOUT_FAILURES as u32, open_at_ms: None },
        }
    }
}

impl<E: KvEngine> Ledger<E> {
    /// A read-only view of the applied state.
    pub(crate) fn with_view<T>(
        &self,
        f: impl FnOnce(&StateView<'_, E>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let empty = Overlay::default();
        // A state record that fails its tag is corruption: noted for health.
        f(&StateView::new(&self.engine, &empty)).map_err(|e| self.noted(e))
    }

    /// The item record of an SGTIN.
    pub fn item_record(&self, item: &Sgtin) -> Result<Option<ItemRecord>, LedgerError> {
        let key = EpcId::Sgtin(item.clone()).key_bytes();
        self.with_view(|v| v.record(CF_STATE, &keys::item(&key), "item"))
    }

    /// The brand code key stored under `public_key`
    /// (CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1), if any.
    pub fn code_key(&self, public_key: &[u8]) -> Result<Option<pb::ThresholdCodeKey>, LedgerError> {
        let record: Option<crate::state::records::CodeKeyRecord> =
            self.with_view(|v| v.record(CF_STATE, &keys::code_key(public_key), "code key"))?;
        Ok(record.and_then(|r| r.key))
    }

    /// The leaf of the EPCIS event with `event_id` and the leaf of the error
    /// declaration that retracted it (0: none), if the event is recorded.
    pub fn event_leaf(&self, event_id: &str) -> Result<Option<(u64, u64)>, LedgerError> {
        let record: Option<crate::state::records::EventRecord> =
            self.with_view(|v| v.record(CF_STATE, &keys::event(event_id), "event"))?;
        Ok(record.map(|r| (r.leaf, r.retracted_leaf)))
    }

    /// The registered product of `gtin` (14 digits) as consumers see it.
    pub fn product(&self, gtin: &str) -> Result<Option<pb::ProductSummary>, LedgerError> {
        self.with_view(|view| {
            let Some(p) = view.record::<ProductRecord>(CF_STATE, &keys::product(gtin), "product")? else {
                return Ok(None);
            };
            let brand_id = p.product.as_ref().map(|x| x.brand_party_id.clone()).unwrap_or_default();
            let brand = view.party(&brand_id)?;
            Ok(Some(summaries::product_summary(gtin, &p, brand.as_ref())))
        })
    }

    /// What a verification of `item` at `now_ms` (the verifier's clock, for
    /// validity and the guess budget) needs to know.
    pub fn item_report(&self, item: &Sgtin, now_ms: i64) -> Result<ItemReport, LedgerError> {
        let key = EpcId::Sgtin(item.clone()).key_bytes();
        self.with_view(|view| {
            let Some(record) = view.record::<ItemRecord>(CF_STATE, &keys::item(&key), "item")? else {
                return Ok(ItemReport { state: pb::ItemState::Unknown, ..Default::default() });
            };
            report_in(view, record, now_ms)
        })
    }

    /// The verdict and clone signals a consumer scan of `item` with a
    /// matching code, stated at `place` from `device` at `now_ms`, would be
    /// recorded with if it were applied now: what a node puts in the scan
    /// it signs. Apply derives them again at the scan's position and
    /// refuses a scan that differs (VERDICT_MISMATCH), so a concurrent scan
    /// only costs a retry. `None` for an unknown item.
    pub fn preview_matched_scan(
        &self,
        item: &Sgtin,
        place: &pb::Place,
        device: &[u8],
        now_ms: i64,
    ) -> Result<Option<(pb::Verdict, Vec<String>)>, LedgerError> {
        let key = EpcId::Sgtin(item.clone()).key_bytes();
        self.with_view(|view| {
            let Some(mut record) = view.record::<ItemRecord>(CF_STATE, &keys::item(&key), "item")? else {
                return Ok(None);
            };
            crate::domain::scans::count_consumer_match(&mut record, place, device, now_ms, 0);
            let inputs = verdict_inputs(view, &record, true, now_ms)?;
            Ok(Some((scan::verdict(&inputs), recorded_signals(&inputs.clone_signals))))
        })
    }
}

/// The verdict inputs of an item record as of `view` at `now_ms`, for a
/// code that `matched` or not. Shared by reads and by apply, so both
/// derive the same verdict.
pub(crate) fn verdict_inputs<E: KvEngine>(
    view: &StateView<'_, E>,
    record: &ItemRecord,
    matched: bool,
    now_ms: i64,
) -> Result<VerdictInputs, LedgerError> {
    let seized = record.state.as_ref().is_some_and(|s| s.seized);
    let withdrawn = seized || lifecycle::decommission_reason(view, record)? != 0;
    let recalled = !lifecycle::recalls_in_force(view, record, now_ms)?.is_empty();
    Ok(VerdictInputs {
        known: true,
        code_matched: matched,
        withdrawn,
        recalled,
        clone_signals: clone_signals(record),
        scan_count: record.scans.as_ref().map_or(0, |s| s.count),
    })
}

/// The clone signals a consumer scan records: those in force with it, at
/// most 8.
pub(crate) fn recorded_signals(signals: &[String]) -> Vec<String> {
    signals.iter().take(8).cloned().collect()
}

fn clone_signals(record: &ItemRecord) -> Vec<String> {
    let mut signals = record.scans.as_ref().map(|s| s.signals.clone()).unwrap_or_default();
    if record.reported_counterfeit && !signals.iter().any(|s| s == scan::REPORTED_COUNTERFEIT) {
        signals.push(scan::REPORTED_COUNTERFEIT.to_owned());
    }
    signals
}

/// The report of a commissioned item as of `view`.
fn report_in<E: KvEngine>(view: &StateView<'_, E>, record: ItemRecord, now_ms: i64) -> Result<ItemReport, LedgerError> {
    let gtin = record.gtin.clone();
    let product = match view.record::<ProductRecord>(CF_STATE, &keys::product(&gtin), "product")? {
        Some(p) => {
            let brand_id = p.product.as_ref().map(|x| x.brand_party_id.clone()).unwrap_or_default();
            let brand = view.party(&brand_id)?;
            Some(summaries::product_summary(&gtin, &p, brand.as_ref()))
        }
        None => None,
    };
    let decommission_reason = lifecycle::decommission_reason(view, &record)?;
    let mut recalls = Vec::new();
    for r in lifecycle::recalls_in_force(view, &record, now_ms)? {
        let issuer = view.party(&r.issuer)?;
        recalls.push(summaries::recall_notice(&r, issuer.as_ref()));
    }
    let certificates = item_certificates(view, &record, now_ms)?;
    let scans = record.scans.clone().unwrap_or_default();
    let previous = scans.previous_place.clone().filter(|_| scans.count > 1).map(|p| (scans.previous_ms, p));
    let attempts = record.attempts.clone().unwrap_or_default();
    let budget = crate::domain::attempts::budget(&record, now_ms);
    let seized = record.state.as_ref().is_some_and(|s| s.seized);
    let withdrawn = seized || decommission_reason != 0;
    let state = if withdrawn {
        pb::ItemState::Withdrawn
    } else if !recalls.is_empty() {
        pb::ItemState::Recalled
    } else {
        pb::ItemState::Active
    };
    let mut stats = summaries::scan_stats(&scans, previous);
    stats.invalid_code_count = scans.invalid_count + attempts.total.saturating_sub(attempts.matched);
    stats.party_reported_count = scans.party_reported;
    Ok(ItemReport {
        product,
        state,
        decommission_reason,
        withdrawn,
        recalls,
        certificates,
        scan_stats: Some(stats),
        clone_signals: clone_signals(&record),
        budget,
        record: Some(record),
    })
}

/// Attestations on the item's GTIN that cover it (whole GTIN, its lot or
/// its serial).
pub(crate) fn item_certificates<E: KvEngine>(
    view: &StateView<'_, E>,
    item: &ItemRecord,
    now_ms: i64,
) -> Result<Vec<pb::CertificateRef>, LedgerError> {
    let mut out = Vec::new();
    for r in item_attestations(view, item)? {
        let by = view.party(&r.signer)?;
        out.push(summaries::certificate(&r, by.as_ref(), now_ms, now_ms));
    }
    Ok(out)
}

/// The attestation records covering an item.
pub(crate) fn item_attestations<E: KvEngine>(
    view: &StateView<'_, E>,
    item: &ItemRecord,
) -> Result<Vec<AttestationRecord>, LedgerError> {
    let list: RefList =
        view.record(CF_STATE, &keys::attestations_on_gtin(&item.gtin), "attestation list")?.unwrap_or_default();
    let mut out = Vec::new();
    for reference in &list.refs {
        let Some(r) = attestation_by_ref(view, reference)? else { continue };
        let a = r.attestation.clone().unwrap_or_default();
        let covers = a.subject_gtins.contains(&item.gtin)
            || a.subject_items.iter().any(|s| {
                s.gtin == item.gtin
                    && (s.serials.contains(&item.serial) || (!item.lot.is_empty() && s.lots.contains(&item.lot)))
            });
        if covers {
            out.push(r);
        }
    }
    Ok(out)
}

/// The attestation a `RefList` entry (`party \0 id`) names, if any.
pub(crate) fn attestation_by_ref<E: KvEngine>(
    view: &StateView<'_, E>,
    reference: &str,
) -> Result<Option<AttestationRecord>, LedgerError> {
    let Some((party, id)) = keys::split_reference(reference) else { return Ok(None) };
    view.record(CF_STATE, &keys::attestation(party, id), "attestation")
}
