//! Operating a cluster of real `veritrace node start` processes: probes
//! that turn not-ready when a node loses its leader, a backup / restore
//! round trip that keeps the root, a member replacement, `cluster status`
//! and `audit` naming a bad member, and the API's edge (Watch, reflection,
//! rate and size limits, metrics) on a single node. Outcomes only; every
//! wait has a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Party, TestCluster, eventually, free_base_port, http_get, ok, veritrace};
use veritrace_client::Client;
use veritrace_proto::v1 as pb;

/// One cluster at a time on a 2-core machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Submits events `from..to` of party-1 through `client`, each applied.
async fn submit_events(cluster: &TestCluster, client: &Client, from: u64, to: u64) {
    let party = Party::of_node(cluster, 1);
    for nonce in from..to {
        let (env, _) = party.event(nonce);
        let receipts = client.submit(vec![env]).await.unwrap();
        assert_eq!(receipts[0].outcome, pb::Outcome::Applied as i32, "{:?}", receipts[0]);
    }
}

fn ready(ops: &str) -> bool {
    http_get(ops, "/readyz").is_some_and(|(c, _)| c == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loses_its_leader_turns_not_ready_and_back() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::running(3, 0).await;
    let (ops1, api1) = (cluster.ops(1).to_owned(), cluster.api(1).to_owned());
    eventually(60, "node 1 ready", || ready(&ops1)).await;
    assert_eq!(http_get(&ops1, "/livez").map(|r| r.0), Some(200));
    // grpc.health follows readiness within its 500 ms polling interval.
    eventually(10, "grpc.health.v1 SERVING", || code(&veritrace(&["health", "--endpoint", &api1])) == Some(0)).await;
    let out = ok(&["health", "--endpoint", &api1, "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["endpoint"].as_str(), v["status"].as_str()), (Some(api1.as_str()), Some("serving")), "{out}");

    cluster.kill(2);
    cluster.kill(3);
    eventually(30, "node 1's /readyz says 503 without a leader", || {
        http_get(&ops1, "/readyz").is_some_and(|(c, body)| c == 503 && body.contains("\"has_leader\":false"))
    })
    .await;
    // Not ready, but alive: restarting it would not help.
    assert_eq!(http_get(&ops1, "/livez").map(|r| r.0), Some(200));
    eventually(10, "grpc.health.v1 NOT_SERVING (exit 3)", || {
        code(&veritrace(&["health", "--endpoint", &api1])) == Some(3)
    })
    .await;

    cluster.start(2);
    eventually(60, "node 1 ready again once a quorum is back", || ready(&ops1)).await;
    eventually(10, "grpc.health.v1 SERVING again", || code(&veritrace(&["health", "--endpoint", &api1])) == Some(0))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_streamed_from_a_node_restores_to_the_same_root() {
    let _serial = SERIAL.lock().await;
    let cluster = TestCluster::running(3, 0).await;
    let client = cluster.client(1).await;
    submit_events(&cluster, &client, 1, 21).await;
    let size = cluster.converge(&[1, 2, 3], 20).await;
    let status = client.status().await.unwrap();
    let root = hex::encode(&status.root_hash);

    let dir = cluster.dir.path().to_path_buf();
    let file = dir.join("backup.snap");
    let out = ok(&[
        "snapshot",
        "save",
        "--endpoint",
        cluster.api(2),
        "--admin-token-file",
        &cluster.admin_token,
        "-o",
        "json",
        file.to_str().unwrap(),
    ]);
    let saved: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(saved["root_hash"], root.as_str(), "{out}");
    assert_eq!(saved["tree_size"], size);
    assert!(!dir.join("backup.partial").exists(), "the partial file is renamed into place");

    let restored = dir.join("restored");
    let out = ok(&["snapshot", "restore", "--data-dir", restored.to_str().unwrap(), file.to_str().unwrap()]);
    assert!(out.contains("verified"), "{out}");
    let head = ok(&["tree-head", "--data-dir", restored.to_str().unwrap()]);
    assert!(head.contains(&root), "restored root differs: {head} vs {root}");
    let audit = ok(&["audit", "--data-dir", restored.to_str().unwrap()]);
    assert!(audit.contains("audit: clean"), "{audit}");

    // A damaged backup is refused and leaves nothing behind.
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let bad = dir.join("bad.snap");
    std::fs::write(&bad, bytes).unwrap();
    let target = dir.join("restored-bad");
    let o = veritrace(&["snapshot", "restore", "--data-dir", target.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    assert!(!target.join("ledger").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voter_is_replaced_by_a_new_member() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::running(3, 1).await;
    let client = cluster.client(1).await;
    submit_events(&cluster, &client, 1, 11).await;
    cluster.start(4);
    let api1 = cluster.api(1).to_owned();
    let config4 = cluster.nodes[&4].config.to_str().unwrap().to_owned();
    // Membership follows governance: a node no decision names is refused,
    // and so is a member's PeerId under another node id.
    let stranger = cluster.dir.path().join("stranger");
    let keys = ["keys", "generate", "--out", stranger.to_str().unwrap(), "--party", "stranger", "--name", "S"];
    ok(&[
        &keys[..],
        &["--country", "FR", "--role", "retailer", "--api-advertise", "http://127.0.0.1:9"],
        &["--p2p-advertise", "/ip4/127.0.0.1/tcp/9"],
    ]
    .concat());
    let public: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stranger.join("public.json")).unwrap()).unwrap();
    let member_of = cluster.client(1).await.list_members().await.unwrap();
    let peer2 = member_of.iter().find(|m| m.node_id == 2).unwrap().peer_id.clone();
    for (peer, want) in [(public["peer_id"].as_str().unwrap(), "NOT_A_VALIDATOR"), (peer2.as_str(), "PEER_ID_IN_USE")] {
        let add = ["member", "add", "--learner", "--endpoint", &api1, "--admin-token-file", &cluster.admin_token];
        let o =
            veritrace(&[&add[..], &["--node-id", "9", "--peer-id", peer, "--addr", "/ip4/127.0.0.1/tcp/9"]].concat());
        assert_eq!(code(&o), Some(1), "{want}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
    }
    assert_eq!(cluster.client(1).await.list_members().await.unwrap().len(), 3, "no member was added");
    let out = ok(&[
        "member",
        "add",
        "--learner",
        "--endpoint",
        &api1,
        "--admin-token-file",
        &cluster.admin_token,
        "--config",
        &config4,
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["node_id"].as_u64(), v["kind"].as_str()), (Some(4), Some("learner")), "{out}");
    cluster.converge(&[1, 2, 3, 4], 10).await;
    ok(&["member", "promote", "--endpoint", &api1, "--admin-token-file", &cluster.admin_token, "4"]);

    // Node 3 fails for good (it may have been the leader: wait for the
    // election, as an operator would); the operator removes it.
    cluster.kill(3);
    cluster.leader(&[1, 2, 4]).await;
    // Membership follows governance: node 3 is party-3's listed validator
    // until a k-of-n decision (party-1 proposes, party-2 approves) de-lists it.
    let remove = ["member", "remove", "--endpoint", &api1, "--admin-token-file", &cluster.admin_token, "3"];
    let o = veritrace(&remove);
    assert_eq!(code(&o), Some(1), "removed a listed validator: {}", stderr(&o));
    assert!(stderr(&o).contains("STILL_A_VALIDATOR"), "{}", stderr(&o));
    let decision = [
        (
            "party-1",
            r#"{"proposeGovernance": {"proposalId": "delist-node3", "rationale": "node 3 failed for good",
            "action": {"changeValidators": {"assignments": [{"partyId": "party-3", "peerId": ""}]}}}}"#,
        ),
        ("party-2", r#"{"approveGovernance": {"proposalId": "delist-node3"}}"#),
    ];
    for (i, (party, json)) in decision.iter().enumerate() {
        let file = cluster.dir.path().join(format!("decision-{i}.json"));
        std::fs::write(&file, json).unwrap();
        let key = cluster.node_dir(i as u64 + 1).join("party.key");
        let (key, file) = (key.to_str().unwrap(), file.to_str().unwrap());
        ok(&["tx", "submit", "--endpoint", &api1, "--party", party, "--key", key, file]);
    }
    let out = ok(&[&remove[..], &["-o", "json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["node_id"], 3, "{out}");
    let client = cluster.client(1).await;
    submit_events(&cluster, &client, 11, 16).await;
    cluster.converge(&[1, 2, 4], 15).await;

    // The newcomer can lead, and take a snapshot.
    let out = ok(&[
        "leader",
        "transfer",
        "--endpoint",
        &api1,
        "--admin-token-file",
        &cluster.admin_token,
        "--to",
        "4",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["leader_id"], 4, "{out}");
    let out = ok(&[
        "snapshot",
        "create",
        "--endpoint",
        cluster.api(4),
        "--admin-token-file",
        &cluster.admin_token,
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["index"].as_u64().unwrap() > 0 && v["tree_size"].as_u64().unwrap() >= 15, "{out}");

    let out = ok(&["cluster", "status", "--endpoint", &api1, "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let members = v["members"].as_array().unwrap();
    let ids: Vec<u64> = members.iter().map(|m| m["node_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![1, 2, 4], "{out}");
    assert!(members.iter().all(|m| m["healthy"] == true), "{out}");
    assert!(members.iter().all(|m| m["kind"] == "voter"), "{out}");
    assert_eq!(members[2]["role"], "leader", "{out}");
    let out = ok(&["member", "list", "--endpoint", cluster.api(2), "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let apis: Vec<&str> =
        v["members"].as_array().unwrap().iter().map(|m| m["api_endpoint"].as_str().unwrap()).collect();
    assert_eq!(apis, vec![cluster.api(1), cluster.api(2), cluster.api(4)], "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_status_and_audit_name_the_bad_member() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::running(3, 0).await;
    let client = cluster.client(1).await;
    submit_events(&cluster, &client, 1, 11).await;
    cluster.converge(&[1, 2, 3], 10).await;
    let api1 = cluster.api(1).to_owned();

    let out = ok(&["cluster", "status", "--endpoint", &api1, "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let members = v["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(|m| m["healthy"] == true && m["root_hash"] == members[0]["root_hash"]), "{out}");
    assert_eq!(members.iter().filter(|m| m["role"] == "leader").count(), 1, "{out}");
    let table = ok(&["cluster", "status", "--endpoint", &api1]);
    assert!(table.contains("HEALTHY") && table.contains("LAG"), "{table}");
    let audit = ok(&["audit", "--endpoint", &api1, "--admin-token-file", &cluster.admin_token]);
    assert_eq!(audit.matches(" ok").count(), 3, "{audit}");
    // The admin plane answers nobody without the token (status above did
    // not need it); a wrong token is not the token.
    for extra in [&[][..], &["--admin-token-file", "/dev/null"][..]] {
        let o = veritrace(&[&["member", "remove", "--endpoint", &api1, "2"][..], extra].concat());
        assert_ne!(code(&o), Some(0), "removed a member without the admin token");
        assert!(stderr(&o).contains("ADMIN_TOKEN_REQUIRED") || stderr(&o).contains("fewer than 32"), "{}", stderr(&o));
    }
    let wrong = cluster.dir.path().join("wrong.token");
    std::fs::write(&wrong, "f".repeat(64)).unwrap();
    let o = veritrace(&[
        "leader",
        "transfer",
        "--endpoint",
        &api1,
        "--admin-token-file",
        wrong.to_str().unwrap(),
        "--to",
        "2",
    ]);
    assert!(stderr(&o).contains("ADMIN_TOKEN_INVALID"), "{}", stderr(&o));

    // Tamper with one envelope on node 3's disk while it is stopped.
    assert!(cluster.terminate(3), "node 3 stops cleanly on SIGTERM");
    {
        use veritrace_storage::{KvEngine as _, WriteBatch, WriteOptions};
        let db = cluster.node_dir(3).join("data").join("db");
        let cfs: Vec<&str> = veritrace_ledger::ALL_CFS.iter().chain(veritrace_consensus::RAFT_CFS).copied().collect();
        let engine = veritrace_store_rocksdb::RocksEngine::open(&db, &cfs).unwrap();
        let key = 3u64.to_be_bytes();
        let mut leaf = engine.get("leaves", &key).unwrap().expect("leaf 3");
        let at = leaf.len() - 20;
        leaf[at] ^= 1;
        let mut b = WriteBatch::new();
        b.put("leaves", key.to_vec(), leaf);
        engine.write(b, WriteOptions::SYNC).unwrap();
    }
    cluster.start(3);
    cluster.client(3).await;
    let o = veritrace(&["audit", "--endpoint", &api1, "--admin-token-file", &cluster.admin_token]);
    assert_eq!(code(&o), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("node 3 (CORRUPT at leaf 3"), "{}", stderr(&o));
    let o = veritrace(&["audit", "--endpoint", &api1, "--admin-token-file", &cluster.admin_token, "-o", "json"]);
    assert_eq!(code(&o), Some(3), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&String::from_utf8_lossy(&o.stdout)).unwrap();
    let members = v["members"].as_array().unwrap();
    let verdicts: Vec<(u64, &str)> =
        members.iter().map(|m| (m["node_id"].as_u64().unwrap(), m["verdict"].as_str().unwrap())).collect();
    assert_eq!(verdicts, [(1, "ok"), (2, "ok"), (3, "corrupt")], "{v}");
    assert_eq!(members[2]["first_bad_leaf"], 3, "{v}");
    assert_eq!(members[0]["first_bad_leaf"], serde_json::Value::Null, "{v}");
    assert_eq!(members[0]["root_at_common_size"].as_str().map(str::len), Some(64), "hex: {v}");

    // A member that is down makes `cluster status` exit 3 naming it.
    cluster.kill(2);
    let o = veritrace(&["cluster", "status", "--endpoint", &api1]);
    assert_eq!(code(&o), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("unhealthy member(s): 2"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_resumes_and_filters_for_parties_only() {
    let _serial = SERIAL.lock().await;
    let cluster = TestCluster::running(3, 0).await;
    let client = cluster.client(1).await;
    submit_events(&cluster, &client, 1, 6).await;
    let follower = cluster.client(2).await;
    cluster.converge(&[1, 2, 3], 5).await;

    // From leaf 0 on a follower: the five entries in order, then a tree head.
    let mut stream = follower.watch(pb::WatchRequest::default()).await.unwrap();
    let mut leaves = Vec::new();
    let head = loop {
        match stream.message().await.unwrap().unwrap().event.unwrap() {
            pb::watch_response::Event::Entry(e) => leaves.push(e.receipt.unwrap().leaf_index),
            pb::watch_response::Event::TreeHead(h) => break h,
        }
    };
    assert_eq!(leaves, vec![0, 1, 2, 3, 4]);
    assert_eq!(head.tree_size, 5);
    // New commits arrive on the open stream.
    submit_events(&cluster, &client, 6, 7).await;
    let next = stream.message().await.unwrap().unwrap();
    let Some(pb::watch_response::Event::Entry(e)) = next.event else { panic!("expected an entry: {next:?}") };
    assert_eq!(e.receipt.unwrap().leaf_index, 5);

    // Resuming at leaf 3 with a party filter that matches, and one that does not.
    let request = pb::WatchRequest { start_leaf_index: 3, party_ids: vec!["party-1".into()], ..Default::default() };
    let mut stream = follower.watch(request).await.unwrap();
    let first = stream.message().await.unwrap().unwrap();
    let Some(pb::watch_response::Event::Entry(e)) = first.event else { panic!("expected an entry: {first:?}") };
    assert_eq!(e.receipt.unwrap().leaf_index, 3);
    let request = pb::WatchRequest { party_ids: vec!["party-2".into()], ..Default::default() };
    let mut stream = follower.watch(request).await.unwrap();
    let only = stream.message().await.unwrap().unwrap();
    assert!(matches!(only.event, Some(pb::watch_response::Event::TreeHead(_))), "party-2 sent nothing: {only:?}");

    // Bad filters are refused with the field named.
    let err = follower
        .watch(pb::WatchRequest { actions: vec!["no_such_action".into()], ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(err.reason(), Some("INVALID_ARGUMENT"), "{err}");
    // The party plane: the CLI signs as --as-party; a stranger gets nothing.
    let o = veritrace(&["watch", "--endpoint", cluster.api(3), "--limit", "2"]);
    assert_eq!(code(&o), Some(1), "an anonymous watch: {}", stderr(&o));
    assert!(stderr(&o).contains("PARTY_AUTH_REQUIRED"), "{}", stderr(&o));
    let key = cluster.node_dir(1).join("party.key");
    let as_party = ["--as-party", "party-1", "--party-key", key.to_str().unwrap()];
    let out = ok(&[&["watch", "--endpoint", cluster.api(3), "--limit", "2", "-o", "json"][..], &as_party].concat());
    assert_eq!(out.lines().count(), 2, "one JSON object a line: {out}");
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["envelope_id"].as_str().is_some_and(|id| id.len() == 64 && hex::decode(id).is_ok()), "{line}");
        assert!(v["leaf_index"].is_u64() && v["party_id"].is_string(), "{line}");
    }

    // An anonymous client of a real node: no envelope read, no submission,
    // but tree heads and verification stay public.
    let anonymous = Client::connect(cluster.api(2)).await.unwrap();
    let (env, id) = Party::of_node(&cluster, 1).event(100);
    for err in [
        anonymous.submit(vec![env]).await.expect_err("an anonymous submission"),
        anonymous.get_envelope(id).await.expect_err("an anonymous read"),
    ] {
        assert_eq!((err.code(), err.reason()), (Some(tonic::Code::Unauthenticated), Some("PARTY_AUTH_REQUIRED")));
    }
    assert!(anonymous.tree_head().await.unwrap().tree_size >= 6);
    let verify = pb::VerifyItemRequest {
        item: Some(pb::verify_item_request::Item::ItemUri("urn:epc:id:sgtin:0614141.812345.X1".into())),
        code: "123456".into(),
        ..Default::default()
    };
    let answer = anonymous.verify_item(verify).await.expect("anyone verifies");
    assert_eq!(answer.verdict, pb::Verdict::UnknownItem as i32, "{answer:?}");

    // The load generator (veritrace-bench) has its own tests: crates/bench/tests.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_limits_rates_and_sizes_and_serves_reflection_and_metrics() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::init(1, 0, |c| {
        c.api.requests_per_second = 20;
        c.api.request_burst = 20;
        c.api.max_message_bytes = 64 * 1024;
    });
    cluster.start(1);
    cluster.leader(&[1]).await;
    let client = cluster.client(1).await;
    let ops = cluster.ops(1).to_owned();

    // Reflection: grpcurl can list the services without proto files.
    let channel = tonic::transport::Endpoint::from_shared(cluster.api(1).to_owned()).unwrap().connect().await.unwrap();
    let mut reflection = tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(channel);
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection.server_reflection_info(tokio_stream::iter(vec![request])).await.unwrap().into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else { panic!("{answer:?}") };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for wanted in ["veritrace.v1.LedgerService", "veritrace.v1.ClusterService", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == wanted), "{wanted} missing from {names:?}");
    }

    // A request above api.max_message_bytes: RESOURCE_EXHAUSTED, MESSAGE_TOO_LARGE.
    let party = Party::of_node(&cluster, 1);
    let (mut env, _) = party.event(1);
    env.payload.extend(std::iter::repeat_n(0u8, 100 * 1024));
    let err = client.submit(vec![env]).await.unwrap_err();
    assert_eq!(err.reason(), Some("MESSAGE_TOO_LARGE"), "{err}");
    assert_eq!(err.code(), Some(tonic::Code::ResourceExhausted), "{err}");

    // One verification of an item nobody commissioned, counted by verdict.
    let verify = pb::VerifyItemRequest {
        item: Some(pb::verify_item_request::Item::ItemUri("urn:epc:id:sgtin:0614141.812345.M1".into())),
        code: "123456".into(),
        ..Default::default()
    };
    assert_eq!(client.verify_item(verify).await.unwrap().verdict, pb::Verdict::UnknownItem as i32);

    // Metrics, in Prometheus naming.
    let (status, text) = http_get(&ops, "/metrics").unwrap();
    assert_eq!(status, 200);
    for family in [
        "veritrace_raft_has_leader 1",
        "veritrace_raft_leader_changes_total",
        "veritrace_raft_proposals_committed_total",
        "veritrace_raft_apply_duration_seconds_bucket",
        "veritrace_raft_log_fsync_duration_seconds_count",
        "veritrace_grpc_server_handled_total{",
        "veritrace_ledger_tree_size",
    ] {
        assert!(text.contains(family), "{family} missing from /metrics:\n{text}");
    }
    assert!(text.contains("code=\"RESOURCE_EXHAUSTED\""), "the refused request is counted:\n{text}");
    assert!(text.contains("veritrace_verifications_total{verdict=\"unknown_item\"} 1"), "{text}");
    // The process's own series, sampled from /proc at start.
    for series in ["process_resident_memory_bytes", "process_open_fds", "process_threads", "process_start_time_seconds"]
    {
        assert!(veritrace_metrics::sample(&text, series).is_some_and(|v| v > 0.0), "{series} in\n{text}");
    }
    assert!(text.contains("veritrace_verifications_total{verdict=\"genuine_first_scan\"} 0"), "{text}");
    // Every series the shipped alert rules and dashboard query exists
    // (round trips only with peers: a one-node cluster has none).
    for series in deploy_metric_names().into_iter().filter(|s| s != "veritrace_p2p_round_trip_seconds") {
        assert!(text.contains(&series), "{series} (in deploy/prometheus or deploy/grafana) missing from /metrics");
    }
    // The build: version and source revision, the same `--version` prints.
    let version = support::ok(&["--version"]);
    let revision = version.split("(revision ").nth(1).and_then(|r| r.split(')').next()).unwrap().to_owned();
    let build_info =
        format!("veritrace_build_info{{version=\"{}\",revision=\"{revision}\"}} 1", env!("CARGO_PKG_VERSION"));
    assert!(text.contains(&build_info), "{build_info} missing from /metrics:\n{text}");

    // More than the burst at once: some are refused with a retry delay.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let c = client.clone();
        calls.spawn(async move { c.genesis().await });
    }
    let mut limited = None;
    while let Some(done) = calls.join_next().await {
        if let Err(e) = done.unwrap() {
            limited = Some(e);
        }
    }
    let err = limited.expect("60 requests at once exceed a burst of 20");
    assert_eq!(err.reason(), Some("RATE_LIMITED"), "{err}");
    assert!(err.retry_delay().is_some_and(|d| d > std::time::Duration::ZERO), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veritrace_dev_runs_the_four_party_network_and_its_demo() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let base = free_base_port(4);
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["dev", "--data-dir", data.to_str().unwrap(), "--base-port", &base.to_string()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        ok(&refs)
    };
    let first = run(&["--exit-after-demo"]);
    for needle in [
        "created a 4-party network",
        // The demo's codes are checked by 3 of the 4 validators together.
        "the brand's code key, split 3-of-4 among the nodes",
        "GENUINE_FIRST_SCAN",
        "SUSPECTED_CLONE",
        "receipt verified offline",
        "BRAND_OWNER",
        "INSPECTION",
        "CUSTOMS",
        "PLATFORM",
        &format!("http://127.0.0.1:{}", base + 1),
        &format!("http://127.0.0.1:{}/metrics", base + 201),
    ] {
        assert!(first.contains(needle), "{needle:?} missing from the first run:\n{first}");
    }
    // Every node stopped cleanly: nothing listens any more.
    assert!(http_get(&format!("http://127.0.0.1:{}", base + 201), "/livez").is_none());

    let second = run(&["--exit-after-demo"]);
    assert!(second.contains("reusing the network"), "{second}");
    assert!(second.contains("GENUINE_FIRST_SCAN"), "a second journey runs on the same network:\n{second}");
    let fresh = run(&["--exit-after-demo", "--fresh", "--no-demo"]);
    assert!(fresh.contains("created a 4-party network"), "{fresh}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_at_the_edge_with_client_certificates_for_the_admin_service() {
    let _serial = SERIAL.lock().await;
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path().to_str().unwrap().to_owned();
    ok(&["cert", "create-ca", "--out", &dir]);
    ok(&["cert", "create-node", "--ca-dir", &dir, "--name", "node1", "--host", "127.0.0.1", "--host", "localhost"]);
    ok(&["cert", "create-client", "--ca-dir", &dir, "--name", "admin"]);
    let again = veritrace(&["cert", "create-ca", "--out", &dir]);
    assert_eq!(code(&again), Some(1), "an existing CA is never overwritten silently");
    let path = |f: &str| certs.path().join(f);
    let (ca, node_crt, node_key) = (path("ca.crt"), path("node1.crt"), path("node1.key"));
    let mut cluster = TestCluster::init(1, 0, move |c| {
        c.api.tls = Some(veritrace_node::TlsSection {
            cert_file: node_crt.clone(),
            key_file: node_key.clone(),
            client_ca_file: Some(ca.clone()),
            admin_requires_client_cert: true,
        });
    });
    cluster.start(1);
    let ops = cluster.ops(1).to_owned();
    eventually(60, "the TLS node is ready", || ready(&ops)).await;
    let https = cluster.api(1).replace("http://", "https://");
    let cacert = path("ca.crt");
    let cacert = cacert.to_str().unwrap();

    // The public services need only the CA.
    let out = ok(&["party", "list", "--endpoint", &https, "--cacert", cacert]);
    assert!(out.contains("party-1"), "{out}");
    // Status is readable with the CA alone; admin commands need a client
    // certificate signed by the CA, and the admin token.
    let out = ok(&["status", "--endpoint", &https, "--cacert", cacert]);
    assert!(out.contains("leader"), "{out}");
    let o = veritrace(&["snapshot", "create", "--endpoint", &https, "--cacert", cacert]);
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("CLIENT_CERT_REQUIRED"), "{}", stderr(&o));
    let (crt, key) = (path("admin.crt"), path("admin.key"));
    let (crt, key) = (crt.to_str().unwrap(), key.to_str().unwrap());
    let with_cert = ["--endpoint", &https, "--cacert", cacert, "--client-cert", crt, "--client-key", key];
    let o = veritrace(&[&["snapshot", "create"][..], &with_cert].concat());
    assert!(stderr(&o).contains("ADMIN_TOKEN_REQUIRED"), "{}", stderr(&o));
    // A node's own certificate, from the same CA, is no admin either.
    let (node_crt, node_key) = (path("node1.crt"), path("node1.key"));
    let as_node = ["--client-cert", node_crt.to_str().unwrap(), "--client-key", node_key.to_str().unwrap()];
    let o = veritrace(&[&["snapshot", "create", "--endpoint", &https, "--cacert", cacert][..], &as_node].concat());
    assert_eq!(code(&o), Some(1), "a node certificate took a snapshot: {}", stderr(&o));
    assert!(stderr(&o).contains("ADMIN_TOKEN_REQUIRED"), "{}", stderr(&o));
    let out = ok(&[&["snapshot", "create"][..], &with_cert, &["--admin-token-file", &cluster.admin_token]].concat());
    assert!(out.contains("snapshot"), "{out}");
    // Plaintext to a TLS node fails with a message, not a hang.
    let o = veritrace(&["party", "list", "--endpoint", cluster.api(1)]);
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
}

/// The `veritrace_*` series named by deploy/prometheus/alerts.yaml and the
/// Grafana dashboard, with histogram and counter suffixes as queried.
fn deploy_metric_names() -> std::collections::BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut names = std::collections::BTreeSet::new();
    for file in ["deploy/prometheus/alerts.yaml", "deploy/grafana/veritrace.json"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("veritrace_") {
            rest = &rest[at..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            names.insert(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    assert!(names.len() >= 10, "the deploy files name too few series: {names:?}");
    names
}
