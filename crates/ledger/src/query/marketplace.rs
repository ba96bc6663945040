//! Marketplace reads: a supplier's trust profile, and IP and trade cases.
//!
//! Reads are as of the last applied batch: "now" is its commit time, so
//! every replica at the same height answers the same. Every signal names
//! the leaf it comes from; nothing is scored.

use veritrace_core::Hash;
use veritrace_proto::timestamp_from_ms;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use crate::domain::marketplace::{Windows, ip::right_valid, policy_in_force};
use crate::schema::{CF_STATE, trailing_u64};
use crate::state::market::{
    AckRecord, CaseKind, CaseRecord, IpRightRecord, RoutedComplaint, SignalEntry, SupplierRecord,
};
use crate::state::records::RefList;
use crate::state::{StateView, decode_record, keys};
use crate::{Ledger, LedgerError};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Most leaves a list in a profile carries (the newest).
const MAX_LEAVES: usize = 100;

fn ms(t: &Option<prost_types::Timestamp>) -> Option<i64> {
    t.as_ref().map(veritrace_proto::ms_from_timestamp)
}

/// (valid, expired) of a validity span at `now`.
fn span(from: &Option<prost_types::Timestamp>, until: &Option<prost_types::Timestamp>, now: i64) -> (bool, bool) {
    let expired = ms(until).is_some_and(|u| u <= now);
    let started = ms(from).is_none_or(|f| f <= now);
    (started && !expired, expired)
}

fn source(e: &SignalEntry) -> pb::SignalSource {
    pb::SignalSource {
        leaf_index: e.leaf,
        signer_party_id: e.signer.clone(),
        recorded_at: Some(timestamp_from_ms(e.record_ms)),
    }
}

impl<E: KvEngine> Ledger<E> {
    /// A party's supplier profile as of the last applied batch, or `None`
    /// for an unknown party.
    pub fn supplier_profile(&self, party_id: &str) -> Result<Option<pb::SupplierProfile>, LedgerError> {
        let now = self.applied().last_commit_time_ms;
        let Some(party) = self.party(party_id)? else { return Ok(None) };
        let (rec, signals, certificates, policy, brand_complaints) = self.with_view(|view| {
            let rec: SupplierRecord = view.record(CF_STATE, &keys::supplier(party_id), "supplier")?.unwrap_or_default();
            let signals = view
                .scan_prefix(CF_STATE, &keys::supplier_signals(party_id))?
                .iter()
                .map(|(_, v)| decode_record::<SignalEntry>(v, "supplier signal"))
                .collect::<Result<Vec<_>, _>>()?;
            let policy = policy_in_force(view, &self.genesis)?;
            let complaints = view.scan_prefix(CF_STATE, &keys::brand_complaints(party_id))?;
            let mut acks = Vec::with_capacity(complaints.len());
            for (k, v) in &complaints {
                let leaf = trailing_u64(k).unwrap_or_default();
                let routed: RoutedComplaint = decode_record(v, "routed complaint")?;
                let key = keys::complaint_ack(&routed.filer, &routed.complaint_id);
                let ack = view.record::<AckRecord>(CF_STATE, &key, "ack")?;
                acks.push((leaf, routed.record_ms, ack));
            }
            Ok((rec, signals, self.party_certificates(view, party_id, now)?, policy, acks))
        })?;
        let mut profile = pb::SupplierProfile {
            party_id: party.party_id.clone(),
            display_name: party.display_name.clone(),
            country: party.country.clone(),
            joined_at: party.joined_at,
            days_on_network: ms(&party.joined_at).map_or(0, |j| (now.saturating_sub(j).max(0) / DAY_MS) as u32),
            certificates,
            complaints: rec.complaints.clone(),
            ip_strikes: rec.ip_strikes,
            blacklist: rec.blacklist.clone(),
            suspended: party.status == pb::PartyStatus::Suspended as i32,
            as_of: Some(timestamp_from_ms(now)),
            ..Default::default()
        };
        for e in signals.iter().rev() {
            if let Some(l) = &e.licence {
                let (valid, expired) = span(&l.valid_from, &l.valid_until, now);
                profile.licences.push(pb::LicenceSignal {
                    licence: Some(l.clone()),
                    source: Some(source(e)),
                    valid,
                    expired,
                });
            }
            if let Some(a) = &e.audit {
                let (valid, expired) = span(&a.audited_at, &a.valid_until, now);
                profile.audits.push(pb::AuditSignal {
                    audit: Some(a.clone()),
                    source: Some(source(e)),
                    valid: valid && a.passed,
                    expired,
                });
            }
            if let Some(b) = &e.bond {
                let (valid, expired) = span(&b.valid_from, &b.valid_until, now);
                profile.bonds.push(pb::BondSignal { bond: Some(b.clone()), source: Some(source(e)), valid, expired });
            }
        }
        let prefix = keys::delivered_prefix(party_id);
        let delivered = self.with_view(|view| view.scan_prefix(CF_STATE, &prefix))?;
        profile.confirmed_deliveries = delivered.len() as u64;
        let leaf_of = |k: &[u8]| k.get(prefix.len()..prefix.len() + 8).and_then(crate::schema::leading_u64);
        profile.confirmed_delivery_leaves =
            delivered.iter().rev().take(MAX_LEAVES).filter_map(|(k, _)| leaf_of(k)).collect();
        if !brand_complaints.is_empty() {
            let window = Windows(&policy).report_ack_ms();
            let mut counts = pb::ComplaintCounts { kind: "consumer_report".into(), ..Default::default() };
            for (leaf, record_ms, ack) in &brand_complaints {
                counts.filed += 1;
                counts.leaves.push(*leaf);
                if let Some(ack) = ack {
                    counts.settled += 1;
                    profile.late_acknowledgements += u32::from(ack.late);
                    continue;
                }
                counts.open += 1;
                if record_ms.saturating_add(window) < now {
                    profile.overdue_acknowledgements += 1;
                }
            }
            let drop = counts.leaves.len().saturating_sub(MAX_LEAVES);
            counts.leaves.drain(..drop);
            let at = profile.complaints.partition_point(|c| c.kind.as_str() < "consumer_report");
            profile.complaints.insert(at, counts);
        }
        Ok(Some(profile))
    }

