//! A cluster of drivers over the simulated network, with a small
//! idempotent state machine, for the simulated-cluster tests. Every wait
//! has a deadline; assertions are on outcomes, never on timings.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use veritrace_consensus::sim::SimNetwork;
use veritrace_consensus::{
    DriverConfig, DriverError, RAFT_CFS, RaftHandle, RaftLogStore, SnapshotWrite, StateMachine, Status, driver,
};
use veritrace_metrics::Metrics;
use veritrace_storage::MemEngine;

/// Applied proposals, deduplicated like ledger envelopes: a proposal seen
/// before is answered "dup" and changes nothing.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<(u64, Vec<Vec<u8>>)>>, Arc<Mutex<Prepared>>, Arc<Gate>);

/// Holds snapshot writers while closed; open unless a test closes it.
#[derive(Default)]
pub struct Gate {
    closed: Mutex<bool>,
    opened: std::sync::Condvar,
    /// Writers that waited at the gate so far.
    pub waited: std::sync::atomic::AtomicU64,
}

impl Gate {
    pub fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }

    pub fn open(&self) {
        *self.closed.lock().unwrap() = false;
        self.opened.notify_all();
    }

    fn pass(&self) {
        let mut closed = self.closed.lock().unwrap();
        if *closed {
            self.waited.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        while *closed {
            closed = self.opened.wait(closed).unwrap();
        }
    }
}

/// What `prepare` saw, and what `apply` applied without seeing it first.
#[derive(Default)]
pub struct Prepared {
    pub seen: Vec<Vec<u8>>,
    pub applied_unseen: Vec<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LogError(String);

fn state_hash(items: &[Vec<u8>]) -> Vec<u8> {
    let mut h = blake3::Hasher::new();
    for i in items {
        h.update(&(i.len() as u64).to_be_bytes());
        h.update(i);
    }
    h.finalize().as_bytes().to_vec()
}

impl StateMachine for Log {
    type Error = LogError;

    fn apply(&mut self, index: u64, _at: i64, proposals: &[&[u8]]) -> Result<Vec<Vec<u8>>, LogError> {
        let mut g = self.0.lock().unwrap();
        g.0 = index;
        let mut answers = Vec::new();
        let mut prepared = self.1.lock().unwrap();
        for p in proposals {
            if !prepared.seen.iter().any(|x| x == p) {
                prepared.applied_unseen.push(p.to_vec());
            }
            if g.1.iter().any(|x| x == p) {
                answers.push(b"dup".to_vec());
            } else {
                g.1.push(p.to_vec());
                answers.push((g.1.len() as u64).to_be_bytes().to_vec());
            }
        }
        Ok(answers)
    }

    fn prepare(&mut self, proposals: &[&[u8]]) {
        self.1.lock().unwrap().seen.extend(proposals.iter().map(|p| p.to_vec()));
    }

    fn applied_index(&self) -> u64 {
        self.0.lock().unwrap().0
    }

    /// Copies the items (the state is fixed) and writes them on a thread,
    /// after the test's gate opens: the driver must go on meanwhile.
    fn snapshot(&mut self, path: &Path) -> Result<SnapshotWrite<LogError>, LogError> {
        let items = self.0.lock().unwrap().1.clone();
        let (path, gate) = (path.to_path_buf(), Arc::clone(&self.2));
        let thread = std::thread::spawn(move || {
            gate.pass();
            let mut out = Vec::new();
            for i in &items {
                out.extend_from_slice(&(i.len() as u32).to_be_bytes());
                out.extend_from_slice(i);
            }
            std::fs::write(path, out).map_err(|e| LogError(e.to_string()))?;
            Ok(state_hash(&items))
        });
        Ok(SnapshotWrite::background(thread))
    }

    fn restore(&mut self, path: &Path, descriptor: &[u8], index: u64) -> Result<(), LogError> {
        let bytes = std::fs::read(path).map_err(|e| LogError(e.to_string()))?;
        let mut items = Vec::new();
        let mut rest = bytes.as_slice();
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            items.push(rest.get(4..4 + len).ok_or_else(|| LogError("truncated".into()))?.to_vec());
            rest = &rest[4 + len..];
        }
        if state_hash(&items) != descriptor {
            return Err(LogError("snapshot does not match its descriptor".into()));
        }
        *self.0.lock().unwrap() = (index, items);
        Ok(())
    }
}

impl Log {
    /// The gate snapshot writers pass before writing.
    pub fn snapshot_gate(&self) -> &Gate {
        &self.2
    }

    pub fn items(&self) -> Vec<Vec<u8>> {
        self.0.lock().unwrap().1.clone()
    }

    /// (proposals `prepare` saw, proposals applied without `prepare` first).
    pub fn prepared(&self) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let p = self.1.lock().unwrap();
        (p.seen.clone(), p.applied_unseen.clone())
    }
}

pub struct Node {
    pub handle: RaftHandle,
    /// The catalogue this node's driver reports to.
    pub metrics: Metrics,
    pub log: Log,
    pub task: tokio::task::JoinHandle<()>,
}

pub struct Cluster {
    pub net: SimNetwork,
    pub nodes: BTreeMap<u64, Node>,
    pub dir: tempfile::TempDir,
    tweak: fn(&mut DriverConfig),
}

pub fn fast(cfg: &mut DriverConfig) {
    cfg.tick = Duration::from_millis(10);
}

