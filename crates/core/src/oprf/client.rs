//! The asking side: blinding an input, combining verified partial
//! evaluations, unblinding.

use std::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::rand_core::CryptoRng;

use super::key::PublicShare;
use super::{
    DleqProof, OprfError, OprfOutput, decode_point, first_duplicate, hash_to_group, interpolate, output_hash,
    random_nonzero_scalar,
};

/// The asker's secret state for one evaluation: the blinding scalar `r`
/// (`None` for [`unblinded`], `r = 1`) and the input (which holds the code
/// being tried). `Debug` prints neither; [`Blind::finalize`] consumes it.
pub struct Blind {
    r: Option<Scalar>,
    input: Vec<u8>,
}

impl Blind {
    /// The output `F_k(input)` from the combined evaluation `Z = k·B`:
    /// `H2(input, r^{-1}·Z)`.
    pub fn finalize(self, combined: &EvaluatedElement) -> OprfOutput {
        match self.r {
            Some(r) => output_hash(&self.input, &(r.invert() * combined.point)),
            None => finalize_unblinded(&self.input, combined),
        }
    }
}

/// The output `F_k(input) = H2(input, Z)` from the combined evaluation of
/// the unblinded element `H1(input)` ([`unblinded`]): no inversion and no
/// multiplication, so a checker that keeps the input need not keep a
/// [`Blind`].
pub fn finalize_unblinded(input: &[u8], combined: &EvaluatedElement) -> OprfOutput {
    output_hash(input, &combined.point)
}

impl fmt::Debug for Blind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Blind(<secret>)")
    }
}

/// `B = r·H1(input)`, what the asker sends to the nodes: uniformly random,
/// it says nothing about the input. Encoded compressed (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BlindedElement {
    pub(super) point: RistrettoPoint,
}

/// A partial evaluation `Z_i = k_i·B`, or the combined `Z = k·B`. Encoded
/// compressed (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EvaluatedElement {
    pub(super) point: RistrettoPoint,
}

/// Encoding and `Debug` for the two element types.
macro_rules! element_codec {
    ($ty:ident, $what:literal) => {
        impl $ty {
            /// Bytes in an encoded element.
            pub const LEN: usize = 32;

            /// Reads a compressed point; fails for an invalid encoding or
            /// the identity.
            pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Result<Self, OprfError> {
                Ok($ty { point: decode_point(bytes, $what)? })
            }

            /// The compressed point.
            pub fn to_bytes(&self) -> [u8; Self::LEN] {
                self.point.compress().to_bytes()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($ty), hex::encode(self.to_bytes()))
            }
        }
    };
}

element_codec!(BlindedElement, "blinded element");
element_codec!(EvaluatedElement, "evaluated element");

/// Blinds `input` with a fresh nonzero `r`: returns the secret [`Blind`]
/// to keep and the [`BlindedElement`] `r·H1(input)` to send. Two blindings
/// of one input look unrelated but finalize to the same output.
pub fn blind<R: CryptoRng + ?Sized>(input: &[u8], rng: &mut R) -> (Blind, BlindedElement) {
    let r = random_nonzero_scalar(rng);
    let point = r * hash_to_group(input);
    (Blind { r: Some(r), input: input.to_vec() }, BlindedElement { point })
}

/// The element `H1(input)` itself, unblinded (`r = 1`), with the state to
/// finalize it: for a threshold evaluation in which the helpers must see
/// the input, so that each can tie the guess to the item it counts it
/// against (a blinded element cannot be tied to anything; see
/// `proto/veritrace/v1/code_check.proto`). Each helper computes the same
/// element from the input it was sent; the asker combines and finalizes as
/// for a blinded one.
pub fn unblinded(input: &[u8]) -> (Blind, BlindedElement) {
    let point = hash_to_group(input);
    (Blind { r: None, input: input.to_vec() }, BlindedElement { point })
}

/// Interpolates `Z = k·B` from the first `threshold` partials **without
/// checking any proof**.
///
/// Sound for a match only. A finalized output equal to the stored
/// `F_k(x)` shows the input was `x`, whatever the partials were: the output
/// hash binds the input, so no partial, however chosen, makes another
/// input's output equal it. A mismatch proves nothing until the proofs are
/// checked ([`PublicShare::verify`]): a lying partial makes the right input
/// look wrong. So a checker combines unchecked first, and checks proofs
/// only when the result differs. Refuses repeated indices and fewer than
/// `threshold` partials.
pub fn combine_unchecked(
    partials: &[(PublicShare, EvaluatedElement)],
    threshold: u8,
) -> Result<EvaluatedElement, OprfError> {
    if threshold == 0 {
        return Err(OprfError::InvalidThreshold { threshold, shares: partials.len() });
    }
    if let Some(index) = first_duplicate(partials.iter().map(|(share, _)| share.index())) {
        return Err(OprfError::DuplicateIndex { index });
    }
    if partials.len() < usize::from(threshold) {
        return Err(OprfError::TooFewPartials { got: partials.len(), threshold });
    }
    let points: Vec<(u8, RistrettoPoint)> =
        partials.iter().take(usize::from(threshold)).map(|(share, z)| (share.index(), z.point)).collect();
    Ok(EvaluatedElement { point: interpolate(&points, 0) })
}

/// Combines partial evaluations of `blinded` into `Z = k·B`.
///
/// Refuses a zero threshold and repeated indices, then checks every
/// partial's proof against its public share (the error names the first
/// bad index), then refuses fewer than `threshold` partials. Interpolates
/// at 0 from exactly the first `threshold` partials; any further ones are
/// checked but not used.
pub fn combine(
    partials: &[(PublicShare, EvaluatedElement, DleqProof)],
    blinded: &BlindedElement,
    threshold: u8,
) -> Result<EvaluatedElement, OprfError> {
    if threshold == 0 {
        return Err(OprfError::InvalidThreshold { threshold, shares: partials.len() });
    }
    if let Some(index) = first_duplicate(partials.iter().map(|(share, _, _)| share.index())) {
        return Err(OprfError::DuplicateIndex { index });
    }
    for (share, evaluated, proof) in partials {
        share.verify(blinded, evaluated, proof)?;
    }
    if partials.len() < usize::from(threshold) {
        return Err(OprfError::TooFewPartials { got: partials.len(), threshold });
    }
    let points: Vec<(u8, RistrettoPoint)> =
        partials.iter().take(usize::from(threshold)).map(|(share, z, _)| (share.index(), z.point)).collect();
    Ok(EvaluatedElement { point: interpolate(&points, 0) })
}
