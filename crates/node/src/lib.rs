//! A Veritrace validator node: the ledger, the Raft driver and the libp2p
//! network assembled ([`Node`]), with its configuration file, key files and
//! the local-cluster generator behind `veritrace init`.
//!
//! * [`node`]: [`Node::start`] assembles a node from a [`NodeConfig`];
//!   [`Node::shutdown`] stops it. [`ops`] holds what it does for the API.
//! * [`state_machine`]: the ledger as the Raft state machine, and the
//!   proposal format (a client request's envelopes).
//! * [`members`]: the identity and addresses replicated for each member.
//! * [`config`]: `veritrace.toml`, [`NodeConfig`], loaded and validated with
//!   errors that name the file and the field.
//! * [`keys`]: key files (hex of a 32-byte ed25519 seed, mode 0600) and the
//!   node identity / party signing key derived from a seed.
//! * [`init`]: [`generate_local_cluster`], the keys, configurations, genesis
//!   and `cluster.json` of an N-node local cluster.

pub mod config;
mod error;
pub mod init;
pub mod keys;
pub mod members;
pub mod node;
pub mod ops;
mod prechecks;
pub mod state_machine;
pub mod verify;

pub use config::{
    ApiSection, CONFIG_FILE_NAME, ClusterSection, ConfigError, ConfigSource, LayeredConfig, LogFormat, LogSection,
    NetworkSection, NodeConfig, NodeSection, OpsSection, PeerConfig, RaftSection, TlsSection,
};
pub use error::NodeError;
pub use init::{
    ClusterFile, ClusterFileNode, ClusterLayout, InitError, InitOptions, NodeLayout, generate_local_cluster,
};
pub use keys::{KeyFileError, generate_seed, node_keypair, party_key, peer_id_of, read_seed_file, write_seed_file};
pub use members::MemberInfo;
pub use node::Node;
pub use ops::{BackupFile, Readiness};
pub use verify::{VerifyRequest, now_ms};
