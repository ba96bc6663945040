//! Forwarded requests and their answers, multiplexed over one long-lived
//! stream per peer.
//!
//! A follower forwards every client proposal it receives to the leader and
//! relays the answer; at load that is thousands of exchanges a second.
//! Each one used to open its own Yamux substream and negotiate the protocol
//! before the request could go out. Here the caller keeps one stream of
//! [`FORWARD_STREAM_PROTOCOL`] per peer and tags each request with an id;
//! the callee answers on the same stream, in any order, with the same id.
//!
//! Frames are length-prefixed (like every frame of this crate) and start
//! with the 8-byte big-endian request id; an answer's remaining bytes are
//! [`codec::encode_forward_response`]'s encoding.
//!
//! When a stream breaks, every request waiting on it fails with
//! [`TransportError::Unreachable`] and the next request opens a new one.
//! A batch the broken stream refused outright (an error before a byte was
//! written) cannot have reached the peer: its requests whose callers still
//! wait are sent once more on a new stream instead of failing, so a
//! connection that died while idle costs no request. A batch written in
//! part, or blocked until the deadline, is never resent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use libp2p::futures::io::{ReadHalf, WriteHalf};
use libp2p::futures::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{PeerId, Stream, StreamProtocol};
use tokio::sync::{mpsc, oneshot};
use veritrace_consensus::{Inbound, NodeId, TransportError};

use crate::Counters;
use crate::codec::{self, read_frame};
use crate::raft_stream::{AllowList, accept_streams};

/// Protocol of the long-lived forwarding stream.
pub(crate) const FORWARD_STREAM_PROTOCOL: StreamProtocol = StreamProtocol::new("/veritrace/forward-stream/1");

/// Most bytes gathered into one write before it is flushed.
const MAX_WRITE_BATCH: usize = 1024 * 1024;

/// Where a forwarded request's answer goes.
pub(crate) type AnswerTx = oneshot::Sender<Result<Vec<u8>, TransportError>>;

/// A request waiting in a peer's forward outbox.
pub(crate) struct ForwardJob {
    pub(crate) request: Vec<u8>,
    pub(crate) reply: AnswerTx,
}

/// Requests sent on one stream and not yet answered, by id. Each stream has
/// its own map, so a broken stream fails exactly the requests sent on it.
/// `None` once the stream has failed: nothing may wait on it any more.
type InFlight = Arc<Mutex<Option<HashMap<u64, AnswerTx>>>>;

fn lock(in_flight: &InFlight) -> std::sync::MutexGuard<'_, Option<HashMap<u64, AnswerTx>>> {
    in_flight.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Fails every request waiting on the stream and marks it failed, under
/// one lock, so no request can be added after the last answer was read.
fn fail_all(in_flight: &InFlight, node: NodeId, cause: &str) {
    let waiting = lock(in_flight).take().unwrap_or_default();
    for (_, reply) in waiting {
        let _ = reply.send(Err(TransportError::Unreachable { node, cause: cause.to_owned() }));
    }
}

/// What a caller task needs besides its queue.
pub(crate) struct CallerConfig {
    pub(crate) peer: PeerId,
    pub(crate) node: NodeId,
    pub(crate) control: libp2p_stream::Control,
    pub(crate) timeout: Duration,
    pub(crate) max_message_bytes: usize,
    pub(crate) max_in_flight: usize,
}

