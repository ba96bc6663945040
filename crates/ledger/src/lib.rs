//! Veritrace's ledger: the replicated state machine.
//!
//! A [`Ledger`] holds signed envelopes in an append-only blake3 Merkle log
//! with indexes, over any [`veritrace_storage::KvEngine`] (RocksDB in
//! production, memory in tests). Its one state transition is
//! [`Ledger::apply`]: an ordered batch of envelopes under a
//! [`BatchHeader`] written by whoever orders the log (a Raft leader, or a
//! single-node driver). Apply is deterministic (invariant 1 of
//! ARCHITECTURE.md), checks every envelope (authenticity: signature,
//! signer key owned by an active party of the right network), appends the
//! valid ones and returns a [`Receipt`] per envelope; duplicates return the
//! first receipt (idempotence). The batch and the applied index it
//! advances are one atomic engine write.
//!
//! Reads: leaves, envelope lookup by id, pages by party or item, roots at
//! any past size, inclusion and consistency proofs in O(log n) reads.
//! Operations: [`Ledger::audit`] re-derives the root from the stored
//! envelopes; snapshots export and import the whole state, checked by root.

mod actions;
mod apply;
mod audit;
mod domain;
mod error;
mod genesis;
mod ledger;
mod precheck;
mod query;
pub mod schema;
mod secrecy;
mod snapshot;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;

pub use actions::sgtin_key;
pub use apply::{BatchHeader, Outcome, Receipt};
pub use audit::{AuditProblem, AuditReport, MAX_REPORTED_STATE_DAMAGE};
pub use domain::attempts::{REQUEST_ID_LEN, budget, label_token_refusal, recorded_scan};
pub use domain::code_keys::{CodeKeyParts, MAX_CODE_KEY_SHARES, check as check_code_key, parse as parse_code_key};
pub use domain::marketplace::MAX_LAPSES_PER_BATCH;
pub use domain::policy::default_policy;
pub use domain::products::core_policy;
pub use domain::scans::check_consumer_place;
pub use domain::{ACTION_NAMES, MAX_ITEMS_PER_COMMISSION, action_name};
pub use error::LedgerError;
pub use genesis::Genesis;
pub use ledger::{Ledger, LedgerOptions};
pub use precheck::{PRECHECK_CHUNK, Prechecked, precheck_all, precheck_chunk, precheck_chunks};
pub use query::{ItemReport, JOURNEY_ACTIONS, PartyFilter, certificate, party_summary, product_summary, validity};
pub use schema::{ALL_CFS, AppliedState};
pub use secrecy::{WITHHELD_CODE_MATERIAL, without_code_material};
pub use snapshot::SnapshotInfo;
