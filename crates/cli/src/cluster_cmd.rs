//! Operator commands over gRPC: `status`, `member ...`, `transfer-leader`,
//! `snapshot create`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;
use veritrace_client::render::{OutputFormat, render_json, render_members, render_status};
use veritrace_client::{AdminToken, Client, ConnectOptions, TlsOptions};
use veritrace_proto::v1 as pb;

/// Where to reach a node and how to print its answer.
#[derive(Debug, Args)]
pub struct EndpointArgs {
    /// gRPC endpoint of a node, e.g. http://127.0.0.1:7401 (https:// with --cacert).
    #[arg(long, env = "VERITRACE_ENDPOINT", default_value = "http://127.0.0.1:7401")]
    pub endpoint: String,
    /// Output format: table or json.
    #[arg(short = 'o', long, default_value = "table")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How to reach a node: TLS (etcdctl's --cacert; the node's `[api.tls]`
/// decides whether a client certificate is needed) and the admin token
/// the admin commands send.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectArgs {
    /// CA certificate (PEM) that signed the node's certificate; turns TLS on.
    #[arg(long, env = "VERITRACE_CACERT")]
    pub cacert: Option<PathBuf>,
    /// This client's certificate (PEM), for nodes that require one (ClusterService).
    #[arg(long, env = "VERITRACE_CLIENT_CERT", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) of --client-cert.
    #[arg(long, env = "VERITRACE_CLIENT_KEY", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// The admin token file (`admin.token` of `veritrace init`'s output):
    /// membership, leadership, snapshot, backup and audit commands need it.
    #[arg(long, env = "VERITRACE_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// The party whose key signs party-plane calls (watch, submissions):
    /// nodes refuse them from no one. `tx` and `items` sign as their
    /// `--party` when this is not given.
    #[arg(long, env = "VERITRACE_AS_PARTY", requires = "party_key")]
    pub as_party: Option<String>,
    /// The signing key of --as-party: a file holding the hex of a 32-byte
    /// ed25519 seed (`party.key` of `veritrace init`'s output).
    #[arg(long, env = "VERITRACE_PARTY_KEY_FILE", requires = "as_party")]
    pub party_key: Option<PathBuf>,
}

impl ConnectArgs {
    /// Connection options: TLS when --cacert is given, the admin token
    /// when --admin-token-file is, the party credential when --as-party is.
    pub fn options(&self) -> anyhow::Result<ConnectOptions> {
        let mut options = ConnectOptions::default();
        if let Some(path) = &self.admin_token_file {
            options.admin_token = Some(AdminToken::from_file(path)?);
        }
        if let (Some(party), Some(path)) = (&self.as_party, &self.party_key) {
            options.party = Some(party_credential(party, path)?);
        }
        if self.cacert.is_some() || self.client_cert.is_some() {
            options.tls = Some(TlsOptions::from_files(
                self.cacert.as_deref(),
                self.client_cert.as_deref(),
                self.client_key.as_deref(),
            )?);
        }
        Ok(options)
    }
}

/// The credential of `party` signing with the seed in `key_file`.
pub fn party_credential(party: &str, key_file: &std::path::Path) -> anyhow::Result<veritrace_client::PartyCredential> {
    let seed = veritrace_node::read_seed_file(key_file)?;
    let key = veritrace_node::party_key(&seed)?;
    Ok(veritrace_client::PartyCredential::new(party, key))
}

/// `veritrace member ...`.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Lists the Raft members.
    List(EndpointArgs),
    /// Adds a node as a non-voting learner; it catches up by snapshot, then
    /// `member promote` makes it a voter.
    Add {
        #[command(flatten)]
        target: EndpointArgs,
        /// Add as a learner. Members always join as learners (Raft's safe
        /// path); the flag states it explicitly, as `etcdctl member add --learner`.
        #[arg(long, default_value_t = true)]
        learner: bool,
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

/// Connects to the node of `target`, with its TLS options.
pub(crate) async fn connect(target: &EndpointArgs) -> anyhow::Result<Client> {
    connect_to(&target.endpoint, &target.connect).await
}

/// Connects to `endpoint` with the TLS options of `tls`.
pub(crate) async fn connect_to(endpoint: &str, tls: &ConnectArgs) -> anyhow::Result<Client> {
    Ok(Client::connect_with(endpoint, &tls.options()?).await?)
}

/// `veritrace status`.
pub fn status(args: EndpointArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let status = connect(&args).await?.status().await?;
        print!("{}", render_status(&status, args.output));
        Ok(())
    })
}

