//! [`TestCluster`]: N in-process replicas serving gRPC on loopback.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use veritrace_consensus::sim::{self, SimNetwork};
use veritrace_consensus::{Clock, DriverConfig, NodeId, ProposalGate, RAFT_CFS};
use veritrace_core::SecretKey;
use veritrace_core::oprf::files::ShareFile;
use veritrace_ledger::ALL_CFS;
use veritrace_ledger::testing as fx;
use veritrace_proto::v1 as pb;
use veritrace_server::{ApiSection, ServeOptions, TlsSection};
use veritrace_service::{Bootstrap, Engine, HeadSigner, MemberInfo, Service, ServiceConfig};
use veritrace_storage::crash::CrashEngine;
use veritrace_storage::faulty::{FaultyEngine, WriteFaults};

use crate::faults::{Faults, ForkingHeadSigner, LyingHeadSigner};
use crate::peers::SimPeers;

/// How long the waiting helpers wait before they fail the test.
const WAIT: Duration = Duration::from_secs(20);

/// The key replica `id` signs tree heads with (derived from a label;
/// never for real use). Tests trust its public half.
pub fn node_key(id: NodeId) -> SecretKey {
    SecretKey::from_seed_label(&format!("testkit/node-{id}"))
}

/// How to start a [`TestCluster`].
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    voters: u64,
    learners: u64,
    seed: u64,
    tick: Duration,
    snapshot_interval: Option<u64>,
    lying: BTreeSet<NodeId>,
    forking: BTreeSet<NodeId>,
    parties: BTreeMap<NodeId, String>,
    tls: Option<TlsSection>,
    code_key_shares: BTreeMap<NodeId, ShareFile>,
    /// Deterministic simulation from this unix-ms epoch (see
    /// [`ClusterBuilder::deterministic`]).
    simulated_epoch_ms: Option<i64>,
}

impl ClusterBuilder {
    /// A cluster for deterministic simulation: run it on a current-thread
    /// runtime with paused time and drive it through
    /// [`TestCluster::service`], and the same seed replays the same run,
    /// bit for bit. For that:
    ///
    /// * every replica's Raft clock is Tokio's (simulated) clock, starting
    ///   at `epoch_ms` (unix ms), plus its skew; [`TestCluster::now_ms`]
    ///   reads the same clock, for envelopes' client times;
    /// * raft-rs draws election timeouts from an OS-seeded generator, so
    ///   each replica's timeout is pinned to a range of width one, the
    ///   order of the replicas' timeouts drawn from the seed;
    /// * no gRPC server starts (nothing on the real network); the API
    ///   addresses are fixed placeholders.
    ///
    /// Snapshot files are written on threads of their own: keep the
    /// default snapshot interval in a run that must replay.
    pub fn deterministic(mut self, epoch_ms: i64) -> Self {
        self.simulated_epoch_ms = Some(epoch_ms);
        self
    }

    /// Replicas that join later (ids after the voters' ids): they start
    /// with an empty log and wait to be added with `AddLearner`.
    pub fn learners(mut self, n: u64) -> Self {
        self.learners = n;
        self
    }

    /// The simulated network's seed (default 1).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The Raft tick (default 50 ms: an election within ~0.5-1 s, slow
    /// enough that a starved test thread does not cause spurious ones).
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// Applied entries between snapshots (default: the driver's), and as
    /// many kept behind each (so a follower that far behind catches up
    /// by snapshot).
    pub fn snapshot_interval(mut self, entries: u64) -> Self {
        self.snapshot_interval = Some(entries);
        self
    }

    /// Replica `id` holds `share` of a brand's code key (it helps check
    /// threshold-OPRF codes; see `veritrace_service::code_check`).
    pub fn code_key_share(mut self, id: NodeId, share: ShareFile) -> Self {
        self.code_key_shares.insert(id, share);
        self
    }

    /// Replica `id` signs tree heads that do not verify.
    pub fn lying_head_signer(mut self, id: NodeId) -> Self {
        self.lying.insert(id);
        self
    }

