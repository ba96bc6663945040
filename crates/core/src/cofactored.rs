//! The signature rule: cofactored ed25519 verification, one signature at a
//! time or a batch at once, with the same answer either way.
//!
//! A signature `(R, s)` by key `A` over message `M` (the signing context's
//! prefix followed by the payload) is valid when
//!
//! * `s` is canonical (below the group order ℓ), so nobody but the signer
//!   can turn one valid signature into another;
//! * `R` decodes to a curve point and `A` is a checked [`PublicKey`] (a
//!   valid point, never of small order: see [`PublicKey::from_slice`]);
//! * `[8]·(s·B − R − k·A)` is the identity, where
//!   `k = SHA-512(R ‖ A ‖ M) mod ℓ` over the bytes as sent.
//!
//! This is ZIP-215's rule, except that keys of small order are refused.
//! Every signature ed25519-dalek's `verify_strict` (Veritrace's rule before
//! 0.5) accepts passes it too, so ledgers written under the earlier rule
//! stay valid. It accepts a little more: a signer may put a small-order
//! component into its own `R`. A third party cannot do that to someone
//! else's signature: `R`'s bytes are hashed into `k`, and `s` must be
//! canonical. Such a signature fails cofactorless verifiers (libsodium,
//! most RFC 8032 libraries, Veritrace 0.4): an offline checker of
//! Veritrace envelopes or receipts should use `veritrace_core` or a
//! ZIP-215 verifier. ("Never of small order" does not mean of prime order:
//! a key with a torsion component is accepted, as it was before.)
//!
//! Why cofactored: a batch check multiplies each signature's equation by a
//! weight and sums them. With the cofactor, the batch check agrees with the
//! one-by-one check except with probability at most 2⁻¹²⁸ per batch, for
//! any inputs, so weights derived from the inputs cannot be ground.
//! Without it (ed25519-dalek's `verify_batch`), a small-order component in
//! `R` makes the batch pass for at least one weight in eight, which a
//! client filling a whole batch can grind for (tried and withdrawn in
//! 0.5.0).

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

use crate::keys::{KeyError, PublicKey, SIGNATURE_LEN, SigningContext};

/// A signature whose encoding passed the per-signature checks.
struct Parsed {
    r: EdwardsPoint,
    r_bytes: [u8; 32],
    s: Scalar,
    k: Scalar,
}

/// Checks the encoding of `signature` and computes its challenge `k`.
fn parse(key: &PublicKey, ctx: SigningContext, msg: &[u8], signature: &[u8]) -> Result<Parsed, KeyError> {
    let sig: &[u8; SIGNATURE_LEN] =
        signature.try_into().map_err(|_| KeyError::SignatureLength { len: signature.len() })?;
    let mut r_bytes = [0u8; 32];
    let mut s_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig[..32]);
    s_bytes.copy_from_slice(&sig[32..]);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)).ok_or(KeyError::BadSignature)?;
    let r = CompressedEdwardsY(r_bytes).decompress().ok_or(KeyError::BadSignature)?;
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key.to_bytes());
    h.update(ctx.prefix());
    h.update(msg);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Ok(Parsed { r, r_bytes, s, k })
}

/// The one-signature check of a parsed signature.
fn check_one(key: &PublicKey, p: &Parsed) -> Result<(), KeyError> {
    // R' = s·B − k·A. Honest signatures meet RFC 8032's exact equation
    // (R' == R), which is cheaper to test than the cofactored one.
    let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &-key.point(), &p.s);
    if r_prime.compress().as_bytes() == &p.r_bytes || (r_prime - p.r).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(KeyError::BadSignature)
    }
}

/// Checks one signature by the cofactored rule (module docs).
pub(crate) fn verify_one(key: &PublicKey, ctx: SigningContext, msg: &[u8], signature: &[u8]) -> Result<(), KeyError> {
    check_one(key, &parse(key, ctx, msg, signature)?)
}

