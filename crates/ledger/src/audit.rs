//! Re-deriving the Merkle root from the stored envelopes.
//!
//! The audit trusts nothing derived: it reads every leaf record in order,
//! checks that it decodes, sits at its own index and holds a canonical,
//! correctly signed envelope, recomputes each leaf hash and compares it with
//! the stored level-0 node, and finally compares the recomputed root with
//! the stored applied state. It reports the first leaf where anything
//! disagrees, which is where tampering (or disk corruption) begins.

use veritrace_core::merkle::{self, Frontier, NodeSource};
use veritrace_core::{Envelope, Hash, LeafRecord};
use veritrace_storage::KvEngine;

use crate::ledger::StoredNodes;
use crate::schema::*;
use crate::{Ledger, LedgerError};

/// What an audit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Leaves read.
    pub leaves_checked: u64,
    /// Root recomputed from the leaf records.
    pub recomputed_root: Hash,
    /// Root recorded in the applied state.
    pub recorded_root: Hash,
    /// The first problem, if any.
    pub first_problem: Option<AuditProblem>,
    /// State records whose integrity tag was checked (`state::seal`).
    pub state_records_checked: u64,
    /// State records that fail their tag.
    pub state_records_damaged: u64,
    /// What is wrong with the first [`MAX_REPORTED_STATE_DAMAGE`] of them
    /// (each names the record's kind and a short hash of its key).
    pub state_damage: Vec<String>,
}

/// Damaged state records an audit describes one by one.
pub const MAX_REPORTED_STATE_DAMAGE: usize = 20;

impl AuditReport {
    /// True when nothing disagreed.
    pub fn is_clean(&self) -> bool {
        self.first_problem.is_none() && self.state_records_damaged == 0
    }
}

/// One disagreement found by an audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    /// Leaf index where it was found (the tree size for a root mismatch).
    pub leaf_index: u64,
    /// What is wrong.
    pub what: String,
}

impl<E: KvEngine> Ledger<E> {
    /// Audits the whole ledger (see the module docs). Signature checks are
    /// the slow part; `check_signatures = false` re-derives only hashes.
    ///
    /// It also checks every state record's integrity tag (`state::seal`):
    /// damage there is not found through the leaves.
    pub fn audit(&self, check_signatures: bool) -> Result<AuditReport, LedgerError> {
        let mut report = audit_engine(&self.engine, &self.applied(), check_signatures)?;
        for kv in self.engine.scan(CF_STATE, &[], None)? {
            let (key, value) = kv?;
            report.state_records_checked += 1;
            if let Err(e) = crate::state::seal::open(&key, &value) {
                report.state_records_damaged += 1;
                let e = self.noted(e);
                if report.state_damage.len() < MAX_REPORTED_STATE_DAMAGE {
                    report.state_damage.push(e.to_string());
                }
            }
        }
        Ok(report)
    }
}

/// Audits the ledger data in `engine` against `applied`.
pub(crate) fn audit_engine<E: KvEngine>(
    engine: &E,
    applied: &AppliedState,
    check_signatures: bool,
) -> Result<AuditReport, LedgerError> {
    let nodes = StoredNodes(engine);
    let mut frontier = Frontier::new();
    let mut first_problem = None;
    let mut expected = 0u64;
    for kv in engine.scan(CF_LEAVES, &[], None)? {
        let (key, value) = kv?;
        let problem = |what: String| Some(AuditProblem { leaf_index: expected, what });
        let index = trailing_u64(&key).filter(|_| key.len() == 8);
        if index != Some(expected) {
            first_problem = problem(format!("leaf key {key:02x?} where index {expected} was expected"));
            break;
        }
        let record = match LeafRecord::decode(&value) {
            Ok(r) => r,
            Err(e) => {
                first_problem = problem(format!("leaf record does not decode: {e}"));
                break;
            }
        };
        if record.leaf_index != expected {
            first_problem = problem(format!("leaf record says index {}", record.leaf_index));
            break;
        }
        match Envelope::decode(&record.envelope) {
            Ok(env) if check_signatures => {
                if let Err(e) = env.verify() {
                    first_problem = problem(format!("envelope signature: {e}"));
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                first_problem = problem(format!("envelope: {e}"));
                break;
            }
        }
        let leaf_hash = merkle::leaf_hash(&value);
        let stored = nodes.node(merkle::NodeId { level: 0, index: expected });
        if stored.as_ref().ok() != Some(&leaf_hash) {
            first_problem = problem("leaf hash differs from the stored Merkle leaf node".into());
            break;
        }
        frontier.append(leaf_hash);
        expected += 1;
    }
    let recomputed_root = frontier.root();
    if first_problem.is_none() {
        if expected != applied.tree_size {
            first_problem = Some(AuditProblem {
                leaf_index: expected,
                what: format!("{expected} leaves stored, applied state says {}", applied.tree_size),
            });
        } else if recomputed_root != applied.root {
            first_problem = Some(AuditProblem {
                leaf_index: expected,
                what: format!("recomputed root {recomputed_root} differs from recorded root {}", applied.root),
            });
        }
    }
    Ok(AuditReport {
        leaves_checked: expected,
        recomputed_root,
        recorded_root: applied.root,
        first_problem,
        state_records_checked: 0,
        state_records_damaged: 0,
        state_damage: Vec::new(),
    })
}
