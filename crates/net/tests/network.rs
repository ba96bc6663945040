//! End-to-end tests over real libp2p TCP connections on 127.0.0.1.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use veritrace_net::{
    Inbound, Keypair, Multiaddr, NetConfig, Network, NetworkHandle, NodeId, PeerEntry, PeerId, SnapshotChunk,
    Transport, TransportError,
};

const WAIT: Duration = Duration::from_secs(20);

struct Node {
    id: NodeId,
    key: Keypair,
    handle: NetworkHandle,
    join: JoinHandle<()>,
    rx: mpsc::Receiver<Inbound>,
    addr: Multiaddr,
}

impl Node {
    fn entry(&self) -> PeerEntry {
        PeerEntry { node: self.id, peer_id: self.handle.local_peer_id(), addrs: vec![self.addr.clone()] }
    }
}

fn any_port() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

fn peer_id(key: &Keypair) -> PeerId {
    key.public().to_peer_id()
}

async fn start(id: NodeId, key: Keypair, listen: Multiaddr, peers: Vec<PeerEntry>) -> Node {
    let mut config = NetConfig::new(listen, key.clone(), id, peers);
    config.request_timeout = Duration::from_secs(3);
    config.dial_backoff_max = Duration::from_secs(1);
    let (tx, rx) = mpsc::channel(64);
    let (handle, join) = Network::start(config, tx).unwrap();
    let addr = timeout(WAIT, handle.wait_listen_addr()).await.unwrap().unwrap();
    Node { id, key, handle, join, rx, addr }
}

/// Starts `n` nodes that all know each other (ids 1..=n).
async fn cluster(n: u64) -> Vec<Node> {
    // Every allow-list is complete from the start (addresses follow once
    // the ports are known), so no early dial is refused.
    let keys: Vec<(NodeId, Keypair)> = (1..=n).map(|id| (id, Keypair::generate_ed25519())).collect();
    let ids: Vec<PeerEntry> =
        keys.iter().map(|(id, key)| PeerEntry { node: *id, peer_id: peer_id(key), addrs: Vec::new() }).collect();
    let mut nodes = Vec::new();
    for (id, key) in keys {
        nodes.push(start(id, key, any_port(), ids.clone()).await);
    }
    let entries: Vec<PeerEntry> = nodes.iter().map(Node::entry).collect();
    for node in &nodes {
        node.handle.set_peers(entries.clone()).await.unwrap();
    }
    // Settle: every node hears every other before the test starts, so the
    // first request does not race the initial (possibly simultaneous) dials;
    // a request during that race may fail with a retryable error.
    for i in 0..nodes.len() {
        for j in 0..nodes.len() {
            if i != j {
                let (from_id, from) = (nodes[i].id, nodes[i].handle.clone());
                let to = &mut nodes[j];
                let got = send_until_received(&from, to.id, b"hello", &mut to.rx).await;
                assert_eq!(got.0, from_id);
            }
        }
    }
    nodes
}

/// Sends `message` from `from` to `to` every 200 ms until `rx` yields a
/// Raft message with that payload; returns its sender and payload.
async fn send_until_received(
    from: &NetworkHandle,
    to: NodeId,
    message: &[u8],
    rx: &mut mpsc::Receiver<Inbound>,
) -> (NodeId, Vec<u8>) {
    timeout(WAIT, async {
        loop {
            from.send(to, message.to_vec());
            match timeout(Duration::from_millis(200), rx.recv()).await {
                // Earlier sends of the same loop (or of the settling phase)
                // may still arrive; wait for this payload.
                Ok(Some(Inbound::Raft { from, message: got })) if got == message => return (from, got),
                Ok(Some(Inbound::Raft { .. })) => continue,
                Ok(Some(other)) => panic!("unexpected inbound {other:?}"),
                Ok(None) => panic!("inbound channel closed"),
                Err(_) => continue,
            }
        }
    })
    .await
    .expect("raft message was never delivered")
}

