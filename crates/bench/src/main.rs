//! `veritrace-bench`: the load generator behind `scripts/bench/`, a binary
//! of its own so that neither it nor its etcd client ships in the
//! `veritrace` daemon. See [`run`] for what it measures and prints.

mod run;
mod workload;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = run::BenchArgs::parse();
    let filter = std::env::var("VERITRACE_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    match run::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
