//! The boundary between consensus and the network.
//!
//! ### Contract every transport keeps
//!
//! * **Bounded.** `send` never blocks and never queues without bound: when
//!   the queue toward a peer is full, or the peer is unreachable, the
//!   message is dropped (Raft retransmits; heartbeats and appends are
//!   idempotent). Drops are counted and logged, never panicked on.
//! * **Authenticated.** Every [`Inbound`] comes from a peer whose identity
//!   the transport verified and mapped to a Raft [`NodeId`] of the current
//!   validator set (plus bootstrap list). Messages from anyone else are
//!   refused before they reach this crate.
//! * **No ordering promise.** Messages may be lost, duplicated, delayed or
//!   reordered; Raft tolerates all four. Simulated transports inject them.
//! * **Request / response with deadlines.** `forward` and
//!   `fetch_snapshot_chunk` resolve within the transport's request timeout
//!   with the answer or a [`TransportError`]; they never hang.

use std::future::Future;

use tokio::sync::oneshot;

/// A Raft node id (the `id` in raft-rs), fixed per validator.
pub type NodeId = u64;

/// Largest snapshot chunk a transport carries in one response.
pub const MAX_SNAPSHOT_CHUNK: usize = 1024 * 1024;

/// One piece of a snapshot stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotChunk {
    /// Offset of `data` in the snapshot stream.
    pub offset: u64,
    /// At most [`MAX_SNAPSHOT_CHUNK`] bytes.
    pub data: Vec<u8>,
    /// True when `data` ends the stream.
    pub last: bool,
}

/// Why a request to a peer failed. All are retryable by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No address is known for the node, or it is not a validator.
    #[error("node {0} is unknown to the transport")]
    UnknownNode(NodeId),
    /// The peer could not be reached or the connection broke.
    #[error("node {node} is unreachable: {cause}")]
    Unreachable {
        /// The peer.
        node: NodeId,
        /// What the transport saw.
        cause: String,
    },
    /// The peer did not answer in time.
    #[error("request to node {0} timed out")]
    Timeout(NodeId),
    /// The peer answered with an error.
    #[error("node {node} refused the request: {reason}")]
    Refused {
        /// The peer.
        node: NodeId,
        /// Its reason.
        reason: String,
    },
    /// The local transport is shutting down.
    #[error("transport is shut down")]
    Shutdown,
}

/// What a transport delivers to the local node, through a bounded channel
/// the node hands to the transport when both start.
#[derive(Debug)]
pub enum Inbound {
    /// A Raft message (serialized `eraftpb::Message`) from a peer.
    Raft {
        /// The authenticated sender.
        from: NodeId,
        /// Opaque message bytes.
        message: Vec<u8>,
    },
    /// A follower forwards a client proposal to this node (the leader).
    Forward {
        /// The authenticated sender.
        from: NodeId,
        /// Opaque request bytes (defined by the node layer).
        request: Vec<u8>,
        /// Where the answer goes; dropping it fails the peer's request.
        reply: oneshot::Sender<Vec<u8>>,
    },
    /// A peer asks for a chunk of the snapshot at `snapshot_index`.
    SnapshotChunk {
        /// The authenticated sender.
        from: NodeId,
        /// Which snapshot (its Raft index).
        snapshot_index: u64,
        /// Where in the stream to start.
        offset: u64,
        /// Where the chunk goes; an `Err` is sent back as a refusal.
        reply: oneshot::Sender<Result<SnapshotChunk, String>>,
    },
}

/// How consensus reaches other nodes. See the module docs for the contract.
pub trait Transport: Send + Sync + 'static {
    /// Queues a Raft message for `to`; never blocks (drops when full, or
    /// when the message is longer than [`Transport::max_message_bytes`]).
    fn send(&self, to: NodeId, message: Vec<u8>);

    /// Longest message `send` and `forward` carry; longer ones are dropped
    /// or refused. The driver refuses to start with settings that could
    /// build a Raft entry that does not fit (it would never replicate).
    fn max_message_bytes(&self) -> usize;

    /// Sends a forwarded proposal to `to` and waits for its answer.
    fn forward(&self, to: NodeId, request: Vec<u8>) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send;

    /// Fetches one chunk of the snapshot at `snapshot_index` from `from`.
    fn fetch_snapshot_chunk(
        &self,
        from: NodeId,
        snapshot_index: u64,
        offset: u64,
    ) -> impl Future<Output = Result<SnapshotChunk, TransportError>> + Send;
}
