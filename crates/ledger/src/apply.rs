//! Deterministic apply of an ordered batch of envelopes.
//!
//! `apply` is the ledger's state transition. It reads only the store, the
//! batch header and the envelopes; never the wall clock, randomness, local
//! configuration or hash-map iteration order. So every replica that
//! applies the same batches in the same order holds byte-identical state
//! and the same Merkle root.

use std::collections::HashMap;

use veritrace_core::{Hash, LeafRecord, Reason};
use veritrace_proto::v1 as pb;
use veritrace_storage::{KvEngine, WriteBatch, WriteOptions};

use crate::domain::{self, Ctx, Fail};
use crate::ledger::Head;
use crate::precheck::{Checked, Prechecked, precheck_all};
use crate::schema::*;
use crate::state::{Overlay, StateView, keys};
use crate::{Ledger, LedgerError};

/// Written by whoever orders the batch (the Raft leader, or the single-node
/// driver): the only source of position and time inside apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Index of this batch in the ordered log; must exceed the applied index.
    pub log_index: u64,
    /// Commit time, unix milliseconds, from the orderer's clock.
    pub commit_time_ms: i64,
}

/// What apply did with one envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Appended as leaf `leaf_index`.
    Applied,
    /// Already in the ledger; the receipt describes the first copy.
    Duplicate,
    /// Counted in the state without a leaf: a `CodeAttempt` (an item's
    /// guess budget is state, not history; wrong guesses cost the log
    /// nothing).
    Counted,
    /// Refused; nothing was stored for it.
    Rejected {
        /// Stable reason code.
        reason: Reason,
        /// Human-readable detail.
        message: String,
    },
}

/// The ledger's answer for one envelope of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Envelope id, when the bytes decoded far enough to have one.
    pub envelope_id: Option<Hash>,
    /// What happened.
    pub outcome: Outcome,
    /// Leaf holding the envelope (applied or duplicate).
    pub leaf_index: Option<u64>,
    /// Batch that committed the (first) copy.
    pub log_index: u64,
    /// Commit time of that batch, unix ms.
    pub commit_time_ms: i64,
    /// Position of the (first) copy inside its batch.
    pub batch_position: u32,
}

impl Receipt {
    /// The API form of the receipt (without proofs; shard 0).
    pub fn to_proto(&self) -> pb::Receipt {
        let (outcome, reason, message) = match &self.outcome {
            Outcome::Applied => (pb::Outcome::Applied, String::new(), String::new()),
            Outcome::Duplicate => (pb::Outcome::Duplicate, String::new(), String::new()),
            Outcome::Counted => (pb::Outcome::Counted, String::new(), String::new()),
            Outcome::Rejected { reason, message } => {
                (pb::Outcome::Rejected, reason.code().to_string(), message.clone())
            }
        };
        pb::Receipt {
            envelope_id: self.envelope_id.map(|h| h.as_bytes().to_vec()).unwrap_or_default(),
            outcome: outcome as i32,
            reason,
            message,
            leaf_index: self.leaf_index.unwrap_or_default(),
            log_index: self.log_index,
            commit_time: Some(veritrace_proto::timestamp_from_ms(self.commit_time_ms)),
            shard_id: 0,
            inclusion: None,
            tree_head: None,
            batch_position: self.batch_position,
        }
    }

    fn rejected(envelope_id: Option<Hash>, reason: Reason, message: impl Into<String>, header: &BatchHeader) -> Self {
        Receipt {
            envelope_id,
            outcome: Outcome::Rejected { reason, message: message.into() },
            leaf_index: None,
            log_index: header.log_index,
            commit_time_ms: header.commit_time_ms,
            batch_position: 0,
        }
    }
}

/// Writes of the batch in progress, visible to later envelopes of the same
/// batch before they reach the engine.
struct Pending {
    batch: WriteBatch,
    head: Head,
    by_id: HashMap<Hash, u64>,
    by_nonce: HashMap<(String, u64), (u64, Hash)>,
    leaves: HashMap<u64, LeafRecord>,
    state: Overlay,
}

impl<E: KvEngine> Ledger<E> {
    /// Applies one ordered batch and returns a receipt per envelope, in
    /// order. Invalid envelopes are rejected (their receipt says why) and
    /// change nothing; the batch as a whole is one atomic write that also
    /// advances the applied index, even when every envelope was refused.
    ///
    /// # Errors
    ///
    /// [`LedgerError::OutOfOrder`] when `header.log_index` does not exceed
    /// the applied index (a replayed batch; nothing changes). Storage
    /// failures are fatal for the caller: stop applying.
    pub fn apply(&self, header: &BatchHeader, envelopes: &[Vec<u8>]) -> Result<Vec<Receipt>, LedgerError> {
        self.apply_prechecked(header, precheck_all(envelopes))
    }