    /// Replica `id` is operated by fixture party `party` (default
    /// "admin-a" for every replica): it records scans as that party and
    /// holds that party's private data.
    pub fn node_party(mut self, id: NodeId, party: &str) -> Self {
        self.parties.insert(id, party.to_owned());
        self
    }

    /// Replica `id` serves validly signed heads of a forked history while
    /// co-signing its peers' heads honestly ([`crate::faults::ForkingHeadSigner`]).
    pub fn forking_head_signer(mut self, id: NodeId) -> Self {
        self.forking.insert(id);
        self
    }

    /// Serves every replica's gRPC API over TLS with these PEM files (the
    /// node's `[api.tls]` section: with a `client_ca_file`, ClusterService
    /// calls need a client certificate unless `admin_requires_client_cert`
    /// is false). [`TestCluster::api`] then names `https://` endpoints;
    /// connect with `veritrace_client::Client::connect_with` and TLS
    /// options ([`TestCluster::client`] speaks plaintext only).
    pub fn tls(mut self, tls: TlsSection) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Starts every replica (inside a Tokio runtime).
    pub async fn start(self) -> TestCluster {
        let ids: Vec<NodeId> = (1..=self.voters + self.learners).collect();
        let mut addrs = BTreeMap::new();
        let mut listeners = BTreeMap::new();
        for id in &ids {
            if self.simulated_epoch_ms.is_some() {
                // A placeholder: nothing listens there (no gRPC server).
                addrs.insert(*id, SocketAddr::from(([127, 0, 0, 1], 40_000 + *id as u16)));
                listeners.insert(*id, None);
                continue;
            }
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
            addrs.insert(*id, listener.local_addr().expect("local address"));
            listeners.insert(*id, Some(listener));
        }
        let (token, admin_token_blake3) = veritrace_server::admin_auth::new_token();
        let mut cluster = TestCluster {
            admin_token: veritrace_client::AdminToken::new(&token).expect("a fresh admin token"),
            admin_token_text: token.clone(),
            admin_token_blake3,
            net: SimNetwork::new(self.seed),
            dir: tempfile::tempdir().expect("a temporary directory"),
            genesis: fx::network_genesis(),
            write_faults: ids.iter().map(|id| (*id, WriteFaults::default())).collect(),
            proposal_gates: ids.iter().map(|id| (*id, ProposalGate::default())).collect(),
            engines: BTreeMap::new(),
            crash_engines: BTreeMap::new(),
            faults: ids.iter().map(|id| (*id, Faults::default())).collect(),
            clock_skews: ids.iter().map(|id| (*id, Arc::new(AtomicI64::new(0)))).collect(),
            running: BTreeMap::new(),
            addrs,
            origin: tokio::time::Instant::now(),
            builder: self,
        };
        for id in &ids {
            let (crash, engine) = new_engine(&cluster.write_faults[id]);
            cluster.crash_engines.insert(*id, crash);
            cluster.engines.insert(*id, engine);
        }
        for (id, listener) in listeners {
            cluster.launch(id, listener);
        }
        cluster
    }
}

/// A replica's store: an in-memory engine that can lose power
/// ([`TestCluster::power_cut`]) and whose writes fail while `faults` says
/// the disk is full ([`TestCluster::write_faults`]).
fn new_engine(faults: &WriteFaults) -> (Arc<CrashEngine>, Engine) {
    let cfs: Vec<&str> = ALL_CFS.iter().chain(RAFT_CFS).copied().collect();
    let crash = Arc::new(CrashEngine::new(&cfs));
    (Arc::clone(&crash), Arc::new(FaultyEngine::new(crash, faults.clone())))
}

/// One running replica.
struct Running {
    service: Service,
    driver: JoinHandle<()>,
    /// The gRPC server and its stop signal (none in a deterministic run).
    server: Option<(JoinHandle<()>, oneshot::Sender<()>)>,
}

