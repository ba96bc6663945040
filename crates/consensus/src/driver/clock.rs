//! Ledger time that one faulty clock cannot poison.
//!
//! A batch's commit time is the time its leader proposes it at, and the
//! state machine keeps commit time monotonic (`max(proposed, last)`). A
//! leader whose clock jumped a year ahead would move ledger time a year
//! ahead for good: it never comes back, and every client time within the
//! replay window of the real now would be refused from then on.
//!
//! So a leader proposes at the median of its own clock and its voters'
//! clocks as it last read them. Every [`POLL_EVERY`] it asks each voter
//! for its clock over the forward channel ([`crate::wire`] tag 4) and
//! estimates that voter's clock as the reading, plus half the round trip,
//! plus the monotonic time elapsed since. A reading older than
//! [`READING_MAX_AGE`] is not used. With every voter's reading fresh, one
//! clock however wrong, in either direction and the leader's own
//! included, cannot move the median past the others'. With fewer than a
//! majority of the voters' clocks known (just after an election, or while
//! cut off) the leader proposes at its own clock.
//!
//! With exactly two clocks known the earlier is used: a clock too far
//! ahead is the one that poisons (a clock behind only holds ledger time
//! still until the others pass it). The price: while a third voter is
//! unreachable, a voter reporting a time far behind holds ledger time
//! still, and fresh client times end up refused as ahead of it, until the
//! third answers again. A leader that lies about the time is out of
//! scope, as everything else a Raft leader could lie about.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// tokio's clock: the real one in production, the simulated one (paused
// time) in deterministic tests.
use tokio::time::Instant;

use crate::transport::NodeId;

/// How often a leader reads its voters' clocks.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// Oldest reading a leader still proposes with.
pub const READING_MAX_AGE: Duration = Duration::from_secs(10);

/// A node's wall clock, in unix milliseconds.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock (0 if it reads before 1970).
    pub fn system() -> Self {
        Clock(Arc::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)))
    }

    /// A clock read from `f` (tests skew one node's clock with it).
    pub fn from_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Clock(Arc::new(f))
    }

    /// The time now, unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({} ms)", self.now_ms())
    }
}

/// One voter's clock as last read: its estimated time when the answer
/// arrived, and when that was on this node's monotonic clock.
#[derive(Debug, Clone, Copy)]
struct Reading {
    at_ms: i64,
    received: Instant,
}

/// The voters' clocks a leader last read.
#[derive(Debug, Default)]
pub(crate) struct PeerClocks {
    readings: HashMap<NodeId, Reading>,
}

impl PeerClocks {
    /// Records `node`'s answer `reading_ms` to a request sent at `sent`
    /// and answered at `received`.
    pub(crate) fn record(&mut self, node: NodeId, reading_ms: i64, sent: Instant, received: Instant) {
        let half_trip = received.saturating_duration_since(sent).as_millis() as i64 / 2;
        self.readings.insert(node, Reading { at_ms: reading_ms.saturating_add(half_trip), received });
    }

    /// Forgets every reading (on losing leadership: a later term starts
    /// from fresh ones).
    pub(crate) fn clear(&mut self) {
        self.readings.clear();
    }

    /// The time to propose at, given this node's clock `own_ms`, the other
    /// voters `voters`, and the monotonic time `now` (see the module docs).
    pub(crate) fn proposal_time(&self, own_ms: i64, voters: &[NodeId], now: Instant) -> i64 {
        let mut times = vec![own_ms];
        for voter in voters {
            let Some(r) = self.readings.get(voter) else { continue };
            let age = now.saturating_duration_since(r.received);
            if age <= READING_MAX_AGE {
                times.push(r.at_ms.saturating_add(age.as_millis() as i64));
            }
        }
        if times.len() * 2 <= voters.len() + 1 {
            return own_ms;
        }
        times.sort_unstable();
        times[(times.len() - 1) / 2]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR_MS: i64 = 365 * 24 * 3_600_000;

    #[test]
    fn one_wrong_clock_does_not_move_the_median() {
        let t0 = Instant::now();
        let now = 1_800_000_000_000;
        let mut clocks = PeerClocks::default();
        // No readings: the leader's own clock, however wrong.
        assert_eq!(clocks.proposal_time(now + YEAR_MS, &[2, 3], t0), now + YEAR_MS);
        // Two honest voters: a leader a year ahead proposes at their time.
        clocks.record(2, now, t0, t0);
        clocks.record(3, now + 10, t0, t0);
        assert_eq!(clocks.proposal_time(now + YEAR_MS, &[2, 3], t0), now + 10);
        // A voter a year ahead or behind does not move an honest leader.
        clocks.record(3, now + YEAR_MS, t0, t0);
        assert_eq!(clocks.proposal_time(now + 5, &[2, 3], t0), now + 5);
        clocks.record(3, now - YEAR_MS, t0, t0);
        assert_eq!(clocks.proposal_time(now + 5, &[2, 3], t0), now);
    }

    #[test]
    fn readings_age_with_the_monotonic_clock_and_expire() {
        let t0 = Instant::now();
        let now = 1_800_000_000_000;
        let mut clocks = PeerClocks::default();
        // Sent at t0, answered 40 ms later: 20 ms added for the way back.
        clocks.record(2, now, t0, t0 + Duration::from_millis(40));
        // Two clocks of three voters: the earlier.
        let later = t0 + Duration::from_millis(1_040);
        assert_eq!(clocks.proposal_time(now + YEAR_MS, &[2, 3], later), now + 20 + 1_000);
        // Stale: the leader is on its own again.
        let stale = t0 + READING_MAX_AGE + Duration::from_secs(1);
        assert_eq!(clocks.proposal_time(now + YEAR_MS, &[2, 3], stale), now + YEAR_MS);
        // Too few of five voters' clocks known: its own.
        clocks.record(2, now, t0, t0);
        assert_eq!(clocks.proposal_time(now + YEAR_MS, &[2, 3, 4, 5], t0), now + YEAR_MS);
        clocks.clear();
        assert_eq!(clocks.proposal_time(now, &[2, 3], t0), now);
    }
}