async fn stop(node: Node) {
    node.handle.shutdown();
    timeout(WAIT, node.join).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn raft_messages_carry_the_authenticated_sender() {
    let mut nodes = cluster(3).await;
    let (a, rest) = nodes.split_at_mut(1);
    let (b, c) = rest.split_at_mut(1);
    let (a, b, c) = (&mut a[0], &mut b[0], &mut c[0]);

    assert_eq!(send_until_received(&a.handle, 2, b"a->b", &mut b.rx).await, (1, b"a->b".to_vec()));
    assert_eq!(send_until_received(&a.handle, 3, b"a->c", &mut c.rx).await, (1, b"a->c".to_vec()));
    assert_eq!(send_until_received(&c.handle, 1, b"c->a", &mut a.rx).await, (3, b"c->a".to_vec()));
    assert_eq!(send_until_received(&b.handle, 3, b"b->c", &mut c.rx).await, (2, b"b->c".to_vec()));

    for node in nodes {
        stop(node).await;
    }
}

/// A peer named by a DNS address (`/dns4/localhost/tcp/PORT`, as in a
/// container network or a Kubernetes StatefulSet) is resolved and reached.
#[tokio::test(flavor = "multi_thread")]
async fn a_peer_named_by_dns_is_reached() {
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let bare = |id, key: &Keypair| PeerEntry { node: id, peer_id: peer_id(key), addrs: Vec::new() };
    let a = start(1, ka.clone(), any_port(), vec![bare(2, &kb)]).await;
    let mut b = start(2, kb.clone(), any_port(), vec![bare(1, &ka)]).await;
    let port = b.addr.iter().find_map(|p| match p {
        veritrace_net::Protocol::Tcp(port) => Some(port),
        _ => None,
    });
    let named: Multiaddr = format!("/dns4/localhost/tcp/{}", port.unwrap()).parse().unwrap();
    a.handle.set_peers(vec![PeerEntry { node: 2, peer_id: peer_id(&kb), addrs: vec![named] }]).await.unwrap();
    assert_eq!(send_until_received(&a.handle, 2, b"by name", &mut b.rx).await, (1, b"by name".to_vec()));
    // The live connection is pinged: a round trip to node 2 is measured.
    timeout(WAIT, async {
        while !a.handle.round_trips().contains_key(&2) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("a ping round trip to the peer");
    stop(a).await;
    stop(b).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_raft_messages_arrives_complete_and_in_order() {
    let mut nodes = cluster(2).await;
    let mut b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    // Once the stream is up, a burst below the outbox bound is neither
    // dropped nor reordered: one stream per peer carries them back to back.
    assert_eq!(send_until_received(&a.handle, 2, b"warm", &mut b.rx).await, (1, b"warm".to_vec()));
    let dropped_before = a.handle.stats().dropped_outbound;
    let burst: Vec<Vec<u8>> = (0u32..200).map(|i| i.to_be_bytes().to_vec()).collect();
    for message in &burst {
        a.handle.send(2, message.clone());
    }
    let mut got = Vec::new();
    timeout(WAIT, async {
        while got.len() < burst.len() {
            match b.rx.recv().await {
                Some(Inbound::Raft { from: 1, message }) if message != b"warm" => got.push(message),
                Some(Inbound::Raft { .. }) => {}
                other => panic!("unexpected inbound {other:?}"),
            }
        }
    })
    .await
    .expect("the burst did not arrive in time");
    assert_eq!(got, burst);
    assert_eq!(a.handle.stats().dropped_outbound, dropped_before);
    stop(a).await;
    stop(b).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_is_answered_by_the_receiving_node() {
    let mut nodes = cluster(2).await;
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    let Node { rx: mut b_rx, .. } = b;
    let responder = tokio::spawn(async move {
        while let Some(inbound) = b_rx.recv().await {
            if let Inbound::Forward { from, request, reply } = inbound {
                let mut answer = format!("from {from}: ").into_bytes();
                answer.extend(request);
                let _ = reply.send(answer);
            }
        }
    });
    let answer = timeout(WAIT, a.handle.forward(2, b"propose".to_vec())).await.unwrap().unwrap();
    assert_eq!(answer, b"from 1: propose".to_vec());
    stop(a).await;
    b.handle.shutdown();
    timeout(WAIT, b.join).await.unwrap().unwrap();
    responder.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_forwards_each_get_their_own_answer_even_out_of_order() {
    let mut nodes = cluster(2).await;
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    let Node { rx: mut b_rx, .. } = b;
    // Fewer than the inbound channel holds (64), so none is refused as busy.
    const N: usize = 50;
    // B holds every request until all N arrived, then answers them in
    // reverse order: the answers share one stream and must be matched to
    // their requests by id.
    let responder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(inbound) = b_rx.recv().await {
            if let Inbound::Forward { request, reply, .. } = inbound {
                held.push((request, reply));
                if held.len() == N {
                    for (request, reply) in held.drain(..).rev() {
                        let mut answer = b"re:".to_vec();
                        answer.extend(request);
                        let _ = reply.send(answer);
                    }
                }
            }
        }
    });
    let calls = (0..N).map(|i| {
        let handle = a.handle.clone();
        tokio::spawn(async move { (i, handle.forward(2, format!("req {i}").into_bytes()).await) })
    });
    for call in calls.collect::<Vec<_>>() {
        let (i, answer) = timeout(WAIT, call).await.unwrap().unwrap();
        assert_eq!(answer, Ok(format!("re:req {i}").into_bytes()));
    }
    stop(a).await;
    b.handle.shutdown();
    timeout(WAIT, b.join).await.unwrap().unwrap();
    responder.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_reply_fails_the_request_instead_of_hanging() {
    let mut nodes = cluster(2).await;
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    let Node { rx: mut b_rx, .. } = b;
    let responder = tokio::spawn(async move {
        while let Some(inbound) = b_rx.recv().await {
            drop(inbound); // drops the reply oneshot of forwards and chunk requests
        }
    });
    let forward = timeout(WAIT, a.handle.forward(2, b"x".to_vec())).await.unwrap();
    assert!(matches!(forward, Err(TransportError::Refused { node: 2, .. })), "{forward:?}");
    let chunk = timeout(WAIT, a.handle.fetch_snapshot_chunk(2, 7, 0)).await.unwrap();
    assert!(matches!(chunk, Err(TransportError::Refused { node: 2, .. })), "{chunk:?}");
    stop(a).await;
    b.handle.shutdown();
    timeout(WAIT, b.join).await.unwrap().unwrap();
    responder.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_chunks_are_fetched_and_refusals_reported() {
    let mut nodes = cluster(2).await;
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    let Node { rx: mut b_rx, .. } = b;
    let snapshot: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let served = snapshot.clone();
    let responder = tokio::spawn(async move {
        while let Some(inbound) = b_rx.recv().await {
            if let Inbound::SnapshotChunk { from, snapshot_index, offset, reply } = inbound {
                assert_eq!(from, 1);
                if snapshot_index != 5 {
                    let _ = reply.send(Err(format!("no snapshot at {snapshot_index}")));
                    continue;
                }
                let start = usize::try_from(offset).unwrap().min(served.len());
                let end = (start + 1024).min(served.len());
                let _ = reply.send(Ok(SnapshotChunk {
                    offset,
                    data: served[start..end].to_vec(),
                    last: end == served.len(),
                }));
            }
        }
    });
    let mut fetched = Vec::new();
    loop {
        let chunk = timeout(WAIT, a.handle.fetch_snapshot_chunk(2, 5, fetched.len() as u64)).await.unwrap().unwrap();
        assert_eq!(chunk.offset, fetched.len() as u64);
        fetched.extend(chunk.data);
        if chunk.last {
            break;
        }
    }
    assert_eq!(fetched, snapshot);
    let refused = timeout(WAIT, a.handle.fetch_snapshot_chunk(2, 6, 0)).await.unwrap();
    assert_eq!(refused, Err(TransportError::Refused { node: 2, reason: "no snapshot at 6".into() }));
    stop(a).await;
    b.handle.shutdown();
    timeout(WAIT, b.join).await.unwrap().unwrap();
    responder.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_to_unknown_nodes_fail_fast() {
    let nodes = cluster(2).await;
    let a = &nodes[0];
    let forward = timeout(WAIT, a.handle.forward(99, b"x".to_vec())).await.unwrap();
    assert_eq!(forward, Err(TransportError::UnknownNode(99)));
    let chunk = timeout(WAIT, a.handle.fetch_snapshot_chunk(99, 1, 0)).await.unwrap();
    assert_eq!(chunk, Err(TransportError::UnknownNode(99)));
    a.handle.send(99, b"x".to_vec()); // dropped and counted, no panic
    timeout(WAIT, async {
        while a.handle.stats().dropped_outbound == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    for node in nodes {
        stop(node).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_off_the_allow_list_delivers_nothing() {
    let mut nodes = cluster(2).await;
    let mut b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    // The intruder knows B and dials it, but B does not list it.
    let intruder_key = Keypair::generate_ed25519();
    let intruder = start(3, intruder_key.clone(), any_port(), vec![b.entry()]).await;
    assert!(!b.handle.listen_addrs().is_empty());
    assert_ne!(peer_id(&intruder_key), b.handle.local_peer_id());

    for _ in 0..10 {
        intruder.handle.send(2, b"let me in".to_vec());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let forward = timeout(WAIT, intruder.handle.forward(2, b"propose".to_vec())).await.unwrap();
    assert!(forward.is_err(), "{forward:?}");
    assert!(
        timeout(Duration::from_secs(2), b.rx.recv()).await.is_err(),
        "B must not deliver anything from a peer off its allow-list"
    );
    timeout(WAIT, async {
        while b.handle.stats().rejected_connections == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();

    // Legitimate traffic still flows.
    assert_eq!(send_until_received(&a.handle, 2, b"hello", &mut b.rx).await, (1, b"hello".to_vec()));

    // Once B admits the intruder (a membership change), it is heard.
    let mut entries = vec![a.entry(), b.entry()];
    entries.push(PeerEntry { node: 3, peer_id: intruder.handle.local_peer_id(), addrs: vec![intruder.addr.clone()] });
    b.handle.set_peers(entries).await.unwrap();
    assert_eq!(send_until_received(&intruder.handle, 2, b"admitted", &mut b.rx).await, (3, b"admitted".to_vec()));

    stop(intruder).await;
    stop(a).await;
    stop(b).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_flow_again_after_the_receiver_restarts() {
    let mut nodes = cluster(2).await;
    let mut b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    assert_eq!(send_until_received(&a.handle, 2, b"before", &mut b.rx).await, (1, b"before".to_vec()));

    let (b_key, b_addr) = (b.key.clone(), b.addr.clone());
    stop(b).await;
    // While B is down, sends are dropped or fail; nothing panics or blocks.
    for _ in 0..5 {
        a.handle.send(2, b"lost".to_vec());
    }
    let down = timeout(WAIT, a.handle.forward(2, b"x".to_vec())).await.unwrap();
    assert!(down.is_err(), "{down:?}");

    let mut b = start(2, b_key, b_addr.clone(), vec![a.entry()]).await;
    assert_eq!(b.addr, b_addr);
    assert_eq!(send_until_received(&a.handle, 2, b"after", &mut b.rx).await, (1, b"after".to_vec()));

    stop(a).await;
    stop(b).await;
}

/// Answers every forward `to` receives with `tag` and the request.
fn answer_forwards(mut rx: mpsc::Receiver<Inbound>, tag: &'static str) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(inbound) = rx.recv().await {
            if let Inbound::Forward { request, reply, .. } = inbound {
                let mut answer = tag.as_bytes().to_vec();
                answer.extend(request);
                let _ = reply.send(answer);
            }
        }
    })
}

/// The forward stream a request used dies with its peer; the next request
/// goes out on a new stream, once the peer is back, and is answered.
#[tokio::test(flavor = "multi_thread")]
async fn a_forward_after_the_peer_restarted_uses_a_new_stream() {
    let mut nodes = cluster(2).await;
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    let (b_key, b_addr) = (b.key.clone(), b.addr.clone());
    let Node { rx, handle, join, .. } = b;
    let responder = answer_forwards(rx, "first ");
    let answer = timeout(WAIT, a.handle.forward(2, b"one".to_vec())).await.unwrap().unwrap();
    assert_eq!(answer, b"first one".to_vec());
    handle.shutdown();
    timeout(WAIT, join).await.unwrap().unwrap();
    responder.abort();

    let mut b = start(2, b_key, b_addr, vec![a.entry()]).await;
    // Let the nodes find each other again before forwarding.
    assert_eq!(send_until_received(&a.handle, 2, b"back", &mut b.rx).await, (1, b"back".to_vec()));
    let Node { rx, handle, join, .. } = b;
    let responder = answer_forwards(rx, "second ");
    let answer = timeout(WAIT, a.handle.forward(2, b"two".to_vec())).await.unwrap();
    assert_eq!(answer.unwrap(), b"second two".to_vec());
    stop(a).await;
    handle.shutdown();
    timeout(WAIT, join).await.unwrap().unwrap();
    responder.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_stops_the_loop_and_fails_requests() {
    let mut nodes = cluster(2).await;
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    let handle = a.handle.clone();
    stop(a).await;
    let result = timeout(WAIT, handle.forward(2, b"x".to_vec())).await.unwrap();
    assert_eq!(result, Err(TransportError::Shutdown));
    handle.send(2, b"x".to_vec()); // no panic after shutdown
    // Dropping every handle also stops the loop.
    let Node { handle, join, .. } = b;
    drop(handle);
    timeout(WAIT, join).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_config_is_rejected() {
    let mut config = NetConfig::new(any_port(), Keypair::generate_ed25519(), 1, Vec::new());
    config.queue_depth = 0;
    let (tx, _rx) = mpsc::channel(1);
    assert!(Network::start(config, tx).is_err());
    // Frames carry a u32 length: a message limit whose forward frame
    // (id + tag + message) would overflow it is refused.
    let mut config = NetConfig::new(any_port(), Keypair::generate_ed25519(), 1, Vec::new());
    config.max_message_bytes = veritrace_net::MAX_MESSAGE_BYTES + 1;
    let (tx, _rx) = mpsc::channel(1);
    let err = Network::start(config, tx).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("max_message_bytes"), "{err}");
}

/// A port that is taken gives an error naming the OS's reason, not an
/// empty one (libp2p's transport error prints nothing by itself).
#[tokio::test]
async fn a_taken_listen_port_is_named_in_the_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let listen: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
    let config = NetConfig::new(listen, Keypair::generate_ed25519(), 1, Vec::new());
    let (tx, _rx) = mpsc::channel(1);
    let Err(error) = Network::start(config, tx) else { panic!("a taken port was accepted") };
    let error = error.to_string();
    assert!(error.contains(&format!("tcp/{port} failed: ")), "{error}");
    assert!(error.to_lowercase().contains("in use"), "{error}");
}

/// Strangers that open TCP connections and never finish the handshake
/// cannot pile them up: beyond the pending-handshake bound the node closes
/// them at once (the allow-list can only judge a connection once the
/// handshake names its peer), and validators still talk.
#[tokio::test(flavor = "multi_thread")]
async fn stalled_handshakes_beyond_the_bound_are_closed_and_peers_still_talk() {
    let mut nodes = cluster(2).await;
    let port = nodes[0]
        .addr
        .iter()
        .find_map(|p| match p {
            veritrace_net::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .unwrap();
    let mut stalled = Vec::new();
    for _ in 0..100 {
        stalled.push(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    // A closed connection reads EOF (or a reset) at once; a held one blocks.
    let mut closed = 0;
    for s in &stalled {
        let mut buf = [0u8; 256];
        loop {
            match timeout(Duration::from_millis(200), s.readable()).await {
                Err(_) => break, // held open
                Ok(Err(_)) => {
                    closed += 1;
                    break;
                }
                Ok(Ok(())) => match s.try_read(&mut buf) {
                    Ok(0) => {
                        closed += 1;
                        break;
                    }
                    Ok(_) => continue, // the node's side of the handshake
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(_) => {
                        closed += 1;
                        break;
                    }
                },
            }
        }
    }
    assert!(closed >= 100 - 32, "only {closed} of 100 stalled connections were closed");
    let (a, b) = nodes.split_at_mut(1);
    let (a, b) = (&mut a[0], &mut b[0]);
    assert_eq!(send_until_received(&b.handle, 1, b"b->a", &mut a.rx).await, (2, b"b->a".to_vec()));
    assert_eq!(send_until_received(&a.handle, 2, b"a->b", &mut b.rx).await, (1, b"a->b".to_vec()));
    drop(stalled);
    for node in nodes {
        stop(node).await;
    }
}