struct Link {
    writer: WriteHalf<Stream>,
    in_flight: InFlight,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Sends the requests queued on `queue` to `config.peer` and routes the
/// answers back, until the queue closes.
pub(crate) async fn run_caller(mut config: CallerConfig, mut queue: mpsc::Receiver<ForwardJob>) {
    let mut link: Option<Link> = None;
    let mut next_id: u64 = 0;
    let mut batch = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < 1024 {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if link.as_ref().is_some_and(|l| l.reader.is_finished()) {
            link = None; // the reader saw the stream end and failed its requests
        }
        if link.is_none() {
            match open(&mut config).await {
                Ok(l) => link = Some(l),
                Err(cause) => {
                    for job in jobs {
                        let _ = job
                            .reply
                            .send(Err(TransportError::Unreachable { node: config.node, cause: cause.clone() }));
                    }
                    continue;
                }
            }
        }
        let Some(l) = link.as_mut() else { continue };
        batch.clear();
        let mut ids = Vec::with_capacity(jobs.len());
        {
            let mut guard = lock(&l.in_flight);
            let Some(in_flight) = guard.as_mut() else {
                // The stream failed since the check above; the next batch
                // opens a new one.
                drop(guard);
                for job in jobs {
                    let cause = "the forward stream ended".to_owned();
                    let _ = job.reply.send(Err(TransportError::Unreachable { node: config.node, cause }));
                }
                link = None;
                continue;
            };
            if in_flight.len() + jobs.len() > config.max_in_flight {
                // Requests whose caller gave up (timed out) still hold a slot.
                in_flight.retain(|_, reply| !reply.is_closed());
            }
            for job in jobs {
                if in_flight.len() >= config.max_in_flight {
                    let cause = format!("{} requests already in flight", config.max_in_flight);
                    let _ = job.reply.send(Err(TransportError::Unreachable { node: config.node, cause }));
                    continue;
                }
                next_id = next_id.wrapping_add(1);
                let start = batch.len();
                push_frame(&mut batch, next_id, &job.request);
                in_flight.insert(next_id, job.reply);
                ids.push((next_id, start..batch.len()));
            }
        }
        if batch.is_empty() {
            continue;
        }
        match write_batch(&mut l.writer, &batch, config.timeout).await {
            Written::All => {}
            Written::Refused => {
                // Not a byte of this batch left: the stream was dead before
                // this write (its reader may not have seen it yet). Its
                // requests were never delivered, so a new stream may carry
                // them without any risk of delivering one twice.
                let moved = take_waiting(&l.in_flight, &ids, &batch);
                fail_all(&l.in_flight, config.node, "the forward stream ended");
                link = resend(&mut config, moved).await;
            }
            Written::Part | Written::TimedOut => {
                fail_all(&l.in_flight, config.node, "writing to the forward stream failed");
                link = None;
            }
        }
    }
    if let Some(l) = link.as_ref() {
        fail_all(&l.in_flight, config.node, "the network is shutting down");
    }
}

async fn open(config: &mut CallerConfig) -> Result<Link, String> {
    let opened =
        tokio::time::timeout(config.timeout, config.control.open_stream(config.peer, FORWARD_STREAM_PROTOCOL)).await;
    let stream = match opened {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(format!("opening the forward stream failed: {e}")),
        Err(_) => return Err("opening the forward stream timed out".to_owned()),
    };
    let (reader, writer) = stream.split();
    let in_flight: InFlight = Arc::new(Mutex::new(Some(HashMap::new())));
    // An answer carries the id, a tag, and at most max_message_bytes.
    let max = config.max_message_bytes.saturating_add(9);
    let reader = tokio::spawn(read_answers(config.node, reader, in_flight.clone(), max));
    Ok(Link { writer, in_flight, reader })
}

/// How much of a batch a write handed to the stream.
enum Written {
    /// All of it, flushed.
    All,
    /// Not a byte: the stream refused the first write with an error, so
    /// the peer cannot have received any of it.
    Refused,
    /// Not a byte by the deadline (the stream stayed blocked). Not resent:
    /// the callers were told of a timeout by then.
    TimedOut,
    /// Some of it: the peer may have received a part.
    Part,
}

async fn write_batch<W: AsyncWrite + Unpin>(writer: &mut W, batch: &[u8], timeout: Duration) -> Written {
    let mut sent = 0usize;
    let result = tokio::time::timeout(timeout, async {
        while sent < batch.len() {
            match writer.write(&batch[sent..]).await? {
                0 => return Err(std::io::ErrorKind::WriteZero.into()),
                n => sent += n,
            }
        }
        writer.flush().await
    })
    .await;
    match result {
        Ok(Ok(())) => Written::All,
        Ok(Err(_)) if sent == 0 => Written::Refused,
        Err(_) if sent == 0 => Written::TimedOut,
        _ => Written::Part,
    }
}

/// A request moved to a new stream: its id, its frame, where its answer goes.
type Moved = (u64, Vec<u8>, AnswerTx);

/// Takes the requests `ids` (with their frames' ranges in `batch`) out of
/// a stream's waiting requests: those its reader has not failed already
/// and whose caller still waits.
fn take_waiting(in_flight: &InFlight, ids: &[(u64, std::ops::Range<usize>)], batch: &[u8]) -> Vec<Moved> {
    let mut guard = lock(in_flight);
    let Some(map) = guard.as_mut() else { return Vec::new() };
    ids.iter()
        .filter_map(|(id, range)| {
            let reply = map.remove(id).filter(|reply| !reply.is_closed())?;
            Some((*id, batch.get(range.clone())?.to_vec(), reply))
        })
        .collect()
}

/// Opens a new stream and sends the `moved` requests on it once. Requests
/// it cannot deliver fail; returns the new stream if it is usable.
async fn resend(config: &mut CallerConfig, moved: Vec<Moved>) -> Option<Link> {
    if moved.is_empty() {
        return None;
    }
    let node = config.node;
    let fail = |moved: Vec<Moved>, cause: &str| {
        for (_, _, reply) in moved {
            let _ = reply.send(Err(TransportError::Unreachable { node, cause: cause.to_owned() }));
        }
    };
    let mut link = match open(config).await {
        Ok(link) => link,
        Err(cause) => {
            fail(moved, &cause);
            return None;
        }
    };
    // Callers that gave up while the stream opened are not sent for.
    let moved: Vec<Moved> = moved.into_iter().filter(|(_, _, reply)| !reply.is_closed()).collect();
    tracing::debug!(node, requests = moved.len(), "forward stream was dead; resending on a new one");
    let mut batch = Vec::new();
    {
        let mut guard = lock(&link.in_flight);
        let Some(map) = guard.as_mut() else {
            drop(guard);
            fail(moved, "the forward stream ended");
            return None;
        };
        for (id, frame, reply) in moved {
            batch.extend_from_slice(&frame);
            map.insert(id, reply);
        }
    }
    if batch.is_empty() {
        return Some(link);
    }
    match write_batch(&mut link.writer, &batch, config.timeout).await {
        Written::All => Some(link),
        Written::Refused | Written::TimedOut | Written::Part => {
            fail_all(&link.in_flight, node, "writing to the forward stream failed");
            None
        }
    }
}

async fn read_answers(node: NodeId, mut reader: ReadHalf<Stream>, in_flight: InFlight, max: usize) {
    loop {
        let frame = match read_frame(&mut reader, max).await {
            Ok(frame) => frame,
            Err(e) => {
                tracing::debug!(node, error = %e, "forward stream ended");
                fail_all(&in_flight, node, &format!("forward stream ended: {e}"));
                return;
            }
        };
        let Some((id, body)) = split_id(&frame) else {
            fail_all(&in_flight, node, "malformed forward answer");
            return;
        };
        let Some(reply) = lock(&in_flight).as_mut().and_then(|m| m.remove(&id)) else { continue };
        let result = match codec::decode_forward_response(body) {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(reason)) => Err(TransportError::Refused { node, reason }),
            Err(cause) => Err(TransportError::Unreachable { node, cause }),
        };
        let _ = reply.send(result);
    }
}

