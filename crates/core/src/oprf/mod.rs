//! A threshold oblivious pseudorandom function (2HashDH over ristretto255)
//! so that no single validator node can test an item's verification code
//! offline.
//!
//! The salted digest of [`code`](crate::code) can be searched by anyone
//! holding the ledger: a 6-digit code space is 10^6 cheap hashes. With this
//! module the ledger instead stores `F_k(x)` for `x = item key ‖ code`, where
//! `k` is a secret scalar shared t-of-n among the validator nodes. Computing
//! `F_k` for a guess then needs t nodes to take part, online, where guesses
//! can be counted and refused.
//!
//! # The function
//!
//! * `H1(x)` = [`RistrettoPoint::from_uniform_bytes`] of 64 bytes of blake3
//!   XOF output in `derive_key` mode with the context [`HASH_TO_GROUP_CONTEXT`]
//!   over `x`.
//! * `F_k(x)` = blake3 `derive_key` with the context [`OUTPUT_CONTEXT`] over
//!   `le64(len(x)) ‖ x ‖ compress(k·H1(x))`, 32 bytes ([`OprfOutput`]).
//!
//! # The protocol
//!
//! 1. **Dealing.** The brand draws an [`OprfKey`] `k`, computes `F_k(x)` for
//!    each item it commissions ([`OprfKey::evaluate`]) and splits `k` with
//!    Shamir's scheme ([`OprfKey::split`]): node `i` receives the
//!    [`KeyShare`] `k_i = f(i)` of a random polynomial `f` of degree `t-1`
//!    with `f(0) = k`. The brand publishes `K = k·G` ([`PublicKey`]) and
//!    every `K_i = k_i·G` ([`PublicShare`]); each node checks with
//!    [`check_shares`] that the shares lie on one polynomial through `K`.
//! 2. **Blinding.** The node checking a code computes `B = r·H1(x)` for a
//!    fresh random `r` ([`blind`]) and sends `B` to t nodes.
//! 3. **Partial evaluation.** Node `i` answers `Z_i = k_i·B` with a
//!    Chaum-Pedersen proof that `log_G(K_i) = log_B(Z_i)`
//!    ([`KeyShare::evaluate`], [`DleqProof`]).
//! 4. **Combining.** The asker checks every proof ([`PublicShare::verify`]),
//!    interpolates `Z = Σ λ_i·Z_i = k·B` with Lagrange coefficients at 0
//!    ([`combine`]), unblinds `r^{-1}·Z = k·H1(x)` and hashes it
//!    ([`Blind::finalize`]). The result is compared with the ledger's value.
//!
//! # How Veritrace uses it
//!
//! The validators checking a consumer's code must count each guess
//! against the item it is for, and a blinded element cannot be tied to an
//! item. So the asking node sends the item and the code in clear and every
//! helper evaluates the same `B = H1(x)` ([`unblinded`], `r = 1`): the
//! helpers learn the code tried (as the asking node does), and each
//! evaluation is bound to one item's budget. Blinding ([`blind`]) stays for
//! callers that need the helpers not to learn the input. See
//! `veritrace_service::code_check`.
//!
//! # Who holds what
//!
//! * The brand holds `k` while commissioning and should then destroy it.
//! * Node `i` holds `k_i`; everyone may hold `K` and every `K_i`.
//! * The asking node holds `x` and `r` for the length of one check. The
//!   nodes that evaluate see only `B`, a uniformly random group element
//!   that says nothing about the item or the code tried.
//! * The ledger holds `F_k(x)`, a pseudorandom value: without `k` it is no
//!   help in finding the code.
//!
//! # Why one share is useless
//!
//! With `t ≥ 2`, any `t-1` Shamir shares are jointly independent of `k`:
//! every value of `k` is equally consistent with them. A node's own
//! `k_i·H1(x)` therefore says nothing about `k·H1(x)`, and neither do the
//! public `K` and `K_i` (computing `k·H1(x)` from them is the
//! computational Diffie-Hellman problem). Every guess at a code needs t
//! nodes' online answers. The proofs make a lying node visible: a wrong
//! `Z_i` would otherwise make a right code look wrong. A threshold of 1
//! gives every node the whole key and protects nothing.
//!
//! # References
//!
//! * RFC 9497, *Oblivious Pseudorandom Functions (OPRFs) Using Prime-Order
//!   Groups* (2HashDH, the verifiable mode's DLEQ proof). This module
//!   follows its structure but not its encodings: blake3 with the contexts
//!   below replaces the RFC's hash-to-group and transcript hashes, so it is
//!   not interoperable with RFC 9497 test vectors.
//! * S. Jarecki, A. Kiayias, H. Krawczyk, J. Xu, *TOPPSS: Cost-minimal
//!   Password-Protected Secret Sharing based on Threshold OPRF*, ACNS 2017
//!   (threshold 2HashDH by Lagrange interpolation of partial evaluations).
//! * D. Chaum, T. Pedersen, *Wallet Databases with Observers*, CRYPTO 1992
//!   (the DLEQ proof); RFC 9496 (ristretto255).

