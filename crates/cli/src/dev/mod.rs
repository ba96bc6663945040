//! `veritrace dev`: the main job in one command. A local network of four
//! parties (brand, inspection bureau, customs, e-commerce platform), each a
//! separate `veritrace node start` process on loopback, under one data
//! directory; the cosmetics demo journey against it; a consumer
//! verification and the endpoints printed; then it keeps running until
//! Ctrl-C or SIGTERM and stops every node cleanly.
//!
//! Re-running reuses the data directory (the network and its ledger carry
//! on; the demo runs a new journey with new serials); `--fresh` deletes it
//! first.
//!
//! The developer tools of the production binary live here and only here:
//! [`demo`] (`veritrace demo`) and [`journey`] (the journey `dev` and
//! `demo --cluster` run over gRPC). They use the node's public files
//! (`cluster.json`, the party keys `init` wrote) and its gRPC API; load
//! generation is `veritrace-bench`'s, a binary of its own.

mod code_key;
pub mod demo;
mod demo_checks;
mod demo_node;
pub mod journey;

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use veritrace_node::{ClusterFile, InitOptions, generate_local_cluster};
use veritrace_proto::v1 as pb;

/// `veritrace dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Data directory of the local network (created on first run).
    #[arg(long, default_value = ".veritrace/dev")]
    pub data_dir: PathBuf,
    /// Delete the data directory first and start a new network.
    #[arg(long)]
    pub fresh: bool,
    /// Node k serves gRPC on base-port + k, peers on base-port + 100 + k and
    /// ops HTTP on base-port + 200 + k and the web page on base-port + 300 + k
    /// (first run only).
    #[arg(long, default_value_t = 7400)]
    pub base_port: u16,
    /// Start the network without running the demo journey.
    #[arg(long)]
    pub no_demo: bool,
    /// Stop after the demo instead of running until Ctrl-C (for scripts and tests).
    #[arg(long)]
    pub exit_after_demo: bool,
}

/// The four founding parties' business roles, in node order.
const ROLES: [pb::PartyRole; 4] =
    [pb::PartyRole::BrandOwner, pb::PartyRole::Inspection, pb::PartyRole::Customs, pb::PartyRole::Platform];

/// Node processes, stopped (SIGTERM, then SIGKILL after a grace period) on drop.
struct Nodes(Vec<(String, Child)>);

