//! One run: start a cluster, load it with clients while the nemesis works,
//! heal everything, wait for the replicas to agree, read every replica's
//! ledger and check the history against it.

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
    /// Seconds from the first operation to the checked end.
    pub seconds: f64,
    /// What the checker found.
    pub check: Report,
}

/// Runs `config` and checks it. An `Err` is a harness failure (the cluster
/// never converged, a node could not be read), itself a finding: the
/// message says what and carries the nodes' last log lines.
pub async fn run(config: &RunConfig) -> anyhow::Result<RunReport> {
    let temp;
    let dir = match &config.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let mut cluster = Cluster::init(&config.binary, config.nodes, &dir).await?;
    for id in cluster.ids() {
        cluster.start(id)?;
    }
    if cluster.leader(Duration::from_secs(60)).await.is_none() {
        bail!("no leader after 60 s\n{}", logs(&cluster));
    }
    let history = History::default();
    let stop = Arc::new(AtomicBool::new(false));
    let apis: Vec<(u64, String)> = cluster.ids().into_iter().map(|id| (id, cluster.api(id).to_owned())).collect();
    let options = cluster.options()?;
    let mut workers = Vec::new();
    for process in 0..config.clients {
        let party = cluster.party(1)?;
        let worker = Worker {
            process,
            apis: apis.clone(),
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
        nemesis::run(Arc::clone(&cluster), config.faults.clone(), config.rounds, config.hold, config.gap, started)
            .await?
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
    let replicas = match read_replicas(&cluster).await {
        Ok(r) => r,
        Err(e) => bail!("{e:#}\n{}", logs(&cluster)),
    };
    let check = checker::check(&history.ops(), &replicas);
    Ok(RunReport {
        nodes: config.nodes,
        faults: config.faults.clone(),
        applied,
        seconds: started.elapsed().as_secs_f64(),
        check,
    })
}

/// Waits (up to two minutes) until every node reports the same tree size
/// and root, then reads each node's envelope ids in leaf order.
async fn read_replicas(cluster: &Cluster) -> anyhow::Result<Vec<Replica>> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let ids = cluster.ids();
    let (size, root) = loop {
        let mut heads = Vec::new();
        for id in &ids {
            if let Some(c) = cluster.client(*id, Duration::from_secs(2)).await
                && let Ok(s) = c.status().await
            {
                heads.push((s.tree_size, s.root_hash));
            }
        }
        if heads.len() == ids.len() && heads.iter().all(|h| *h == heads[0]) {
            break heads[0].clone();
        }
        if Instant::now() >= deadline {
            bail!("the replicas did not converge within 120 s: {heads:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let mut replicas = Vec::new();
    for id in ids {
        let c = cluster.client(id, Duration::from_secs(10)).await.with_context(|| format!("node {id} answers"))?;
        let leaves = list_all(&c, size).await.with_context(|| format!("listing node {id}"))?;
        if leaves.len() as u64 != size {
            bail!("node {id} lists {} envelopes for a tree of {size}", leaves.len());
        }
        replicas.push(Replica { node: id, leaves, root: hex(&root) });
    }
    Ok(replicas)
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
