//! A local cluster of real `veritrace node start` processes whose peer
//! links run through [`LinkProxy`]s, with the faults a nemesis needs:
//! SIGKILL and restart, SIGSTOP / SIGCONT, cutting and healing links, and
//! spare nodes that membership churn ([`crate::churn`]) brings in.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use veritrace_client::{AdminToken, Client, ConnectOptions, PartyCredential};
use veritrace_core::SecretKey;
use veritrace_node::NodeConfig;
use veritrace_proto::v1 as pb;

use crate::proxy::LinkProxy;

/// libfaketime for multi-threaded programs (Debian's `libfaketime`).
pub const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// A node process and what the harness knows of it.
#[derive(Debug)]
pub struct NodeProc {
    /// The running process, if started.
    child: Option<Child>,
    /// Paused with SIGSTOP.
    paused: bool,
    /// Its configuration file.
    pub config: PathBuf,
    /// Its gRPC endpoint.
    pub api: String,
    /// Its log (stderr), appended across restarts.
    pub log: PathBuf,
}

/// A founding party of the cluster: id and signing key.
#[derive(Debug, Clone)]
pub struct Party {
    /// `party-K`.
    pub id: String,
    /// Its key, from `nodeK/party.key`.
    pub key: SecretKey,
}

/// The current members' gRPC endpoints, by id: what the clients choose
/// from. Membership churn rewrites it.
pub type Endpoints = Arc<RwLock<Vec<(u64, String)>>>;

/// N nodes made by `veritrace init`, each peer link behind a proxy, and
/// spare nodes (`init --learners`) that are not members yet.
#[derive(Debug)]
pub struct Cluster {
    binary: PathBuf,
    dir: PathBuf,
    /// Every node, member or not, by Raft id: the founding voters 1..=n,
    /// then the spares.
    pub nodes: BTreeMap<u64, NodeProc>,
    /// The Raft members (voters) as the harness made them.
    members: BTreeSet<u64>,
    /// Spare nodes never added yet, in the order churn takes them.
    spares: Vec<u64>,
    /// How many founding voters `init` made (ids 1..=founders).
    founders: u64,
    /// Approvals a governance decision needs (the genesis rule).
    governance_threshold: u32,
    /// The members' endpoints, shared with the clients.
    endpoints: Endpoints,
    /// `links[(a, b)]`: the proxy node `a` dials node `b` through.
    links: BTreeMap<(u64, u64), LinkProxy>,
    /// The genesis network id.
    pub network_id: String,
}

/// A base port whose gRPC (base + k), peer (base + 100 + k) and ops (base +
/// 200 + k) ports are free for `n` nodes, below the ephemeral range.
fn free_base_port(n: u64) -> anyhow::Result<u16> {
    // The ports of node k are base + k, base + 100 + k, base + 200 + k, base + 300 + k;
    // `init` makes at most 64 nodes.
    if n > 64 {
        bail!("{n} nodes: `veritrace init` makes at most 64");
    }
    let seed = u64::from(std::process::id()).wrapping_mul(7919);
    for attempt in 0..200u64 {
        let base = 20_000 + ((seed + attempt * 211) % 120) as u16 * 100;
        let ports = (1..=n as u16).flat_map(|k| [base + k, base + 100 + k, base + 200 + k, base + 300 + k]);
        if ports.clone().all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return Ok(base);
        }
    }
    bail!("no free port range below 32768")
}

