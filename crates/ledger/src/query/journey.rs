//! An item's journey: who did what to it, where, when, with which
//! certificate, including what was done to the containers it travelled in.

use std::collections::HashMap;

use veritrace_core::gs1::{EpcId, Sgtin};
use veritrace_core::vocab;
use veritrace_core::{Envelope, LeafRecord};
use veritrace_proto::timestamp_from_ms;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::epcis_event::Event;
use veritrace_proto::v1::transaction::Action;
use veritrace_storage::{KvEngine, prefix_end};

use super::summaries::{certificate, party_summary};
use crate::schema::{CF_IDX_ITEM, CF_STATE, len_prefixed, trailing_u64};
use crate::state::records::{AttestationRecord, EventRecord, ItemRecord, RefList, TrackingRecord};
use crate::state::{StateView, keys};
use crate::{Ledger, LedgerError};

/// The actions that appear as journey steps. Consumer scans and complaints
/// never do: they concern consumers, not the product's story.
pub const JOURNEY_ACTIONS: &[&str] =
    &["commission_items", "decommission_items", "epcis_event", "attestation", "recall", "close_recall"];

struct Builder<'v, 'e, E: KvEngine> {
    view: &'v StateView<'e, E>,
    parties: HashMap<String, Option<pb::Party>>,
    now_ms: i64,
    /// Attestations covering the item, read once for every step.
    item_attestations: Vec<AttestationRecord>,
    /// Attestations about each signer met so far, read once per signer.
    about_signer: HashMap<String, Vec<AttestationRecord>>,
}

impl<E: KvEngine> Builder<'_, '_, E> {
    fn party(&mut self, id: &str) -> Result<Option<pb::Party>, LedgerError> {
        if let Some(p) = self.parties.get(id) {
            return Ok(p.clone());
        }
        let p = self.view.party(id)?;
        self.parties.insert(id.to_owned(), p.clone());
        Ok(p)
    }

    /// Certificates behind a step: the signer's attestations on the item,
    /// and attestations about the signer itself.
    fn certificates(&mut self, signer: &str, step_ms: i64) -> Result<Vec<pb::CertificateRef>, LedgerError> {
        let mut records: Vec<AttestationRecord> =
            self.item_attestations.iter().filter(|r| r.signer == signer).cloned().collect();
        if !self.about_signer.contains_key(signer) {
            let about: RefList = self
                .view
                .record(CF_STATE, &keys::attestations_on_party(signer), "attestation list")?
                .unwrap_or_default();
            let mut found = Vec::new();
            for reference in &about.refs {
                found.extend(super::attestation_by_ref(self.view, reference)?);
            }
            self.about_signer.insert(signer.to_owned(), found);
        }
        records.extend(self.about_signer.get(signer).into_iter().flatten().cloned());
        let mut out = Vec::new();
        for r in records {
            let by = self.party(&r.signer)?;
            out.push(certificate(&r, by.as_ref(), self.now_ms, step_ms));
        }
        Ok(out)
    }

    fn step(&mut self, leaf: &LeafRecord, via: String) -> Result<Option<pb::JourneyStep>, LedgerError> {
        let Ok(env) = Envelope::decode(&leaf.envelope) else { return Ok(None) };
        let Ok(tx) = env.transaction() else { return Ok(None) };
        let Some(action) = tx.action.as_ref() else { return Ok(None) };
        let party = self.party(&tx.party_id)?;
        let mut step = pb::JourneyStep {
            party: party.as_ref().map(party_summary),
            action: crate::action_name(action).to_owned(),
            place: party.as_ref().map(|p| pb::Place { country: p.country.clone(), ..Default::default() }),
            record_time: Some(timestamp_from_ms(leaf.commit_time_ms)),
            event_time: Some(timestamp_from_ms(leaf.commit_time_ms)),
            container_id: via,
            envelope_id: env.id().as_bytes().to_vec(),
            leaf_index: leaf.leaf_index,
            ..Default::default()
        };
        match action {
            Action::CommissionItems(c) => {
                step.event_type = "ObjectEvent".into();
                step.epcis_action = pb::EpcisAction::Add as i32;
                step.biz_step = "commissioning".into();
                step.disposition = "active".into();
                step.biz_location = c.biz_location.clone();
                if let Some(t) = c.production_time {
                    step.event_time = Some(t);
                }
            }
            Action::DecommissionItems(_) => {
                step.event_type = "ObjectEvent".into();
                step.epcis_action = pb::EpcisAction::Delete as i32;
                step.biz_step = "decommissioning".into();
                step.disposition = "inactive".into();
            }
            Action::EpcisEvent(e) => {
                if e.error_declaration.is_some() {
                    return Ok(None); // shown as `retracted` on the event it declares
                }
                self.fill_event(&mut step, e)?;
            }
            Action::Attestation(_) | Action::Recall(_) | Action::CloseRecall(_) => {}
            _ => return Ok(None),
        }
        // Saturating: entries applied before production_time was checked
        // may hold any seconds.
        let step_ms = step.event_time.as_ref().map_or(leaf.commit_time_ms, veritrace_proto::ms_from_timestamp);
        step.certificates = self.certificates(&tx.party_id, step_ms)?;
        Ok(Some(step))
    }

