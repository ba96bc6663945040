//! Threshold code checks (CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1): how a
//! replica checks a code no validator can check alone, and how it helps
//! the others check theirs.
//!
//! The ledger stores `F_k(item key ‖ code)` for a brand key `k` split
//! t-of-n among validator nodes (`veritrace_core::oprf`). To check a code
//! the replica a consumer asked ([`asker`]) evaluates its own share, if it
//! holds one, sends the item and the code to as many other holders as the
//! threshold still needs (more only when some fail), combines t partial
//! evaluations and compares. A match proves itself; a mismatch is believed
//! only once each partial's proof checks against the share the brand
//! registered (proofs are asked for only then). Each helper ([`helper`]) answers only for an item
//! that exists under that key, with its label token, while the item's
//! guess budget on its own ledger is open, and per asking node and item in
//! the guess window at most [`UNSETTLED_HELP_PER_ASKER`] times for request
//! ids its ledger has not counted and [`HELP_PER_ASKER_PER_WINDOW`] times in
//! all ([`HelpBudget`]). So a validator operator who wants to test guesses
//! needs t-1 other nodes to answer each one, and gets from every honest
//! helper, without spending the item's budget on the ledger, what a
//! consumer gets from the ledger: 5 wrong guesses a window.
//!
//! ### Threat model (see ARCHITECTURE.md, "Code secrecy")
//!
//! * Stored data: the digest, every public share and the node's own share
//!   are jointly independent of `F_k` at any untried input while fewer
//!   than t shares are known: no offline search.
//! * A dishonest asking node can ask for evaluations of codes nobody typed;
//!   every honest helper counts them against that asker and item.
//! * A dishonest helper can refuse (the asker uses the others) or answer
//!   wrongly (its proof fails; the asker uses the others). It learns the
//!   item and code of the checks it helps with, as the asking node does.
//! * t-1 colluding share holders learn nothing more; t of them can compute
//!   `F_k` offline, like the brand.
//!
//! ### Wire
//!
//! Requests travel on the transport's forward channel tagged
//! [`PEER_REQUEST_TAG`] (consensus's forwarded proposals use tags below
//! 0x80); [`route_inbound`] hands them to [`Service::answer_peer_request`]
//! before the Raft driver sees its own traffic.

pub(crate) mod asker;
pub(crate) mod helper;
mod route;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use veritrace_consensus::{NodeId, Transport, TransportError};
use veritrace_core::oprf::KeyShare;
use veritrace_core::oprf::files::ShareFile;
use veritrace_core::scan::{LOCKOUT_FAILURES, LOCKOUT_WINDOW_MS, MAX_ATTEMPTS_PER_WINDOW};
use veritrace_ledger::CodeKeyParts;

pub use route::route_inbound;

#[cfg(doc)]
use crate::Service;

/// First byte of a peer request on the forward channel: an
/// `EvaluateCodeRequest` follows. Consensus's own forwarded requests use
/// tags 1 to 3 and reserve 0x80 and above for the application.
pub const PEER_REQUEST_TAG: u8 = 0x80;

/// Partial evaluations one helper grants one asking node for one item in
/// one guess window (15 minutes) in all: the ledger's whole per-item
/// budget, so an honest asker serving real consumers never runs out
/// before the ledger says so.
pub const HELP_PER_ASKER_PER_WINDOW: usize = MAX_ATTEMPTS_PER_WINDOW;

/// Of those, how many may be *unsettled*: given for a request id the
/// item's attempt log on the helper's ledger does not (yet) hold. An honest
/// asker settles every evaluation at once (its `CodeAttempt` or scan
/// follows within a consensus round); a dishonest one that never submits
/// one gets this many per window from each helper, the ledger's own
/// wrong-guess allowance, and every further guess spends the item's
/// budget on the ledger like a consumer's.
pub const UNSETTLED_HELP_PER_ASKER: usize = LOCKOUT_FAILURES;

/// Most items a helper tracks for one asking node; past it, expired
/// entries are dropped, and if none has expired that asker is refused
/// (fail closed). Per asker, so that a dishonest node filling its own
/// table cannot crowd out the others, and memory stays bounded by the
/// number of validators.
pub const MAX_TRACKED_ITEMS_PER_ASKER: usize = 100_000;

/// This replica's shares of brands' code keys, by public key.
#[derive(Default)]
pub struct CodeKeyShares {
    by_key: HashMap<[u8; 32], KeyShare>,
}

impl std::fmt::Debug for CodeKeyShares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeKeyShares").field("keys", &self.by_key.len()).finish_non_exhaustive()
    }
}

