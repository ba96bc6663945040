//! The task that owns the libp2p `Swarm`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::futures::stream::FuturesUnordered;
use libp2p::request_response::{self, OutboundFailure, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ListenError, NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, allow_block_list, connection_limits, noise, ping, tcp, yamux};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};
use veritrace_consensus::transport::MAX_SNAPSHOT_CHUNK;
use veritrace_consensus::{Inbound, NodeId, SnapshotChunk, TransportError};

use crate::codec::{self, FrameCodec};
use crate::forward_stream::{self, FORWARD_STREAM_PROTOCOL};
use crate::raft_stream::{self, AllowList, Outboxes, PeerOutbox, RAFT_STREAM_PROTOCOL};
use crate::{Counters, NetConfig, NetError, PeerEntry};

/// What handles ask the event loop to do.
#[derive(Debug)]
pub(crate) enum Command {
    FetchChunk {
        from: NodeId,
        snapshot_index: u64,
        offset: u64,
        reply: oneshot::Sender<Result<SnapshotChunk, TransportError>>,
    },
    SetPeers(Vec<PeerEntry>),
}

type Rr = request_response::Behaviour<FrameCodec>;

/// Incoming connections still in their handshake (peer not yet known, so
/// not yet checked against the allow-list) at once; more are refused.
pub(crate) const MAX_PENDING_INCOMING: u32 = 32;

/// Incoming connections established at once: validators are few (tens),
/// each with at most `max_connections_per_peer`.
pub(crate) const MAX_ESTABLISHED_INCOMING: u32 = 256;
type RrEvent = request_response::Event<Vec<u8>, Vec<u8>>;

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    limits: connection_limits::Behaviour,
    stream: libp2p_stream::Behaviour,
    snapshot: Rr,
    ping: ping::Behaviour,
}

/// How often each connection is pinged, and how long an answer may take
/// before the connection counts as dead and is closed (then redialled).
/// Without it a link cut silently (a cable, a `docker network
/// disconnect`, a dropped NAT entry) stays "established" until TCP gives
/// up retransmitting, which takes minutes, and Raft messages vanish into
/// it meanwhile.
const PING_INTERVAL: Duration = Duration::from_secs(2);
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// A snapshot chunk request waiting for its answer.
struct Pending {
    peer: PeerId,
    node: NodeId,
    reply: oneshot::Sender<Result<SnapshotChunk, TransportError>>,
}

struct PeerState {
    node: NodeId,
    addrs: Vec<Multiaddr>,
    backoff: Duration,
    next_dial: Option<Instant>,
    in_flight: usize,
}

/// An answer the local node produced for an inbound snapshot chunk request,
/// ready to go back to the peer.
struct Reply {
    channel: ResponseChannel<Vec<u8>>,
    bytes: Vec<u8>,
}

type ReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

pub(crate) struct EventLoop {
    swarm: Swarm<Behaviour>,
    listen: Multiaddr,
    local_node: NodeId,
    commands: mpsc::Receiver<Command>,
    inbound: mpsc::Sender<Inbound>,
    shutdown: watch::Receiver<bool>,
    listen_addrs: watch::Sender<Vec<Multiaddr>>,
    counters: Arc<Counters>,
    peers: HashMap<PeerId, PeerState>,
    nodes: HashMap<NodeId, PeerId>,
    pending: HashMap<OutboundRequestId, Pending>,
    replies: FuturesUnordered<ReplyFuture>,
    request_timeout: Duration,
    max_message_bytes: usize,
    max_pending_per_peer: usize,
    max_connections_per_peer: u32,
    backoff_min: Duration,
    backoff_max: Duration,
    /// Opens outbound streams; each writer and caller task holds a clone.
    control: libp2p_stream::Control,
    /// Inbound Raft and forward streams, until `run` hands them to the
    /// acceptor tasks.
    incoming: Option<(libp2p_stream::IncomingStreams, libp2p_stream::IncomingStreams)>,
    /// Each peer's outboxes, with the node id they were made for.
    links: HashMap<PeerId, (NodeId, PeerOutbox)>,
    outboxes: Arc<Outboxes>,
    allow_list: AllowList,
    outbox_depth: usize,
}