mod client;
mod dleq;
pub mod files;
mod key;
mod possession;
#[cfg(test)]
mod tests;

use std::fmt;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::rand_core::CryptoRng;

pub use client::{
    Blind, BlindedElement, EvaluatedElement, blind, combine, combine_unchecked, finalize_unblinded, unblinded,
};
pub use dleq::DleqProof;
pub use key::{KeyShare, OprfKey, PublicKey, PublicShare, check_shares};
pub use possession::{POSSESSION_CONTEXT, PossessionProof};

/// blake3 `derive_key` context of `H1`, the hash onto the group.
pub const HASH_TO_GROUP_CONTEXT: &str = "veritrace.v1 oprf hash to group";
/// blake3 `derive_key` context of the output hash `H2`.
pub const OUTPUT_CONTEXT: &str = "veritrace.v1 oprf output";
/// blake3 `derive_key` context of the DLEQ proof's Fiat-Shamir challenge.
pub const DLEQ_CONTEXT: &str = "veritrace.v1 oprf dleq";
/// blake3 `derive_key` context of the DLEQ prover's hedged nonce (the
/// share, fresh random bytes and the statement), so that a weak random
/// generator cannot repeat a nonce for two different statements.
pub const DLEQ_NONCE_CONTEXT: &str = "veritrace.v1 oprf dleq nonce";
/// blake3 `derive_key` context through which random bytes become secret
/// scalars (keys, polynomial coefficients, blinds).
pub const RANDOM_SCALAR_CONTEXT: &str = "veritrace.v1 oprf random scalar";

/// Why an OPRF operation or a decoding failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OprfError {
    /// 32 bytes that are not a canonical scalar (not reduced mod ℓ).
    #[error("{what}: not a canonical scalar encoding")]
    NonCanonicalScalar {
        /// What was being decoded.
        what: &'static str,
    },
    /// A scalar that must be nonzero is zero.
    #[error("{what}: zero is not allowed")]
    ZeroScalar {
        /// What was being decoded.
        what: &'static str,
    },
    /// 32 bytes that are not a canonical ristretto255 point encoding.
    #[error("{what}: not a valid ristretto255 point encoding")]
    InvalidPoint {
        /// What was being decoded.
        what: &'static str,
    },
    /// The identity point where a secret multiple of a point is expected.
    #[error("{what}: the identity point is not allowed")]
    IdentityPoint {
        /// What was being decoded.
        what: &'static str,
    },
    /// A share numbered 0: that position is the key itself.
    #[error("share index 0 is not allowed: shares are numbered from 1")]
    ZeroIndex,
    /// A dealing or check with an impossible threshold.
    #[error("threshold {threshold} of {shares} shares: need 1 <= threshold <= shares <= 255")]
    InvalidThreshold {
        /// The threshold asked for.
        threshold: u8,
        /// The number of shares.
        shares: usize,
    },
    /// A partial evaluation whose DLEQ proof does not verify.
    #[error("partial evaluation from share {index}: the DLEQ proof does not verify")]
    BadProof {
        /// The share's index.
        index: u8,
    },
    /// Two partial evaluations or public shares with the same index.
    #[error("share index {index} appears more than once")]
    DuplicateIndex {
        /// The repeated index.
        index: u8,
    },
    /// Fewer partial evaluations than the threshold.
    #[error("{got} partial evaluations, the threshold is {threshold}")]
    TooFewPartials {
        /// Partial evaluations given.
        got: usize,
        /// The threshold.
        threshold: u8,
    },
    /// The first `threshold` public shares interpolate to another key.
    #[error("the first {threshold} public shares do not interpolate to the public key")]
    PublicKeyMismatch {
        /// The threshold.
        threshold: u8,
    },
    /// A proof of possession that does not verify for the key and context.
    #[error("the proof of possession does not verify for this key and context")]
    BadPossessionProof,
    /// A public share off the polynomial through the first `threshold`.
    #[error("public share {index} is not on the polynomial through the first {threshold} shares")]
    ShareOffPolynomial {
        /// The inconsistent share's index.
        index: u8,
        /// The threshold.
        threshold: u8,
    },
}

/// `F_k(input)`: what the ledger stores for an item's code. Not secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OprfOutput(pub [u8; 32]);

impl OprfOutput {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for OprfOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OprfOutput({})", hex::encode(self.0))
    }
}

/// `H1`: blake3 XOF (context [`HASH_TO_GROUP_CONTEXT`]) onto the group.
pub(crate) fn hash_to_group(input: &[u8]) -> RistrettoPoint {
    let mut wide = [0u8; 64];
    blake3::Hasher::new_derive_key(HASH_TO_GROUP_CONTEXT).update(input).finalize_xof().fill(&mut wide);
    RistrettoPoint::from_uniform_bytes(&wide)
}

