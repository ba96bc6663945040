//! Objects in the supply chain (commissioned items and the containers they
//! travel in) and the facts the life-cycle rules ask about them.
//!
//! The functions over a [`StateView`] serve both apply (through an
//! envelope's view) and reads (through a view with no pending writes).

use veritrace_core::Reason;
use veritrace_core::gs1::EpcId;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::{Ctx, Rule, refuse, validate};
use crate::LedgerError;
use crate::schema::CF_STATE;
use crate::state::records::{ContainerRecord, ItemRecord, LotRecord, ObjectState, RecallRecord, RefList};
use crate::state::{StateView, keys};

/// Containers nest at most this deep (item in case in pallet in container
/// ...); deeper nesting is refused.
pub(crate) const MAX_NESTING: usize = 8;
/// Most objects one event may reach through the containers it names.
pub(crate) const MAX_REACHED: usize = 200_000;

/// What an object is.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // Short-lived, a handful per event.
pub(crate) enum Kind {
    /// A commissioned item.
    Item(Box<ItemRecord>),
    /// A container; `None` when no record exists yet (never packed).
    Container(Option<ContainerRecord>),
}

/// An object an event names or reaches.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub(crate) key: Vec<u8>,
    pub(crate) uri: String,
    pub(crate) kind: Kind,
    pub(crate) state: ObjectState,
}

impl Object {
    /// Writes the object's record with its current state. A container with
    /// no record stays without one: it gets a record when it is first
    /// packed (or packed into), with the packer as its custodian.
    pub(crate) fn save<E: KvEngine>(&self, ctx: &mut Ctx<'_, E>) {
        match &self.kind {
            Kind::Item(item) => {
                let mut item = (**item).clone();
                item.state = Some(self.state.clone());
                ctx.view.put_record(CF_STATE, keys::item(&self.key), &item);
            }
            Kind::Container(Some(c)) => {
                let mut c = c.clone();
                c.state = Some(self.state.clone());
                ctx.view.put_record(CF_STATE, keys::container(&self.key), &c);
            }
            Kind::Container(None) => {}
        }
    }

    /// The item record, for items.
    pub(crate) fn item(&self) -> Option<&ItemRecord> {
        match &self.kind {
            Kind::Item(i) => Some(i),
            Kind::Container(_) => None,
        }
    }

    /// Whether the object has a record (items always; containers once packed).
    pub(crate) fn tracked(&self) -> bool {
        !matches!(self.kind, Kind::Container(None))
    }
}

/// Loads the object a URI names: an SGTIN must be commissioned
/// (ITEM_NOT_COMMISSIONED otherwise); anything else is a container or
/// asset, with a record once something was packed into it.
pub(crate) fn load<E: KvEngine>(view: &StateView<'_, E>, field: &str, uri: &str) -> Rule<Object> {
    let id = validate::epc(field, uri)?;
    let key = id.key_bytes();
    if let EpcId::Sgtin(s) = &id {
        let Some(item) = view.record::<ItemRecord>(CF_STATE, &keys::item(&key), "item")? else {
            return refuse(Reason::ItemNotCommissioned, format!("{field}: item {s} was never commissioned"));
        };
        let state = item.state.clone().unwrap_or_default();
        return Ok(Object { key, uri: uri.to_owned(), kind: Kind::Item(Box::new(item)), state });
    }
    let container = view.record::<ContainerRecord>(CF_STATE, &keys::container(&key), "container")?;
    let state = container.as_ref().and_then(|c| c.state.clone()).unwrap_or_default();
    Ok(Object { key, uri: uri.to_owned(), kind: Kind::Container(container), state })
}

/// Loads an object by key (a child of a container).
fn load_key<E: KvEngine>(view: &StateView<'_, E>, key: &[u8]) -> Result<Option<Object>, LedgerError> {
    if let Some(item) = view.record::<ItemRecord>(CF_STATE, &keys::item(key), "item")? {
        let uri = format!("https://id.gs1.org/01/{}/21/{}", item.gtin, item.serial);
        let state = item.state.clone().unwrap_or_default();
        return Ok(Some(Object { key: key.to_vec(), uri, kind: Kind::Item(Box::new(item)), state }));
    }
    Ok(view.record::<ContainerRecord>(CF_STATE, &keys::container(key), "container")?.map(|c| Object {
        key: key.to_vec(),
        uri: c.uri.clone(),
        state: c.state.clone().unwrap_or_default(),
        kind: Kind::Container(Some(c)),
    }))
}

