//! Assembling a node: one RocksDB for the ledger and the Raft log, the
//! ledger state machine, the libp2p network and the Raft driver.
//!
//! Start-up order: keys and genesis, storage, ledger (recovering from an
//! interrupted snapshot install if needed), Raft log (bootstrapped on
//! first start for a founding node, empty for a joining one), network,
//! driver, and a task that keeps the network's allow-list equal to the
//! configured peers plus the current members.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use prost::Message as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use veritrace_consensus::{DriverConfig, Membership, RAFT_CFS, RaftHandle, RaftLogStore, driver};
use veritrace_ledger::{ALL_CFS, Ledger, LedgerError};
use veritrace_net::{NetConfig, Network, NetworkHandle, PeerEntry};
use veritrace_proto::v1 as pb;
use veritrace_store_rocksdb::RocksEngine;

use crate::members::MemberInfo;
use crate::state_machine::{Engine, LedgerCell, LedgerStateMachine};
use crate::{NodeConfig, NodeError, keys};

/// Depth of the channel from the network to the driver.
const INBOUND_DEPTH: usize = 4096;

/// A running node. Cheap to clone; [`Node::shutdown`] stops it.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: NodeConfig,
    pub peer_id: String,
    pub network_id: String,
    pub raft: RaftHandle,
    pub ledger: LedgerCell,
    pub net: NetworkHandle,
    pub engine: Engine,
    /// Signs the tree heads this node serves (derived from the node key).
    pub signer: veritrace_core::SecretKey,
    /// The last tree head signed and its signature: concurrent reads of
    /// the same tree share one signing (~20 µs each). ed25519 signing is
    /// deterministic, so a cached answer is the one signing would give.
    pub signed_head: Mutex<Option<(veritrace_core::TreeHead, pb::SignedTreeHead)>>,
    /// Signs the consumer scans this node records as its operator party.
    pub party_signer: Option<veritrace_core::SecretKey>,
    /// Low digits of consumer-scan nonces (the high ones are the time).
    pub scan_nonce: std::sync::atomic::AtomicU64,
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The node's metric catalogue (`/metrics`).
    pub metrics: veritrace_metrics::Metrics,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("id", &self.inner.config.node.id).field("peer_id", &self.inner.peer_id).finish()
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> NodeError + '_ {
    move |source| NodeError::Io { path: path.to_path_buf(), source }
}

/// The directory of a node's RocksDB.
pub fn db_dir(config: &NodeConfig) -> PathBuf {
    config.node.data_dir.join("db")
}

/// The directory of a node's snapshot files.
pub fn snapshot_dir(config: &NodeConfig) -> PathBuf {
    config.node.data_dir.join("snapshots")
}

fn read_genesis(path: &Path) -> Result<pb::Genesis, NodeError> {
    let bytes = std::fs::read(path).map_err(|e| NodeError::Genesis { path: path.into(), reason: e.to_string() })?;
    pb::Genesis::decode(bytes.as_slice()).map_err(|e| NodeError::Genesis {
        path: path.into(),
        reason: format!("not a binary veritrace.v1.Genesis: {e}"),
    })
}

/// Opens the ledger, creating it from `genesis` on first start. A ledger
/// left uninitialised by an interrupted snapshot install is re-imported
/// from this node's own latest snapshot, which Raft's state matches.
fn open_ledger(
    config: &NodeConfig,
    engine: &Engine,
    store: &RaftLogStore<Engine>,
    genesis: &pb::Genesis,
) -> Result<Ledger<Engine>, NodeError> {
    let opts = crate::state_machine::ledger_options();
    let ledger = match Ledger::open(Arc::clone(engine), opts) {
        Ok(l) => l,
        Err(LedgerError::NotInitialised) => match store.snapshot_descriptor() {
            Some(d) => {
                let path = driver::snapshot_path(&snapshot_dir(config), d.index);
                tracing::warn!(index = d.index, file = %path.display(), "ledger incomplete; restoring it from the last snapshot");
                let file = std::fs::File::open(&path).map_err(io_err(&path))?;
                Ledger::clear(engine)?;
                Ledger::import_snapshot(Arc::clone(engine), std::io::BufReader::new(file), opts)?.0
            }
            None => {
                Ledger::clear(engine)?;
                Ledger::create(Arc::clone(engine), genesis, opts)?
            }
        },
        Err(e) => return Err(e.into()),
    };
    let expected = veritrace_ledger::Genesis::from_proto(genesis.clone())?.id();
    if ledger.genesis().id() != expected {
        return Err(NodeError::Genesis {
            path: config.node.genesis_file.clone(),
            reason: format!("the data directory {} holds another network's ledger", config.node.data_dir.display()),
        });
    }
    Ok(ledger)
}

