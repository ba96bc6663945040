//! `veritrace-bench`: a load generator over gRPC against a running
//! cluster. It prepares everything before the timed window (signed
//! envelopes, and for the read paths a product with coded items and their
//! journeys), then runs one operation at a fixed concurrency for a count
//! or a duration after a warm-up, and reports ops/s and latency
//! percentiles, ending with one machine-readable line:
//!
//! `RESULT target=veritrace op=submit ops=12000 secs=10.01 ops_per_s=1199.2 p50_ms=... p90_ms=... p99_ms=... max_ms=...`
//!
//! `--target etcd --etcd-endpoints ...` drives an etcd cluster the same way
//! (puts, or a Txn of `--batch` puts), for `scripts/bench/compare.sh`.
//!
//! * `submit`: signed events (one per request, or `--batch` per request),
//!   measured until their receipts: committed on a quorum (fsync) and applied.
//! * `verify`: `VerifyItem` with the right code: a read barrier, the code
//!   check and the consumer scan recorded through consensus.
//! * `history`: `GetItemHistory` of items with `--history` steps each (read only).
//! * `health`: `grpc.health.v1.Health/Check`, which does no work on the node:
//!   the floor of one gRPC round trip on the machine, to read the others against.
//!
//! `--preload N` first commissions N filler items, so a run measures a
//! store of that size (`scripts/bench/flatness.sh`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use veritrace_client::Client;
use veritrace_client::render::OutputFormat;
use veritrace_node::{ClusterFile, PartySigner as Signer};
use veritrace_proto::v1 as pb;

use crate::workload;

/// The operation a bench run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Op {
    /// Submit signed events (LedgerService.SubmitEnvelopes).
    Submit,
    /// Verify an item and its code (VerificationService.VerifyItem).
    Verify,
    /// Read an item's history (VerificationService.GetItemHistory).
    History,
    /// Ask the standard health service (no work on the node: the gRPC floor).
    Health,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Submit => "submit",
            Op::Verify => "verify",
            Op::History => "history",
            Op::Health => "health",
        }
    }
}

/// The system a bench run drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// A Veritrace cluster (--cluster).
    Veritrace,
    /// An etcd cluster (--etcd-endpoints), for the side-by-side table:
    /// `submit` becomes one Put per request, or a Txn of --batch puts, of
    /// --payload-byte values.
    Etcd,
}

/// `veritrace-bench`: measures a running Veritrace cluster, or etcd with the
/// same client, and prints events/s and latency percentiles.
#[derive(Debug, Parser)]
#[command(name = "veritrace-bench", version, about)]
pub struct BenchArgs {
    /// Directory made by `veritrace init` or `veritrace dev` (cluster.json, party keys).
    #[arg(long, required_if_eq("target", "veritrace"))]
    cluster: Option<PathBuf>,
    /// The system to drive.
    #[arg(long, value_enum, default_value = "veritrace")]
    target: Target,
    /// etcd client URLs, comma separated (with --target etcd).
    #[arg(long, value_delimiter = ',', required_if_eq("target", "etcd"))]
    etcd_endpoints: Vec<String>,
    /// What to measure.
    #[arg(long, value_enum, default_value = "submit")]
    op: Op,
    /// Requests to send, warm-up included (ignored with --duration).
    #[arg(long, default_value_t = 5000)]
    count: usize,
    /// Run for this many seconds instead of a fixed count (submit: at most
    /// --presign events are signed beforehand).
    #[arg(long)]
    duration: Option<f64>,
    /// Seconds of load before the timed window (not counted).
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// gRPC connections (spread over the endpoints; default: one per endpoint).
    #[arg(long)]
    connections: Option<usize>,
    /// Events per submit request.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Approximate size of each signed event, in bytes.
    #[arg(long, default_value_t = 256)]
    payload: usize,
    /// Events signed beforehand for a --duration submit run.
    #[arg(long, default_value_t = 200_000)]
    presign: usize,
    /// Coded items prepared for verify / history (default: 5,000 for
    /// verify, since each item takes at most 20 verifications per 15
    /// minutes, its guess budget; 200 for history).
    #[arg(long)]
    items: Option<usize>,
    /// Steps in each prepared item's history (history op).
    #[arg(long, default_value_t = 10)]
    history: usize,
    /// Commission this many filler items (5,000 per envelope) before the
    /// run, to measure a larger store; prints the items/s it took.
    #[arg(long, default_value_t = 0)]
    preload: usize,
    /// Verify items of a product under the threshold code key in this
    /// directory, relative to --cluster when relative (`veritrace codes
    /// deal-key` output, for the cluster's
    /// nodes, which must hold its shares; `VERITRACE_CODE_KEY=1` makes
    /// scripts/bench/cluster.sh deal one) instead of BLAKE3_V1 digests.
    #[arg(long, value_name = "DIR")]
    code_key_dir: Option<std::path::PathBuf>,
    /// Send only to this endpoint (default: spread over every node of the
    /// cluster; followers forward writes to the leader).
    #[arg(long)]
    endpoint: Option<String>,
    /// Output format: table or json (the RESULT line is printed either way).
    #[arg(short = 'o', long, default_value = "table")]
    output: OutputFormat,
}

