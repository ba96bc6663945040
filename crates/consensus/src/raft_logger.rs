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
pub fn logger(node: NodeId) -> slog::Logger {
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
mod tests {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[test]
    fn the_drain_asks_tracing_whether_a_level_is_wanted() {
        let subscriber = tracing_subscriber::registry().with(EnvFilter::new("info"));
        let _guard = tracing::subscriber::set_default(subscriber);
        let drain = TracingDrain { node: 1 };
        assert!(drain.is_enabled(slog::Level::Warning));
        assert!(!drain.is_enabled(slog::Level::Info), "raft-rs's Info is DEBUG, below `info`");
        assert_eq!(tracing_level(slog::Level::Info), tracing::Level::DEBUG);
    }
}