    /// [`Ledger::apply`] of envelopes whose stateless checks already ran
    /// ([`Prechecked`], e.g. on other threads while the batch was being
    /// replicated). The receipts are exactly those `apply` gives for the
    /// same bytes.
    ///
    /// # Errors
    ///
    /// As [`Ledger::apply`].
    pub fn apply_prechecked(
        &self,
        header: &BatchHeader,
        envelopes: Vec<Prechecked>,
    ) -> Result<Vec<Receipt>, LedgerError> {
        let _writer = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let head = self.head.read().unwrap_or_else(|e| e.into_inner()).clone();
        if header.log_index <= head.applied.applied_index {
            return Err(LedgerError::OutOfOrder { got: header.log_index, applied: head.applied.applied_index });
        }
        let mut p = Pending {
            batch: WriteBatch::new(),
            head,
            by_id: HashMap::new(),
            by_nonce: HashMap::new(),
            leaves: HashMap::new(),
            state: Overlay::default(),
        };
        // Marketplace deadlines that lapsed before this commit resolve
        // first, so this batch's envelopes see the cases as decided.
        let swept = {
            let mut view = StateView::new(&self.engine, &p.state);
            domain::marketplace::sweep(&mut view, &self.genesis, header.commit_time_ms).map_err(|e| self.noted(e))?;
            view.into_writes()
        };
        p.state.absorb(swept);
        let mut receipts = Vec::with_capacity(envelopes.len());
        for (position, checked) in envelopes.into_iter().enumerate() {
            // A state record failing its tag stops the apply (no replica
            // may apply from wrong state) and is noted for health.
            receipts.push(self.apply_one(header, position as u32, checked, &mut p).map_err(|e| self.noted(e))?);
        }
        std::mem::take(&mut p.state).drain_into(&mut p.batch);
        p.head.applied.applied_index = header.log_index;
        p.head.applied.last_commit_time_ms = header.commit_time_ms;
        p.head.applied.tree_size = p.head.frontier.size();
        p.head.applied.root = p.head.frontier.root();
        p.batch.put(CF_META, KEY_APPLIED.to_vec(), p.head.applied.encode());
        let opts = if self.opts.sync_apply { WriteOptions::SYNC } else { WriteOptions::NO_SYNC };
        self.engine.write(p.batch, opts)?;
        *self.head.write().unwrap_or_else(|e| e.into_inner()) = p.head;
        Ok(receipts)
    }

