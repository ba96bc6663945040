//! The genesis document: the network id and the founding parties.

use prost::Message;
use veritrace_core::ids::{validate_network_id, validate_party_id};
use veritrace_core::{Hash, PublicKey};
use veritrace_proto::v1 as pb;
use veritrace_storage::WriteBatch;

use crate::LedgerError;
use crate::schema::{CF_META, CF_STATE, KEY_GENESIS};
use crate::state::{encode_record, keys, seal};

/// A validated genesis. Its bytes are stored in the ledger and its id
/// (blake3 of those bytes) names the network's starting point.
#[derive(Debug, Clone, PartialEq)]
pub struct Genesis {
    proto: pb::Genesis,
    bytes: Vec<u8>,
}

fn invalid(what: impl Into<String>) -> LedgerError {
    LedgerError::InvalidGenesis { what: what.into() }
}

impl Genesis {
    /// Validates a genesis: a network id, at least one founding party,
    /// unique valid party ids, at least one valid active signing key per
    /// party, no key shared between parties.
    pub fn from_proto(mut proto: pb::Genesis) -> Result<Self, LedgerError> {
        validate_network_id(&proto.network_id).map_err(|e| invalid(e.to_string()))?;
        if !proto.label_host.is_empty() {
            veritrace_core::gs1::DlHost::parse_normalized(&proto.label_host)
                .map_err(|e| invalid(format!("label_host: {e}")))?;
        }
        if proto.founding_parties.is_empty() {
            return Err(invalid("no founding parties"));
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut keys = std::collections::BTreeSet::new();
        for party in &mut proto.founding_parties {
            validate_party_id(&party.party_id).map_err(|e| invalid(e.to_string()))?;
            if !ids.insert(party.party_id.clone()) {
                return Err(invalid(format!("party {} is listed twice", party.party_id)));
            }
            let mut active = 0;
            for key in &party.signing_keys {
                PublicKey::from_slice(&key.public_key)
                    .map_err(|e| invalid(format!("party {}: signing key: {e}", party.party_id)))?;
                if !keys.insert(key.public_key.clone()) {
                    return Err(invalid(format!("party {}: a signing key is used by two parties", party.party_id)));
                }
                if key.status != pb::KeyStatus::Revoked as i32 {
                    active += 1;
                }
            }
            if active == 0 {
                return Err(invalid(format!("party {} has no active signing key", party.party_id)));
            }
            if party.status == pb::PartyStatus::Unspecified as i32 {
                party.status = pb::PartyStatus::Active as i32;
            }
            check_party_fields(party)?;
        }
        let admins = proto.founding_parties.iter().filter(|p| p.roles.contains(&(pb::PartyRole::Admin as i32))).count();
        let threshold = proto.governance.as_ref().map_or(1, |g| g.threshold.max(1)) as usize;
        if admins > 0 && threshold > admins {
            return Err(invalid(format!("governance threshold {threshold} exceeds the {admins} ADMIN parties")));
        }
        if let Some(policy) = &proto.marketplace_policy {
            crate::domain::marketplace::validate_policy(policy)
                .map_err(|e| invalid(format!("marketplace_policy: {e}")))?;
        }
        if let Some(policy) = proto.role_policy.as_ref().filter(|p| !p.rules.is_empty()) {
            crate::domain::policy::validate(policy).map_err(|e| invalid(format!("role_policy: {e}")))?;
        }
        let bytes = proto.encode_to_vec();
        Ok(Genesis { proto, bytes })
    }

    /// Reads a stored genesis.
    pub fn decode(bytes: &[u8]) -> Result<Self, LedgerError> {
        let proto = pb::Genesis::decode(bytes)
            .map_err(|e| LedgerError::Corrupt { what: format!("stored genesis does not decode: {e}") })?;
        Ok(Genesis { proto, bytes: bytes.to_vec() })
    }

    /// The network id every transaction must name.
    pub fn network_id(&self) -> &str {
        &self.proto.network_id
    }

    /// The document.
    pub fn proto(&self) -> &pb::Genesis {
        &self.proto
    }

    /// The genesis exactly as stored (its canonical encoding).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// blake3 of [`Genesis::bytes`]: the network's genesis id.
    pub fn id(&self) -> Hash {
        Hash::digest(&self.bytes)
    }

    /// Checks the founders' seal: every founding party signed this
    /// genesis's id with one of its non-revoked keys here, and no one else
    /// signed ([`veritrace_core::founders`]). Names the first party missing
    /// or the first signature that fails.
    pub fn check_seal(&self, signatures: &[veritrace_core::founders::FounderSignature]) -> Result<(), LedgerError> {
        let id = self.id();
        for sig in signatures {
            let Some(party) = self.proto.founding_parties.iter().find(|p| p.party_id == sig.party_id) else {
                return Err(invalid(format!("{:?} signed the genesis but is not a founding party", sig.party_id)));
            };
            let own =
                party.signing_keys.iter().any(|k| k.public_key == sig.key && k.status != pb::KeyStatus::Revoked as i32);
            if !own {
                return Err(invalid(format!("{}'s seal is signed with a key that is not its own", sig.party_id)));
            }
            sig.verify(&id).map_err(|e| invalid(format!("{}'s seal does not check: {e}", sig.party_id)))?;
        }
        for party in &self.proto.founding_parties {
            if !signatures.iter().any(|s| s.party_id == party.party_id) {
                return Err(invalid(format!("founding party {} has not signed genesis {id}", party.party_id)));
            }
        }
        Ok(())
    }

    /// Queues the genesis record, each founding party and its active keys.
    pub(crate) fn write_initial_state(&self, batch: &mut WriteBatch) {
        batch.put(CF_META, KEY_GENESIS.to_vec(), self.bytes.clone());
        seal::mark_sealed(batch);
        crate::state::derived::mark_built(batch);
        let mut put_state = |key: Vec<u8>, value: Vec<u8>| {
            let sealed = seal::seal(&key, value);
            batch.put(CF_STATE, key, sealed);
        };
        for party in &self.proto.founding_parties {
            let mut party = party.clone();
            party.joined_at = party.joined_at.or(self.proto.genesis_time);
            let id = party.party_id.as_bytes().to_vec();
            for key in &party.signing_keys {
                put_state(keys::signing_key(&key.public_key), id.clone());
            }
            for gln in &party.party_glns {
                put_state(keys::party_gln(gln), id.clone());
            }
            if !party.validator_peer_id.is_empty() {
                put_state(keys::validator_peer(&party.validator_peer_id), id.clone());
            }
            put_state(keys::party(&party.party_id), encode_record(&party));
        }
    }
}

/// Roles, prefixes and GLNs of a founding party: the rules a party admitted
/// by governance must meet.
fn check_party_fields(party: &pb::Party) -> Result<(), LedgerError> {
    match crate::domain::governance::check_party_fields(party) {
        Ok(()) => Ok(()),
        Err(crate::domain::Fail::Refused(r)) => Err(invalid(format!("party {}: {}", party.party_id, r.message))),
        Err(crate::domain::Fail::Storage(e)) => Err(e),
    }
}
