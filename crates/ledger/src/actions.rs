//! What the ledger knows about each transaction action: whether this
//! version applies it, and which items it names (for the item index).

use veritrace_core::gs1::{EpcId, Gtin, Serial, Sgtin};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

/// `Err` with a message for actions this version of the ledger refuses
/// (`UNSUPPORTED_ACTION`): the governance actions, which change party
/// state and need the k-of-n approval rules of the domain release.
pub(crate) fn check(action: &Action) -> Result<(), String> {
    match action {
        Action::ProposeGovernance(_)
        | Action::ApproveGovernance(_)
        | Action::RevokeSigningKey(_)
        | Action::AuthorizeManufacturer(_)
        | Action::RevokeManufacturerAuthorization(_) => {
            Err("governance actions are not supported by this ledger version".to_string())
        }
        _ => Ok(()),
    }
}

/// Index keys (`EpcId::key_bytes`) of every item or container the action
/// names, deduplicated, in first-seen order. Identifiers that do not parse
/// are skipped here (the domain rules reject them; the index never holds
/// keys for them).
pub(crate) fn item_keys(action: &Action) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    let mut push = |k: Vec<u8>| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    let mut uri = |s: &str| {
        if let Ok(id) = EpcId::parse(s) {
            push(id.key_bytes());
        }
    };
    match action {
        Action::CommissionItems(c) => {
            for item in &c.items {
                if let Some(k) = sgtin_key(&c.gtin, &item.serial) {
                    keys.push(k); // serials are unique per batch, checked by domain rules
                }
            }
        }
        Action::DecommissionItems(d) => {
            if let Some(set) = &d.items {
                for serial in &set.serials {
                    if let Some(k) = sgtin_key(&set.gtin, serial) {
                        keys.push(k);
                    }
                }
            }
        }
        Action::Attestation(a) => {
            for set in &a.subject_items {
                for serial in &set.serials {
                    if let Some(k) = sgtin_key(&set.gtin, serial) {
                        push(k);
                    }
                }
            }
        }
        Action::Recall(r) => {
            for serial in &r.serials {
                if let Some(k) = sgtin_key(&r.gtin, serial) {
                    push(k);
                }
            }
        }
        Action::ConsumerScan(s) => {
            if let Some(k) = s.item.as_ref().and_then(|item| sgtin_key(&item.gtin, &item.serial)) {
                keys.push(k);
            }
        }
        Action::EpcisEvent(e) => match &e.event {
            Some(pb::epcis_event::Event::ObjectEvent(o)) => o.epc_list.iter().for_each(|s| uri(s)),
            Some(pb::epcis_event::Event::AggregationEvent(a)) => {
                std::iter::once(&a.parent_id).chain(&a.child_epcs).filter(|s| !s.is_empty()).for_each(|s| uri(s))
            }
            Some(pb::epcis_event::Event::TransactionEvent(t)) => {
                std::iter::once(&t.parent_id).chain(&t.epc_list).filter(|s| !s.is_empty()).for_each(|s| uri(s))
            }
            Some(pb::epcis_event::Event::TransformationEvent(t)) => {
                t.input_epc_list.iter().chain(&t.output_epc_list).for_each(|s| uri(s))
            }
            Some(pb::epcis_event::Event::AssociationEvent(a)) => {
                std::iter::once(&a.parent_id).chain(&a.child_epcs).filter(|s| !s.is_empty()).for_each(|s| uri(s))
            }
            None => {}
        },
        _ => {}
    }
    keys
}

/// The item-index key of a GTIN + serial, or `None` when either is invalid.
pub fn sgtin_key(gtin: &str, serial: &str) -> Option<Vec<u8>> {
    let gtin = Gtin::parse(gtin).ok()?;
    let serial = Serial::parse(serial).ok()?;
    Some(EpcId::Sgtin(Sgtin::new(gtin, serial)).key_bytes())
}
