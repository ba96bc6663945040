//! ed25519 keys and signatures with Veritrace's signing contexts.
//!
//! Every signature Veritrace makes or checks covers a domain-separation
//! prefix followed by the message ([`SigningContext`]), so a signature made
//! for one purpose (a transaction, a tree head) is never valid for another,
//! nor in another protocol that uses the same key.

use curve25519_dalek::edwards::EdwardsPoint;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

pub use crate::cofactored::verify_batch;

/// Length of a raw ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// What a signature is for. The prefix is signed before the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningContext {
    /// A `veritrace.v1.Transaction` payload in a signed envelope.
    Transaction,
    /// A signed tree head.
    TreeHead,
    /// A party-plane call's credential ([`crate::party_call`]).
    PartyCall,
    /// A founding party's signature on a genesis ([`crate::founders`]).
    Genesis,
}

impl SigningContext {
    /// The bytes signed before the message.
    pub fn prefix(self) -> &'static [u8] {
        match self {
            SigningContext::Transaction => b"veritrace.v1.Transaction\0",
            SigningContext::TreeHead => b"veritrace.v1.SignedTreeHead\0",
            SigningContext::PartyCall => b"veritrace.v1.PartyCall\0",
            SigningContext::Genesis => b"veritrace.v1.GenesisSeal\0",
        }
    }

    /// The prefix followed by `msg`, for tests that call ed25519-dalek.
    #[cfg(test)]
    pub(crate) fn message_for_tests(self, msg: &[u8]) -> Vec<u8> {
        self.message(msg)
    }

    fn message(self, msg: &[u8]) -> Vec<u8> {
        let prefix = self.prefix();
        let mut m = Vec::with_capacity(prefix.len() + msg.len());
        m.extend_from_slice(prefix);
        m.extend_from_slice(msg);
        m
    }
}

/// Why a key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A public key was not 32 bytes.
    #[error("public key must be {PUBLIC_KEY_LEN} bytes, got {len}")]
    PublicKeyLength {
        /// The length found.
        len: usize,
    },
    /// The bytes are not a valid curve point, or are a weak (small-order) key.
    #[error("public key is not a valid ed25519 point or is a weak key")]
    InvalidPublicKey,
    /// A signature was not 64 bytes.
    #[error("signature must be {SIGNATURE_LEN} bytes, got {len}")]
    SignatureLength {
        /// The length found.
        len: usize,
    },
    /// The signature does not verify for this key and message (the
    /// cofactored rule of [`crate::cofactored`]).
    #[error("signature does not verify")]
    BadSignature,
    /// A secret key was not 32 bytes.
    #[error("secret key must be 32 bytes, got {len}")]
    SecretKeyLength {
        /// The length found.
        len: usize,
    },
}

/// A checked ed25519 public key (a valid point, not of small order).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses and checks 32 raw bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::PublicKeyLength { len: bytes.len() })?;
        let key = VerifyingKey::from_bytes(&arr).map_err(|_| KeyError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(KeyError::InvalidPublicKey);
        }
        Ok(PublicKey(key))
    }

    /// The raw 32 bytes (also the key's id in envelopes).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Checks `signature` over `ctx`'s prefix and `msg` by Veritrace's
    /// signature rule: cofactored verification with a canonical `s`
    /// ([`crate::cofactored`] says why). Every signature ed25519-dalek's
    /// `verify_strict` (the rule before 0.5) accepts passes; a third party
    /// cannot alter a valid signature into another valid one.
    pub fn verify(&self, ctx: SigningContext, msg: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        crate::cofactored::verify_one(self, ctx, msg, signature)
    }

    /// The key as a curve point.
    pub(crate) fn point(&self) -> EdwardsPoint {
        self.0.to_edwards()
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.to_bytes()))
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.to_bytes()))
    }
}

/// An ed25519 signing key. Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new random key from a cryptographic RNG (e.g. `rand::rng()`).
    pub fn generate<R: ed25519_dalek::rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        SecretKey(SigningKey::generate(rng))
    }

    /// The key with these 32 secret bytes (the seed of RFC 8032).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::SecretKeyLength { len: bytes.len() })?;
        Ok(SecretKey(SigningKey::from_bytes(&arr)))
    }

    /// A key derived deterministically from a label: for tests, fixtures
    /// and demos only, never for a real party.
    pub fn from_seed_label(label: &str) -> Self {
        let seed = blake3::derive_key("veritrace.v1 test key seed", label.as_bytes());
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// The 32 secret bytes, for writing a key file.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `ctx`'s prefix followed by `msg`.
    pub fn sign(&self, ctx: SigningContext, msg: &[u8]) -> [u8; 64] {
        self.0.sign(&ctx.message(msg)).to_bytes()
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(public={})", self.public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_context_separation() {
        let k = SecretKey::from_seed_label("alice");
        let sig = k.sign(SigningContext::Transaction, b"hello");
        let pk = k.public();
        assert_eq!(pk.verify(SigningContext::Transaction, b"hello", &sig), Ok(()));
        assert_eq!(pk.verify(SigningContext::TreeHead, b"hello", &sig), Err(KeyError::BadSignature));
        assert_eq!(pk.verify(SigningContext::Transaction, b"hellO", &sig), Err(KeyError::BadSignature));
        assert_eq!(
            pk.verify(SigningContext::Transaction, b"hello", &sig[..63]),
            Err(KeyError::SignatureLength { len: 63 })
        );
    }

    #[test]
    fn public_key_checks() {
        assert_eq!(PublicKey::from_slice(&[1u8; 31]), Err(KeyError::PublicKeyLength { len: 31 }));
        // The identity point (small order) is a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_slice(&identity), Err(KeyError::InvalidPublicKey));
        let pk = SecretKey::from_seed_label("bob").public();
        assert_eq!(PublicKey::from_slice(&pk.to_bytes()), Ok(pk));
    }

    #[test]
    fn secret_key_round_trip_and_debug_hides_secret() {
        let k = SecretKey::from_seed_label("carol");
        let k2 = SecretKey::from_bytes(&k.to_bytes()).expect("32 bytes");
        assert_eq!(k.public(), k2.public());
        assert!(!format!("{k:?}").contains(&hex::encode(k.to_bytes())));
    }

    #[test]
    fn batch_names_the_bad_signatures() {
        let keys: Vec<_> = (0..8).map(|i| SecretKey::from_seed_label(&format!("k{i}"))).collect();
        let pks: Vec<_> = keys.iter().map(SecretKey::public).collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 10]).collect();
        let mut sigs: Vec<Vec<u8>> =
            keys.iter().zip(&msgs).map(|(k, m)| k.sign(SigningContext::Transaction, m).to_vec()).collect();
        let items = |sigs: &Vec<Vec<u8>>| -> Vec<usize> {
            let v: Vec<_> = (0..8).map(|i| (&pks[i], msgs[i].as_slice(), sigs[i].as_slice())).collect();
            let results = verify_batch(SigningContext::Transaction, &v);
            results.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect()
        };
        assert!(items(&sigs).is_empty());
        sigs[2][5] ^= 1;
        sigs[6].truncate(10);
        assert_eq!(items(&sigs), vec![2, 6]);
    }
}