    /// Attestations whose subject is the party, as profile signals.
    fn party_certificates(
        &self,
        view: &StateView<'_, E>,
        party_id: &str,
        now: i64,
    ) -> Result<Vec<pb::CertificateSignal>, LedgerError> {
        let about: RefList =
            view.record(CF_STATE, &keys::attestations_on_party(party_id), "attestation list")?.unwrap_or_default();
        let mut out = Vec::new();
        for reference in about.refs.iter().rev() {
            let Some(r) = super::attestation_by_ref(view, reference)? else { continue };
            let Some(a) = &r.attestation else { continue };
            let validity = super::validity(&r, now);
            let leaf = match Hash::from_slice(&r.envelope_id) {
                Ok(id) => self.find_envelope(&id)?.unwrap_or_default(),
                Err(_) => 0,
            };
            let conformant = a.result == pb::AttestationResult::Conformant as i32;
            out.push(pb::CertificateSignal {
                attestation_ref: format!("{}/{}", r.signer, a.attestation_id),
                scheme: pb::CertificationScheme::try_from(a.scheme)
                    .map(|s| s.as_str_name().trim_start_matches("CERTIFICATION_SCHEME_").to_owned())
                    .unwrap_or_default(),
                certificate_number: a.certificate_number.clone(),
                issuer: if a.issuer.is_empty() { r.signer.clone() } else { a.issuer.clone() },
                valid_from: a.valid_from,
                valid_until: a.valid_until,
                valid: validity == pb::AttestationValidity::Valid && conformant,
                expired: validity == pb::AttestationValidity::Expired,
                revoked: validity == pb::AttestationValidity::Revoked,
                source: Some(pb::SignalSource {
                    leaf_index: leaf,
                    signer_party_id: r.signer.clone(),
                    recorded_at: Some(timestamp_from_ms(r.record_ms)),
                }),
            });
        }
        Ok(out)
    }

    /// An IP case, or `None`.
    pub fn ip_case(&self, filer: &str, id: &str) -> Result<Option<pb::IpCase>, LedgerError> {
        let now = self.applied().last_commit_time_ms;
        self.with_view(|view| {
            match view.record::<CaseRecord>(CF_STATE, &keys::case(CaseKind::Ip, filer, id), "case")? {
                Some(rec) => Ok(Some(ip_case_view(view, rec, now)?)),
                None => Ok(None),
            }
        })
    }

    /// A trade case, or `None`.
    pub fn trade_case(&self, filer: &str, id: &str) -> Result<Option<pb::TradeCase>, LedgerError> {
        let key = keys::case(CaseKind::Trade, filer, id);
        match self.with_view(|view| view.record::<CaseRecord>(CF_STATE, &key, "case"))? {
            Some(rec) => Ok(Some(self.trade_case_with_evidence(rec)?)),
            None => Ok(None),
        }
    }