/// N replicas in one process (see the crate docs). Dropping it stops them.
pub struct TestCluster {
    net: SimNetwork,
    dir: tempfile::TempDir,
    genesis: pb::Genesis,
    engines: BTreeMap<NodeId, Engine>,
    /// The same stores, as engines that can lose power.
    crash_engines: BTreeMap<NodeId, Arc<CrashEngine>>,
    /// Each replica's disk: writes fail while it is "full".
    write_faults: BTreeMap<NodeId, WriteFaults>,
    /// Each replica's proposal gate (what a node's disk watch closes).
    proposal_gates: BTreeMap<NodeId, ProposalGate>,
    faults: BTreeMap<NodeId, Faults>,
    /// The operators' admin token, and the hash every replica checks it against.
    admin_token: veritrace_client::AdminToken,
    admin_token_text: String,
    admin_token_blake3: String,
    /// Milliseconds added to each replica's Raft clock ([`TestCluster::skew_clock`]).
    clock_skews: BTreeMap<NodeId, Arc<AtomicI64>>,
    running: BTreeMap<NodeId, Running>,
    addrs: BTreeMap<NodeId, SocketAddr>,
    /// When the cluster started, on Tokio's clock (the simulated clock's
    /// zero in a deterministic run).
    origin: tokio::time::Instant,
    builder: ClusterBuilder,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("addrs", &self.addrs)
            .field("running", &self.running.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TestCluster {
    /// A builder for `voters` founding voters (ids 1..=voters).
    pub fn builder(voters: u64) -> ClusterBuilder {
        ClusterBuilder {
            voters,
            learners: 0,
            seed: 1,
            tick: Duration::from_millis(50),
            snapshot_interval: None,
            lying: BTreeSet::new(),
            forking: BTreeSet::new(),
            parties: BTreeMap::new(),
            tls: None,
            code_key_shares: Default::default(),
            simulated_epoch_ms: None,
        }
    }

    /// The time now, unix ms: Tokio's simulated clock from the epoch in a
    /// [`ClusterBuilder::deterministic`] run, the system clock otherwise.
    pub fn now_ms(&self) -> i64 {
        match self.builder.simulated_epoch_ms {
            Some(epoch) => epoch.saturating_add(self.origin.elapsed().as_millis() as i64),
            None => veritrace_service::now_ms(),
        }
    }

    /// Replica `id`'s pinned election timeout range in a deterministic
    /// run: `[min, min + 1)` ticks, `min` two ticks apart between replicas
    /// in an order drawn from the seed.
    fn pinned_election_range(&self, id: NodeId, election_ticks: usize) -> (usize, usize) {
        let mix = |k: NodeId| (k ^ self.builder.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
        let rank = self.addrs.keys().filter(|k| (mix(**k), **k) < (mix(id), id)).count();
        let min = election_ticks + 2 * rank;
        (min, min + 1)
    }

    /// `voters` founding voters with every default, started.
    pub async fn start(voters: u64) -> TestCluster {
        Self::builder(voters).start().await
    }

    fn member_info(&self, id: NodeId) -> MemberInfo {
        MemberInfo { peer_id: format!("sim{id}"), api: self.api(id), addrs: vec![format!("sim/{id}")] }
    }

    fn launch(&mut self, id: NodeId, listener: Option<TcpListener>) {
        let b = &self.builder;
        let (tx, rx) = mpsc::channel(4096);
        let transport = Arc::new(self.net.attach(id, tx));
        let mut driver = DriverConfig::new(id, self.dir.path().join(format!("node{id}")).join("snapshots"));
        driver.tick = b.tick;
        driver.proposal_gate = self.proposal_gates[&id].clone();
        let skew = Arc::clone(&self.clock_skews[&id]);
        driver.clock = match b.simulated_epoch_ms {
            Some(epoch) => {
                let origin = self.origin;
                driver.election_timeout_range = Some(self.pinned_election_range(id, driver.election_ticks));
                Clock::from_fn(move || {
                    epoch
                        .saturating_add(origin.elapsed().as_millis() as i64)
                        .saturating_add(skew.load(Ordering::Relaxed))
                })
            }
            None => {
                let system = Clock::system();
                Clock::from_fn(move || system.now_ms().saturating_add(skew.load(Ordering::Relaxed)))
            }
        };
        if let Some(n) = b.snapshot_interval {
            driver.snapshot_interval = n;
            driver.snapshot_keep_entries = driver.snapshot_keep_entries.min(n);
        }
        let party = b.parties.get(&id).cloned().unwrap_or_else(|| "admin-a".into());
        let head_signer: Arc<dyn HeadSigner> = if b.lying.contains(&id) {
            Arc::new(LyingHeadSigner(node_key(id)))
        } else if b.forking.contains(&id) {
            Arc::new(ForkingHeadSigner(node_key(id)))
        } else {
            Arc::new(node_key(id))
        };
        let config = ServiceConfig {
            node_id: id,
            peer_id: format!("sim{id}"),
            network_id: self.genesis.network_id.clone(),
            // A validator operator: only they count code attempts.
            party_id: Some(party.clone()),
            party_signer: Some(fx::party_key(&party)),
            head_signer,
            backup_dir: driver.snapshot_dir.clone(),
            private_dir: driver.snapshot_dir.with_extension("private"),
            ready_max_lag: 100,
            peers: Arc::new(SimPeers),
            code_key_shares: veritrace_service::CodeKeyShares::new(b.code_key_shares.get(&id).cloned()),
            build: veritrace_service::BuildInfo::crate_version(),
        };
        let founding = id <= b.voters;
        let boot = Bootstrap {
            initial_voters: if founding { (1..=b.voters).collect() } else { Vec::new() },
            members: (1..=b.voters).chain([id]).map(|k| (k, self.member_info(k).encode())).collect(),
        };
        let engine = Arc::clone(&self.engines[&id]);
        let started = veritrace_service::start(config, driver, engine, &self.genesis, boot, transport, rx)
            .unwrap_or_else(|e| panic!("replica {id} does not start: {e}"));
        let Some(listener) = listener else {
            self.running.insert(id, Running { service: started.service, driver: started.driver_task, server: None });
            return;
        };
        let mut api = ApiSection::new(self.addrs[&id]);
        // Every test client is 127.0.0.1: no per-IP limit.
        api.requests_per_second = 0;
        api.verification.per_address_per_minute = 0;
        api.tls = b.tls.clone();
        api.admin.token_blake3 = Some(self.admin_token_blake3.clone());
        let options = ServeOptions { api, observer: None, fault: Some(self.faults[&id].hook()) };
        let (stop_server, stopped) = oneshot::channel::<()>();
        let service = started.service.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = veritrace_server::serve(service, listener, options, shutdown).await {
                tracing::warn!(node = id, cause = %e, "test replica's server stopped");
            }
        });
        self.running.insert(
            id,
            Running { service: started.service, driver: started.driver_task, server: Some((server, stop_server)) },
        );
    }

    /// Replica `id`'s storage engine, kept across restarts: a test that
    /// writes to it directly plays a disk that changes data under the node.
    pub fn engine(&self, id: NodeId) -> &Engine {
        &self.engines[&id]
    }

    /// Replica `id`'s store as an engine that can lose power: arm
    /// [`CrashEngine::die_after`] to stop the replica at an exact write.
    pub fn crash_engine(&self, id: NodeId) -> &Arc<CrashEngine> {
        &self.crash_engines[&id]
    }

    /// A power cut at replica `id`: the process stops (as
    /// [`TestCluster::crash`]), and its store keeps what was synced plus the
    /// first `keep` unsynced writes. [`TestCluster::restart`] brings it
    /// back on what is left.
    pub async fn power_cut(&mut self, id: NodeId, keep: usize) {
        self.crash(id).await;
        self.crash_engines[&id].power_loss(keep).expect("an in-memory power loss cannot fail");
    }

    /// Replica `id`'s disk: [`WriteFaults::set_disk_full`] makes every
    /// write of its engine fail (kept across restarts).
    pub fn write_faults(&self, id: NodeId) -> &WriteFaults {
        &self.write_faults[&id]
    }

    /// Replica `id`'s proposal gate: closing it is what the node's disk
    /// watch does when free space falls below the reserve.
    pub fn proposal_gate(&self, id: NodeId) -> &ProposalGate {
        &self.proposal_gates[&id]
    }

    /// Replica `id`'s gRPC endpoint, `http://127.0.0.1:PORT`, or
    /// `https://127.0.0.1:PORT` with [`ClusterBuilder::tls`] (kept across
    /// restarts).
    pub fn api(&self, id: NodeId) -> String {
        let scheme = if self.builder.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addrs[&id])
    }

