//! `veritrace init`: the files of a local cluster, ready to start.
//!
//! [`generate_local_cluster`] writes, under the output directory:
//!
//! * `node{k}/node.key`: the node's identity seed (mode 0600);
//! * `node{k}/party.key`: the signing seed of founding party `party-{k}`
//!   (founding nodes only, mode 0600);
//! * `node{k}/veritrace.toml`: the node's [`NodeConfig`];
//! * `node{k}/genesis.pb`: the shared genesis (byte-identical in every node);
//! * `cluster.json`: every node's endpoints ([`ClusterFile`]), for scripts;
//! * `admin.token`: the operators' admin token (mode 0600): the CLI's
//!   admin commands send it (`--admin-token-file`), and each node's
//!   `[api.admin]` holds only its blake3, so without it `ClusterService`
//!   answers nobody.
//!
//! Node `k` (1-based) serves gRPC on `host:base_port + k`, libp2p on
//! `/ip4/host/tcp/{base_port + 100 + k}` and its ops HTTP listener
//! (`/livez`, `/readyz`, `/metrics`) on `host:base_port + 200 + k` and its
//! public web listener (Digital Link resolver, consumer page) on
//! `host:base_port + 300 + k`. The genesis names node 1's web listener as
//! the network's label host unless [`InitOptions::label_host`] says otherwise.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use veritrace_net::NodeId;

use crate::config::{
    ApiSection, CONFIG_FILE_NAME, ClusterSection, ConfigError, LogSection, NetworkSection, NodeConfig, NodeSection,
    OpsSection, PeerConfig, RaftSection, WebSection,
};
use crate::keys::{self, KeyFileError};

mod cluster_file;
mod genesis;

pub use self::cluster_file::{ClusterFile, ClusterFileNode, PartySigner};

/// Most nodes (founding and learners together) `init` generates.
pub const MAX_NODES: usize = 64;
/// The endpoints file written at the top of the output directory.
pub const CLUSTER_FILE_NAME: &str = "cluster.json";
/// Node identity file in each node directory.
pub const NODE_KEY_FILE: &str = "node.key";
/// Party signing key file in each founding node's directory.
pub const PARTY_KEY_FILE: &str = "party.key";
/// Genesis file in each node directory.
pub const GENESIS_FILE: &str = "genesis.pb";
/// The operators' admin token, at the top of the output directory (0600);
/// each node's configuration holds only its blake3 (`api.admin`).
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// What to generate (the flags of `veritrace init`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// Founding voters, each operating one founding party (at least 1).
    pub nodes: usize,
    /// Extra nodes that join later as learners (default 0), each the
    /// listed validator of a party of its own (not an admin).
    pub learners: usize,
    /// Output directory: must not exist or be empty.
    pub out: PathBuf,
    /// Ports are counted from it (default 7400).
    pub base_port: u16,
    /// The genesis network id (default "veritrace-local").
    pub network_id: String,
    /// IPv4 address every node listens on and is dialed at (default "127.0.0.1").
    pub host: String,
    /// Business role of each founding party, in node order; founding
    /// parties beyond the list take the default rotation (BRAND_OWNER,
    /// INSPECTION, CUSTOMS, LOGISTICS, RETAILER, PLATFORM). Empty (the
    /// default) means the rotation for everyone.
    pub roles: Vec<veritrace_proto::v1::PartyRole>,
    /// The network's Digital Link host for labels (genesis `label_host`);
    /// `None` means node 1's web listener, `http://{host}:{base_port + 301}`.
    pub label_host: Option<String>,
    /// The genesis's nominal start time, unix seconds; `None` means now. A
    /// network that continues an older one (its members' history counts
    /// from then: `SupplierProfile.days_on_network`) starts in the past.
    pub genesis_time: Option<i64>,
}

impl InitOptions {
    /// `nodes` founding nodes in `out`, everything else at its default.
    pub fn new(nodes: usize, out: impl Into<PathBuf>) -> Self {
        InitOptions {
            nodes,
            learners: 0,
            out: out.into(),
            base_port: 7400,
            network_id: "veritrace-local".to_owned(),
            host: "127.0.0.1".to_owned(),
            roles: Vec::new(),
            label_host: None,
            genesis_time: None,
        }
    }
}

/// What [`generate_local_cluster`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterLayout {
    /// The output directory.
    pub dir: PathBuf,
    /// The admin token file (`--admin-token-file` of the CLI's admin commands).
    pub admin_token_file: PathBuf,
    /// The nodes, by id (1, 2, ...).
    pub nodes: Vec<NodeLayout>,
}

