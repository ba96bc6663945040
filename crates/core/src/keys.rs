//! ed25519 keys and signatures with Veritrace's signing contexts.
//!
//! Every signature Veritrace makes or checks covers a domain-separation
//! prefix followed by the message ([`SigningContext`]), so a signature made
//! for one purpose (a transaction, a tree head) is never valid for another,
//! nor in another protocol that uses the same key.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

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
}

impl SigningContext {
    /// The bytes signed before the message.
    pub fn prefix(self) -> &'static [u8] {
        match self {
            SigningContext::Transaction => b"veritrace.v1.Transaction\0",
            SigningContext::TreeHead => b"veritrace.v1.SignedTreeHead\0",
        }
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
    /// The signature does not verify (strictly) for this key and message.
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

    /// Checks `signature` over `ctx`'s prefix and `msg` with `verify_strict`
    /// (rejects non-canonical and small-order components, so a signature
    /// cannot be altered into another valid one by a third party).
    pub fn verify(&self, ctx: SigningContext, msg: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let sig = parse_signature(signature)?;
        self.0.verify_strict(&ctx.message(msg), &sig).map_err(|_| KeyError::BadSignature)
    }

    pub(crate) fn inner(&self) -> &VerifyingKey {
        &self.0
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

pub(crate) fn parse_signature(bytes: &[u8]) -> Result<Signature, KeyError> {
    let arr: [u8; 64] = bytes.try_into().map_err(|_| KeyError::SignatureLength { len: bytes.len() })?;
    Ok(Signature::from_bytes(&arr))
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

/// Checks many signatures of one context at once with ed25519 batch
/// verification (deterministic: its random weights are derived from the
/// inputs). Returns the index of every signature that fails.
///
/// Batch verification is cheaper than one `verify_strict` per signature.
/// When the batch fails, each signature is re-checked with `verify_strict`
/// to name the bad ones. Note that the batch equation is not bit-for-bit the
/// strict rule (it can accept a signature whose R carries a small-order
/// component, which only the signer can make, and a signer filling a whole
/// batch can grind for it); the ledger's validity rule is therefore the
/// strict check, and this path is at most an admission filter.
pub fn verify_batch(ctx: SigningContext, items: &[(&PublicKey, &[u8], &[u8])]) -> Vec<usize> {
    let mut bad = Vec::new();
    let mut messages = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    for (i, (key, msg, sig)) in items.iter().enumerate() {
        match parse_signature(sig) {
            Ok(s) => {
                messages.push((i, ctx.message(msg)));
                sigs.push(s);
                keys.push(*key.inner());
            }
            Err(_) => bad.push(i),
        }
    }
    let refs: Vec<&[u8]> = messages.iter().map(|(_, m)| m.as_slice()).collect();
    if !refs.is_empty() && ed25519_dalek::verify_batch(&refs, &sigs, &keys).is_err() {
        for (((i, m), s), k) in messages.iter().zip(&sigs).zip(&keys) {
            if k.verify_strict(m, s).is_err() {
                bad.push(*i);
            }
        }
        bad.sort_unstable();
    }
    bad
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
            verify_batch(SigningContext::Transaction, &v)
        };
        assert!(items(&sigs).is_empty());
        sigs[2][5] ^= 1;
        sigs[6].truncate(10);
        assert_eq!(items(&sigs), vec![2, 6]);
    }
}
