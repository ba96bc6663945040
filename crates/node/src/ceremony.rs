//! A network founded by several organisations, none of which ever holds
//! another's secret key (the multi-organisation bootstrap; `init` is the
//! one-machine convenience).
//!
//! 1. Each organisation, on its own host: [`generate_keys`] writes its node
//!    key, party key and admin token (0600) and `public.json`
//!    ([`PublicParts`]): party id, name, country, roles, GS1 prefixes, the
//!    party's public key, the node's PeerId and advertised addresses.
//! 2. A coordinator collects the `public.json` files only and
//!    [`assemble`]s the genesis (every founder a validator, node ids in the
//!    given order) and `network.json` ([`NetworkFile`]).
//! 3. Each founder checks the genesis and signs its id with its party key
//!    (`veritrace genesis sign`); the coordinator gathers the signatures
//!    into `genesis.sig` (`crate::seal`).
//! 4. Each organisation [`configure`]s its node from `network.json` and its
//!    own key directory, and starts it; nodes start only on a sealed
//!    genesis.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use veritrace_core::PublicKey;
use veritrace_proto::v1 as pb;

use crate::config::{
    ApiSection, ClusterSection, LogSection, NetworkSection, NodeConfig, NodeSection, OpsSection, PeerConfig,
    RaftSection, WebSection,
};
use crate::init::{ADMIN_TOKEN_FILE, GENESIS_FILE, NODE_KEY_FILE, PARTY_KEY_FILE};
use crate::keys;

/// File an organisation publishes: [`PublicParts`].
pub const PUBLIC_FILE: &str = "public.json";
/// File the coordinator writes next to the genesis: [`NetworkFile`].
pub const NETWORK_FILE: &str = "network.json";

/// Why a step of the ceremony failed.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// An input is unusable.
    #[error("{0}")]
    Invalid(String),
    /// A key file failed.
    #[error(transparent)]
    Key(#[from] keys::KeyFileError),
}

fn file_err(path: &Path, reason: impl ToString) -> CeremonyError {
    CeremonyError::File { path: path.to_path_buf(), reason: reason.to_string() }
}

/// What an organisation tells the others about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicParts {
    /// Party id (a slug, e.g. "acme-shoes").
    pub party_id: String,
    /// Name shown to people.
    pub display_name: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// Roles, as `veritrace.v1.PartyRole` names (e.g. `PARTY_ROLE_ADMIN`).
    pub roles: Vec<String>,
    /// GS1 Company Prefixes licensed to the party.
    #[serde(default)]
    pub gs1_company_prefixes: Vec<String>,
    /// The party's public signing key, 64 hex digits.
    pub party_key: String,
    /// The node's libp2p PeerId.
    pub peer_id: String,
    /// The node's gRPC endpoint as others reach it, e.g. `https://n1.acme.example:7401`.
    pub api_advertise: String,
    /// The node's peer address as others dial it, e.g. `/dns4/n1.acme.example/tcp/7501`.
    pub p2p_advertise: String,
}

/// A role name as `PartyRole` reads it: `admin`, `brand-owner`,
/// `PARTY_ROLE_BRAND_OWNER` all work.
pub fn parse_role(text: &str) -> Result<pb::PartyRole, CeremonyError> {
    let upper = text.trim().to_ascii_uppercase().replace('-', "_");
    let name = if upper.starts_with("PARTY_ROLE_") { upper } else { format!("PARTY_ROLE_{upper}") };
    pb::PartyRole::from_str_name(&name)
        .filter(|r| *r != pb::PartyRole::Unspecified)
        .ok_or_else(|| CeremonyError::Invalid(format!("unknown role {text:?} (e.g. admin, brand-owner, customs)")))
}

/// Writes a new organisation's secrets into `dir` (created; must hold no
/// key yet): `node.key`, `party.key`, `admin.token` (0600), and
/// `public.json` from `parts` with the public key and PeerId filled in.
/// Returns the published parts.
pub fn generate_keys(dir: &Path, mut parts: PublicParts) -> Result<PublicParts, CeremonyError> {
    for role in &parts.roles {
        parse_role(role)?;
    }
    veritrace_core::ids::validate_party_id(&parts.party_id).map_err(|e| CeremonyError::Invalid(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    for name in [NODE_KEY_FILE, PARTY_KEY_FILE, ADMIN_TOKEN_FILE, PUBLIC_FILE] {
        if dir.join(name).exists() {
            return Err(file_err(&dir.join(name), "exists; refusing to overwrite an organisation's keys"));
        }
    }
    let node_seed = keys::generate_seed();
    let party_seed = keys::generate_seed();
    parts.peer_id = keys::peer_id_of(&node_seed)?.to_string();
    parts.party_key = keys::party_key(&party_seed)?.public().to_string();
    keys::write_seed_file(&dir.join(NODE_KEY_FILE), &node_seed)?;
    keys::write_seed_file(&dir.join(PARTY_KEY_FILE), &party_seed)?;
    let (token, _) = veritrace_server::admin_auth::new_token();
    keys::write_secret_file(&dir.join(ADMIN_TOKEN_FILE), &format!("{token}\n"))?;
    write_json(&dir.join(PUBLIC_FILE), &parts)?;
    Ok(parts)
}

/// One founding node in `network.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkMember {
    /// Raft node id (1, 2, ... in assembly order).
    pub node_id: u64,
    /// The operating party.
    pub party_id: String,
    /// The node's PeerId.
    pub peer_id: String,
    /// Its advertised gRPC endpoint.
    pub api: String,
    /// Its advertised peer address.
    pub p2p: String,
}

/// What every founder's node configuration is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    /// The network id.
    pub network_id: String,
    /// Hex of the genesis id the founders sign.
    pub genesis_id: String,
    /// The founding nodes, all initial voters.
    pub members: Vec<NetworkMember>,
}