/// One generated node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLayout {
    /// Raft node id (1-based).
    pub id: NodeId,
    /// "node{id}", also its directory name.
    pub name: String,
    /// Its `veritrace.toml`.
    pub config_path: PathBuf,
    /// The gRPC API address.
    pub api_addr: SocketAddr,
    /// The libp2p listen multiaddr.
    pub p2p_addr: String,
    /// The ops HTTP listener address.
    pub ops_addr: SocketAddr,
    /// The public web listener address (resolver, consumer page).
    pub web_addr: SocketAddr,
    /// Its libp2p `PeerId`, base58 text.
    pub peer_id: String,
    /// The founding party it operates.
    pub party_id: Option<String>,
    /// Whether it is a founding voter.
    pub voter: bool,
}

/// Why a cluster could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// An option is out of range.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOptions {
        /// The option, e.g. `nodes`.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The last node's port would exceed 65535.
    #[error("base port {base_port} is too high for {total} nodes: the last web port would be {last} (> 65535)")]
    PortOverflow {
        /// The requested base port.
        base_port: u16,
        /// Nodes requested (founding and learners).
        total: usize,
        /// The port the last node would need.
        last: u64,
    },
    /// The output directory exists and is not empty.
    #[error("output directory {} exists and is not empty", .dir.display())]
    OutDirNotEmpty {
        /// The output directory.
        dir: PathBuf,
    },
    /// A file or directory could not be written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file could not be written.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// A generated configuration is invalid (a bug) or could not be written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The generated genesis is refused by the ledger.
    #[error("generated genesis is invalid: {reason}")]
    Genesis {
        /// The ledger's message.
        reason: String,
    },
    /// `cluster.json` could not be encoded or decoded.
    #[error("{}: {message}", .path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The encoder's message.
        message: String,
    },
}

/// A node before anything is written: its layout and its seeds.
struct Planned {
    layout: NodeLayout,
    node_seed: [u8; keys::SEED_LEN],
    party_seed: Option<[u8; keys::SEED_LEN]>,
}

fn invalid(option: &'static str, reason: impl Into<String>) -> InitError {
    InitError::InvalidOptions { option, reason: reason.into() }
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> InitError + '_ {
    move |source| InitError::Io { path: path.to_path_buf(), source }
}

/// Generates the files of a local cluster of `opts.nodes` founding voters
/// and `opts.learners` learners under `opts.out` (see the module docs).
pub fn generate_local_cluster(opts: &InitOptions) -> Result<ClusterLayout, InitError> {
    let host = check_options(opts)?;
    prepare_out_dir(&opts.out)?;
    let plans = plan(opts, host)?;
    let genesis = genesis::build_genesis(opts, &plans)?;
    let genesis =
        veritrace_ledger::Genesis::from_proto(genesis).map_err(|e| InitError::Genesis { reason: e.to_string() })?;
    // Every founding party seals the genesis (this one machine holds all
    // their keys: `veritrace keys generate` and `genesis` are the way
    // without that).
    let mut seal = crate::seal::SealFile::new(&genesis);
    for p in &plans {
        if let (Some(party_id), Some(seed)) = (&p.layout.party_id, &p.party_seed) {
            seal.add(&veritrace_core::founders::FounderSignature::sign(
                &genesis.id(),
                party_id,
                &keys::party_key(seed)?,
            ));
        }
    }
    let (token, token_hash) = veritrace_server::admin_auth::new_token();
    let admin_token_file = opts.out.join(ADMIN_TOKEN_FILE);
    keys::write_secret_file(&admin_token_file, &format!("{token}\n"))?;
    for p in &plans {
        write_node(opts, p, &plans, genesis.bytes(), &seal, &token_hash)?;
    }
    cluster_file::write_cluster_file(opts, &plans)?;
    Ok(ClusterLayout { dir: opts.out.clone(), admin_token_file, nodes: plans.into_iter().map(|p| p.layout).collect() })
}

fn check_options(opts: &InitOptions) -> Result<Ipv4Addr, InitError> {
    if opts.nodes == 0 {
        return Err(invalid("nodes", "at least one founding node is needed"));
    }
    let total = opts.nodes.saturating_add(opts.learners);
    if total > MAX_NODES {
        return Err(invalid("nodes", format!("{total} nodes in all; at most {MAX_NODES}")));
    }
    veritrace_core::ids::validate_network_id(&opts.network_id).map_err(|e| invalid("network_id", e.to_string()))?;
    let host = opts
        .host
        .parse::<Ipv4Addr>()
        .map_err(|_| invalid("host", format!("{:?} is not an IPv4 address", opts.host)))?;
    let last = u64::from(opts.base_port) + 300 + total as u64;
    if last > u64::from(u16::MAX) {
        return Err(InitError::PortOverflow { base_port: opts.base_port, total, last });
    }
    Ok(host)
}