/// The metadata of every member the configuration knows: this node and
/// its peers.
fn configured_members(config: &NodeConfig, peer_id: &str) -> BTreeMap<u64, Vec<u8>> {
    let mut members = BTreeMap::new();
    let me = MemberInfo {
        peer_id: peer_id.to_string(),
        api: format!("http://{}", config.api.listen),
        addrs: vec![config.network.listen.clone()],
    };
    members.insert(config.node.id, me.encode());
    for p in &config.peers {
        if p.id != config.node.id {
            let info = MemberInfo {
                peer_id: p.peer_id.clone(),
                api: p.api.clone().unwrap_or_default(),
                addrs: p.addrs.clone(),
            };
            members.insert(p.id, info.encode());
        }
    }
    members
}

/// Configured peers plus every current member, this node excepted.
fn allowed_peers(config_peers: &[PeerEntry], membership: &Membership, me: u64) -> Vec<PeerEntry> {
    let mut peers: BTreeMap<u64, PeerEntry> = config_peers.iter().map(|p| (p.node, p.clone())).collect();
    for (node, bytes) in &membership.metadata {
        if *node == me {
            continue;
        }
        if let Some(entry) = MemberInfo::decode(bytes).and_then(|m| m.peer_entry(*node)) {
            peers.entry(*node).or_insert(entry);
        }
    }
    peers.into_values().collect()
}

impl Node {
    /// Starts a node from its configuration (inside a Tokio runtime).
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let seed = keys::read_seed_file(&config.node.key_file)?;
        let keypair = keys::node_keypair(&seed)?;
        let peer_id = keypair.public().to_peer_id().to_string();
        let signer = keys::party_key(&seed)?;
        let party_signer = match &config.node.party_key_file {
            Some(path) => Some(keys::party_key(&keys::read_seed_file(path)?)?),
            None => None,
        };
        let genesis = read_genesis(&config.node.genesis_file)?;
        let data_dir = &config.node.data_dir;
        std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let cfs: Vec<&str> = ALL_CFS.iter().chain(RAFT_CFS).copied().collect();
        let engine: Engine = Arc::new(RocksEngine::open(&db_dir(&config), &cfs)?);

        let members = configured_members(&config, &peer_id);
        let store = if RaftLogStore::is_bootstrapped(&engine)? {
            RaftLogStore::open(Arc::clone(&engine))?
        } else if config.cluster.initial_voters.is_empty() {
            tracing::info!("empty Raft log: waiting to be added to a cluster");
            RaftLogStore::create(Arc::clone(&engine), Default::default())?
        } else {
            let voters = &config.cluster.initial_voters;
            let founding: BTreeMap<u64, Vec<u8>> =
                members.iter().filter(|(id, _)| voters.contains(id)).map(|(k, v)| (*k, v.clone())).collect();
            let blob = veritrace_consensus::wire::encode_metadata(&founding);
            tracing::info!(voters = ?voters, "bootstrapping the Raft log");
            RaftLogStore::bootstrap(Arc::clone(&engine), voters, &blob)?
        };
        let ledger = LedgerCell::new(open_ledger(&config, &engine, &store, &genesis)?);
        let metrics = veritrace_metrics::Metrics::new();
        metrics.ledger().set_tree_size(ledger.get().tree_head().tree_size);
        let sm = LedgerStateMachine::new(ledger.clone(), Arc::clone(&engine), metrics.clone());