impl Nodes {
    fn stop(&mut self) {
        for (_, child) in &self.0 {
            // std has no SIGTERM; `kill` is in every base system.
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        for (name, child) in &mut self.0 {
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                    _ => {
                        eprintln!("{name} did not stop within 15 s; killing it");
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        self.0.clear();
    }

    /// The first node that exited on its own, with its status.
    fn exited(&mut self) -> Option<(String, std::process::ExitStatus)> {
        self.0.iter_mut().find_map(|(n, c)| c.try_wait().ok().flatten().map(|s| (n.clone(), s)))
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        self.stop();
    }
}

fn prepare(args: &DevArgs) -> anyhow::Result<ClusterFile> {
    let cluster_json = args.data_dir.join(veritrace_node::init::CLUSTER_FILE_NAME);
    if args.fresh && args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir).with_context(|| format!("deleting {}", args.data_dir.display()))?;
    }
    let created = !cluster_json.exists();
    if created {
        let mut opts = InitOptions::new(ROLES.len(), &args.data_dir);
        opts.base_port = args.base_port;
        opts.network_id = "veritrace-dev".into();
        opts.roles = ROLES.to_vec();
        generate_local_cluster(&opts)?;
    }
    let text = std::fs::read_to_string(&cluster_json).with_context(|| format!("reading {}", cluster_json.display()))?;
    let file: ClusterFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", cluster_json.display()))?;
    if created {
        code_key::deal(&args.data_dir, &file)?;
        println!(
            "created a 4-party network in {}, and the brand's code key, split {}-of-{} among the nodes",
            args.data_dir.display(),
            file.nodes.len() / 2 + 1,
            file.nodes.len()
        );
    } else {
        println!("reusing the network in {} (--fresh starts over)", args.data_dir.display());
    }
    Ok(file)
}

fn spawn(dir: &Path, file: &ClusterFile) -> anyhow::Result<Nodes> {
    let exe = std::env::current_exe().context("locating the veritrace binary")?;
    let mut nodes = Nodes(Vec::new());
    for n in &file.nodes {
        let log_path = dir.join(&n.name).join("node.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let err = log.try_clone().context("duplicating the log handle")?;
        // Own process group: Ctrl-C reaches `dev`, which stops the nodes in order.
        let child = Command::new(&exe)
            .process_group(0)
            .args(["node", "start", "--config"])
            .arg(dir.join(&n.config))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", n.name))?;
        nodes.0.push((n.name.clone(), child));
    }
    Ok(nodes)
}

/// Waits until every node's `/readyz` answers 200 (a leader and caught up).
fn wait_ready(file: &ClusterFile, nodes: &mut Nodes) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pending: Vec<&str> = file.nodes.iter().map(|n| n.ops.as_str()).collect();
    while !pending.is_empty() {
        if let Some((name, status)) = nodes.exited() {
            bail!("{name} exited ({status}) during start-up; see its node.log");
        }
        if Instant::now() > deadline {
            bail!("nodes not ready within 60 s: {}", pending.join(", "));
        }
        pending.retain(|ops| !crate::http_probe::get(ops, "/readyz").is_ok_and(|(code, _)| code == 200));
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Runs `veritrace dev`.
pub fn run(args: DevArgs) -> anyhow::Result<()> {
    let file = prepare(&args)?;
    let mut nodes = spawn(&args.data_dir, &file)?;
    print!("starting {} nodes ", file.nodes.len());
    wait_ready(&file, &mut nodes)?;
    println!("- all ready\n");
    if !args.no_demo {
        journey::run(&args.data_dir)?;
    }
    println!("\nThe network ({}), one node per party:", file.network_id);
    let mut rows = Vec::new();
    for n in &file.nodes {
        let party = n.party_id.clone().unwrap_or_default();
        let role = ROLES.get((n.id as usize).saturating_sub(1)).map(|r| r.as_str_name()).unwrap_or("");
        rows.push(vec![
            n.name.clone(),
            party,
            role.trim_start_matches("PARTY_ROLE_").to_owned(),
            n.api.clone(),
            n.web.clone(),
            format!("{}/metrics", n.ops),
            args.data_dir.join(&n.name).join("node.log").display().to_string(),
        ]);
    }
    print!("{}", veritrace_client::render::text_table(&["NODE", "PARTY", "ROLE", "GRPC", "WEB", "OPS", "LOG"], &rows));
    let first = file.nodes.first().map(|n| n.api.clone()).unwrap_or_default();
    println!("\nTry: veritrace cluster status --endpoint {first}");
    println!(
        "     veritrace snapshot create --endpoint {first} --admin-token-file {}   (admin commands need the token)",
        args.data_dir.join(veritrace_node::ADMIN_TOKEN_FILE).display()
    );
    if let Some(n) = file.nodes.first()
        && let Some(party) = &n.party_id
    {
        println!(
            "     veritrace watch --endpoint {first} --as-party {party} --party-key {} --limit 5   (party calls are signed)",
            args.data_dir.join(&n.name).join("party.key").display()
        );
    }
    println!("     grpcurl -plaintext {} list", first.trim_start_matches("http://"));
    if args.exit_after_demo {
        println!("\nstopping the nodes (--exit-after-demo)");
        nodes.stop();
        return Ok(());
    }
    println!("\nRunning; Ctrl-C stops every node.");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let exited = runtime.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let stop = crate::node_cmd::shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return None,
                _ = tick.tick() => if let Some(e) = nodes.exited() { return Some(e) },
            }
        }
    });
    println!("\nstopping the nodes...");
    nodes.stop();
    if let Some((name, status)) = exited {
        bail!("{name} exited ({status}); see its node.log");
    }
    println!("stopped; `veritrace dev` again carries on with the same network");
    Ok(())
}
