//! `veritrace-bench` (the real binary) against a real 3-node cluster run
//! in this process through `veritrace_node::run`: RocksDB, libp2p and gRPC
//! over loopback TCP, as `veritrace node start` runs them.

use std::net::TcpListener as StdListener;
use std::process::{Command, Output};
use std::time::Duration;

use tokio::sync::oneshot;
use veritrace_node::{InitOptions, Listeners, NodeConfig, generate_local_cluster};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veritrace-bench")).args(args).output().expect("run veritrace-bench")
}

fn ok(args: &[&str]) -> String {
    let o = bench(args);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "veritrace-bench {args:?} failed: {}\n{out}", String::from_utf8_lossy(&o.stderr));
    out
}

fn last_line(out: &str) -> &str {
    out.lines().last().unwrap_or_default()
}

/// A base port whose gRPC (base + k), peer (base + 100 + k) and ops
/// (base + 200 + k) ports are free for 3 nodes.
fn free_base_port() -> u16 {
    let seed = u64::from(std::process::id());
    for attempt in 0..200u64 {
        // Below Linux's ephemeral range (32768-), so no outgoing connection takes one meanwhile.
        let base = 20_000 + ((seed.wrapping_mul(7919) + attempt * 211) % 120) as u16 * 100;
        let mut ports = (1..=3).flat_map(|k| [base + k, base + 100 + k, base + 200 + k]);
        if ports.all(|p| StdListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no free port range");
}

/// The nodes of a local cluster, each running `veritrace_node::run` on a
/// task of this runtime until dropped.
struct Nodes {
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Nodes {
    async fn start(dir: &std::path::Path) -> Nodes {
        let mut opts = InitOptions::new(3, dir);
        opts.base_port = free_base_port();
        let layout = generate_local_cluster(&opts).expect("init");
        let (mut stops, mut tasks) = (Vec::new(), Vec::new());
        for n in &layout.nodes {
            let mut config = NodeConfig::load(&n.config_path).expect("load config");
            // Every bench client is 127.0.0.1: no per-IP limit (as scripts/bench/cluster.sh).
            config.api.requests_per_second = 0;
            let (stop, stopped) = oneshot::channel::<()>();
            let shutdown = async move {
                let _ = stopped.await;
            };
            tasks.push(tokio::spawn(async move {
                veritrace_node::run(config, Listeners::FromConfig, shutdown).await.expect("node runs");
            }));
            stops.push(stop);
        }
        Nodes { stops, tasks }
    }

    async fn stop(self) {
        for stop in self.stops {
            let _ = stop.send(());
        }
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(30), task).await.expect("node stops").expect("node task");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_runs_and_ends_with_its_result_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cluster");
    let nodes = Nodes::start(&dir).await;
    let file = veritrace_node::ClusterFile::load(&dir).expect("cluster.json");
    // A node binds its port once started: connection refused until then.
    let mut client = None;
    for _ in 0..300 {
        if let Ok(c) = veritrace_client::Client::connect(&file.nodes[0].api).await
            && c.status().await.is_ok_and(|s| s.leader_id != 0)
        {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let client = client.expect("node 1 serves and knows a leader within 30 s");
    let dir_arg = dir.to_str().expect("utf-8");

    // The commands block; run them off the runtime's workers, which serve the nodes.
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || ok(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    for (op, count, expect) in [
        ("submit", "20", "ops=20 "),
        ("verify", "10", "ops=10 "),
        ("history", "10", "ops=10 "),
        ("health", "10", "ops=10 "),
    ] {
        let args = ["--cluster", dir_arg, "--op", op, "--count", count, "--concurrency", "4", "--items", "5"];
        let out = run(args.iter().map(|a| a.to_string()).collect()).await.expect("bench");
        let result = last_line(&out);
        assert!(result.starts_with(&format!("RESULT target=veritrace op={op} ")) && result.contains(expect), "{out}");
    }

    // --endpoint alone (no cluster directory) measures the health check,
    // and names what is missing for an operation that signs.
    let api = file.nodes[1].api.clone();
    let args = ["--endpoint", &api, "--op", "health", "--count", "10", "--concurrency", "2"];
    let out = run(args.iter().map(|a| a.to_string()).collect()).await.expect("bench");
    assert!(last_line(&out).starts_with("RESULT target=veritrace op=health ops=10 "), "{out}");
    let endpoint = api.clone();
    let refused =
        tokio::task::spawn_blocking(move || bench(&["--endpoint", &endpoint, "--op", "submit", "--count", "1"]))
            .await
            .expect("bench");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && err.contains("--op submit needs --cluster DIR"), "{err}");

    // --preload commissions filler items first: 25,000 items are a product
    // and five commissioning envelopes (5,000 items each).
    let before = client.status().await.expect("status").tree_size;
    let args = ["--cluster", dir_arg, "--preload", "25000", "--op", "submit", "--count", "2"];
    let out = run(args.iter().map(|a| a.to_string()).collect()).await.expect("bench");
    assert!(out.lines().any(|l| l.starts_with("RESULT target=veritrace op=preload items=25000 ")), "{out}");
    assert!(last_line(&out).starts_with("RESULT target=veritrace op=submit ops=2 "), "{out}");
    let after = client.status().await.expect("status").tree_size;
    assert_eq!(after, before + 1 + 5 + 2, "{out}");
    nodes.stop().await;
}

#[test]
fn the_etcd_target_needs_endpoints_and_only_measures_submit() {
    let o = bench(&["--target", "etcd", "--etcd-endpoints", "http://127.0.0.1:1", "--op", "verify"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--target etcd measures --op submit"), "{err}");
    let o = bench(&["--target", "etcd"]);
    assert_eq!(o.status.code(), Some(2), "clap usage error: {}", String::from_utf8_lossy(&o.stderr));
}
