//! Assembling a node: one RocksDB for the ledger and the Raft log, the
//! libp2p network, the application layer started over both, and a task
//! that keeps the network's allow-list equal to the configured peers plus
//! the current members.
//!
//! Start-up order: keys and genesis, storage, network, then
//! [`veritrace_service::start`] (ledger, Raft log, driver), then the
//! background tasks. Everything a request does lives in the service; this
//! module only wires.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use prost::Message as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use veritrace_consensus::{DriverConfig, Membership, RAFT_CFS, RaftHandle};
use veritrace_ledger::ALL_CFS;
use veritrace_net::{Multiaddr, NetConfig, Network, NetworkHandle, PeerEntry, PeerId};
use veritrace_proto::v1 as pb;
use veritrace_service::{Bootstrap, Engine, MemberInfo, PeerControl, PeerIdentity, Service, ServiceConfig};
use veritrace_store_rocksdb::RocksEngine;

use crate::{NodeConfig, NodeError, keys};

/// Depth of the channel from the network to the driver.
const INBOUND_DEPTH: usize = 4096;

/// A running node. Cheap to clone; [`Node::shutdown`] stops it.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

struct Inner {
    config: NodeConfig,
    service: Service,
    net: NetworkHandle,
    /// The concrete engine, kept to flush it at shutdown.
    rocks: Arc<RocksEngine>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The gauge sampler sleeps between samples: stopped by abort, so a
    /// shutdown does not wait out its sleep.
    gauges: JoinHandle<()>,
    /// The disk watch (`crate::disk`), stopped the same way; None when
    /// `node.min_free_disk_bytes` is 0.
    disk_watch: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("id", &self.inner.config.node.id).field("service", &self.inner.service).finish()
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

/// The metadata of every member the configuration knows: this node and
/// its peers.
fn configured_members(config: &NodeConfig, peer_id: &str) -> BTreeMap<u64, Vec<u8>> {
    let mut members = BTreeMap::new();
    let me =
        MemberInfo { peer_id: peer_id.to_string(), api: config.advertised_api(), addrs: config.advertised_addrs() };
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

/// The network's view of member `node`, when its identity parses.
fn peer_entry(info: &MemberInfo, node: u64) -> Option<PeerEntry> {
    let peer_id: PeerId = info.peer_id.parse().ok()?;
    let addrs = info.addrs.iter().filter_map(|a| a.parse::<Multiaddr>().ok()).collect();
    Some(PeerEntry { node, peer_id, addrs })
}

/// Configured peers plus every current member, this node excepted. A
/// PeerId is one node's: when several node ids claim one (a learner added
/// under a member's PeerId, or this node's), the configured peer, then a
/// voter, then the lowest id keeps it and the others are left out (logged),
/// so that no change of membership can reroute a member's traffic.
fn allowed_peers(config_peers: &[PeerEntry], membership: &Membership, me: u64, my_peer: PeerId) -> Vec<PeerEntry> {
    let mut peers: BTreeMap<u64, PeerEntry> = config_peers.iter().map(|p| (p.node, p.clone())).collect();
    let mut claims: Vec<(u8, u64, PeerEntry)> = Vec::new();
    for (node, bytes) in &membership.metadata {
        if *node == me || peers.contains_key(node) {
            continue;
        }
        if let Some(entry) = MemberInfo::decode(bytes).and_then(|m| peer_entry(&m, *node)) {
            let rank =
                if membership.voters.contains(node) || membership.voters_outgoing.contains(node) { 0 } else { 1 };
            claims.push((rank, *node, entry));
        }
    }
    claims.sort_by_key(|(rank, node, _)| (*rank, *node));
    let mut taken: std::collections::HashMap<PeerId, u64> = peers.values().map(|p| (p.peer_id, p.node)).collect();
    taken.insert(my_peer, me);
    for (_, node, entry) in claims {
        if let Some(holder) = taken.get(&entry.peer_id) {
            tracing::error!(node, holder, peer = %entry.peer_id, "a member claims another member's peer id; left out");
            continue;
        }
        taken.insert(entry.peer_id, node);
        peers.insert(node, entry);
    }
    peers.into_values().collect()
}

/// Peer identities and addresses as libp2p parses them.
#[derive(Debug, Clone, Copy)]
pub struct Libp2pPeers;

impl PeerControl for Libp2pPeers {
    fn parse_peer_id(&self, text: &str) -> Result<PeerIdentity, String> {
        let peer: PeerId = text.parse().map_err(|e| format!("{e}"))?;
        Ok(PeerIdentity { text: peer.to_string(), bytes: peer.to_bytes() })
    }

    fn check_address(&self, text: &str) -> Result<(), String> {
        text.parse::<Multiaddr>().map(|_| ()).map_err(|e| e.to_string())
    }
}

impl Node {
    /// Starts a node from its configuration (inside a Tokio runtime).
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let seed = keys::read_seed_file(&config.node.key_file)?;
        let keypair = keys::node_keypair(&seed)?;
        let my_peer = keypair.public().to_peer_id();
        let peer_id = my_peer.to_string();
        let party_signer = match &config.node.party_key_file {
            Some(path) => Some(keys::party_key(&keys::read_seed_file(path)?)?),
            None => None,
        };
        // Tree heads are signed with the key derived from the node seed.
        let head_signer = keys::party_key(&seed)?;
        let genesis = read_genesis(&config.node.genesis_file)?;
        crate::seal::check_sealed(&config.node.genesis_file, &config.genesis_seal_path())?;
        let data_dir = &config.node.data_dir;
        std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let cfs: Vec<&str> = ALL_CFS.iter().chain(RAFT_CFS).copied().collect();
        let rocks = Arc::new(RocksEngine::open(&db_dir(&config), &cfs)?);
        let engine: Engine = rocks.clone();

        let boot = Bootstrap {
            initial_voters: config.cluster.initial_voters.clone(),
            members: configured_members(&config, &peer_id),
        };
        // The stores first (as before the split): another network's ledger,
        // or one rebuilt from a snapshot, is dealt with before the node is
        // reachable on its peer port.
        let opened = veritrace_service::open(engine, &snapshot_dir(&config), &genesis, boot).map_err(|e| match e {
            veritrace_service::ServiceError::Genesis(_) => NodeError::Genesis {
                path: config.node.genesis_file.clone(),
                reason: format!("the data directory {} holds another network's ledger", config.node.data_dir.display()),
            },
            other => other.into(),
        })?;

        let config_peers = config.peer_entries()?;
        let mut net_config = NetConfig::new(config.listen_multiaddr()?, keypair, config.node.id, config_peers.clone());
        net_config.request_timeout = config.request_timeout();
        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_DEPTH);
        let (net, net_task) = Network::start(net_config, inbound_tx)?;

        let service_config = ServiceConfig {
            node_id: config.node.id,
            peer_id: peer_id.clone(),
            network_id: genesis.network_id.clone(),
            party_id: config.node.party_id.clone(),
            party_signer,
            head_signer: Arc::new(head_signer),
            backup_dir: snapshot_dir(&config),
            private_dir: config.node.data_dir.join("private"),
            ready_max_lag: config.ops.ready_max_lag(),
            peers: Arc::new(Libp2pPeers),
            code_key_shares: read_code_key_shares(&config.node.code_key_share_files)?,
            build: crate::build_info(),
        };
        let driver_config = driver_config(&config);
        let proposal_gate = driver_config.proposal_gate.clone();
        // Before the first write: a node started on a full disk refuses
        // writes from its first request.
        if config.node.min_free_disk_bytes > 0 {
            crate::disk::check(&config.node.data_dir, config.node.min_free_disk_bytes, &proposal_gate);
        }
        let started = match opened.start(service_config, driver_config, Arc::new(net.clone()), inbound_rx) {
            Ok(started) => started,
            Err(e) => {
                net.shutdown();
                return Err(e.into());
            }
        };
        let service = started.service;
        let raft = service.raft().clone();
        let watcher =
            tokio::spawn(keep_peers_in_sync(raft.membership(), net.clone(), config_peers, config.node.id, my_peer));
        let gauges = tokio::spawn(sample_gauges(raft, net.clone(), db_dir(&config), service.metrics().clone()));
        let disk_watch = (config.node.min_free_disk_bytes > 0).then(|| {
            tokio::spawn(crate::disk::watch(
                config.node.data_dir.clone(),
                config.node.min_free_disk_bytes,
                proposal_gate,
                service.metrics().clone(),
            ))
        });
        tracing::info!(node = config.node.id, peer_id = %peer_id, listen = %config.network.listen, "node started");
        Ok(Node {
            inner: Arc::new(Inner {
                service,
                net,
                rocks,
                tasks: Mutex::new(vec![started.driver_task, net_task, watcher]),
                gauges,
                disk_watch,
                config,
            }),
        })
    }