impl CodeKeyShares {
    /// The shares of the given files (a later file for the same key
    /// replaces an earlier one).
    pub fn new(files: impl IntoIterator<Item = ShareFile>) -> Self {
        CodeKeyShares { by_key: files.into_iter().map(|f| (f.public_key.to_bytes(), f.share)).collect() }
    }

    /// The share of the key `public_key`, if this replica holds one.
    pub(crate) fn get(&self, public_key: &[u8]) -> Option<&KeyShare> {
        <[u8; 32]>::try_from(public_key).ok().and_then(|k| self.by_key.get(&k))
    }
}

/// Most decoded code keys kept ([`DecodedKeys`]); past it the map starts
/// over. A network has one key per brand or product line, far fewer.
const MAX_DECODED_KEYS: usize = 4_096;

/// Code keys as stored on the ledger, decoded, by public key. The ledger
/// stores each key once and never changes it, so a check decodes one (a
/// state read and a point decompression per share) once per process, not
/// once per consumer. Cleared when full rather than evicting one by one:
/// refilling costs one decoding per key in use, and no eviction library
/// is worth a dependency here.
#[derive(Default)]
pub(crate) struct DecodedKeys {
    by_key: Mutex<HashMap<Vec<u8>, Arc<CodeKeyParts>>>,
}

impl std::fmt::Debug for DecodedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.by_key.lock().map_or(0, |m| m.len());
        f.debug_struct("DecodedKeys").field("keys", &n).finish()
    }
}

