//! Veritrace's libp2p network: the [`Transport`] consensus uses to reach
//! the other validators.
//!
//! One task (the event loop) owns the libp2p `Swarm`. A cloneable
//! [`NetworkHandle`] talks to it over a bounded command channel with
//! oneshot replies, and what peers send arrives on the bounded
//! [`Inbound`] channel the node hands to [`Network::start`].
//!
//! ### Protocols
//!
//! Over TCP + Noise + Yamux, every frame length-prefixed with a maximum
//! size ([`NetConfig::max_message_bytes`]):
//!
//! * `/veritrace/raft-stream/1`: one long-lived stream per peer and
//!   direction carrying Raft messages back to back, without
//!   acknowledgements (Raft resends what is lost); delivered as
//!   [`Inbound::Raft`]. `send` queues a message in the peer's outbox, and a
//!   writer task per peer writes whatever is queued in one go.
//! * `/veritrace/forward-stream/1`: one long-lived stream per peer carrying
//!   forwarded requests, each tagged with an id, and their answers in any
//!   order; delivered as [`Inbound::Forward`]. A broken stream fails the
//!   requests waiting on it.
//! * `/veritrace/snapshot/1`, request-response: request =
//!   `(snapshot_index, offset)`, response = a [`SnapshotChunk`] or a
//!   refusal; delivered as [`Inbound::SnapshotChunk`].
//!
//! Streams bypass the event loop: the handle queues straight into the
//! peer's outbox, and the tasks that own the streams read and write them.
//! The event loop keeps the connections (dialing, the allow-list, limits)
//! and the snapshot protocol.
//!
//! ### Permissioning
//!
//! Only peers on the allow-list (the `PeerId`s of [`NetConfig::peers`],
//! replaced by [`NetworkHandle::set_peers`]) may hold a connection: others
//! are denied during the handshake, disconnected if a connection slips
//! through, and every inbound stream's and request's sender is checked again before it
//! is mapped to a [`NodeId`]. Nothing from an unknown peer reaches the node.
//!
//! ### Bounds
//!
//! Every channel is bounded; outbound requests in flight and Raft messages
//! queued are capped per peer ([`NetConfig::max_pending_per_peer`]); connections are capped per
//! peer ([`NetConfig::max_connections_per_peer`]); frames are capped by
//! [`NetConfig::max_message_bytes`]. What does not fit is dropped and
//! counted ([`NetStats`]), or fails with a [`TransportError`].

mod codec;
mod event_loop;
mod forward_stream;
mod raft_stream;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use libp2p::identity::Keypair;
pub use libp2p::multiaddr::Protocol;
pub use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
pub use veritrace_consensus::{Inbound, NodeId, SnapshotChunk, Transport, TransportError};

use crate::event_loop::{Command, EventLoop};
use crate::forward_stream::ForwardJob;
use crate::raft_stream::Outboxes;

/// One validator the network may talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEntry {
    /// The peer's Raft node id.
    pub node: NodeId,
    /// The peer's libp2p identity (derived from its ed25519 public key);
    /// connections are authenticated against it by the Noise handshake.
    pub peer_id: PeerId,
    /// Addresses to dial the peer at (e.g. `/ip4/10.0.0.2/tcp/7000`); may be
    /// empty for a peer that only dials in.
    pub addrs: Vec<Multiaddr>,
}

/// Largest [`NetConfig::max_message_bytes`]: a frame's u32 length prefix
/// must also hold a forwarded answer's id and tag.
pub const MAX_MESSAGE_BYTES: usize = u32::MAX as usize - 9;