/// Reads `cluster.json` and the founding parties' keys of a local cluster.
fn load(cluster: &Path) -> anyhow::Result<(ClusterFile, Vec<Signer>)> {
    let file = ClusterFile::load(cluster)?;
    let signers = file.party_signers(cluster)?;
    if signers.is_empty() {
        bail!("{} names no party with a key", cluster.join("cluster.json").display());
    }
    Ok((file, signers))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// One request of the run, prepared before the timed window.
enum Request {
    Submit(Vec<pb::SignedEnvelope>),
    Verify(Box<pb::VerifyItemRequest>),
    History(String),
    Health,
    /// etcd: the (key, value) pairs of one Put (one pair) or Txn.
    Put(Vec<(Vec<u8>, Vec<u8>)>),
}

/// A connection to the system under test.
#[derive(Clone)]
enum Conn {
    Veritrace(Box<Client>),
    Etcd(veritrace_etcd_kv::EtcdKv),
}

/// Sends one request; returns (operations done, envelopes not applied).
async fn send(conn: &Conn, request: &Request) -> anyhow::Result<(usize, usize)> {
    Ok(match (conn, request) {
        (Conn::Veritrace(client), Request::Submit(envelopes)) => {
            let receipts = client.submit(envelopes.clone()).await?;
            let applied = receipts.iter().filter(|r| r.outcome == pb::Outcome::Applied as i32).count();
            (receipts.len(), receipts.len() - applied)
        }
        (Conn::Veritrace(client), Request::Verify(req)) => client.verify_item((**req).clone()).await.map(|_| (1, 0))?,
        (Conn::Veritrace(client), Request::History(uri)) => client.item_history(uri).await.map(|_| (1, 0))?,
        (Conn::Veritrace(client), Request::Health) => client.health("").await.map(|_| (1, 0))?,
        (Conn::Etcd(kv), Request::Put(pairs)) if pairs.len() == 1 => {
            let (k, v) = pairs[0].clone();
            kv.put(k, v).await.map(|_| (1, 0))?
        }
        (Conn::Etcd(kv), Request::Put(pairs)) => kv.txn_puts(pairs.clone()).await.map(|_| (pairs.len(), 0))?,
        _ => bail!("internal: request and target do not match"),
    })
}

/// etcd puts of `payload`-byte values, `batch` per request, keys unique to the run.
fn etcd_requests(args: &BenchArgs) -> Vec<Request> {
    let run = workload::run_id();
    let n = if args.duration.is_some() { args.presign } else { args.count * args.batch };
    let value = vec![b'v'; args.payload];
    let pairs: Vec<(Vec<u8>, Vec<u8>)> =
        (0..n).map(|i| (format!("bench/{run}/{i:09}").into_bytes(), value.clone())).collect();
    pairs.chunks(args.batch).map(|c| Request::Put(c.to_vec())).collect()
}

async fn prepare(
    args: &BenchArgs,
    client: &Client,
    signers: &[Signer],
    network_id: &str,
) -> anyhow::Result<Vec<Request>> {
    let brand = &signers[0];
    let requests = match args.op {
        Op::Submit => {
            let n = if args.duration.is_some() { args.presign } else { args.count * args.batch };
            let events = workload::sign_events(brand, network_id, n, args.payload);
            events.chunks(args.batch).map(|c| Request::Submit(c.to_vec())).collect()
        }
        Op::Health => vec![Request::Health],
        Op::Verify | Op::History => {
            let history = if args.op == Op::History { args.history.max(1) } else { 1 };
            let items = args.items.unwrap_or(if args.op == Op::Verify { 5_000 } else { 200 });
            // A relative directory is the cluster directory's (`code-key` as
            // scripts/bench/cluster.sh deals it).
            let key_dir = args.code_key_dir.as_ref().map(|d| match &args.cluster {
                Some(cluster) if d.is_relative() => cluster.join(d),
                _ => d.clone(),
            });
            let code_key = key_dir.as_deref().map(workload::BenchCodeKey::read).transpose()?;
            let prepared =
                workload::prepare_items(client, brand, network_id, items.max(1), history, code_key.as_ref()).await?;
            prepared
                .items
                .into_iter()
                .map(|(uri, code)| match args.op {
                    Op::History => Request::History(uri),
                    _ => Request::Verify(Box::new(pb::VerifyItemRequest {
                        item: Some(pb::verify_item_request::Item::ItemUri(uri)),
                        code,
                        place: Some(pb::Place { country: "FR".into(), city: "Paris".into(), ..Default::default() }),
                        channel: "bench".into(),
                        ..Default::default()
                    })),
                })
                .collect()
        }
    };
    Ok(requests)
}

/// Runs the benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.count == 0 || args.concurrency == 0 || args.batch == 0 || args.batch > 1000 {
        bail!("--count, --concurrency and --batch must be positive (batch at most 1000)");
    }
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if args.duration.is_some_and(|d| !positive(d)) || !(args.warmup == 0.0 || positive(args.warmup)) {
        bail!("--duration must be positive and --warmup not negative");
    }
    if args.target == Target::Etcd && args.op != Op::Submit {
        bail!("--target etcd measures --op submit (puts) only");
    }
    let cluster = match (&args.cluster, args.target) {
        (Some(dir), Target::Veritrace) => Some(load(dir)?),
        _ => None,
    };
    let endpoints: Vec<String> = match (&args.endpoint, &cluster) {
        (Some(e), _) => vec![e.clone()],
        (None, Some((file, _))) => file.nodes.iter().map(|n| n.api.clone()).collect(),
        (None, None) => args.etcd_endpoints.clone(),
    };
    if endpoints.is_empty() {
        bail!("no endpoint to drive: give --cluster, --endpoint or --etcd-endpoints");
    }
    let connections = args.connections.unwrap_or(endpoints.len()).max(1);
    // The cluster's first party signs party-plane calls (submissions).
    let options = veritrace_client::ConnectOptions {
        party: cluster
            .as_ref()
            .and_then(|(_, signers)| signers.first())
            .map(|s| veritrace_client::PartyCredential::new(s.party_id.clone(), s.key.clone())),
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let mut clients = Vec::new();
        for i in 0..connections {
            let e = &endpoints[i % endpoints.len()];
            let conn = match args.target {
                Target::Veritrace => Conn::Veritrace(Box::new(
                    Client::connect_with(e, &options).await.with_context(|| format!("connecting to {e}"))?,
                )),
                Target::Etcd => Conn::Etcd(veritrace_etcd_kv::EtcdKv::connect(e).await?),
            };
            clients.push(conn);
        }
        if let (Some((file, signers)), true) = (&cluster, args.preload > 0) {
            let veritrace: Vec<Client> = clients
                .iter()
                .filter_map(|c| match c {
                    Conn::Veritrace(client) => Some(Client::clone(client)),
                    Conn::Etcd(_) => None,
                })
                .collect();
            let rate = workload::preload_items(&veritrace, &signers[0], &file.network_id, args.preload).await?;
            println!("RESULT target=veritrace op=preload items={} items_per_s={rate:.1}", args.preload);
        }
        let requests = match (&cluster, &clients[0]) {
            (Some((file, signers)), Conn::Veritrace(client)) => prepare(&args, client, signers, &file.network_id).await?,
            (None, Conn::Veritrace(_)) if args.op == Op::Health => vec![Request::Health],
            (None, Conn::Veritrace(_)) => {
                bail!("--op {} needs --cluster DIR (the keys that sign its requests); --endpoint alone serves --op health", args.op.name())
            }
            (_, Conn::Etcd(_)) => etcd_requests(&args),
        };
        let requests = Arc::new(requests);
        // Verify, history and health cycle over their prepared requests; submit uses each envelope once.
        let cycle = args.op != Op::Submit;
        let limit = if cycle { usize::MAX } else { requests.len() };
        let next = Arc::new(AtomicUsize::new(0));
        let warmup = Duration::from_secs_f64(args.warmup);
        let window = args.duration.map(Duration::from_secs_f64);
        let count = if cycle && window.is_none() { args.count } else { limit };
        let started = Instant::now();
        let measure_from = started + warmup;
        let mut workers = Vec::new();
        for w in 0..args.concurrency {
            let client = clients[w % clients.len()].clone();
            let (requests, next) = (Arc::clone(&requests), Arc::clone(&next));
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (mut ops, mut not_applied) = (0usize, 0usize);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let now = Instant::now();
                    if i >= count || window.is_some_and(|d| now >= measure_from + d) {
                        break;
                    }
                    let t = Instant::now();
                    let (n, bad) = send(&client, &requests[i % requests.len()]).await?;
                    if t >= measure_from {
                        latencies.push(t.elapsed());
                        ops += n;
                        not_applied += bad;
                    }
                }
                Ok::<_, anyhow::Error>((latencies, ops, not_applied))
            }));
        }
        let mut latencies = Vec::new();
        let (mut ops, mut not_applied) = (0, 0);
        for w in workers {
            let (l, n, bad) = w.await.context("bench worker")??;
            latencies.extend(l);
            ops += n;
            not_applied += bad;
        }
        let elapsed = started.elapsed().saturating_sub(warmup);
        latencies.sort();
        let status = match &clients[0] {
            Conn::Veritrace(c) => Some(c.status().await?),
            Conn::Etcd(_) => None,
        };
        let secs = elapsed.as_secs_f64().max(1e-9);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (p50, p90, p99) =
            (ms(percentile(&latencies, 50.0)), ms(percentile(&latencies, 90.0)), ms(percentile(&latencies, 99.0)));
        let max = ms(latencies.last().copied().unwrap_or_default());
        let report = serde_json::json!({
            "op": args.op.name(),
            "ops": ops,
            "not_applied": not_applied,
            "requests": latencies.len(),
            "batch": args.batch,
            "payload_bytes": args.payload,
            "concurrency": args.concurrency,
            "connections": connections,
            "endpoints": endpoints.len(),
            "warmup_seconds": args.warmup,
            "seconds": secs,
            "ops_per_second": ops as f64 / secs,
            "latency_ms": { "p50": p50, "p90": p90, "p99": p99, "max": max },
            "target": if args.target == Target::Etcd { "etcd" } else { "veritrace" },
            "raft_entries": status.as_ref().map(|s| s.commit_index),
            "tree_size": status.as_ref().map(|s| s.tree_size),
        });
        match args.output {
            OutputFormat::Json => println!("{report:#}"),
            OutputFormat::Table => {
                println!("operation:     {} ({} requests, {} per request)", args.op.name(), latencies.len(), if args.op == Op::Submit { args.batch } else { 1 });
                println!("concurrency:   {} in flight over {connections} connection(s) to {} endpoint(s)", args.concurrency, endpoints.len());
                println!("elapsed:       {secs:.2} s (after {:.1} s of warm-up)", args.warmup);
                println!("throughput:    {:.0} ops/s", ops as f64 / secs);
                println!("latency:       p50 {p50:.2} ms  p90 {p90:.2} ms  p99 {p99:.2} ms  max {max:.2} ms");
                if let Some(status) = &status {
                    println!("cluster:       tree size {}, commit index {}", status.tree_size, status.commit_index);
                }
            }
        }
        println!(
            "RESULT target={} op={} ops={ops} secs={secs:.3} ops_per_s={:.1} p50_ms={p50:.3} p90_ms={p90:.3} p99_ms={p99:.3} max_ms={max:.3}",
            if args.target == Target::Etcd { "etcd" } else { "veritrace" },
            args.op.name(),
            ops as f64 / secs
        );
        if not_applied > 0 {
            bail!("{not_applied} events were not applied (duplicates or refusals): the measurement is not clean");
        }
        if window.is_some() && args.op == Op::Submit && next.load(Ordering::Relaxed) >= requests.len() {
            eprintln!("note: every pre-signed event was used before the window ended; raise --presign");
        }
        Ok(())
    })
}
