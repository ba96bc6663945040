//! The checker: given the history and every replica's ledger, are the
//! promises kept?
//!
//! 1. **No lost acknowledgement**: every acknowledged envelope is on every
//!    replica, at the leaf its receipt named, exactly once.
//! 2. **Real-time order**: an envelope acknowledged before another was
//!    invoked sits at an earlier leaf.
//! 3. **Reads see acknowledged writes**: a linearizable read invoked after
//!    an acknowledgement returns a tree that holds it.
//! 4. **Replicas agree**: every replica holds the same leaves and root.
//!
//! Writes whose outcome is unknown may or may not be in the ledger; if
//! present they must still be there exactly once.

use std::collections::HashMap;

use serde::Serialize;

use crate::history::{Op, WriteOutcome};

/// One replica's ledger, as read after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// Node id.
    pub node: u64,
    /// Envelope ids (hex), in leaf order.
    pub leaves: Vec<String>,
    /// The root of those leaves (hex).
    pub root: String,
}

/// What the checker found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Operations in the history.
    pub ops: usize,
    /// Acknowledged writes.
    pub acks: usize,
    /// Writes that failed definitely.
    pub failed: usize,
    /// Writes reported as definitely failed that are in the ledger all the
    /// same (the client was told something false).
    pub failed_but_landed: usize,
    /// Writes whose outcome is unknown.
    pub unknown: usize,
    /// Unknown writes that did land.
    pub unknown_landed: usize,
    /// Acknowledged writes missing from some replica, or at another leaf.
    pub lost: usize,
    /// Envelopes present more than once on some replica.
    pub duplicated: usize,
    /// Pairs acknowledged-before-invoked whose leaves are out of order.
    pub order_violations: usize,
    /// Linearizable reads that missed an earlier acknowledgement.
    pub stale_reads: usize,
    /// Replicas whose leaves or root differ from the first's.
    pub diverged_replicas: usize,
    /// Replicas that did not answer or could not be listed after the run.
    pub unreadable_replicas: usize,
    /// Human-readable examples of each violation (at most a few each).
    pub examples: Vec<String>,
}

impl Report {
    /// True when every promise held.
    pub fn ok(&self) -> bool {
        self.lost == 0
            && self.failed_but_landed == 0
            && self.duplicated == 0
            && self.order_violations == 0
            && self.stale_reads == 0
            && self.diverged_replicas == 0
            && self.unreadable_replicas == 0
            && self.acks > 0
    }

    fn example(&mut self, text: String) {
        if self.examples.len() < 20 {
            self.examples.push(text);
        }
    }
}