/// Everything inside `container`, depth first, each with the URI of the
/// outermost container named (the one the event was recorded on).
pub(crate) fn contents<E: KvEngine>(view: &StateView<'_, E>, container: &Object, out: &mut Vec<Object>) -> Rule {
    fn walk<E: KvEngine>(view: &StateView<'_, E>, c: &Object, depth: usize, out: &mut Vec<Object>) -> Rule {
        let Kind::Container(Some(record)) = &c.kind else { return Ok(()) };
        if depth > MAX_NESTING {
            return refuse(Reason::InvalidAction, format!("containers nest deeper than {MAX_NESTING} levels"));
        }
        for child in &record.children {
            let Some(obj) = load_key(view, child)? else { continue };
            if out.len() >= MAX_REACHED {
                return refuse(Reason::InvalidAction, format!("the event reaches more than {MAX_REACHED} objects"));
            }
            out.push(obj.clone());
            walk(view, &obj, depth + 1, out)?;
        }
        Ok(())
    }
    walk(view, container, 0, out)
}

/// Why an item is out of circulation, if it is: decommissioned itself, in a
/// decommissioned lot, or seized.
pub(crate) fn out_of_circulation<E: KvEngine>(
    view: &StateView<'_, E>,
    obj: &Object,
) -> Result<Option<String>, LedgerError> {
    if obj.state.seized {
        return Ok(Some("seized".into()));
    }
    let reason = match &obj.kind {
        Kind::Item(item) => decommission_reason(view, item)?,
        Kind::Container(c) => c.as_ref().map_or(0, |c| c.decommission_reason),
    };
    Ok((reason != 0).then(|| {
        pb::DecommissionReason::try_from(reason)
            .map(|r| r.as_str_name().to_owned())
            .unwrap_or_else(|_| "decommissioned".into())
    }))
}

/// The decommission reason of an item (its own, else its lot's), 0 if in
/// circulation.
pub(crate) fn decommission_reason<E: KvEngine>(view: &StateView<'_, E>, item: &ItemRecord) -> Result<i32, LedgerError> {
    if item.decommission_reason != 0 || item.lot.is_empty() {
        return Ok(item.decommission_reason);
    }
    Ok(view
        .record::<LotRecord>(CF_STATE, &keys::lot(&item.gtin, &item.lot), "lot")?
        .map_or(0, |l| l.decommission_reason))
}

/// Every recall ever issued on a GTIN, in log order.
pub(crate) fn recalls_on<E: KvEngine>(view: &StateView<'_, E>, gtin: &str) -> Result<Vec<RecallRecord>, LedgerError> {
    let list: RefList = view.record(CF_STATE, &keys::recalls_on(gtin), "recall list")?.unwrap_or_default();
    let mut out = Vec::new();
    for r in &list.refs {
        let Some((party, id)) = keys::split_reference(r) else { continue };
        if let Some(rec) = view.record::<RecallRecord>(CF_STATE, &keys::recall(party, id), "recall")? {
            out.push(rec);
        }
    }
    Ok(out)
}

/// Whether a recall covers an item (by lot or serial, or all of the GTIN).
pub(crate) fn recall_covers(recall: &pb::Recall, item: &ItemRecord) -> bool {
    (recall.lots.is_empty() && recall.serials.is_empty())
        || (!item.lot.is_empty() && recall.lots.contains(&item.lot))
        || recall.serials.contains(&item.serial)
}

/// Recalls in force on an item at `at_ms`.
pub(crate) fn recalls_in_force<E: KvEngine>(
    view: &StateView<'_, E>,
    item: &ItemRecord,
    at_ms: i64,
) -> Result<Vec<RecallRecord>, LedgerError> {
    Ok(recalls_on(view, &item.gtin)?
        .into_iter()
        .filter(|r| r.closed_ms == 0 && r.effective_ms <= at_ms)
        .filter(|r| r.recall.as_ref().is_some_and(|rc| recall_covers(rc, item)))
        .collect())
}
