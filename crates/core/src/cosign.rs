//! Co-signed tree heads and equivocation evidence, checked offline.
//!
//! One node's signature on a tree head says only what that node claims.
//! A validator co-signs a head only when its own ledger has the same root
//! at that size, so a head co-signed by validators of a quorum of distinct
//! validator parties is the network's, not one node's (the witness idea of
//! Certificate Transparency, Sigsum and CoSi). Two validly signed heads of
//! one size with different roots under one key prove that its node showed
//! two histories: equivocation.
//!
//! The verifier brings the validator set (parties and their validator
//! keys, e.g. from the genesis or the party list: [`ValidatorSet::from_parties`]),
//! and learns whose signatures it checked.

use veritrace_proto::v1 as pb;

use crate::keys::{PublicKey, SigningContext};
use crate::receipt::{ReceiptError, tree_head_from_proto};

/// A validator: its party and its node's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    /// The party operating the node.
    pub party_id: String,
    /// The node's signing key (the key its libp2p PeerId carries).
    pub key: PublicKey,
}

/// The validators a verifier trusts, and how many distinct parties make a
/// quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSet {
    /// The validators.
    pub validators: Vec<Validator>,
    /// Distinct validator parties whose co-signatures a head needs.
    pub quorum: usize,
}

impl ValidatorSet {
    /// The set of `validators` with a majority quorum of their parties.
    pub fn majority(validators: Vec<Validator>) -> Self {
        let mut parties: Vec<&str> = validators.iter().map(|v| v.party_id.as_str()).collect();
        parties.sort_unstable();
        parties.dedup();
        let quorum = parties.len() / 2 + 1;
        ValidatorSet { validators, quorum }
    }

    /// The ACTIVE parties' validators (their `validator_peer_id`s carry the
    /// node keys), with a majority quorum. A party whose PeerId does not
    /// carry an ed25519 key is left out.
    pub fn from_parties(parties: &[pb::Party]) -> Self {
        let validators = parties
            .iter()
            .filter(|p| p.status == pb::PartyStatus::Active as i32)
            .filter_map(|p| {
                peer_public_key(&p.validator_peer_id).map(|key| Validator { party_id: p.party_id.clone(), key })
            })
            .collect();
        Self::majority(validators)
    }

    fn party_of(&self, key: &PublicKey) -> Option<&str> {
        self.validators.iter().find(|v| v.key == *key).map(|v| v.party_id.as_str())
    }
}

/// The ed25519 key a libp2p PeerId (base58, identity multihash) carries.
///
/// Written by hand: the offline core must not link libp2p. An ed25519
/// PeerId is the identity multihash (0x00, length 36) of the protobuf
/// `PublicKey { Type = Ed25519 (1), Data = 32 bytes }`.
pub fn peer_public_key(peer_id: &str) -> Option<PublicKey> {
    let bytes = bs58::decode(peer_id).into_vec().ok()?;
    let key = bytes.strip_prefix(&[0x00, 0x24, 0x08, 0x01, 0x12, 0x20])?;
    PublicKey::from_slice(key).ok()
}

/// Why a co-signed head does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoSignError {
    /// The head itself is malformed.
    #[error(transparent)]
    Head(#[from] ReceiptError),
    /// Fewer distinct validator parties validly signed than the quorum.
    #[error(
        "co-signed by {have} validator parties ({parties:?}); the quorum is {need} ({ignored} other co-signatures are no validator's or do not verify)"
    )]
    TooFew {
        /// Distinct parties that validly signed.
        have: usize,
        /// The quorum.
        need: usize,
        /// Who they are.
        parties: Vec<String>,
        /// Co-signatures that did not count: not a validator's key, or a
        /// signature that does not verify.
        ignored: usize,
    },
}

/// Checks `head`'s co-signatures against `set`: validators of at least
/// `set.quorum` distinct parties must have validly signed it. Returns those
/// parties, sorted. Co-signatures by keys outside the set, or that do not
/// verify, do not count (and do not spoil the others: a stranger cannot
/// break a receipt by adding one).
pub fn verify_cosigned(head: &pb::SignedTreeHead, set: &ValidatorSet) -> Result<Vec<String>, CoSignError> {
    let sth = tree_head_from_proto(head)?;
    let message = sth.head.signing_bytes();
    let mut parties = Vec::new();
    let mut ignored = 0;
    for c in &head.cosignatures {
        let party = PublicKey::from_slice(&c.signer_key_id)
            .ok()
            .filter(|key| key.verify(SigningContext::TreeHead, &message, &c.signature).is_ok())
            .and_then(|key| set.party_of(&key));
        match party {
            Some(party) => parties.push(party.to_owned()),
            None => ignored += 1,
        }
    }
    parties.sort();
    parties.dedup();
    if parties.len() < set.quorum {
        return Err(CoSignError::TooFew { have: parties.len(), need: set.quorum, parties, ignored });
    }
    Ok(parties)
}

/// Why two heads are not evidence of equivocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EquivocationError {
    /// A head is malformed or its signature fails.
    #[error("a head does not check: {0}")]
    Head(String),
    /// Different signers, sizes or shards, or the same root.
    #[error("the heads do not conflict: {0}")]
    NoConflict(&'static str),
}

