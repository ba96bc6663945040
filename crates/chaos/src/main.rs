//! `veritrace-chaos`: one fault-harness run against real node processes;
//! prints the report as JSON and exits 1 when a promise was broken.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use veritrace_chaos::nemesis::FaultKind;
use veritrace_chaos::run::{RunConfig, run};

/// Runs a cluster of real nodes under faults and checks what the clients
/// were told against every replica.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The veritrace binary (default: next to this one).
    #[arg(long)]
    veritrace: Option<PathBuf>,
    /// Nodes: 3 or 5.
    #[arg(long, default_value_t = 3)]
    nodes: u64,
    /// Client workers.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Fault kinds, comma-separated: kill, pause, isolate, partition, skew,
    /// member (empty: none).
    #[arg(long, value_delimiter = ',', default_value = "kill,pause,isolate,partition,skew,member")]
    faults: Vec<FaultKind>,
    /// Faults applied one after another.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Seconds each fault is held.
    #[arg(long, default_value_t = 4.0)]
    hold: f64,
    /// Seconds of calm between faults.
    #[arg(long, default_value_t = 2.0)]
    gap: f64,
    /// Keep the cluster's files here (logs, data) instead of a temporary
    /// directory.
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let binary = match args.veritrace {
        Some(b) => b,
        None => std::env::current_exe()?.with_file_name("veritrace"),
    };
    anyhow::ensure!(binary.exists(), "no veritrace binary at {} (build it, or pass --veritrace)", binary.display());
    let config = RunConfig {
        binary,
        nodes: args.nodes,
        clients: args.clients,
        faults: args.faults,
        rounds: args.rounds,
        hold: Duration::from_secs_f64(args.hold),
        gap: Duration::from_secs_f64(args.gap),
        dir: args.dir,
    };
    let report = run(&config).await.context("the run did not complete")?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.check.ok() {
        std::process::exit(1);
    }
    Ok(())
}
