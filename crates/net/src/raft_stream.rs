//! Raft messages over one long-lived stream per peer.
//!
//! Raft sends many small messages (appends, their acknowledgements,
//! heartbeats) and tolerates losing any of them. Sending each as its own
//! request-response exchange cost a new Yamux substream, a multistream-select
//! negotiation round trip and an empty acknowledgement per message, all
//! through the one task that owns the `Swarm`. Here every peer gets:
//!
//! * an **outbox**: a bounded queue and a writer task that keeps one
//!   outbound stream of [`RAFT_STREAM_PROTOCOL`] open and writes queued
//!   messages as length-prefixed frames, as many per flush as are waiting
//!   (so a burst costs one write). [`crate::NetworkHandle`]'s `send` puts a
//!   message in the outbox without passing through the event loop; a full
//!   outbox drops the message and counts it.
//! * a **reader** on the receiving side, spawned by the acceptor for each
//!   inbound stream of an allow-listed peer (one live stream per peer: a
//!   newer stream replaces an older one), that hands each frame to the node.
//!
//! A broken stream drops what was being written (Raft resends) and is
//! reopened for the next message, after a backoff when opening fails.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use libp2p::futures::{AsyncWriteExt, StreamExt};
use libp2p::{PeerId, Stream, StreamProtocol};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use veritrace_consensus::{Inbound, NodeId, TransportError};

use crate::Counters;
use crate::codec::read_frame;
use crate::forward_stream::ForwardJob;

/// Protocol of the long-lived Raft message stream.
pub(crate) const RAFT_STREAM_PROTOCOL: StreamProtocol = StreamProtocol::new("/veritrace/raft-stream/1");

/// Most bytes gathered into one write before it is flushed.
const MAX_WRITE_BATCH: usize = 1024 * 1024;

/// Longest pause before reopening a stream after opening failed.
const MAX_REOPEN_BACKOFF: Duration = Duration::from_secs(1);

/// One peer's outboxes: the queues its Raft writer task and its forward
/// caller task drain.
#[derive(Debug, Clone)]
pub(crate) struct PeerOutbox {
    pub(crate) raft: mpsc::Sender<Vec<u8>>,
    pub(crate) forward: mpsc::Sender<ForwardJob>,
}

/// The outboxes of all peers, by node id, shared by the handles (which
/// fill them) and the event loop (which creates and removes them as the
/// set of peers changes).
#[derive(Debug)]
pub(crate) struct Outboxes {
    /// `None` once the network has shut down.
    by_node: RwLock<Option<HashMap<NodeId, PeerOutbox>>>,
}

impl Default for Outboxes {
    fn default() -> Self {
        Self { by_node: RwLock::new(Some(HashMap::new())) }
    }
}

