//! Founding parties' signatures on a genesis (the "seal").
//!
//! A network's genesis names its founding parties, their keys and its
//! validators. Assembled from public parts by one coordinator, it is only
//! the network's genesis once every founding party has signed it: each
//! signs the genesis id (blake3 of the genesis's bytes) and its own party
//! id with one of the keys the genesis gives it, on its own host. A node
//! starts only on a genesis every founder signed, so no coordinator can
//! slip in a party, a key or a validator that a founder did not see.

use crate::Hash;
use crate::keys::{KeyError, PublicKey, SIGNATURE_LEN, SecretKey, SigningContext};

/// One founding party's signature on a genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FounderSignature {
    /// The founding party.
    pub party_id: String,
    /// The key that signed (one of the party's keys in the genesis).
    pub key: [u8; 32],
    /// ed25519 over [`SigningContext::Genesis`]'s prefix and
    /// [`seal_message`].
    pub signature: [u8; SIGNATURE_LEN],
}

/// The bytes a founder signs: the genesis id, then its party id.
pub fn seal_message(genesis_id: &Hash, party_id: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(32 + party_id.len());
    m.extend_from_slice(genesis_id.as_bytes());
    m.extend_from_slice(party_id.as_bytes());
    m
}

impl FounderSignature {
    /// `party_id`'s signature with `key` on the genesis with id `genesis_id`.
    pub fn sign(genesis_id: &Hash, party_id: &str, key: &SecretKey) -> Self {
        FounderSignature {
            party_id: party_id.to_owned(),
            key: key.public().to_bytes(),
            signature: key.sign(SigningContext::Genesis, &seal_message(genesis_id, party_id)),
        }
    }

    /// Checks the signature on `genesis_id`; returns the key that signed
    /// (whether it is the party's is the caller's to check).
    pub fn verify(&self, genesis_id: &Hash) -> Result<PublicKey, KeyError> {
        let key = PublicKey::from_slice(&self.key)?;
        key.verify(SigningContext::Genesis, &seal_message(genesis_id, &self.party_id), &self.signature)?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_verifies_for_its_genesis_and_party_only() {
        let key = SecretKey::from_seed_label("founder");
        let id = Hash::digest(b"genesis");
        let sig = FounderSignature::sign(&id, "acme", &key);
        assert_eq!(sig.verify(&id), Ok(key.public()));
        assert_eq!(sig.verify(&Hash::digest(b"another genesis")), Err(KeyError::BadSignature));
        let renamed = FounderSignature { party_id: "rival".into(), ..sig };
        assert_eq!(renamed.verify(&id), Err(KeyError::BadSignature));
    }
}
