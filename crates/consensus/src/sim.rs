//! A simulated network for deterministic in-process tests.
//!
//! [`SimNetwork`] connects any number of nodes in one process. Each node
//! gets a [`SimTransport`] implementing [`Transport`]. Faults are set on the
//! network at any time: drop a fraction of messages, duplicate them, delay
//! them by a random amount (which also reorders them), partition the nodes
//! into groups, or isolate one node. Randomness comes from a seeded
//! generator, and delays use tokio's clock, so a test under
//! `tokio::time::pause` replays exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::transport::{Inbound, NodeId, SnapshotChunk, Transport, TransportError};

/// Fault settings of a [`SimNetwork`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Probability (0..=1) that a Raft message is lost.
    pub drop_rate: f64,
    /// Probability (0..=1) that a Raft message is delivered twice.
    pub duplicate_rate: f64,
    /// Upper bound of a uniformly random delivery delay (reorders messages).
    pub max_delay: Duration,
    /// Groups that cannot reach each other; empty means fully connected.
    /// A node in no group is reachable only from nodes in no group.
    pub partitions: Vec<BTreeSet<NodeId>>,
}

#[derive(Debug)]
struct State {
    nodes: BTreeMap<NodeId, mpsc::Sender<Inbound>>,
    faults: Faults,
    rng: u64,
    delivered: u64,
    dropped: u64,
    max_message_bytes: usize,
}

impl State {
    fn next_f64(&mut self) -> f64 {
        // xorshift64*: deterministic for a given seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn group_of(&self, node: NodeId) -> Option<usize> {
        self.faults.partitions.iter().position(|g| g.contains(&node))
    }

    fn connected(&self, a: NodeId, b: NodeId) -> bool {
        self.faults.partitions.is_empty() || self.group_of(a) == self.group_of(b)
    }
}

/// An in-process network of nodes with injectable faults.
#[derive(Debug, Clone)]
pub struct SimNetwork {
    state: Arc<Mutex<State>>,
}