    fn fill_event(&mut self, step: &mut pb::JourneyStep, e: &pb::EpcisEvent) -> Result<(), LedgerError> {
        let (event_type, action) = match &e.event {
            Some(Event::ObjectEvent(o)) => ("ObjectEvent", o.action),
            Some(Event::AggregationEvent(a)) => ("AggregationEvent", a.action),
            Some(Event::TransactionEvent(t)) => ("TransactionEvent", t.action),
            Some(Event::TransformationEvent(_)) => ("TransformationEvent", 0),
            Some(Event::AssociationEvent(a)) => ("AssociationEvent", a.action),
            None => ("", 0),
        };
        step.event_type = event_type.into();
        step.epcis_action = action;
        step.biz_step = e.biz_step.clone();
        step.disposition = e.disposition.clone();
        step.read_point = e.read_point.as_ref().map(|r| r.id.clone()).unwrap_or_default();
        step.biz_location = e.biz_location.as_ref().map(|r| r.id.clone()).unwrap_or_default();
        if e.event_time.is_some() {
            step.event_time = e.event_time;
        }
        step.event_time_zone_offset = e.event_time_zone_offset.clone();
        step.certification_info = e.certification_info.clone();
        step.biz_transactions = e.biz_transaction_list.clone();
        step.source_list = e.source_list.clone();
        step.destination_list = e.destination_list.clone();
        if !e.event_id.is_empty() {
            let rec: Option<EventRecord> = self.view.record(CF_STATE, &keys::event(&e.event_id), "event")?;
            step.retracted = rec.is_some_and(|r| r.retracted_leaf != 0);
        }
        for b in &e.biz_transaction_list {
            let Some((carrier, _)) = vocab::parse_tracking(&b.biz_transaction) else { continue };
            let rec: TrackingRecord =
                self.view.record(CF_STATE, &keys::tracking(&b.biz_transaction), "tracking")?.unwrap_or_default();
            step.tracking_numbers.push(pb::TrackingNumber {
                biz_transaction: b.biz_transaction.clone(),
                carrier: carrier.to_owned(),
                confirmed: rec.confirmed,
                confirmed_leaf_index: rec.confirmed_leaf,
            });
        }
        Ok(())
    }
}

impl<E: KvEngine> Ledger<E> {
    /// Leaves listed under an object (`EpcId::key_bytes`), in log order,
    /// each with the URI of the container it reached the object through
    /// (empty when the envelope names the object itself).
    pub fn object_index(&self, object_key: &[u8]) -> Result<Vec<(u64, String)>, LedgerError> {
        let prefix = len_prefixed(object_key);
        let end = prefix_end(&prefix);
        let mut out = Vec::new();
        for kv in self.engine.scan(CF_IDX_ITEM, &prefix, end.as_deref())? {
            let (k, v) = kv?;
            let leaf = trailing_u64(&k).ok_or_else(|| LedgerError::Corrupt { what: "item index key".into() })?;
            out.push((leaf, String::from_utf8_lossy(&v).into_owned()));
        }
        Ok(out)
    }

    /// An item's journey, ordered by event time then leaf index; `now_ms`
    /// decides certificates' validity "now".
    pub fn journey(&self, item: &Sgtin, now_ms: i64) -> Result<Vec<pb::JourneyStep>, LedgerError> {
        let key = EpcId::Sgtin(item.clone()).key_bytes();
        let entries = self.object_index(&key)?;
        self.with_view(|view| {
            let item_attestations = match view.record::<ItemRecord>(CF_STATE, &keys::item(&key), "item")? {
                Some(item) => super::item_attestations(view, &item)?,
                None => Vec::new(),
            };
            let mut b =
                Builder { view, parties: HashMap::new(), now_ms, item_attestations, about_signer: HashMap::new() };
            let mut steps = Vec::new();
            for (leaf, via) in entries {
                let record = self.leaf(leaf)?;
                if let Some(step) = b.step(&record, via)? {
                    steps.push(step);
                }
            }
            steps.sort_by_key(|s| {
                let t = s.event_time.unwrap_or_default();
                (t.seconds, t.nanos, s.leaf_index)
            });
            Ok(steps)
        })
    }
}
