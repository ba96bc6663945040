//! Veritrace's Raft layer.
//!
//! * [`log_store`]: [`RaftLogStore`], raft-rs's `Storage` over a
//!   `KvEngine` (column families [`RAFT_CFS`]), with the sync and recovery
//!   contract the ready loop relies on.
//! * [`driver`]: the ready loop around raft-rs's `RawNode`, owned by one
//!   task, with a cloneable [`RaftHandle`] for proposals and status.
//! * [`transport`]: the [`Transport`] trait through which consensus talks
//!   to other nodes. `veritrace-net` implements it over libp2p; tests use
//!   an in-memory simulated network.
//! * [`sim`] (feature `sim`): that simulated network, with drop, delay,
//!   duplicate, reorder, partition and isolate.
//! * [`raft_logger`]: raft-rs's own log lines (it logs through `slog`),
//!   bridged into `tracing` under the target `raft` with the node's id:
//!   errors and warnings keep their level, raft-rs's `Info` (every
//!   election step) becomes `DEBUG` and its `Debug` and `Trace` become
//!   `TRACE`, so a node at the default `info` filter is not flooded. The
//!   driver itself logs each change of leader or term at `INFO`.
//!
//! Raft messages are rust-protobuf 2 `eraftpb::Message`s (raft-rs's
//! codec). They cross the transport as opaque bytes, so no other crate
//! depends on raft-rs or its protobuf version.

pub mod driver;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod log_store;
pub mod raft_logger;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod transport;
pub mod wire;

pub use driver::{
    Clock, DriverConfig, DriverError, GateClosed, Membership, MembershipChange, ProposalGate, RaftHandle, SnapshotInfo,
    SnapshotWrite, StartError, StateMachine, Status,
};
pub use log_store::{BOOTSTRAP_INDEX, LogStoreError, RAFT_CFS, RaftLogStore, SnapshotDescriptor};
pub use transport::{Inbound, NodeId, SnapshotChunk, Transport, TransportError};
