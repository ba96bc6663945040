//! The stateless half of apply: decoding an envelope, checking its
//! signature and decoding its transaction.
//!
//! ### The signature rule
//!
//! Signatures are checked by the cofactored rule of
//! [`veritrace_core::cofactored`], the same rule the audit
//! (`Ledger::audit` with signatures) and offline receipt verification use.
//! A chunk's signatures are checked together with batch verification
//! (~2.5 times cheaper per signature than one at a time), which gives the
//! same answer for each envelope as checking it alone: that is why the rule
//! is cofactored. (0.5.0 first tried ed25519-dalek's cofactorless batch
//! check against `verify_strict` and withdrew it: the two disagree on
//! signatures whose `R` has a small-order component, which a client can
//! grind for.)
//!
//! These checks read nothing but the chunk's bytes, so they are a pure
//! function of them: they may run on any thread, before the batch is
//! committed, and [`Ledger::apply_prechecked`](crate::Ledger::apply_prechecked)
//! gives the same receipts whether it is handed their results or computes
//! them itself. That is what lets a node check signatures on every core, and
//! ahead of time (while the entry is being replicated and fsynced), while
//! every replica still checks every signature itself by the same rule.
//! Chunks ([`PRECHECK_CHUNK`] envelopes) are only a unit of work: the
//! result of an envelope does not depend on its neighbours.

use std::collections::HashMap;
use std::num::NonZeroUsize;

use veritrace_core::keys::{KeyError, verify_batch};
use veritrace_core::{Envelope, EnvelopeError, Hash, PublicKey, SigningContext};
use veritrace_proto::v1 as pb;

/// Envelopes per unit of precheck work (a thread's share, a worker's job).
pub const PRECHECK_CHUNK: usize = 64;

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
    /// Runs the stateless checks on `bytes` alone ([`precheck_chunk`] gives
    /// the same outcome for each envelope of a chunk, cheaper).
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

/// The machine's cores, asked once: `available_parallelism` reads the
/// cgroup files on every call (~2% of a node's CPU under load when it was
/// asked per batch).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// Runs the stateless checks on one chunk of a batch (the unit of work of
/// [`precheck_chunks`] and of the node's precheck workers), in order.
///
/// Each envelope gets the outcome [`Prechecked::new`] gives it alone: the
/// signatures of the chunk are batch-verified together, and a signer key
/// that recurs in the chunk is decoded once.
pub fn precheck_chunk<B: AsRef<[u8]>>(chunk: &[B]) -> Vec<Prechecked> {
    // Decode every envelope and its signer key; what fails here is final.
    let mut keys: HashMap<Vec<u8>, Result<PublicKey, KeyError>> = HashMap::new();
    let mut decoded: Vec<Result<(Envelope, PublicKey), Checked>> = Vec::with_capacity(chunk.len());
    for bytes in chunk {
        decoded.push(match Envelope::decode(bytes.as_ref()) {
            Err(error) => Err(Checked::Undecodable(error)),
            Ok(env) => {
                let key =
                    keys.entry(env.signer_key().to_vec()).or_insert_with_key(|raw| PublicKey::from_slice(raw)).clone();
                match key {
                    Ok(key) => Ok((env, key)),
                    Err(error) => Err(Checked::Refused { id: env.id(), error: error.into() }),
                }
            }
        });
    }
    // Then every signature, in one batch.
    let items: Vec<(&PublicKey, &[u8], &[u8])> =
        decoded.iter().flatten().map(|(env, key)| (key, env.payload(), env.signature())).collect();
    // One result per signed envelope, in order; a missing one (never: the
    // batch answers every item) counts as a bad signature, never as good.
    let mut signatures = verify_batch(SigningContext::Transaction, &items).into_iter();
    decoded
        .into_iter()
        .map(|d| {
            let checked = match d {
                Err(checked) => checked,
                Ok((env, signer)) => match signatures.next().unwrap_or(Err(KeyError::BadSignature)) {
                    Err(error) => Checked::Refused { id: env.id(), error: error.into() },
                    Ok(()) => match env.transaction() {
                        Ok(tx) => Checked::Valid { env: Box::new(env), signer, tx: Box::new(tx) },
                        Err(error) => Checked::Refused { id: env.id(), error },
                    },
                },
            };
            Prechecked(checked)
        })
        .collect()
}

