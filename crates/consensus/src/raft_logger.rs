//! raft-rs's own log lines, bridged from `slog` into `tracing`.
//!
//! raft-rs logs through an `slog::Logger` handed to `RawNode::new`. The
//! driver gives it `logger(node)`, whose drain turns each record into a
//! `tracing` event under the target [`TARGET`] (`raft`), so the node's one
//! subscriber (its `--log` / `VERITRACE_LOG` filter, text or JSON) shows
//! them next to Veritrace's own lines. An operator selects them with e.g.
//! `info,raft=debug`.
//!
//! ### Levels
//!
//! | raft-rs (slog) | tracing |
//! |---|---|
//! | `Critical`, `Error` | `ERROR` |
//! | `Warning` | `WARN` |
//! | `Info` | `DEBUG` |
//! | `Debug`, `Trace` | `TRACE` |
//!
//! Errors and warnings keep their level. raft-rs's `Info` is one step
//! down: it logs at that level on every election step ("became
//! follower/candidate/pre-candidate/leader at term N", "starting a new
//! election", each vote cast, received or rejected, each message from a
//! higher or lower term, leadership transfers), several lines per node per
//! election, which would flood a node at the default `info` filter. The
//! driver logs what an operator needs from these at `INFO` itself, once per
//! change: the leader and term it observes (see [`crate::driver`]).
//! raft-rs's `Debug` and `Trace` (per message and per ready) go to `TRACE`.
//! (slog compiles raft-rs's `Trace` lines out of every build, and its
//! `Debug` lines out of release builds, unless a crate turns on slog's
//! `max_level_*` features.)
//!
//! ### Fields
//!
//! Each event carries `node` (this node's Raft id), `term` when raft-rs
//! gave one, and `kv`: raft-rs's other key-values as `key=value` pairs in
//! one string (a space in a key becomes `_`). raft-rs's own `raft_id` is
//! left out: `node` says the same. The message is raft-rs's.
//!
//! Nothing is formatted unless the subscriber takes the event's level
//! under `raft`: a filtered-out line costs one cached interest check.
//!
//! The drain is written here rather than taken from the `tracing-slog`
//! crate, which maps slog `Info` to `INFO` with no way to change it, drops
//! the logger's key-values (raft-rs puts `raft_id` there) and logs under
//! raft-rs's module paths rather than one target.

use std::fmt::{self, Write as _};

use slog::{Drain, KV as _};

use crate::transport::NodeId;

/// The `tracing` target of raft-rs's lines.
pub const TARGET: &str = "raft";

/// An `slog` logger for the `RawNode` of node `node` that sends raft-rs's
/// lines to `tracing` (see the [module docs](self)).
pub(crate) fn logger(node: NodeId) -> slog::Logger {
    slog::Logger::root(TracingDrain { node }, slog::o!())
}

/// The `tracing` level of an `slog` level (see the [module docs](self)).
pub(crate) fn tracing_level(level: slog::Level) -> tracing::Level {
    match level {
        slog::Level::Critical | slog::Level::Error => tracing::Level::ERROR,
        slog::Level::Warning => tracing::Level::WARN,
        // raft-rs logs every election step at Info: see the module docs.
        slog::Level::Info => tracing::Level::DEBUG,
        slog::Level::Debug | slog::Level::Trace => tracing::Level::TRACE,
    }
}

/// An `slog` drain emitting each record as a `tracing` event under
/// [`TARGET`], at [`tracing_level`], with this node's id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TracingDrain {
    node: NodeId,
}

/// Whether the current subscriber takes an event of `level` under
/// [`TARGET`]. `tracing::enabled!` needs a constant level: one arm each.
fn tracing_enabled(level: tracing::Level) -> bool {
    match level {
        tracing::Level::ERROR => tracing::enabled!(target: TARGET, tracing::Level::ERROR),
        tracing::Level::WARN => tracing::enabled!(target: TARGET, tracing::Level::WARN),
        tracing::Level::INFO => tracing::enabled!(target: TARGET, tracing::Level::INFO),
        tracing::Level::DEBUG => tracing::enabled!(target: TARGET, tracing::Level::DEBUG),
        tracing::Level::TRACE => tracing::enabled!(target: TARGET, tracing::Level::TRACE),
    }
}

impl Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &slog::Record<'_>, values: &slog::OwnedKVList) -> Result<(), slog::Never> {
        let level = tracing_level(record.level());
        if !tracing_enabled(level) {
            return Ok(());
        }
        let mut fields = Fields::default();
        // A failing value only loses that value; the line still goes out.
        let _ = record.kv().serialize(record, &mut fields);
        let _ = values.serialize(record, &mut fields);
        let kv = Some(fields.rest.as_str()).filter(|s| !s.is_empty());
        let (node, term, msg) = (self.node, fields.term, record.msg());
        // `tracing::event!` needs a constant level too.
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(target: TARGET, $level, node, term, kv, "{msg}")
            };
        }
        match level {
            tracing::Level::ERROR => emit!(tracing::Level::ERROR),
            tracing::Level::WARN => emit!(tracing::Level::WARN),
            tracing::Level::INFO => emit!(tracing::Level::INFO),
            tracing::Level::DEBUG => emit!(tracing::Level::DEBUG),
            tracing::Level::TRACE => emit!(tracing::Level::TRACE),
        }
        Ok(())
    }

    fn is_enabled(&self, level: slog::Level) -> bool {
        tracing_enabled(tracing_level(level))
    }
}