impl Cluster {
    /// `n` founding voters 1..=n.
    pub fn start(n: u64, seed: u64, tweak: fn(&mut DriverConfig)) -> Cluster {
        let mut c =
            Cluster { net: SimNetwork::new(seed), nodes: BTreeMap::new(), dir: tempfile::tempdir().unwrap(), tweak };
        let voters: Vec<u64> = (1..=n).collect();
        for id in 1..=n {
            let meta = format!("node-{id}").into_bytes();
            let store = RaftLogStore::bootstrap(MemEngine::new(RAFT_CFS), &voters, &[]).unwrap();
            c.launch(id, store, Some(meta));
        }
        c
    }

    /// A node that joins later: an empty store, waiting to be added.
    pub fn add_empty_node(&mut self, id: u64) {
        let store = RaftLogStore::create(MemEngine::new(RAFT_CFS), Default::default()).unwrap();
        self.launch(id, store, None);
    }

    fn launch(&mut self, id: u64, store: RaftLogStore<MemEngine>, _meta: Option<Vec<u8>>) {
        let (tx, rx) = mpsc::channel(4096);
        let transport = Arc::new(self.net.attach(id, tx));
        let log = Log::default();
        let mut cfg = DriverConfig::new(id, self.dir.path().join(format!("snap-{id}")));
        cfg.initial_metadata = (1..=3).map(|i| (i, format!("node-{i}").into_bytes())).collect();
        fast(&mut cfg);
        (self.tweak)(&mut cfg);
        let metrics = cfg.metrics.clone();
        let (handle, task) = driver::start(cfg, store, log.clone(), transport, rx).unwrap();
        self.nodes.insert(id, Node { handle, metrics, log, task });
    }

    pub fn handle(&self, id: u64) -> &RaftHandle {
        &self.nodes[&id].handle
    }

    /// Node `id`'s metric catalogue.
    pub fn metrics(&self, id: u64) -> &Metrics {
        &self.nodes[&id].metrics
    }

    /// Waits until `check` holds for node `id`'s metrics.
    pub async fn wait_metrics(&self, id: u64, what: &str, check: impl Fn(&Metrics) -> bool) {
        for _ in 0..3000 {
            if check(self.metrics(id)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("node {id}: {what} never held; metrics:\n{}", self.metrics(id).encode());
    }

    /// Commits `item(0)` (so a leader is elected and known), then cuts one
    /// follower off the network; returns (leader, isolated follower).
    pub async fn isolate_a_follower(&self) -> (u64, u64) {
        self.propose(&item(0), None, &[]).await;
        let leader = self.leader(&[]).await;
        let follower = self.nodes.keys().copied().find(|id| *id != leader).unwrap();
        self.net.isolate(follower);
        (leader, follower)
    }

    /// Waits until node `id`'s status satisfies `check`, and returns it.
    pub async fn wait_status(&self, id: u64, what: &str, check: impl Fn(&Status) -> bool) -> Status {
        let mut last = None;
        for _ in 0..3000 {
            if let Ok(s) = self.handle(id).status().await {
                if check(&s) {
                    return s;
                }
                last = Some(s);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("node {id}: {what} never came; last status: {last:?}");
    }

    /// The id of a leader other than `except`, once one is elected.
    pub async fn leader(&self, except: &[u64]) -> u64 {
        for _ in 0..3000 {
            for (id, n) in &self.nodes {
                if except.contains(id) {
                    continue;
                }
                if let Ok(s) = n.handle.status().await
                    && s.role == "leader"
                {
                    return *id;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no leader elected");
    }

    /// Proposes `data` through node `via` (or the leader), retrying on
    /// leadership changes, until it is acknowledged.
    pub async fn propose(&self, data: &[u8], via: Option<u64>, except: &[u64]) -> Vec<u8> {
        for _ in 0..200 {
            let node = match via {
                Some(v) => v,
                None => self.leader(except).await,
            };
            match tokio::time::timeout(Duration::from_secs(3), self.handle(node).propose(data.to_vec())).await {
                Ok(Ok(answer)) => return answer,
                Ok(Err(
                    DriverError::NotLeader { .. }
                    | DriverError::Dropped(_)
                    | DriverError::Unavailable(_)
                    | DriverError::Timeout(_),
                ))
                | Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                Ok(Err(e)) => panic!("propose failed: {e}"),
            }
        }
        panic!("proposal never committed");
    }

    /// Waits until every node in `ids` holds exactly `want` (in order).
    pub async fn converge(&self, ids: &[u64], want: &[Vec<u8>]) {
        for _ in 0..3000 {
            if ids.iter().all(|id| self.nodes[id].log.items() == want) {
                let applied: Vec<u64> = ids.iter().map(|id| self.nodes[id].log.applied_index()).collect();
                // Same state; the applied index may differ only by no-op
                // and conf entries after the last proposal.
                assert!(applied.iter().all(|a| *a > 0), "applied indices {applied:?}");
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let lens: Vec<_> = ids.iter().map(|id| (id, self.nodes[id].log.items().len())).collect();
        panic!("replicas did not converge to {} items: {lens:?}", want.len());
    }

    /// Waits until every node in `ids` has applied the same index as the
    /// others and reports the same, non-joint membership.
    pub async fn settle(&self, ids: &[u64]) {
        for _ in 0..3000 {
            let mut statuses = Vec::new();
            for id in ids {
                statuses.push(self.handle(*id).status().await.unwrap());
            }
            let first = &statuses[0];
            if statuses.iter().all(|s| {
                s.applied == first.applied
                    && s.membership == first.membership
                    && s.applied == s.commit
                    && s.membership.voters_outgoing.is_empty()
            }) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("nodes {ids:?} did not settle");
    }
}

pub fn item(i: u32) -> Vec<u8> {
    format!("item-{i:05}").into_bytes()
}
