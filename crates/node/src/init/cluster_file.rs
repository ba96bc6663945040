//! `cluster.json`: every generated node's endpoints, for scripts.

use serde::{Deserialize, Serialize};
use veritrace_net::NodeId;

use super::{CLUSTER_FILE_NAME, InitError, InitOptions, Planned, io_at};
use crate::config::CONFIG_FILE_NAME;

/// The contents of `cluster.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFile {
    /// The genesis network id.
    pub network_id: String,
    /// The nodes, by id.
    pub nodes: Vec<ClusterFileNode>,
}

/// One node in `cluster.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFileNode {
    /// Raft node id.
    pub id: NodeId,
    /// "node{id}".
    pub name: String,
    /// gRPC endpoint URL, e.g. `http://127.0.0.1:7401`.
    pub api: String,
    /// libp2p multiaddr.
    pub p2p: String,
    /// Ops HTTP base URL (`/livez`, `/readyz`, `/metrics`), e.g. `http://127.0.0.1:7601`.
    #[serde(default)]
    pub ops: String,
    /// Public web base URL (Digital Link resolver, consumer page), e.g.
    /// `http://127.0.0.1:7701`.
    #[serde(default)]
    pub web: String,
    /// libp2p `PeerId`.
    pub peer_id: String,
    /// The founding party it operates, or null.
    pub party_id: Option<String>,
    /// Whether it is a founding voter.
    pub voter: bool,
    /// Its configuration file, relative to the directory of `cluster.json`.
    pub config: String,
}

/// A founding party of a local cluster with its signing key, read from
/// the cluster directory (`nodeK/party.key`). Demo and benchmark use only:
/// in a real network no one holds another party's key.
pub struct PartySigner {
    /// The party id.
    pub party_id: String,
    /// Its signing key.
    pub key: veritrace_core::SecretKey,
}

impl std::fmt::Debug for PartySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartySigner").field("party_id", &self.party_id).finish_non_exhaustive()
    }
}

impl ClusterFile {
    /// Reads `DIR/cluster.json`, as `veritrace init` wrote it.
    pub fn load(dir: &std::path::Path) -> Result<ClusterFile, InitError> {
        let path = dir.join(CLUSTER_FILE_NAME);
        let text = std::fs::read_to_string(&path).map_err(io_at(&path))?;
        serde_json::from_str(&text).map_err(|e| InitError::Json { path, message: e.to_string() })
    }

    /// The founding parties of the nodes that name one, with the keys
    /// `veritrace init` wrote into `DIR/nodeK/party.key`, in node order.
    pub fn party_signers(&self, dir: &std::path::Path) -> Result<Vec<PartySigner>, InitError> {
        let mut signers = Vec::new();
        for n in &self.nodes {
            if let Some(party_id) = &n.party_id {
                let seed = crate::keys::read_seed_file(&dir.join(&n.name).join(super::PARTY_KEY_FILE))?;
                signers.push(PartySigner { party_id: party_id.clone(), key: crate::keys::party_key(&seed)? });
            }
        }
        Ok(signers)
    }
}

pub(super) fn write_cluster_file(opts: &InitOptions, plans: &[Planned]) -> Result<(), InitError> {
    let file = ClusterFile {
        network_id: opts.network_id.clone(),
        nodes: plans
            .iter()
            .map(|p| ClusterFileNode {
                id: p.layout.id,
                name: p.layout.name.clone(),
                api: format!("http://{}", p.layout.api_addr),
                p2p: p.layout.p2p_addr.clone(),
                ops: format!("http://{}", p.layout.ops_addr),
                web: format!("http://{}", p.layout.web_addr),
                peer_id: p.layout.peer_id.clone(),
                party_id: p.layout.party_id.clone(),
                voter: p.layout.voter,
                config: format!("{}/{CONFIG_FILE_NAME}", p.layout.name),
            })
            .collect(),
    };
    let path = opts.out.join(CLUSTER_FILE_NAME);
    let mut json = serde_json::to_string_pretty(&file)
        .map_err(|e| InitError::Json { path: path.clone(), message: e.to_string() })?;
    json.push('\n');
    std::fs::write(&path, json).map_err(io_at(&path))
}
