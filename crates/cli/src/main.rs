//! `veritrace`: the node daemon and the operator / integrator CLI.
//!
//! Thin by design: parsing and printing here, behaviour in the library
//! crates. Exit codes: 0 success, 1 failure (the message names the
//! problem), 2 usage error (from clap).

mod bench;
mod cluster_cmd;
mod consumer_cmd;
mod demo;
mod demo_cluster;
mod node_cmd;
mod proto_json;
mod store;
mod tx_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Veritrace: a permissioned traceability network against counterfeits.
#[derive(Debug, Parser)]
#[command(name = "veritrace", version, about, propagate_version = true)]
struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or
    /// `veritrace_consensus=debug`. Default: `info` for `node start`, else `warn`.
    #[arg(long, global = true, env = "VERITRACE_LOG")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generates keys, configurations and a genesis for a local N-node
    /// cluster on loopback (DIR/node1/veritrace.toml ...).
    Init(node_cmd::InitArgs),
    /// Runs a validator node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Shows a node's status: role, leader, term, indices, tree and members.
    Status(cluster_cmd::EndpointArgs),
    /// Raft membership: list, add a learner, promote, remove.
    #[command(subcommand)]
    Member(cluster_cmd::MemberCommand),
    /// Measures a running cluster: signed events submitted concurrently,
    /// events/s and commit latency percentiles.
    Bench(bench::BenchArgs),
    /// Hands leadership to another voter.
    TransferLeader {
        #[command(flatten)]
        target: cluster_cmd::EndpointArgs,
        /// Raft node id of the new leader (0: the most up-to-date voter).
        #[arg(long, default_value_t = 0)]
        to: u64,
    },
    /// Runs a single-node demo: a product's journey as signed events in a
    /// RocksDB ledger, then an offline check of its Merkle proofs.
    Demo(demo::DemoArgs),
    /// Signs and submits transactions (integrators).
    #[command(subcommand)]
    Tx(tx_cmd::TxCommand),
    /// Commissions items: serials, codes, label sheets.
    #[command(subcommand)]
    Items(tx_cmd::ItemsCommand),
    /// Verifies an item and its code, as a consumer app would.
    Verify(consumer_cmd::VerifyArgs),
    /// Shows an item's state and journey.
    History {
        #[command(flatten)]
        target: cluster_cmd::EndpointArgs,
        /// The item: SGTIN EPC URI or GS1 Digital Link.
        #[arg(long)]
        item: String,
    },
    /// Shows or lists parties.
    #[command(subcommand)]
    Party(consumer_cmd::PartyCommand),
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
    /// Snapshots: create one on a running node, or save / restore a stopped
    /// node's ledger.
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
enum NodeCommand {
    /// Runs one node in the foreground; logs to stderr; stops cleanly on
    /// SIGTERM or Ctrl-C.
    Start(node_cmd::StartArgs),
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Asks a running node to snapshot its state now and compact its log.
    Create(cluster_cmd::EndpointArgs),
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
    let default = if matches!(cli.command, Command::Node(_)) { "info" } else { "warn" };
    let log = cli.log.as_deref().unwrap_or(default);
    let filter = match tracing_subscriber::EnvFilter::try_new(log) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --log {log:?} is not a valid filter: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause whose text the
/// message already contains (many errors name their source themselves).
fn error_chain(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init(args) => node_cmd::init(args),
        Command::Bench(args) => bench::run(args),
        Command::Node(NodeCommand::Start(args)) => node_cmd::start(args),
        Command::Status(args) => cluster_cmd::status(args),
        Command::Member(cmd) => cluster_cmd::member(cmd),
        Command::TransferLeader { target, to } => cluster_cmd::transfer_leader(target, to),
        Command::Snapshot(SnapshotCommand::Create(args)) => cluster_cmd::snapshot_create(args),
        Command::Demo(args) => demo::run(args),
        Command::Tx(cmd) => tx_cmd::tx(cmd),
        Command::Items(cmd) => tx_cmd::items(cmd),
        Command::Verify(args) => consumer_cmd::verify(args),
        Command::History { target, item } => consumer_cmd::history(target, item),
        Command::Party(cmd) => consumer_cmd::party(cmd),
        Command::Audit { data_dir, no_signatures } => store::audit(&data_dir, !no_signatures),
        Command::Snapshot(SnapshotCommand::Save { data_dir, file }) => store::snapshot_save(&data_dir, &file),
        Command::Snapshot(SnapshotCommand::Restore { data_dir, file }) => store::snapshot_restore(&data_dir, &file),
        Command::TreeHead { data_dir } => store::tree_head(&data_dir),
    }
}