/// Checks many signatures of one context at once: one result per item, in
/// order, each the one [`PublicKey::verify`] gives that item alone (the
/// cofactored rule, module docs).
///
/// The batch equation is checked first (~2.4 times cheaper per signature
/// from distinct signers, ~3.7 from one); only when it fails is each
/// signature checked alone, to name the bad ones (so one bad signature
/// makes its batch cost the batch plus one check per signature). A batch
/// could accept a bad signature with probability at most 2⁻¹²⁸ per batch,
/// and the weights, derived from the inputs, leave nothing to grind for.
/// The result is a pure function of the inputs: every replica computes
/// the same.
pub fn verify_batch(ctx: SigningContext, items: &[(&PublicKey, &[u8], &[u8])]) -> Vec<Result<(), KeyError>> {
    let mut results: Vec<Result<(), KeyError>> = Vec::with_capacity(items.len());
    let mut parsed: Vec<(usize, &PublicKey, Parsed)> = Vec::with_capacity(items.len());
    for (i, (key, msg, sig)) in items.iter().enumerate() {
        match parse(key, ctx, msg, sig) {
            Ok(p) => {
                parsed.push((i, key, p));
                results.push(Ok(()));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    let batch_holds = match parsed.as_slice() {
        [] => true,
        [(_, key, p)] => check_one(key, p).is_ok(),
        _ => batch_equation_holds(&parsed),
    };
    if !batch_holds {
        for (i, key, p) in &parsed {
            if let (Err(e), Some(slot)) = (check_one(key, p), results.get_mut(*i)) {
                *slot = Err(e);
            }
        }
    }
    results
}

/// `[8]·(Σ zᵢ·Rᵢ + Σ (zᵢ·kᵢ)·Aᵢ − (Σ zᵢ·sᵢ)·B)` is the identity, with
/// 128-bit weights `zᵢ` drawn from a blake3 hash of every input. Terms of
/// the same key are summed first, so a batch from one signer costs about
/// one point per signature.
fn batch_equation_holds(parsed: &[(usize, &PublicKey, Parsed)]) -> bool {
    let mut transcript = blake3::Hasher::new_derive_key("veritrace.v1 cofactored batch verification weights");
    for (_, key, p) in parsed {
        // k covers R, A and the message; s completes the signature.
        transcript.update(&key.to_bytes());
        transcript.update(&p.r_bytes);
        transcript.update(p.k.as_bytes());
        transcript.update(p.s.as_bytes());
    }
    let mut weights = transcript.finalize_xof();

    let mut b_coefficient = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(parsed.len() + 8);
    let mut points = Vec::with_capacity(parsed.len() + 8);
    let mut key_slot: HashMap<[u8; 32], usize> = HashMap::new();
    let mut key_scalars: Vec<Scalar> = Vec::new();
    let mut key_points: Vec<EdwardsPoint> = Vec::new();
    for (_, key, p) in parsed {
        let mut z_bytes = [0u8; 16];
        weights.fill(&mut z_bytes);
        let z = Scalar::from(u128::from_le_bytes(z_bytes));
        b_coefficient -= z * p.s;
        scalars.push(z);
        points.push(p.r);
        let slot = *key_slot.entry(key.to_bytes()).or_insert_with(|| {
            key_scalars.push(Scalar::ZERO);
            key_points.push(key.point());
            key_points.len() - 1
        });
        key_scalars[slot] += z * p.k;
    }
    scalars.extend(key_scalars);
    points.extend(key_points);
    scalars.push(b_coefficient);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).mul_by_cofactor().is_identity()
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::EIGHT_TORSION;

    use super::*;
    use crate::keys::SecretKey;

    const CTX: SigningContext = SigningContext::Transaction;

    fn scalar(label: &str) -> Scalar {
        let mut wide = [0u8; 64];
        blake3::Hasher::new().update(label.as_bytes()).finalize_xof().fill(&mut wide);
        Scalar::from_bytes_mod_order_wide(&wide)
    }

    fn challenge(r: &EdwardsPoint, a: &EdwardsPoint, msg: &[u8]) -> Scalar {
        let mut h = Sha512::new();
        h.update(r.compress().as_bytes());
        h.update(a.compress().as_bytes());
        h.update(CTX.prefix());
        h.update(msg);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    }

    /// A signature its signer made with `torsion` added to its `R`: valid
    /// by the cofactored rule, refused by RFC 8032's strict check.
    fn signed_with_torsion_in_r(label: &str, msg: &[u8], torsion: EdwardsPoint) -> (PublicKey, Vec<u8>) {
        let a = scalar(&format!("{label} secret"));
        let a_point = EdwardsPoint::mul_base(&a);
        let r = EdwardsPoint::mul_base(&scalar(&format!("{label} nonce {msg:?}"))) + torsion;
        let nonce = scalar(&format!("{label} nonce {msg:?}"));
        let s = nonce + challenge(&r, &a_point, msg) * a;
        let mut sig = r.compress().to_bytes().to_vec();
        sig.extend_from_slice(s.as_bytes());
        (PublicKey::from_slice(a_point.compress().as_bytes()).expect("not small order"), sig)
    }

    fn one_by_one(items: &[(&PublicKey, &[u8], &[u8])]) -> Vec<Result<(), KeyError>> {
        items.iter().map(|(k, m, s)| k.verify(CTX, m, s)).collect()
    }

    /// The indexes of the items `verify_batch` refuses.
    fn batch_bad(ctx: SigningContext, items: &[(&PublicKey, &[u8], &[u8])]) -> Vec<usize> {
        verify_batch(ctx, items).iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect()
    }

    /// `batch_bad` of 32 batches, each an honest signature over a different
    /// message (so different weights) followed by `(pk, msg, sig)`.
    fn batches_with_honest_neighbours(pk: &PublicKey, msg: &[u8], sig: &[u8]) -> Vec<(u8, Vec<usize>)> {
        let honest = SecretKey::from_seed_label("neighbour");
        let honest_pk = honest.public();
        (0..32u8)
            .map(|round| {
                let other = vec![round; 32];
                let other_sig = honest.sign(CTX, &other);
                let items = [(&honest_pk, other.as_slice(), other_sig.as_slice()), (pk, msg, sig)];
                (round, batch_bad(CTX, &items))
            })
            .collect()
    }

    #[test]
    fn honest_signatures_pass_one_by_one_and_batched() {
        let keys: Vec<SecretKey> = (0..3).map(|i| SecretKey::from_seed_label(&format!("honest {i}"))).collect();
        let pks: Vec<PublicKey> = keys.iter().map(SecretKey::public).collect();
        let msgs: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 256]).collect();
        let sigs: Vec<[u8; 64]> = msgs.iter().enumerate().map(|(i, m)| keys[i % 3].sign(CTX, m)).collect();
        let items: Vec<_> = (0..40).map(|i| (&pks[i % 3], msgs[i].as_slice(), sigs[i].as_slice())).collect();
        assert!(one_by_one(&items).iter().all(Result::is_ok));
        assert_eq!(verify_batch(CTX, &items), one_by_one(&items));
        // Another context: every one fails.
        assert_eq!(batch_bad(SigningContext::TreeHead, &items), (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn a_signer_made_small_order_component_in_r_is_valid_both_ways_in_every_batch() {
        let msg = b"event".as_slice();
        let (pk, sig) = signed_with_torsion_in_r("grinder", msg, EIGHT_TORSION[1]);
        // The strict rule refuses it; ours accepts it, alone and in batches.
        let strict = ed25519_dalek::VerifyingKey::from_bytes(&pk.to_bytes()).expect("point");
        let dalek_sig = ed25519_dalek::Signature::from_slice(&sig).expect("64 bytes");
        assert!(strict.verify_strict(&CTX.message_for_tests(msg), &dalek_sig).is_err());
        assert_eq!(pk.verify(CTX, msg, &sig), Ok(()));
        // Whatever its neighbours (and so whatever the weights), the batch
        // agrees: the cofactorless batch check passed one batch in eight.
        for (round, bad) in batches_with_honest_neighbours(&pk, msg, &sig) {
            assert!(bad.is_empty(), "round {round}");
        }
    }

    #[test]
    fn a_wrong_equation_fails_in_every_batch_and_is_named() {
        let msg = b"event".as_slice();
        // An error of prime order (s off by one): invalid, alone or batched.
        let (pk, mut sig) = signed_with_torsion_in_r("forger", msg, EdwardsPoint::default());
        assert_eq!(pk.verify(CTX, msg, &sig), Ok(()));
        let s = Scalar::from_canonical_bytes(sig[32..].try_into().expect("32")).expect("canonical") + Scalar::ONE;
        sig[32..].copy_from_slice(s.as_bytes());
        for (round, bad) in batches_with_honest_neighbours(&pk, msg, &sig) {
            assert_eq!(bad, vec![1], "round {round}");
        }
    }

    #[test]
    fn a_non_canonical_s_is_refused_so_nobody_can_reshape_a_signature() {
        let key = SecretKey::from_seed_label("canonical");
        let pk = key.public();
        let msg = b"event".as_slice();
        let mut sig = key.sign(CTX, msg);
        // s + ℓ encodes the same residue; it must not verify.
        let mut carry = 0u16;
        let ell = Scalar::ZERO - Scalar::ONE; // ℓ − 1
        let ell_bytes = ell.to_bytes();
        for i in 0..32 {
            let sum = u16::from(sig[32 + i]) + u16::from(ell_bytes[i]) + carry + u16::from(i == 0);
            sig[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0, "s + ℓ fits 256 bits");
        assert_eq!(pk.verify(CTX, msg, &sig), Err(KeyError::BadSignature));
        let other = key.sign(CTX, b"other");
        let items = [(&pk, b"other".as_slice(), other.as_slice()), (&pk, msg, sig.as_slice())];
        assert_eq!(verify_batch(CTX, &items), vec![Ok(()), Err(KeyError::BadSignature)]);
    }

    #[test]
    fn batches_name_exactly_the_signatures_that_fail_alone() {
        let keys: Vec<SecretKey> = (0..4).map(|i| SecretKey::from_seed_label(&format!("mixed {i}"))).collect();
        let pks: Vec<PublicKey> = keys.iter().map(SecretKey::public).collect();
        let msgs: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 100]).collect();
        for pattern in 0..16u64 {
            let mut sigs: Vec<Vec<u8>> =
                msgs.iter().enumerate().map(|(i, m)| keys[i % 4].sign(CTX, m).to_vec()).collect();
            for (i, sig) in sigs.iter_mut().enumerate() {
                // Spread damage of every kind over the batch.
                match (i as u64 * 7 + pattern * 13) % 23 {
                    0 => sig[3] ^= 0x10,  // R changed
                    1 => sig[40] ^= 0x01, // s changed
                    2 => sig[63] |= 0xf0, // s not canonical
                    3 => sig.truncate(63),
                    _ => {}
                }
            }
            let items: Vec<_> = (0..64).map(|i| (&pks[i % 4], msgs[i].as_slice(), sigs[i].as_slice())).collect();
            let expected = one_by_one(&items);
            assert!(expected.iter().any(Result::is_err), "pattern {pattern} damages something");
            // Same verdicts, same errors (a truncated signature is named as such).
            assert_eq!(verify_batch(CTX, &items), expected, "pattern {pattern}");
            // Every pattern truncates one signature (7 is invertible mod 23).
            assert!(expected.contains(&Err(KeyError::SignatureLength { len: 63 })), "pattern {pattern}");
        }
    }
}