        let config_peers = config.peer_entries()?;
        let mut net_config = NetConfig::new(config.listen_multiaddr()?, keypair, config.node.id, config_peers.clone());
        net_config.request_timeout = config.request_timeout();
        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_DEPTH);
        let (net, net_task) = Network::start(net_config, inbound_tx)?;

        let raft = &config.raft;
        let mut dcfg = DriverConfig::new(config.node.id, snapshot_dir(&config));
        dcfg.tick = config.tick();
        dcfg.election_ticks = raft.election_ticks;
        dcfg.heartbeat_ticks = raft.heartbeat_ticks;
        dcfg.snapshot_interval = raft.snapshot_interval;
        dcfg.snapshot_keep_entries = raft.snapshot_keep_entries;
        dcfg.max_batch_proposals = raft.max_batch_envelopes;
        dcfg.max_batch_bytes = raft.max_batch_bytes;
        dcfg.initial_metadata = members;
        dcfg.metrics = metrics.clone();
        let (handle, driver_task) = driver::start(dcfg, store, sm, Arc::new(net.clone()), inbound_rx)?;

        let watcher = tokio::spawn(keep_peers_in_sync(handle.membership(), net.clone(), config_peers, config.node.id));
        let gauges = tokio::spawn(sample_gauges(handle.clone(), db_dir(&config), metrics.clone()));
        tracing::info!(node = config.node.id, peer_id = %peer_id, listen = %config.network.listen, "node started");
        Ok(Node {
            inner: Arc::new(Inner {
                network_id: genesis.network_id.clone(),
                peer_id,
                raft: handle,
                ledger,
                net,
                engine,
                signer,
                party_signer,
                scan_nonce: std::sync::atomic::AtomicU64::new(0),
                signed_head: Mutex::new(None),
                tasks: Mutex::new(vec![driver_task, net_task, watcher, gauges]),
                metrics,
                config,
            }),
        })
    }

    /// Stops the network and the driver and flushes storage. Other clones
    /// of this node fail their requests afterwards.
    pub async fn shutdown(&self) {
        self.inner.net.shutdown();
        let tasks = std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        // The network's event loop ends, which closes the driver's inbound
        // channel, which ends the driver, which ends the membership watcher.
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(5), task).await.is_err() {
                tracing::warn!("a node task did not stop within 5 s; aborting it");
                abort.abort();
            }
        }
        if let Err(e) = self.inner.engine.flush() {
            tracing::warn!(cause = %e, "flushing storage at shutdown failed");
        }
        tracing::info!(node = self.inner.config.node.id, "node stopped");
    }
}

/// How often the sampled gauges (connected peers, store size) refresh.
const GAUGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Samples the gauges nothing else updates: connected peers (from the
/// driver's view) and the store's size on disk. Ends with the driver.
async fn sample_gauges(raft: RaftHandle, db: PathBuf, metrics: veritrace_metrics::Metrics) {
    loop {
        match raft.status().await {
            Ok(s) => metrics.p2p().set_connected_peers(s.reachable.len()),
            Err(_) => return,
        }
        let dir = db.clone();
        if let Ok(bytes) = tokio::task::spawn_blocking(move || dir_size(&dir)).await {
            metrics.ledger().set_store_size_bytes(bytes);
        }
        tokio::time::sleep(GAUGE_INTERVAL).await;
    }
}

/// Total size of the files directly in `dir` (RocksDB keeps its files flat).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
}

/// Keeps the network's allow-list equal to the configured peers plus the
/// current members, as membership changes.
async fn keep_peers_in_sync(
    mut membership: tokio::sync::watch::Receiver<Membership>,
    net: NetworkHandle,
    config_peers: Vec<PeerEntry>,
    me: u64,
) {
    loop {
        let peers = allowed_peers(&config_peers, &membership.borrow_and_update(), me);
        if net.set_peers(peers).await.is_err() {
            return;
        }
        if membership.changed().await.is_err() {
            return;
        }
    }
}
