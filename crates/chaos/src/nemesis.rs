//! The nemesis: one fault at a time, each held for a while and then
//! healed; the kinds a run enables take turns, the nodes they hit are
//! random (the leader half of the time).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rand::RngExt as _;
use rand::seq::IndexedRandom as _;
use serde::Serialize;
use tokio::sync::Mutex;

use crate::cluster::Cluster;

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FaultKind {
    /// SIGKILL a node, restart it after the hold.
    Kill,
    /// SIGSTOP a node, SIGCONT it after the hold.
    Pause,
    /// Cut one node (often the leader) off from the others.
    Isolate,
    /// Split the nodes into a minority and a majority.
    Partition,
    /// Restart a node with its wall clock off by up to [`MAX_SKEW_SECS`]
    /// either way (libfaketime), and back after the hold.
    Skew,
    /// Replace a member (the leader half the time) by a spare node:
    /// learner, promotion, de-listing by governance, removal
    /// ([`crate::churn`]). Permanent: nothing to heal.
    Member,
}

/// The largest clock skew the nemesis applies, in seconds: well inside
/// the network's default `max_clock_skew` (5 min), so every write must
/// still go through.
pub const MAX_SKEW_SECS: i64 = 90;

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kill" => Ok(FaultKind::Kill),
            "pause" => Ok(FaultKind::Pause),
            "isolate" => Ok(FaultKind::Isolate),
            "partition" => Ok(FaultKind::Partition),
            "skew" => Ok(FaultKind::Skew),
            "member" => Ok(FaultKind::Member),
            other => Err(format!("unknown fault {other:?}: kill, pause, isolate, partition, skew, member")),
        }
    }
}

/// One fault the nemesis applied, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// Which kind.
    pub kind: FaultKind,
    /// The nodes it hit (the minority side of a partition; for `Member`,
    /// the spare that joined, then the member that left).
    pub nodes: Vec<u64>,
    /// Milliseconds into the run.
    pub at_ms: u64,
}

/// How many `Member` faults `rounds` rounds of `kinds` apply: the spare
/// nodes a run needs.
pub fn member_rounds(kinds: &[FaultKind], rounds: usize) -> usize {
    (0..rounds).filter(|r| kinds.get(r % kinds.len().max(1)) == Some(&FaultKind::Member)).count()
}

/// Runs faults until `rounds` are done: each held for `hold`, then healed,
/// then `gap` of calm. Returns what it did.
pub async fn run(
    cluster: Arc<Mutex<Cluster>>,
    kinds: Vec<FaultKind>,
    rounds: usize,
    hold: Duration,
    gap: Duration,
    started: std::time::Instant,
) -> anyhow::Result<Vec<Applied>> {
    let mut applied = Vec::new();
    for round in 0..rounds {
        let Some(kind) = kinds.get(round % kinds.len().max(1)).copied() else { break };
        let (ids, leader) = {
            let c = cluster.lock().await;
            (c.ids(), c.leader(Duration::from_secs(10)).await)
        };
        let n = ids.len();
        // The leader half of the time: the interesting case.
        let target = match leader {
            Some(l) if rand::rng().random_bool(0.5) => l,
            _ => *ids.choose(&mut rand::rng()).unwrap_or(&1),
        };
        let minority: Vec<u64> = {
            let mut shuffled = ids.clone();
            for i in (1..shuffled.len()).rev() {
                let j = rand::rng().random_range(0..=i);
                shuffled.swap(i, j);
            }
            shuffled.truncate((n - 1) / 2);
            shuffled
        };
        let at_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if kind == FaultKind::Member {
            tracing::info!(?kind, victim = target, at_ms, "nemesis: fault");
            let nodes = crate::churn::replace(&mut *cluster.lock().await, target, round).await?;
            applied.push(Applied { kind, nodes, at_ms });
            tokio::time::sleep(gap).await;
            continue;
        }
        let nodes = match kind {
            FaultKind::Partition => minority,
            _ => vec![target],
        };
        tracing::info!(?kind, ?nodes, at_ms, "nemesis: fault");
        {
            let mut c = cluster.lock().await;
            match kind {
                FaultKind::Kill => c.kill(target)?,
                FaultKind::Pause => c.pause(target, true)?,
                FaultKind::Isolate | FaultKind::Partition => c.partition(&nodes),
                FaultKind::Skew => {
                    let magnitude = rand::rng().random_range(10..=MAX_SKEW_SECS);
                    let skew = if rand::rng().random_bool(0.5) { magnitude } else { -magnitude };
                    tracing::info!(node = target, skew_secs = skew, "nemesis: skewed clock");
                    c.kill(target)?;
                    c.start_with_clock(target, skew)?;
                }
                FaultKind::Member => {}
            }
        }
        applied.push(Applied { kind, nodes, at_ms });
        tokio::time::sleep(hold).await;
        {
            let mut c = cluster.lock().await;
            match kind {
                FaultKind::Kill => c.start(target)?,
                FaultKind::Pause => c.pause(target, false)?,
                FaultKind::Isolate | FaultKind::Partition => c.heal(),
                FaultKind::Skew => {
                    c.kill(target)?;
                    c.start(target)?;
                }
                FaultKind::Member => {}
            }
        }
        tracing::info!(?kind, "nemesis: healed");
        tokio::time::sleep(gap).await;
    }
    Ok(applied)
}
