//! A proof that whoever registers a code key holds its secret, bound to a
//! context (the network and the brand), so that nobody can register a key
//! they only saw, nor reuse a brand's proof for another brand.
//!
//! It is a Chaum-Pedersen proof (the [`DleqProof`] of partial evaluations)
//! that `log_G(K) = log_P(Z)` for `P` a point hashed from the context
//! under its own blake3 context ([`POSSESSION_CONTEXT`]) and `Z = k·P`:
//! only a holder of `k` can make one, and it names its context.

use curve25519_dalek::ristretto::RistrettoPoint;
use ed25519_dalek::rand_core::CryptoRng;

use super::dleq::{self, DleqProof};
use super::{OprfError, OprfKey, PublicKey, decode_point};

/// blake3 `derive_key` context of the point a possession proof is about.
pub const POSSESSION_CONTEXT: &str = "veritrace.v1 oprf key possession";

/// `Z = k·P(context)` and the proof that it used `k`: 96 bytes,
/// `compress(Z) ‖ c ‖ s`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PossessionProof {
    z: RistrettoPoint,
    proof: DleqProof,
}

fn context_point(context: &[u8]) -> RistrettoPoint {
    let mut wide = [0u8; 64];
    blake3::Hasher::new_derive_key(POSSESSION_CONTEXT).update(context).finalize_xof().fill(&mut wide);
    RistrettoPoint::from_uniform_bytes(&wide)
}

impl PossessionProof {
    /// Bytes in an encoded proof.
    pub const LEN: usize = 96;

    /// The encoding `compress(Z) ‖ c ‖ s`.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..32].copy_from_slice(self.z.compress().as_bytes());
        out[32..].copy_from_slice(&self.proof.to_bytes());
        out
    }

    /// Reads `compress(Z) ‖ c ‖ s`.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Result<Self, OprfError> {
        let mut z = [0u8; 32];
        z.copy_from_slice(&bytes[..32]);
        let mut proof = [0u8; DleqProof::LEN];
        proof.copy_from_slice(&bytes[32..]);
        Ok(PossessionProof { z: decode_point(&z, "possession proof point")?, proof: DleqProof::from_bytes(&proof)? })
    }
}

impl std::fmt::Debug for PossessionProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PossessionProof({})", hex::encode(self.to_bytes()))
    }
}

impl OprfKey {
    /// Proves, for `context`, that the prover holds this key.
    pub fn prove_possession<R: CryptoRng + ?Sized>(&self, context: &[u8], rng: &mut R) -> PossessionProof {
        let p = context_point(context);
        let z = self.secret * p;
        PossessionProof { z, proof: dleq::prove(&self.secret, &self.public().point, &p, &z, rng) }
    }
}

impl PublicKey {
    /// Checks that `proof` was made for `context` by a holder of this key.
    pub fn verify_possession(&self, context: &[u8], proof: &PossessionProof) -> Result<(), OprfError> {
        if dleq::verify(&self.point, &context_point(context), &proof.z, &proof.proof) {
            Ok(())
        } else {
            Err(OprfError::BadPossessionProof)
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn only_the_holder_proves_possession_and_only_for_its_context() {
        let mut rng = StdRng::seed_from_u64(11);
        let (key, other) = (OprfKey::generate(&mut rng), OprfKey::generate(&mut rng));
        let proof = key.prove_possession(b"net\0brand", &mut rng);
        assert_eq!(key.public().verify_possession(b"net\0brand", &proof), Ok(()));
        assert_eq!(PossessionProof::from_bytes(&proof.to_bytes()), Ok(proof));
        // Another brand, another key, another network: refused.
        assert!(key.public().verify_possession(b"net\0rival", &proof).is_err());
        assert!(other.public().verify_possession(b"net\0brand", &proof).is_err());
        let forged = other.prove_possession(b"net\0brand", &mut rng);
        assert!(key.public().verify_possession(b"net\0brand", &forged).is_err());
        // Garbage decodes to an error, never a panic.
        assert!(PossessionProof::from_bytes(&[0xff; PossessionProof::LEN]).is_err());
    }
}