/// Checks that `first` and `second` are equivocation: one key's valid
/// signatures on two heads of one shard and size with different roots.
/// Returns the key.
pub fn check_equivocation(
    first: &pb::SignedTreeHead,
    second: &pb::SignedTreeHead,
) -> Result<PublicKey, EquivocationError> {
    let a = tree_head_from_proto(first).map_err(|e| EquivocationError::Head(e.to_string()))?;
    let b = tree_head_from_proto(second).map_err(|e| EquivocationError::Head(e.to_string()))?;
    for h in [&a, &b] {
        h.verify().map_err(|e| EquivocationError::Head(e.to_string()))?;
    }
    if a.signer != b.signer {
        return Err(EquivocationError::NoConflict("different signers"));
    }
    if (a.head.shard_id, a.head.tree_size) != (b.head.shard_id, b.head.tree_size) {
        return Err(EquivocationError::NoConflict("different sizes"));
    }
    if a.head.root == b.head.root {
        return Err(EquivocationError::NoConflict("the same root"));
    }
    Ok(a.signer)
}

/// The co-signature a signed head makes: its signer's key and signature.
pub fn cosignature(head: &crate::SignedTreeHead) -> pb::CoSignature {
    pb::CoSignature { signer_key_id: head.signer.to_bytes().to_vec(), signature: head.signature.to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Hash, SecretKey, TreeHead};

    fn proto(sth: &crate::SignedTreeHead) -> pb::SignedTreeHead {
        crate::receipt::tree_head_to_proto(sth)
    }

    fn keys() -> Vec<SecretKey> {
        (1..=3).map(|i| SecretKey::from_seed_label(&format!("validator-{i}"))).collect()
    }

    fn set(keys: &[SecretKey]) -> ValidatorSet {
        ValidatorSet::majority(
            keys.iter()
                .enumerate()
                .map(|(i, k)| Validator { party_id: format!("party-{i}"), key: k.public() })
                .collect(),
        )
    }

    #[test]
    fn a_quorum_of_validators_cosigns_and_fewer_or_strangers_do_not() {
        let keys = keys();
        let head = TreeHead { shard_id: 0, tree_size: 7, root: Hash::digest(b"root"), timestamp_ms: 1000 };
        let mut sth = proto(&head.sign(&keys[0]));
        sth.cosignatures = keys[..2].iter().map(|k| cosignature(&head.sign(k))).collect();
        assert_eq!(verify_cosigned(&sth, &set(&keys)), Ok(vec!["party-0".to_owned(), "party-1".to_owned()]));
        // One removed: below the quorum of 2.
        let mut one = sth.clone();
        one.cosignatures.pop();
        assert!(matches!(verify_cosigned(&one, &set(&keys)), Err(CoSignError::TooFew { have: 1, need: 2, .. })));
        // The same validator twice is one party.
        let mut twice = one.clone();
        twice.cosignatures.push(twice.cosignatures[0].clone());
        assert!(matches!(verify_cosigned(&twice, &set(&keys)), Err(CoSignError::TooFew { have: 1, .. })));
        // A stranger's signature, or a signature on another root, does not make the quorum...
        let stranger = SecretKey::from_seed_label("stranger");
        let mut foreign = one.clone();
        foreign.cosignatures.push(cosignature(&head.sign(&stranger)));
        assert!(matches!(verify_cosigned(&foreign, &set(&keys)), Err(CoSignError::TooFew { have: 1, ignored: 1, .. })));
        let other = TreeHead { root: Hash::digest(b"fork"), ..head };
        let mut forged = one;
        forged.cosignatures.push(cosignature(&other.sign(&keys[2])));
        assert!(matches!(verify_cosigned(&forged, &set(&keys)), Err(CoSignError::TooFew { have: 1, ignored: 1, .. })));
        // ...and does not spoil a quorum either.
        let mut padded = sth.clone();
        padded.cosignatures.push(cosignature(&head.sign(&stranger)));
        assert_eq!(verify_cosigned(&padded, &set(&keys)).map(|p| p.len()), Ok(2));
    }

    #[test]
    fn two_roots_at_one_size_under_one_key_are_equivocation() {
        let key = SecretKey::from_seed_label("liar");
        let a = TreeHead { shard_id: 0, tree_size: 5, root: Hash::digest(b"a"), timestamp_ms: 1 };
        let b = TreeHead { root: Hash::digest(b"b"), ..a };
        assert_eq!(check_equivocation(&proto(&a.sign(&key)), &proto(&b.sign(&key))), Ok(key.public()));
        assert!(check_equivocation(&proto(&a.sign(&key)), &proto(&a.sign(&key))).is_err(), "the same root");
        let other = SecretKey::from_seed_label("honest");
        assert!(check_equivocation(&proto(&a.sign(&key)), &proto(&b.sign(&other))).is_err(), "two signers");
        let later = TreeHead { tree_size: 6, ..b };
        assert!(check_equivocation(&proto(&a.sign(&key)), &proto(&later.sign(&key))).is_err(), "two sizes");
        let mut tampered = proto(&b.sign(&key));
        tampered.signature[0] ^= 1;
        assert!(check_equivocation(&proto(&a.sign(&key)), &tampered).is_err(), "a bad signature");
    }

    #[test]
    fn an_ed25519_peer_id_carries_its_key() {
        // The PeerId of the node key with seed [1; 32], as libp2p prints it.
        let key = SecretKey::from_bytes(&[1u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        let mut bytes = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
        bytes.extend_from_slice(&key.public().to_bytes());
        let peer_id = bs58::encode(bytes).into_string();
        assert!(peer_id.starts_with("12D3KooW"), "{peer_id}");
        assert_eq!(peer_public_key(&peer_id), Some(key.public()));
        assert_eq!(peer_public_key("12D3KooWFixtureAdminAPeer"), None);
        assert_eq!(peer_public_key(""), None);
    }
}