fn push_frame(batch: &mut Vec<u8>, id: u64, body: &[u8]) {
    // Bodies are capped by max_message_bytes (<= u32::MAX - 9) upstream.
    let len = u32::try_from(body.len() + 8).unwrap_or(u32::MAX);
    batch.extend_from_slice(&len.to_be_bytes());
    batch.extend_from_slice(&id.to_be_bytes());
    batch.extend_from_slice(body);
}

fn split_id(frame: &[u8]) -> Option<(u64, &[u8])> {
    let (id, body) = frame.split_at_checked(8)?;
    Some((u64::from_be_bytes(id.try_into().ok()?), body))
}

/// What the callee side needs to serve forwarded requests.
#[derive(Clone)]
pub(crate) struct CalleeConfig {
    pub(crate) inbound: mpsc::Sender<Inbound>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) timeout: Duration,
    pub(crate) max_message_bytes: usize,
    /// Most requests of one stream handed to the node and not yet answered;
    /// beyond it the stream is not read (the peer's writes back up).
    pub(crate) max_in_flight: usize,
}

/// Accepts inbound forward streams from allow-listed peers and serves each.
/// Runs until `incoming` ends or the task is aborted, which stops the
/// streams' tasks too.
pub(crate) async fn run_acceptor(incoming: libp2p_stream::IncomingStreams, allow: AllowList, config: CalleeConfig) {
    let counters = Arc::clone(&config.counters);
    accept_streams(incoming, allow, counters, "forward", |from, _, stream| {
        tokio::spawn(serve(from, stream, config.clone()))
    })
    .await;
}

