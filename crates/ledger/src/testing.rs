//! Fixtures for tests: a genesis with parties and keys, and signed
//! envelopes. Keys are derived from labels: never use them for real.

use veritrace_core::{Envelope, SecretKey};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;
use veritrace_storage::MemEngine;

use crate::schema::ALL_CFS;
use crate::{BatchHeader, Ledger, LedgerOptions};

/// The network id of fixture ledgers.
pub const NETWORK: &str = "test-net";

/// A party of a fixture network.
#[derive(Debug, Clone)]
pub struct TestParty {
    /// Party id.
    pub id: String,
    /// Its signing key.
    pub key: SecretKey,
}

/// A genesis with `n` parties `party-0` .. `party-{n-1}` plus their keys.
pub fn genesis(n: usize) -> (pb::Genesis, Vec<TestParty>) {
    let parties: Vec<TestParty> = (0..n)
        .map(|i| TestParty { id: format!("party-{i}"), key: SecretKey::from_seed_label(&format!("fixture/party-{i}")) })
        .collect();
    let genesis = pb::Genesis {
        network_id: NETWORK.into(),
        founding_parties: parties
            .iter()
            .map(|p| pb::Party {
                party_id: p.id.clone(),
                display_name: p.id.clone(),
                country: "FR".into(),
                roles: vec![pb::PartyRole::BrandOwner as i32],
                signing_keys: vec![pb::SigningKey {
                    public_key: p.key.public().to_bytes().to_vec(),
                    status: pb::KeyStatus::Active as i32,
                    ..Default::default()
                }],
                status: pb::PartyStatus::Active as i32,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    (genesis, parties)
}

/// A fresh ledger on a [`MemEngine`] with [`genesis`]`(n)`.
pub fn mem_ledger(n: usize) -> (Ledger<MemEngine>, Vec<TestParty>) {
    let (g, parties) = genesis(n);
    let ledger =
        Ledger::create(MemEngine::new(ALL_CFS), &g, LedgerOptions::default()).expect("fixture genesis is valid");
    (ledger, parties)
}

/// An EPCIS ObjectEvent observing `epcs` (without a bizStep, so any
/// BRAND_OWNER may sign it; use assets or containers, since SGTINs must be
/// commissioned first), padded with an extension so the payload is about
/// `pad` bytes larger.
pub fn observe(epcs: &[&str], pad: usize) -> Action {
    Action::EpcisEvent(pb::EpcisEvent {
        event_time: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
        event_time_zone_offset: "+00:00".into(),
        extensions: if pad == 0 {
            Vec::new()
        } else {
            vec![pb::Extension {
                namespace_uri: "https://example.com/pad/".into(),
                name: "pad".into(),
                json_value: format!("\"{}\"", "x".repeat(pad)),
            }]
        },
        event: Some(pb::epcis_event::Event::ObjectEvent(pb::ObjectEvent {
            action: pb::EpcisAction::Observe as i32,
            epc_list: epcs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })),
        ..Default::default()
    })
}

/// A transaction of `party` with `nonce` and `action` on [`NETWORK`].
pub fn tx(party: &TestParty, nonce: u64, action: Action) -> pb::Transaction {
    pb::Transaction {
        party_id: party.id.clone(),
        nonce,
        network_id: NETWORK.into(),
        action: Some(action),
        ..Default::default()
    }
}

/// [`tx`] signed by the party's key: canonical envelope bytes.
pub fn signed(party: &TestParty, nonce: u64, action: Action) -> Vec<u8> {
    Envelope::sign_transaction(&tx(party, nonce, action), &party.key).bytes().to_vec()
}

/// Header of batch `log_index` with a commit time derived from it.
pub fn header(log_index: u64) -> BatchHeader {
    BatchHeader { log_index, commit_time_ms: 1_700_000_000_000 + log_index as i64 * 1000 }
}