/// Configuration of a [`Network`].
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Address to listen on, e.g. `/ip4/0.0.0.0/tcp/7000`; port 0 picks a
    /// free port (see [`NetworkHandle::wait_listen_addr`]).
    pub listen: Multiaddr,
    /// This node's identity key (ed25519); its public key is the node's
    /// `PeerId`.
    pub keypair: Keypair,
    /// This node's Raft node id.
    pub local_node: NodeId,
    /// The validators this node may talk to; their `PeerId`s form the
    /// allow-list. Entries with this node's own `PeerId` are ignored.
    pub peers: Vec<PeerEntry>,
    /// Deadline of one request (`forward`, `fetch_snapshot_chunk`, and the
    /// ack of a Raft message), from the call until the answer. Also how long
    /// the local node has to answer an inbound request.
    pub request_timeout: Duration,
    /// Largest Raft message or forwarded request/answer, in bytes. Larger
    /// outbound messages are refused locally; larger inbound frames are
    /// rejected before they are buffered. Snapshot chunks have their own
    /// limit, [`veritrace_consensus::transport::MAX_SNAPSHOT_CHUNK`].
    pub max_message_bytes: usize,
    /// Capacity of the command channel from handles to the event loop, in
    /// commands; `send` drops messages when it is full.
    pub queue_depth: usize,
    /// Most outbound requests in flight to one peer (forwards and snapshot
    /// chunks together), in requests, beyond which requests fail with
    /// [`TransportError::Unreachable`]; also the most Raft messages queued
    /// for one peer, beyond which `send` drops them.
    pub max_pending_per_peer: usize,
    /// Most established connections to one peer, in connections.
    pub max_connections_per_peer: u32,
    /// First delay before redialing a disconnected peer.
    pub dial_backoff_min: Duration,
    /// Largest delay between redials of a disconnected peer; the delay
    /// doubles from [`NetConfig::dial_backoff_min`] up to this.
    pub dial_backoff_max: Duration,
    /// How long a connection with no open streams is kept before it is closed.
    pub idle_connection_timeout: Duration,
}

impl NetConfig {
    /// A configuration with the default limits: 5 s request timeout,
    /// 4 MiB messages, 1024-command queue, 256 requests in flight per peer,
    /// 2 connections per peer, redial backoff 100 ms .. 5 s, 60 s idle
    /// connection timeout.
    pub fn new(listen: Multiaddr, keypair: Keypair, local_node: NodeId, peers: Vec<PeerEntry>) -> Self {
        Self {
            listen,
            keypair,
            local_node,
            peers,
            request_timeout: Duration::from_secs(5),
            max_message_bytes: 4 * 1024 * 1024,
            queue_depth: 1024,
            max_pending_per_peer: 256,
            max_connections_per_peer: 2,
            dial_backoff_min: Duration::from_millis(100),
            dial_backoff_max: Duration::from_secs(5),
            idle_connection_timeout: Duration::from_secs(60),
        }
    }

    fn validate(&self) -> Result<(), NetError> {
        let bad = |what: &str| Err(NetError::InvalidConfig(what.to_owned()));
        if self.request_timeout.is_zero() {
            return bad("request_timeout must be positive");
        }
        // A forward frame adds an 8-byte id and a 1-byte tag to a message,
        // and its length must fit the frame's u32 prefix.
        if self.max_message_bytes == 0 || self.max_message_bytes > MAX_MESSAGE_BYTES {
            return bad("max_message_bytes must be in 1..=4294967286 (u32::MAX - 9)");
        }
        if self.queue_depth == 0 {
            return bad("queue_depth must be positive");
        }
        if self.max_pending_per_peer == 0 {
            return bad("max_pending_per_peer must be positive");
        }
        if self.max_connections_per_peer == 0 {
            return bad("max_connections_per_peer must be positive");
        }
        if self.dial_backoff_min.is_zero() || self.dial_backoff_max < self.dial_backoff_min {
            return bad("dial backoff must satisfy 0 < dial_backoff_min <= dial_backoff_max");
        }
        let mut nodes = std::collections::HashSet::new();
        for p in &self.peers {
            if !nodes.insert(p.node) {
                return Err(NetError::InvalidConfig(format!("node {} listed twice", p.node)));
            }
        }
        Ok(())
    }
}