    /// Replica `id`'s application layer. Panics when it is not running.
    pub fn service(&self, id: NodeId) -> &Service {
        &self.running.get(&id).unwrap_or_else(|| panic!("replica {id} is not running")).service
    }

    /// The ids of the running replicas.
    pub fn running(&self) -> Vec<NodeId> {
        self.running.keys().copied().collect()
    }

    /// The genesis every replica started from (the ledger's fixture network).
    pub fn genesis(&self) -> &pb::Genesis {
        &self.genesis
    }

    /// Replica `id`'s edge faults (see [`Faults`]).
    pub fn inject(&self, id: NodeId) -> &Faults {
        &self.faults[&id]
    }

    /// A plaintext client of replica `id` (not for a cluster with
    /// [`ClusterBuilder::tls`]).
    pub async fn client(&self, id: NodeId) -> veritrace_client::Client {
        veritrace_client::Client::connect_with(&self.api(id), &self.connect_options())
            .await
            .expect("connect to a test replica")
    }

    /// A file in the cluster's directory holding the admin token, for the
    /// CLI's `--admin-token-file`.
    pub fn admin_token_file(&self) -> std::path::PathBuf {
        let path = self.dir.path().join("admin.token");
        std::fs::write(&path, format!("{}\n", self.admin_token_text)).expect("write the admin token file");
        path
    }