/// Reads requests from one stream, hands each to the node, and writes the
/// answers back as they come.
async fn serve(from: NodeId, stream: Stream, config: CalleeConfig) {
    let (mut reader, mut writer) = stream.split();
    let (answers_tx, mut answers_rx) = mpsc::channel::<(u64, Vec<u8>)>(1024);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(config.max_in_flight.max(1)));
    let config_timeout = config.timeout;
    let write_answers = async move {
        let mut batch = Vec::new();
        while let Some((id, bytes)) = answers_rx.recv().await {
            batch.clear();
            push_frame(&mut batch, id, &bytes);
            while batch.len() < MAX_WRITE_BATCH {
                match answers_rx.try_recv() {
                    Ok((id, bytes)) => push_frame(&mut batch, id, &bytes),
                    Err(_) => break,
                }
            }
            // A peer that sends but never reads must not hold this task
            // (and, through the answer queue, every request's) forever.
            let written = tokio::time::timeout(config_timeout, async {
                writer.write_all(&batch).await?;
                writer.flush().await
            })
            .await;
            if !matches!(written, Ok(Ok(()))) {
                return;
            }
        }
    };
    let read_requests = async move {
        // A request carries its id and at most max_message_bytes.
        let max = config.max_message_bytes.saturating_add(8);
        loop {
            let frame = match read_frame(&mut reader, max).await {
                Ok(frame) => frame,
                Err(e) => {
                    tracing::debug!(from, error = %e, "inbound forward stream ended");
                    return;
                }
            };
            let Some((id, request)) = split_id(&frame) else {
                tracing::warn!(from, "malformed forward request; closing the stream");
                return;
            };
            // Bounded work per stream: wait for a slot before taking on more.
            let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else { return };
            let (tx, rx) = oneshot::channel();
            let delivered = config.inbound.try_send(Inbound::Forward { from, request: request.to_vec(), reply: tx });
            let answers = answers_tx.clone();
            if delivered.is_err() {
                Counters::bump(&config.counters.dropped_inbound);
                let busy = codec::encode_forward_response(Err("node is busy".to_owned()));
                if answers.send((id, busy)).await.is_err() {
                    return;
                }
                continue;
            }
            let (timeout, max_answer) = (config.timeout, config.max_message_bytes);
            tokio::spawn(async move {
                let answer = match tokio::time::timeout(timeout, rx).await {
                    Ok(Ok(answer)) if answer.len() > max_answer => {
                        Err(format!("answer of {} bytes exceeds the message limit", answer.len()))
                    }
                    Ok(Ok(answer)) => Ok(answer),
                    Ok(Err(_)) => Err("the node dropped the request".to_owned()),
                    Err(_) => Err("the node did not answer in time".to_owned()),
                };
                let _ = answers.send((id, codec::encode_forward_response(answer))).await;
                drop(permit);
            });
        }
    };
    // Either half ending ends the stream; the caller fails what it waits for.
    tokio::select! {
        () = write_answers => {}
        () = read_requests => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `accept` bytes, then fails every write.
    struct BreaksAfter {
        accept: usize,
    }

    impl AsyncWrite for BreaksAfter {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            let n = buf.len().min(self.accept);
            self.accept -= n;
            std::task::Poll::Ready(if n == 0 { Err(std::io::ErrorKind::BrokenPipe.into()) } else { Ok(n) })
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// Never accepts a byte nor fails: a stream blocked by flow control.
    struct Blocked;

    impl AsyncWrite for Blocked {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Pending
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Pending
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Pending
        }
    }

    /// Only a batch the stream refused before a byte was written may be
    /// resent; not one blocked until the deadline, nor one written in part.
    #[tokio::test]
    async fn a_write_is_classed_by_what_left() {
        let batch = [7u8; 100];
        let t = Duration::from_secs(5);
        assert!(matches!(write_batch(&mut BreaksAfter { accept: 0 }, &batch, t).await, Written::Refused));
        let blocked = write_batch(&mut Blocked, &batch, Duration::from_millis(20)).await;
        assert!(matches!(blocked, Written::TimedOut));
        assert!(matches!(write_batch(&mut BreaksAfter { accept: 1 }, &batch, t).await, Written::Part));
        assert!(matches!(write_batch(&mut BreaksAfter { accept: 99 }, &batch, t).await, Written::Part));
        assert!(matches!(write_batch(&mut BreaksAfter { accept: 100 }, &batch, t).await, Written::All));
    }

    /// A dead stream's requests move with their own frames, except those
    /// whose caller gave up or that the reader failed already.
    #[test]
    fn only_requests_whose_callers_wait_are_moved() {
        let in_flight: InFlight = Arc::new(Mutex::new(Some(HashMap::new())));
        let (mut batch, mut ids, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for id in 1..=3u64 {
            let (tx, rx) = oneshot::channel();
            let start = batch.len();
            push_frame(&mut batch, id, format!("req{id}").as_bytes());
            ids.push((id, start..batch.len()));
            lock(&in_flight).as_mut().expect("open").insert(id, tx);
            waiting.push(rx);
        }
        drop(waiting.remove(1)); // the caller of request 2 gave up
        let moved = take_waiting(&in_flight, &ids, &batch);
        let got: Vec<(u64, Vec<u8>)> =
            moved.iter().map(|(id, frame, _)| (*id, split_id(&frame[4..]).expect("frame").1.to_vec())).collect();
        assert_eq!(got, vec![(1, b"req1".to_vec()), (3, b"req3".to_vec())]);
        assert!(lock(&in_flight).as_ref().expect("open").is_empty(), "moved requests leave the old stream");
        fail_all(&in_flight, 9, "gone");
        assert!(take_waiting(&in_flight, &ids, &batch).is_empty(), "a failed stream has nothing to move");
    }

    #[test]
    fn frames_carry_the_id() {
        let mut batch = Vec::new();
        push_frame(&mut batch, 7, b"abc");
        assert_eq!(&batch[..4], &11u32.to_be_bytes());
        assert_eq!(split_id(&batch[4..]), Some((7, &b"abc"[..])));
        assert_eq!(split_id(&[1, 2, 3]), None);
    }
}