impl SimNetwork {
    /// A fault-free network whose random choices follow `seed`.
    pub fn new(seed: u64) -> Self {
        let state = State {
            nodes: BTreeMap::new(),
            faults: Faults::default(),
            rng: seed | 1,
            delivered: 0,
            dropped: 0,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        };
        SimNetwork { state: Arc::new(Mutex::new(state)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Attaches node `id`, whose inbound messages go to `inbound`, and
    /// returns its transport. Re-attaching replaces the old channel (a
    /// restarted node).
    pub fn attach(&self, id: NodeId, inbound: mpsc::Sender<Inbound>) -> SimTransport {
        self.lock().nodes.insert(id, inbound);
        SimTransport { me: id, net: self.clone() }
    }

    /// Detaches node `id` (a crashed node): messages to it are lost.
    pub fn detach(&self, id: NodeId) {
        self.lock().nodes.remove(&id);
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Cuts `node` off from every other node.
    pub fn isolate(&self, node: NodeId) {
        let mut s = self.lock();
        let others: BTreeSet<NodeId> = s.nodes.keys().copied().filter(|n| *n != node).collect();
        s.faults.partitions = vec![BTreeSet::from([node]), others];
    }

    /// Sets the longest message the network carries (default
    /// [`DEFAULT_MAX_MESSAGE_BYTES`], the real network's default frame):
    /// longer Raft messages are lost, longer forwards refused.
    pub fn set_max_message_bytes(&self, limit: usize) {
        self.lock().max_message_bytes = limit;
    }

    /// Removes every partition.
    pub fn heal(&self) {
        self.lock().faults.partitions.clear();
    }

    /// (delivered, dropped) Raft message counts so far.
    pub fn counters(&self) -> (u64, u64) {
        let s = self.lock();
        (s.delivered, s.dropped)
    }
}

/// One node's view of a [`SimNetwork`].
#[derive(Debug, Clone)]
pub struct SimTransport {
    me: NodeId,
    net: SimNetwork,
}

/// The frame limit of a new [`SimNetwork`]: the real network's default.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// How long simulated requests wait for an answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

impl SimTransport {
    fn route(&self, to: NodeId) -> Result<mpsc::Sender<Inbound>, TransportError> {
        let s = self.net.lock();
        let target = s.nodes.get(&to).cloned().ok_or(TransportError::UnknownNode(to))?;
        if !s.connected(self.me, to) {
            return Err(TransportError::Unreachable { node: to, cause: "partitioned".into() });
        }
        Ok(target)
    }

    async fn request<T>(
        &self,
        to: NodeId,
        make: impl FnOnce(oneshot::Sender<T>) -> Inbound,
    ) -> Result<T, TransportError> {
        let target = self.route(to)?;
        let (tx, rx) = oneshot::channel();
        target
            .try_send(make(tx))
            .map_err(|e| TransportError::Unreachable { node: to, cause: format!("inbound queue: {e}") })?;
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(TransportError::Refused { node: to, reason: "request dropped".into() }),
            Err(_) => Err(TransportError::Timeout(to)),
        }
    }
}

impl Transport for SimTransport {
    fn send(&self, to: NodeId, message: Vec<u8>) {
        let (target, copies, delay) = {
            let mut s = self.net.lock();
            let target = match s.nodes.get(&to) {
                Some(t) if s.connected(self.me, to) && message.len() <= s.max_message_bytes => t.clone(),
                _ => {
                    s.dropped += 1;
                    return;
                }
            };
            if s.next_f64() < s.faults.drop_rate {
                s.dropped += 1;
                return;
            }
            let copies = if s.next_f64() < s.faults.duplicate_rate { 2 } else { 1 };
            let max = s.faults.max_delay.as_micros() as f64;
            let delay = Duration::from_micros((s.next_f64() * max) as u64);
            s.delivered += copies;
            (target, copies, delay)
        };
        for _ in 0..copies {
            let msg = Inbound::Raft { from: self.me, message: message.clone() };
            if delay.is_zero() {
                // Full queue: dropped, as a real transport would.
                let _ = target.try_send(msg);
            } else {
                let target = target.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = target.try_send(msg);
                });
            }
        }
    }

    fn max_message_bytes(&self) -> usize {
        self.net.lock().max_message_bytes
    }

    async fn forward(&self, to: NodeId, request: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let limit = self.max_message_bytes();
        if request.len() > limit {
            let reason = format!("request of {} bytes exceeds max_message_bytes {limit}", request.len());
            return Err(TransportError::Refused { node: to, reason });
        }
        let from = self.me;
        self.request(to, |reply| Inbound::Forward { from, request, reply }).await
    }

    async fn fetch_snapshot_chunk(
        &self,
        from_node: NodeId,
        snapshot_index: u64,
        offset: u64,
    ) -> Result<SnapshotChunk, TransportError> {
        let me = self.me;
        let answer =
            self.request(from_node, |reply| Inbound::SnapshotChunk { from: me, snapshot_index, offset, reply }).await?;
        answer.map_err(|reason| TransportError::Refused { node: from_node, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn recv_raft(rx: &mut mpsc::Receiver<Inbound>) -> Option<(NodeId, Vec<u8>)> {
        match tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
            Ok(Some(Inbound::Raft { from, message })) => Some((from, message)),
            _ => None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn delivers_partitions_and_heals() {
        let net = SimNetwork::new(7);
        let (tx1, mut rx1) = mpsc::channel(16);
        let (tx2, mut rx2) = mpsc::channel(16);
        let t1 = net.attach(1, tx1);
        let t2 = net.attach(2, tx2);
        t1.send(2, b"hello".to_vec());
        assert_eq!(recv_raft(&mut rx2).await, Some((1, b"hello".to_vec())));
        net.isolate(2);
        t1.send(2, b"lost".to_vec());
        t2.send(1, b"lost".to_vec());
        assert_eq!(recv_raft(&mut rx2).await, None);
        assert_eq!(recv_raft(&mut rx1).await, None);
        assert!(matches!(t1.forward(2, vec![]).await, Err(TransportError::Unreachable { .. })));
        net.heal();
        t2.send(1, b"back".to_vec());
        assert_eq!(recv_raft(&mut rx1).await, Some((2, b"back".to_vec())));
        assert!(matches!(t1.forward(9, vec![]).await, Err(TransportError::UnknownNode(9))));
    }

    #[tokio::test(start_paused = true)]
    async fn drop_and_duplicate_rates_apply() {
        let net = SimNetwork::new(42);
        let (tx, mut rx) = mpsc::channel(4096);
        let (tx0, _rx0) = mpsc::channel(1);
        let t0 = net.attach(0, tx0);
        net.attach(1, tx);
        net.set_faults(Faults { drop_rate: 0.5, duplicate_rate: 0.5, ..Faults::default() });
        for i in 0..1000u32 {
            t0.send(1, i.to_be_bytes().to_vec());
        }
        let mut got = 0;
        while recv_raft(&mut rx).await.is_some() {
            got += 1;
        }
        // About 500 survive, about half of those twice: ~750. Loose bounds.
        assert!((600..=900).contains(&got), "got {got}");
    }

    #[tokio::test(start_paused = true)]
    async fn forward_is_answered_and_dropped_replies_fail() {
        let net = SimNetwork::new(1);
        let (tx, mut rx) = mpsc::channel(16);
        let (tx0, _rx0) = mpsc::channel(1);
        let t0 = net.attach(0, tx0);
        net.attach(1, tx);
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                if let Inbound::Forward { request, reply, .. } = msg {
                    if request == b"drop" {
                        drop(reply);
                    } else {
                        let _ = reply.send([b"re:".as_slice(), &request].concat());
                    }
                }
            }
        });
        assert_eq!(t0.forward(1, b"x".to_vec()).await, Ok(b"re:x".to_vec()));
        assert!(matches!(t0.forward(1, b"drop".to_vec()).await, Err(TransportError::Refused { .. })));
    }
}
