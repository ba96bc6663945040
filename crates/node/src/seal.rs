//! `genesis.sig`: the founding parties' seal on the network's genesis
//! ([`veritrace_core::founders`]), as JSON next to `genesis.pb`:
//!
//! ```json
//! {"genesis_id": "<64 hex>", "signatures": [{"party_id": "acme", "key": "<64 hex>", "signature": "<128 hex>"}]}
//! ```
//!
//! A node starts only when every founding party of its genesis signed it
//! (`node.genesis_seal_file`), so a coordinator who assembled the genesis
//! cannot have changed a party, a key or a validator without the founders
//! noticing: each signs the id of the bytes it checked.

use std::path::Path;

use prost::Message as _;
use serde::{Deserialize, Serialize};
use veritrace_core::founders::FounderSignature;
use veritrace_proto::v1 as pb;

use crate::NodeError;

/// Default file name of the seal, next to the genesis.
pub const GENESIS_SEAL_FILE: &str = "genesis.sig";

/// The seal file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealFile {
    /// The genesis id signed (hex of blake3 of the genesis bytes).
    pub genesis_id: String,
    /// One entry per founding party.
    pub signatures: Vec<SealEntry>,
}

/// One founder's signature, hex-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealEntry {
    /// The founding party.
    pub party_id: String,
    /// Its public key that signed, 64 hex digits.
    pub key: String,
    /// The signature, 128 hex digits.
    pub signature: String,
}

fn bad(path: &Path, reason: impl Into<String>) -> NodeError {
    NodeError::Genesis { path: path.to_path_buf(), reason: reason.into() }
}

/// The validated genesis in `genesis_file` (its id is what founders sign).
pub fn read_validated_genesis(genesis_file: &Path) -> Result<veritrace_ledger::Genesis, NodeError> {
    let bytes = std::fs::read(genesis_file).map_err(|e| bad(genesis_file, e.to_string()))?;
    let proto = pb::Genesis::decode(bytes.as_slice())
        .map_err(|e| bad(genesis_file, format!("not a binary veritrace.v1.Genesis: {e}")))?;
    veritrace_ledger::Genesis::from_proto(proto).map_err(|e| bad(genesis_file, e.to_string()))
}

impl SealFile {
    /// An empty seal of `genesis`.
    pub fn new(genesis: &veritrace_ledger::Genesis) -> Self {
        SealFile { genesis_id: genesis.id().to_string(), signatures: Vec::new() }
    }

    /// Adds (or replaces) a founder's signature.
    pub fn add(&mut self, sig: &FounderSignature) {
        self.signatures.retain(|s| s.party_id != sig.party_id);
        self.signatures.push(SealEntry {
            party_id: sig.party_id.clone(),
            key: hex::encode(sig.key),
            signature: hex::encode(sig.signature),
        });
        self.signatures.sort_by(|a, b| a.party_id.cmp(&b.party_id));
    }

    /// Reads a seal file.
    pub fn load(path: &Path) -> Result<Self, NodeError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            bad(path, format!("{e}: a node starts only on a genesis its founders sealed (veritrace genesis seal)"))
        })?;
        serde_json::from_str(&text).map_err(|e| bad(path, format!("not a genesis seal: {e}")))
    }

    /// Writes the seal (pretty JSON).
    pub fn save(&self, path: &Path) -> Result<(), NodeError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| bad(path, e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| bad(path, e.to_string()))
    }

    /// The signatures, decoded.
    pub fn founder_signatures(&self) -> Result<Vec<FounderSignature>, String> {
        self.signatures
            .iter()
            .map(|s| {
                let mut key = [0u8; 32];
                let mut signature = [0u8; 64];
                hex::decode_to_slice(&s.key, &mut key)
                    .map_err(|_| format!("{}: key is not 64 hex digits", s.party_id))?;
                hex::decode_to_slice(&s.signature, &mut signature)
                    .map_err(|_| format!("{}: signature is not 128 hex digits", s.party_id))?;
                Ok(FounderSignature { party_id: s.party_id.clone(), key, signature })
            })
            .collect()
    }

    /// Checks that this seals `genesis`: the id matches and every founding
    /// party signed with one of its keys (`Genesis::check_seal`).
    pub fn check(&self, genesis: &veritrace_ledger::Genesis, path: &Path) -> Result<(), NodeError> {
        if self.genesis_id != genesis.id().to_string() {
            return Err(bad(path, format!("seals genesis {}, not this one ({})", self.genesis_id, genesis.id())));
        }
        let sigs = self.founder_signatures().map_err(|e| bad(path, e))?;
        genesis.check_seal(&sigs).map_err(|e| bad(path, e.to_string()))
    }
}

/// Checks the seal in `seal_file` against the genesis in `genesis_file`.
pub fn check_sealed(genesis_file: &Path, seal_file: &Path) -> Result<(), NodeError> {
    let genesis = read_validated_genesis(genesis_file)?;
    SealFile::load(seal_file)?.check(&genesis, seal_file)
}
