//! The Chaum-Pedersen proof that a partial evaluation used the share whose
//! public point the asker knows.
//!
//! Statement: `log_G(K) = log_B(Z)` for the generator `G`, a public share
//! `K = k_i·G`, a blinded element `B` and its evaluation `Z = k_i·B`.
//! Prover: nonce `r`, commitments `A1 = r·G`, `A2 = r·B`, challenge
//! `c = H(G, K, B, Z, A1, A2)`, response `s = r - c·k_i` (RFC 9497's sign
//! convention). Verifier: `A1 = s·G + c·K`, `A2 = s·B + c·Z`, and the
//! challenge recomputed from them must equal `c`.
//!
//! `H` is 64 bytes of blake3 XOF output in `derive_key` mode with the
//! context [`DLEQ_CONTEXT`] over the six compressed points (32 bytes each),
//! reduced mod ℓ.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use ed25519_dalek::rand_core::CryptoRng;

use super::{DLEQ_CONTEXT, DLEQ_NONCE_CONTEXT, OprfError, wide_scalar};

/// A proof that a partial evaluation `Z_i = k_i·B` used the secret behind
/// the public share `K_i = k_i·G`: the challenge `c` and response `s`,
/// encoded as `c ‖ s` (64 bytes, both canonical scalars).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DleqProof {
    c: Scalar,
    s: Scalar,
}

impl DleqProof {
    /// Bytes in an encoded proof.
    pub const LEN: usize = 64;

    /// The encoding `c ‖ s`.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..32].copy_from_slice(self.c.as_bytes());
        out[32..].copy_from_slice(self.s.as_bytes());
        out
    }

    /// Reads `c ‖ s`; fails unless both halves are canonical scalars.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Result<Self, OprfError> {
        let (mut c, mut s) = ([0u8; 32], [0u8; 32]);
        c.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        let canonical = |half: [u8; 32], what| {
            Option::<Scalar>::from(Scalar::from_canonical_bytes(half)).ok_or(OprfError::NonCanonicalScalar { what })
        };
        Ok(DleqProof { c: canonical(c, "DLEQ proof challenge")?, s: canonical(s, "DLEQ proof response")? })
    }
}

impl std::fmt::Debug for DleqProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DleqProof({})", hex::encode(self.to_bytes()))
    }
}

/// The Fiat-Shamir challenge over the statement and the commitments.
fn challenge(
    k: &RistrettoPoint,
    b: &RistrettoPoint,
    z: &RistrettoPoint,
    a1: &RistrettoPoint,
    a2: &RistrettoPoint,
) -> Scalar {
    let points = [RISTRETTO_BASEPOINT_POINT, *k, *b, *z, *a1, *a2].map(|p| p.compress().to_bytes());
    let parts: Vec<&[u8]> = points.iter().map(|p| &p[..]).collect();
    wide_scalar(DLEQ_CONTEXT, &parts)
}

/// Proves `log_G(k) = log_B(z)` for `k = secret·G` and `z = secret·b`. The nonce hashes
/// the secret, 32 fresh random bytes and the statement ([`DLEQ_NONCE_CONTEXT`]),
/// so a repeating or weak generator never reuses a nonce across statements.
pub(crate) fn prove<R: CryptoRng + ?Sized>(
    secret: &Scalar,
    k: &RistrettoPoint,
    b: &RistrettoPoint,
    z: &RistrettoPoint,
    rng: &mut R,
) -> DleqProof {
    let mut fresh = [0u8; 32];
    rng.fill_bytes(&mut fresh);
    let (b_bytes, z_bytes) = (b.compress().to_bytes(), z.compress().to_bytes());
    let r = wide_scalar(DLEQ_NONCE_CONTEXT, &[secret.as_bytes(), &fresh, &b_bytes, &z_bytes]);
    let (a1, a2) = (RistrettoPoint::mul_base(&r), r * b);
    let c = challenge(k, b, z, &a1, &a2);
    DleqProof { c, s: r - c * secret }
}

/// Whether `proof` shows `log_G(k) = log_B(z)`. Variable time: every input
/// is public.
pub(crate) fn verify(k: &RistrettoPoint, b: &RistrettoPoint, z: &RistrettoPoint, proof: &DleqProof) -> bool {
    let a1 = RistrettoPoint::vartime_double_scalar_mul_basepoint(&proof.c, k, &proof.s);
    let a2 = RistrettoPoint::vartime_multiscalar_mul([proof.s, proof.c], [b, z]);
    challenge(k, b, z, &a1, &a2) == proof.c
}
