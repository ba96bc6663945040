//! The node's metric catalogue.
//!
//! [`Metrics`] registers every metric family of a Veritrace node once, in
//! one [`Registry`], and hands out typed handles to them: the Raft driver
//! updates [`RaftMetrics`], the gRPC server calls [`Metrics::observe_grpc`],
//! the node sets [`LedgerMetrics`] and [`P2pMetrics`]. [`Metrics::encode`]
//! renders the whole catalogue in the OpenMetrics text format, served on
//! `GET /metrics` with [`CONTENT_TYPE`].
//!
//! ### Naming
//!
//! Every family follows the Prometheus conventions: the `veritrace_`
//! prefix, base units (seconds, bytes) named as a suffix, and `_total` on
//! counters. In the OpenMetrics text a counter family's `# TYPE` line names
//! the family *without* `_total` (`# TYPE veritrace_raft_leader_changes
//! counter`) and its sample carries the suffix
//! (`veritrace_raft_leader_changes_total 3`); Prometheus stores the sample
//! name, so queries and alerts use the `_total` names listed in the docs of
//! each handle.
//!
//! ### Cost
//!
//! Handles are shared through `Arc`s and never allocate when updated:
//! counters and gauges are single atomics; a histogram observation takes
//! its own short, uncontended lock. Only [`Metrics::observe_grpc`] looks
//! its series up by label values (a read lock and two small strings per
//! call).
//! Cloning [`Metrics`] is cheap and every clone updates the same series.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// The HTTP `Content-Type` to serve [`Metrics::encode`] with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Most distinct `(method, code)` series the gRPC families keep; calls
/// that would add another are recorded under `method="other"`, so a client
/// sending made-up paths cannot grow the catalogue without bound.
pub const MAX_GRPC_SERIES: usize = 512;

/// Bucket upper bounds (seconds) of the Raft fsync and apply histograms:
/// 0.5 ms doubling to about 8.2 s (etcd's `wal_fsync_duration_seconds`
/// buckets start at 1 ms).
pub fn raft_duration_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0005, 2.0, 15)
}

/// Bucket upper bounds (seconds) of the gRPC handling histogram: 1 ms to
/// 10 s.
pub const GRPC_BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The name of gRPC status code `code` (the number in `grpc-status`) as the
/// `code` label wants it: `0` is `OK`, `3` `INVALID_ARGUMENT`, ...; a number
/// outside the 17 defined codes is `UNKNOWN`, as gRPC reads it.
pub fn grpc_code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