impl EventLoop {
    pub(crate) fn new(
        config: NetConfig,
        commands: mpsc::Receiver<Command>,
        inbound: mpsc::Sender<Inbound>,
        shutdown: watch::Receiver<bool>,
        listen_addrs: watch::Sender<Vec<Multiaddr>>,
        counters: Arc<Counters>,
        outboxes: Arc<Outboxes>,
    ) -> Result<Self, NetError> {
        let rr_config = request_response::Config::default().with_request_timeout(config.request_timeout);
        let max_conn = config.max_connections_per_peer;
        let behaviour = move |_: &libp2p::identity::Keypair| Behaviour {
            allow: allow_block_list::Behaviour::default(),
            limits: connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established_per_peer(Some(max_conn))
                    // The allow-list can only judge a connection once its
                    // Noise handshake names the peer: bound what strangers
                    // can hold open before that, and in all.
                    .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                    .with_max_established_incoming(Some(MAX_ESTABLISHED_INCOMING)),
            ),
            stream: libp2p_stream::Behaviour::new(),
            snapshot: Rr::with_codec(
                FrameCodec { max_request: codec::SNAPSHOT_REQUEST_LEN, max_response: codec::SNAPSHOT_RESPONSE_MAX },
                [(codec::SNAPSHOT_PROTOCOL, ProtocolSupport::Full)],
                rr_config,
            ),
            ping: ping::Behaviour::new(ping::Config::new().with_interval(PING_INTERVAL).with_timeout(PING_TIMEOUT)),
        };
        let idle = config.idle_connection_timeout;
        let swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .map_err(|e| NetError::Build(e.to_string()))?
            // Peers may be named (/dns4/brand/tcp/7501): resolved with the
            // system's resolver configuration (/etc/resolv.conf).
            .with_dns()
            .map_err(|e| NetError::Build(format!("reading the system's DNS configuration: {e}")))?
            .with_behaviour(behaviour)
            .map_err(|e| NetError::Build(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
            .build();
        let mut control = swarm.behaviour().stream.new_control();
        let raft_streams = control
            .accept(RAFT_STREAM_PROTOCOL)
            .map_err(|e| NetError::Build(format!("registering {RAFT_STREAM_PROTOCOL}: {e}")))?;
        let forward_streams = control
            .accept(FORWARD_STREAM_PROTOCOL)
            .map_err(|e| NetError::Build(format!("registering {FORWARD_STREAM_PROTOCOL}: {e}")))?;
        let mut this = Self {
            swarm,
            listen: config.listen.clone(),
            local_node: config.local_node,
            commands,
            inbound,
            shutdown,
            listen_addrs,
            counters,
            peers: HashMap::new(),
            nodes: HashMap::new(),
            pending: HashMap::new(),
            replies: FuturesUnordered::new(),
            request_timeout: config.request_timeout,
            max_message_bytes: config.max_message_bytes,
            max_pending_per_peer: config.max_pending_per_peer,
            max_connections_per_peer: config.max_connections_per_peer,
            backoff_min: config.dial_backoff_min,
            backoff_max: config.dial_backoff_max,
            control,
            incoming: Some((raft_streams, forward_streams)),
            links: HashMap::new(),
            outboxes,
            allow_list: AllowList::default(),
            outbox_depth: config.max_pending_per_peer,
        };
        this.swarm
            .listen_on(config.listen.clone())
            .map_err(|e| NetError::Listen { addr: config.listen.clone(), cause: error_chain(&e) })?;
        this.set_peers(config.peers);
        Ok(this)
    }

    pub(crate) async fn run(mut self) {
        tracing::info!(node = self.local_node, peer = %self.swarm.local_peer_id(), listen = %self.listen, "network started");
        let mut tick = tokio::time::interval(self.backoff_min.min(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut acceptors = Vec::new();
        if let Some((raft, forward)) = self.incoming.take() {
            acceptors.push(tokio::spawn(raft_stream::run_acceptor(
                raft,
                self.allow_list.clone(),
                self.inbound.clone(),
                self.counters.clone(),
                self.max_message_bytes,
            )));
            let callee = forward_stream::CalleeConfig {
                inbound: self.inbound.clone(),
                counters: self.counters.clone(),
                timeout: self.request_timeout,
                max_message_bytes: self.max_message_bytes,
                max_in_flight: self.max_pending_per_peer,
            };
            acceptors.push(tokio::spawn(forward_stream::run_acceptor(forward, self.allow_list.clone(), callee)));
        }
        loop {
            tokio::select! {
                changed = self.shutdown.changed() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        break;
                    }
                }
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => break,
                },
                event = self.swarm.select_next_some() => self.handle_swarm_event(event),
                Some(reply) = self.replies.next(), if !self.replies.is_empty() => self.send_reply(reply),
                _ = tick.tick() => self.redial_due(),
            }
        }
        // Closing the outboxes ends the writer and caller tasks (callers
        // fail what they still wait for); aborting the acceptors stops the
        // tasks serving inbound streams.
        self.outboxes.close();
        self.links.clear();
        for acceptor in acceptors {
            acceptor.abort();
        }
        for (_, pending) in self.pending.drain() {
            let _ = pending.reply.send(Err(TransportError::Shutdown));
        }
        tracing::info!(node = self.local_node, "network stopped");
    }

