//! Faults a test injects: at the gRPC edge ([`Faults`]) and in what a
//! replica signs ([`LyingHeadSigner`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use veritrace_core::{SecretKey, SignedTreeHead, TreeHead};
use veritrace_server::edge::{AnswerFault, InjectedFault};
use veritrace_service::HeadSigner;

/// The faults queued for one replica's gRPC edge, and a count of the calls
/// that passed its rate limit. Each queued fault applies to the next call whose method path
/// ends with its method name, once.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    queued: VecDeque<(String, Duration, Option<tonic::Status>)>,
    /// Calls seen, by full method path.
    calls: BTreeMap<String, usize>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers the next call of `method` (e.g. `SubmitEnvelopes`) with
    /// `status` after the service handled it.
    pub fn fail_next(&self, method: &str, status: tonic::Status) {
        self.lock().queued.push_back((method.to_owned(), Duration::ZERO, Some(status)));
    }

    /// Holds the next call of `method` back for `delay` before the service
    /// sees it (a slow node: a client that gives up first leaves nothing
    /// done).
    pub fn delay_next(&self, method: &str, delay: Duration) {
        self.lock().queued.push_back((method.to_owned(), delay, None));
    }

    /// How many calls of `method` the edge has seen (faulted ones included).
    pub fn calls(&self, method: &str) -> usize {
        let suffix = format!("/{method}");
        self.lock().calls.iter().filter(|(path, _)| path.ends_with(&suffix)).map(|(_, n)| n).sum()
    }

    /// Faults still queued.
    pub fn pending(&self) -> usize {
        self.lock().queued.len()
    }

    /// The hook the server's edge calls for every request.
    pub(crate) fn hook(&self) -> AnswerFault {
        let faults = self.clone();
        Arc::new(move |path: &str| {
            let mut state = faults.lock();
            *state.calls.entry(path.to_owned()).or_default() += 1;
            let at = state.queued.iter().position(|(m, _, _)| path.ends_with(&format!("/{m}")))?;
            let (_, delay, status) = state.queued.remove(at)?;
            Some(InjectedFault { delay, status })
        })
    }
}

/// Signs tree heads with a key, then flips a bit of the signature: a
/// replica that vouches for heads its key never signed.
#[derive(Debug)]
pub struct LyingHeadSigner(pub SecretKey);

impl HeadSigner for LyingHeadSigner {
    fn sign(&self, head: &TreeHead) -> SignedTreeHead {
        let mut signed = head.sign(&self.0);
        signed.signature[0] ^= 1;
        signed
    }
}

/// Signs the heads it serves with a forked root (a history no other
/// replica has), with a valid signature, while co-signing peers' heads
/// honestly: a replica that shows two histories (equivocation).
#[derive(Debug)]
pub struct ForkingHeadSigner(pub SecretKey);

impl HeadSigner for ForkingHeadSigner {
    fn sign(&self, head: &TreeHead) -> SignedTreeHead {
        let forked = TreeHead { root: veritrace_core::Hash::digest(head.root.as_bytes()), ..*head };
        forked.sign(&self.0)
    }

    fn cosign(&self, head: &TreeHead) -> SignedTreeHead {
        head.sign(&self.0)
    }
}
