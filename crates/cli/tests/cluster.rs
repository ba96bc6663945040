//! Real `veritrace node start` processes on loopback: a 3-node cluster
//! survives SIGKILL of its leader mid-load without losing an acknowledged
//! event; a node stopped while 10,000 entries pass catches up through a
//! snapshot; a 4th node joins as learner and is promoted; a node with an
//! unknown key is refused. Outcomes only; every wait has a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Party, TestCluster, ok};
use veritrace_client::Client;
use veritrace_proto::v1 as pb;

/// The cluster tests run one at a time: each starts several nodes that
/// fsync, and a 2-core CI machine should not host four clusters at once.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Submits events `nonces` of `party`, one per request, through `apis`
/// (rotating on errors), recording each acknowledged envelope id.
async fn submit_all(apis: Vec<String>, party: Arc<Party>, nonces: Vec<u64>, acked: Arc<Mutex<Vec<[u8; 32]>>>) {
    let mut at = 0usize;
    let mut client: Option<Client> = None;
    for nonce in nonces {
        let (env, id) = party.event(nonce);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "event {nonce} was never acknowledged");
            if client.is_none() {
                let options = veritrace_client::ConnectOptions {
                    party: Some(veritrace_client::PartyCredential::new(party.id.clone(), party.key.clone())),
                    ..Default::default()
                };
                client = Client::connect_with(&apis[at % apis.len()], &options).await.ok();
            }
            let answer = match &client {
                Some(c) => c.submit(vec![env.clone()]).await.map_err(|e| e.to_string()),
                None => Err("unreachable".to_string()),
            };
            match answer {
                Ok(receipts) => {
                    let outcome = receipts[0].outcome;
                    assert!(
                        outcome == pb::Outcome::Applied as i32 || outcome == pb::Outcome::Duplicate as i32,
                        "event {nonce} refused: {:?}",
                        receipts[0]
                    );
                    acked.lock().unwrap().push(id);
                    break;
                }
                Err(_) => {
                    // Retry (envelopes are idempotent) at the next node.
                    client = None;
                    at += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Asserts that every id in `ids` is in node `node`'s ledger.
async fn assert_all_present(cluster: &TestCluster, node: u64, ids: &[[u8; 32]]) {
    let c = cluster.client(node).await;
    for id in ids {
        // Sequential lookups can outrun the node's per-IP rate limit:
        // wait as told (RetryInfo), like any well-behaved client.
        let mut attempts = 0;
        let entry = loop {
            match c.get_envelope(*id).await {
                Err(e) if attempts < 1000 && e.retry_delay().is_some() => {
                    attempts += 1;
                    tokio::time::sleep(e.retry_delay().unwrap_or_default()).await;
                }
                other => break other.unwrap(),
            }
        };
        assert!(entry.is_some(), "acknowledged envelope {} missing on node {node}", hex::encode(id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_sigkill_mid_load_loses_no_acknowledged_event() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::init(3, 0, |_| {});
    for id in 1..=3 {
        cluster.start(id);
    }
    let leader = cluster.leader(&[1, 2, 3]).await;
    let apis: Vec<String> = (1..=3).map(|id| cluster.api(id).to_string()).collect();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for w in 0..4u64 {
        let party = Arc::new(Party::of_node(&cluster, w % 3 + 1));
        let nonces: Vec<u64> = (0..75).map(|i| 1 + w * 1000 + i).collect();
        workers.push(tokio::spawn(submit_all(apis.clone(), party, nonces, acked.clone())));
    }
    // Kill the leader once some events are acknowledged, while load continues.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 60 {
        assert!(Instant::now() < deadline, "no progress before the kill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.kill(leader);
    for w in workers {
        w.await.unwrap();
    }
    let survivors: Vec<u64> = (1..=3).filter(|id| *id != leader).collect();
    let new_leader = cluster.leader(&survivors).await;
    assert_ne!(new_leader, leader);
    let acked: Vec<[u8; 32]> = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), 300);
    let size = cluster.converge(&survivors, 300).await;
    assert_eq!(size, 300, "each event is in the ledger exactly once");
    for id in &survivors {
        assert_all_present(&cluster, *id, &acked).await;
    }

    // The killed node restarts from its RocksDB and catches up.
    cluster.start(leader);
    cluster.converge(&[1, 2, 3], 300).await;
    assert_all_present(&cluster, leader, &acked).await;
    let s = cluster.client(leader).await.status().await.unwrap();
    assert_eq!(s.members.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_stopped_while_10000_entries_pass_catches_up_through_a_snapshot() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::init(3, 0, |c| {
        c.raft.snapshot_interval = 1000;
        c.raft.snapshot_keep_entries = 100;
    });
    for id in 1..=3 {
        cluster.start(id);
    }
    cluster.leader(&[1, 2, 3]).await;
    assert!(cluster.terminate(3), "SIGTERM stops a node cleanly (exit status 0)");
    let start_commit = cluster.client(1).await.status().await.unwrap().commit_index;

    // At least 10,000 Raft entries pass while node 3 is down.
    let apis: Vec<String> = (1..=2).map(|id| cluster.api(id).to_string()).collect();
    let party = Arc::new(Party::of_node(&cluster, 1));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut next = 1u64;
    loop {
        let commit = cluster.client(1).await.status().await.unwrap().commit_index;
        if commit >= start_commit + 10_000 {
            break;
        }
        let mut workers = Vec::new();
        for w in 0..2 {
            let nonces: Vec<u64> = (0..500).map(|i| next + w * 500 + i).collect();
            workers.push(tokio::spawn(submit_all(
                vec![apis[w as usize].clone()],
                party.clone(),
                nonces,
                acked.clone(),
            )));
        }
        next += 1000;
        for w in workers {
            w.await.unwrap();
        }
    }
    let leader = cluster.leader(&[1, 2]).await;
    // Snapshot files are written off the Raft loop: the last one may still
    // be in progress when the load stops.
    let client = cluster.client(leader).await;
    let mut leader_status = client.status().await.unwrap();
    for _ in 0..300 {
        if leader_status.snapshot_index >= 9_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        leader_status = client.status().await.unwrap();
    }
    assert!(leader_status.snapshot_index >= 9_000, "the leader compacted its log: {leader_status:?}");

    cluster.start(3);
    let acked: Vec<[u8; 32]> = acked.lock().unwrap().clone();
    cluster.converge(&[1, 2, 3], acked.len() as u64).await;
    let s3 = cluster.client(3).await.status().await.unwrap();
    // Node 3 could only reach this snapshot index by installing the
    // leader's snapshot: the entries before it were compacted away.
    assert!(s3.snapshot_index >= leader_status.snapshot_index, "node 3 installed a snapshot: {s3:?}");
    assert_all_present(&cluster, 3, &acked[acked.len() - 50..]).await;
    assert_all_present(&cluster, 3, &acked[..50]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fourth_node_joins_as_learner_and_is_promoted() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::init(3, 1, |c| c.raft.snapshot_interval = 50);
    for id in 1..=3 {
        cluster.start(id);
    }
    cluster.leader(&[1, 2, 3]).await;
    let party = Arc::new(Party::of_node(&cluster, 2));
    let acked = Arc::new(Mutex::new(Vec::new()));
    submit_all(vec![cluster.api(1).to_string()], party.clone(), (1..=80).collect(), acked.clone()).await;

    cluster.start(4);
    let s4 = cluster.client(4).await.status().await.unwrap();
    assert_eq!(s4.leader_id, 0, "a node that was not added has no leader: {s4:?}");
    let config4 = cluster.nodes[&4].config.to_str().unwrap().to_string();
    // Asked of a follower, forwarded to the leader.
    let out = ok(&[
        "member",
        "add",
        "--endpoint",
        cluster.api(2),
        "--admin-token-file",
        &cluster.admin_token,
        "--config",
        &config4,
    ]);
    assert!(out.contains("added node 4 as a learner"), "{out}");
    cluster.converge(&[1, 2, 3, 4], 80).await;
    let s4 = cluster.client(4).await.status().await.unwrap();
    assert_eq!(s4.role, pb::RaftRole::Learner as i32);

    let out = ok(&["member", "promote", "--endpoint", cluster.api(1), "--admin-token-file", &cluster.admin_token, "4"]);
    assert!(out.contains("promoted node 4"), "{out}");
    let json = ok(&["status", "--endpoint", cluster.api(4), "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("status -o json is JSON");
    let voters: BTreeSet<u64> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "voter")
        .map(|m| m["node_id"].as_u64().unwrap())
        .collect();
    assert_eq!(voters, [1, 2, 3, 4].into(), "{json}");

    // The new voter takes writes (forwarded) and everyone agrees.
    submit_all(vec![cluster.api(4).to_string()], party, (81..=100).collect(), acked.clone()).await;
    cluster.converge(&[1, 2, 3, 4], 100).await;
    let ids = acked.lock().unwrap().clone();
    assert_all_present(&cluster, 4, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_with_an_unknown_key_is_refused() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::init(3, 0, |_| {});
    // Node 3's slot is taken by an impostor: same config, new key.
    let dir3 = cluster.node_dir(3);
    std::fs::remove_file(dir3.join("node.key")).unwrap();
    veritrace_node::write_seed_file(&dir3.join("node.key"), &veritrace_node::generate_seed()).unwrap();
    for id in 1..=3 {
        cluster.start(id);
    }
    let leader = cluster.leader(&[1, 2]).await;
    let party = Arc::new(Party::of_node(&cluster, 1));
    let acked = Arc::new(Mutex::new(Vec::new()));
    submit_all(vec![cluster.api(leader).to_string()], party, (1..=20).collect(), acked).await;
    cluster.converge(&[1, 2], 20).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let impostor = cluster.client(3).await.status().await.unwrap();
    assert_eq!(impostor.tree_size, 0, "the impostor received nothing: {impostor:?}");
    assert_eq!(impostor.leader_id, 0, "the impostor never learned a leader: {impostor:?}");
    let s1 = cluster.client(1).await.status().await.unwrap();
    let three = s1.members.iter().find(|m| m.node_id == 3).unwrap();
    assert!(!three.reachable, "no Raft message from the impostor reached node 1: {three:?}");
}

/// Plaintext gRPC off loopback is refused before anything starts, naming
/// the way out; `--insecure` is that way (the node then starts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_off_loopback_needs_insecure() {
    let cluster = TestCluster::init(1, 0, |_| {});
    let config = cluster.nodes[&1].config.to_str().unwrap().to_owned();
    let port = support::free_base_port(1) + 1;
    let open = format!("192.0.2.1:{port}");
    let o = support::veritrace(&["node", "start", "--config", &config, "--api-listen", &open]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("api.listen") && stderr.contains("--insecure"), "{stderr}");
    let shown = ok(&["config", "show", "--config", &config, "--api-listen", &open, "--insecure"]);
    assert!(shown.contains("insecure = true"), "{shown}");
}
