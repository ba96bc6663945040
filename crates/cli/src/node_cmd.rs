//! `veritrace init` and `veritrace node start`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use veritrace_node::{InitOptions, LayeredConfig, Listeners, NodeConfig, generate_local_cluster};

/// `veritrace init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Number of founding voters (one founding party each).
    #[arg(long)]
    pub nodes: usize,
    /// Extra nodes configured to join later as learners, each its own
    /// (non-admin) party's validator, listed in the genesis.
    #[arg(long, default_value_t = 0)]
    pub learners: usize,
    /// Directory to create (must be absent or empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Node k listens for gRPC on base-port + k, for peers on
    /// base-port + 100 + k, ops HTTP on base-port + 200 + k and the public
    /// web page on base-port + 300 + k.
    #[arg(long, default_value_t = 7400)]
    pub base_port: u16,
    /// Network id written into the genesis.
    #[arg(long, default_value = "veritrace-local")]
    pub network_id: String,
    /// The network's GS1 Digital Link host, printed in labels' QR codes
    /// (e.g. https://verify.example.net; default: node 1's web listener,
    /// http://127.0.0.1:{base-port + 301}).
    #[arg(long, value_name = "ORIGIN")]
    pub label_host: Option<String>,
    /// The genesis's start time (YYYY-MM-DD or RFC 3339; default: now): a
    /// network that continues an older one starts in the past, so its
    /// founders' time on the network counts from then.
    #[arg(long, value_name = "TIME")]
    pub genesis_time: Option<String>,
}

/// Generates keys, configurations and a genesis for a local cluster.
pub fn init(args: InitArgs) -> anyhow::Result<()> {
    let mut opts = InitOptions::new(args.nodes, args.out);
    opts.learners = args.learners;
    opts.base_port = args.base_port;
    opts.network_id = args.network_id;
    opts.label_host = args.label_host;
    if let Some(t) = &args.genesis_time {
        let t = crate::market_cmd::time_arg("genesis-time", t)?;
        let now = veritrace_service::now_ms() / 1000;
        anyhow::ensure!(
            t.seconds <= now,
            "--genesis-time: {} is in the future",
            args.genesis_time.as_deref().unwrap_or("")
        );
        opts.genesis_time = Some(t.seconds);
    }
    let layout = generate_local_cluster(&opts)?;
    println!("created {} nodes in {}", layout.nodes.len(), layout.dir.display());
    for n in &layout.nodes {
        let role = if n.voter { "voter" } else { "joins later" };
        println!(
            "  {}  api http://{}  p2p {}  web http://{}  {}  ({role})",
            n.name,
            n.api_addr,
            n.p2p_addr,
            n.web_addr,
            n.config_path.display()
        );
    }
    println!("start each with: veritrace node start --config <config>");
    Ok(())
}

/// Where a node's configuration comes from: a file, `VERITRACE_*`
/// variables and flags, merged flags > env > file > defaults.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The node's configuration file (veritrace.toml); optional when the
    /// environment and flags give every required key.
    #[arg(long, env = "VERITRACE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Sets a configuration key, e.g. `--set api.listen=0.0.0.0:7401`
    /// (repeatable; see `veritrace config keys`).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// Shorthand for `--set node.data_dir=DIR`.
    #[arg(long)]
    pub data_dir: Option<String>,
    /// Shorthand for `--set api.listen=ADDR`.
    #[arg(long)]
    pub api_listen: Option<String>,
    /// Shorthand for `--set ops.listen=ADDR`.
    #[arg(long)]
    pub ops_listen: Option<String>,
    /// Shorthand for `--set log.format=FORMAT` (text or json).
    #[arg(long)]
    pub log_format: Option<String>,
    /// Shorthand for `--set api.insecure=true`: serve plaintext gRPC on an
    /// address other than loopback (logged as a warning).
    #[arg(long)]
    pub insecure: bool,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

impl ConfigArgs {
    /// Loads and validates the merged configuration.
    pub fn load(&self) -> anyhow::Result<LayeredConfig> {
        let mut flags = self.set.clone();
        let shorthands = [
            ("node.data_dir", &self.data_dir),
            ("api.listen", &self.api_listen),
            ("ops.listen", &self.ops_listen),
            ("log.format", &self.log_format),
        ];
        for (key, value) in shorthands {
            if let Some(v) = value {
                flags.push((key.to_owned(), v.clone()));
            }
        }
        if self.insecure {
            flags.push(("api.insecure".to_owned(), "true".to_owned()));
        }
        let cwd = std::env::current_dir().context("reading the working directory")?;
        Ok(LayeredConfig::load(self.config.as_deref(), std::env::vars(), &flags, &cwd)?)
    }
}

/// `veritrace node start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Runs one node in the foreground until SIGTERM or Ctrl-C: the gRPC API
/// and, when `ops.listen` is set, the ops HTTP listener.
pub fn start(config: NodeConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        veritrace_node::run(config, Listeners::FromConfig, shutdown_signal()).await?;
        Ok(())
    })
}

/// Resolves on SIGTERM or SIGINT (node start, and `dev` stopping its nodes).
pub(crate) async fn shutdown_signal() {
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