/// A record's key-values: `term` apart, the rest as `key=value` pairs.
#[derive(Default)]
struct Fields {
    term: Option<u64>,
    rest: String,
}

impl Fields {
    fn push(&mut self, key: slog::Key, value: impl fmt::Display) {
        if !self.rest.is_empty() {
            self.rest.push(' ');
        }
        self.rest.extend(key.chars().map(|c| if c == ' ' { '_' } else { c }));
        let _ = write!(self.rest, "={value}");
    }
}

impl slog::Serializer for Fields {
    fn emit_arguments(&mut self, key: slog::Key, val: &fmt::Arguments<'_>) -> slog::Result {
        if key != "raft_id" {
            self.push(key, val);
        }
        Ok(())
    }

    fn emit_u64(&mut self, key: slog::Key, val: u64) -> slog::Result {
        match key {
            "raft_id" => {}
            "term" if self.term.is_none() => self.term = Some(val),
            _ => self.push(key, val),
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use raft::storage::MemStorage;
    use raft::{Config, RawNode, StateRole};
    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, SubscriberExt as _};
    use tracing_subscriber::{EnvFilter, Layer};

    use super::*;

    /// One captured event: level, target and fields (message included) as text.
    #[derive(Debug, Clone)]
    struct Captured {
        level: tracing::Level,
        target: String,
        fields: BTreeMap<String, String>,
    }

    impl Captured {
        fn field(&self, name: &str) -> Option<&str> {
            self.fields.get(name).map(String::as_str)
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

        fn one(&self, message: &str) -> Captured {
            let found: Vec<_> = self.events().into_iter().filter(|e| e.field("message") == Some(message)).collect();
            assert_eq!(found.len(), 1, "want one {message:?} in {:#?}", self.events());
            found[0].clone()
        }
    }

    /// Captures this thread's events under `filter`, applied to the whole
    /// subscriber as a node does (so `enabled!` answers exactly; a
    /// per-layer filter would let it say yes and drop the event later).
    fn capturing(filter: &str) -> (Capture, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry().with(EnvFilter::new(filter)).with(capture.clone());
        (capture, tracing::subscriber::set_default(subscriber))
    }

    #[test]
    fn every_slog_level_arrives_at_its_mapped_level_with_the_node_and_key_values() {
        let (capture, _guard) = capturing("trace");
        let log = logger(7).new(slog::o!("raft_id" => 7u64));
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
            assert_eq!(e.field("node"), Some("7"), "{message}");
            assert!(!e.field("kv").unwrap_or_default().contains("raft_id"), "node says it: {e:?}");
        }
        assert_eq!(capture.one("crit line").field("term"), Some("3"));
        assert_eq!(capture.one("crit line").field("kv"), None, "no other key-values");
        assert_eq!(capture.one("error line").field("kv"), Some("reason=a reason to=2"));
        assert_eq!(capture.one("became follower at term 4").field("term"), Some("4"));
        assert_eq!(capture.one("debug line").field("kv"), Some("msg_type=MsgAppend"));
        assert_eq!(capture.events().len(), want.len());
    }

    #[test]
    fn the_default_info_filter_keeps_warnings_and_drops_raft_rs_info() {
        let (capture, guard) = capturing("info");
        let log = logger(1);
        slog::warn!(log, "warn line");
        slog::info!(log, "starting a new election"; "term" => 2u64);
        slog::debug!(log, "debug line");
        let drain = TracingDrain { node: 1 };
        assert!(drain.is_enabled(slog::Level::Warning));
        assert!(!drain.is_enabled(slog::Level::Info));
        let messages: Vec<_> = capture.events().iter().filter_map(|e| e.field("message").map(String::from)).collect();
        assert_eq!(messages, ["warn line"]);

        // An operator turns them on for the `raft` target alone.
        drop(guard);
        let (capture, _guard) = capturing("info,raft=debug");
        slog::info!(logger(1), "starting a new election"; "term" => 2u64);
        assert_eq!(capture.one("starting a new election").level, tracing::Level::DEBUG);
    }

    #[test]
    fn a_raw_node_logs_its_election_through_the_bridge() {
        let (capture, _guard) = capturing("raft=debug");
        let storage = MemStorage::new_with_conf_state((vec![5], vec![]));
        let config = Config { id: 5, ..Default::default() };
        let mut node = RawNode::new(&config, storage, &logger(5)).unwrap();
        node.campaign().unwrap();
        assert_eq!(node.raft.state, StateRole::Leader, "a single voter elects itself");
        let term = node.raft.term;

        let e = capture.one(&format!("became leader at term {term}"));
        assert_eq!((e.level, e.target.as_str()), (tracing::Level::DEBUG, "raft"));
        assert_eq!(e.field("node"), Some("5"));
        assert_eq!(e.field("term"), Some(term.to_string().as_str()));
        capture.one(&format!("became candidate at term {term}"));
        let created = capture.one("newRaft");
        assert_eq!(created.field("node"), Some("5"));
        assert!(created.field("kv").is_some_and(|kv| kv.contains("peers=")), "{created:?}");
    }
}