impl DecodedKeys {
    /// The key stored under `public_key`, decoded by `decode` on first use.
    pub(crate) fn get_or_decode<E>(
        &self,
        public_key: &[u8],
        decode: impl FnOnce() -> Result<CodeKeyParts, E>,
    ) -> Result<Arc<CodeKeyParts>, E> {
        if let Some(parts) = self.lock().get(public_key) {
            return Ok(Arc::clone(parts));
        }
        // Decoded outside the lock: concurrent first checks may both decode.
        let parts = Arc::new(decode()?);
        let mut map = self.lock();
        if map.len() >= MAX_DECODED_KEYS {
            map.clear();
        }
        map.insert(public_key.to_vec(), Arc::clone(&parts));
        Ok(parts)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Arc<CodeKeyParts>>> {
        self.by_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How many evaluations this helper gave each asking node for each item in
/// the current window.
#[derive(Debug, Default)]
pub(crate) struct HelpBudget {
    given: Mutex<HashMap<NodeId, GivenTo>>,
}

/// One evaluation given: when, for which request id, of which input
/// (its hash).
#[derive(Debug)]
struct Given {
    at_ms: i64,
    request_id: Vec<u8>,
    input: [u8; 32],
}

/// The evaluations a helper gave one asking node, by item key.
type GivenTo = HashMap<Vec<u8>, VecDeque<Given>>;

/// Why a helper will not give another evaluation now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HelpRefused {
    /// The window's allowance for this asker and item is spent.
    Spent,
    /// Too many evaluations whose request ids the ledger has not counted.
    Unsettled,
    /// The asker's table is full of live entries.
    Full,
}

impl HelpBudget {
    /// Counts one evaluation for `asker`, `item_key`, `request_id` and the
    /// input hash `input` at `now_ms`, given the request ids the item's
    /// attempt log holds on this helper's ledger (`counted`; each settles
    /// one evaluation), or says why not (counting nothing).
    ///
    /// The same request id and input again in the window costs nothing: it
    /// is the asker fetching the same evaluation with its proof (after a
    /// mismatch, [`asker`]), which tells it nothing new.
    pub(crate) fn take(
        &self,
        asker: NodeId,
        item_key: &[u8],
        request_id: &[u8],
        input: &[u8; 32],
        counted: &[&[u8]],
        now_ms: i64,
    ) -> Result<(), HelpRefused> {
        let fresh = |times: &mut VecDeque<Given>| {
            while times.front().is_some_and(|g| now_ms - g.at_ms >= LOCKOUT_WINDOW_MS) {
                times.pop_front();
            }
        };
        let mut given = self.given.lock().unwrap_or_else(|e| e.into_inner());
        let items = given.entry(asker).or_default();
        if !items.contains_key(item_key) && items.len() >= MAX_TRACKED_ITEMS_PER_ASKER {
            items.retain(|_, times| {
                fresh(times);
                !times.is_empty()
            });
            if items.len() >= MAX_TRACKED_ITEMS_PER_ASKER {
                return Err(HelpRefused::Full);
            }
        }
        let times = items.entry(item_key.to_vec()).or_default();
        fresh(times);
        if times.iter().any(|g| g.request_id == request_id && &g.input == input) {
            return Ok(());
        }
        if times.len() >= HELP_PER_ASKER_PER_WINDOW {
            return Err(HelpRefused::Spent);
        }
        // Each counted request id settles one evaluation given for it.
        let mut unsettled_counted: Vec<&[u8]> = counted.to_vec();
        let mut unsettled = 0;
        for g in times.iter() {
            match unsettled_counted.iter().position(|c| *c == g.request_id.as_slice()) {
                Some(i) => {
                    unsettled_counted.swap_remove(i);
                }
                None => unsettled += 1,
            }
        }
        if unsettled >= UNSETTLED_HELP_PER_ASKER {
            return Err(HelpRefused::Unsettled);
        }
        times.push_back(Given { at_ms: now_ms, request_id: request_id.to_vec(), input: *input });
        Ok(())
    }
}

/// A future answering a peer request, boxed so that the service can hold
/// any transport behind one pointer.
pub type PeerAnswer<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, TransportError>> + Send + 'a>>;

/// How the service reaches other replicas for code checks: the forward
/// channel of the consensus transport.
pub trait PeerRequests: Send + Sync + 'static {
    /// Sends `request` (tagged) to `to` and waits for its answer, within
    /// the transport's deadline.
    fn ask(&self, to: NodeId, request: Vec<u8>) -> PeerAnswer<'_>;
}

impl<T: Transport> PeerRequests for T {
    fn ask(&self, to: NodeId, request: Vec<u8>) -> PeerAnswer<'_> {
        Box::pin(self.forward(to, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsettled_help_is_the_wrong_guess_allowance_and_settled_help_the_ledgers() {
        let budget = HelpBudget::default();
        let t0 = 1_000_000;
        let id = |n: usize| format!("request-{n:08}").into_bytes();
        let input = |n: usize| *blake3::hash(&n.to_le_bytes()).as_bytes();
        // Nothing counted on the ledger: five evaluations, then no more.
        for n in 0..UNSETTLED_HELP_PER_ASKER {
            assert_eq!(budget.take(2, b"item-a", &id(n), &input(n), &[], t0), Ok(()), "evaluation {n}");
        }
        assert_eq!(budget.take(2, b"item-a", &id(99), &input(99), &[], t0), Err(HelpRefused::Unsettled));
        // The same request and input again (a proof fetched after a
        // mismatch) is free; the same request id with another input is not.
        assert_eq!(budget.take(2, b"item-a", &id(0), &input(0), &[], t0), Ok(()));
        assert_eq!(budget.take(2, b"item-a", &id(0), &input(1), &[], t0), Err(HelpRefused::Unsettled));
        // Another asker, or another item, has its own allowance.
        assert_eq!(budget.take(3, b"item-a", &id(0), &input(0), &[], t0), Ok(()));
        assert_eq!(budget.take(2, b"item-b", &id(0), &input(0), &[], t0), Ok(()));
        // Once the ledger counted their request ids, they are settled, up
        // to the window's whole allowance; one counted id settles one.
        let ids: Vec<Vec<u8>> = (0..HELP_PER_ASKER_PER_WINDOW).map(id).collect();
        let counted: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
        for n in UNSETTLED_HELP_PER_ASKER..HELP_PER_ASKER_PER_WINDOW {
            let r = budget.take(2, b"item-a", &id(n), &input(n), &counted[..n], t0);
            assert_eq!(r, Ok(()), "settled evaluation {n}");
        }
        assert_eq!(budget.take(2, b"item-a", &id(50), &input(50), &counted, t0), Err(HelpRefused::Spent));
        let reused = vec![counted[0]; HELP_PER_ASKER_PER_WINDOW];
        assert_eq!(budget.take(3, b"item-a", &id(0), &input(100), &reused, t0 + 1), Ok(()));
        for n in 0..UNSETTLED_HELP_PER_ASKER {
            let r = budget.take(3, b"item-a", &id(0), &input(200 + n), &reused[..1], t0 + 1);
            assert_eq!(r.is_ok(), n + 2 <= UNSETTLED_HELP_PER_ASKER, "one counted id settled more than one evaluation");
        }
        // The window moves on.
        assert_eq!(budget.take(2, b"item-a", &id(60), &input(60), &[], t0 + LOCKOUT_WINDOW_MS), Ok(()));
    }
}