    /// The application operations the edge serves.
    pub fn service(&self) -> &Service {
        &self.inner.service
    }

    /// The node's configuration as it started.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// Stops the network and the driver and flushes storage. Requests to
    /// the service fail afterwards.
    pub async fn shutdown(&self) {
        self.inner.gauges.abort();
        if let Some(watch) = &self.inner.disk_watch {
            watch.abort();
        }
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
        if let Err(e) = self.inner.rocks.flush() {
            tracing::warn!(cause = %e, "flushing storage at shutdown failed");
        }
        tracing::info!(node = self.inner.config.node.id, "node stopped");
    }
}

/// The code key shares the configuration names, each file read and
/// checked (a node that cannot read one of its shares does not start).
fn read_code_key_shares(files: &[std::path::PathBuf]) -> Result<veritrace_service::CodeKeyShares, NodeError> {
    let mut shares = Vec::with_capacity(files.len());
    for path in files {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let share = veritrace_core::oprf::files::parse_share_file(&text)
            .map_err(|e| NodeError::CodeKeyShare { path: path.clone(), reason: e.to_string() })?;
        tracing::info!(file = %path.display(), public_key = %hex::encode(share.public_key.to_bytes()), "code key share loaded");
        shares.push(share);
    }
    Ok(veritrace_service::CodeKeyShares::new(shares))
}

