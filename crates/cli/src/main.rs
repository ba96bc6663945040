//! `veritrace`: the node daemon and the operator / integrator CLI.
//!
//! Thin by design: parsing and printing here, behaviour in the library
//! crates. Exit codes (stable, for scripts): 0 success; 1 failure (the
//! command could not do its job; the message names the problem); 2 usage
//! error (from clap); 3 a check ran and found a problem (an unhealthy or
//! divergent member, a node not serving, a receipt not co-signed); 10 + the
//! verdict's number when `verify` answers a verdict that is not genuine
//! (13 SUSPECTED_CLONE, 14 INVALID_CODE, 15 UNKNOWN_ITEM, 16 RECALLED,
//! 17 WITHDRAWN; [`consumer_cmd::NotGenuine`]).

mod admin_cmd;
mod ceremony_cmd;
mod cert_cmd;
mod cluster_cmd;
mod codes_cmd;
mod config_cmd;
mod consumer_cmd;
mod dev;
mod http_probe;
mod keygen_cmd;
mod manual_cmd;
mod market_actions;
mod market_cmd;
mod market_view;
mod node_cmd;
mod progress;
mod proto_json;
mod sign_call_cmd;
mod store;
mod tx_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's malloc: profiled under load, a node spent
/// ~12% of its CPU in glibc's allocator (free-list consolidation and
/// unlinking) for the many short-lived buffers of requests, Raft messages
/// and envelopes.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Veritrace: a permissioned traceability network against counterfeits.
#[derive(Debug, Parser)]
#[command(name = "veritrace", version = veritrace_node::VERSION_LINE, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or
    /// `veritrace_consensus=debug`. Default: `info` for `node start`, else `warn`.
    #[arg(long, global = true, env = "VERITRACE_LOG")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job: starts a local 4-party network (brand, inspection,
    /// customs, platform) as node processes, runs the demo journey, prints
    /// a consumer verification and the endpoints, and runs until Ctrl-C.
    Dev(dev::DevArgs),
    /// Generates keys, configurations and a genesis for a local N-node
    /// cluster on loopback (DIR/node1/veritrace.toml ...).
    Init(node_cmd::InitArgs),
    /// Runs a validator node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// The effective node configuration (file, environment, flags).
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Shows a node's status: role, leader, term, indices, tree and members.
    Status(cluster_cmd::EndpointArgs),
    /// The whole cluster: every member's status, as each member reports it.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Raft membership: list, add a learner, promote, remove.
    #[command(subcommand)]
    Member(cluster_cmd::MemberCommand),
    /// Leadership: transfer it to another voter.
    #[command(subcommand)]
    Leader(LeaderCommand),
    /// Checks a node's gRPC health (grpc.health.v1): exit 0 when SERVING,
    /// 3 when not.
    Health(cluster_cmd::EndpointArgs),
    /// Follows the ledger from a leaf index: entries, then new commits.
    Watch(cluster_cmd::WatchArgs),
    /// TLS certificates for a test network: a CA, node and client certificates.
    #[command(subcommand)]
    Cert(cert_cmd::CertCommand),
    /// Generates secrets to hand out: app keys for consumer apps.
    #[command(subcommand)]
    Keygen(keygen_cmd::KeygenCommand),
    /// An organisation's own keys, made on its own host, for founding or
    /// joining a network (`keys generate`).
    #[command(subcommand)]
    Keys(ceremony_cmd::KeysCommand),
    /// A genesis assembled from the founders' public parts and sealed by
    /// each of them: assemble, sign, seal, configure.
    #[command(subcommand)]
    Genesis(ceremony_cmd::GenesisCommand),
    /// A brand's threshold code key: validators check its codes together,
    /// none alone.
    #[command(subcommand)]
    Codes(codes_cmd::CodesCommand),
    /// Hands leadership to another voter (same as `leader transfer`).
    #[command(hide = true)]
    TransferLeader {
        #[command(flatten)]
        target: cluster_cmd::EndpointArgs,
        /// Raft node id of the new leader (0: the most up-to-date voter).
        #[arg(long, default_value_t = 0)]
        to: u64,
    },
    /// Runs a single-node demo: starts a real one-node network in this
    /// process (loopback, ports the system picks), submits a product's
    /// journey over gRPC, checks its Merkle proofs offline, then stops it.
    Demo(dev::demo::DemoArgs),
    /// Signs and submits transactions (integrators).
    #[command(subcommand)]
    Tx(tx_cmd::TxCommand),
    /// Commissions items: serials, codes, label sheets.
    #[command(subcommand)]
    Items(tx_cmd::ItemsCommand),
    /// Verifies an item and its code, as a consumer app would.
    Verify(consumer_cmd::VerifyArgs),
    /// Shows an item's state and journey.
    History(consumer_cmd::HistoryArgs),
    /// Prints the party credential of one EPCIS REST call ("POST /capture")
    /// as HTTP headers, for curl.
    SignCall(sign_call_cmd::SignCallArgs),
    /// Shows or lists parties.
    #[command(subcommand)]
    Party(consumer_cmd::PartyCommand),
    /// The marketplace: supplier profiles, IP and trade complaints with
    /// their deadlines, acknowledgements of consumer reports.
    #[command(subcommand)]
    Market(market_cmd::MarketCommand),
    /// Every member re-derives its Merkle root from its stored envelopes;
    /// the roots are compared and a corrupt or divergent member is named
    /// (exit 3). With --data-dir, audits a stopped node's ledger instead.
    Audit(admin_cmd::AuditArgs),
    /// Snapshots: create one on a running node, or save / restore a stopped
    /// node's ledger.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Prints a shell completion script: `veritrace completions bash >
    /// /etc/bash_completion.d/veritrace` (or zsh, fish, elvish, powershell).
    Completions(manual_cmd::CompletionsArgs),
    /// Writes the man pages (veritrace.1 and one per command) to a directory.
    Man(manual_cmd::ManArgs),
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
enum ClusterCommand {
    /// Every member: role, leader, term, commit / applied index, lag behind
    /// the leader, tree size, root, healthy. Exit 3 if a member is unhealthy.
    Status(cluster_cmd::EndpointArgs),
}

