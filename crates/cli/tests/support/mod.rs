//! A local cluster of real `veritrace node start` processes on loopback,
//! for the multi-process tests: real RocksDB, real libp2p, real gRPC over
//! TCP, processes killed with SIGKILL. Every wait has a deadline; on a
//! failing test the nodes' logs are printed.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use prost::Message as _;
use veritrace_client::Client;
use veritrace_core::code::{CodePolicy, CodeSalt, code_digest, generate_code};
use veritrace_core::gs1::{Gtin, Serial, Sgtin};
use veritrace_core::{Envelope, SecretKey};
use veritrace_node::NodeConfig;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

pub const BIN: &str = env!("CARGO_BIN_EXE_veritrace");

/// Runs the binary to completion.
pub fn veritrace(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("VERITRACE_ENDPOINT").output().expect("run veritrace")
}

/// Runs the binary and returns stdout, failing the test on an error exit.
pub fn ok(args: &[&str]) -> String {
    let o = veritrace(args);
    assert!(
        o.status.success(),
        "veritrace {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs the binary and returns stdout, failing the test unless it exits
/// with `code` (e.g. 16 for `verify` of a recalled item).
pub fn exits(code: i32, args: &[&str]) -> String {
    let o = veritrace(args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "veritrace {args:?}: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The exit code `veritrace verify -o json` documents for the verdict in
/// its answer: 0 genuine, else 10 + the verdict's number.
pub fn verdict_exit_code(answer_json: &str) -> i32 {
    let v: serde_json::Value = serde_json::from_str(answer_json).unwrap_or_else(|e| panic!("{e}: {answer_json}"));
    match v["verdict"].as_str() {
        Some("genuine_first_scan" | "genuine_seen_before") => 0,
        Some("suspected_clone") => 13,
        Some("invalid_code") => 14,
        Some("unknown_item") => 15,
        Some("recalled") => 16,
        Some("withdrawn") => 17,
        other => panic!("no verdict word {other:?} in {answer_json}"),
    }
}

/// A base port whose gRPC (base + k), peer (base + 100 + k), ops
/// (base + 200 + k) and web (base + 300 + k) ports are free for `n` nodes.
///
/// Every port stays below 32768, where Linux's ephemeral range starts: a
/// port in that range can be taken by any outgoing connection between this
/// check and the node's bind (a late-started node once failed exactly so).
/// Tests of one binary run in parallel, so each call also starts from a
/// different range than the calls before it.
pub fn free_base_port(n: u16) -> u16 {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = u64::from(std::process::id()).wrapping_mul(7919) + call * 37;
    for attempt in 0..200u64 {
        let base = 20_000 + ((seed + attempt * 211) % 120) as u16 * 100;
        let ports = (1..=n).flat_map(|k| [base + k, base + 100 + k, base + 200 + k, base + 300 + k]);
        if ports.clone().all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no free port range");
}

pub struct Proc {
    pub child: Option<Child>,
    pub config: PathBuf,
    pub api: String,
    /// Ops HTTP base URL, e.g. `http://127.0.0.1:20201`.
    pub ops: String,
    /// Public web base URL (resolver, consumer page), e.g. `http://127.0.0.1:20301`.
    pub web: String,
    pub log: PathBuf,
}

pub struct TestCluster {
    pub dir: tempfile::TempDir,
    /// `admin.token` of the `init` output: what admin commands need.
    pub admin_token: String,
    pub nodes: BTreeMap<u64, Proc>,
    pub network_id: String,
}

impl TestCluster {
    /// `veritrace init` for `voters` founding nodes and `learners` more,
    /// with `tweak` applied to every configuration. Starts nothing.
    pub fn init(voters: u16, learners: u16, tweak: impl Fn(&mut NodeConfig)) -> TestCluster {
        TestCluster::init_with(voters, learners, &[], tweak)
    }

    /// [`TestCluster::init`] with more `veritrace init` arguments (e.g.
    /// `--genesis-time`).
    pub fn init_with(voters: u16, learners: u16, extra: &[&str], tweak: impl Fn(&mut NodeConfig)) -> TestCluster {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("cluster");
        let base = free_base_port(voters + learners).to_string();
        let (v, l) = (voters.to_string(), learners.to_string());
        let mut args =
            vec!["init", "--nodes", &v, "--learners", &l, "--out", out.to_str().unwrap(), "--base-port", &base];
        args.extend_from_slice(extra);
        ok(&args);
        let mut nodes = BTreeMap::new();
        for k in 1..=(voters + learners) as u64 {
            let config = out.join(format!("node{k}")).join("veritrace.toml");
            let mut c = NodeConfig::load(&config).unwrap();
            tweak(&mut c);
            // `load` resolved paths against the file's directory; write them back relative.
            c.node.data_dir = "data".into();
            c.node.key_file = "node.key".into();
            c.node.genesis_file = "genesis.pb".into();
            std::fs::write(&config, c.to_toml().unwrap()).unwrap();
            let api = format!("http://{}", c.api.listen);
            let ops = c.ops.listen.map(|a| format!("http://{a}")).unwrap_or_default();
            let web = c.web.listen.map(|a| format!("http://{a}")).unwrap_or_default();
            let log = out.join(format!("node{k}.log"));
            nodes.insert(k, Proc { child: None, config, api, ops, web, log });
        }
        let admin_token = out.join("admin.token").to_str().unwrap().to_owned();
        TestCluster { dir, admin_token, nodes, network_id: "veritrace-local".into() }
    }

    /// `init` with default configurations, every founding node started,
    /// once they have elected a leader.
    pub async fn running(voters: u16, learners: u16) -> TestCluster {
        let mut cluster = TestCluster::init(voters, learners, |_| {});
        let ids: Vec<u64> = (1..=u64::from(voters)).collect();
        for id in &ids {
            cluster.start(*id);
        }
        cluster.leader(&ids).await;
        cluster
    }

    pub fn node_dir(&self, id: u64) -> PathBuf {
        self.nodes[&id].config.parent().unwrap().to_path_buf()
    }

    /// Starts `veritrace node start` for node `id` (appending to its log).
    pub fn start(&mut self, id: u64) {
        let p = self.nodes.get_mut(&id).unwrap();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&p.log).unwrap();
        let child = Command::new(BIN)
            .args(["node", "start", "--config", p.config.to_str().unwrap()])
            .env("VERITRACE_LOG", "info,veritrace_net=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn node");
        p.child = Some(child);
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut c) = self.nodes.get_mut(&id).unwrap().child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM; returns whether the node exited cleanly (status 0) in time.
    pub fn terminate(&mut self, id: u64) -> bool {
        let Some(mut c) = self.nodes.get_mut(&id).unwrap().child.take() else { return false };
        let status = Command::new("kill").args(["-TERM", &c.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(s) = c.try_wait().unwrap() {
                return s.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        c.kill().unwrap();
        false
    }

    pub fn api(&self, id: u64) -> &str {
        &self.nodes[&id].api
    }

    pub fn ops(&self, id: u64) -> &str {
        &self.nodes[&id].ops
    }

    /// Connection options that sign party-plane calls as party-1 (its key
    /// from `node1/party.key`).
    pub fn party_options(&self) -> veritrace_client::ConnectOptions {
        let party = Party::of_node(self, 1);
        veritrace_client::ConnectOptions {
            party: Some(veritrace_client::PartyCredential::new(party.id, party.key)),
            ..Default::default()
        }
    }

    /// A client of node `id` signing party-plane calls as party-1, once the
    /// node answers.
    pub async fn client(&self, id: u64) -> Client {
        let deadline = Instant::now() + Duration::from_secs(60);
        let options = self.party_options();
        loop {
            if let Ok(c) = Client::connect_with(self.api(id), &options).await
                && c.status().await.is_ok()
            {
                return c;
            }
            assert!(Instant::now() < deadline, "node {id} never answered on {}", self.api(id));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The leader as seen by the running nodes in `among`.
    pub async fn leader(&self, among: &[u64]) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for id in among {
                if let Ok(c) = Client::connect(self.api(*id)).await
                    && let Ok(s) = c.status().await
                    && s.role == pb::RaftRole::Leader as i32
                {
                    return *id;
                }
            }
            assert!(Instant::now() < deadline, "no leader among {among:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every node in `ids` reports the same tree size and root,
    /// at least `min_size`; returns the size.
    pub async fn converge(&self, ids: &[u64], min_size: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let mut heads = Vec::new();
            for id in ids {
                if let Ok(c) = Client::connect(self.api(*id)).await
                    && let Ok(s) = c.status().await
                {
                    heads.push((s.tree_size, s.root_hash));
                }
            }
            if heads.len() == ids.len() && heads.iter().all(|h| *h == heads[0]) && heads[0].0 >= min_size {
                return heads[0].0;
            }
            assert!(Instant::now() < deadline, "nodes {ids:?} did not converge: {heads:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for id in ids {
            self.kill(id);
        }
        if std::thread::panicking() {
            for (id, p) in &self.nodes {
                let log = std::fs::read_to_string(&p.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("---- node {id} log (last 40 lines) ----");
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// A founding party of the cluster, with its key from `nodeK/party.key`.
pub struct Party {
    pub id: String,
    pub key: SecretKey,
    pub network_id: String,
}

impl Party {
    pub fn of_node(cluster: &TestCluster, k: u64) -> Party {
        let seed = veritrace_node::read_seed_file(&cluster.node_dir(k).join("party.key")).unwrap();
        Party {
            id: format!("party-{k}"),
            key: veritrace_node::party_key(&seed).unwrap(),
            network_id: cluster.network_id.clone(),
        }
    }

    /// A signed EPCIS observation of asset `nonce` that the party's role
    /// allows (generated clusters: party-1 brand, party-2 inspection,
    /// party-3 customs), unique per `nonce`.
    pub fn event(&self, nonce: u64) -> (pb::SignedEnvelope, [u8; 32]) {
        let mut action = veritrace_ledger::testing::observe(&[&format!("urn:epc:id:giai:0614141.E{nonce}")], 0);
        if let veritrace_proto::v1::transaction::Action::EpcisEvent(e) = &mut action {
            e.biz_step = match self.id.as_str() {
                "party-2" => "inspecting".into(),
                "party-3" => veritrace_core::vocab::CUSTOMS_DECLARING.into(),
                _ => String::new(),
            };
        }
        let tx = pb::Transaction {
            network_id: self.network_id.clone(),
            ..veritrace_ledger::testing::tx(
                &veritrace_ledger::testing::TestParty { id: self.id.clone(), key: self.key.clone() },
                nonce,
                action,
            )
        };
        let env = Envelope::sign_transaction(&tx, &self.key);
        let proto = pb::SignedEnvelope::decode(env.bytes()).unwrap();
        (proto, *env.id().as_bytes())
    }
}

/// The path of a file in a node's directory.
pub fn in_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// A plain HTTP/1.0 GET of an ops endpoint: (status code, body), or `None`
/// when nothing answers.
pub fn http_get(base: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let authority = base.strip_prefix("http://")?;
    let mut stream = std::net::TcpStream::connect(authority).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

/// Polls `check` every 100 ms until it holds; fails the test naming `what`
/// after `secs` seconds.
pub async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs as cluster parties and submits through one node.
pub struct Signer {
    pub client: Client,
    pub network_id: String,
    pub nonce: u64,
}

impl Signer {
    pub fn envelope(
        &mut self,
        who: &veritrace_ledger::testing::TestParty,
        action: pb::transaction::Action,
    ) -> pb::SignedEnvelope {
        self.nonce += 1;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let tx = pb::Transaction {
            network_id: self.network_id.clone(),
            client_time: Some(veritrace_proto::timestamp_from_ms(now)),
            ..veritrace_ledger::testing::tx(who, self.nonce, action)
        };
        Envelope::sign_transaction(&tx, &who.key).to_proto()
    }

    pub async fn submit(
        &mut self,
        who: &veritrace_ledger::testing::TestParty,
        action: pb::transaction::Action,
    ) -> pb::Receipt {
        let env = self.envelope(who, action);
        self.client.submit(vec![env]).await.unwrap().remove(0)
    }

    pub async fn ok(
        &mut self,
        who: &veritrace_ledger::testing::TestParty,
        action: pb::transaction::Action,
    ) -> pb::Receipt {
        let r = self.submit(who, action).await;
        assert_eq!(r.outcome, pb::Outcome::Applied as i32, "{} refused: {} {}", who.id, r.reason, r.message);
        r
    }
}

/// Items of one lot with their clear codes, and the action that
/// commissions them (code digests only, no label tokens).
pub struct Batch {
    pub items: Vec<(Sgtin, String)>,
    pub action: Action,
}

/// Serials `{lot}-000`.. of `gtin`, each with a random 6-digit code.
pub fn batch(gtin: Gtin, lot: &str, n: usize) -> Batch {
    let policy = CodePolicy::default();
    let salt = CodeSalt::generate(&mut rand::rng());
    let mut items = Vec::new();
    let mut commissioned = Vec::new();
    for i in 0..n {
        let sgtin = Sgtin::new(gtin, Serial::parse(&format!("{lot}-{i:03}")).unwrap());
        let code = generate_code(&policy, &mut rand::rng()).unwrap();
        commissioned.push(pb::CommissionedItem {
            serial: sgtin.serial.to_string(),
            code_digest: code_digest(&salt, &sgtin.key_bytes(), &code).as_bytes().to_vec(),
            salt: vec![],
            // Labels without a token (as before tokens): anyone may try codes.
            label_token_digest: vec![],
        });
        items.push((sgtin, code));
    }
    let action = Action::CommissionItems(pb::CommissionItems {
        gtin: gtin.to_string(),
        lot: lot.into(),
        batch_salt: salt.as_bytes().to_vec(),
        items: commissioned,
        digest_scheme: pb::CodeDigestScheme::Blake3V1 as i32,
        ..Default::default()
    });
    Batch { items, action }
}