    // ---- peers and dialing -------------------------------------------------

    fn set_peers(&mut self, entries: Vec<PeerEntry>) {
        let local = *self.swarm.local_peer_id();
        let mut next: HashMap<PeerId, PeerEntry> = HashMap::new();
        for entry in entries {
            if entry.peer_id == local {
                continue;
            }
            next.insert(entry.peer_id, entry);
        }
        let removed: Vec<PeerId> = self.peers.keys().filter(|p| !next.contains_key(*p)).copied().collect();
        for peer in removed {
            self.peers.remove(&peer);
            self.swarm.behaviour_mut().allow.disallow_peer(peer);
            let _ = self.swarm.disconnect_peer_id(peer);
            tracing::info!(%peer, "peer removed from the allow-list");
        }
        let now = Instant::now();
        for (peer, entry) in next {
            for addr in &entry.addrs {
                self.swarm.add_peer_address(peer, addr.clone());
            }
            match self.peers.get_mut(&peer) {
                Some(state) => {
                    if state.node != entry.node {
                        // Stream tasks label what they read with the node id
                        // of their peer at accept time: reconnect so they
                        // start again under the new id.
                        tracing::info!(%peer, from = state.node, to = entry.node, "peer's node id changed; reconnecting");
                        let _ = self.swarm.disconnect_peer_id(peer);
                    }
                    state.node = entry.node;
                    state.addrs = entry.addrs;
                }
                None => {
                    self.swarm.behaviour_mut().allow.allow_peer(peer);
                    self.peers.insert(
                        peer,
                        PeerState {
                            node: entry.node,
                            addrs: entry.addrs,
                            backoff: self.backoff_min,
                            next_dial: Some(now),
                            in_flight: 0,
                        },
                    );
                }
            }
        }
        self.nodes = self.peers.iter().map(|(peer, state)| (state.node, *peer)).collect();
        self.update_outboxes();
        self.redial_due();
    }

