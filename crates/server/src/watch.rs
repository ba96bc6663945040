//! `LedgerService.Watch`: the ledger's entries from a leaf index on, then
//! new commits as they are applied, with signed tree heads in between.
//!
//! One task per stream reads the ledger in bounded chunks on a blocking
//! thread and sends through a bounded channel, so a slow client slows only
//! its own stream (and the node holds at most [`WATCH_BUFFER`] messages for
//! it). The task wakes on the node's tree-size notifier and ends when the
//! client goes away or the node shuts down.
//!
//! The ledger keeps every leaf (Raft log compaction never removes leaves),
//! so any `start_leaf_index` can be served: a client resumes after a
//! disconnect from the last leaf it processed + 1. A start beyond the
//! current tree waits for the ledger to grow there.

use std::collections::BTreeSet;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use veritrace_core::gs1::{EpcId, Sgtin};
use veritrace_core::{Envelope, LeafRecord};
use veritrace_ledger::action_name;
use veritrace_proto::v1 as pb;
use veritrace_service::Service;

use crate::listing::{check_actions, check_gtin14, names_gtin};
use crate::party_auth::Caller;
use crate::status::{from_service, invalid};

/// Messages buffered ahead of a slow client.
pub const WATCH_BUFFER: usize = 256;
/// Leaves read per blocking round.
const CHUNK: u64 = 256;

/// The stream type of `Watch`.
pub type WatchStream = ReceiverStream<Result<pb::WatchResponse, Status>>;

/// What a watcher wants to see; filters combine with AND.
#[derive(Debug, Clone, Default)]
struct Filter {
    parties: Vec<String>,
    actions: Vec<String>,
    gtins: Vec<String>,
    items: Vec<Vec<u8>>,
}

impl Filter {
    fn from_request(req: &pb::WatchRequest) -> Result<Filter, Status> {
        if req.shard_id != 0 {
            return Err(invalid(
                "shard_id",
                format!("shard {} does not exist; the log has one shard, 0", req.shard_id),
            ));
        }
        check_actions(&req.actions).map_err(|m| invalid("actions", m))?;
        for g in &req.gtins {
            check_gtin14(g).map_err(|m| invalid("gtins", m))?;
        }
        let mut items = Vec::with_capacity(req.item_ids.len());
        for id in &req.item_ids {
            let sgtin = Sgtin::parse_any(id).map_err(|e| invalid("item_ids", format!("item_ids: {id:?}: {e}")))?;
            items.push(EpcId::Sgtin(sgtin).key_bytes());
        }
        Ok(Filter { parties: req.party_ids.clone(), actions: req.actions.clone(), gtins: req.gtins.clone(), items })
    }
}

/// Validates `req` and starts the stream for `caller` (`None` on an open
/// party plane): the stream ends with the caller's refusal as soon as its
/// party is suspended or its key revoked, checked at every new tree size.
/// `permit` is the stream's place among the node's
/// ([`crate::work_limits::WorkLimits::watch`]), held until the stream ends.
pub fn start(
    service: Service,
    req: pb::WatchRequest,
    caller: Option<Caller>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<WatchStream, Status> {
    let filter = Filter::from_request(&req)?;
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    tokio::spawn(async move {
        let _permit = permit;
        follow(service, filter, req.start_leaf_index, caller, tx).await;
    });
    Ok(ReceiverStream::new(rx))
}

type Sender = mpsc::Sender<Result<pb::WatchResponse, Status>>;

async fn follow(service: Service, filter: Filter, start: u64, caller: Option<Caller>, tx: Sender) {
    let mut sizes = service.subscribe_tree_size();
    let mut cursor = start;
    let mut head_sent: Option<u64> = None;
    loop {
        let size = *sizes.borrow_and_update();
        if let Some(c) = &caller
            && let Err(refused) = crate::party_auth::standing(&service, &c.party_id, &c.key)
        {
            let _ = tx.send(Err(refused)).await;
            return;
        }
        while cursor < size {
            let end = size.min(cursor + CHUNK);
            let (n, f) = (service.clone(), filter.clone());
            let read = tokio::task::spawn_blocking(move || read_chunk(&n, &f, cursor, end)).await;
            let entries = match read {
                Ok(Ok(entries)) => entries,
                Ok(Err(status)) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
                Err(e) => {
                    tracing::error!(cause = %e, "Watch reader failed");
                    return;
                }
            };
            for entry in entries {
                if tx
                    .send(Ok(pb::WatchResponse { event: Some(pb::watch_response::Event::Entry(entry)) }))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            cursor = end;
        }
        if head_sent != Some(size) && size > 0 {
            let head = match service.signed_tree_head_at(size) {
                Ok(h) => h,
                Err(e) => {
                    let _ = tx.send(Err(from_service(&service, e))).await;
                    return;
                }
            };
            if tx.send(Ok(pb::WatchResponse { event: Some(pb::watch_response::Event::TreeHead(head)) })).await.is_err()
            {
                return;
            }
            head_sent = Some(size);
        }
        tokio::select! {
            changed = sizes.changed() => if changed.is_err() { return },
            _ = tx.closed() => return,
        }
    }
}

/// Reads leaves `[from, to)` and keeps those that pass `filter`.
fn read_chunk(service: &Service, filter: &Filter, from: u64, to: u64) -> Result<Vec<pb::LedgerEntry>, Status> {
    let ledger = service.ledger();
    let ledger_err = |e| from_service(service, veritrace_service::ServiceError::from(e));
    // Leaves naming any wanted item, from the item index (small per item).
    let item_leaves: Option<BTreeSet<u64>> = if filter.items.is_empty() {
        None
    } else {
        let mut set = BTreeSet::new();
        for key in &filter.items {
            set.extend(ledger.object_index(key).map_err(ledger_err)?.into_iter().map(|(leaf, _)| leaf));
        }
        Some(set)
    };
    let mut out = Vec::new();
    for leaf_index in from..to {
        if item_leaves.as_ref().is_some_and(|s| !s.contains(&leaf_index)) {
            continue;
        }
        let leaf = ledger.leaf(leaf_index).map_err(ledger_err)?;
        if !passes(&ledger, filter, &leaf).map_err(ledger_err)? {
            continue;
        }
        out.push(crate::ledger::ledger_entry(&leaf)?);
    }
    Ok(out)
}

fn passes<E: veritrace_storage::KvEngine>(
    ledger: &veritrace_ledger::Ledger<E>,
    filter: &Filter,
    leaf: &LeafRecord,
) -> Result<bool, veritrace_ledger::LedgerError> {
    if filter.parties.is_empty() && filter.actions.is_empty() && filter.gtins.is_empty() {
        return Ok(true);
    }
    let Ok(tx) = Envelope::decode(&leaf.envelope).and_then(|e| e.transaction()) else { return Ok(false) };
    if !filter.parties.is_empty() && !filter.parties.contains(&tx.party_id) {
        return Ok(false);
    }
    if !filter.actions.is_empty() {
        let Some(action) = tx.action.as_ref() else { return Ok(false) };
        if !filter.actions.iter().any(|a| a == action_name(action)) {
            return Ok(false);
        }
    }
    for g in &filter.gtins {
        if names_gtin(ledger, leaf.leaf_index, g)? {
            return Ok(true);
        }
    }
    Ok(filter.gtins.is_empty())
}
