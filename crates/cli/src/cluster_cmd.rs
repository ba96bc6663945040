//! Operator commands over gRPC: `status`, `member ...`, `transfer-leader`,
//! `snapshot create`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use veritrace_client::Client;
use veritrace_client::render::{OutputFormat, render_members, render_status};

/// Where to reach a node and how to print its answer.
#[derive(Debug, Args)]
pub struct EndpointArgs {
    /// gRPC endpoint of a node, e.g. http://127.0.0.1:7401.
    #[arg(long, env = "VERITRACE_ENDPOINT", default_value = "http://127.0.0.1:7401")]
    pub endpoint: String,
    /// Output format: table or json.
    #[arg(short = 'o', long, default_value = "table")]
    pub output: OutputFormat,
}

/// `veritrace member ...`.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Lists the Raft members.
    List(EndpointArgs),
    /// Adds a node as a non-voting learner; it catches up by snapshot.
    Add {
        #[command(flatten)]
        target: EndpointArgs,
        /// The new node's configuration file: its id, key, addresses and
        /// gRPC endpoint are read from it (instead of the flags below).
        #[arg(long, conflicts_with_all = ["node_id", "peer_id", "addr"])]
        config: Option<PathBuf>,
        /// Raft node id of the new node (0: derived from the peer id).
        #[arg(long, default_value_t = 0)]
        node_id: u64,
        /// libp2p PeerId of the new node.
        #[arg(long, required_unless_present = "config")]
        peer_id: Option<String>,
        /// libp2p multiaddr of the new node (repeatable).
        #[arg(long)]
        addr: Vec<String>,
        /// gRPC endpoint of the new node.
        #[arg(long, default_value = "")]
        api: String,
    },
    /// Promotes a caught-up learner to voter.
    Promote {
        #[command(flatten)]
        target: EndpointArgs,
        /// Raft node id of the learner.
        node_id: u64,
    },
    /// Removes a voter or learner (refused if it would endanger quorum).
    Remove {
        #[command(flatten)]
        target: EndpointArgs,
        /// Raft node id of the member.
        node_id: u64,
    },
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}

async fn connect(endpoint: &str) -> anyhow::Result<Client> {
    Ok(Client::connect(endpoint).await?)
}

/// `veritrace status`.
pub fn status(args: EndpointArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let status = connect(&args.endpoint).await?.status().await?;
        print!("{}", render_status(&status, args.output));
        Ok(())
    })
}

/// `veritrace member ...`.
pub fn member(cmd: MemberCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        match cmd {
            MemberCommand::List(args) => {
                let members = connect(&args.endpoint).await?.list_members().await?;
                print!("{}", render_members(&members, args.output));
            }
            MemberCommand::Add { target, config, node_id, peer_id, addr, api } => {
                let (node_id, peer_id, addr, api) = match config {
                    Some(path) => learner_from_config(&path)?,
                    None => (node_id, peer_id.unwrap_or_default(), addr, api),
                };
                let client = connect(&target.endpoint).await?;
                let added = client.add_learner(node_id, &peer_id, addr, &api).await?;
                let member = added.member.unwrap_or_default();
                println!("added node {} as a learner at log index {}", member.node_id, added.log_index);
            }
            MemberCommand::Promote { target, node_id } => {
                let r = connect(&target.endpoint).await?.promote_member(node_id).await?;
                println!("promoted node {node_id} to voter at log index {}", r.log_index);
            }
            MemberCommand::Remove { target, node_id } => {
                let r = connect(&target.endpoint).await?.remove_member(node_id).await?;
                println!("removed node {node_id} at log index {}", r.log_index);
            }
        }
        Ok(())
    })
}

/// Reads a joining node's id, peer id, address and endpoint from its config.
fn learner_from_config(path: &std::path::Path) -> anyhow::Result<(u64, String, Vec<String>, String)> {
    let config = veritrace_node::NodeConfig::load(path)?;
    let seed = veritrace_node::read_seed_file(&config.node.key_file)?;
    let peer_id = veritrace_node::peer_id_of(&seed)?.to_string();
    Ok((config.node.id, peer_id, vec![config.network.listen.clone()], format!("http://{}", config.api.listen)))
}

/// `veritrace transfer-leader`.
pub fn transfer_leader(target: EndpointArgs, to: u64) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let r = connect(&target.endpoint).await?.transfer_leader(to).await?;
        println!("node {} leads (term {})", r.leader_id, r.term);
        Ok(())
    })
}

/// `veritrace snapshot create`.
pub fn snapshot_create(target: EndpointArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let r = connect(&target.endpoint).await?.create_snapshot().await?;
        println!("snapshot at index {} (term {}): {} leaves, {} bytes", r.index, r.term, r.tree_size, r.size_bytes);
        Ok(())
    })
}
