//! The OPRF key, its Shamir shares, their public points, and the check
//! that a dealing is consistent.

use std::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::rand_core::CryptoRng;

use super::client::{BlindedElement, EvaluatedElement};
use super::dleq::{self, DleqProof};
use super::{
    OprfError, OprfOutput, decode_point, decode_scalar, first_duplicate, hash_to_group, interpolate, output_hash,
    random_nonzero_scalar,
};

/// The whole OPRF secret `k`, a nonzero scalar: held by the brand while it
/// commissions items, then split among the validator nodes and destroyed.
/// Encoded as the scalar's 32 canonical bytes. `Debug` does not print it.
#[derive(Clone)]
pub struct OprfKey {
    pub(super) secret: Scalar,
}

impl OprfKey {
    /// Bytes in an encoded key.
    pub const LEN: usize = 32;

    /// A fresh random key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        OprfKey { secret: random_nonzero_scalar(rng) }
    }

    /// Reads a key; fails unless the bytes are a canonical nonzero scalar.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Result<Self, OprfError> {
        Ok(OprfKey { secret: decode_scalar(bytes, "OPRF key")? })
    }

    /// The encoding (secret: store it as such).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        self.secret.to_bytes()
    }

    /// `K = k·G`.
    pub fn public(&self) -> PublicKey {
        PublicKey { point: RistrettoPoint::mul_base(&self.secret) }
    }

    /// `F_k(input)` computed directly, as the brand does when it
    /// commissions an item.
    pub fn evaluate(&self, input: &[u8]) -> OprfOutput {
        output_hash(input, &(self.secret * hash_to_group(input)))
    }

    /// Splits the key `threshold`-of-`shares` with Shamir's scheme over the
    /// scalar field: share `i` (for `i` in `1..=shares`) is `f(i)` for a
    /// random polynomial `f` of degree `threshold - 1` with `f(0) = k`.
    ///
    /// Fails unless `1 <= threshold <= shares`. A threshold of 1 hands every
    /// share holder the whole key.
    pub fn split<R: CryptoRng + ?Sized>(
        &self,
        threshold: u8,
        shares: u8,
        rng: &mut R,
    ) -> Result<Vec<KeyShare>, OprfError> {
        if threshold == 0 || threshold > shares {
            return Err(OprfError::InvalidThreshold { threshold, shares: usize::from(shares) });
        }
        let mut coefficients = vec![self.secret];
        coefficients.extend((1..threshold).map(|_| random_nonzero_scalar(rng)));
        Ok((1..=shares)
            .map(|index| {
                let x = Scalar::from(index);
                let secret = coefficients.iter().rev().fold(Scalar::ZERO, |acc, a| acc * x + a);
                KeyShare::new(index, secret)
            })
            .collect())
    }
}

impl fmt::Debug for OprfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OprfKey(<secret>)")
    }
}

/// `K = k·G`, the public point of the whole key. Encoded compressed (32
/// bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    pub(super) point: RistrettoPoint,
}

impl PublicKey {
    /// Bytes in an encoded public key.
    pub const LEN: usize = 32;

    /// Reads a compressed point; fails for an invalid encoding or the
    /// identity.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Result<Self, OprfError> {
        Ok(PublicKey { point: decode_point(bytes, "OPRF public key")? })
    }

    /// The compressed point.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        self.point.compress().to_bytes()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.to_bytes()))
    }
}

/// A validator node's Shamir share `k_i = f(i)` of the key, with its index
/// `i` (1 to 255). Encoded as `index ‖ scalar` (33 bytes). `Debug` does not
/// print the secret.
#[derive(Clone)]
pub struct KeyShare {
    index: u8,
    secret: Scalar,
    /// `k_i·G`, kept so that each proof does not recompute it.
    point: RistrettoPoint,
}

impl KeyShare {
    /// Bytes in an encoded share.
    pub const LEN: usize = 33;

    /// A share with its public point computed once.
    fn new(index: u8, secret: Scalar) -> Self {
        KeyShare { index, secret, point: RistrettoPoint::mul_base(&secret) }
    }