/// The genesis of `founders` (each an ADMIN if it says so, each a
/// validator), governance by `threshold` of the admins (default a
/// majority), `label_host` as the network's Digital Link host (checked and
/// normalised; `None`: GS1's resolver), and the network file.
pub fn assemble(
    network_id: &str,
    threshold: Option<u32>,
    description: &str,
    label_host: Option<&str>,
    founders: &[PublicParts],
) -> Result<(veritrace_ledger::Genesis, NetworkFile), CeremonyError> {
    let mut parties = Vec::new();
    for f in founders {
        let key = hex::decode(&f.party_key)
            .ok()
            .and_then(|b| PublicKey::from_slice(&b).ok())
            .ok_or_else(|| CeremonyError::Invalid(format!("{}: party_key is not an ed25519 public key", f.party_id)))?;
        let roles = f.roles.iter().map(|r| parse_role(r).map(|r| r as i32)).collect::<Result<Vec<_>, _>>()?;
        parties.push(pb::Party {
            party_id: f.party_id.clone(),
            display_name: f.display_name.clone(),
            country: f.country.clone(),
            roles,
            signing_keys: vec![pb::SigningKey {
                public_key: key.to_bytes().to_vec(),
                status: pb::KeyStatus::Active as i32,
                label: format!("{} (veritrace keys generate)", f.party_id),
                ..Default::default()
            }],
            validator_peer_id: f.peer_id.clone(),
            status: pb::PartyStatus::Active as i32,
            gs1_company_prefixes: f.gs1_company_prefixes.clone(),
            ..Default::default()
        });
    }
    let admins = parties.iter().filter(|p| p.roles.contains(&(pb::PartyRole::Admin as i32))).count() as u32;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let proto = pb::Genesis {
        network_id: network_id.to_owned(),
        governance: Some(pb::GovernanceRule { threshold: threshold.unwrap_or(admins / 2 + 1), proposal_ttl: None }),
        genesis_time: Some(prost_types::Timestamp { seconds: i64::try_from(now).unwrap_or(i64::MAX), nanos: 0 }),
        founding_parties: parties,
        description: description.to_owned(),
        label_host: match label_host {
            Some(h) => veritrace_core::gs1::DlHost::parse(h)
                .map_err(|e| CeremonyError::Invalid(format!("label host: {e}")))?
                .to_string(),
            None => String::new(),
        },
        ..Default::default()
    };
    let genesis =
        veritrace_ledger::Genesis::from_proto(proto).map_err(|e| CeremonyError::Invalid(format!("genesis: {e}")))?;
    let members = founders
        .iter()
        .zip(1..)
        .map(|(f, node_id)| NetworkMember {
            node_id,
            party_id: f.party_id.clone(),
            peer_id: f.peer_id.clone(),
            api: f.api_advertise.clone(),
            p2p: f.p2p_advertise.clone(),
        })
        .collect();
    let network = NetworkFile { network_id: network_id.to_owned(), genesis_id: genesis.id().to_string(), members };
    Ok((genesis, network))
}

/// Checks that `network` (the coordinator's, not sealed) describes the
/// sealed `genesis`: exactly one member per founding validator, each with
/// that party's PeerId, node ids unique and non-zero. Otherwise a
/// coordinator could add voters of its own to the founding configuration.
pub fn check_network(network: &NetworkFile, genesis: &veritrace_ledger::Genesis) -> Result<(), CeremonyError> {
    let validators: Vec<(&str, &str)> = genesis
        .proto()
        .founding_parties
        .iter()
        .filter(|p| !p.validator_peer_id.is_empty())
        .map(|p| (p.party_id.as_str(), p.validator_peer_id.as_str()))
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for m in &network.members {
        if !validators.contains(&(m.party_id.as_str(), m.peer_id.as_str())) {
            return Err(CeremonyError::Invalid(format!(
                "{NETWORK_FILE}: node {} ({}, {}) is not a founding validator of the genesis",
                m.node_id, m.party_id, m.peer_id
            )));
        }
        if m.node_id == 0 || !ids.insert(m.node_id) {
            return Err(CeremonyError::Invalid(format!("{NETWORK_FILE}: node id {} is 0 or repeated", m.node_id)));
        }
    }
    if network.members.len() != validators.len() {
        return Err(CeremonyError::Invalid(format!(
            "{NETWORK_FILE} lists {} nodes for {} founding validators",
            network.members.len(),
            validators.len()
        )));
    }
    Ok(())
}

