//! Reads that answer domain questions: an item's state, verdict inputs and
//! journey; party profiles; lists of parties and proposals.
//!
//! Reads see the last applied batch (a read never blocks apply). They
//! build API messages directly, so the gRPC layer stays thin.

mod journey;
mod parties;
mod summaries;

pub use journey::JOURNEY_ACTIONS;
pub use parties::PartyFilter;
pub use summaries::{certificate, party_summary, product_summary, validity};

use veritrace_core::gs1::{EpcId, Sgtin};
use veritrace_core::scan;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use crate::domain::lifecycle;
use crate::schema::CF_STATE;
use crate::state::records::{AttestationRecord, ItemRecord, ProductRecord, RefList};
use crate::state::{Overlay, StateView, keys};
use crate::{Ledger, LedgerError};

/// Everything the ledger knows about an item that a verification needs.
#[derive(Debug, Clone, Default)]
pub struct ItemReport {
    /// The item record; `None` for an item never commissioned.
    pub record: Option<ItemRecord>,
    /// Its product class.
    pub product: Option<pb::ProductSummary>,
    /// Its state.
    pub state: pb::ItemState,
    /// Decommission reason (its own or its lot's); 0 when in circulation.
    pub decommission_reason: i32,
    /// Recalls in force.
    pub recalls: Vec<pb::RecallNotice>,
    /// Attestations covering the item, its lot or its GTIN, valid or not.
    pub certificates: Vec<pb::CertificateRef>,
    /// Scan counts.
    pub scan_stats: Option<pb::ScanStats>,
    /// Clone signals raised so far.
    pub clone_signals: Vec<String>,
    /// While wrong codes lock the serial: until when (unix ms).
    pub locked_until_ms: Option<i64>,
}

impl<E: KvEngine> Ledger<E> {
    /// A read-only view of the applied state.
    pub(crate) fn with_view<T>(
        &self,
        f: impl FnOnce(&StateView<'_, E>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let empty = Overlay::default();
        f(&StateView::new(&self.engine, &empty))
    }

    /// The item record of an SGTIN.
    pub fn item_record(&self, item: &Sgtin) -> Result<Option<ItemRecord>, LedgerError> {
        let key = EpcId::Sgtin(item.clone()).key_bytes();
        self.with_view(|v| v.record(CF_STATE, &keys::item(&key), "item"))
    }

    /// What a verification of `item` at `now_ms` (the verifier's clock, for
    /// validity and lock-out) needs to know.
    pub fn item_report(&self, item: &Sgtin, now_ms: i64) -> Result<ItemReport, LedgerError> {
        let key = EpcId::Sgtin(item.clone()).key_bytes();
        self.with_view(|view| {
            let Some(record) = view.record::<ItemRecord>(CF_STATE, &keys::item(&key), "item")? else {
                return Ok(ItemReport { state: pb::ItemState::Unknown, ..Default::default() });
            };
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
            let previous = scans.last_place.clone().filter(|_| scans.count > 1).map(|p| (scans.last_ms, p));
            let locked_until_ms = scan::locked_until(&scans.recent_failures_ms, now_ms);
            let state = if decommission_reason != 0 {
                pb::ItemState::Withdrawn
            } else if !recalls.is_empty() {
                pb::ItemState::Recalled
            } else {
                pb::ItemState::Active
            };
            let mut clone_signals = scans.signals.clone();
            if record.reported_counterfeit && !clone_signals.iter().any(|s| s == scan::REPORTED_COUNTERFEIT) {
                clone_signals.push(scan::REPORTED_COUNTERFEIT.to_owned());
            }
            Ok(ItemReport {
                product,
                state,
                decommission_reason,
                recalls,
                certificates,
                scan_stats: Some(summaries::scan_stats(&scans, previous)),
                clone_signals,
                locked_until_ms,
                record: Some(record),
            })
        })
    }
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