#[derive(Debug, Subcommand)]
enum LeaderCommand {
    /// Hands leadership to another voter.
    Transfer {
        #[command(flatten)]
        target: cluster_cmd::EndpointArgs,
        /// Raft node id of the new leader (0: the most up-to-date voter).
        #[arg(long, default_value_t = 0)]
        to: u64,
    },
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Asks a running node to snapshot its state now and compact its log.
    Create(cluster_cmd::EndpointArgs),
    /// Saves a backup of the whole ledger state to FILE: streamed from a
    /// running node (--endpoint), or read from a stopped node's --data-dir.
    Save {
        #[command(flatten)]
        target: cluster_cmd::EndpointArgs,
        /// Data directory of a stopped node's ledger (instead of --endpoint).
        #[arg(long)]
        data_dir: Option<PathBuf>,
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
    // `node start` takes its log settings from its configuration; --log wins.
    let (command, level, json) = match cli.command {
        Command::Node(NodeCommand::Start(args)) => match args.config.load() {
            Ok(layered) => {
                let level = cli.log.clone().unwrap_or_else(|| layered.config.log.level.clone());
                let json = layered.config.log.format == veritrace_node::LogFormat::Json;
                (Run::Start(Box::new(layered.config)), level, json)
            }
            Err(e) => {
                eprintln!("error: {}", error_chain(&e));
                return ExitCode::FAILURE;
            }
        },
        other => (Run::Other(Box::new(other)), cli.log.clone().unwrap_or_else(|| "warn".into()), false),
    };
    let filter = match tracing_subscriber::EnvFilter::try_new(&level) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: log filter {level:?} is not valid: {e}");
            return ExitCode::from(2);
        }
    };
    // Colour only for a person at a terminal: a file, a pipe or journald
    // gets plain text (and NO_COLOR turns it off everywhere).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    let result = match command {
        Run::Start(config) => node_cmd::start(*config),
        Run::Other(command) => run(*command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            if let Some(verdict) = e.downcast_ref::<consumer_cmd::NotGenuine>() {
                ExitCode::from(verdict.exit_code())
            } else if e.downcast_ref::<admin_cmd::CheckFailed>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// What `main` runs once logging is set up.
enum Run {
    Start(Box<veritrace_node::NodeConfig>),
    Other(Box<Command>),
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
        Command::Dev(args) => dev::run(args),
        Command::Init(args) => node_cmd::init(args),
        Command::Node(NodeCommand::Start(_)) => unreachable_start(),
        Command::Config(cmd) => config_cmd::run(cmd),
        Command::Status(args) => cluster_cmd::status(args),
        Command::Cluster(ClusterCommand::Status(args)) => admin_cmd::cluster_status(args),
        Command::Member(cmd) => cluster_cmd::member(cmd),
        Command::Leader(LeaderCommand::Transfer { target, to }) | Command::TransferLeader { target, to } => {
            cluster_cmd::transfer_leader(target, to)
        }
        Command::Health(args) => cluster_cmd::health(args),
        Command::Watch(args) => cluster_cmd::watch(args),
        Command::Cert(cmd) => cert_cmd::run(cmd),
        Command::Snapshot(SnapshotCommand::Create(args)) => cluster_cmd::snapshot_create(args),
        Command::Keygen(cmd) => keygen_cmd::keygen(cmd),
        Command::Keys(cmd) => ceremony_cmd::keys(cmd),
        Command::Genesis(cmd) => ceremony_cmd::genesis(cmd),
        Command::Codes(cmd) => codes_cmd::codes(cmd),
        Command::Demo(args) => dev::demo::run(args),
        Command::Tx(cmd) => tx_cmd::tx(cmd),
        Command::Items(cmd) => tx_cmd::items(cmd),
        Command::Verify(args) => consumer_cmd::verify(args),
        Command::History(args) => consumer_cmd::history(args),
        Command::SignCall(args) => sign_call_cmd::sign_call(args),
        Command::Party(cmd) => consumer_cmd::party(cmd),
        Command::Market(cmd) => market_cmd::market(cmd),
        Command::Audit(args) => match &args.data_dir {
            Some(dir) => store::audit(dir, !args.no_signatures),
            None => admin_cmd::audit_cluster(args),
        },
        Command::Snapshot(SnapshotCommand::Save { target, data_dir, file }) => match data_dir {
            Some(dir) => store::snapshot_save(&dir, &file),
            None => admin_cmd::snapshot_save_online(target, file),
        },
        Command::Snapshot(SnapshotCommand::Restore { data_dir, file }) => store::snapshot_restore(&data_dir, &file),
        Command::TreeHead { data_dir } => store::tree_head(&data_dir),
        Command::Completions(args) => manual_cmd::completions(args),
        Command::Man(args) => manual_cmd::man(args),
    }
}

/// `node start` is dispatched by `main` (it configures logging first).
fn unreachable_start() -> anyhow::Result<()> {
    anyhow::bail!("internal: `node start` must be dispatched by main")
}