    /// The cluster's admin token: every replica's `ClusterService` wants it.
    pub fn admin_token(&self) -> &veritrace_client::AdminToken {
        &self.admin_token
    }

    /// Connection options with the admin token and the party credential of
    /// "admin-a" (no TLS).
    pub fn connect_options(&self) -> veritrace_client::ConnectOptions {
        veritrace_client::ConnectOptions {
            admin_token: Some(self.admin_token.clone()),
            party: Some(veritrace_client::PartyCredential::new("admin-a", fx::party_key("admin-a"))),
            ..Default::default()
        }
    }

    /// Stops replica `id` as a crash would: its Raft driver first (nothing
    /// more is applied), then its gRPC server; it leaves the network. Its
    /// engine is kept for [`TestCluster::restart`].
    pub async fn crash(&mut self, id: NodeId) {
        let Some(r) = self.running.remove(&id) else { return };
        r.driver.abort();
        let _ = r.driver.await;
        self.net.detach(id);
        let Some((server, stop_server)) = r.server else { return };
        let _ = stop_server.send(());
        // A crash does not drain: what tonic has not finished in a moment
        // (an open Watch) is cut off with the server task.
        let abort = server.abort_handle();
        if tokio::time::timeout(Duration::from_millis(500), server).await.is_err() {
            abort.abort();
        }
    }

