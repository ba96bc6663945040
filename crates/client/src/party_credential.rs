//! The party credential: what a node's party plane (submissions, envelope
//! and proposal reads, the watch stream) requires of each call
//! (`veritrace_core::party_call`): the party id and a signature, made with
//! one of the party's active keys, over the network, the method, the time
//! and a fresh nonce.

use tonic::metadata::{Ascii, MetadataValue};
use veritrace_core::SecretKey;
use veritrace_core::party_call::{NONCE_LEN, PartyCall};

use crate::ClientError;

/// A party's id and one of its active signing keys. `Debug` shows the
/// public key only; two credentials are equal when party and key are.
#[derive(Clone)]
pub struct PartyCredential {
    party_id: String,
    key: SecretKey,
}

impl PartyCredential {
    /// The credential of `party_id` signing with `key` (one of its ACTIVE
    /// keys on the ledger).
    pub fn new(party_id: impl Into<String>, key: SecretKey) -> Self {
        PartyCredential { party_id: party_id.into(), key }
    }

    /// The party's id.
    pub fn party_id(&self) -> &str {
        &self.party_id
    }

    /// The metadata entries authorising one call of `method` (its full
    /// path) at the node with PeerId `node` of network `network_id`, at
    /// the local clock, with a fresh nonce.
    pub(crate) fn sign(
        &self,
        network_id: &str,
        node: &str,
        method: &str,
    ) -> Result<Vec<(&'static str, MetadataValue<Ascii>)>, ClientError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let call = PartyCall { network_id, node, method, party_id: &self.party_id, time_ms, nonce };
        call.sign(&self.key)
            .headers()
            .into_iter()
            .map(|(name, value)| {
                let value = value.parse().map_err(|_| ClientError::Local {
                    what: format!("party id {:?} cannot travel in gRPC metadata (printable ASCII only)", self.party_id),
                })?;
                Ok((name, value))
            })
            .collect()
    }
}

impl PartialEq for PartyCredential {
    fn eq(&self, other: &Self) -> bool {
        self.party_id == other.party_id && self.key.public() == other.key.public()
    }
}

impl Eq for PartyCredential {}

impl std::fmt::Debug for PartyCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartyCredential").field("party_id", &self.party_id).field("key", &self.key.public()).finish()
    }
}