/// Checks `ops` against `replicas` (at least one).
pub fn check(ops: &[Op], replicas: &[Replica]) -> Report {
    let mut r = Report { ops: ops.len(), ..Report::default() };
    // (invoked, completed, leaf) of acknowledged writes.
    let mut acked: Vec<(u64, u64, u64, &str)> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    let mut failed: Vec<(&str, &str)> = Vec::new();
    for op in ops {
        if let Op::Write { invoked_us, completed_us, outcome, envelope, .. } = op {
            match outcome {
                WriteOutcome::Ok { leaf } => acked.push((*invoked_us, *completed_us, *leaf, envelope)),
                WriteOutcome::Fail(why) => failed.push((envelope, why)),
                WriteOutcome::Unknown(_) => unknown.push(envelope),
            }
        }
    }
    r.failed = failed.len();
    r.acks = acked.len();
    r.unknown = unknown.len();

    let Some(first) = replicas.first() else {
        r.diverged_replicas = 1;
        r.example("no replica was read".into());
        return r;
    };
    for rep in &replicas[1..] {
        if rep.leaves != first.leaves || rep.root != first.root {
            r.diverged_replicas += 1;
            let at = rep.leaves.iter().zip(&first.leaves).position(|(a, b)| a != b);
            r.example(format!(
                "node {} differs from node {}: {} vs {} leaves, first difference at {at:?}, roots {} / {}",
                rep.node,
                first.node,
                rep.leaves.len(),
                first.leaves.len(),
                rep.root,
                first.root
            ));
        }
    }
    for rep in replicas {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for id in &rep.leaves {
            *seen.entry(id.as_str()).or_default() += 1;
        }
        let dups = seen.values().filter(|n| **n > 1).count();
        if dups > 0 {
            r.duplicated += dups;
            r.example(format!("node {}: {dups} envelopes appear more than once", rep.node));
        }
        for (_, _, leaf, id) in &acked {
            let at = usize::try_from(*leaf).ok().and_then(|l| rep.leaves.get(l));
            if at.map(String::as_str) != Some(*id) {
                r.lost += 1;
                r.example(format!("node {}: acknowledged {id} not at leaf {leaf} (found {at:?})", rep.node));
            }
        }
    }
    let landed: std::collections::HashSet<&str> =
        replicas.iter().flat_map(|rep| rep.leaves.iter().map(String::as_str)).collect();
    r.unknown_landed = unknown.iter().filter(|id| landed.contains(**id)).count();
    for (id, why) in failed {
        if landed.contains(id) {
            r.failed_but_landed += 1;
            r.example(format!("{id} was refused ({why}) but is in the ledger"));
        }
    }
    // A replica that could not be read is never a match for another.
    for rep in replicas {
        if rep.root == "unreachable" || rep.root.starts_with("unreadable") {
            r.unreadable_replicas += 1;
            r.example(format!("node {} could not be read: {}", rep.node, rep.root));
        }
    }

    // Real-time order: sweep writes by invocation, tracking the highest
    // leaf among those acknowledged before.
    let mut by_completion: Vec<(u64, u64)> = acked.iter().map(|(_, c, l, _)| (*c, *l)).collect();
    by_completion.sort_unstable();
    let mut by_invocation: Vec<(u64, u64, &str)> = acked.iter().map(|(i, _, l, id)| (*i, *l, *id)).collect();
    by_invocation.sort_unstable();
    let mut next = 0;
    let mut highest: Option<u64> = None;
    for (invoked, leaf, id) in &by_invocation {
        while next < by_completion.len() && by_completion[next].0 < *invoked {
            highest = highest.max(Some(by_completion[next].1));
            next += 1;
        }
        if let Some(h) = highest
            && h >= *leaf
        {
            r.order_violations += 1;
            r.example(format!("{id} at leaf {leaf} was invoked after an acknowledgement at leaf {h}"));
        }
    }

    // Reads see every acknowledgement completed before they were invoked.
    let mut reads: Vec<(u64, u64, u64)> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Read { invoked_us, size: Some(size), node, .. } => Some((*invoked_us, *size, *node)),
            _ => None,
        })
        .collect();
    reads.sort_unstable();
    let mut next = 0;
    let mut highest: Option<u64> = None;
    for (invoked, size, node) in reads {
        while next < by_completion.len() && by_completion[next].0 < invoked {
            highest = highest.max(Some(by_completion[next].1));
            next += 1;
        }
        if let Some(h) = highest
            && size <= h
        {
            r.stale_reads += 1;
            r.example(format!("a read at node {node} saw {size} leaves after leaf {h} was acknowledged"));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(envelope: &str, invoked_us: u64, completed_us: u64, outcome: WriteOutcome) -> Op {
        Op::Write { process: 0, node: 1, envelope: envelope.into(), invoked_us, completed_us, outcome }
    }

    fn read(invoked_us: u64, size: u64) -> Op {
        Op::Read { process: 0, node: 2, invoked_us, completed_us: invoked_us + 1, size: Some(size) }
    }

    fn replica(node: u64, leaves: &[&str]) -> Replica {
        Replica { node, leaves: leaves.iter().map(|s| s.to_string()).collect(), root: leaves.join("+") }
    }

    #[test]
    fn a_clean_history_passes() {
        let ops = vec![
            write("a", 0, 10, WriteOutcome::Ok { leaf: 0 }),
            write("b", 5, 20, WriteOutcome::Ok { leaf: 1 }),
            write("c", 21, 30, WriteOutcome::Unknown("timeout".into())),
            read(25, 2),
        ];
        let reps = [replica(1, &["a", "b", "c"]), replica(2, &["a", "b", "c"])];
        let r = check(&ops, &reps);
        assert!(r.ok(), "{r:?}");
        assert_eq!((r.acks, r.unknown, r.unknown_landed), (2, 1, 1));
    }

    #[test]
    fn each_violation_is_caught() {
        // Lost: acknowledged but absent on node 2.
        let ops = vec![write("a", 0, 10, WriteOutcome::Ok { leaf: 0 })];
        let r = check(&ops, &[replica(1, &["a"]), replica(2, &[])]);
        assert_eq!((r.lost, r.diverged_replicas), (1, 1));
        // Order: b invoked after a's ack, yet at an earlier leaf.
        let ops =
            vec![write("a", 0, 10, WriteOutcome::Ok { leaf: 1 }), write("b", 11, 20, WriteOutcome::Ok { leaf: 0 })];
        let r = check(&ops, &[replica(1, &["b", "a"])]);
        assert_eq!(r.order_violations, 1, "{r:?}");
        assert_eq!(r.lost, 0);
        // Stale read: invoked after leaf 0 was acked, saw an empty tree.
        let ops = vec![write("a", 0, 10, WriteOutcome::Ok { leaf: 0 }), read(11, 0)];
        assert_eq!(check(&ops, &[replica(1, &["a"])]).stale_reads, 1);
        // Duplicated.
        let r = check(&[], &[replica(1, &["a", "a"])]);
        assert_eq!(r.duplicated, 1);
        assert!(!r.ok());
        // Told "failed", yet in the ledger.
        let ops = vec![
            write("a", 0, 10, WriteOutcome::Ok { leaf: 0 }),
            write("b", 11, 20, WriteOutcome::Fail("PROPOSAL_DROPPED".into())),
        ];
        assert_eq!(check(&ops, &[replica(1, &["a", "b"])]).failed_but_landed, 1);
        // Unreadable replicas never pass, even two alike; nor does a run
        // without a single acknowledgement.
        let dead = Replica { node: 1, leaves: Vec::new(), root: "unreachable".into() };
        let r = check(&ops[..1], &[dead.clone(), Replica { node: 2, ..dead }]);
        assert_eq!(r.unreadable_replicas, 2);
        assert!(!r.ok());
        assert!(!check(&[], &[replica(1, &[])]).ok(), "no acknowledgement proves nothing");
    }
}
