//! Veritrace's application layer: what a replica does for its clients,
//! between the edge (`veritrace-server`: gRPC, HTTP) and the ledger and
//! consensus below.
//!
//! * [`Service`]: submit, verify, status, audit, backup, membership and
//!   readiness, over a [`RaftHandle`](veritrace_consensus::RaftHandle) and
//!   the ledger. [`open`] opens the ledger and the Raft log on any
//!   [`KvEngine`](veritrace_storage::KvEngine), [`Opened::start`] starts
//!   the Raft driver on any [`Transport`](veritrace_consensus::Transport)
//!   and returns the service ([`start`] does both): the node process
//!   opens RocksDB, then starts libp2p, then the driver; the test kit uses
//!   the in-memory engine and the simulated network.
//! * [`state_machine`]: the ledger as the Raft state machine, and the
//!   proposal format (a client request's envelopes); [`prechecks`] runs
//!   signature checks ahead of apply.
//! * [`verify`]: the consumer path (verdict, journey, recorded scan).
//! * [`delegated`]: actions the node signs for its own party (EPCIS capture).
//! * [`report`]: a buyer's report of a suspected fake, tied to their scan.
//! * [`code_check`]: threshold code checks for codes no replica can check
//!   alone (CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1), asking and helping.
//! * [`members`]: the identity and addresses replicated for each member.
//! * [`PeerControl`]: how membership requests check peer identities and
//!   addresses without this crate linking the network stack.
//!
//! This crate depends on traits and handles only: never on RocksDB,
//! libp2p or tonic (`scripts/check-layering.sh` enforces it).

pub mod admission;
mod build_info;
pub mod code_check;
pub mod cosign;
pub mod delegated;
mod error;
pub mod members;
pub mod prechecks;
pub mod private;
pub mod report;
mod service;
mod start;
pub mod state_machine;
pub mod verify;

pub use build_info::BuildInfo;
pub use code_check::{CodeKeyShares, PeerRequests};
pub use error::ServiceError;
pub use members::{MemberInfo, PeerControl, PeerIdentity};
pub use report::ConsumerReport;
pub use service::{BackupFile, HeadSigner, MAX_SUBMISSION_BYTES, Readiness, Service, ServiceConfig, members_of};
pub use start::{Bootstrap, Opened, Started, open, open_ledger, start};
pub use state_machine::{Engine, LedgerCell, LedgerStateMachine, MAX_ENVELOPES_PER_PROPOSAL, ledger_options};
pub use verify::{VerifyRequest, now_ms};