/// `veritrace member ...`.
pub fn member(cmd: MemberCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        match cmd {
            MemberCommand::List(args) => {
                let members = connect(&args).await?.list_members().await?;
                print!("{}", render_members(&members, args.output));
            }
            MemberCommand::Add { target, learner: _, config, node_id, peer_id, addr, api } => {
                let (node_id, peer_id, addr, api) = match config {
                    Some(path) => learner_from_config(&path)?,
                    None => (node_id, peer_id.unwrap_or_default(), addr, api),
                };
                let client = connect(&target).await?;
                let added = client.add_learner(node_id, &peer_id, addr, &api).await?;
                let member = added.member.unwrap_or_default();
                match target.output {
                    OutputFormat::Json => print!(
                        "{}",
                        render_json(
                            &json!({"node_id": member.node_id, "kind": "learner", "log_index": added.log_index})
                        )
                    ),
                    OutputFormat::Table => {
                        println!("added node {} as a learner at log index {}", member.node_id, added.log_index)
                    }
                }
            }
            MemberCommand::Promote { target, node_id } => {
                let r = connect(&target).await?.promote_member(node_id).await?;
                match target.output {
                    OutputFormat::Json => {
                        print!(
                            "{}",
                            render_json(&json!({"node_id": node_id, "kind": "voter", "log_index": r.log_index}))
                        )
                    }
                    OutputFormat::Table => println!("promoted node {node_id} to voter at log index {}", r.log_index),
                }
            }
            MemberCommand::Remove { target, node_id } => {
                let r = connect(&target).await?.remove_member(node_id).await?;
                match target.output {
                    OutputFormat::Json => {
                        print!("{}", render_json(&json!({"node_id": node_id, "log_index": r.log_index})))
                    }
                    OutputFormat::Table => println!("removed node {node_id} at log index {}", r.log_index),
                }
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
    Ok((config.node.id, peer_id, config.advertised_addrs(), config.advertised_api()))
}

/// `veritrace transfer-leader`.
pub fn transfer_leader(target: EndpointArgs, to: u64) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let r = connect(&target).await?.transfer_leader(to).await?;
        match target.output {
            OutputFormat::Json => print!("{}", render_json(&json!({"leader_id": r.leader_id, "term": r.term}))),
            OutputFormat::Table => println!("node {} leads (term {})", r.leader_id, r.term),
        }
        Ok(())
    })
}

/// `veritrace snapshot create`.
pub fn snapshot_create(target: EndpointArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let r = connect(&target).await?.create_snapshot().await?;
        match target.output {
            OutputFormat::Json => print!(
                "{}",
                render_json(
                    &json!({"index": r.index, "term": r.term, "tree_size": r.tree_size, "size_bytes": r.size_bytes})
                )
            ),
            OutputFormat::Table => println!(
                "snapshot at index {} (term {}): {} leaves, {} bytes",
                r.index, r.term, r.tree_size, r.size_bytes
            ),
        }
        Ok(())
    })
}

/// `veritrace watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: EndpointArgs,
    /// First leaf to show (resume with the last leaf seen + 1).
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Only envelopes of this party (repeatable).
    #[arg(long)]
    pub party: Vec<String>,
    /// Only this action, e.g. epcisEvent's field name `epcis_event` (repeatable).
    #[arg(long)]
    pub action: Vec<String>,
    /// Only envelopes about this item (SGTIN EPC URI or GS1 Digital Link; repeatable).
    #[arg(long)]
    pub item: Vec<String>,
    /// Only envelopes naming this GTIN-14 (repeatable).
    #[arg(long)]
    pub gtin: Vec<String>,
    /// Stop after this many entries (0: follow until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    pub limit: u64,
}

/// Prints ledger entries as they come: one line each, or with `-o json` one
/// JSON object a line (`leaf_index`, `log_index`, `party_id`, `action`,
/// `envelope_id` in hex); tree heads as `-- tree size N root R` (tables only).
pub fn watch(args: WatchArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let client = connect(&args.target).await?;
        let request = pb::WatchRequest {
            start_leaf_index: args.from,
            party_ids: args.party,
            actions: args.action,
            gtins: args.gtin,
            shard_id: 0,
            item_ids: args.item,
        };
        let mut stream = client.watch(request).await?;
        let mut seen = 0u64;
        while let Some(message) = stream.message().await? {
            match message.event {
                Some(pb::watch_response::Event::Entry(entry)) => {
                    let receipt = entry.receipt.unwrap_or_default();
                    // An envelope with code material comes withheld, its transaction cleared of it.
                    let tx = match (entry.envelope, entry.withheld) {
                        (Some(envelope), _) => {
                            veritrace_core::Envelope::decode(&prost::Message::encode_to_vec(&envelope))
                                .and_then(|e| e.transaction())
                                .ok()
                        }
                        (None, Some(withheld)) => withheld.transaction,
                        (None, None) => None,
                    };
                    let party = tx.as_ref().map(|t| t.party_id.clone()).unwrap_or_default();
                    let action =
                        tx.as_ref().and_then(|t| t.action.as_ref()).map(veritrace_ledger::action_name).unwrap_or("?");
                    let id = hex::encode(&receipt.envelope_id);
                    match args.target.output {
                        OutputFormat::Json => println!(
                            "{}",
                            json!({"leaf_index": receipt.leaf_index, "log_index": receipt.log_index,
                                   "party_id": party, "action": action, "envelope_id": id})
                        ),
                        OutputFormat::Table => println!("{:>8}  {party:<24} {action:<24} {id}", receipt.leaf_index),
                    }
                    seen += 1;
                    if args.limit > 0 && seen >= args.limit {
                        return Ok(());
                    }
                }
                Some(pb::watch_response::Event::TreeHead(head)) if args.target.output == OutputFormat::Table => {
                    println!("-- tree size {} root {}", head.tree_size, hex::encode(&head.root_hash));
                }
                Some(pb::watch_response::Event::TreeHead(_)) | None => {}
            }
        }
        Ok(())
    })
}

/// `veritrace health`: the node's grpc.health.v1 status ("" = the whole node).
pub fn health(args: EndpointArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let status = connect(&args).await?.health("").await?;
        match args.output {
            // grpc.health.v1 names its values SERVING, NOT_SERVING...: lowercase words in JSON.
            OutputFormat::Json => print!(
                "{}",
                render_json(&json!({ "endpoint": args.endpoint, "status": status.as_str().to_ascii_lowercase() }))
            ),
            OutputFormat::Table => println!("{}: {}", args.endpoint, status.as_str()),
        }
        if status == veritrace_client::ServingStatus::Serving {
            Ok(())
        } else {
            Err(crate::admin_cmd::CheckFailed(format!("{} is {}", args.endpoint, status.as_str())).into())
        }
    })
}
