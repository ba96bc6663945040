//! The node configuration file, `veritrace.toml`.
//!
//! [`NodeConfig::load`] reads, parses (unknown fields are refused),
//! resolves relative paths against the file's directory and validates.
//! Every error names the file and the field it is about.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use veritrace_net::{Multiaddr, NodeId, PeerEntry};
pub use veritrace_server::{ApiSection, TlsSection};

use self::validate::{parse_multiaddr, parse_peer_id};

mod layers;
mod validate;

pub use layers::{ConfigSource, ENV_PREFIX, LayeredConfig, env_var_of, settable_keys};

/// The file name `veritrace init` writes and the CLI looks for by default.
pub const CONFIG_FILE_NAME: &str = "veritrace.toml";

/// A node's configuration: the contents of `veritrace.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node: identity, files.
    pub node: NodeSection,
    /// The libp2p network between validators.
    pub network: NetworkSection,
    /// The gRPC API.
    pub api: ApiSection,
    /// The ops HTTP listener (health and metrics); optional.
    #[serde(default)]
    pub ops: OpsSection,
    /// The public web listener (Digital Link resolver, consumer page); optional.
    #[serde(default)]
    pub web: WebSection,
    /// Logging; optional.
    #[serde(default)]
    pub log: LogSection,
    /// Raft and batching parameters; the whole section is optional.
    #[serde(default)]
    pub raft: RaftSection,
    /// How the cluster starts.
    pub cluster: ClusterSection,
    /// Every other node this node may talk to (the permission list). An
    /// entry with this node's own id is ignored.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
}

/// The `[node]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Raft node id: non-zero, unique in the cluster.
    pub id: NodeId,
    /// Human label, e.g. "node1".
    pub name: String,
    /// Directory of the node's stores. Relative paths resolve against the
    /// configuration file's directory.
    pub data_dir: PathBuf,
    /// The node identity: hex of a 32-byte ed25519 seed (see
    /// [`crate::keys::read_seed_file`]); its libp2p `PeerId` identifies the node.
    pub key_file: PathBuf,
    /// The network's genesis, binary protobuf `veritrace.v1.Genesis`.
    pub genesis_file: PathBuf,
    /// The founders' seal on the genesis (`crate::seal`, JSON); default
    /// `genesis.sig` next to `genesis_file`. The node starts only when
    /// every founding party signed the genesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis_seal_file: Option<PathBuf>,
    /// The party operating this node, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
    /// Signing seed of `party_id` (same format as `key_file`). The node signs
    /// the consumer scans it records for `VerificationService.VerifyItem`
    /// with it; without it, VerifyItem answers FAILED_PRECONDITION.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_key_file: Option<PathBuf>,
    /// This node's shares of brands' code keys (`veritrace codes deal-key`
    /// writes them; secrets, keep them 0600). With them the node helps
    /// check codes digested under CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_key_share_files: Vec<PathBuf>,
    /// Free bytes the filesystem of `data_dir` must keep (default 256 MiB;
    /// 0 turns the check off). Below it the node refuses new writes with
    /// `RESOURCE_EXHAUSTED` / `DISK_FULL` and takes them again when space
    /// returns; Raft replication and reads go on (`crate::disk`).
    #[serde(default = "default_min_free_disk_bytes")]
    pub min_free_disk_bytes: u64,
}

/// The default `node.min_free_disk_bytes`: 256 MiB, room for the Raft
/// entries already in flight and for RocksDB to flush and compact.
pub const DEFAULT_MIN_FREE_DISK_BYTES: u64 = 256 * 1024 * 1024;

fn default_min_free_disk_bytes() -> u64 {
    DEFAULT_MIN_FREE_DISK_BYTES
}

/// The `[network]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// libp2p multiaddr to listen on, e.g. `/ip4/127.0.0.1/tcp/7501`.
    pub listen: String,
    /// Deadline of one request to a peer, in milliseconds (default 5000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// The multiaddr other nodes are told to dial (member lists, nodes
    /// that join later); default `listen`. Required when `listen` binds
    /// every interface (`0.0.0.0`, `::`), which nobody can dial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise: Option<String>,
}

