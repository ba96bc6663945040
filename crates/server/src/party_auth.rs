//! The party plane's gate: which calls must come from a registered party
//! (`SubmitEnvelopes`, `GetEnvelope`, `ListEnvelopes`, `Watch`,
//! `ListProposals`), and the check that they do.
//!
//! Threat model: the API port is public (consumers verify items there).
//! The ledger's envelopes carry the network's business: who shipped what to
//! whom, when, under which order. Parties are competitors; an anonymous
//! script, a rival brand or a seller of fakes must not page through it, nor
//! flood the log with submissions, without being a registered party that
//! answers for its calls. So each party-plane call carries a credential
//! signed with one of the party's active keys
//! ([`veritrace_core::party_call`]): the node checks the signature over
//! (network, this node, method, party, time, nonce), that the key is an active key of
//! that party in this node's applied state, that the party is not
//! suspended, that the time is within [`MAX_SKEW_MS`] of its clock, and
//! that it has not seen the nonce before (it remembers accepted nonces for
//! the window, at most [`MAX_REMEMBERED`]).
//!
//! Out of scope here: which envelopes a party may read. Every registered
//! party reads the whole shared log, as every validator holds it; private
//! business data (issue 18, item 5) keeps clear values off it.
//!
//! `[api.party] insecure = true` lets calls without a credential through
//! (logged as a warning at start): a test network on loopback only. A call
//! that carries a credential is checked either way.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tonic::{Code, Status};
use veritrace_core::party_call::{Credential, CredentialError, MAX_SKEW_MS};
use veritrace_proto::v1 as pb;
use veritrace_service::Service;

use crate::config::PartySection;
use crate::status::reason;

/// Most nonces a node remembers at once: about 800 calls a second over
/// the window. Beyond it calls get `RESOURCE_EXHAUSTED` until old ones
/// expire (about 60 MiB at the cap).
pub const MAX_REMEMBERED: usize = 500_000;

/// Most nonces remembered for one signing key: one party flooding calls
/// fills its own share, not the node's memory for everyone.
pub const MAX_REMEMBERED_PER_KEY: usize = 100_000;

/// A remembered call: 16 bytes of blake3 over the signing key and the
/// nonce (a collision needs 2^64 calls).
type CallId = [u8; 16];

/// Nonces of accepted calls, until their window closes.
#[derive(Default)]
struct SeenNonces {
    ids: HashSet<CallId>,
    /// (expiry, call, signing key).
    by_expiry: BTreeSet<(u64, CallId, [u8; 32])>,
    per_key: HashMap<[u8; 32], usize>,
}

/// Why a call could not be remembered.
#[derive(Debug, PartialEq, Eq)]
enum Full {
    /// The key's share is used up.
    Key,
    /// The node's memory is.
    Node,
}

impl SeenNonces {
    /// Remembers `id` (signed with `key`) until `expires_ms`; false if it
    /// was already there. Forgets what expired by `now_ms` first.
    fn remember(&mut self, id: CallId, key: [u8; 32], expires_ms: u64, now_ms: u64) -> Result<bool, Full> {
        while let Some(&(expiry, old, old_key)) = self.by_expiry.first() {
            if expiry >= now_ms {
                break;
            }
            self.by_expiry.pop_first();
            self.ids.remove(&old);
            if let Some(n) = self.per_key.get_mut(&old_key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_key.remove(&old_key);
                }
            }
        }
        if self.ids.contains(&id) {
            return Ok(false);
        }
        if self.per_key.get(&key).copied().unwrap_or(0) >= MAX_REMEMBERED_PER_KEY {
            return Err(Full::Key);
        }
        if self.ids.len() >= MAX_REMEMBERED {
            return Err(Full::Node);
        }
        self.ids.insert(id);
        self.by_expiry.insert((expires_ms, id, key));
        *self.per_key.entry(key).or_insert(0) += 1;
        Ok(true)
    }
}

/// The check in front of every party-plane method (see the module docs).
/// Clones share the nonce memory.
#[derive(Clone)]
pub struct PartyGate {
    open: bool,
    seen: Arc<Mutex<SeenNonces>>,
}

impl std::fmt::Debug for PartyGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartyGate").field("open", &self.open).finish()
    }
}

impl PartyGate {
    /// The gate `[api.party]` describes.
    pub fn from_config(party: &PartySection) -> Self {
        if party.insecure {
            tracing::warn!(
                "api.party.insecure: submissions and reads of envelopes, proposals and the watch stream are open to \
                 anyone who reaches the API port, without a party credential"
            );
        }
        PartyGate { open: party.insecure, seen: Arc::default() }
    }

    /// Lets a call of `method` (its full path) through, returning who
    /// called (`None`: no credential, and the plane is open), or
    /// refuses it with a reason:
    ///
    /// * `UNAUTHENTICATED`: `PARTY_AUTH_REQUIRED` (no credential),
    ///   `PARTY_AUTH_INVALID` (malformed, or the signature fails),
    ///   `PARTY_AUTH_STALE` (time outside the window), `PARTY_AUTH_REPLAYED`
    ///   (nonce seen), `PARTY_KEY_NOT_AUTHORIZED` (not an active key of a
    ///   registered party here);
    /// * `PERMISSION_DENIED`: `PARTY_SUSPENDED`;
    /// * `RESOURCE_EXHAUSTED`: `NONCE_MEMORY_FULL`.
    pub fn check(
        &self,
        service: &Service,
        metadata: &tonic::metadata::MetadataMap,
        method: &str,
    ) -> Result<Option<Caller>, Status> {
        self.check_headers(service, |name| metadata.get(name).and_then(|v| v.to_str().ok()), method)
    }