/// The Raft driver's settings from the `[raft]` section.
fn driver_config(config: &NodeConfig) -> DriverConfig {
    let raft = &config.raft;
    let mut d = DriverConfig::new(config.node.id, snapshot_dir(config));
    d.tick = config.tick();
    d.election_ticks = raft.election_ticks;
    d.heartbeat_ticks = raft.heartbeat_ticks;
    d.snapshot_interval = raft.snapshot_interval;
    d.snapshot_keep_entries = raft.snapshot_keep_entries;
    d.max_batch_proposals = raft.max_batch_envelopes;
    d.max_batch_bytes = raft.max_batch_bytes;
    d
}

/// How often the sampled gauges (connected peers, store size) refresh.
const GAUGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Samples the gauges nothing else updates: connected peers (from the
/// driver's view), the peers' round trips (the network's pings), the
/// process's resources and the store's size on disk. Ends with the driver.
async fn sample_gauges(raft: RaftHandle, net: NetworkHandle, db: PathBuf, metrics: veritrace_metrics::Metrics) {
    loop {
        match raft.status().await {
            Ok(s) => metrics.p2p().set_connected_peers(s.reachable.len()),
            Err(_) => return,
        }
        metrics.p2p().set_round_trips(&net.round_trips());
        if let Some(sample) = crate::process_stats::sample() {
            metrics.process().record(&sample);
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
    my_peer: PeerId,
) {
    loop {
        let peers = allowed_peers(&config_peers, &membership.borrow_and_update(), me, my_peer);
        if net.set_peers(peers).await.is_err() {
            return;
        }
        if membership.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `node_id_from_peer_bytes` of the PeerId of node key `[7; 32]`.
    const GOLDEN_NODE_ID: u64 = 1_542_018_135_220_195;

    #[test]
    fn libp2p_peers_parse_ids_and_addresses_and_name_the_problem() {
        let peers = Libp2pPeers;
        let key = veritrace_net::Keypair::generate_ed25519();
        let id = key.public().to_peer_id();
        let parsed = peers.parse_peer_id(&id.to_string()).expect("a real peer id parses");
        assert_eq!(parsed.text, id.to_string());
        assert_eq!(parsed.bytes, id.to_bytes());
        assert!(peers.parse_peer_id("node-1").is_err());
        assert!(peers.check_address("/ip4/127.0.0.1/tcp/7501").is_ok());
        assert!(peers.check_address("127.0.0.1:7501").is_err());
    }

    #[test]
    fn node_ids_derived_from_peer_ids_do_not_drift() {
        // Members added without a node id keep the id derived from their
        // PeerId across versions: pinned for a fixed node key.
        let peer = crate::keys::node_keypair(&[7; 32]).expect("key").public().to_peer_id();
        let parsed = Libp2pPeers.parse_peer_id(&peer.to_string()).expect("parses");
        let id = veritrace_service::members::node_id_from_peer_bytes(&parsed.bytes);
        assert_eq!(id, GOLDEN_NODE_ID, "{peer}");
        assert!(id > 0 && id < 1 << 53);
    }

    #[test]
    fn member_info_of_a_real_peer_becomes_an_allow_list_entry() {
        let id = veritrace_net::Keypair::generate_ed25519().public().to_peer_id();
        let info =
            MemberInfo { peer_id: id.to_string(), api: String::new(), addrs: vec!["/ip4/127.0.0.1/tcp/1".into()] };
        let entry = peer_entry(&info, 7).expect("parses");
        assert_eq!((entry.node, entry.peer_id, entry.addrs.len()), (7, id, 1));
        assert!(peer_entry(&MemberInfo { peer_id: "bad".into(), ..info }, 7).is_none());
    }

    #[test]
    fn no_member_can_take_another_members_peer_id() {
        let peer = || veritrace_net::Keypair::generate_ed25519().public().to_peer_id();
        let (me, two, three, fresh) = (peer(), peer(), peer(), peer());
        let info = |p: PeerId| MemberInfo { peer_id: p.to_string(), api: String::new(), addrs: Vec::new() }.encode();
        let configured = vec![PeerEntry { node: 2, peer_id: two, addrs: Vec::new() }];
        let membership = Membership {
            voters: [1, 2, 3].into(),
            learners: [4, 5, 6, 9].into(),
            metadata: [
                (1, info(me)),
                (2, info(two)),
                (3, info(three)),
                (4, info(two)),   // a learner under a configured peer's id
                (5, info(three)), // ... under a voter's
                (6, info(me)),    // ... under this node's
                (9, info(fresh)),
            ]
            .into(),
            ..Membership::default()
        };
        let allowed: Vec<(u64, PeerId)> =
            allowed_peers(&configured, &membership, 1, me).into_iter().map(|p| (p.node, p.peer_id)).collect();
        assert_eq!(allowed, [(2, two), (3, three), (9, fresh)]);
    }
}