fn grpc_histogram() -> Histogram {
    Histogram::new(GRPC_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrpcLabels {
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabels {
    peer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    verdict: &'static str,
}

/// The `verdict` label values of `veritrace_verifications_total`: the
/// verdicts in `veritrace.v1.Verdict`, lower case without the prefix, and
/// `refused` for a verification answered with an error (no label token,
/// guesses exhausted, a malformed code). Anything else counts as `other`.
pub const VERIFICATION_OUTCOMES: [&str; 9] = [
    "genuine_first_scan",
    "genuine_seen_before",
    "suspected_clone",
    "invalid_code",
    "unknown_item",
    "recalled",
    "withdrawn",
    "refused",
    "other",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: String,
    revision: String,
}

/// Sets a gauge from an unsigned value, saturating at `i64::MAX`.
fn set_u64(gauge: &Gauge, v: u64) {
    gauge.set(i64::try_from(v).unwrap_or(i64::MAX));
}

/// The Raft driver's metrics. The driver updates them; everything else
/// only reads them (through [`Metrics::encode`] or the getters of the
/// handles, e.g. `metrics.raft().term.get()`).
#[derive(Clone, Debug)]
pub struct RaftMetrics {
    /// `veritrace_raft_has_leader`: 1 while this node knows a leader.
    pub has_leader: Gauge,
    /// `veritrace_raft_is_leader`: 1 while this node is the leader.
    pub is_leader: Gauge,
    /// `veritrace_raft_leader_changes_total`: times the known leader became
    /// a node other than the last leader seen (the first leader counts).
    pub leader_changes: Counter,
    /// `veritrace_raft_term`: the current Raft term.
    pub term: Gauge,
    /// `veritrace_raft_commit_index`: highest log index known committed.
    pub commit_index: Gauge,
    /// `veritrace_raft_applied_index`: highest log index applied to the
    /// state machine.
    pub applied_index: Gauge,
    /// `veritrace_raft_apply_lag_entries`: commit index minus applied index.
    pub apply_lag_entries: Gauge,
    /// `veritrace_raft_proposals_committed_total`: client proposals in
    /// committed log entries this node received.
    pub proposals_committed: Counter,
    /// `veritrace_raft_proposals_applied_total`: client proposals this node
    /// applied to its state machine.
    pub proposals_applied: Counter,
    /// `veritrace_raft_proposals_failed_total`: proposals made through this
    /// node that were answered with an error.
    pub proposals_failed: Counter,
    /// `veritrace_raft_proposals_pending`: proposals (and membership
    /// changes) waiting on this node for their entry to be applied.
    pub proposals_pending: Gauge,
    /// `veritrace_raft_log_fsync_duration_seconds`: time to persist one
    /// ready's entries and hard state in a synced write.
    pub log_fsync_duration: Histogram,
    /// `veritrace_raft_apply_duration_seconds`: time to apply one batch of
    /// committed entries to the state machine.
    pub apply_duration: Histogram,
    /// `veritrace_raft_snapshots_total`: snapshots this node created.
    pub snapshots: Counter,
    /// `veritrace_raft_snapshots_applied_total`: snapshots received from the
    /// leader and installed here.
    pub snapshots_applied: Counter,
    /// `veritrace_raft_snapshot_failures_total`: snapshots this node
    /// failed to write (the log stays uncompacted until one succeeds).
    pub snapshot_failures: Counter,
}

impl RaftMetrics {
    fn new() -> Self {
        RaftMetrics {
            has_leader: Gauge::default(),
            is_leader: Gauge::default(),
            leader_changes: Counter::default(),
            term: Gauge::default(),
            commit_index: Gauge::default(),
            applied_index: Gauge::default(),
            apply_lag_entries: Gauge::default(),
            proposals_committed: Counter::default(),
            proposals_applied: Counter::default(),
            proposals_failed: Counter::default(),
            proposals_pending: Gauge::default(),
            log_fsync_duration: Histogram::new(raft_duration_buckets()),
            apply_duration: Histogram::new(raft_duration_buckets()),
            snapshots: Counter::default(),
            snapshots_applied: Counter::default(),
            snapshot_failures: Counter::default(),
        }
    }

    /// Sets the gauges that describe this node's Raft state in one call:
    /// has/is leader, term, commit and applied indices and the apply lag.
    pub fn set_state(&self, leader: u64, is_leader: bool, term: u64, commit: u64, applied: u64) {
        self.has_leader.set(i64::from(leader != 0));
        self.is_leader.set(i64::from(is_leader));
        set_u64(&self.term, term);
        set_u64(&self.commit_index, commit);
        set_u64(&self.applied_index, applied);
        set_u64(&self.apply_lag_entries, commit.saturating_sub(applied));
    }

    /// Sets `veritrace_raft_proposals_pending`.
    pub fn set_pending(&self, pending: usize) {
        set_u64(&self.proposals_pending, pending as u64);
    }

    fn register(&self, r: &mut Registry) {
        r.register(
            "veritrace_raft_has_leader",
            "1 if this node knows a Raft leader, else 0. Alert when 0 for longer than a few election timeouts: \
             the node cannot commit anything",
            self.has_leader.clone(),
        );
        r.register(
            "veritrace_raft_is_leader",
            "1 if this node is the Raft leader, else 0. The sum over the cluster should be 1",
            self.is_leader.clone(),
        );
        r.register(
            "veritrace_raft_leader_changes",
            "Times this node saw the Raft leader become a different node (the first leader counts). Alert on a \
             high rate (e.g. more than 3 in 15 minutes): elections are flapping (slow disks, network, load)",
            self.leader_changes.clone(),
        );
        r.register("veritrace_raft_term", "The current Raft term", self.term.clone());
        r.register(
            "veritrace_raft_commit_index",
            "Highest Raft log index this node knows committed",
            self.commit_index.clone(),
        );
        r.register(
            "veritrace_raft_applied_index",
            "Highest Raft log index applied to this node's state machine",
            self.applied_index.clone(),
        );
        r.register(
            "veritrace_raft_apply_lag_entries",
            "Committed Raft entries not yet applied here (commit index - applied index). Alert when it stays high \
             or keeps growing: the state machine cannot keep up",
            self.apply_lag_entries.clone(),
        );
        r.register(
            "veritrace_raft_proposals_committed",
            "Client proposals contained in committed Raft entries received by this node",
            self.proposals_committed.clone(),
        );
        r.register(
            "veritrace_raft_proposals_applied",
            "Client proposals applied to this node's state machine",
            self.proposals_applied.clone(),
        );
        r.register(
            "veritrace_raft_proposals_failed",
            "Proposals made through this node that were answered with an error (not leader, no leader, dropped, \
             too large, driver stopped). Alert on a sustained rate: writes are failing",
            self.proposals_failed.clone(),
        );
        r.register(
            "veritrace_raft_proposals_pending",
            "Proposals and membership changes waiting on this node for their entry to commit and apply. Alert \
             when it keeps growing: commits are stalled",
            self.proposals_pending.clone(),
        );
        r.register_with_unit(
            "veritrace_raft_log_fsync_duration",
            "Time to persist one Raft ready (new entries and hard state) with a synced write. Alert when the \
             99th percentile exceeds about 10 ms: the disk is too slow for Raft and elections may follow",
            Unit::Seconds,
            self.log_fsync_duration.clone(),
        );
        r.register_with_unit(
            "veritrace_raft_apply_duration",
            "Time to apply one batch of committed Raft entries to the state machine. Alert when the 99th \
             percentile grows: apply lag and write latency follow",
            Unit::Seconds,
            self.apply_duration.clone(),
        );
        r.register(
            "veritrace_raft_snapshots",
            "State-machine snapshots this node created (log compaction)",
            self.snapshots.clone(),
        );
        r.register(
            "veritrace_raft_snapshots_applied",
            "Snapshots received from the leader and installed here. A rising rate means this node keeps falling \
             too far behind the log",
            self.snapshots_applied.clone(),
        );
        r.register(
            "veritrace_raft_snapshot_failures",
            "Snapshots this node failed to write (full disk, I/O error); it retries later and its Raft log keeps \
             growing meanwhile. Alert on any increase",
            self.snapshot_failures.clone(),
        );
    }
}

/// The ledger's metrics, set by the node.
#[derive(Clone, Debug)]
pub struct LedgerMetrics {
    /// `veritrace_ledger_tree_size`: leaves in the ledger's Merkle tree.
    pub tree_size: Gauge,
    /// `veritrace_ledger_envelopes_total{outcome="accepted"}`: envelopes
    /// appended as new leaves.
    pub envelopes_accepted: Counter,
    /// `veritrace_ledger_envelopes_total{outcome="duplicate"}`: envelopes
    /// already in the ledger (a retry; answered with the first receipt).
    pub envelopes_duplicate: Counter,
    /// `veritrace_ledger_envelopes_total{outcome="rejected"}`: envelopes
    /// refused (nothing stored).
    pub envelopes_rejected: Counter,
    /// `veritrace_ledger_store_size_bytes`: bytes the ledger's store takes
    /// on disk.
    pub store_size_bytes: Gauge,
    /// `veritrace_storage_free_bytes`: bytes free on the filesystem of the
    /// node's data directory.
    pub free_disk_bytes: Gauge,
}

impl LedgerMetrics {
    /// Sets `veritrace_ledger_tree_size`.
    pub fn set_tree_size(&self, leaves: u64) {
        set_u64(&self.tree_size, leaves);
    }

    /// Sets `veritrace_storage_free_bytes`.
    pub fn set_free_disk_bytes(&self, bytes: u64) {
        set_u64(&self.free_disk_bytes, bytes);
    }

    /// Sets `veritrace_ledger_store_size_bytes`.
    pub fn set_store_size_bytes(&self, bytes: u64) {
        set_u64(&self.store_size_bytes, bytes);
    }

    /// Counts the outcomes of one applied batch: envelopes appended,
    /// duplicates of envelopes already in the ledger, and refused ones.
    pub fn count_envelopes(&self, accepted: u64, duplicate: u64, rejected: u64) {
        for (counter, n) in [
            (&self.envelopes_accepted, accepted),
            (&self.envelopes_duplicate, duplicate),
            (&self.envelopes_rejected, rejected),
        ] {
            if n > 0 {
                counter.inc_by(n);
            }
        }
    }
}

/// The process's own metrics, in the names every Prometheus client
/// library uses (`process_*`), so standard dashboards and alerts apply.
/// The node samples them from `/proc/self` ([`ProcessSample`]).
#[derive(Clone, Debug, Default)]
pub struct ProcessMetrics {
    cpu_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    resident_memory_bytes: Gauge,
    virtual_memory_bytes: Gauge,
    open_fds: Gauge,
    max_fds: Gauge,
    threads: Gauge,
    start_time_seconds: Gauge,
}

/// One reading of the process's resources.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessSample {
    /// User plus system CPU time since the process started, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size, in bytes.
    pub resident_memory_bytes: u64,
    /// Virtual memory size, in bytes.
    pub virtual_memory_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit on open file descriptors.
    pub max_fds: u64,
    /// Threads.
    pub threads: u64,
    /// Start time, in seconds since the Unix epoch.
    pub start_time_seconds: u64,
}

impl ProcessMetrics {
    /// Sets every `process_*` series from `sample` (the CPU counter moves
    /// forward by the difference; it never goes back).
    pub fn record(&self, sample: &ProcessSample) {
        let delta = sample.cpu_seconds - self.cpu_seconds.get();
        if delta > 0.0 {
            self.cpu_seconds.inc_by(delta);
        }
        set_u64(&self.resident_memory_bytes, sample.resident_memory_bytes);
        set_u64(&self.virtual_memory_bytes, sample.virtual_memory_bytes);
        set_u64(&self.open_fds, sample.open_fds);
        set_u64(&self.max_fds, sample.max_fds);
        set_u64(&self.threads, sample.threads);
        set_u64(&self.start_time_seconds, sample.start_time_seconds);
    }

    fn register(&self, r: &mut Registry) {
        r.register_with_unit(
            "process_cpu",
            "User and system CPU time the node process spent",
            Unit::Seconds,
            self.cpu_seconds.clone(),
        );
        r.register_with_unit(
            "process_resident_memory",
            "Resident memory of the node process",
            Unit::Bytes,
            self.resident_memory_bytes.clone(),
        );
        r.register_with_unit(
            "process_virtual_memory",
            "Virtual memory of the node process",
            Unit::Bytes,
            self.virtual_memory_bytes.clone(),
        );
        r.register("process_open_fds", "Open file descriptors of the node process", self.open_fds.clone());
        r.register("process_max_fds", "The limit on open file descriptors (soft)", self.max_fds.clone());
        r.register("process_threads", "Threads of the node process", self.threads.clone());
        r.register_with_unit(
            "process_start_time",
            "Start time of the node process since the Unix epoch",
            Unit::Seconds,
            self.start_time_seconds.clone(),
        );
    }
}

/// The peer-to-peer network's metrics, set by the node.
#[derive(Clone, Debug, Default)]
pub struct P2pMetrics {
    /// `veritrace_p2p_connected_peers`: peers with an open connection.
    pub connected_peers: Gauge,
    round_trips: Family<PeerLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
}

impl P2pMetrics {
    /// Sets `veritrace_p2p_connected_peers`.
    pub fn set_connected_peers(&self, peers: usize) {
        set_u64(&self.connected_peers, peers as u64);
    }

    /// Sets `veritrace_p2p_round_trip_seconds{peer}` to the last measured
    /// round trip to each peer (by node id); peers not in `round_trips`
    /// (no live connection) lose their series.
    pub fn set_round_trips(&self, round_trips: &std::collections::BTreeMap<u64, std::time::Duration>) {
        self.round_trips.clear();
        for (peer, rtt) in round_trips {
            self.round_trips.get_or_create(&PeerLabels { peer: peer.to_string() }).set(rtt.as_secs_f64());
        }
    }
}

struct Catalogue {
    registry: Registry,
    process: ProcessMetrics,
    raft: RaftMetrics,
    ledger: LedgerMetrics,
    p2p: P2pMetrics,
    grpc_handled: Family<GrpcLabels, Counter>,
    grpc_handling: Family<GrpcLabels, Histogram, fn() -> Histogram>,
    verifications: Family<VerdictLabels, Counter>,
    /// gRPC series created so far (see [`MAX_GRPC_SERIES`]).
    grpc_series: AtomicUsize,
}

/// A node's metric catalogue: every family registered once, typed handles
/// to update them, and [`Metrics::encode`]. Clones share the same series.
#[derive(Clone)]
pub struct Metrics(Arc<Catalogue>);

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh catalogue with every family registered, at zero, and
    /// `veritrace_build_info{version,revision}` set to 1 for this crate's
    /// version and an `unknown` revision.
    pub fn new() -> Self {
        Metrics::with_build(env!("CARGO_PKG_VERSION"), "unknown")
    }

    /// Like [`Metrics::new`] with `version` and `revision` (the source
    /// revision the binary was built from) as the build-info labels.
    pub fn with_build(version: &str, revision: &str) -> Self {
        let mut r = Registry::default();
        let raft = RaftMetrics::new();
        raft.register(&mut r);

        let grpc_handled = Family::<GrpcLabels, Counter>::default();
        let grpc_handling = Family::<GrpcLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            grpc_histogram as fn() -> Histogram,
        );
        r.register(
            "veritrace_grpc_server_handled",
            "gRPC calls completed by this node's server, by full method path and status code. Alert on a rising \
             share of codes other than OK, INVALID_ARGUMENT, NOT_FOUND and ALREADY_EXISTS (e.g. UNAVAILABLE, \
             INTERNAL, DEADLINE_EXCEEDED)",
            grpc_handled.clone(),
        );
        r.register_with_unit(
            "veritrace_grpc_server_handling",
            "Time from receiving a gRPC call to sending its status, by full method path and status code. Alert \
             when the 99th percentile of write methods exceeds the clients' deadline",
            Unit::Seconds,
            grpc_handling.clone(),
        );

        let envelopes = Family::<OutcomeLabels, Counter>::default();
        let ledger = LedgerMetrics {
            tree_size: Gauge::default(),
            envelopes_accepted: envelopes.get_or_create_owned(&OutcomeLabels { outcome: "accepted" }),
            envelopes_duplicate: envelopes.get_or_create_owned(&OutcomeLabels { outcome: "duplicate" }),
            envelopes_rejected: envelopes.get_or_create_owned(&OutcomeLabels { outcome: "rejected" }),
            store_size_bytes: Gauge::default(),
            free_disk_bytes: Gauge::default(),
        };
        r.register(
            "veritrace_ledger_tree_size",
            "Leaves (accepted envelopes) in the ledger's Merkle tree. Should be equal on every node once applied",
            ledger.tree_size.clone(),
        );
        r.register(
            "veritrace_ledger_envelopes",
            "Envelopes the ledger state machine applied, by outcome: accepted (a new leaf), duplicate (already \
             in the ledger: a client retry) or rejected (refused by the domain rules). A sudden rise of rejected \
             envelopes points at a misbehaving client or a key problem; of duplicates, at clients retrying",
            envelopes,
        );
        r.register_with_unit(
            "veritrace_ledger_store_size",
            "Bytes the ledger's store takes on disk. Alert well before the volume fills",
            Unit::Bytes,
            ledger.store_size_bytes.clone(),
        );
        r.register_with_unit(
            "veritrace_storage_free",
            "Bytes free on the filesystem of the node's data directory. Below node.min_free_disk_bytes the node \
             refuses new writes (DISK_FULL) until space returns",
            Unit::Bytes,
            ledger.free_disk_bytes.clone(),
        );

        let p2p = P2pMetrics::default();
        r.register(
            "veritrace_p2p_connected_peers",
            "Peers this node has an open connection to. Alert when below the number of other members",
            p2p.connected_peers.clone(),
        );
        r.register_with_unit(
            "veritrace_p2p_round_trip",
            "Last round trip of a ping to each connected peer, by the peer's node id (pinged every 2 s; a ping \
             unanswered for 5 s closes the connection, which is redialled). Alert when one peer's stays far above \
             the others'",
            Unit::Seconds,
            p2p.round_trips.clone(),
        );

        let verifications = Family::<VerdictLabels, Counter>::default();
        for verdict in VERIFICATION_OUTCOMES {
            // At zero from the start, so dashboards show every verdict.
            drop(verifications.get_or_create(&VerdictLabels { verdict }));
        }
        r.register(
            "veritrace_verifications",
            "Consumer verifications this node answered, by verdict (genuine_first_scan, suspected_clone, \
             invalid_code, ...) or refused (an error answer). A rise of suspected_clone or invalid_code points at \
             fakes in circulation; of refused, at scripted guessing",
            verifications.clone(),
        );

        let build = Family::<VersionLabels, Gauge>::default();
        build.get_or_create(&VersionLabels { version: version.to_owned(), revision: revision.to_owned() }).set(1);
        r.register(
            "veritrace_build_info",
            "Always 1; the labels name the running build: its version and the source revision it was built from. \
             More than one version across the network long after an upgrade means a node was left behind",
            build,
        );

        let process = ProcessMetrics::default();
        process.register(&mut r);

        Metrics(Arc::new(Catalogue {
            registry: r,
            process,
            raft,
            ledger,
            p2p,
            grpc_handled,
            grpc_handling,
            verifications,
            grpc_series: AtomicUsize::new(0),
        }))
    }

    /// The Raft driver's handles.
    pub fn raft(&self) -> &RaftMetrics {
        &self.0.raft
    }

    /// The ledger's handles.
    pub fn ledger(&self) -> &LedgerMetrics {
        &self.0.ledger
    }

    /// The peer-to-peer network's handles.
    pub fn p2p(&self) -> &P2pMetrics {
        &self.0.p2p
    }

    /// The process's handles (`process_*`).
    pub fn process(&self) -> &ProcessMetrics {
        &self.0.process
    }

    /// Counts one consumer verification by its outcome, one of
    /// [`VERIFICATION_OUTCOMES`] (others count as `other`).
    pub fn count_verification(&self, verdict: &str) {
        let verdict = VERIFICATION_OUTCOMES.iter().copied().find(|v| *v == verdict).unwrap_or("other");
        self.0.verifications.get_or_create(&VerdictLabels { verdict }).inc();
    }

    /// Records one completed gRPC call: `method` is the full path
    /// (`/veritrace.v1.LedgerService/SubmitEnvelopes`), `code` the status
    /// code's name (`OK`, `INVALID_ARGUMENT`, ...; [`grpc_code_name`] maps
    /// the number in `grpc-status`), `seconds` the time from
    /// receiving the call to sending its status. Once [`MAX_GRPC_SERIES`]
    /// series exist, calls that would add one count under `other`.
    pub fn observe_grpc(&self, method: &str, code: &str, seconds: f64) {
        let mut labels = GrpcLabels { method: method.to_owned(), code: code.to_owned() };
        let handled = &self.0.grpc_handled;
        // A new series: count it, and past the cap fold it into `other`.
        // (Two threads adding the same series at once may count it twice;
        // the cap is a guard, not an exact number.)
        if handled.get(&labels).is_none() && self.0.grpc_series.fetch_add(1, Ordering::Relaxed) >= MAX_GRPC_SERIES {
            labels.method = "other".to_owned();
        }
        handled.get_or_create(&labels).inc();
        self.0.grpc_handling.get_or_create(&labels).observe(seconds);
    }

    /// Calls completed for `method` with `code` so far (0 if none).
    pub fn grpc_handled(&self, method: &str, code: &str) -> u64 {
        let labels = GrpcLabels { method: method.to_owned(), code: code.to_owned() };
        self.0.grpc_handled.get(&labels).map_or(0, |c| c.get())
    }

    /// The value of one sample of [`Metrics::encode`], named exactly as
    /// encoded (`veritrace_raft_term`,
    /// `veritrace_raft_apply_duration_seconds_count`,
    /// `veritrace_ledger_envelopes_total{outcome="accepted"}`); `None` if
    /// there is no such sample. It encodes the whole catalogue: for tests
    /// and diagnostics, not for a hot path.
    pub fn sample(&self, series: &str) -> Option<f64> {
        sample(&self.encode(), series)
    }

    /// The whole catalogue in the OpenMetrics text format (ending with
    /// `# EOF`), to serve with [`CONTENT_TYPE`].
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.0.registry);
        out
    }
}

/// The value of the sample named `series` (name and labels exactly as
/// encoded) in the OpenMetrics text `text`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[cfg(test)]
mod tests;