    /// [`check`](Self::check) for any transport: `header` reads the
    /// credential's entries (HTTP headers of the same names for the EPCIS
    /// REST binding, whose `method` is `"{HTTP method} {path}"`).
    pub fn check_headers<'h>(
        &self,
        service: &Service,
        header: impl Fn(&str) -> Option<&'h str>,
        method: &str,
    ) -> Result<Option<Caller>, Status> {
        let unauthenticated = |r: &str, m: String| reason(Code::Unauthenticated, r, m);
        let credential =
            Credential::from_headers(header).map_err(|e| unauthenticated("PARTY_AUTH_INVALID", e.to_string()))?;
        let Some(credential) = credential else {
            if self.open {
                return Ok(None);
            }
            return Err(unauthenticated(
                "PARTY_AUTH_REQUIRED",
                format!(
                    "{method} is a party call: sign it with a party key (veritrace-party, veritrace-key, ... metadata)"
                ),
            ));
        };
        let now_ms = u64::try_from(veritrace_service::now_ms()).unwrap_or(0);
        let ledger = service.ledger();
        let key =
            credential.verify(ledger.genesis().network_id(), service.peer_id(), method, now_ms).map_err(
                |e| match e {
                    CredentialError::Stale { .. } => unauthenticated("PARTY_AUTH_STALE", e.to_string()),
                    other => unauthenticated("PARTY_AUTH_INVALID", other.to_string()),
                },
            )?;
        let key_bytes = key.to_bytes();
        standing(service, &credential.party_id, &key_bytes)?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&key_bytes).update(&credential.nonce);
        let mut id: CallId = [0; 16];
        id.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        // Kept until the credential can no longer be accepted here.
        let expires = credential.time_ms.max(now_ms).saturating_add(MAX_SKEW_MS);
        let fresh = self
            .seen
            .lock()
            .map_err(|_| reason(Code::Internal, "INTERNAL", "nonce memory poisoned"))?
            .remember(id, key_bytes, expires, now_ms);
        match fresh {
            Ok(true) => Ok(Some(Caller { party_id: credential.party_id, key: key_bytes })),
            Ok(false) => Err(unauthenticated(
                "PARTY_AUTH_REPLAYED",
                "this credential's nonce was used before: sign each call afresh".to_owned(),
            )),
            Err(Full::Key) => Err(reason(
                Code::ResourceExhausted,
                "NONCE_MEMORY_FULL",
                format!("more than {MAX_REMEMBERED_PER_KEY} recent calls with key {key}; slow down"),
            )),
            Err(Full::Node) => Err(reason(
                Code::ResourceExhausted,
                "NONCE_MEMORY_FULL",
                "this node remembers too many recent party calls; retry in a minute",
            )),
        }
    }
}

/// Who made a party call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The calling party.
    pub party_id: String,
    /// The key it signed with.
    pub key: [u8; 32],
}

/// Whether `key` is, in this node's applied state, an ACTIVE key of the
/// ACTIVE party `party_id`: what a call needs when it arrives, and what a
/// long-lived call (Watch) needs to go on (a suspension or a key
/// revocation ends it).
pub fn standing(service: &Service, party_id: &str, key: &[u8; 32]) -> Result<(), Status> {
    let ledger = service.ledger();
    let party = ledger
        .party(party_id)
        .map_err(|e| reason(Code::Unavailable, "STORAGE_UNAVAILABLE", format!("reading the party: {e}")))?;
    let not_authorized = || {
        reason(
            Code::Unauthenticated,
            "PARTY_KEY_NOT_AUTHORIZED",
            format!(
                "key {} is not an active key of a party {party_id:?} in this node's state (applied up to tree size {})",
                hex::encode(key),
                ledger.tree_head().tree_size
            ),
        )
    };
    let party = party.ok_or_else(not_authorized)?;
    let active = party.signing_keys.iter().any(|k| k.public_key == key && k.status == pb::KeyStatus::Active as i32);
    if !active {
        return Err(not_authorized());
    }
    if party.status != pb::PartyStatus::Active as i32 {
        return Err(reason(
            Code::PermissionDenied,
            "PARTY_SUSPENDED",
            format!("party {party_id} is not active (suspended)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_remembered_until_they_expire() {
        let mut seen = SeenNonces::default();
        let (a, key) = ([1u8; 16], [9u8; 32]);
        assert_eq!(seen.remember(a, key, 100, 0), Ok(true));
        assert_eq!(seen.remember(a, key, 100, 50), Ok(false));
        assert_eq!(seen.remember(a, key, 300, 101), Ok(true), "expired at 100, so new again at 101");
        assert_eq!((seen.ids.len(), seen.by_expiry.len(), seen.per_key[&key]), (1, 1, 1));
    }

    #[test]
    fn one_key_fills_its_own_share_only() {
        let mut seen = SeenNonces::default();
        let (flooder, other) = ([1u8; 32], [2u8; 32]);
        for n in 0..MAX_REMEMBERED_PER_KEY as u64 {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&n.to_be_bytes());
            assert_eq!(seen.remember(id, flooder, 1_000, 0), Ok(true));
        }
        assert_eq!(seen.remember([0xff; 16], flooder, 1_000, 0), Err(Full::Key));
        assert_eq!(seen.remember([0xfe; 16], other, 1_000, 0), Ok(true), "another party is not locked out");
        // Once the window passes, the flooder's share is free again.
        assert_eq!(seen.remember([0xff; 16], flooder, 3_000, 1_001), Ok(true));
        assert_eq!(seen.per_key[&flooder], 1);
    }
}