/// Where a node listens, when not where it advertises (e.g. `0.0.0.0`).
#[derive(Debug, Clone, Default)]
pub struct Listen {
    /// gRPC listen address (default: the advertised endpoint's, an IP literal).
    pub api: Option<SocketAddr>,
    /// libp2p listen multiaddr (default: the advertised one).
    pub p2p: Option<String>,
    /// Ops HTTP listen address (default: none).
    pub ops: Option<SocketAddr>,
    /// Public web listen address (resolver, consumer page; default: none).
    pub web: Option<SocketAddr>,
}

/// The configuration of `party`'s founding node in `network`, with its
/// keys, genesis and seal in `keys_dir` (relative paths),
/// `admin_token_hash` as its admin credential and `tls` as its `[api.tls]`
/// (required to listen off loopback).
pub fn configure(
    network: &NetworkFile,
    party: &str,
    listen: &Listen,
    admin_token_hash: &str,
    tls: Option<crate::TlsSection>,
) -> Result<NodeConfig, CeremonyError> {
    let me = network
        .members
        .iter()
        .find(|m| m.party_id == party)
        .ok_or_else(|| CeremonyError::Invalid(format!("party {party} has no node in {NETWORK_FILE}")))?;
    let api_listen = match listen.api {
        Some(a) => a,
        None => host_port(&me.api).ok_or_else(|| {
            CeremonyError::Invalid(format!("api {:?} is not http(s)://IP:PORT: give the listen address", me.api))
        })?,
    };
    let mut api = ApiSection::new(api_listen);
    api.advertise = Some(me.api.clone());
    api.admin.token_blake3 = Some(admin_token_hash.to_owned());
    api.tls = tls;
    let config = NodeConfig {
        node: NodeSection {
            id: me.node_id,
            name: me.party_id.clone(),
            data_dir: "data".into(),
            key_file: NODE_KEY_FILE.into(),
            genesis_file: GENESIS_FILE.into(),
            genesis_seal_file: None,
            party_id: Some(me.party_id.clone()),
            party_key_file: Some(PARTY_KEY_FILE.into()),
            code_key_share_files: Vec::new(),
            min_free_disk_bytes: crate::config::DEFAULT_MIN_FREE_DISK_BYTES,
        },
        network: NetworkSection {
            listen: listen.p2p.clone().unwrap_or_else(|| me.p2p.clone()),
            request_timeout_ms: 5000,
            advertise: Some(me.p2p.clone()),
        },
        api,
        ops: OpsSection { listen: listen.ops, ready_max_lag: 0 },
        web: WebSection { listen: listen.web, public_origin: None },
        log: LogSection::default(),
        raft: RaftSection::default(),
        cluster: ClusterSection { initial_voters: network.members.iter().map(|m| m.node_id).collect() },
        peers: network
            .members
            .iter()
            .filter(|m| m.node_id != me.node_id)
            .map(|m| PeerConfig {
                id: m.node_id,
                peer_id: m.peer_id.clone(),
                addrs: vec![m.p2p.clone()],
                api: Some(m.api.clone()),
            })
            .collect(),
    };
    config.validate().map_err(|e| CeremonyError::Invalid(e.to_string()))?;
    Ok(config)
}

/// `host:port` of an `http(s)://IP:PORT` endpoint.
fn host_port(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    rest.trim_end_matches('/').parse().ok()
}

/// The `api.admin.token_blake3` of the admin token in `keys_dir`.
pub fn admin_token_hash(keys_dir: &Path) -> Result<String, CeremonyError> {
    let path = keys_dir.join(ADMIN_TOKEN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| file_err(&path, e))?;
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        return Err(file_err(&path, "holds no token"));
    }
    Ok(blake3::hash(token.as_bytes()).to_hex().to_string())
}

/// Reads a JSON file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CeremonyError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e))?;
    serde_json::from_str(&text).map_err(|e| file_err(path, e))
}

/// Writes a JSON file (pretty, public data).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), CeremonyError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| file_err(path, e))?;
    std::fs::write(path, text + "\n").map_err(|e| file_err(path, e))
}