/// Prechecks chunks, in order, spreading them over the machine's cores
/// (scoped threads; the result does not depend on how the work was split).
pub fn precheck_chunks<B: AsRef<[u8]> + Sync>(chunks: &[&[B]]) -> Vec<Vec<Prechecked>> {
    let threads = cores();
    if chunks.len() < 2 || threads < 2 {
        return chunks.iter().map(|c| precheck_chunk(c)).collect();
    }
    let per_thread = chunks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut parts = chunks.chunks(per_thread);
        // The calling thread takes the first part itself.
        let first = parts.next().unwrap_or_default();
        let handles: Vec<_> =
            parts.map(|part| scope.spawn(move || part.iter().map(|c| precheck_chunk(c)).collect::<Vec<_>>())).collect();
        let mut out: Vec<Vec<Prechecked>> = first.iter().map(|c| precheck_chunk(c)).collect();
        for (handle, part) in handles.into_iter().zip(chunks.chunks(per_thread).skip(1)) {
            // A panicking check (it has none) would be redone here rather
            // than lost.
            match handle.join() {
                Ok(checked) => out.extend(checked),
                Err(_) => out.extend(part.iter().map(|c| precheck_chunk(c))),
            }
        }
        out
    })
}

/// Prechecks every envelope of a batch, in order: the batch cut into
/// chunks of [`PRECHECK_CHUNK`], spread over the machine's cores.
pub fn precheck_all<B: AsRef<[u8]> + Sync>(envelopes: &[B]) -> Vec<Prechecked> {
    let chunks: Vec<&[B]> = envelopes.chunks(PRECHECK_CHUNK).collect();
    precheck_chunks(&chunks).into_iter().flatten().collect()
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

    fn reshaped(bytes: &[u8], change: impl FnOnce(&mut pb::SignedEnvelope)) -> Vec<u8> {
        let mut msg = Envelope::decode(bytes).expect("decodes").to_proto();
        change(&mut msg);
        // Raw protobuf: shapes `Envelope::from_proto` would refuse are
        // exactly what a hostile client can send.
        prost::Message::encode_to_vec(&msg)
    }

    #[test]
    fn chunked_checks_give_each_envelope_the_outcome_it_gets_alone() {
        // Three chunks; broken envelopes in each, of every kind the one-by-one
        // path distinguishes, in the order it reports them.
        let mut batch: Vec<Vec<u8>> = (0..150).map(signed).collect();
        batch[3] = b"not an envelope".to_vec();
        batch[7] = reshaped(&batch[7], |m| m.signature[0] ^= 1);
        batch[64] = reshaped(&batch[64], |m| m.signature.truncate(63));
        batch[70] = reshaped(&batch[70], |m| m.signer_key_id.push(0));
        // The identity point is a weak key.
        batch[100] = reshaped(&batch[100], |m| {
            m.signer_key_id = {
                let mut identity = vec![0u8; 32];
                identity[0] = 1;
                identity
            }
        });
        // A valid signature over bytes that are not a transaction.
        batch[120] = Envelope::sign(vec![0xff, 0xff, 0xff], &SecretKey::from_seed_label("precheck")).bytes().to_vec();
        // Both a bad signature and a bad transaction: the signature is named.
        batch[121] = reshaped(&batch[120], |m| m.signature[5] ^= 1);
        let chunked = precheck_all(&batch);
        assert_eq!(chunked.len(), batch.len());
        let broken = [3, 7, 64, 70, 100, 120, 121];
        for (i, (c, b)) in chunked.iter().zip(&batch).enumerate() {
            assert_eq!(format!("{c:?}"), format!("{:?}", Prechecked::new(b)), "envelope {i}");
            assert_eq!(c.is_valid(), !broken.contains(&i), "envelope {i}");
        }
        // Each chunk alone gives the same as the whole batch.
        let by_chunk: Vec<Prechecked> = batch.chunks(PRECHECK_CHUNK).flat_map(precheck_chunk).collect();
        let render = |v: &[Prechecked]| v.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>();
        assert_eq!(render(&by_chunk), render(&chunked));
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
