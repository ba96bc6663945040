//! Logging over the simulated network: raft-rs's own lines reach `tracing`
//! under the target `raft` at the mapped level, and the driver logs each
//! change of leader or term once, at `INFO`, with its fields.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use raft::storage::MemStorage;
use raft::{Config, RawNode, StateRole};
use support::{Cluster, item};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::{EnvFilter, Layer};
use veritrace_consensus::DriverConfig;
use veritrace_consensus::raft_logger::{self, TARGET};

fn no_tweak(_: &mut DriverConfig) {}

/// One captured event: level, target and fields (message included) as text.
#[derive(Debug, Clone)]
struct Captured {
    level: tracing::Level,
    target: String,
    fields: BTreeMap<String, String>,
}

impl Captured {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// A line of the driver's about leadership.
    fn is_leadership(&self) -> bool {
        self.target.starts_with("veritrace_consensus::driver")
            && ["became the leader", "leader changed", "leader lost", "term changed, no leader yet"]
                .contains(&self.field("message"))
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

struct Visitor<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Visitor(&mut fields));
        let m = event.metadata();
        self.0.lock().unwrap().push(Captured { level: *m.level(), target: m.target().to_string(), fields });
    }
}

impl Capture {
    fn events(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }

    /// The one event with `message`.
    fn one(&self, message: &str) -> Captured {
        let found: Vec<_> = self.events().into_iter().filter(|e| e.field("message") == message).collect();
        assert_eq!(found.len(), 1, "want one {message:?} in {:#?}", self.events());
        found[0].clone()
    }