/// The `[ops]` section: the HTTP listener for probes and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct OpsSection {
    /// Address of the ops HTTP listener (`/livez`, `/readyz`, `/metrics`),
    /// e.g. `127.0.0.1:7601`; absent means no listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// A node is ready when it knows a leader and has applied all but at
    /// most this many committed entries (default 0 means 100).
    pub ready_max_lag: u64,
}

/// The `[web]` section: the public HTTP listener that labels' QR codes
/// point at (the GS1 Digital Link resolver and the consumer page). It is
/// open to everyone, like the public gRPC plane; code checks and reports
/// on it take the per-address budget of `[api.verification]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// Address of the web listener, e.g. `0.0.0.0:7701`; absent means none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// The origin shoppers reach it at (`https://verify.example.net`), for
    /// the absolute links of linksets; absent means `http://` and the
    /// request's `Host` header. Checked like a Digital Link host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_origin: Option<String>,
}

/// The `[log]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// `text` (human, default) or `json` (one object per line).
    pub format: LogFormat,
    /// Filter in tracing's EnvFilter syntax (default `info`).
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection { format: LogFormat::Text, level: "info".into() }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl OpsSection {
    /// `ready_max_lag` with its default applied.
    pub fn ready_max_lag(&self) -> u64 {
        if self.ready_max_lag == 0 { 100 } else { self.ready_max_lag }
    }
}

/// The `[raft]` section; every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSection {
    /// Interval between Raft ticks, in milliseconds (default 100).
    pub tick_ms: u64,
    /// Ticks without a leader before an election (default 10).
    pub election_ticks: usize,
    /// Ticks between leader heartbeats (default 3); less than `election_ticks`.
    pub heartbeat_ticks: usize,
    /// Applied entries between snapshots (default 100,000, etcd's
    /// `snapshot-count`). A snapshot exports the whole ledger on a thread
    /// of its own (seconds of one core at 10^6 items on 2 vCPU), so a
    /// smaller interval costs CPU and disk, not answers.
    pub snapshot_interval: u64,
    /// Entries kept in the log behind a snapshot, for slightly lagging
    /// followers (default 1000).
    pub snapshot_keep_entries: u64,
    /// Group commit: most envelopes in one Raft entry (default 1000).
    pub max_batch_envelopes: usize,
    /// Group commit: most bytes in one Raft entry (default 1 MiB, at most
    /// [`MAX_BATCH_BYTES`]: an entry must fit one 4 MiB network frame).
    pub max_batch_bytes: usize,
}

impl Default for RaftSection {
    fn default() -> Self {
        RaftSection {
            tick_ms: 100,
            election_ticks: 10,
            heartbeat_ticks: 3,
            snapshot_interval: 100_000,
            snapshot_keep_entries: 1000,
            max_batch_envelopes: 1000,
            max_batch_bytes: 1024 * 1024,
        }
    }
}

/// Largest `raft.max_batch_bytes`: with the Raft message around it, an
/// entry must fit the peer network's 4 MiB frame, or it never replicates.
pub const MAX_BATCH_BYTES: usize = 3 * 1024 * 1024;

/// The `[cluster]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// The founding voters. Empty: this node joins an existing cluster and
    /// waits to be added as a learner.
    pub initial_voters: Vec<NodeId>,
}

/// One `[[peers]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The peer's Raft node id.
    pub id: NodeId,
    /// The peer's libp2p `PeerId`, base58 text (`12D3KooW...`).
    pub peer_id: String,
    /// libp2p multiaddrs to dial the peer at; may be empty.
    #[serde(default)]
    pub addrs: Vec<String>,
    /// The peer's gRPC endpoint (e.g. `http://127.0.0.1:7402`), told to
    /// clients that must retry at the leader; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
}