/// Why the network could not start or a handle call failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A configuration value is out of range.
    #[error("invalid network configuration: {0}")]
    InvalidConfig(String),
    /// [`Network::start`] was called outside a Tokio runtime.
    #[error("the network must be started inside a Tokio runtime")]
    NoRuntime,
    /// The libp2p transport or swarm could not be built.
    #[error("building the libp2p swarm failed: {0}")]
    Build(String),
    /// The listen address could not be bound.
    #[error("listening on {addr} failed: {cause}")]
    Listen {
        /// The configured address.
        addr: Multiaddr,
        /// What libp2p reported.
        cause: String,
    },
    /// The event loop has stopped.
    #[error("the network is shut down")]
    Shutdown,
}

/// Counters of what the network dropped or refused, since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Outbound Raft messages dropped (peer's outbox full, unknown node, too
    /// large, or the peer's stream could not be opened or written).
    pub dropped_outbound: u64,
    /// Inbound messages and requests dropped because the inbound channel
    /// was full.
    pub dropped_inbound: u64,
    /// Connections denied or closed because the remote is not on the
    /// allow-list or over the per-peer connection cap.
    pub rejected_connections: u64,
    /// Inbound requests dropped because the sender is not on the allow-list.
    pub rejected_requests: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) dropped_outbound: AtomicU64,
    pub(crate) dropped_inbound: AtomicU64,
    pub(crate) rejected_connections: AtomicU64,
    pub(crate) rejected_requests: AtomicU64,
    /// The last ping round trip to each connected peer.
    pub(crate) round_trips: std::sync::Mutex<std::collections::BTreeMap<NodeId, std::time::Duration>>,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Starts the network.
#[derive(Debug)]
pub struct Network;

impl Network {
    /// Builds the swarm, starts listening on `config.listen`, dials the
    /// configured peers and spawns the event loop on the current Tokio
    /// runtime. What peers send is delivered on `inbound`.
    ///
    /// The loop stops when [`NetworkHandle::shutdown`] is called or every
    /// handle has been dropped; the returned `JoinHandle` then completes.
    pub fn start(
        config: NetConfig,
        inbound: mpsc::Sender<Inbound>,
    ) -> Result<(NetworkHandle, JoinHandle<()>), NetError> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::NoRuntime)?;
        let (commands_tx, commands_rx) = mpsc::channel(config.queue_depth);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (listen_tx, listen_rx) = watch::channel(Vec::new());
        let counters = Arc::new(Counters::default());
        let outboxes = Arc::new(Outboxes::default());
        let local_peer_id = config.keypair.public().to_peer_id();
        let request_timeout = config.request_timeout;
        let max_message_bytes = config.max_message_bytes;
        let event_loop =
            EventLoop::new(config, commands_rx, inbound, shutdown_rx, listen_tx, counters.clone(), outboxes.clone())?;
        let join = runtime.spawn(event_loop.run());
        let handle = NetworkHandle {
            inner: Arc::new(Inner {
                commands: commands_tx,
                shutdown: shutdown_tx,
                listen_addrs: listen_rx,
                counters,
                outboxes,
                local_peer_id,
                request_timeout,
                max_message_bytes,
            }),
        };
        Ok((handle, join))
    }
}

#[derive(Debug)]
struct Inner {
    commands: mpsc::Sender<Command>,
    shutdown: watch::Sender<bool>,
    listen_addrs: watch::Receiver<Vec<Multiaddr>>,
    counters: Arc<Counters>,
    outboxes: Arc<Outboxes>,
    local_peer_id: PeerId,
    request_timeout: Duration,
    max_message_bytes: usize,
}

/// A cloneable handle to a running [`Network`]; implements [`Transport`].
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    inner: Arc<Inner>,
}

impl NetworkHandle {
    /// This node's libp2p identity.
    pub fn local_peer_id(&self) -> PeerId {
        self.inner.local_peer_id
    }