    fn apply_one(
        &self,
        header: &BatchHeader,
        position: u32,
        checked: Prechecked,
        p: &mut Pending,
    ) -> Result<Receipt, LedgerError> {
        // The order of the checks is the rule: an undecodable envelope has
        // no id; a copy of a stored envelope is a duplicate before anything
        // else is looked at; then signature, then transaction.
        let (id, checks) = match checked.0 {
            Checked::Undecodable(e) => return Ok(Receipt::rejected(None, Reason::from(&e), e.to_string(), header)),
            Checked::Refused { id, error } => (id, Err(error)),
            Checked::Valid { env, signer, tx } => (env.id(), Ok((env, signer, *tx))),
        };
        if let Some(leaf) = self.lookup_id(&id, p)? {
            return self.duplicate(id, leaf, true, p);
        }
        let reject = |reason: Reason, msg: String| Ok(Receipt::rejected(Some(id), reason, msg, header));
        let (env, signer, tx) = match checks {
            Ok(valid) => valid,
            Err(error) => return reject(Reason::from(&error), error.to_string()),
        };
        let Some(action) = tx.action.as_ref() else {
            return reject(Reason::MissingAction, "transaction has no action".into());
        };
        if tx.network_id != self.genesis.network_id() {
            return reject(
                Reason::WrongNetwork,
                format!("transaction is for network {:?}, this is {:?}", tx.network_id, self.genesis.network_id()),
            );
        }
        let payload_hash = Hash::digest(env.payload());
        let leaf_index = p.head.frontier.size();
        let writes = {
            let view = StateView::new(&self.engine, &p.state);
            let party = match authorize(&view, &tx, &signer.to_bytes())? {
                Ok(party) => party,
                Err((reason, msg)) => return reject(reason, msg),
            };
            if let Err(msg) = self.check_client_time(&tx, header.commit_time_ms) {
                return reject(Reason::ClientTimeOutOfWindow, msg);
            }
            if let Err(msg) = check_private(&view, &tx)? {
                return reject(Reason::InvalidAction, msg);
            }
            let counted_only = matches!(action, pb::transaction::Action::CodeAttempt(_));
            // A counted action keeps no nonce: its own rule makes a retry harmless.
            let nonce_seen = if counted_only { None } else { self.lookup_nonce(&tx.party_id, tx.nonce, p)? };
            if let Some((leaf, first_payload)) = nonce_seen {
                if first_payload == payload_hash {
                    // The same payload signed again: the leaf holds the
                    // first envelope, whose id differs.
                    return self.duplicate(id, leaf, false, p);
                }
                return reject(Reason::NonceReused, format!("party {} already used nonce {}", tx.party_id, tx.nonce));
            }
            let mut ctx = Ctx {
                view,
                genesis: &self.genesis,
                signer: party,
                leaf: leaf_index,
                time_ms: header.commit_time_ms,
                client_time_ms: tx.client_time.as_ref().map(veritrace_proto::ms_from_timestamp),
                envelope_id: id,
            };
            match domain::execute(&mut ctx, action) {
                Ok(()) => (ctx.view.into_writes(), counted_only),
                Err(Fail::Refused(r)) => return reject(r.reason, r.message),
                Err(Fail::Storage(e)) => return Err(e),
            }
        };
        let (writes, counted_only) = writes;
        p.state.absorb(writes);
        if counted_only {
            return Ok(Receipt {
                envelope_id: Some(id),
                outcome: Outcome::Counted,
                leaf_index: None,
                log_index: header.log_index,
                commit_time_ms: header.commit_time_ms,
                batch_position: position,
            });
        }

        // Accepted: append the leaf and every index entry in this batch.
        let record = LeafRecord {
            leaf_index,
            log_index: header.log_index,
            batch_position: position,
            commit_time_ms: header.commit_time_ms,
            shard_id: self.opts.shard_id,
            envelope: env.bytes().to_vec(),
        };
        let encoded = record.encode();
        for (node, hash) in p.head.frontier.append(veritrace_core::merkle::leaf_hash(&encoded)) {
            p.batch.put(CF_MERKLE, node.to_key().to_vec(), hash.as_bytes().to_vec());
        }
        p.batch.put(CF_LEAVES, leaf_index.to_be_bytes().to_vec(), encoded);
        p.batch.put(CF_IDX_ENVELOPE, id.as_bytes().to_vec(), leaf_index.to_be_bytes().to_vec());
        let party = len_prefixed(tx.party_id.as_bytes());
        let mut nonce_value = leaf_index.to_be_bytes().to_vec();
        nonce_value.extend_from_slice(payload_hash.as_bytes());
        p.batch.put(CF_IDX_NONCE, with_u64(party.clone(), tx.nonce), nonce_value);
        p.batch.put(CF_IDX_PARTY, with_u64(party, leaf_index), Vec::new());
        p.by_id.insert(id, leaf_index);
        p.by_nonce.insert((tx.party_id.clone(), tx.nonce), (leaf_index, payload_hash));
        p.leaves.insert(leaf_index, record);
        Ok(Receipt {
            envelope_id: Some(id),
            outcome: Outcome::Applied,
            leaf_index: Some(leaf_index),
            log_index: header.log_index,
            commit_time_ms: header.commit_time_ms,
            batch_position: position,
        })
    }

    fn lookup_id(&self, id: &Hash, p: &Pending) -> Result<Option<u64>, LedgerError> {
        if let Some(leaf) = p.by_id.get(id) {
            return Ok(Some(*leaf));
        }
        self.find_envelope(id)
    }

    fn lookup_nonce(&self, party: &str, nonce: u64, p: &Pending) -> Result<Option<(u64, Hash)>, LedgerError> {
        if let Some(v) = p.by_nonce.get(&(party.to_string(), nonce)) {
            return Ok(Some(*v));
        }
        let key = with_u64(len_prefixed(party.as_bytes()), nonce);
        match self.engine.get(CF_IDX_NONCE, &key)? {
            None => Ok(None),
            Some(v) if v.len() == 40 => {
                let leaf = leading_u64(&v).unwrap_or_default();
                let hash = Hash::from_slice(&v[8..]).map_err(|e| LedgerError::Corrupt { what: e.to_string() })?;
                Ok(Some((leaf, hash)))
            }
            Some(_) => Err(LedgerError::Corrupt { what: "nonce index value".into() }),
        }
    }

