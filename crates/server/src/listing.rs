//! Paging through the ledger's indexes for `ListEnvelopes`.

use veritrace_core::gs1::{EpcId, Gtin, Serial, Sgtin};
use veritrace_core::{Envelope, LeafRecord};
use veritrace_ledger::{ACTION_NAMES, Ledger, LedgerError, action_name};
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

/// Why a list request failed.
#[derive(Debug)]
pub enum ListError {
    /// A request field is invalid: (field, message).
    Invalid(&'static str, String),
    /// Reading failed.
    Ledger(LedgerError),
}

impl From<LedgerError> for ListError {
    fn from(e: LedgerError) -> Self {
        ListError::Ledger(e)
    }
}

/// Index entries read per round while filling a page.
const CHUNK: usize = 1000;

enum Primary {
    Item(Vec<u8>),
    Gtin(String),
    Party(String),
}

/// One page of `ListEnvelopes`: the leaves and the token (a leaf index)
/// to continue after. `newest_first` reads the whole index of the filter
/// (fine for items and GTINs; for a busy party prefer log order).
pub fn envelope_page<E: KvEngine>(
    ledger: &Ledger<E>,
    req: &pb::ListEnvelopesRequest,
    size: usize,
) -> Result<(Vec<LeafRecord>, Option<u64>), ListError> {
    check_actions(&req.actions).map_err(|m| ListError::Invalid("actions", m))?;
    if !req.gtin.is_empty() {
        check_gtin14(&req.gtin).map_err(|m| ListError::Invalid("gtin", m))?;
    }
    let primary = if let Some(item) = &req.item {
        let gtin = Gtin::parse(&item.gtin).map_err(|e| ListError::Invalid("item.gtin", e.to_string()))?;
        let serial = Serial::parse(&item.serial).map_err(|e| ListError::Invalid("item.serial", e.to_string()))?;
        Primary::Item(EpcId::Sgtin(Sgtin::new(gtin, serial)).key_bytes())
    } else if !req.gtin.is_empty() {
        Primary::Gtin(req.gtin.clone())
    } else if !req.party_id.is_empty() {
        Primary::Party(req.party_id.clone())
    } else {
        return Err(ListError::Invalid("party_id", "give at least one of party_id, item, gtin".into()));
    };
    let after: Option<u64> = if req.page_token.is_empty() {
        None
    } else {
        Some(
            req.page_token
                .parse()
                .map_err(|_| ListError::Invalid("page_token", "not a token this server issued".into()))?,
        )
    };
    let fetch = |after: Option<u64>, limit: usize| -> Result<Vec<u64>, LedgerError> {
        match &primary {
            Primary::Item(key) => Ok(ledger
                .object_index(key)?
                .into_iter()
                .filter(|(leaf, via)| via.is_empty() && after.is_none_or(|a| *leaf > a))
                .map(|(leaf, _)| leaf)
                .take(limit)
                .collect()),
            Primary::Gtin(g) => ledger.leaves_by_gtin(g, after, limit),
            Primary::Party(p) => ledger.leaves_by_party(p, after, limit),
        }
    };
    let keep = |leaf: &LeafRecord| -> bool {
        let Ok(tx) = Envelope::decode(&leaf.envelope).and_then(|e| e.transaction()) else { return false };
        let Some(action) = tx.action.as_ref() else { return false };
        (req.party_id.is_empty() || tx.party_id == req.party_id)
            && (req.actions.is_empty() || req.actions.iter().any(|a| a == action_name(action)))
            && (req.gtin.is_empty() || names_gtin(ledger, leaf.leaf_index, &req.gtin).unwrap_or(false))
    };
    if req.newest_first {
        let mut all = fetch(None, usize::MAX)?;
        all.reverse();
        let mut out = Vec::new();
        for leaf in all.into_iter().filter(|l| after.is_none_or(|a| *l < a)) {
            if let Some(next) = take(&mut out, ledger.leaf(leaf)?, size, &keep) {
                return Ok((out, Some(next)));
            }
        }
        return Ok((out, None));
    }
    let mut out = Vec::new();
    let mut cursor = after;
    loop {
        let chunk = fetch(cursor, CHUNK)?;
        let exhausted = chunk.len() < CHUNK;
        for leaf in chunk {
            cursor = Some(leaf);
            if let Some(next) = take(&mut out, ledger.leaf(leaf)?, size, &keep) {
                return Ok((out, Some(next)));
            }
        }
        if exhausted {
            return Ok((out, None));
        }
    }
}

/// Adds `record` to the page if it passes `keep`; when the page is already
/// full, returns the token (last leaf of the page) to continue after.
fn take(
    out: &mut Vec<LeafRecord>,
    record: LeafRecord,
    size: usize,
    keep: &impl Fn(&LeafRecord) -> bool,
) -> Option<u64> {
    if !keep(&record) {
        return None;
    }
    if out.len() == size {
        return out.last().map(|r| r.leaf_index);
    }
    out.push(record);
    None
}

/// Every name in `actions` is a `Transaction.action` field name.
pub(crate) fn check_actions(actions: &[String]) -> Result<(), String> {
    match actions.iter().find(|a| !ACTION_NAMES.contains(&a.as_str())) {
        Some(a) => Err(format!("unknown action {a:?}")),
        None => Ok(()),
    }
}

/// `gtin` is a GTIN-14 (the form the GTIN index is keyed by).
pub(crate) fn check_gtin14(gtin: &str) -> Result<(), String> {
    if gtin.len() == 14 && Gtin::parse(gtin).is_ok() { Ok(()) } else { Err(format!("{gtin:?} is not a 14-digit GTIN")) }
}

/// Whether leaf `leaf` names `gtin`, by the GTIN index.
pub(crate) fn names_gtin<E: KvEngine>(ledger: &Ledger<E>, leaf: u64, gtin: &str) -> Result<bool, LedgerError> {
    Ok(ledger.leaves_by_gtin(gtin, leaf.checked_sub(1), 1)?.first() == Some(&leaf))
}
