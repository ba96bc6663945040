//! Signed envelopes: the unit every party submits and the ledger stores.
//!
//! An envelope carries a serialized `veritrace.v1.Transaction` (the
//! payload), the signer's raw ed25519 public key and a signature over
//! [`SigningContext::Transaction`]'s prefix and the payload. Its id is the
//! blake3 hash of its canonical encoding: the protobuf encoding of
//! `SignedEnvelope` with fields 1, 2, 3 in order and nothing else. Decoding
//! refuses any other encoding of the same fields, so one envelope has
//! exactly one byte string and one id.

use prost::Message;
use veritrace_proto::v1 as pb;

use crate::Hash;
use crate::keys::{KeyError, PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, SecretKey, SigningContext};

/// Largest accepted payload: room for a commissioning batch of 100,000
/// items (serial and 32-byte code digest each).
pub const MAX_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;
/// Largest accepted envelope encoding (payload plus key and signature).
pub const MAX_ENVELOPE_BYTES: usize = MAX_PAYLOAD_BYTES + 256;

/// Why an envelope was refused. Each variant maps to a stable
/// [`crate::Reason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The bytes are not a `SignedEnvelope` protobuf message.
    #[error("envelope is not a valid SignedEnvelope message: {cause}")]
    Malformed {
        /// The decoder's message.
        cause: String,
    },
    /// The bytes decode, but are not the canonical encoding.
    #[error("envelope bytes are not in canonical encoding")]
    NonCanonical,
    /// The envelope or payload is larger than allowed.
    #[error("{what} is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// `"envelope"` or `"payload"`.
        what: &'static str,
        /// Size found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is empty.
    #[error("envelope payload is empty")]
    EmptyPayload,
    /// The signer key is malformed or the signature does not verify.
    #[error("signature check failed: {0}")]
    Signature(#[from] KeyError),
    /// The payload is not a `Transaction` message.
    #[error("payload is not a valid Transaction message: {cause}")]
    MalformedTransaction {
        /// The decoder's message.
        cause: String,
    },
}

/// A structurally checked envelope with its canonical bytes and id.
/// Holding one does not mean the signature was checked: call
/// [`Envelope::verify`].
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    bytes: Vec<u8>,
    id: Hash,
    payload: Vec<u8>,
    signer_key: Vec<u8>,
    signature: Vec<u8>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope").field("id", &self.id).field("payload_len", &self.payload.len()).finish()
    }
}

impl Envelope {
    /// Signs `payload` (a serialized `Transaction`) with `key`.
    pub fn sign(payload: Vec<u8>, key: &SecretKey) -> Self {
        let signature = key.sign(SigningContext::Transaction, &payload).to_vec();
        let signer_key = key.public().to_bytes().to_vec();
        Self::assemble(payload, signer_key, signature)
    }

    /// Signs a transaction message with `key`.
    pub fn sign_transaction(tx: &pb::Transaction, key: &SecretKey) -> Self {
        Self::sign(tx.encode_to_vec(), key)
    }

    fn assemble(payload: Vec<u8>, signer_key: Vec<u8>, signature: Vec<u8>) -> Self {
        let msg = pb::SignedEnvelope { payload, signer_key_id: signer_key, signature };
        let bytes = msg.encode_to_vec();
        let id = Hash::digest(&bytes);
        Envelope { bytes, id, payload: msg.payload, signer_key: msg.signer_key_id, signature: msg.signature }
    }

