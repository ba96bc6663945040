//! The single node `veritrace demo` runs in its own process: a real
//! `veritrace_node::run` (RocksDB, Raft, libp2p, gRPC) on loopback ports
//! the system picks, so it never collides with a running `veritrace dev`.
//!
//! Its data directory holds what `veritrace init` would write for a
//! one-node network, minus the configuration file (built here in code):
//! `genesis.pb` (binary `veritrace.v1.Genesis`), `node.key` (the node's
//! identity seed, which also signs its tree heads), and the node's own
//! `db/` and `snapshots/`. A second run restarts the node on the same
//! ledger.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use veritrace_client::{AdminToken, Client, ConnectOptions};
use veritrace_core::PublicKey;
use veritrace_node::init::{GENESIS_FILE, NODE_KEY_FILE};
use veritrace_node::{
    ApiSection, ClusterSection, Listeners, LogSection, NetworkSection, NodeConfig, NodeError, NodeSection, OpsSection,
    RaftSection,
};
use veritrace_proto::v1 as pb;

/// The demo node's Raft id (its only voter).
const NODE_ID: u64 = 1;

/// Makes `dir` ready for the node: with `fresh`, deletes it first; when it
/// holds no genesis yet, writes `genesis` and a new node key. Returns
/// whether it created the network.
pub fn prepare(
    dir: &Path,
    genesis: &pb::Genesis,
    founders: &[(&str, &veritrace_core::SecretKey)],
    fresh: bool,
) -> anyhow::Result<bool> {
    if fresh && dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("deleting {}", dir.display()))?;
    }
    let genesis_file = dir.join(GENESIS_FILE);
    let seal_file = dir.join(veritrace_node::seal::GENESIS_SEAL_FILE);
    let seal = |genesis: &veritrace_ledger::Genesis| -> anyhow::Result<()> {
        let mut seal = veritrace_node::seal::SealFile::new(genesis);
        for (party, key) in founders {
            seal.add(&veritrace_core::founders::FounderSignature::sign(&genesis.id(), party, key));
        }
        Ok(seal.save(&seal_file)?)
    };
    if genesis_file.exists() {
        // A demo directory from before genesis seals: the demo holds every
        // founder's key, so it seals its own genesis.
        if !seal_file.exists() {
            seal(&veritrace_node::seal::read_validated_genesis(&genesis_file)?)?;
        }
        return Ok(false);
    }
    // Never mix the demo's files into another directory (or an older
    // demo's ledger, kept in `ledger/` without a genesis file).
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!(
            "{} is not empty and holds no {GENESIS_FILE}, so it is not a demo node's directory; \
             pass another --data-dir, or --fresh to delete it and start over",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    veritrace_node::write_seed_file(&dir.join(NODE_KEY_FILE), &veritrace_node::generate_seed())?;
    // The founders' seal, then the genesis last: its presence marks a
    // prepared directory.
    let validated = veritrace_ledger::Genesis::from_proto(genesis.clone())?;
    seal(&validated)?;
    std::fs::write(&genesis_file, validated.bytes()).with_context(|| format!("writing {}", genesis_file.display()))?;
    Ok(true)
}

/// The node's configuration: the only voter of its own cluster, no peers,
/// gRPC on `api`, libp2p on a loopback port the system picks, no ops
/// listener.
fn config(dir: &Path, api: SocketAddr) -> NodeConfig {
    NodeConfig {
        node: NodeSection {
            id: NODE_ID,
            name: "demo".into(),
            data_dir: dir.to_path_buf(),
            key_file: dir.join(NODE_KEY_FILE),
            genesis_file: dir.join(GENESIS_FILE),
            genesis_seal_file: None,
            party_id: None,
            party_key_file: None,
            code_key_share_files: Vec::new(),
            min_free_disk_bytes: veritrace_node::config::DEFAULT_MIN_FREE_DISK_BYTES,
        },
        network: NetworkSection { listen: "/ip4/127.0.0.1/tcp/0".into(), request_timeout_ms: 5000, advertise: None },
        api: ApiSection::new(api),
        ops: OpsSection::default(),
        web: veritrace_node::WebSection::default(),
        log: LogSection::default(),
        raft: RaftSection::default(),
        cluster: ClusterSection { initial_voters: vec![NODE_ID] },
        peers: Vec::new(),
    }
}

/// A running demo node; [`DemoNode::stop`] stops it.
pub struct DemoNode {
    /// A client connected to its gRPC API.
    pub client: Client,
    /// The key it signs tree heads with (from `node.key`), for checking
    /// them offline.
    pub head_signer: PublicKey,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), NodeError>>,
}

impl DemoNode {
    /// Starts the node prepared in `dir` and waits until it leads; its
    /// client signs party-plane calls with `party`.
    pub async fn start(dir: &Path, party: veritrace_client::PartyCredential) -> anyhow::Result<DemoNode> {
        let seed = veritrace_node::read_seed_file(&dir.join(NODE_KEY_FILE))?;
        let head_signer = veritrace_node::party_key(&seed)?.public();
        let api = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.context("binding the gRPC port")?;
        let addr = api.local_addr().context("reading the gRPC port")?;
        // A fresh admin token each run: only this process holds it.
        let (token, token_hash) = veritrace_node::new_admin_token();
        let mut config = config(dir, addr);
        config.api.admin.token_blake3 = Some(token_hash);
        config.validate()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task =
            tokio::spawn(veritrace_node::run(config, Listeners::Bound { api, ops: None, web: None }, async move {
                let _ = stopped.await;
            }));
        let endpoint = format!("http://{addr}");
        let options =
            ConnectOptions { admin_token: Some(AdminToken::new(&token)?), party: Some(party), ..Default::default() };
        let client = match Client::connect_with(&endpoint, &options).await {
            Ok(c) => c,
            Err(e) => return Err(abandon(stop, task, e.into()).await),
        };
        if let Err(e) = wait_until_leader(&client, &task).await {
            return Err(abandon(stop, task, e).await);
        }
        Ok(DemoNode { client, head_signer, stop, task })
    }

    /// Stops the node cleanly: in-flight requests finish, the network and
    /// Raft stop, storage is flushed.
    pub async fn stop(self) -> anyhow::Result<()> {
        let DemoNode { client, stop, task, .. } = self;
        drop(client);
        let _ = stop.send(());
        match tokio::time::timeout(Duration::from_secs(30), task).await {
            Ok(Ok(result)) => result.context("the demo node"),
            Ok(Err(e)) => Err(e).context("the demo node's task"),
            Err(_) => bail!("the demo node did not stop within 30 s"),
        }
    }
}

/// Waits until the node has elected itself (a second or two).
async fn wait_until_leader(client: &Client, task: &JoinHandle<Result<(), NodeError>>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if task.is_finished() {
            bail!("the node stopped during start-up");
        }
        let status = tokio::time::timeout(Duration::from_secs(2), client.status()).await;
        if let Ok(Ok(s)) = status
            && s.role == pb::RaftRole::Leader as i32
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the node did not become leader within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops a node that failed to start and returns the error to report:
/// the node's own when it stopped on one (it names the problem), else
/// `cause`.
async fn abandon(
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), NodeError>>,
    cause: anyhow::Error,
) -> anyhow::Error {
    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(30), task).await {
        Ok(Ok(Err(e))) => anyhow::Error::new(e).context("starting the demo node"),
        _ => cause.context("starting the demo node"),
    }
}