impl Cluster {
    /// Runs `binary init` for `n` voters and `spares` spare nodes in `dir`
    /// and routes every peer link through a proxy. Starts no node.
    pub async fn init(binary: &Path, n: u64, spares: u64, dir: &Path) -> anyhow::Result<Cluster> {
        let out = dir.join("cluster");
        let total = n + spares;
        let base = free_base_port(total)?.to_string();
        let status = Command::new(binary)
            .args(["init", "--nodes", &n.to_string(), "--learners", &spares.to_string(), "--out"])
            .arg(&out)
            .args(["--base-port", &base])
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("run {} init", binary.display()))?;
        if !status.success() {
            bail!("{} init failed: {status}", binary.display());
        }
        let mut configs = BTreeMap::new();
        for k in 1..=total {
            let path = out.join(format!("node{k}")).join("veritrace.toml");
            configs.insert(k, (path.clone(), NodeConfig::load(&path).with_context(|| path.display().to_string())?));
        }
        let mut links = BTreeMap::new();
        for a in 1..=total {
            for b in (1..=total).filter(|b| *b != a) {
                let target = peer_socket(&configs[&b].1)?;
                links.insert((a, b), LinkProxy::start(target).await?);
            }
        }
        let mut nodes = BTreeMap::new();
        let mut network_id = String::new();
        let mut governance_threshold = 0;
        for (k, (path, mut c)) in configs {
            for p in c.peers.iter_mut().filter(|p| p.id != k) {
                p.addrs = vec![format!("/ip4/127.0.0.1/tcp/{}", links[&(k, p.id)].addr().port())];
            }
            // A node re-reads its peers from the log's member list too; the
            // configured addresses win (`allowed_peers`), so traffic stays
            // on the proxies.
            c.node.data_dir = "data".into();
            c.node.key_file = "node.key".into();
            c.node.genesis_file = "genesis.pb".into();
            c.node.party_key_file = c.node.party_key_file.as_ref().map(|_| "party.key".into());
            c.node.genesis_seal_file = None;
            c.raft.snapshot_interval = 2000;
            c.raft.snapshot_keep_entries = 200;
            std::fs::write(&path, c.to_toml()?)?;
            let api = format!("http://{}", c.api.listen);
            let log = out.join(format!("node{k}.log"));
            nodes.insert(k, NodeProc { child: None, paused: false, config: path, api, log });
            if network_id.is_empty() {
                let genesis = read_genesis(&out.join(format!("node{k}")).join("genesis.pb"))?;
                network_id = genesis.network_id;
                governance_threshold = genesis.governance.map_or(1, |g| g.threshold.max(1));
            }
        }
        let members: BTreeSet<u64> = (1..=n).collect();
        let endpoints = members.iter().map(|id| (*id, nodes[id].api.clone())).collect();
        Ok(Cluster {
            binary: binary.to_path_buf(),
            dir: out,
            nodes,
            members,
            spares: (n + 1..=total).collect(),
            founders: n,
            governance_threshold,
            endpoints: Arc::new(RwLock::new(endpoints)),
            links,
            network_id,
        })
    }

    /// The ids of the members (what faults hit and the checker reads).
    pub fn ids(&self) -> Vec<u64> {
        self.members.iter().copied().collect()
    }

    /// How many founding voters `init` made: the admins who decide
    /// governance.
    pub fn founders(&self) -> u64 {
        self.founders
    }

    /// Approvals a governance decision needs (the genesis rule; `init`
    /// sets a majority of the founders).
    pub fn governance_threshold(&self) -> u32 {
        self.governance_threshold
    }

    /// The members' endpoints, kept current for the clients.
    pub fn endpoints(&self) -> Endpoints {
        Arc::clone(&self.endpoints)
    }

    /// Takes the next spare node, if any is left.
    pub fn take_spare(&mut self) -> Option<u64> {
        (!self.spares.is_empty()).then(|| self.spares.remove(0))
    }

    /// Records that `id` became a member (clients may use it) or left
    /// (`false`: clients stop using it, faults and the checker skip it).
    pub fn set_member(&mut self, id: u64, member: bool) {
        if member {
            self.members.insert(id);
        } else {
            self.members.remove(&id);
        }
        let endpoints = self.members.iter().copied().zip(self.member_apis()).collect();
        *self.endpoints.write().unwrap_or_else(std::sync::PoisonError::into_inner) = endpoints;
    }

    /// The members' gRPC endpoints, in id order.
    pub fn member_apis(&self) -> Vec<String> {
        self.members.iter().map(|id| self.api(*id).to_owned()).collect()
    }

    /// Node `id`'s configuration as written.
    pub fn config(&self, id: u64) -> anyhow::Result<NodeConfig> {
        let p = self.nodes.get(&id).with_context(|| format!("no node {id}"))?;
        NodeConfig::load(&p.config).with_context(|| p.config.display().to_string())
    }

    /// Node `id`'s libp2p PeerId, from its `node.key`.
    pub fn peer_id(&self, id: u64) -> anyhow::Result<String> {
        let path = self.dir.join(format!("node{id}")).join("node.key");
        let seed = veritrace_node::read_seed_file(&path).with_context(|| path.display().to_string())?;
        Ok(veritrace_node::peer_id_of(&seed)?.to_string())
    }

    /// Options for the admin plane (`ClusterService`): the operators'
    /// token from `init`, and party-1's credential.
    pub fn admin_options(&self) -> anyhow::Result<ConnectOptions> {
        let token = AdminToken::from_file(&self.dir.join("admin.token"))?;
        Ok(ConnectOptions { admin_token: Some(token), ..self.options()? })
    }

    /// Starts node `id` (its log appended to).
    pub fn start(&mut self, id: u64) -> anyhow::Result<()> {
        self.start_with_clock(id, 0)
    }

    /// Starts node `id` with its wall clock `skew_secs` off (libfaketime;
    /// the monotonic clock, which timers use, is left alone). 0: the real
    /// clock.
    pub fn start_with_clock(&mut self, id: u64, skew_secs: i64) -> anyhow::Result<()> {
        let binary = self.binary.clone();
        let p = self.node_mut(id)?;
        if p.child.is_some() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&p.log)?;
        let mut command = Command::new(binary);
        command.args(["node", "start", "--config"]).arg(&p.config).env("VERITRACE_LOG", "info,veritrace_net=warn");
        if skew_secs != 0 {
            if !Path::new(FAKETIME).exists() {
                bail!("{FAKETIME} is missing (scripts/install-build-deps.sh installs libfaketime)");
            }
            command
                .env("LD_PRELOAD", FAKETIME)
                .env("FAKETIME", format!("{skew_secs:+}s"))
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
                .env("FAKETIME_DONT_RESET", "1");
        }
        let child = command.stdout(Stdio::null()).stderr(log).spawn().context("spawn a node")?;
        p.child = Some(child);
        p.paused = false;
        Ok(())
    }

    /// SIGKILL: the process gets no chance to flush or say goodbye.
    pub fn kill(&mut self, id: u64) -> anyhow::Result<()> {
        let p = self.node_mut(id)?;
        if let Some(mut c) = p.child.take() {
            if p.paused {
                let _ = signal(c.id(), "CONT");
            }
            c.kill()?;
            c.wait()?;
        }
        p.paused = false;
        Ok(())
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`).
    pub fn pause(&mut self, id: u64, pause: bool) -> anyhow::Result<()> {
        let p = self.node_mut(id)?;
        if let Some(c) = &p.child
            && p.paused != pause
        {
            signal(c.id(), if pause { "STOP" } else { "CONT" })?;
            p.paused = pause;
        }
        Ok(())
    }

    /// Whether node `id` runs (started, not killed).
    pub fn is_running(&self, id: u64) -> bool {
        self.nodes.get(&id).is_some_and(|p| p.child.is_some())
    }

    /// Whether node `id` is paused.
    pub fn is_paused(&self, id: u64) -> bool {
        self.nodes.get(&id).is_some_and(|p| p.paused)
    }

    /// Cuts every link between a node of `side` and a node not in it.
    pub fn partition(&self, side: &[u64]) {
        for ((a, b), proxy) in &self.links {
            if side.contains(a) != side.contains(b) {
                proxy.cut();
            }
        }
    }

    /// Heals every link.
    pub fn heal(&self) {
        for proxy in self.links.values() {
            proxy.heal();
        }
    }

    /// Node `id`'s gRPC endpoint.
    pub fn api(&self, id: u64) -> &str {
        self.nodes.get(&id).map_or("", |p| p.api.as_str())
    }

    /// The founding party operating node `k`.
    pub fn party(&self, k: u64) -> anyhow::Result<Party> {
        let path = self.dir.join(format!("node{k}")).join("party.key");
        let seed = veritrace_node::read_seed_file(&path).with_context(|| path.display().to_string())?;
        Ok(Party { id: format!("party-{k}"), key: veritrace_node::party_key(&seed)? })
    }

    /// Options signing party-plane calls as party-1.
    pub fn options(&self) -> anyhow::Result<ConnectOptions> {
        let p = self.party(1)?;
        Ok(ConnectOptions {
            party: Some(PartyCredential::new(p.id, p.key)),
            request_timeout: Some(Duration::from_secs(5)),
            submit_retries: 0,
            ..Default::default()
        })
    }

    /// A client of node `id`, once it answers (`None` after `wait`).
    pub async fn client(&self, id: u64, wait: Duration) -> Option<Client> {
        let deadline = Instant::now() + wait;
        let options = self.options().ok()?;
        loop {
            if let Ok(c) = Client::connect_with(self.api(id), &options).await
                && c.status().await.is_ok()
            {
                return Some(c);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The leader as the running nodes see it.
    pub async fn leader(&self, wait: Duration) -> Option<u64> {
        let deadline = Instant::now() + wait;
        loop {
            for id in self.ids().into_iter().filter(|id| self.is_running(*id) && !self.is_paused(*id)) {
                if let Ok(c) = Client::connect(self.api(id)).await
                    && let Ok(s) = c.status().await
                    && s.role == pb::RaftRole::Leader as i32
                {
                    return Some(id);
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last `lines` lines of node `id`'s log.
    pub fn log_tail(&self, id: u64, lines: usize) -> String {
        let text = self.nodes.get(&id).and_then(|p| std::fs::read_to_string(&p.log).ok()).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    fn node_mut(&mut self, id: u64) -> anyhow::Result<&mut NodeProc> {
        self.nodes.get_mut(&id).with_context(|| format!("no node {id}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let all: Vec<u64> = self.nodes.keys().copied().collect();
        for id in all {
            let _ = self.kill(id);
        }
    }
}

/// Sends SIGSTOP / SIGCONT with kill(1): no unsafe code, no extra crate.
fn signal(pid: u32, name: &str) -> anyhow::Result<()> {
    let status = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status()?;
    if !status.success() {
        bail!("kill -{name} {pid}: {status}");
    }
    Ok(())
}

/// The TCP socket a node's libp2p listens on (`/ip4/A/tcp/P`).
fn peer_socket(c: &NodeConfig) -> anyhow::Result<SocketAddr> {
    let parts: Vec<&str> = c.network.listen.split('/').collect();
    match parts.as_slice() {
        ["", "ip4", ip, "tcp", port] => Ok(format!("{ip}:{port}").parse()?),
        _ => bail!("network.listen {:?} is not /ip4/A/tcp/P", c.network.listen),
    }
}

fn read_genesis(path: &Path) -> anyhow::Result<pb::Genesis> {
    use prost::Message as _;
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    Ok(pb::Genesis::decode(bytes.as_slice())?)
}