    /// The addresses the node listens on now (empty until the listener is up).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.inner.listen_addrs.borrow().clone()
    }

    /// Waits until the node listens on at least one address and returns it
    /// (useful with port 0). Fails with [`NetError::Shutdown`] if the event
    /// loop stops first; callers should bound the wait with a timeout.
    pub async fn wait_listen_addr(&self) -> Result<Multiaddr, NetError> {
        let mut rx = self.inner.listen_addrs.clone();
        let addrs = rx.wait_for(|a| !a.is_empty()).await.map_err(|_| NetError::Shutdown)?;
        addrs.first().cloned().ok_or(NetError::Shutdown)
    }

    /// Replaces the set of validators (and so the allow-list). Peers no
    /// longer listed are disconnected; new ones are dialed.
    pub async fn set_peers(&self, peers: Vec<PeerEntry>) -> Result<(), NetError> {
        self.inner.commands.send(Command::SetPeers(peers)).await.map_err(|_| NetError::Shutdown)
    }

    /// Counters of dropped and refused traffic.
    pub fn stats(&self) -> NetStats {
        let c = &self.inner.counters;
        NetStats {
            dropped_outbound: c.dropped_outbound.load(Ordering::Relaxed),
            dropped_inbound: c.dropped_inbound.load(Ordering::Relaxed),
            rejected_connections: c.rejected_connections.load(Ordering::Relaxed),
            rejected_requests: c.rejected_requests.load(Ordering::Relaxed),
        }
    }

    /// The last measured round trip (libp2p ping, every 2 s) to each peer
    /// with a live connection, by node id.
    pub fn round_trips(&self) -> std::collections::BTreeMap<NodeId, std::time::Duration> {
        self.inner.counters.round_trips.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Asks the event loop to stop; pending requests fail with
    /// [`TransportError::Shutdown`]. Await the `JoinHandle` from
    /// [`Network::start`] to know when the listener is closed.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    async fn request<T>(
        &self,
        node: NodeId,
        make: impl FnOnce(oneshot::Sender<Result<T, TransportError>>) -> Command,
    ) -> Result<T, TransportError> {
        let (tx, rx) = oneshot::channel();
        let command = make(tx);
        let outcome = tokio::time::timeout(self.inner.request_timeout, async {
            self.inner.commands.send(command).await.map_err(|_| TransportError::Shutdown)?;
            rx.await.map_err(|_| TransportError::Shutdown)?
        })
        .await;
        match outcome {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout(node)),
        }
    }
}

impl Transport for NetworkHandle {
    fn send(&self, to: NodeId, message: Vec<u8>) {
        if message.len() > self.inner.max_message_bytes {
            Counters::bump(&self.inner.counters.dropped_outbound);
            tracing::warn!(to, len = message.len(), "raft message exceeds max_message_bytes; dropped");
            return;
        }
        if let Err(why) = self.inner.outboxes.send_raft(to, message) {
            Counters::bump(&self.inner.counters.dropped_outbound);
            tracing::debug!(to, why, "raft message dropped");
        }
    }

    fn max_message_bytes(&self) -> usize {
        self.inner.max_message_bytes
    }

    async fn forward(&self, to: NodeId, request: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        if request.len() > self.inner.max_message_bytes {
            return Err(TransportError::Refused {
                node: to,
                reason: format!("request of {} bytes exceeds max_message_bytes", request.len()),
            });
        }
        let (reply, answer) = oneshot::channel();
        self.inner.outboxes.send_forward(to, ForwardJob { request, reply })?;
        match tokio::time::timeout(self.inner.request_timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(TransportError::Shutdown),
            Err(_) => Err(TransportError::Timeout(to)),
        }
    }

    async fn fetch_snapshot_chunk(
        &self,
        from: NodeId,
        snapshot_index: u64,
        offset: u64,
    ) -> Result<SnapshotChunk, TransportError> {
        self.request(from, |reply| Command::FetchChunk { from, snapshot_index, offset, reply }).await
    }
}
