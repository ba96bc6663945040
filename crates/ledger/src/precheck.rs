//! The stateless half of apply: decoding an envelope, its strict signature
//! check and decoding its transaction.
//!
//! These checks read nothing but the envelope's bytes, so they are a pure
//! function of them: they may run on any thread, before the batch is
//! committed, and [`Ledger::apply_prechecked`](crate::Ledger::apply_prechecked)
//! gives the same receipts whether it is handed their results or computes
//! them itself. That is what lets a node check signatures on every core, and
//! ahead of time (while the entry is being replicated and fsynced), without
//! giving up determinism: the rule stays `verify_strict` on every replica.
//!
//! The signature check is the most expensive step of apply (~35 µs per
//! envelope in release, against a few µs for everything else), which is why
//! [`precheck_all`] spreads a batch over the machine's cores.

use std::num::NonZeroUsize;

use veritrace_core::{Envelope, EnvelopeError, Hash, PublicKey};
use veritrace_proto::v1 as pb;

/// Batches smaller than this are checked on the calling thread: spawning
/// costs more than it saves.
const PARALLEL_MIN: usize = 16;

/// The outcome of the stateless checks of one envelope.
#[derive(Debug, Clone)]
pub struct Prechecked(pub(crate) Checked);

#[derive(Debug, Clone)]
pub(crate) enum Checked {
    /// Not a canonical envelope: refused without an id.
    Undecodable(EnvelopeError),
    /// Decoded (so it has an id) but its signature or transaction is bad.
    Refused { id: Hash, error: EnvelopeError },
    /// Signed by `signer`, carrying `tx`.
    Valid { env: Box<Envelope>, signer: PublicKey, tx: Box<pb::Transaction> },
}

impl Prechecked {
    /// Runs the stateless checks on `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        let env = match Envelope::decode(bytes) {
            Ok(env) => env,
            Err(error) => return Prechecked(Checked::Undecodable(error)),
        };
        let checked = match env.verify().and_then(|signer| Ok((signer, env.transaction()?))) {
            Ok((signer, tx)) => Checked::Valid { env: Box::new(env), signer, tx: Box::new(tx) },
            Err(error) => Checked::Refused { id: env.id(), error },
        };
        Prechecked(checked)
    }

    /// The envelope's id, when its bytes decoded.
    pub fn id(&self) -> Option<Hash> {
        match &self.0 {
            Checked::Undecodable(_) => None,
            Checked::Refused { id, .. } => Some(*id),
            Checked::Valid { env, .. } => Some(env.id()),
        }
    }

    /// Whether every stateless check passed.
    pub fn is_valid(&self) -> bool {
        matches!(self.0, Checked::Valid { .. })
    }
}

/// Prechecks every envelope of a batch, in order, spreading large batches
/// over the machine's cores (scoped threads; the result does not depend on
/// how the work was split).
pub fn precheck_all<B: AsRef<[u8]> + Sync>(envelopes: &[B]) -> Vec<Prechecked> {
    let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    if envelopes.len() < PARALLEL_MIN || threads < 2 {
        return envelopes.iter().map(|b| Prechecked::new(b.as_ref())).collect();
    }
    let chunk = envelopes.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut parts = envelopes.chunks(chunk);
        // The calling thread takes the first chunk itself.
        let first = parts.next().unwrap_or_default();
        let handles: Vec<_> = parts
            .map(|part| scope.spawn(move || part.iter().map(|b| Prechecked::new(b.as_ref())).collect::<Vec<_>>()))
            .collect();
        let mut out: Vec<Prechecked> = first.iter().map(|b| Prechecked::new(b.as_ref())).collect();
        for (handle, part) in handles.into_iter().zip(envelopes.chunks(chunk).skip(1)) {
            // A panicking check (it has none) would be redone here rather
            // than lost.
            match handle.join() {
                Ok(checked) => out.extend(checked),
                Err(_) => out.extend(part.iter().map(|b| Prechecked::new(b.as_ref()))),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use veritrace_core::SecretKey;

    fn signed(i: u64) -> Vec<u8> {
        let key = SecretKey::from_seed_label("precheck");
        let tx = pb::Transaction { party_id: "p".into(), nonce: i, ..Default::default() };
        Envelope::sign_transaction(&tx, &key).bytes().to_vec()
    }

    #[test]
    fn parallel_prechecks_match_sequential_ones_in_order() {
        let mut batch: Vec<Vec<u8>> = (0..40).map(signed).collect();
        batch[3] = b"not an envelope".to_vec();
        let mut tampered = Envelope::decode(&batch[7]).expect("decodes").to_proto();
        tampered.signature[0] ^= 1;
        batch[7] = Envelope::from_proto(tampered).expect("shape").bytes().to_vec();
        let parallel = precheck_all(&batch);
        assert_eq!(parallel.len(), batch.len());
        for (i, (p, b)) in parallel.iter().zip(&batch).enumerate() {
            let s = Prechecked::new(b);
            assert_eq!(p.id(), s.id(), "envelope {i}");
            assert_eq!(p.is_valid(), s.is_valid(), "envelope {i}");
            assert_eq!(p.is_valid(), i != 3 && i != 7, "envelope {i}");
        }
        assert!(parallel[3].id().is_none());
        assert_eq!(parallel[7].id(), Envelope::decode(&batch[7]).ok().map(|e| e.id()));
    }
}
