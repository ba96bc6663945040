//! A Veritrace validator node: its configuration file, its key files and
//! the local-cluster generator behind `veritrace init`.
//!
//! * [`config`]: `veritrace.toml`, [`NodeConfig`], loaded and validated with
//!   errors that name the file and the field.
//! * [`keys`]: key files (hex of a 32-byte ed25519 seed, mode 0600) and the
//!   node identity / party signing key derived from a seed.
//! * [`init`]: [`generate_local_cluster`], the keys, configurations, genesis
//!   and `cluster.json` of an N-node local cluster.
//!
//! Assembling the ledger, the Raft driver and the network into a running
//! node comes next (see ARCHITECTURE.md).

pub mod config;
pub mod init;
pub mod keys;

pub use config::{
    ApiSection, CONFIG_FILE_NAME, ClusterSection, ConfigError, NetworkSection, NodeConfig, NodeSection, PeerConfig,
    RaftSection,
};
pub use init::{
    ClusterFile, ClusterFileNode, ClusterLayout, InitError, InitOptions, NodeLayout, generate_local_cluster,
};
pub use keys::{KeyFileError, generate_seed, node_keypair, party_key, peer_id_of, read_seed_file, write_seed_file};