fn prepare_out_dir(dir: &Path) -> Result<(), InitError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(InitError::OutDirNotEmpty { dir: dir.to_path_buf() }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir).map_err(io_at(dir)),
        Err(e) => Err(io_at(dir)(e)),
    }
}

fn plan(opts: &InitOptions, host: Ipv4Addr) -> Result<Vec<Planned>, InitError> {
    let total = opts.nodes + opts.learners;
    let mut plans = Vec::with_capacity(total);
    for k in 1..=total {
        // check_options bounds base_port + 100 + total by u16::MAX.
        let offset = u16::try_from(k).map_err(|_| invalid("nodes", "too many nodes"))?;
        let node_seed = keys::generate_seed();
        let voter = k <= opts.nodes;
        let name = format!("node{k}");
        let layout = NodeLayout {
            id: k as NodeId,
            config_path: opts.out.join(&name).join(CONFIG_FILE_NAME),
            name,
            api_addr: SocketAddr::new(host.into(), opts.base_port + offset),
            p2p_addr: format!("/ip4/{host}/tcp/{}", opts.base_port + 100 + offset),
            ops_addr: SocketAddr::new(host.into(), opts.base_port + 200 + offset),
            web_addr: SocketAddr::new(host.into(), opts.base_port + 300 + offset),
            peer_id: keys::peer_id_of(&node_seed)?.to_string(),
            // A learner is a party's validator too, named in the genesis,
            // so it may join without a further governance decision.
            party_id: Some(format!("party-{k}")),
            voter,
        };
        plans.push(Planned { layout, node_seed, party_seed: Some(keys::generate_seed()) });
    }
    Ok(plans)
}

fn node_config(opts: &InitOptions, p: &Planned, all: &[Planned], token_hash: &str) -> NodeConfig {
    let me = &p.layout;
    let mut api = ApiSection::new(me.api_addr);
    api.admin.token_blake3 = Some(token_hash.to_owned());
    NodeConfig {
        node: NodeSection {
            id: me.id,
            name: me.name.clone(),
            data_dir: "data".into(),
            key_file: NODE_KEY_FILE.into(),
            genesis_file: GENESIS_FILE.into(),
            genesis_seal_file: None,
            party_id: me.party_id.clone(),
            party_key_file: me.party_id.as_ref().map(|_| PARTY_KEY_FILE.into()),
            code_key_share_files: Vec::new(),
            min_free_disk_bytes: crate::config::DEFAULT_MIN_FREE_DISK_BYTES,
        },
        network: NetworkSection { listen: me.p2p_addr.clone(), request_timeout_ms: 5000, advertise: None },
        api,
        ops: OpsSection { listen: Some(me.ops_addr), ready_max_lag: 0 },
        web: WebSection { listen: Some(me.web_addr), public_origin: None },
        log: LogSection::default(),
        raft: RaftSection::default(),
        cluster: ClusterSection {
            initial_voters: if me.voter { (1..=opts.nodes as NodeId).collect() } else { Vec::new() },
        },
        peers: all
            .iter()
            .filter(|o| o.layout.id != me.id)
            .map(|o| PeerConfig {
                id: o.layout.id,
                peer_id: o.layout.peer_id.clone(),
                addrs: vec![o.layout.p2p_addr.clone()],
                api: Some(format!("http://{}", o.layout.api_addr)),
            })
            .collect(),
    }
}

fn write_node(
    opts: &InitOptions,
    p: &Planned,
    all: &[Planned],
    genesis: &[u8],
    seal: &crate::seal::SealFile,
    token_hash: &str,
) -> Result<(), InitError> {
    let dir = opts.out.join(&p.layout.name);
    std::fs::create_dir(&dir).map_err(io_at(&dir))?;
    keys::write_seed_file(&dir.join(NODE_KEY_FILE), &p.node_seed)?;
    if let Some(seed) = &p.party_seed {
        keys::write_seed_file(&dir.join(PARTY_KEY_FILE), seed)?;
    }
    let path = dir.join(GENESIS_FILE);
    std::fs::write(&path, genesis).map_err(io_at(&path))?;
    let path = dir.join(crate::seal::GENESIS_SEAL_FILE);
    seal.save(&path).map_err(|e| InitError::Genesis { reason: e.to_string() })?;
    let config = node_config(opts, p, all, token_hash);
    config.validate()?;
    let path = &p.layout.config_path;
    std::fs::write(path, config.to_toml()?).map_err(io_at(path))
}