impl Outboxes {
    /// Queues the Raft `message` for `to`; fails when there is no outbox
    /// for `to` or it is full or closed (the caller counts the drop).
    pub(crate) fn send_raft(&self, to: NodeId, message: Vec<u8>) -> Result<(), &'static str> {
        let map = self.by_node.read().unwrap_or_else(PoisonError::into_inner);
        let outbox = map.as_ref().ok_or("network shut down")?.get(&to).ok_or("unknown node")?;
        outbox.raft.try_send(message).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => "outbox full",
            mpsc::error::TrySendError::Closed(_) => "outbox closed",
        })
    }

    /// Queues a forwarded request for `to`; its answer (or failure) arrives
    /// on `job.reply`.
    pub(crate) fn send_forward(&self, to: NodeId, job: ForwardJob) -> Result<(), TransportError> {
        let map = self.by_node.read().unwrap_or_else(PoisonError::into_inner);
        let outbox = map.as_ref().ok_or(TransportError::Shutdown)?.get(&to).ok_or(TransportError::UnknownNode(to))?;
        outbox.forward.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                TransportError::Unreachable { node: to, cause: "too many requests queued".to_owned() }
            }
            mpsc::error::TrySendError::Closed(_) => TransportError::Shutdown,
        })
    }

    /// Replaces every outbox.
    pub(crate) fn replace(&self, next: HashMap<NodeId, PeerOutbox>) {
        *self.by_node.write().unwrap_or_else(PoisonError::into_inner) = Some(next);
    }

    /// Drops every outbox (ending the tasks that drain them) for good:
    /// later sends fail with [`TransportError::Shutdown`].
    pub(crate) fn close(&self) {
        *self.by_node.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The peers whose inbound Raft streams are accepted, with the node id each
/// speaks for; kept by the event loop, read by the acceptor.
pub(crate) type AllowList = Arc<RwLock<HashMap<PeerId, NodeId>>>;

/// What a writer task needs besides its queue.
pub(crate) struct WriterConfig {
    pub(crate) peer: PeerId,
    pub(crate) node: NodeId,
    pub(crate) control: libp2p_stream::Control,
    pub(crate) counters: Arc<Counters>,
    pub(crate) timeout: Duration,
    pub(crate) backoff_min: Duration,
}

/// Writes what arrives on `queue` to `config.peer` until the queue closes.
pub(crate) async fn run_writer(mut config: WriterConfig, mut queue: mpsc::Receiver<Vec<u8>>) {
    let mut stream: Option<Stream> = None;
    let mut backoff = config.backoff_min;
    let mut reopen_at: Option<Instant> = None;
    let mut batch = Vec::new();
    while let Some(first) = queue.recv().await {
        batch.clear();
        push_frame(&mut batch, &first);
        let mut messages = 1u64;
        while batch.len() < MAX_WRITE_BATCH {
            match queue.try_recv() {
                Ok(next) => {
                    push_frame(&mut batch, &next);
                    messages += 1;
                }
                Err(_) => break,
            }
        }
        if stream.is_none() {
            if reopen_at.is_some_and(|t| Instant::now() < t) {
                drop_messages(&config, messages, "peer unreachable; waiting to reopen the stream");
                continue;
            }
            let opened =
                tokio::time::timeout(config.timeout, config.control.open_stream(config.peer, RAFT_STREAM_PROTOCOL))
                    .await;
            match opened {
                Ok(Ok(s)) => {
                    tracing::debug!(peer = %config.peer, node = config.node, "raft stream opened");
                    stream = Some(s);
                    backoff = config.backoff_min;
                    reopen_at = None;
                }
                Ok(Err(e)) => {
                    tracing::debug!(peer = %config.peer, error = %e, "opening the raft stream failed");
                    reopen_at = Some(Instant::now() + backoff);
                    backoff = backoff.saturating_mul(2).min(MAX_REOPEN_BACKOFF);
                    drop_messages(&config, messages, "opening the raft stream failed");
                    continue;
                }
                Err(_) => {
                    reopen_at = Some(Instant::now() + backoff);
                    backoff = backoff.saturating_mul(2).min(MAX_REOPEN_BACKOFF);
                    drop_messages(&config, messages, "opening the raft stream timed out");
                    continue;
                }
            }
        }
        let Some(s) = stream.as_mut() else { continue };
        let written = tokio::time::timeout(config.timeout, async {
            s.write_all(&batch).await?;
            s.flush().await
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            // The next message reopens the stream.
            stream = None;
            drop_messages(&config, messages, "writing to the raft stream failed");
        }
    }
    if let Some(mut s) = stream {
        let _ = s.close().await;
    }
}

fn push_frame(batch: &mut Vec<u8>, message: &[u8]) {
    // Handles refuse messages over max_message_bytes (<= u32::MAX) before
    // they are queued, so the length always fits.
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    batch.extend_from_slice(&len.to_be_bytes());
    batch.extend_from_slice(message);
}

fn drop_messages(config: &WriterConfig, messages: u64, why: &str) {
    config.counters.dropped_outbound.fetch_add(messages, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(peer = %config.peer, node = config.node, messages, why, "raft messages dropped");
}

/// The tasks serving one acceptor's streams, one per peer; dropping it
/// (when the acceptor ends or is aborted) stops them all.
#[derive(Default)]
struct Readers(HashMap<PeerId, AbortHandle>);

impl Readers {
    /// Records `task` as `peer`'s, stopping the task it replaces: one live
    /// stream per peer (a reconnecting peer's new stream replaces the old
    /// one), so tasks stay bounded by the allow-list.
    fn replace(&mut self, peer: PeerId, task: AbortHandle) {
        if let Some(old) = self.0.insert(peer, task) {
            old.abort();
        }
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        for (_, reader) in self.0.drain() {
            reader.abort();
        }
    }
}

/// Accepts inbound Raft streams, starting a reader for each stream of an
/// allow-listed peer. Runs until `incoming` ends or the task is aborted
/// (the event loop does so when it stops), which stops the readers too.
pub(crate) async fn run_acceptor(
    incoming: libp2p_stream::IncomingStreams,
    allow: AllowList,
    inbound: mpsc::Sender<Inbound>,
    counters: Arc<Counters>,
    max_message_bytes: usize,
) {
    accept_streams(incoming, allow, counters, "raft", |from, peer, stream| {
        tokio::spawn(read_stream(from, peer, stream, inbound.clone(), max_message_bytes))
    })
    .await;
}

/// Accepts inbound streams of one protocol until `incoming` ends or the
/// task is aborted: a stream of an allow-listed peer gets the task `serve`
/// starts (replacing that peer's previous one), any other is dropped and
/// counted. Ending or aborting stops the started tasks too.
pub(crate) async fn accept_streams(
    mut incoming: libp2p_stream::IncomingStreams,
    allow: AllowList,
    counters: Arc<Counters>,
    protocol: &'static str,
    mut serve: impl FnMut(NodeId, PeerId, Stream) -> tokio::task::JoinHandle<()>,
) {
    let mut tasks = Readers::default();
    while let Some((peer, stream)) = incoming.next().await {
        let from = allow.read().unwrap_or_else(PoisonError::into_inner).get(&peer).copied();
        let Some(from) = from else {
            Counters::bump(&counters.rejected_requests);
            tracing::warn!(%peer, protocol, "stream from a peer not on the allow-list; dropped");
            continue;
        };
        tasks.replace(peer, serve(from, peer, stream).abort_handle());
    }
}

/// Hands every frame of `stream` to the node as a Raft message from `from`.
/// Waits when the node's inbound queue is full, which slows the sender down
/// through the stream's flow control rather than dropping messages here.
async fn read_stream(from: NodeId, peer: PeerId, mut stream: Stream, inbound: mpsc::Sender<Inbound>, max: usize) {
    loop {
        match read_frame(&mut stream, max).await {
            Ok(message) => {
                if inbound.send(Inbound::Raft { from, message }).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(%peer, from, error = %e, "raft stream ended");
                return;
            }
        }
    }
}