    /// The receipt of a duplicate of the envelope at `leaf_index`; with
    /// `same_id`, that leaf must hold `id` itself.
    fn duplicate(&self, id: Hash, leaf_index: u64, same_id: bool, p: &Pending) -> Result<Receipt, LedgerError> {
        let first = match p.leaves.get(&leaf_index) {
            Some(r) => r.clone(),
            None => self.leaf(leaf_index)?,
        };
        // The indexes are not sealed: a changed index entry must not turn
        // a new envelope into a "duplicate" of another leaf. (The leaf
        // itself is checked against the Merkle tree by `leaf`.)
        if same_id && Hash::digest(&first.envelope) != id {
            return Err(self.noted(LedgerError::Corrupt {
                what: format!("an index names leaf {leaf_index} for an envelope that leaf does not hold"),
            }));
        }
        Ok(Receipt {
            envelope_id: Some(id),
            outcome: Outcome::Duplicate,
            leaf_index: Some(leaf_index),
            log_index: first.log_index,
            commit_time_ms: first.commit_time_ms,
            batch_position: first.batch_position,
        })
    }

    /// Refuses a `client_time` outside the replay window around the commit
    /// time (unset: no freshness check; nonces are kept for ever, so a
    /// replay is refused anyway).
    fn check_client_time(&self, tx: &pb::Transaction, commit_ms: i64) -> Result<(), String> {
        let Some(t) = &tx.client_time else { return Ok(()) };
        let client_ms = veritrace_proto::ms_from_timestamp(t);
        let g = self.genesis.proto();
        let window = g.replay_window.as_ref().map_or(24 * 3600 * 1000, |d| d.seconds.saturating_mul(1000));
        let skew = g.max_clock_skew.as_ref().map_or(5 * 60 * 1000, |d| d.seconds.saturating_mul(1000));
        if client_ms < commit_ms.saturating_sub(window) || client_ms > commit_ms.saturating_add(skew) {
            return Err(format!(
                "client_time {client_ms} ms is outside the window [{}, {}] around the commit time",
                commit_ms.saturating_sub(window),
                commit_ms.saturating_add(skew)
            ));
        }
        Ok(())
    }
}

/// Checks a transaction's private commitments and readers
/// (`veritrace_core::private_data`): at most 32 commitments of 32 bytes
/// under unique valid names, at most 16 readers, each a registered party,
/// and readers only with commitments. `Ok(Err(..))` is a refusal.
fn check_private<E: KvEngine>(
    view: &StateView<'_, E>,
    tx: &pb::Transaction,
) -> Result<Result<(), String>, LedgerError> {
    use veritrace_core::private_data::{MAX_FIELDS, MAX_READERS, check_name};
    let (commitments, readers) = (&tx.private_commitments, &tx.private_to);
    if commitments.is_empty() {
        return Ok(if readers.is_empty() { Ok(()) } else { Err("private_to without private commitments".into()) });
    }
    if commitments.len() > MAX_FIELDS || readers.len() > MAX_READERS {
        return Ok(Err(format!("at most {MAX_FIELDS} private commitments and {MAX_READERS} readers")));
    }
    let mut names = std::collections::BTreeSet::new();
    for c in commitments {
        if let Err(msg) = check_name(&c.name) {
            return Ok(Err(msg));
        }
        if c.commitment.len() != 32 || !names.insert(c.name.as_str()) {
            return Ok(Err(format!("private field {:?}: a 32-byte commitment, once per name", c.name)));
        }
    }
    for reader in readers {
        if view.party(reader)?.is_none() {
            return Ok(Err(format!("private_to names {reader:?}, no registered party")));
        }
    }
    Ok(Ok(()))
}

/// Checks that `signer_key` is an active key of the transaction's party and
/// that the party may act; returns the party. `Ok(Err(..))` is a refusal,
/// `Err` a storage failure.
#[allow(clippy::type_complexity)]
fn authorize<E: KvEngine>(
    view: &StateView<'_, E>,
    tx: &pb::Transaction,
    signer_key: &[u8],
) -> Result<Result<pb::Party, (Reason, String)>, LedgerError> {
    let Some(party) = view.party(&tx.party_id)? else {
        return Ok(Err((Reason::UnknownParty, format!("party {:?} is not registered", tx.party_id))));
    };
    let owner = view.get(CF_STATE, &keys::signing_key(signer_key))?;
    let active =
        party.signing_keys.iter().any(|k| k.public_key == signer_key && k.status == pb::KeyStatus::Active as i32);
    if owner.as_deref() != Some(tx.party_id.as_bytes()) || !active {
        return Ok(Err((
            Reason::KeyNotAuthorized,
            format!("signer key {} is not an active key of party {}", hex(signer_key), tx.party_id),
        )));
    }
    if party.status == pb::PartyStatus::Suspended as i32 {
        return Ok(Err((Reason::PartySuspended, format!("party {} is suspended", tx.party_id))));
    }
    Ok(Ok(party))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
