//! `veritrace`: the node daemon and the operator / integrator CLI.
//!
//! Thin by design: parsing and printing here, behaviour in the library
//! crates. Exit codes: 0 success, 1 failure (the message names the
//! problem), 2 usage error (from clap).

mod demo;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Veritrace: a permissioned traceability network against counterfeits.
#[derive(Debug, Parser)]
#[command(name = "veritrace", version, about, propagate_version = true)]
struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `veritrace_ledger=debug`.
    #[arg(long, global = true, env = "VERITRACE_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a single-node demo: a product's journey as signed events in a
    /// RocksDB ledger, then an offline check of its Merkle proofs.
    Demo(demo::DemoArgs),
    /// Re-derives the Merkle root from the stored envelopes and reports the
    /// first leaf that disagrees.
    Audit {
        /// Data directory of the ledger.
        #[arg(long)]
        data_dir: PathBuf,
        /// Skip signature checks (hashes only; faster).
        #[arg(long)]
        no_signatures: bool,
    },
    /// Snapshots of a stopped node's ledger.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Prints the ledger's tree head.
    TreeHead {
        /// Data directory of the ledger.
        #[arg(long)]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Writes the whole ledger state to FILE.
    Save {
        /// Data directory of the ledger.
        #[arg(long)]
        data_dir: PathBuf,
        /// Snapshot file to write.
        file: PathBuf,
    },
    /// Creates a new ledger in an empty data directory from FILE, checking
    /// its checksum and Merkle root.
    Restore {
        /// Data directory to create (must not hold a ledger).
        #[arg(long)]
        data_dir: PathBuf,
        /// Snapshot file to read.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => demo::run(args),
        Command::Audit { data_dir, no_signatures } => store::audit(&data_dir, !no_signatures),
        Command::Snapshot(SnapshotCommand::Save { data_dir, file }) => store::snapshot_save(&data_dir, &file),
        Command::Snapshot(SnapshotCommand::Restore { data_dir, file }) => store::snapshot_restore(&data_dir, &file),
        Command::TreeHead { data_dir } => store::tree_head(&data_dir),
    }
}