fn default_request_timeout_ms() -> u64 {
    5000
}

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration {}: {source}", .file.display())]
    Read {
        /// The configuration file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema (syntax, unknown or
    /// missing field, wrong type).
    #[error("cannot parse configuration {}: {message}", .file.display())]
    Parse {
        /// The configuration file.
        file: PathBuf,
        /// The parser's message, naming the line and the field.
        message: String,
    },
    /// A field has an invalid value.
    #[error("invalid configuration {}: `{field}`: {reason}", shown(.file))]
    Invalid {
        /// The configuration file (empty for a configuration built in memory).
        file: PathBuf,
        /// The field, e.g. `node.id` or `peers[1].peer_id`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An environment variable or flag sets a key to an unusable value, or
    /// names no key.
    #[error("invalid configuration from {origin}: `{field}`: {reason}")]
    Override {
        /// The variable or flag, e.g. `env VERITRACE_API_LISTEN`.
        origin: String,
        /// The key, e.g. `api.listen`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The configuration could not be written as TOML (e.g. a path that is
    /// not UTF-8).
    #[error("cannot write configuration as TOML: {message}")]
    Serialize {
        /// The serializer's message.
        message: String,
    },
}

fn shown(file: &Path) -> String {
    if file.as_os_str().is_empty() { "(in memory)".to_owned() } else { file.display().to_string() }
}

impl NodeConfig {
    /// Reads, parses and validates `path`; relative paths (`node.data_dir`,
    /// key files, `node.genesis_file`, TLS files) are resolved against the
    /// file's directory. [`LayeredConfig::load`] adds environment and flag
    /// overrides.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        Ok(LayeredConfig::load(Some(path), std::iter::empty(), &[], Path::new(""))?.config)
    }

    /// Where the founders' seal on the genesis is: `node.genesis_seal_file`,
    /// or `genesis.sig` next to the genesis.
    pub fn genesis_seal_path(&self) -> PathBuf {
        self.node
            .genesis_seal_file
            .clone()
            .unwrap_or_else(|| self.node.genesis_file.with_file_name(crate::seal::GENESIS_SEAL_FILE))
    }

    /// The configuration as TOML, with paths written as they are in `self`.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|e| ConfigError::Serialize { message: e.to_string() })
    }

    /// Checks the fields: `node.id` non-zero; `node.party_id` a valid party
    /// id; multiaddrs and `PeerId`s parse; no node id or `PeerId` listed twice
    /// in `peers`; a non-empty `cluster.initial_voters` holds this node and
    /// otherwise only ids of `peers`; positive timeouts, intervals and batch
    /// limits; `raft.heartbeat_ticks < raft.election_ticks`. Errors carry an
    /// empty `file` ([`NodeConfig::load`] names the file).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check().map_err(|b| b.in_file(Path::new("")))
    }

    /// The peers other than this node as the network's allow-list entries.
    pub fn peer_entries(&self) -> Result<Vec<PeerEntry>, ConfigError> {
        let in_memory = Path::new("");
        let mut entries = Vec::with_capacity(self.peers.len());
        for (i, peer) in self.peers.iter().enumerate().filter(|(_, p)| p.id != self.node.id) {
            let peer_id =
                parse_peer_id(format!("peers[{i}].peer_id"), &peer.peer_id).map_err(|b| b.in_file(in_memory))?;
            let addrs = peer
                .addrs
                .iter()
                .enumerate()
                .map(|(j, a)| parse_multiaddr(format!("peers[{i}].addrs[{j}]"), a).map_err(|b| b.in_file(in_memory)))
                .collect::<Result<Vec<_>, _>>()?;
            entries.push(PeerEntry { node: peer.id, peer_id, addrs });
        }
        Ok(entries)
    }

    /// What this node tells the others to dial: `network.advertise`, else
    /// `network.listen`.
    pub fn advertised_addrs(&self) -> Vec<String> {
        vec![self.network.advertise.clone().unwrap_or_else(|| self.network.listen.clone())]
    }

    /// The gRPC endpoint this node tells clients and other nodes about
    /// (member lists, `NOT_LEADER` redirects): `api.advertise`, else
    /// `api.listen` with `https://` under `[api.tls]`, `http://` without.
    pub fn advertised_api(&self) -> String {
        self.api.advertise.clone().unwrap_or_else(|| {
            let scheme = if self.api.tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{}", self.api.listen)
        })
    }

    /// `network.listen` as a multiaddr.
    pub fn listen_multiaddr(&self) -> Result<Multiaddr, ConfigError> {
        parse_multiaddr("network.listen".into(), &self.network.listen).map_err(|b| b.in_file(Path::new("")))
    }

    /// `network.request_timeout_ms` as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.network.request_timeout_ms)
    }

    /// `raft.tick_ms` as a duration.
    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.raft.tick_ms)
    }
}
