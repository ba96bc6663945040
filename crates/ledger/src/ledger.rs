//! The ledger: opening, reading, proofs.

use std::sync::{Mutex, RwLock};

use veritrace_core::merkle::{self, Frontier, NodeId, NodeSource};
use veritrace_core::{Hash, LeafRecord, TreeHead};
use veritrace_proto::v1 as pb;
use veritrace_storage::{KvEngine, WriteBatch, WriteOptions, prefix_end};

use crate::schema::*;
use crate::{Genesis, LedgerError};

/// Options of a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerOptions {
    /// fsync every applied batch. A single node must (its applied state is
    /// the only copy); a Raft replica may turn it off because committed
    /// entries are durable in the Raft log and re-applied after a crash.
    pub sync_apply: bool,
    /// Shard of the log this ledger holds (0 until the log is sharded).
    pub shard_id: u32,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions { sync_apply: true, shard_id: 0 }
    }
}

/// Mutable in-memory head of the ledger, guarded by one lock.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) applied: AppliedState,
    pub(crate) frontier: Frontier,
}

/// An append-only, Merkle-hashed ledger of signed envelopes over a
/// [`KvEngine`].
///
/// One writer ([`Ledger::apply`], serialised by an internal lock) and any
/// number of concurrent readers. Readers see only fully applied batches:
/// every batch is one atomic engine write, and the in-memory head moves
/// after that write succeeds. Stored perfect Merkle nodes never change, so
/// proofs for any size up to the head need no lock.
pub struct Ledger<E: KvEngine> {
    pub(crate) engine: E,
    pub(crate) opts: LedgerOptions,
    pub(crate) genesis: Genesis,
    pub(crate) head: RwLock<Head>,
    pub(crate) apply_lock: Mutex<()>,
    /// The first corruption a read found (see [`Ledger::corruption`]).
    pub(crate) corruption: Mutex<Option<String>>,
}

impl<E: KvEngine> std::fmt::Debug for Ledger<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("head", &self.applied()).finish()
    }
}

/// Reads perfect Merkle nodes from the engine.
pub(crate) struct StoredNodes<'a, E: KvEngine>(pub(crate) &'a E);

impl<E: KvEngine> NodeSource for StoredNodes<'_, E> {
    type Error = LedgerError;
    fn node(&self, id: NodeId) -> Result<Hash, LedgerError> {
        let bytes = self.0.get(CF_MERKLE, &id.to_key())?.ok_or_else(|| LedgerError::Corrupt {
            what: format!("missing Merkle node level {} index {}", id.level, id.index),
        })?;
        Hash::from_slice(&bytes).map_err(|e| LedgerError::Corrupt { what: format!("Merkle node {id:?}: {e}") })
    }
}

impl<E: KvEngine> Ledger<E> {
    /// Initialises an empty store with `genesis` and opens it.
    pub fn create(engine: E, genesis: &pb::Genesis, opts: LedgerOptions) -> Result<Self, LedgerError> {
        if engine.get(CF_META, KEY_GENESIS)?.is_some() || engine.get(CF_META, KEY_APPLIED)?.is_some() {
            return Err(LedgerError::AlreadyInitialised);
        }
        let genesis = Genesis::from_proto(genesis.clone())?;
        let mut batch = WriteBatch::new();
        genesis.write_initial_state(&mut batch);
        let applied = AppliedState { root: merkle::empty_root(), ..AppliedState::default() };
        batch.put(CF_META, KEY_APPLIED.to_vec(), applied.encode());
        engine.write(batch, WriteOptions::SYNC)?;
        Self::open(engine, opts)
    }

    /// Opens an initialised store, re-deriving the Merkle frontier from the
    /// stored perfect nodes.
    pub fn open(engine: E, opts: LedgerOptions) -> Result<Self, LedgerError> {
        let genesis_bytes = engine.get(CF_META, KEY_GENESIS)?.ok_or(LedgerError::NotInitialised)?;
        let applied_bytes = engine.get(CF_META, KEY_APPLIED)?.ok_or(LedgerError::NotInitialised)?;
        let applied = AppliedState::decode(&applied_bytes)
            .ok_or_else(|| LedgerError::Corrupt { what: "applied-state record does not decode".into() })?;
        let genesis = Genesis::decode(&genesis_bytes)?;
        let frontier = Frontier::load(&StoredNodes(&engine), applied.tree_size)?;
        if frontier.root() != applied.root {
            return Err(LedgerError::Corrupt {
                what: format!(
                    "stored root {} differs from the root of the stored nodes {}",
                    applied.root,
                    frontier.root()
                ),
            });
        }
        // A store from before state sealing is sealed here, once it is
        // known to be a whole ledger.
        crate::state::seal::seal_unsealed_store(&engine)?;
        crate::state::derived::build_missing(&engine)?;
        Ok(Ledger {
            engine,
            opts,
            genesis,
            head: RwLock::new(Head { applied, frontier }),
            apply_lock: Mutex::new(()),
            corruption: Mutex::new(None),
        })
    }

    /// The engine underneath (for snapshots and tests).
    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// The genesis this ledger was created with.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// What has been applied.
    pub fn applied(&self) -> AppliedState {
        self.head.read().unwrap_or_else(|e| e.into_inner()).applied
    }

    /// The current tree head (unsigned).
    pub fn tree_head(&self) -> TreeHead {
        let a = self.applied();
        TreeHead {
            shard_id: self.opts.shard_id,
            tree_size: a.tree_size,
            root: a.root,
            timestamp_ms: a.last_commit_time_ms,
        }
    }