    /// Gives every peer an outbox with a writer task (and drops those of
    /// removed peers, which ends their writers), then publishes the
    /// outboxes and the inbound allow-list.
    fn update_outboxes(&mut self) {
        self.links.retain(|peer, (node, _)| self.peers.get(peer).is_some_and(|s| s.node == *node));
        for (peer, state) in &self.peers {
            if self.links.contains_key(peer) {
                continue;
            }
            let (raft_tx, raft_rx) = mpsc::channel(self.outbox_depth);
            let writer = raft_stream::WriterConfig {
                peer: *peer,
                node: state.node,
                control: self.control.clone(),
                counters: self.counters.clone(),
                timeout: self.request_timeout,
                backoff_min: self.backoff_min,
            };
            tokio::spawn(raft_stream::run_writer(writer, raft_rx));
            let (forward_tx, forward_rx) = mpsc::channel(self.outbox_depth);
            let caller = forward_stream::CallerConfig {
                peer: *peer,
                node: state.node,
                control: self.control.clone(),
                timeout: self.request_timeout,
                max_message_bytes: self.max_message_bytes,
                max_in_flight: self.max_pending_per_peer,
            };
            tokio::spawn(forward_stream::run_caller(caller, forward_rx));
            self.links.insert(*peer, (state.node, PeerOutbox { raft: raft_tx, forward: forward_tx }));
        }
        self.outboxes.replace(self.links.values().map(|(node, outbox)| (*node, outbox.clone())).collect());
        *self.allow_list.write().unwrap_or_else(PoisonError::into_inner) =
            self.peers.iter().map(|(peer, state)| (*peer, state.node)).collect();
    }