    /// Starts a crashed replica again on the engine it left and its port.
    pub async fn restart(&mut self, id: NodeId) {
        assert!(!self.running.contains_key(&id), "replica {id} is running");
        if self.builder.simulated_epoch_ms.is_some() {
            self.launch(id, None);
            return;
        }
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addrs[&id]).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    tracing::debug!(cause = %e, "port not free yet");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot bind replica {id}'s port again: {e}"),
            }
        };
        self.launch(id, Some(listener));
    }

    /// Cuts the network into `groups`: replicas in different groups (or in
    /// none, when others are in one) cannot reach each other. Replaces the
    /// fault settings: loss, duplication and delay go back to none.
    pub fn partition(&self, groups: &[&[NodeId]]) {
        let partitions = groups.iter().map(|g| g.iter().copied().collect()).collect();
        self.net.set_faults(sim::Faults { partitions, ..sim::Faults::default() });
    }

    /// Cuts replica `id` off from every other (running or not: a replica
    /// restarted later stays on the other side).
    pub fn isolate(&self, id: NodeId) {
        let others: Vec<NodeId> = self.addrs.keys().copied().filter(|k| *k != id).collect();
        self.partition(&[&[id], &others]);
    }

    /// Cuts off one follower (never the leader of the moment, so the
    /// others keep a quorum) and waits for the majority's leader; returns
    /// the cut-off replica and that leader.
    pub async fn isolate_a_follower(&self) -> (NodeId, NodeId) {
        let leader = self.leader(&[]).await;
        let cut = self.running().into_iter().rev().find(|id| *id != leader).expect("a cluster with a follower");
        self.isolate(cut);
        (cut, self.leader(&[cut]).await)
    }

    /// Submits `envelopes` through replica `via`, failing the test unless
    /// each was applied; returns the receipts.
    pub async fn submit_applied(&self, via: NodeId, envelopes: Vec<pb::SignedEnvelope>) -> Vec<pb::Receipt> {
        let receipts = self.client(via).await.submit(envelopes).await.expect("submit");
        assert!(receipts.iter().all(|r| r.outcome == pb::Outcome::Applied as i32), "not all applied: {receipts:?}");
        receipts
    }

    /// Makes `peer` (e.g. `"sim4"`) fixture party `party`'s validator by
    /// a k-of-n governance decision (admin-a proposes `ChangeValidators`,
    /// admin-b approves; empty `peer`: de-lists the party's validator),
    /// submitted through `via`. Membership follows it: a node joins or is
    /// promoted only while listed, and is removed only once not.
    pub async fn assign_validator(&self, via: NodeId, party: &str, peer: &str) {
        static PROPOSALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = PROPOSALS.fetch_add(1, Ordering::Relaxed);
        let nonce = u64::try_from(veritrace_service::now_ms()).unwrap_or(0).wrapping_mul(1000).wrapping_add(n * 2);
        let id = format!("validator-{party}-{nonce}");
        let decision = vec![
            crate::signed("admin-a", nonce, fx::propose(&id, fx::assign_validator(party, peer))),
            crate::signed("admin-b", nonce + 1, fx::approve(&id)),
        ];
        self.submit_applied(via, decision).await;
    }

    /// Sets replica `id`'s Raft clock `ms` milliseconds off the system
    /// clock (negative: behind), from now on and across restarts: what it
    /// proposes at as leader and answers a leader reading clocks with.
    pub fn skew_clock(&self, id: NodeId, ms: i64) {
        self.clock_skews[&id].store(ms, Ordering::Relaxed);
    }

    /// Message loss, duplication and delay on the simulated network
    /// (seeded: see [`ClusterBuilder::seed`]).
    pub fn set_faults(&self, faults: sim::Faults) {
        self.net.set_faults(faults);
    }

    /// A fully connected, loss-free network again.
    pub fn heal(&self) {
        self.net.set_faults(sim::Faults::default());
    }

    /// Waits until a running replica not in `except` is leader, as it and
    /// every other running replica not in `except` agree; returns its id.
    pub async fn leader(&self, except: &[NodeId]) -> NodeId {
        let ids: Vec<NodeId> = self.running().into_iter().filter(|id| !except.contains(id)).collect();
        self.eventually("a leader all agree on", || async {
            let mut leaders = BTreeSet::new();
            for id in &ids {
                let s = self.service(*id).raft_status().await.ok()?;
                leaders.insert(s.leader);
            }
            let leader = *leaders.first()?;
            (leaders.len() == 1 && leader != 0 && ids.contains(&leader)).then_some(leader)
        })
        .await
    }

    /// Waits until every running replica has applied the same tree (size
    /// and root) and returns its size.
    pub async fn converge(&self) -> u64 {
        self.eventually("equal trees on every running replica", || async {
            let mut heads = BTreeSet::new();
            for id in self.running() {
                let head = self.service(id).ledger().tree_head();
                heads.insert((head.tree_size, head.root));
            }
            (heads.len() == 1).then(|| heads.first().map(|h| h.0)).flatten()
        })
        .await
    }

    /// Polls `check` every 20 ms until it answers, or fails the test after
    /// 20 s naming `what`.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for (_, r) in std::mem::take(&mut self.running) {
            r.driver.abort();
            if let Some((server, _)) = r.server {
                server.abort();
            }
        }
    }
}
