//! [`PartySigner`]: a party's identity and signing key, turning actions into signed envelopes.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use veritrace_core::{Envelope, PublicKey, SecretKey};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use crate::SdkError;

/// Length of a party's ed25519 seed, in bytes (the key file holds its hex: 64 digits).
pub const SEED_LEN: usize = 32;

/// A party of a network that signs transactions: its party id, one of its ACTIVE ed25519 signing
/// keys, and the network id transactions are meant for.
///
/// It fills in what every transaction needs besides its action (`party_id`, a random `nonce`,
/// `client_time` now, `network_id`) and signs it into the canonical [`Envelope`] the ledger
/// accepts. It does no I/O after construction, so it can sign offline.
///
/// Its `Debug` output shows the public key, never the secret.
#[derive(Debug, Clone)]
pub struct PartySigner {
    party_id: String,
    key: SecretKey,
    network_id: String,
}

impl PartySigner {
    /// A signer for `party_id` with `key`, for network `network_id` (the genesis's `network_id`,
    /// see [`Veritrace::network_id`](crate::Veritrace::network_id)).
    pub fn new(party_id: impl Into<String>, key: SecretKey, network_id: impl Into<String>) -> Self {
        Self { party_id: party_id.into(), key, network_id: network_id.into() }
    }

    /// The party credential of this signer: what signs its party-plane calls (submissions,
    /// envelope reads, the watch stream).
    pub fn credential(&self) -> veritrace_client::PartyCredential {
        veritrace_client::PartyCredential::new(self.party_id.clone(), self.key.clone())
    }

    /// A signer whose key is the 32-byte ed25519 seed `seed` (RFC 8032 secret key). Fails with
    /// [`SdkError::InvalidKey`] for any other length.
    pub fn from_seed(
        party_id: impl Into<String>,
        seed: &[u8],
        network_id: impl Into<String>,
    ) -> Result<Self, SdkError> {
        let key = SecretKey::from_bytes(seed).map_err(SdkError::InvalidKey)?;
        Ok(Self::new(party_id, key, network_id))
    }

    /// A signer whose key is read from `path`, in the key-file format `veritrace init` writes
    /// (`party.key`) and the CLI's `--key` reads: the hex of a 32-byte seed (surrounding
    /// whitespace ignored, upper-case accepted). Errors name the file and never quote it.
    pub fn from_key_file(
        party_id: impl Into<String>,
        path: impl AsRef<Path>,
        network_id: impl Into<String>,
    ) -> Result<Self, SdkError> {
        let seed = read_key_file(path.as_ref())?;
        Self::from_seed(party_id, &seed, network_id)
    }

    /// The party id transactions are signed for.
    pub fn party_id(&self) -> &str {
        &self.party_id
    }

    /// The network id transactions are signed for.
    pub fn network_id(&self) -> &str {
        &self.network_id
    }

    /// The public key (the envelope's `signer_key_id`); it must be an ACTIVE key of the party in
    /// the ledger.
    pub fn public_key(&self) -> PublicKey {
        self.key.public()
    }

    /// A transaction of `action` with a random 64-bit nonce and the current time as
    /// `client_time`. Nonces must be unique per party within the genesis's replay window; a
    /// random 64-bit value is, with overwhelming probability.
    pub fn transaction(&self, action: Action) -> pb::Transaction {
        self.transaction_at(action, rand::random::<u64>(), now_ms())
    }

    /// A transaction of `action` with the given `nonce` and `client_time_ms` (unix milliseconds),
    /// for callers that keep their own nonce counter or sign for a given time. The node refuses a
    /// client time outside the replay window around the commit time.
    pub fn transaction_at(&self, action: Action, nonce: u64, client_time_ms: i64) -> pb::Transaction {
        pb::Transaction {
            party_id: self.party_id.clone(),
            nonce,
            client_time: Some(veritrace_proto::timestamp_from_ms(client_time_ms)),
            network_id: self.network_id.clone(),
            action: Some(action),
            ..Default::default()
        }
    }

    /// Signs `tx` as is (whatever its `party_id` and `network_id` say) into a canonical
    /// envelope: payload = the transaction's protobuf encoding, signature over the
    /// "veritrace.v1.Transaction\0" context and the payload, id = blake3 of the canonical
    /// envelope bytes. Use [`Envelope::to_proto`] to send it and [`Envelope::id`] to track it.
    pub fn sign(&self, tx: &pb::Transaction) -> Envelope {
        Envelope::sign_transaction(tx, &self.key)
    }

    /// [`transaction`](Self::transaction) then [`sign`](Self::sign).
    pub fn sign_action(&self, action: Action) -> Envelope {
        self.sign(&self.transaction(action))
    }
}

/// Now, in unix milliseconds (0 if the clock is before 1970).
fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Reads a seed from a key file (see [`PartySigner::from_key_file`]).
fn read_key_file(path: &Path) -> Result<[u8; SEED_LEN], SdkError> {
    let bytes = std::fs::read(path).map_err(|source| SdkError::KeyFileRead { path: path.to_path_buf(), source })?;
    let bad = |reason: String| SdkError::KeyFileInvalid { path: path.to_path_buf(), reason };
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not text".into()))?.trim();
    if text.is_empty() {
        return Err(bad("empty".into()));
    }
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("not hexadecimal".into()));
    }
    if text.len() % 2 != 0 {
        return Err(bad("odd number of hex digits".into()));
    }
    let decoded = hex::decode(text).map_err(|_| bad("not hexadecimal".into()))?;
    let len = decoded.len();
    decoded.try_into().map_err(|_| bad(format!("holds {len} bytes, expected {SEED_LEN}")))
}
