//! Three drivers over the simulated network: election, replication,
//! leader isolation and convergence. Assertions are on outcomes (same
//! applied state everywhere), never on timings; every wait has a deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use veritrace_consensus::sim::SimNetwork;
use veritrace_consensus::{DriverConfig, DriverError, RAFT_CFS, RaftHandle, RaftLogStore, StateMachine, driver};
use veritrace_storage::MemEngine;

/// One applied entry: (index, data).
type Applied = (u64, Vec<u8>);

/// Records every applied entry; answers with the count so far.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Applied>>>);

impl StateMachine for Log {
    fn apply(&mut self, index: u64, data: &[u8]) -> Vec<u8> {
        let mut log = self.0.lock().expect("lock");
        log.push((index, data.to_vec()));
        (log.len() as u64).to_be_bytes().to_vec()
    }
}

impl Log {
    fn data(&self) -> Vec<Vec<u8>> {
        self.0.lock().expect("lock").iter().map(|(_, d)| d.clone()).collect()
    }
}

struct Cluster {
    net: SimNetwork,
    handles: Vec<RaftHandle>,
    logs: Vec<Log>,
}

fn start_cluster(n: u64) -> Cluster {
    let net = SimNetwork::new(11);
    let voters: Vec<u64> = (1..=n).collect();
    let mut handles = Vec::new();
    let mut logs = Vec::new();
    for id in 1..=n {
        let store = RaftLogStore::create_with_voters(MemEngine::new(RAFT_CFS), &voters).expect("store");
        let (tx, rx) = mpsc::channel(4096);
        let transport = net.attach(id, tx);
        let log = Log::default();
        let mut cfg = DriverConfig::new(id);
        cfg.tick = Duration::from_millis(10);
        let (handle, _task) = driver::start(cfg, store, log.clone(), transport, rx, 0).expect("start");
        handles.push(handle);
        logs.push(log);
    }
    Cluster { net, handles, logs }
}

async fn leader(c: &Cluster, except: Option<u64>) -> RaftHandle {
    for _ in 0..1000 {
        for h in &c.handles {
            let s = h.status().await.expect("status");
            if s.role == "Leader" && Some(s.id) != except {
                return h.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no leader elected");
}

async fn propose_until_ok(c: &Cluster, data: Vec<u8>, except: Option<u64>) {
    for _ in 0..100 {
        let l = leader(c, except).await;
        match tokio::time::timeout(Duration::from_secs(2), l.propose(data.clone())).await {
            Ok(Ok(_)) => return,
            Ok(Err(DriverError::NotLeader { .. } | DriverError::Dropped(_))) | Err(_) => continue,
            Ok(Err(e)) => panic!("propose failed: {e}"),
        }
    }
    panic!("proposal never committed");
}

async fn converge(c: &Cluster, want: usize) {
    for _ in 0..1000 {
        let datas: Vec<_> = c.logs.iter().map(Log::data).collect();
        if datas.iter().all(|d| d.len() == want) {
            assert!(datas.windows(2).all(|w| w[0] == w[1]), "replicas applied different logs");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let lens: Vec<_> = c.logs.iter().map(|l| l.data().len()).collect();
    panic!("replicas did not converge to {want}: {lens:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_replicate_and_survive_leader_isolation() {
    let c = start_cluster(3);
    for i in 0..20u32 {
        propose_until_ok(&c, i.to_be_bytes().to_vec(), None).await;
    }
    converge(&c, 20).await;

    // Cut the leader off: the other two elect a new one and keep committing.
    let old = leader(&c, None).await.status().await.expect("status").id;
    c.net.isolate(old);
    for i in 20..30u32 {
        propose_until_ok(&c, i.to_be_bytes().to_vec(), Some(old)).await;
    }
    c.net.heal();
    converge(&c, 30).await;
    let expected: Vec<Vec<u8>> = (0..30u32).map(|i| i.to_be_bytes().to_vec()).collect();
    assert_eq!(c.logs[0].data(), expected, "every acknowledged proposal applied once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_refuse_proposals_naming_the_leader() {
    let c = start_cluster(3);
    let l = leader(&c, None).await.status().await.expect("status").id;
    // Let followers learn the leader from its heartbeats.
    propose_until_ok(&c, b"x".to_vec(), None).await;
    for h in &c.handles {
        let s = h.status().await.expect("status");
        if s.id != l {
            assert_eq!(h.propose(b"y".to_vec()).await, Err(DriverError::NotLeader { leader: Some(l) }));
        }
    }
}