    /// The root of the first `size` leaves (any past size).
    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        self.check_size(size)?;
        merkle::root_at(&StoredNodes(&self.engine), size).map_err(|e| self.noted(e.into()))
    }

    /// The first corruption a read of this ledger found since it was
    /// opened, if any: a leaf whose bytes do not hash to its Merkle leaf,
    /// a missing or malformed record. Such data is never served (the read
    /// fails); health reports this until the node is rebuilt.
    pub fn corruption(&self) -> Option<String> {
        self.corruption.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records `e` when it is a corruption (the first one is kept), and
    /// returns it.
    pub(crate) fn noted(&self, e: LedgerError) -> LedgerError {
        let what = match &e {
            LedgerError::Corrupt { what } => Some(what.clone()),
            LedgerError::Storage(s @ veritrace_storage::StorageError::Corrupt { .. }) => Some(s.to_string()),
            _ => None,
        };
        if let Some(what) = &what {
            let mut seen = self.corruption.lock().unwrap_or_else(|e| e.into_inner());
            if seen.is_none() {
                tracing::error!(what = %what, "ledger corruption detected on read; the data is not served");
                *seen = Some(what.clone());
            }
        }
        e
    }

    /// The leaf record at `leaf_index`, checked against the Merkle tree:
    /// its bytes must hash to the stored level-0 node, which the signed
    /// roots cover. A flipped bit in a leaf is a `Corrupt` error here, never
    /// a wrong answer.
    pub fn leaf(&self, leaf_index: u64) -> Result<LeafRecord, LedgerError> {
        if leaf_index >= self.applied().tree_size {
            return Err(LedgerError::OutOfRange { what: format!("leaf {leaf_index} is beyond the tree") });
        }
        self.checked_leaf(leaf_index).map_err(|e| self.noted(e))
    }

    fn checked_leaf(&self, leaf_index: u64) -> Result<LeafRecord, LedgerError> {
        let bytes = self
            .engine
            .get(CF_LEAVES, &leaf_index.to_be_bytes())?
            .ok_or_else(|| LedgerError::Corrupt { what: format!("leaf {leaf_index} is missing") })?;
        let stored = StoredNodes(&self.engine).node(NodeId::leaf(leaf_index))?;
        if merkle::leaf_hash(&bytes) != stored {
            return Err(LedgerError::Corrupt {
                what: format!("leaf {leaf_index} does not hash to its Merkle leaf (a changed record)"),
            });
        }
        LeafRecord::decode(&bytes).map_err(|e| LedgerError::Corrupt { what: format!("leaf {leaf_index}: {e}") })
    }

    /// The leaf index holding the envelope with this id, if any.
    pub fn find_envelope(&self, id: &Hash) -> Result<Option<u64>, LedgerError> {
        match self.engine.get(CF_IDX_ENVELOPE, id.as_bytes()).map_err(|e| self.noted(e.into()))? {
            None => Ok(None),
            Some(v) => {
                Ok(Some(leading_u64(&v).ok_or_else(|| LedgerError::Corrupt { what: "envelope index value".into() })?))
            }
        }
    }

    /// Inclusion proof of `leaf_index` in the tree of size `tree_size`.
    pub fn inclusion_proof(&self, leaf_index: u64, tree_size: u64) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(tree_size)?;
        merkle::inclusion_proof(&StoredNodes(&self.engine), leaf_index, tree_size).map_err(|e| self.noted(e.into()))
    }

    /// Consistency proof between two sizes.
    pub fn consistency_proof(&self, first_size: u64, second_size: u64) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(second_size)?;
        merkle::consistency_proof(&StoredNodes(&self.engine), first_size, second_size).map_err(|e| self.noted(e.into()))
    }

    /// Leaf indexes of a party's envelopes after `after` (exclusive; `None`
    /// from the start), at most `limit`, in log order.
    pub fn leaves_by_party(&self, party_id: &str, after: Option<u64>, limit: usize) -> Result<Vec<u64>, LedgerError> {
        self.index_page(CF_IDX_PARTY, len_prefixed(party_id.as_bytes()), after, limit)
    }

    /// Leaf indexes of envelopes that name an item (by its `key_bytes`).
    pub fn leaves_by_item(&self, item_key: &[u8], after: Option<u64>, limit: usize) -> Result<Vec<u64>, LedgerError> {
        self.index_page(CF_IDX_ITEM, len_prefixed(item_key), after, limit)
    }

    pub(crate) fn index_page(
        &self,
        cf: &str,
        prefix: Vec<u8>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<u64>, LedgerError> {
        let start = match after {
            Some(leaf) => match leaf.checked_add(1) {
                Some(next) => with_u64(prefix.clone(), next),
                None => return Ok(Vec::new()),
            },
            None => prefix.clone(),
        };
        let end = prefix_end(&prefix);
        let mut out = Vec::new();
        for kv in self.engine.scan(cf, &start, end.as_deref())?.take(limit) {
            let (k, _) = kv?;
            out.push(trailing_u64(&k).ok_or_else(|| LedgerError::Corrupt { what: format!("{cf} key") })?);
        }
        Ok(out)
    }

    /// The party record, if the party is registered.
    pub fn party(&self, party_id: &str) -> Result<Option<pb::Party>, LedgerError> {
        self.with_view(|view| view.party(party_id))
    }

    fn check_size(&self, size: u64) -> Result<(), LedgerError> {
        let current = self.applied().tree_size;
        if size > current {
            return Err(LedgerError::OutOfRange {
                what: format!("tree size {size} is beyond the current size {current}"),
            });
        }
        Ok(())
    }
}
