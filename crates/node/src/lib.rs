//! A Veritrace validator node process: wiring only. It opens RocksDB,
//! starts libp2p, starts the application layer (`veritrace-service`) over
//! both and serves it through the edge (`veritrace-server`).
//!
//! * [`run`]: the whole process, `run(config, listeners, shutdown)`, called
//!   by `veritrace node start` and by tests alike.
//! * [`node`]: [`Node::start`] assembles a node from a [`NodeConfig`];
//!   [`Node::shutdown`] stops it.
//! * [`config`]: `veritrace.toml`, [`NodeConfig`], loaded and validated with
//!   errors that name the file and the field.
//! * [`keys`]: key files (hex of a 32-byte ed25519 seed, mode 0600) and the
//!   node identity / party signing key derived from a seed.
//! * [`init`]: [`generate_local_cluster`], the keys, configurations, genesis
//!   and `cluster.json` of an N-node local cluster.

pub mod ceremony;
pub mod config;
pub mod disk;
mod error;
pub mod init;
pub mod keys;
pub mod node;
mod notify;
mod process_stats;
mod run;
pub mod seal;

pub use config::{
    ApiSection, CONFIG_FILE_NAME, ClusterSection, ConfigError, ConfigSource, LayeredConfig, LogFormat, LogSection,
    NetworkSection, NodeConfig, NodeSection, OpsSection, PeerConfig, RaftSection, TlsSection, WebSection,
};
pub use error::NodeError;
pub use init::{
    ADMIN_TOKEN_FILE, ClusterFile, ClusterFileNode, ClusterLayout, InitError, InitOptions, NodeLayout, PartySigner,
    generate_local_cluster,
};
pub use keys::{
    KeyFileError, generate_seed, node_keypair, party_key, peer_id_of, read_seed_file, write_secret_file,
    write_seed_file,
};
pub use node::{Libp2pPeers, Node};

/// This build's version and source revision, as `veritrace --version`
/// prints it: `0.6.0 (revision 90873ed1a2b3)`.
pub const VERSION_LINE: &str = concat!(env!("CARGO_PKG_VERSION"), " (revision ", env!("VERITRACE_GIT_REVISION"), ")");

/// This build's version and the source revision it was built from (see
/// `build.rs`), for the status and the `veritrace_build_info` metric.
pub fn build_info() -> veritrace_service::BuildInfo {
    veritrace_service::BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        revision: env!("VERITRACE_GIT_REVISION").to_owned(),
    }
}
pub use run::{Listeners, run};
/// A fresh admin token and its blake3 for `api.admin.token_blake3`.
pub use veritrace_server::admin_auth::new_token as new_admin_token;
