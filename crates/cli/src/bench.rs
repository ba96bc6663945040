//! `veritrace bench`: submits signed events to a running cluster and
//! reports throughput and commit latency (submit until receipts, i.e.
//! committed on a quorum with fsync and applied).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use clap::Args;
use prost::Message as _;
use veritrace_client::Client;
use veritrace_client::render::OutputFormat;
use veritrace_core::{Envelope, SecretKey};
use veritrace_node::ClusterFile;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

/// `veritrace bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Directory made by `veritrace init` (cluster.json, party keys).
    #[arg(long)]
    cluster: PathBuf,
    /// Events to submit.
    #[arg(long, default_value_t = 5000)]
    events: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Events per request.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Send only to this endpoint (default: spread over every node of the
    /// cluster; followers forward to the leader).
    #[arg(long)]
    endpoint: Option<String>,
    /// Output format: table or json.
    #[arg(short = 'o', long, default_value = "table")]
    output: OutputFormat,
}

/// A founding party of a local cluster, with its signing key.
pub(crate) struct Signer {
    pub party_id: String,
    pub key: SecretKey,
}

/// Reads `cluster.json` and the founding parties' keys of a local cluster.
pub(crate) fn load(cluster: &Path) -> anyhow::Result<(ClusterFile, Vec<Signer>)> {
    let path = cluster.join("cluster.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: ClusterFile = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut signers = Vec::new();
    for n in &file.nodes {
        if let Some(party_id) = &n.party_id {
            let key_path = cluster.join(&n.name).join("party.key");
            let seed = veritrace_node::read_seed_file(&key_path)?;
            signers.push(Signer { party_id: party_id.clone(), key: veritrace_node::party_key(&seed)? });
        }
    }
    if signers.is_empty() {
        bail!("{} names no party with a key", path.display());
    }
    Ok((file, signers))
}

/// Pre-signs `n` EPCIS observations of returnable assets (GIAI, no
/// bizStep: allowed to the brand owner, the first founding party of a
/// generated cluster, and free of custody rules), nonces unique to this run.
fn sign_events(signers: &[Signer], network_id: &str, n: usize) -> Vec<pb::SignedEnvelope> {
    let base = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0) * 1000;
    let signer = &signers[0];
    (0..n)
        .map(|i| {
            let epc = format!("urn:epc:id:giai:0614141.B{base}-{i}");
            let tx = pb::Transaction {
                party_id: signer.party_id.clone(),
                nonce: base + i as u64,
                network_id: network_id.to_string(),
                action: Some(Action::EpcisEvent(pb::EpcisEvent {
                    event_time: Some(veritrace_proto::timestamp_from_ms((base / 1_000_000) as i64)),
                    event_time_zone_offset: "+00:00".into(),
                    event: Some(pb::epcis_event::Event::ObjectEvent(pb::ObjectEvent {
                        action: pb::EpcisAction::Observe as i32,
                        epc_list: vec![epc],
                        ..Default::default()
                    })),
                    ..Default::default()
                })),
                ..Default::default()
            };
            let env = Envelope::sign_transaction(&tx, &signer.key);
            pb::SignedEnvelope::decode(env.bytes()).unwrap_or_default()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Runs the benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.events == 0 || args.concurrency == 0 || args.batch == 0 || args.batch > 1000 {
        bail!("--events, --concurrency and --batch must be positive (batch at most 1000)");
    }
    let (file, signers) = load(&args.cluster)?;
    let endpoints: Vec<String> = match &args.endpoint {
        Some(e) => vec![e.clone()],
        None => file.nodes.iter().map(|n| n.api.clone()).collect(),
    };
    let events = sign_events(&signers, &file.network_id, args.events);
    let requests: Vec<Vec<pb::SignedEnvelope>> = events.chunks(args.batch).map(<[_]>::to_vec).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let mut clients = Vec::new();
        for e in &endpoints {
            clients.push(Client::connect(e).await?);
        }
        let queue = Arc::new(tokio::sync::Mutex::new(requests.into_iter()));
        let started = Instant::now();
        let mut workers = Vec::new();
        for w in 0..args.concurrency {
            let client = clients[w % clients.len()].clone();
            let queue = Arc::clone(&queue);
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (mut applied, mut other) = (0usize, 0usize);
                loop {
                    let Some(req) = queue.lock().await.next() else { break };
                    let t = Instant::now();
                    let receipts = client.submit(req).await?;
                    latencies.push(t.elapsed());
                    for r in receipts {
                        if r.outcome == pb::Outcome::Applied as i32 { applied += 1 } else { other += 1 }
                    }
                }
                Ok::<_, veritrace_client::ClientError>((latencies, applied, other))
            }));
        }
        let mut latencies = Vec::new();
        let (mut applied, mut other) = (0, 0);
        for w in workers {
            let (l, a, o) = w.await.context("bench worker")??;
            latencies.extend(l);
            applied += a;
            other += o;
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let status = clients[0].status().await?;
        let secs = elapsed.as_secs_f64().max(1e-9);
        let report = serde_json::json!({
            "events": args.events,
            "applied": applied,
            "not_applied": other,
            "requests": latencies.len(),
            "batch": args.batch,
            "concurrency": args.concurrency,
            "endpoints": endpoints.len(),
            "seconds": secs,
            "events_per_second": applied as f64 / secs,
            "latency_ms": {
                "p50": percentile(&latencies, 50.0).as_secs_f64() * 1e3,
                "p90": percentile(&latencies, 90.0).as_secs_f64() * 1e3,
                "p99": percentile(&latencies, 99.0).as_secs_f64() * 1e3,
                "max": latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            },
            "raft_entries": status.commit_index,
            "tree_size": status.tree_size,
        });
        match args.output {
            OutputFormat::Json => println!("{report:#}"),
            OutputFormat::Table => {
                let l = &report["latency_ms"];
                println!(
                    "events:        {} applied, {} not applied ({} requests of {})",
                    applied,
                    other,
                    latencies.len(),
                    args.batch
                );
                println!("concurrency:   {} requests in flight over {} endpoint(s)", args.concurrency, endpoints.len());
                println!("elapsed:       {secs:.2} s");
                println!("throughput:    {:.0} events/s", applied as f64 / secs);
                println!(
                    "commit latency: p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
                    l["p50"].as_f64().unwrap_or(0.0),
                    l["p90"].as_f64().unwrap_or(0.0),
                    l["p99"].as_f64().unwrap_or(0.0),
                    l["max"].as_f64().unwrap_or(0.0)
                );
                println!("cluster:       tree size {}, commit index {}", status.tree_size, status.commit_index);
            }
        }
        if other > 0 {
            bail!("{other} events were not applied (duplicates or refusals): the measurement is not clean");
        }
        Ok(())
    })
}