    /// Waits until an event satisfies `check`, and returns it.
    async fn wait(&self, what: &str, check: impl Fn(&Captured) -> bool) -> Captured {
        for _ in 0..3000 {
            if let Some(e) = self.events().into_iter().find(&check) {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what} was never logged; got {:#?}", self.events());
    }
}

// One thread: the drivers' tasks run on the test's thread, under the
// subscriber set for it.
#[tokio::test(flavor = "current_thread")]
async fn raft_rs_lines_and_leader_changes_reach_tracing() {
    // What a node at the default `info` filter shows, and everything down
    // to `DEBUG`.
    let (at_info, at_debug) = (Capture::default(), Capture::default());
    let subscriber = tracing_subscriber::registry()
        .with(at_info.clone().with_filter(EnvFilter::new("info")))
        .with(at_debug.clone().with_filter(EnvFilter::new("debug")));
    let _guard = tracing::subscriber::set_default(subscriber);

    let c = Cluster::start(3, 31, no_tweak);
    c.propose(&item(0), None, &[]).await;
    let leader = c.leader(&[]).await;
    let term = c.handle(leader).status().await.unwrap().term;
    let (l, t) = (leader.to_string(), term.to_string());

    // raft-rs's own line, bridged: its Info is DEBUG, under `raft`, with the node.
    let won = at_debug
        .wait("raft-rs's became leader", |e| {
            e.target == TARGET && e.field("message") == format!("became leader at term {term}")
        })
        .await;
    assert_eq!(won.level, tracing::Level::DEBUG);
    assert_eq!((won.field("node"), won.field("term")), (l.as_str(), t.as_str()));

    // The driver's own INFO lines: the winner, then every follower.
    let became = at_info
        .wait("the driver's became the leader", |e| e.field("message") == "became the leader" && e.field("term") == t)
        .await;
    assert_eq!(became.level, tracing::Level::INFO);
    assert!(became.is_leadership(), "{became:?}");
    assert_eq!(
        (became.field("node"), became.field("leader"), became.field("role")),
        (l.as_str(), l.as_str(), "leader")
    );
    for f in (1..=3u64).filter(|id| *id != leader).map(|id| id.to_string()) {
        let changed = at_info
            .wait("a follower's leader changed", |e| {
                e.field("message") == "leader changed" && e.field("node") == f && e.field("term") == t
            })
            .await;
        assert_eq!(changed.level, tracing::Level::INFO);
        assert_eq!((changed.field("leader"), changed.field("role")), (l.as_str(), "follower"));
        // raft-rs's line on the follower's side arrived too, under its id.
        at_debug
            .wait("a follower's became follower", |e| {
                e.target == TARGET
                    && e.field("node") == f
                    && e.field("message") == format!("became follower at term {term}")
            })
            .await;
    }

    // At `info`, raft-rs's election steps stay out; only its warnings and
    // errors would show.
    let raft_at_info: Vec<_> =
        at_info.events().into_iter().filter(|e| e.target == TARGET && e.level > tracing::Level::WARN).collect();
    assert!(raft_at_info.is_empty(), "raft-rs lines below WARN at the info filter: {raft_at_info:#?}");
    assert!(at_debug.events().iter().filter(|e| e.target == TARGET).count() > 3 * 2, "raft-rs logged its election");

    // A line per change, never per tick: run a few election timeouts more
    // with the same leader, and no node logs anything new about it.
    let logged = at_info.events().iter().filter(|e| e.is_leadership()).count();
    for _ in 0..5 {
        c.propose(&item(1), None, &[]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if c.handle(leader).status().await.unwrap().term == term {
        assert_eq!(at_info.events().iter().filter(|e| e.is_leadership()).count(), logged);
    }
    // And each node's lines are changes: no two in a row say the same.
    for node in 1..=3u64 {
        let lines: Vec<_> = at_info
            .events()
            .into_iter()
            .filter(|e| e.is_leadership() && e.field("node") == node.to_string())
            .map(|e| (e.field("term").to_string(), e.field("leader").to_string()))
            .collect();
        assert!(!lines.is_empty(), "node {node} logged no leadership line");
        assert!(lines.windows(2).all(|w| w[0] != w[1]), "node {node} repeated a line: {lines:?}");
    }
}

/// Captures this thread's events under `filter`, applied to the whole
/// subscriber as a node does (so `enabled!` answers exactly; a per-layer
/// filter would let it say yes and drop the event later).
fn capturing(filter: &str) -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(EnvFilter::new(filter)).with(capture.clone());
    (capture, tracing::subscriber::set_default(subscriber))
}

#[test]
fn every_slog_level_arrives_at_its_mapped_level_with_the_node_and_key_values() {
    let (capture, _guard) = capturing("trace");
    let log = raft_logger::logger(7).new(slog::o!("raft_id" => 7u64));
    slog::crit!(log, "crit line"; "term" => 3u64);
    slog::error!(log, "error line"; "to" => 2u64, "reason" => "a reason");
    slog::warn!(log, "warn line");
    slog::info!(log, "became follower at term {term}", term = 4u64;);
    slog::debug!(log, "debug line"; "msg type" => ?raft::eraftpb::MessageType::MsgAppend);

    let want = [
        ("crit line", tracing::Level::ERROR),
        ("error line", tracing::Level::ERROR),
        ("warn line", tracing::Level::WARN),
        ("became follower at term 4", tracing::Level::DEBUG),
        ("debug line", tracing::Level::TRACE),
    ];
    for (message, level) in want {
        let e = capture.one(message);
        assert_eq!((e.level, e.target.as_str()), (level, TARGET), "{message}");
        assert_eq!(e.field("node"), "7", "{message}");
        assert!(!e.field("kv").contains("raft_id"), "node says it: {e:?}");
    }
    assert_eq!(capture.one("crit line").field("term"), "3");
    assert_eq!(capture.one("crit line").field("kv"), "", "no other key-values");
    assert_eq!(capture.one("error line").field("kv"), "reason=a reason to=2");
    assert_eq!(capture.one("became follower at term 4").field("term"), "4");
    assert_eq!(capture.one("debug line").field("kv"), "msg_type=MsgAppend");
    assert_eq!(capture.events().len(), want.len());
}

#[test]
fn the_default_info_filter_keeps_warnings_and_drops_raft_rs_info() {
    let (capture, guard) = capturing("info");
    let log = raft_logger::logger(1);
    slog::warn!(log, "warn line");
    slog::info!(log, "starting a new election"; "term" => 2u64);
    slog::debug!(log, "debug line");
    let messages: Vec<_> = capture.events().iter().map(|e| e.field("message").to_string()).collect();
    assert_eq!(messages, ["warn line"]);

    // An operator turns them on for the `raft` target alone.
    drop(guard);
    let (capture, _guard) = capturing("info,raft=debug");
    slog::info!(raft_logger::logger(1), "starting a new election"; "term" => 2u64);
    assert_eq!(capture.one("starting a new election").level, tracing::Level::DEBUG);
}

#[test]
fn a_raw_node_logs_its_election_through_the_bridge() {
    let (capture, _guard) = capturing("raft=debug");
    let storage = MemStorage::new_with_conf_state((vec![5], vec![]));
    let config = Config { id: 5, ..Default::default() };
    let mut node = RawNode::new(&config, storage, &raft_logger::logger(5)).unwrap();
    node.campaign().unwrap();
    assert_eq!(node.raft.state, StateRole::Leader, "a single voter elects itself");
    let term = node.raft.term;

    let e = capture.one(&format!("became leader at term {term}"));
    assert_eq!((e.level, e.target.as_str()), (tracing::Level::DEBUG, "raft"));
    assert_eq!(e.field("node"), "5");
    assert_eq!(e.field("term"), term.to_string());
    capture.one(&format!("became candidate at term {term}"));
    let created = capture.one("newRaft");
    assert_eq!(created.field("node"), "5");
    assert!(created.field("kv").contains("peers="), "{created:?}");
}