    /// Checks the shape of a decoded message (sizes, non-empty payload) and
    /// computes its canonical bytes. Does not check the signature.
    pub fn from_proto(msg: pb::SignedEnvelope) -> Result<Self, EnvelopeError> {
        if msg.payload.is_empty() {
            return Err(EnvelopeError::EmptyPayload);
        }
        if msg.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(EnvelopeError::TooLarge { what: "payload", len: msg.payload.len(), max: MAX_PAYLOAD_BYTES });
        }
        if msg.signer_key_id.len() != PUBLIC_KEY_LEN {
            return Err(KeyError::PublicKeyLength { len: msg.signer_key_id.len() }.into());
        }
        if msg.signature.len() != SIGNATURE_LEN {
            return Err(KeyError::SignatureLength { len: msg.signature.len() }.into());
        }
        Ok(Self::assemble(msg.payload, msg.signer_key_id, msg.signature))
    }

    /// Decodes canonical envelope bytes (as stored in the ledger or sent
    /// between nodes). Any non-canonical encoding is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge { what: "envelope", len: bytes.len(), max: MAX_ENVELOPE_BYTES });
        }
        let msg = pb::SignedEnvelope::decode(bytes).map_err(|e| EnvelopeError::Malformed { cause: e.to_string() })?;
        let env = Self::from_proto(msg)?;
        if env.bytes != bytes {
            return Err(EnvelopeError::NonCanonical);
        }
        Ok(env)
    }

    /// Checks the signature against the signer key in the envelope, by the
    /// cofactored rule ([`crate::cofactored`]).
    pub fn verify(&self) -> Result<PublicKey, EnvelopeError> {
        let key = PublicKey::from_slice(&self.signer_key)?;
        key.verify(SigningContext::Transaction, &self.payload, &self.signature)?;
        Ok(key)
    }

    /// Decodes the payload as a `Transaction`.
    pub fn transaction(&self) -> Result<pb::Transaction, EnvelopeError> {
        pb::Transaction::decode(self.payload.as_slice())
            .map_err(|e| EnvelopeError::MalformedTransaction { cause: e.to_string() })
    }

    /// blake3 of the canonical bytes.
    pub fn id(&self) -> Hash {
        self.id
    }

    /// The canonical encoding.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The signed payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signer's raw public key bytes (32, not yet checked as a point).
    pub fn signer_key(&self) -> &[u8] {
        &self.signer_key
    }

    /// The signature bytes (64).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The protobuf message form.
    pub fn to_proto(&self) -> pb::SignedEnvelope {
        pb::SignedEnvelope {
            payload: self.payload.clone(),
            signer_key_id: self.signer_key.clone(),
            signature: self.signature.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_seed_label("envelope-test")
    }

    #[test]
    fn sign_decode_verify_round_trip() {
        let env = Envelope::sign(b"payload".to_vec(), &key());
        let back = Envelope::decode(env.bytes()).expect("decodes");
        assert_eq!(back, env);
        assert_eq!(back.id(), Hash::digest(env.bytes()));
        assert_eq!(back.verify().expect("verifies"), key().public());
    }

    #[test]
    fn tampered_payload_fails_signature() {
        let env = Envelope::sign(b"payload".to_vec(), &key());
        let mut msg = env.to_proto();
        msg.payload[0] ^= 1;
        let forged = Envelope::from_proto(msg).expect("shape ok");
        assert_eq!(forged.verify(), Err(EnvelopeError::Signature(KeyError::BadSignature)));
    }

    #[test]
    fn non_canonical_encoding_is_refused() {
        let env = Envelope::sign(b"payload".to_vec(), &key());
        // Same fields, reversed order: valid protobuf, not canonical.
        let mut reordered = Vec::new();
        let m = env.to_proto();
        prost::encoding::bytes::encode(3, &m.signature, &mut reordered);
        prost::encoding::bytes::encode(2, &m.signer_key_id, &mut reordered);
        prost::encoding::bytes::encode(1, &m.payload, &mut reordered);
        assert_eq!(Envelope::decode(&reordered), Err(EnvelopeError::NonCanonical));
        // An unknown extra field is dropped by the decoder: also not canonical.
        let mut extra = env.bytes().to_vec();
        prost::encoding::uint64::encode(9, &7, &mut extra);
        assert_eq!(Envelope::decode(&extra), Err(EnvelopeError::NonCanonical));
    }

    #[test]
    fn garbage_and_shape_errors_are_typed() {
        assert!(matches!(Envelope::decode(&[0xff, 0xff, 0xff]), Err(EnvelopeError::Malformed { .. })));
        assert_eq!(Envelope::decode(&[]), Err(EnvelopeError::EmptyPayload));
        let mut m = Envelope::sign(b"p".to_vec(), &key()).to_proto();
        m.signature.pop();
        assert_eq!(
            Envelope::from_proto(m.clone()),
            Err(EnvelopeError::Signature(KeyError::SignatureLength { len: 63 }))
        );
        m.signer_key_id.push(0);
        assert!(matches!(
            Envelope::from_proto(m),
            Err(EnvelopeError::Signature(KeyError::PublicKeyLength { len: 33 }))
        ));
        let big = pb::SignedEnvelope {
            payload: vec![0; MAX_PAYLOAD_BYTES + 1],
            signer_key_id: vec![0; 32],
            signature: vec![0; 64],
        };
        assert!(matches!(Envelope::from_proto(big), Err(EnvelopeError::TooLarge { what: "payload", .. })));
    }
}
