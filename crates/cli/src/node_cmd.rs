//! `veritrace init` and `veritrace node start`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use veritrace_node::{InitOptions, Node, NodeConfig, generate_local_cluster};

/// `veritrace init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Number of founding voters (one founding party each).
    #[arg(long)]
    pub nodes: usize,
    /// Extra nodes configured to join later as learners.
    #[arg(long, default_value_t = 0)]
    pub learners: usize,
    /// Directory to create (must be absent or empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Node k listens for gRPC on base-port + k and for peers on
    /// base-port + 100 + k.
    #[arg(long, default_value_t = 7400)]
    pub base_port: u16,
    /// Network id written into the genesis.
    #[arg(long, default_value = "veritrace-local")]
    pub network_id: String,
}

/// Generates keys, configurations and a genesis for a local cluster.
pub fn init(args: InitArgs) -> anyhow::Result<()> {
    let mut opts = InitOptions::new(args.nodes, args.out);
    opts.learners = args.learners;
    opts.base_port = args.base_port;
    opts.network_id = args.network_id;
    let layout = generate_local_cluster(&opts)?;
    println!("created {} nodes in {}", layout.nodes.len(), layout.dir.display());
    for n in &layout.nodes {
        let role = if n.voter { "voter" } else { "joins later" };
        println!("  {}  api http://{}  p2p {}  {}  ({role})", n.name, n.api_addr, n.p2p_addr, n.config_path.display());
    }
    println!("start each with: veritrace node start --config <config>");
    Ok(())
}

/// `veritrace node start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The node's configuration file (veritrace.toml).
    #[arg(long, env = "VERITRACE_CONFIG")]
    pub config: PathBuf,
}

/// Runs one node in the foreground until SIGTERM or Ctrl-C.
pub fn start(args: StartArgs) -> anyhow::Result<()> {
    let config = NodeConfig::load(&args.config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let api = config.api.listen;
        let node = Node::start(config).await?;
        let (listener, addr) = veritrace_server::bind(api).await?;
        tracing::info!(node = node.id(), api = %addr, peer_id = node.peer_id(), "serving gRPC");
        let served = veritrace_server::serve(node.clone(), listener, shutdown_signal()).await;
        node.shutdown().await;
        served?;
        Ok(())
    })
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(cause = %e, "cannot listen for SIGTERM; stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: shutting down"),
    }
}