    fn redial_due(&mut self) {
        let now = Instant::now();
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, s)| s.next_dial.is_some_and(|t| t <= now) && !s.addrs.is_empty())
            .map(|(p, _)| *p)
            .collect();
        for peer in due {
            if self.swarm.is_connected(&peer) {
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.next_dial = None;
                }
                continue;
            }
            let addrs = self.peers.get(&peer).map(|s| s.addrs.clone()).unwrap_or_default();
            let opts =
                DialOpts::peer_id(peer).addresses(addrs).condition(PeerCondition::DisconnectedAndNotDialing).build();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    if let Some(state) = self.peers.get_mut(&peer) {
                        state.next_dial = None;
                    }
                }
                Err(libp2p::swarm::DialError::DialPeerConditionFalse(_)) => {
                    if let Some(state) = self.peers.get_mut(&peer) {
                        state.next_dial = None;
                    }
                }
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "dial failed");
                    self.schedule_redial(peer);
                }
            }
        }
    }

    fn schedule_redial(&mut self, peer: PeerId) {
        let max = self.backoff_max;
        if let Some(state) = self.peers.get_mut(&peer) {
            if state.next_dial.is_some() {
                return;
            }
            state.next_dial = Some(Instant::now() + state.backoff);
            state.backoff = state.backoff.saturating_mul(2).min(max);
        }
    }

    // ---- commands ----------------------------------------------------------

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::FetchChunk { from, snapshot_index, offset, reply } => {
                let peer = match self.admit_request(from) {
                    Ok(peer) => peer,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return;
                    }
                };
                let addrs = self.addrs_of(&peer);
                let request = codec::encode_snapshot_request(snapshot_index, offset);
                let id = self.swarm.behaviour_mut().snapshot.send_request_with_addresses(&peer, request, addrs);
                self.pending.insert(id, Pending { peer, node: from, reply });
            }
            Command::SetPeers(entries) => self.set_peers(entries),
        }
    }

    /// Resolves `node` to a peer with room for one more request in flight,
    /// and counts the request.
    fn admit_request(&mut self, node: NodeId) -> Result<PeerId, TransportError> {
        let peer = *self.nodes.get(&node).ok_or(TransportError::UnknownNode(node))?;
        let cap = self.max_pending_per_peer;
        let state = self.peers.get_mut(&peer).ok_or(TransportError::UnknownNode(node))?;
        if state.in_flight >= cap {
            return Err(TransportError::Unreachable { node, cause: format!("{cap} requests already in flight") });
        }
        state.in_flight += 1;
        Ok(peer)
    }

    fn addrs_of(&self, peer: &PeerId) -> Vec<Multiaddr> {
        if self.swarm.is_connected(peer) {
            return Vec::new();
        }
        self.peers.get(peer).map(|s| s.addrs.clone()).unwrap_or_default()
    }

    fn finish(&mut self, id: OutboundRequestId) -> Option<Pending> {
        let pending = self.pending.remove(&id)?;
        if let Some(state) = self.peers.get_mut(&pending.peer) {
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        Some(pending)
    }

    // ---- swarm events ------------------------------------------------------

    fn handle_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(node = self.local_node, %address, "listening");
                self.listen_addrs.send_modify(|addrs| addrs.push(address));
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.send_modify(|addrs| addrs.retain(|a| *a != address));
            }
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, num_established, .. } => {
                if !self.peers.contains_key(&peer_id) {
                    Counters::bump(&self.counters.rejected_connections);
                    tracing::warn!(peer = %peer_id, "connection from a peer not on the allow-list; closing");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                if num_established.get() > self.max_connections_per_peer {
                    Counters::bump(&self.counters.rejected_connections);
                    tracing::debug!(peer = %peer_id, "over the per-peer connection cap; closing the new connection");
                    self.swarm.close_connection(connection_id);
                    return;
                }
                let min = self.backoff_min;
                if let Some(state) = self.peers.get_mut(&peer_id) {
                    tracing::debug!(peer = %peer_id, node = state.node, "connected");
                    state.backoff = min;
                    state.next_dial = None;
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, cause, .. }
                if self.peers.contains_key(&peer_id) =>
            {
                tracing::debug!(peer = %peer_id, cause = ?cause, "disconnected; will redial");
                if let Some(node) = self.peers.get(&peer_id).map(|p| p.node) {
                    self.record_round_trip(node, None);
                }
                self.schedule_redial(peer_id);
            }
            SwarmEvent::OutgoingConnectionError { peer_id: Some(peer), error, .. } => {
                tracing::debug!(%peer, %error, "outgoing connection failed");
                if !self.swarm.is_connected(&peer) {
                    self.schedule_redial(peer);
                }
            }
            SwarmEvent::IncomingConnectionError { send_back_addr, error, .. } => {
                if let ListenError::Denied { cause } = &error {
                    Counters::bump(&self.counters.rejected_connections);
                    tracing::warn!(from = %send_back_addr, %cause, "incoming connection denied");
                } else {
                    tracing::debug!(from = %send_back_addr, %error, "incoming connection failed");
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Stream(())) => {}
            SwarmEvent::Behaviour(BehaviourEvent::Snapshot(e)) => self.handle_snapshot(e),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(e)) => self.handle_ping(e),
            SwarmEvent::Behaviour(BehaviourEvent::Allow(never)) => match never {},
            SwarmEvent::Behaviour(BehaviourEvent::Limits(never)) => match never {},
            _ => {}
        }
    }

    /// A ping answered: the peer's round-trip time. A ping failed: the
    /// connection is dead (or wedged), so it is closed; the peer is
    /// redialled like after any disconnection.
    fn handle_ping(&mut self, event: ping::Event) {
        let node = self.peers.get(&event.peer).map(|p| p.node);
        if let Err(e) = &event.result {
            tracing::warn!(peer = %event.peer, node = ?node, cause = %e, "ping failed; closing the connection");
            self.swarm.close_connection(event.connection);
        }
        if let Some(node) = node {
            self.record_round_trip(node, event.result.ok());
        }
    }

    /// The last round trip to `node`, or none (no live connection).
    fn record_round_trip(&self, node: NodeId, rtt: Option<Duration>) {
        let mut round_trips = self.counters.round_trips.lock().unwrap_or_else(PoisonError::into_inner);
        match rtt {
            Some(rtt) => round_trips.insert(node, rtt),
            None => round_trips.remove(&node),
        };
    }

    fn handle_snapshot(&mut self, event: RrEvent) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    self.handle_request(peer, request, channel);
                }
                request_response::Message::Response { request_id, response } => {
                    self.handle_response(request_id, response);
                }
            },
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                let Some(pending) = self.finish(request_id) else { return };
                let node = pending.node;
                let err = match &error {
                    OutboundFailure::Timeout => TransportError::Timeout(node),
                    other => TransportError::Unreachable { node, cause: other.to_string() },
                };
                tracing::debug!(%peer, node, %error, "snapshot chunk request failed");
                let _ = pending.reply.send(Err(err));
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound snapshot chunk request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn handle_request(&mut self, peer: PeerId, request: Vec<u8>, channel: ResponseChannel<Vec<u8>>) {
        // Authenticate before anything else: the Noise handshake proved
        // `peer`; only allow-listed peers map to a NodeId.
        let Some(from) = self.peers.get(&peer).map(|s| s.node) else {
            Counters::bump(&self.counters.rejected_requests);
            tracing::warn!(%peer, "request from a peer not on the allow-list; dropped");
            drop(channel);
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        };
        let timeout = self.request_timeout;
        let Some((snapshot_index, offset)) = codec::decode_snapshot_request(&request) else {
            let bytes = codec::encode_snapshot_response(Err("malformed snapshot request".to_owned()));
            let _ = self.swarm.behaviour_mut().snapshot.send_response(channel, bytes);
            return;
        };
        let (tx, rx) = oneshot::channel();
        if !self.deliver(Inbound::SnapshotChunk { from, snapshot_index, offset, reply: tx }) {
            let bytes = codec::encode_snapshot_response(Err("node is busy".to_owned()));
            let _ = self.swarm.behaviour_mut().snapshot.send_response(channel, bytes);
            return;
        }
        self.replies.push(Box::pin(async move {
            let answer = match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(Ok(chunk))) if chunk.data.len() > MAX_SNAPSHOT_CHUNK => {
                    Err(format!("chunk of {} bytes exceeds {MAX_SNAPSHOT_CHUNK}", chunk.data.len()))
                }
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => Err("the node dropped the request".to_owned()),
                Err(_) => Err("the node did not answer in time".to_owned()),
            };
            Reply { channel, bytes: codec::encode_snapshot_response(answer) }
        }));
    }

    /// Hands `inbound` to the node without waiting; false when it was dropped.
    fn deliver(&self, inbound: Inbound) -> bool {
        match self.inbound.try_send(inbound) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                Counters::bump(&self.counters.dropped_inbound);
                tracing::warn!(node = self.local_node, "inbound channel full; message dropped");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Counters::bump(&self.counters.dropped_inbound);
                tracing::debug!(node = self.local_node, "inbound channel closed; message dropped");
                false
            }
        }
    }

    fn send_reply(&mut self, reply: Reply) {
        if self.swarm.behaviour_mut().snapshot.send_response(reply.channel, reply.bytes).is_err() {
            tracing::debug!("peer gave up before the snapshot chunk was ready");
        }
    }

    fn handle_response(&mut self, id: OutboundRequestId, response: Vec<u8>) {
        let Some(pending) = self.finish(id) else { return };
        let node = pending.node;
        let result = match codec::decode_snapshot_response(&response) {
            Ok(Ok(chunk)) => Ok(chunk),
            Ok(Err(reason)) => Err(TransportError::Refused { node, reason }),
            Err(cause) => Err(TransportError::Unreachable { node, cause }),
        };
        let _ = pending.reply.send(result);
    }
}

/// An error and its sources, joined by ": ". libp2p's transport errors
/// print nothing themselves and keep the OS error (e.g. "address in use")
/// as their source.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && parts.last() != Some(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    if parts.is_empty() { format!("{error:?}") } else { parts.join(": ") }
}