    /// The share's index `i`.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// Reads `index ‖ scalar`; fails for index 0 or a non-canonical or zero
    /// scalar.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Result<Self, OprfError> {
        let (index, secret) = split_indexed(bytes)?;
        Ok(KeyShare::new(index, decode_scalar(&secret, "OPRF key share")?))
    }

    /// The encoding `index ‖ scalar` (secret: store it as such).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        join_indexed(self.index, self.secret.as_bytes())
    }

    /// `K_i = k_i·G`, with the same index.
    pub fn public(&self) -> PublicShare {
        PublicShare { index: self.index, point: self.point }
    }

    /// The partial evaluation `Z_i = k_i·B` without a proof: for the share
    /// holder's own checks, where it trusts itself.
    pub fn evaluate_unproved(&self, blinded: &BlindedElement) -> EvaluatedElement {
        EvaluatedElement { point: self.secret * blinded.point }
    }

    /// The partial evaluation `Z_i = k_i·B` of a blinded element, with a
    /// proof that it used the secret behind [`KeyShare::public`].
    pub fn evaluate<R: CryptoRng + ?Sized>(
        &self,
        blinded: &BlindedElement,
        rng: &mut R,
    ) -> (EvaluatedElement, DleqProof) {
        let z = self.secret * blinded.point;
        let proof = dleq::prove(&self.secret, &self.point, &blinded.point, &z, rng);
        (EvaluatedElement { point: z }, proof)
    }
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyShare {{ index: {}, secret: <secret> }}", self.index)
    }
}

/// `K_i = k_i·G`, the public point of share `i`, which the brand publishes
/// so that partial evaluations can be checked. Encoded as
/// `index ‖ compressed point` (33 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicShare {
    index: u8,
    point: RistrettoPoint,
}

impl PublicShare {
    /// Bytes in an encoded public share.
    pub const LEN: usize = 33;

    /// The share's index `i`.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// Reads `index ‖ compressed point`; fails for index 0, an invalid
    /// point or the identity.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Result<Self, OprfError> {
        let (index, point) = split_indexed(bytes)?;
        Ok(PublicShare { index, point: decode_point(&point, "OPRF public share")? })
    }

    /// The encoding `index ‖ compressed point`.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        join_indexed(self.index, self.point.compress().as_bytes())
    }

    /// Checks that `evaluated` is `k_i·blinded` for this share's secret
    /// `k_i`; the error names the share's index.
    pub fn verify(
        &self,
        blinded: &BlindedElement,
        evaluated: &EvaluatedElement,
        proof: &DleqProof,
    ) -> Result<(), OprfError> {
        if dleq::verify(&self.point, &blinded.point, &evaluated.point, proof) {
            Ok(())
        } else {
            Err(OprfError::BadProof { index: self.index })
        }
    }

    /// `(index, K_i)` for interpolation.
    pub(super) fn indexed_point(&self) -> (u8, RistrettoPoint) {
        (self.index, self.point)
    }
}

impl fmt::Debug for PublicShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicShare {{ index: {}, point: {} }}", self.index, hex::encode(self.point.compress().as_bytes()))
    }
}

/// Checks a dealing: the first `threshold` public shares must interpolate
/// (in the exponent) to `public_key`, and every further share must equal
/// that polynomial's value at its index. A node runs this on the brand's
/// published `K` and `K_i` before trusting its own share.
///
/// Fails for a threshold outside `1..=shares.len()`, a repeated index, a
/// key mismatch, or (naming it) the first share off the polynomial. With
/// exactly `threshold` shares only the key can be checked: any `threshold`
/// points lie on some polynomial.
pub fn check_shares(public_key: &PublicKey, shares: &[PublicShare], threshold: u8) -> Result<(), OprfError> {
    if threshold == 0 || usize::from(threshold) > shares.len() {
        return Err(OprfError::InvalidThreshold { threshold, shares: shares.len() });
    }
    if let Some(index) = first_duplicate(shares.iter().map(PublicShare::index)) {
        return Err(OprfError::DuplicateIndex { index });
    }
    let (base, rest) = shares.split_at(usize::from(threshold));
    let base: Vec<(u8, RistrettoPoint)> = base.iter().map(PublicShare::indexed_point).collect();
    if interpolate(&base, 0) != public_key.point {
        return Err(OprfError::PublicKeyMismatch { threshold });
    }
    for share in rest {
        if interpolate(&base, share.index) != share.point {
            return Err(OprfError::ShareOffPolynomial { index: share.index, threshold });
        }
    }
    Ok(())
}

/// Splits `index ‖ 32 bytes`, refusing index 0.
fn split_indexed(bytes: &[u8; 33]) -> Result<(u8, [u8; 32]), OprfError> {
    match *bytes {
        [0, ..] => Err(OprfError::ZeroIndex),
        [index, body @ ..] => Ok((index, body)),
    }
}

/// `index ‖ body`.
fn join_indexed(index: u8, body: &[u8; 32]) -> [u8; 33] {
    let mut out = [index; 33];
    out[1..].copy_from_slice(body);
    out
}