    /// A trade case as read, its cited verifications read from their
    /// leaves (each checked against the Merkle tree).
    fn trade_case_with_evidence(&self, rec: CaseRecord) -> Result<pb::TradeCase, LedgerError> {
        let mut cited = Vec::new();
        for id in rec.trade.iter().flat_map(|c| &c.scan_envelope_ids) {
            let mut scan = pb::CitedScan { envelope_id: id.clone(), ..Default::default() };
            let leaf = match Hash::from_slice(id) {
                Ok(h) => self.find_envelope(&h)?,
                Err(_) => None,
            };
            if let Some(leaf) = leaf {
                let record = self.leaf(leaf)?;
                let tx = veritrace_core::Envelope::decode(&record.envelope).ok().and_then(|e| e.transaction().ok());
                if let Some(pb::transaction::Action::ConsumerScan(s)) = tx.and_then(|t| t.action)
                    && !s.request_id.is_empty()
                {
                    scan = pb::CitedScan {
                        envelope_id: id.clone(),
                        found: true,
                        leaf_index: leaf,
                        item: s.item,
                        verdict: s.verdict,
                        place: s.place,
                    };
                }
            }
            cited.push(scan);
        }
        let mut view = trade_case_view(rec);
        view.cited_scans = cited;
        Ok(view)
    }

    /// Cases a party filed or answers, newest first: at most `limit`
    /// after skipping `offset`, and the offset of the next page if more
    /// follow. `open_only` skips closed ones.
    pub fn list_cases(
        &self,
        party_id: &str,
        open_only: bool,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<pb::CaseEntry>, Option<usize>), LedgerError> {
        use pb::case_entry::Case;
        let now = self.applied().last_commit_time_ms;
        let (mut entries, next) = self.with_view(|view| {
            let (mut out, mut seen) = (Vec::new(), 0usize);
            for (_, case_key) in view.scan_prefix(CF_STATE, &keys::party_cases(party_id))? {
                let Some(rec) = view.record::<CaseRecord>(CF_STATE, &case_key, "case")? else { continue };
                if open_only && rec.deadline_ms == 0 {
                    continue;
                }
                seen += 1;
                if seen <= offset {
                    continue;
                }
                if out.len() == limit {
                    return Ok((out, Some(offset + limit)));
                }
                out.push(match CaseKind::try_from(rec.kind) {
                    Ok(CaseKind::Ip) => Ok(ip_case_view(view, rec, now)?),
                    _ => Err(rec),
                });
            }
            Ok((out, None))
        })?;
        let mut cases = Vec::with_capacity(entries.len());
        for e in entries.drain(..) {
            let case = match e {
                Ok(ip) => Case::IpCase(ip),
                Err(trade) => Case::TradeCase(self.trade_case_with_evidence(trade)?),
            };
            cases.push(pb::CaseEntry { case: Some(case) });
        }
        Ok((cases, next))
    }
}

fn deadline(rec: &CaseRecord) -> Option<prost_types::Timestamp> {
    (rec.deadline_ms != 0).then(|| timestamp_from_ms(rec.deadline_ms))
}

fn ip_case_view<E: KvEngine>(view: &StateView<'_, E>, rec: CaseRecord, now: i64) -> Result<pb::IpCase, LedgerError> {
    let right_id = rec.ip.as_ref().map(|c| c.right_id.as_str()).unwrap_or_default();
    let right = view.record::<IpRightRecord>(CF_STATE, &keys::ip_right(&rec.filer, right_id), "IP right")?;
    let id = rec.ip.as_ref().map(|c| c.complaint_id.as_str()).unwrap_or_default();
    Ok(pb::IpCase {
        name: format!("parties/{}/ipCases/{id}", rec.filer),
        complainant_party_id: rec.filer.clone(),
        right: right.map(|r| right_view(&r, now)),
        status: rec.status,
        closed_by: rec.closed_by,
        deadline: deadline(&rec),
        items_withdrawn: rec.items_withdrawn,
        steps: rec.steps,
        complaint: rec.ip,
    })
}

/// A registered right as read at `now`.
pub(crate) fn right_view(r: &IpRightRecord, now: i64) -> pb::IpRightView {
    pb::IpRightView {
        right: r.right.clone(),
        holder_party_id: r.holder.clone(),
        leaf_index: r.leaf,
        attested_by: r.attested_by.clone(),
        attested_leaf: r.attested_leaf,
        valid: right_valid(r, now),
    }
}

fn trade_case_view(rec: CaseRecord) -> pb::TradeCase {
    let id = rec.trade.as_ref().map(|c| c.complaint_id.as_str()).unwrap_or_default();
    pb::TradeCase {
        name: format!("parties/{}/tradeCases/{id}", rec.filer),
        buyer_party_id: rec.filer.clone(),
        status: rec.status,
        closed_by: rec.closed_by,
        deadline: deadline(&rec),
        steps: rec.steps,
        answer: rec.trade_answer,
        complaint: rec.trade,
        cited_scans: Vec::new(),
    }
}
