//! Indexes derived from the state that builds before 0.6 did not write.
//!
//! The marketplace profile counts a supplier's confirmed deliveries
//! (`delivered/`) and routes complaints to the product's brand
//! (`brand-complaint/`). Apply writes both from now on; a store written by
//! an older build gets them once, here, when the ledger opens, derived
//! from the records those builds did write (`tracking/`, `complaint/` and
//! the complaint's leaf). So a node that upgraded in place holds the same
//! state as one that replayed the log from the start. The meta key
//! [`KEY_DERIVED`] records which derived indexes a store holds.

use veritrace_core::{Envelope, LeafRecord};
use veritrace_proto::v1 as pb;
use veritrace_storage::{KvEngine, WriteBatch, WriteOptions, prefix_end};

use super::market::RoutedComplaint;
use super::records::{ProductRecord, TrackingRecord};
use super::{decode_record, keys, seal};
use crate::LedgerError;
use crate::schema::{CF_LEAVES, CF_META, CF_STATE, leading_u64};

/// Meta key: the version of the derived indexes the store holds.
pub(crate) const KEY_DERIVED: &[u8] = b"derived_indexes";
/// Delivered and brand-complaint indexes.
const DERIVED_VERSION: u8 = 1;

/// Puts the marker of a store that holds every derived index (a new one).
pub(crate) fn mark_built(batch: &mut WriteBatch) {
    batch.put(CF_META, KEY_DERIVED.to_vec(), vec![DERIVED_VERSION]);
}

fn put_state(batch: &mut WriteBatch, key: Vec<u8>, value: Vec<u8>) {
    let sealed = seal::seal(&key, value);
    batch.put(CF_STATE, key, sealed);
}

/// Builds the derived indexes a store lacks, in one synced write with its
/// marker. Runs before the ledger applies anything.
pub(crate) fn build_missing<E: KvEngine>(engine: &E) -> Result<(), LedgerError> {
    if engine.get(CF_META, KEY_DERIVED)?.is_some_and(|v| v.first().is_some_and(|b| *b >= DERIVED_VERSION)) {
        return Ok(());
    }
    let mut batch = WriteBatch::new();
    let (mut deliveries, mut routed) = (0u64, 0u64);
    let prefix = b"tracking/";
    for kv in engine.scan(CF_STATE, prefix, prefix_end(prefix).as_deref())? {
        let (k, v) = kv?;
        let rec: TrackingRecord = decode_record(seal::open(&k, &v)?, "tracking")?;
        if crate::domain::marketplace::supplier::counts_as_delivery(&rec) {
            let tracking = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            put_state(&mut batch, keys::delivered(&rec.shipper, rec.confirmed_leaf, &tracking), Vec::new());
            deliveries += 1;
        }
    }
    let prefix = b"complaint/";
    for kv in engine.scan(CF_STATE, prefix, prefix_end(prefix).as_deref())? {
        let (k, v) = kv?;
        let corrupt = |what: &str| LedgerError::Corrupt { what: format!("derived indexes: a complaint's {what}") };
        let leaf = leading_u64(seal::open(&k, &v)?).ok_or_else(|| corrupt("leaf index"))?;
        let bytes = engine.get(CF_LEAVES, &leaf.to_be_bytes())?.ok_or_else(|| corrupt("leaf is missing"))?;
        let tx = LeafRecord::decode(&bytes)
            .ok()
            .and_then(|l| Envelope::decode(&l.envelope).ok())
            .and_then(|e| e.transaction().ok())
            .ok_or_else(|| corrupt("leaf does not decode"))?;
        let Some(pb::transaction::Action::Complaint(c)) = &tx.action else {
            return Err(corrupt("leaf holds no complaint"));
        };
        let gtin = match &c.subject {
            Some(pb::complaint::Subject::Item(i)) => i.gtin.clone(),
            Some(pb::complaint::Subject::Gtin(g)) => g.clone(),
            None => continue,
        };
        let pkey = keys::product(&gtin);
        let Some(stored) = engine.get(CF_STATE, &pkey)? else { continue };
        let product: ProductRecord = decode_record(seal::open(&pkey, &stored)?, "product")?;
        let brand = product.product.map(|p| p.brand_party_id).unwrap_or_default();
        if !brand.is_empty() && brand != tx.party_id {
            let record = RoutedComplaint {
                filer: tx.party_id.clone(),
                complaint_id: c.complaint_id.clone(),
                record_ms: LeafRecord::decode(&bytes).map(|l| l.commit_time_ms).unwrap_or_default(),
            };
            put_state(&mut batch, keys::brand_complaint(&brand, leaf), super::encode_record(&record));
            routed += 1;
        }
    }
    mark_built(&mut batch);
    engine.write(batch, WriteOptions::SYNC)?;
    tracing::info!(deliveries, complaints = routed, "derived marketplace indexes built (version {DERIVED_VERSION})");
    Ok(())
}