/// `H2`: the output hash of `input` and `k·H1(input)`.
pub(crate) fn output_hash(input: &[u8], element: &RistrettoPoint) -> OprfOutput {
    let mut h = blake3::Hasher::new_derive_key(OUTPUT_CONTEXT);
    h.update(&(input.len() as u64).to_le_bytes());
    h.update(input);
    h.update(element.compress().as_bytes());
    OprfOutput(*h.finalize().as_bytes())
}

/// A scalar from 64 bytes of blake3 XOF output (context `context`) over
/// the concatenated `parts`, reduced mod ℓ.
pub(crate) fn wide_scalar(context: &str, parts: &[&[u8]]) -> Scalar {
    let mut h = blake3::Hasher::new_derive_key(context);
    for part in parts {
        h.update(part);
    }
    let mut wide = [0u8; 64];
    h.finalize_xof().fill(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// A uniformly random nonzero scalar: 64 random bytes hashed (with a
/// counter) and reduced. Hashing means even a generator stuck on one value
/// gives a nonzero scalar at once instead of looping.
pub(crate) fn random_nonzero_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    let mut seed = [0u8; 64];
    rng.fill_bytes(&mut seed);
    let mut counter = 0u64;
    loop {
        let s = wide_scalar(RANDOM_SCALAR_CONTEXT, &[&seed, &counter.to_le_bytes()]);
        if s != Scalar::ZERO {
            return s;
        }
        counter = counter.wrapping_add(1);
    }
}

/// Decodes a canonical nonzero scalar.
pub(crate) fn decode_scalar(bytes: &[u8; 32], what: &'static str) -> Result<Scalar, OprfError> {
    let s =
        Option::<Scalar>::from(Scalar::from_canonical_bytes(*bytes)).ok_or(OprfError::NonCanonicalScalar { what })?;
    if s == Scalar::ZERO {
        return Err(OprfError::ZeroScalar { what });
    }
    Ok(s)
}

/// Decodes a canonical ristretto255 point other than the identity.
pub(crate) fn decode_point(bytes: &[u8; 32], what: &'static str) -> Result<RistrettoPoint, OprfError> {
    let p = CompressedRistretto(*bytes).decompress().ok_or(OprfError::InvalidPoint { what })?;
    if p.is_identity() {
        return Err(OprfError::IdentityPoint { what });
    }
    Ok(p)
}

/// The Lagrange coefficients for interpolating at `at` from the shares at
/// `xs`: `λ_i = Π_{j≠i} (at - x_j) / (x_i - x_j)`. The `xs` must be distinct.
fn lagrange_coefficients(xs: &[Scalar], at: &Scalar) -> Vec<Scalar> {
    xs.iter()
        .enumerate()
        .map(|(i, xi)| {
            let (mut num, mut den) = (Scalar::ONE, Scalar::ONE);
            for (j, xj) in xs.iter().enumerate() {
                if j != i {
                    num *= at - xj;
                    den *= xi - xj;
                }
            }
            num * den.invert()
        })
        .collect()
}

/// Most index sets whose coefficients at 0 one thread remembers; past it
/// the memo starts over.
const MAX_MEMOIZED_INDEX_SETS: usize = 256;

thread_local! {
    /// Lagrange coefficients at 0 by index set: a code check combines the
    /// same few sets of share indices over and over, and each set costs a
    /// scalar inversion per index (~10 µs) to compute.
    static COEFFICIENTS_AT_ZERO: std::cell::RefCell<std::collections::HashMap<Vec<u8>, Vec<Scalar>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Interpolation in the exponent: `Σ λ_i·P_i` for the points `P_i = f(x_i)·Q`
/// at distinct indices `x_i`, which is `f(at)·Q`. Variable time: every
/// input is public.
pub(crate) fn interpolate(points: &[(u8, RistrettoPoint)], at: u8) -> RistrettoPoint {
    let indices: Vec<u8> = points.iter().map(|(x, _)| *x).collect();
    let compute = || {
        let xs: Vec<Scalar> = indices.iter().map(|x| Scalar::from(*x)).collect();
        lagrange_coefficients(&xs, &Scalar::from(at))
    };
    let coefficients = if at == 0 {
        COEFFICIENTS_AT_ZERO.with(|memo| {
            let mut memo = memo.borrow_mut();
            if let Some(c) = memo.get(&indices) {
                return c.clone();
            }
            if memo.len() >= MAX_MEMOIZED_INDEX_SETS {
                memo.clear();
            }
            let c = compute();
            memo.insert(indices.clone(), c.clone());
            c
        })
    } else {
        compute()
    };
    RistrettoPoint::vartime_multiscalar_mul(coefficients, points.iter().map(|(_, p)| p))
}

/// The first index that appears twice, if any.
pub(crate) fn first_duplicate(indices: impl IntoIterator<Item = u8>) -> Option<u8> {
    let mut seen = [false; 256];
    indices.into_iter().find(|&i| std::mem::replace(&mut seen[usize::from(i)], true))
}
