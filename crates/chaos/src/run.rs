//! One run: start a cluster, load it with clients while the nemesis works,
//! heal everything, wait for the replicas to agree, read every replica's
//! ledger and check the history against it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use tokio::sync::Mutex;
use veritrace_client::Client;
use veritrace_proto::v1 as pb;

use crate::checker::{self, Replica, Report};
use crate::cluster::Cluster;
use crate::history::History;
use crate::nemesis::{self, Applied, FaultKind};
use crate::workload::Worker;

/// What a run does.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The `veritrace` binary to run.
    pub binary: PathBuf,
    /// Nodes (3 or 5).
    pub nodes: u64,
    /// Client workers.
    pub clients: usize,
    /// Fault kinds to choose from; empty runs without faults.
    pub faults: Vec<FaultKind>,
    /// Faults applied, one after another.
    pub rounds: usize,
    /// How long each fault is held.
    pub hold: Duration,
    /// Calm between faults.
    pub gap: Duration,
    /// Where the cluster lives (a temporary directory when `None`).
    pub dir: Option<PathBuf>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Nodes.
    pub nodes: u64,
    /// Fault kinds enabled.
    pub faults: Vec<FaultKind>,
    /// Faults applied.
    pub applied: Vec<Applied>,
    /// The members at the end (churn replaces some), whose ledgers the
    /// checker read.
    pub members: Vec<u64>,
    /// Seconds from the first operation to the checked end.
    pub seconds: f64,
    /// What the checker found.
    pub check: Report,
}

/// Runs `config` and checks it. Replicas that do not converge or cannot be
/// read are in the report (`diverged_replicas`, `unreadable_replicas`); an
/// `Err` is a harness failure before the checker could run (no leader at
/// the start, a node that cannot be started).
pub async fn run(config: &RunConfig) -> anyhow::Result<RunReport> {
    let temp;
    let dir = match &config.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let spares = nemesis::member_rounds(&config.faults, config.rounds) as u64;
    let mut cluster = Cluster::init(&config.binary, config.nodes, spares, &dir).await?;
    for id in cluster.ids() {
        cluster.start(id)?;
    }
    if cluster.leader(Duration::from_secs(60)).await.is_none() {
        bail!("no leader after 60 s\n{}", logs(&cluster));
    }
    let history = History::default();
    let stop = Arc::new(AtomicBool::new(false));
    let options = cluster.options()?;
    let mut workers = Vec::new();
    for process in 0..config.clients {
        let party = cluster.party(1)?;
        let worker = Worker {
            process,
            endpoints: cluster.endpoints(),
            options: options.clone(),
            party,
            network_id: cluster.network_id.clone(),
            history: history.clone(),
            stop: Arc::clone(&stop),
        };
        workers.push(tokio::spawn(worker.run()));
    }
    let started = Instant::now();
    let cluster = Arc::new(Mutex::new(cluster));
    let applied = if config.faults.is_empty() {
        tokio::time::sleep((config.hold + config.gap) * config.rounds as u32).await;
        Vec::new()
    } else {
        let applied =
            nemesis::run(Arc::clone(&cluster), config.faults.clone(), config.rounds, config.hold, config.gap, started)
                .await;
        if applied.is_err() {
            // The clients stop with the run, not after it.
            stop.store(true, Ordering::Relaxed);
        }
        applied?
    };
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let mut cluster = Arc::try_unwrap(cluster).map_err(|_| anyhow::anyhow!("cluster still shared"))?.into_inner();
    cluster.heal();
    for id in cluster.ids() {
        cluster.pause(id, false)?;
        cluster.start(id)?;
    }
    let replicas = read_replicas(&cluster).await;
    if replicas.iter().any(|r| r.root == "unreachable" || r.root.starts_with("unreadable")) {
        tracing::warn!("some replicas could not be read\n{}", logs(&cluster));
    }
    let check = checker::check(&history.ops(), &replicas);
    Ok(RunReport {
        nodes: config.nodes,
        faults: config.faults.clone(),
        applied,
        members: cluster.ids(),
        seconds: started.elapsed().as_secs_f64(),
        check,
    })
}

/// Waits (up to two minutes) until every node reports the same tree size
/// and root, then reads each node's envelope ids in leaf order. Replicas
/// that never converge are read as they are (the checker reports the
/// difference); a node that does not answer at all is an empty replica
/// with root "unreachable", so it counts as diverged, never as skipped.
async fn read_replicas(cluster: &Cluster) -> Vec<Replica> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let ids = cluster.ids();
    let mut heads: BTreeMap<u64, (u64, Vec<u8>)> = BTreeMap::new();
    loop {
        heads.clear();
        for id in &ids {
            if let Some(c) = cluster.client(*id, Duration::from_secs(2)).await
                && let Ok(s) = c.status().await
            {
                heads.insert(*id, (s.tree_size, s.root_hash));
            }
        }
        let first = heads.values().next().cloned();
        if heads.len() == ids.len() && heads.values().all(|h| Some(h) == first.as_ref()) {
            break;
        }
        if Instant::now() >= deadline {
            tracing::warn!(?heads, "the replicas did not converge within 120 s; reading them as they are");
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut replicas = Vec::new();
    for id in ids {
        let (leaves, root) = match (heads.get(&id), cluster.client(id, Duration::from_secs(10)).await) {
            (Some((size, root)), Some(c)) => match list_all(&c, *size).await {
                Ok(leaves) => (leaves, hex(root)),
                Err(e) => (Vec::new(), format!("unreadable: {e:#}")),
            },
            _ => (Vec::new(), "unreachable".to_owned()),
        };
        replicas.push(Replica { node: id, leaves, root });
    }
    replicas
}

/// Every envelope id of the node's ledger in leaf order, up to `size`
/// leaves, read with `Watch` from leaf 0 (no filter).
async fn list_all(c: &Client, size: u64) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    if size == 0 {
        return Ok(out);
    }
    let mut stream = c.watch(pb::WatchRequest::default()).await?;
    let read = async {
        while let Some(message) = stream.message().await? {
            if let Some(pb::watch_response::Event::Entry(e)) = message.event {
                let receipt = e.receipt.context("an entry without its receipt")?;
                if receipt.leaf_index != out.len() as u64 {
                    bail!("leaf {} streamed at position {}", receipt.leaf_index, out.len());
                }
                out.push(hex(&receipt.envelope_id));
                if out.len() as u64 == size {
                    return Ok(());
                }
            }
        }
        bail!("the stream ended after {} of {size} leaves", out.len())
    };
    tokio::time::timeout(Duration::from_secs(120), read).await.context("streaming the ledger")??;
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn logs(cluster: &Cluster) -> String {
    cluster.ids().into_iter().map(|id| format!("---- node {id}\n{}", cluster.log_tail(id, 30))).collect()
}
