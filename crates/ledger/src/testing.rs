//! Fixtures for tests (feature `testing`; never for production use).
//!
//! - [`genesis`], [`mem_ledger`], [`observe`], [`tx`], [`signed`],
//!   [`header`]: a genesis of `n` interchangeable BRAND_OWNER parties and
//!   raw signed envelopes.
//! - [`Network`]: a named network with one party per role (see
//!   [`PARTIES`]), signing with increasing nonces and applying one batch per
//!   submission, plus builders of common actions (products, commissioning
//!   with code digests, EPCIS events, governance, recalls, scans).
//!
//! Keys are derived from labels: never use them for real.

use std::collections::BTreeMap;

use veritrace_core::code::{CodeSalt, code_digest};
use veritrace_core::gs1::{EpcId, Gln, Gtin, Serial, Sgtin, Sscc};
use veritrace_core::{Envelope, Reason, SecretKey};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::governance_action::Action as Gov;
use veritrace_proto::v1::transaction::Action;
use veritrace_storage::MemEngine;

use crate::schema::ALL_CFS;
use crate::{BatchHeader, Ledger, LedgerOptions, Outcome, Receipt};

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

// ---------------------------------------------------------------------------
// A named network with one party per role, and builders of common actions.
// ---------------------------------------------------------------------------

/// GS1 Company Prefix of the fixture brand (`"brand"`).
pub const BRAND_PREFIX: &str = "0614141";
/// GS1 Company Prefix of the second fixture brand (`"brand-2"`).
pub const BRAND2_PREFIX: &str = "0712345";
/// Governance threshold of the fixture network (of three admins).
pub const THRESHOLD: u32 = 2;
/// Proposal time-to-live of the fixture network, in seconds.
pub const PROPOSAL_TTL_SECS: i64 = 3600;
/// Validator peer id of `"admin-a"`, the fixture's validator operator.
pub const ADMIN_A_PEER: &str = "12D3KooWFixtureAdminAPeer";
/// Commit time of log index 0 of a fixture network, unix ms.
pub const BASE_TIME_MS: i64 = 1_700_000_000_000;
/// Event time of fixture EPCIS events, unix seconds.
pub const EVENT_TIME_SECS: i64 = 1_700_000_000;
/// Batch salt of fixture commissionings.
pub const SALT: [u8; 16] = [7; 16];

/// Parties of [`network_genesis`]: id, roles, GS1 Company Prefixes.
///
/// - `admin-a`, `admin-b`, `admin-c`: ADMIN (threshold [`THRESHOLD`]);
///   `admin-a` also operates a validator ([`ADMIN_A_PEER`]).
/// - `brand`: BRAND_OWNER under [`BRAND_PREFIX`], party GLN [`brand_gln`].
/// - `brand-2`: BRAND_OWNER under [`BRAND2_PREFIX`] (a competitor).
/// - `maker`: MANUFACTURER (needs `brand`'s authorization).
/// - `lab`: INSPECTION. `customs`: CUSTOMS. `carrier`: LOGISTICS.
/// - `shop`: RETAILER, party GLN [`shop_gln`].
/// - `app`: PLATFORM (the consumer verification app, records scans).
/// - `regulator`: REGULATOR.
pub const PARTIES: &[(&str, &[pb::PartyRole], &[&str])] = {
    use pb::PartyRole as R;
    &[
        ("admin-a", &[R::Admin], &[]),
        ("admin-b", &[R::Admin], &[]),
        ("admin-c", &[R::Admin], &[]),
        ("brand", &[R::BrandOwner], &[BRAND_PREFIX]),
        ("brand-2", &[R::BrandOwner], &[BRAND2_PREFIX]),
        ("maker", &[R::Manufacturer], &[]),
        ("lab", &[R::Inspection], &[]),
        ("customs", &[R::Customs], &[]),
        ("carrier", &[R::Logistics], &[]),
        ("shop", &[R::Retailer], &[]),
        ("app", &[R::Platform], &[]),
        ("regulator", &[R::Regulator], &[]),
    ]
};

/// The fixture key of a party id (derived from a label; never for real use).
pub fn party_key(id: &str) -> SecretKey {
    SecretKey::from_seed_label(&format!("fixture/{id}"))
}

/// A second fixture key of a party (for key rotation tests).
pub fn spare_key(id: &str) -> SecretKey {
    SecretKey::from_seed_label(&format!("fixture/{id}/spare"))
}

/// Party GLN of `brand` (13 digits, valid check digit).
pub fn brand_gln() -> String {
    Gln::from_body(&format!("{BRAND_PREFIX}00001")).expect("fixture GLN").as_str().to_owned()
}

/// Party GLN of `shop` (13 digits, valid check digit).
pub fn shop_gln() -> String {
    Gln::from_body("001234500001").expect("fixture GLN").as_str().to_owned()
}

/// `urn:epc:id:pgln:` URI of a 13-digit party GLN whose company prefix has
/// 7 digits.
pub fn pgln_uri(gln: &str) -> String {
    format!("urn:epc:id:pgln:{}.{}", &gln[..7], &gln[7..12])
}

/// A founding party with the fixture key of `id`.
pub fn founding_party(id: &str, roles: &[pb::PartyRole], prefixes: &[&str]) -> pb::Party {
    pb::Party {
        party_id: id.into(),
        display_name: id.into(),
        country: "FR".into(),
        roles: roles.iter().map(|r| *r as i32).collect(),
        signing_keys: vec![pb::SigningKey {
            public_key: party_key(id).public().to_bytes().to_vec(),
            status: pb::KeyStatus::Active as i32,
            ..Default::default()
        }],
        status: pb::PartyStatus::Active as i32,
        gs1_company_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        party_glns: match id {
            "brand" => vec![brand_gln()],
            "shop" => vec![shop_gln()],
            _ => Vec::new(),
        },
        validator_peer_id: if id == "admin-a" { ADMIN_A_PEER.into() } else { String::new() },
        ..Default::default()
    }
}

/// The genesis of [`Network::new`]: the [`PARTIES`], governance threshold
/// [`THRESHOLD`] with a [`PROPOSAL_TTL_SECS`] time-to-live, the default
/// role policy.
pub fn network_genesis() -> pb::Genesis {
    pb::Genesis {
        network_id: NETWORK.into(),
        genesis_time: Some(prost_types::Timestamp { seconds: BASE_TIME_MS / 1000, nanos: 0 }),
        founding_parties: PARTIES.iter().map(|(id, roles, prefixes)| founding_party(id, roles, prefixes)).collect(),
        governance: Some(pb::GovernanceRule {
            threshold: THRESHOLD,
            proposal_ttl: Some(prost_types::Duration { seconds: PROPOSAL_TTL_SECS, nanos: 0 }),
        }),
        ..Default::default()
    }
}

/// The reason of a rejected receipt, `None` for any other outcome.
pub fn reason_of(receipt: &Receipt) -> Option<Reason> {
    match &receipt.outcome {
        Outcome::Rejected { reason, .. } => Some(*reason),
        _ => None,
    }
}

/// A fixture network: a ledger on a [`MemEngine`] plus the parties' keys
/// and nonces. Every `submit` signs with the party's next nonce and applies
/// one batch (log index + 1, commit time + 1 s + any [`Network::advance`]).
/// Every batch applied is kept, so [`Network::replay`] can rebuild the same
/// ledger from scratch.
pub struct Network {
    /// The ledger.
    pub ledger: Ledger<MemEngine>,
    genesis: pb::Genesis,
    keys: BTreeMap<String, SecretKey>,
    nonces: BTreeMap<String, u64>,
    log_index: u64,
    offset_ms: i64,
    batches: Vec<(BatchHeader, Vec<Vec<u8>>)>,
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("ledger", &self.ledger).field("log_index", &self.log_index).finish()
    }
}

impl Network {
    /// The network of [`network_genesis`].
    pub fn new() -> Self {
        Self::with_genesis(network_genesis())
    }

    /// A network of any genesis whose parties use [`party_key`].
    pub fn with_genesis(genesis: pb::Genesis) -> Self {
        let ledger = Ledger::create(MemEngine::new(ALL_CFS), &genesis, LedgerOptions::default())
            .expect("fixture genesis is valid");
        let keys = genesis.founding_parties.iter().map(|p| (p.party_id.clone(), party_key(&p.party_id))).collect();
        Network { ledger, genesis, keys, nonces: BTreeMap::new(), log_index: 0, offset_ms: 0, batches: Vec::new() }
    }

    /// The key `id` signs with (its [`party_key`] unless changed).
    pub fn key(&self, id: &str) -> SecretKey {
        self.keys.get(id).cloned().unwrap_or_else(|| party_key(id))
    }

    /// Makes `id` sign with `key` from now on (after a rotation, or for a
    /// party registered through governance).
    pub fn use_key(&mut self, id: &str, key: SecretKey) {
        self.keys.insert(id.into(), key);
    }

    /// A fixture [`TestParty`] for `id` with its current key.
    pub fn party(&self, id: &str) -> TestParty {
        TestParty { id: id.into(), key: self.key(id) }
    }

    /// `action` signed by `id` with its next nonce: envelope bytes.
    pub fn sign(&mut self, id: &str, action: Action) -> Vec<u8> {
        let key = self.key(id);
        self.sign_with(id, &key, action)
    }

    /// `action` for `id` signed by `key` (any key) with `id`'s next nonce.
    pub fn sign_with(&mut self, id: &str, key: &SecretKey, action: Action) -> Vec<u8> {
        let nonce = self.nonces.entry(id.into()).or_insert(0);
        *nonce += 1;
        // Code guesses must be fresh: stamped with the next commit time.
        let guess = match &action {
            Action::CodeAttempt(_) => true,
            Action::ConsumerScan(s) => !s.request_id.is_empty(),
            _ => false,
        };
        let client_time = guess.then(|| {
            veritrace_proto::timestamp_from_ms(BASE_TIME_MS + (self.log_index as i64 + 1) * 1000 + self.offset_ms)
        });
        let t = pb::Transaction {
            party_id: id.into(),
            nonce: *nonce,
            network_id: self.genesis.network_id.clone(),
            action: Some(action),
            client_time,
            ..Default::default()
        };
        Envelope::sign_transaction(&t, key).bytes().to_vec()
    }

    /// What a node does for a verification whose code matched: records,
    /// as `id`, the ConsumerScan of `request_id` (with `token`) at `place`
    /// that spends its own guess, with the verdict and signals the ledger
    /// previews (or `verdict` if given). Returns its receipt.
    #[allow(clippy::too_many_arguments)]
    pub fn verify_matched(
        &mut self,
        id: &str,
        gtin: &str,
        serial: &str,
        request_id: &str,
        token: Option<&[u8]>,
        place: pb::Place,
        verdict: Option<pb::Verdict>,
    ) -> Receipt {
        let item = veritrace_core::gs1::Sgtin::parse_any(&sgtin(gtin, serial)).expect("fixture item");
        let at = self.next_header().commit_time_ms;
        let (previewed, signals) =
            self.ledger.preview_matched_scan(&item, &place, &[], at).expect("preview").unwrap_or_default();
        let scan = consumer_scan(gtin, serial, request_id, token, place, verdict.unwrap_or(previewed), signals);
        self.submit(id, scan)
    }

    /// Moves the commit clock of later batches forward by `ms`.
    pub fn advance(&mut self, ms: i64) {
        self.offset_ms += ms;
    }

    /// Header of the next batch.
    pub fn next_header(&self) -> BatchHeader {
        let log_index = self.log_index + 1;
        BatchHeader { log_index, commit_time_ms: BASE_TIME_MS + log_index as i64 * 1000 + self.offset_ms }
    }

    /// Applies `envelopes` as the next batch.
    pub fn apply(&mut self, envelopes: Vec<Vec<u8>>) -> Vec<Receipt> {
        let header = self.next_header();
        let receipts = self.ledger.apply(&header, &envelopes).expect("fixture apply");
        self.log_index = header.log_index;
        self.batches.push((header, envelopes));
        receipts
    }

    /// Signs `action` as `id` and applies it alone in the next batch.
    pub fn submit(&mut self, id: &str, action: Action) -> Receipt {
        let env = self.sign(id, action);
        self.apply(vec![env]).remove(0)
    }

    /// [`Network::submit`], panicking unless the envelope was applied.
    #[track_caller]
    pub fn ok(&mut self, id: &str, action: Action) -> Receipt {
        let r = self.submit(id, action);
        assert!(
            matches!(r.outcome, Outcome::Applied | Outcome::Counted),
            "{id}'s envelope should be applied or counted, got {:?}",
            r.outcome
        );
        r
    }

    /// [`Network::submit`], returning the refusal reason; panics if the
    /// envelope was not refused.
    #[track_caller]
    pub fn refused(&mut self, id: &str, action: Action) -> Reason {
        let r = self.submit(id, action);
        reason_of(&r).unwrap_or_else(|| panic!("{id}'s envelope should be refused, got {:?}", r.outcome))
    }

    /// A fresh ledger fed every batch this network applied, in order.
    pub fn replay(&self) -> Ledger<MemEngine> {
        let ledger =
            Ledger::create(MemEngine::new(ALL_CFS), &self.genesis, LedgerOptions::default()).expect("fixture genesis");
        for (header, envelopes) in &self.batches {
            ledger.apply(header, envelopes).expect("replay apply");
        }
        ledger
    }

    /// Test-only peek at a domain state record (`crate::state::records`,
    /// or a `veritrace.v1` message) under `key` (`crate::state::keys`),
    /// for facts with no public reader yet.
    pub fn state<M: prost::Message + Default>(&self, key: &[u8]) -> Option<M> {
        use veritrace_storage::KvEngine;
        let bytes = self.ledger.engine().get(crate::schema::CF_STATE, key).expect("state read")?;
        let payload = crate::state::seal::open(key, &bytes).expect("state record seal checks");
        Some(crate::state::decode_record(payload, "fixture").expect("state record decodes"))
    }

    /// The governance proposal `id` as stored.
    pub fn proposal(&self, id: &str) -> Option<pb::GovernanceProposal> {
        self.state(&crate::state::keys::proposal(id))
    }

    /// The item record of GTIN + serial as stored.
    pub fn item(&self, gtin: &str, serial: &str) -> Option<crate::state::records::ItemRecord> {
        self.state(&crate::state::keys::item(&crate::sgtin_key(gtin, serial)?))
    }

    /// Every (column family, key, value) of the store except the
    /// applied-state record: compare before and after a refusal.
    pub fn stored_state(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        use veritrace_storage::KvEngine;
        let mut out = Vec::new();
        for cf in ALL_CFS {
            for kv in self.ledger.engine().scan(cf, &[], None).expect("scan") {
                let (k, v) = kv.expect("kv");
                if !(*cf == crate::schema::CF_META && k == crate::schema::KEY_APPLIED) {
                    out.push((cf.to_string(), k, v));
                }
            }
        }
        out
    }
}

// --- Identifiers -----------------------------------------------------------

/// A valid GTIN-14 `0 {prefix} {item reference}` with its check digit;
/// `prefix` + reference make 12 digits (7-digit prefixes: 5-digit refs).
pub fn gtin_under(prefix: &str, item_ref: u32) -> String {
    let width = 12 - prefix.len();
    Gtin::from_body(&format!("0{prefix}{item_ref:0width$}")).expect("fixture GTIN").as_str().to_owned()
}

/// A GTIN-14 of `brand` ([`BRAND_PREFIX`]).
pub fn gtin(item_ref: u32) -> String {
    gtin_under(BRAND_PREFIX, item_ref)
}

/// The EPC URI (`urn:epc:id:sgtin:`) of GTIN + serial, for a 7-digit
/// company prefix.
pub fn sgtin(gtin: &str, serial: &str) -> String {
    let s = Sgtin::new(Gtin::parse(gtin).expect("GTIN"), Serial::parse(serial).expect("serial"));
    s.to_epc_uri(7).expect("EPC URI")
}

/// The EPC URI of SSCC number `n` under [`BRAND_PREFIX`].
pub fn sscc(n: u32) -> String {
    Sscc::from_body(&format!("0{BRAND_PREFIX}{n:09}")).expect("fixture SSCC").to_epc_uri(7).expect("EPC URI")
}

/// The index key (`EpcId::key_bytes`) of any EPC URI, for
/// [`Ledger::leaves_by_item`].
pub fn epc_key(uri: &str) -> Vec<u8> {
    EpcId::parse(uri).expect("EPC").key_bytes()
}

/// The 6-digit code printed on the label of GTIN + serial (fixture rule).
pub fn code_of(gtin: &str, serial: &str) -> String {
    let h = veritrace_core::Hash::digest(format!("{gtin}/{serial}").as_bytes());
    let n = u32::from_le_bytes(h.as_bytes()[..4].try_into().expect("4 bytes")) % 1_000_000;
    format!("{n:06}")
}

/// The code digest of GTIN + serial under [`SALT`] and [`code_of`].
pub fn digest_of(gtin: &str, serial: &str) -> Vec<u8> {
    let key = Sgtin::new(Gtin::parse(gtin).expect("GTIN"), Serial::parse(serial).expect("serial")).key_bytes();
    code_digest(&CodeSalt(SALT), &key, &code_of(gtin, serial)).as_bytes().to_vec()
}

// --- Products and items ----------------------------------------------------

/// A threshold code key of fixture party `brand` dealt
/// `threshold`-of-`nodes.len()` to `nodes`, drawn from `seed`: the whole
/// key, each node's share file, and the public parts (with the brand's
/// proof of possession on [`NETWORK`]) for a product's code policy.
pub fn code_key(
    seed: u64,
    threshold: u8,
    nodes: &[u64],
) -> (veritrace_core::oprf::OprfKey, Vec<(u64, veritrace_core::oprf::files::ShareFile)>, pb::ThresholdCodeKey) {
    use rand::SeedableRng as _;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let key = veritrace_core::oprf::OprfKey::generate(&mut rng);
    let (files, public) =
        veritrace_core::code::deal_code_key(&key, threshold, nodes, NETWORK, "brand", &mut rng).expect("deal");
    (key, files, public)
}

/// [`register_product`] with a CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1 policy
/// naming `key`.
pub fn register_product_with_code_key(gtin: &str, brand: &str, key: &pb::ThresholdCodeKey) -> Action {
    let mut action = register_product(gtin, brand);
    if let Action::RegisterProduct(p) = &mut action {
        p.code_policy = Some(pb::CodePolicy {
            digest_scheme: pb::CodeDigestScheme::ThresholdOprfV1 as i32,
            code_key: Some(key.clone()),
            ..Default::default()
        });
    }
    action
}

/// CommissionItems of `serials` of `gtin` under the whole code `key`
/// (no salt), the codes of [`code_of`] and the label tokens of [`token_of`].
pub fn commission_under_key(gtin: &str, serials: &[&str], key: &veritrace_core::oprf::OprfKey) -> Action {
    let gtin_parsed = Gtin::parse(gtin).expect("GTIN");
    Action::CommissionItems(pb::CommissionItems {
        gtin: gtin.into(),
        items: serials
            .iter()
            .map(|s| {
                let item_key = Sgtin::new(gtin_parsed, Serial::parse(s).expect("serial")).key_bytes();
                let digest = veritrace_core::code::oprf_code_digest(key, &item_key, &code_of(gtin, s));
                pb::CommissionedItem {
                    serial: s.to_string(),
                    code_digest: digest.as_bytes().to_vec(),
                    salt: Vec::new(),
                    label_token_digest: token_of(gtin, s).digest().as_bytes().to_vec(),
                }
            })
            .collect(),
        digest_scheme: pb::CodeDigestScheme::ThresholdOprfV1 as i32,
        code_key: key.public().to_bytes().to_vec(),
        ..Default::default()
    })
}

/// RegisterProduct of `gtin` for brand `brand`.
pub fn register_product(gtin: &str, brand: &str) -> Action {
    Action::RegisterProduct(pb::RegisterProduct {
        gtin: gtin.into(),
        brand_party_id: brand.into(),
        name: format!("Product {gtin}"),
        origin_country: "FR".into(),
        ..Default::default()
    })
}

/// CommissionItems of `serials` of `gtin` (lot `lot`, may be empty) with
/// batch salt [`SALT`] and the digests of [`digest_of`].
pub fn commission(gtin: &str, lot: &str, serials: &[&str]) -> Action {
    Action::CommissionItems(pb::CommissionItems {
        gtin: gtin.into(),
        lot: lot.into(),
        batch_salt: SALT.to_vec(),
        items: serials
            .iter()
            .map(|s| pb::CommissionedItem {
                serial: s.to_string(),
                code_digest: digest_of(gtin, s),
                salt: Vec::new(),
                label_token_digest: Vec::new(),
            })
            .collect(),
        digest_scheme: pb::CodeDigestScheme::Blake3V1 as i32,
        ..Default::default()
    })
}

/// The label token of `gtin`/`serial` in [`commission_with_tokens`]
/// (derived, so tests can present it).
pub fn token_of(gtin: &str, serial: &str) -> veritrace_core::label_token::LabelToken {
    let hash = blake3::hash(format!("label token {gtin}/{serial}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_bytes()[..16]);
    veritrace_core::label_token::LabelToken::from_bytes(bytes)
}

/// [`commission`] with a label token per item ([`token_of`]), as
/// `veritrace items commission` issues them.
pub fn commission_with_tokens(gtin: &str, lot: &str, serials: &[&str]) -> Action {
    let mut action = commission(gtin, lot, serials);
    if let Action::CommissionItems(c) = &mut action {
        for item in &mut c.items {
            item.label_token_digest = token_of(gtin, &item.serial).digest().as_bytes().to_vec();
        }
    }
    action
}

/// Serials `S1` .. `S{n}`.
pub fn serials(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("S{i}")).collect()
}

/// DecommissionItems of `serials` of `gtin` for `reason`.
pub fn decommission(gtin: &str, serials: &[&str], reason: pb::DecommissionReason) -> Action {
    Action::DecommissionItems(pb::DecommissionItems {
        items: Some(pb::ItemSet {
            gtin: gtin.into(),
            lots: Vec::new(),
            serials: serials.iter().map(|s| s.to_string()).collect(),
        }),
        reason: reason as i32,
        note: "fixture".into(),
    })
}

/// AuthorizeManufacturer `id` of `manufacturer` for `gtins`.
pub fn authorize(id: &str, manufacturer: &str, gtins: &[&str]) -> Action {
    Action::AuthorizeManufacturer(pb::AuthorizeManufacturer {
        authorization_id: id.into(),
        manufacturer_party_id: manufacturer.into(),
        gtins: gtins.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    })
}

// --- EPCIS -----------------------------------------------------------------

/// An ObjectEvent (action OBSERVE) on `epcs` with `biz_step` and
/// `disposition` (either may be empty), event time [`EVENT_TIME_SECS`],
/// offset `+00:00`.
pub fn object_event(biz_step: &str, disposition: &str, epcs: &[&str]) -> pb::EpcisEvent {
    pb::EpcisEvent {
        event_time: Some(prost_types::Timestamp { seconds: EVENT_TIME_SECS, nanos: 0 }),
        event_time_zone_offset: "+00:00".into(),
        biz_step: biz_step.into(),
        disposition: disposition.into(),
        event: Some(pb::epcis_event::Event::ObjectEvent(pb::ObjectEvent {
            action: pb::EpcisAction::Observe as i32,
            epc_list: epcs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// An AggregationEvent of `action` (ADD packs, DELETE unpacks; no
/// children with DELETE unpacks everything) with bizStep `packing` or
/// `unpacking`.
pub fn aggregation(action: pb::EpcisAction, parent: &str, children: &[&str]) -> pb::EpcisEvent {
    let step = if action == pb::EpcisAction::Delete { "unpacking" } else { "packing" };
    pb::EpcisEvent {
        event_time: Some(prost_types::Timestamp { seconds: EVENT_TIME_SECS, nanos: 0 }),
        event_time_zone_offset: "+00:00".into(),
        biz_step: step.into(),
        event: Some(pb::epcis_event::Event::AggregationEvent(pb::AggregationEvent {
            action: action as i32,
            parent_id: parent.into(),
            child_epcs: children.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Packs `children` into `parent`.
pub fn pack(parent: &str, children: &[&str]) -> Action {
    epcis(aggregation(pb::EpcisAction::Add, parent, children))
}

/// Unpacks `children` (all when empty) from `parent`.
pub fn unpack(parent: &str, children: &[&str]) -> Action {
    epcis(aggregation(pb::EpcisAction::Delete, parent, children))
}

/// The destination naming party `id` as owning party
/// (`urn:veritrace:party:{id}`).
pub fn to_party(id: &str) -> pb::Destination {
    pb::Destination { r#type: "owning_party".into(), destination: format!("urn:veritrace:party:{id}") }
}

/// The tracking-number bizTransaction `urn:veritrace:tracking:{carrier}:{n}`.
pub fn tracking(carrier: &str, n: &str) -> pb::BizTransaction {
    pb::BizTransaction {
        r#type: veritrace_core::vocab::BTT_TRACKING_NUMBER.into(),
        biz_transaction: format!("{}{carrier}:{n}", veritrace_core::vocab::TRACKING_PREFIX),
    }
}

/// A `shipping` / `in_transit` event on `epcs` addressed to party `to`,
/// with a tracking number of `carrier` when given.
pub fn ship(epcs: &[&str], to: &str, carrier_tracking: Option<(&str, &str)>) -> Action {
    let mut e = object_event("shipping", "in_transit", epcs);
    e.destination_list.push(to_party(to));
    if let Some((carrier, n)) = carrier_tracking {
        e.biz_transaction_list.push(tracking(carrier, n));
    }
    epcis(e)
}

/// An event with bizStep `step` (and no disposition) on `epcs`.
pub fn step(step: &str, epcs: &[&str]) -> Action {
    epcis(object_event(step, "", epcs))
}

/// Wraps an event as an action.
pub fn epcis(e: pb::EpcisEvent) -> Action {
    Action::EpcisEvent(e)
}

/// `e` with `event_id`.
pub fn with_id(mut e: pb::EpcisEvent, event_id: &str) -> pb::EpcisEvent {
    e.event_id = event_id.into();
    e
}

/// An error declaration of event `event_id` (restating `e`).
pub fn declare_error(e: pb::EpcisEvent, event_id: &str) -> Action {
    let mut e = with_id(e, event_id);
    e.error_declaration = Some(pb::ErrorDeclaration {
        declaration_time: Some(prost_types::Timestamp { seconds: EVENT_TIME_SECS + 60, nanos: 0 }),
        reason: "incorrect_data".into(),
        ..Default::default()
    });
    epcis(e)
}

// --- Governance --------------------------------------------------------------

/// ProposeGovernance `id` of `action`.
pub fn propose(id: &str, action: Gov) -> Action {
    Action::ProposeGovernance(pb::ProposeGovernance {
        proposal_id: id.into(),
        action: Some(pb::GovernanceAction { action: Some(action) }),
        rationale: "fixture".into(),
    })
}

/// ApproveGovernance of proposal `id`.
pub fn approve(id: &str) -> Action {
    Action::ApproveGovernance(pb::ApproveGovernance { proposal_id: id.into() })
}

/// RegisterParty of a new party `id` with `roles`, its [`party_key`] and
/// `prefixes`.
pub fn register_party(id: &str, roles: &[pb::PartyRole], prefixes: &[&str]) -> Gov {
    let mut p = founding_party(id, roles, prefixes);
    p.status = 0;
    p.signing_keys[0].status = 0;
    Gov::RegisterParty(pb::RegisterParty { party: Some(p) })
}

/// ChangeValidators: `peer` becomes party `id`'s validator (empty: none).
pub fn assign_validator(id: &str, peer: &str) -> Gov {
    Gov::ChangeValidators(pb::ChangeValidators {
        assignments: vec![pb::ValidatorAssignment { party_id: id.into(), peer_id: peer.into() }],
    })
}

/// SuspendParty `id`.
pub fn suspend(id: &str) -> Gov {
    Gov::SuspendParty(pb::SuspendParty { party_id: id.into(), reason: "fixture suspension".into() })
}

/// ReinstateParty `id`.
pub fn reinstate(id: &str) -> Gov {
    Gov::ReinstateParty(pb::ReinstateParty { party_id: id.into(), reason: "fixture reinstatement".into() })
}

/// RevokeSigningKey of `key`'s public key.
pub fn revoke_key(key: &SecretKey) -> Action {
    Action::RevokeSigningKey(pb::RevokeSigningKey {
        public_key: key.public().to_bytes().to_vec(),
        reason: "rotation".into(),
    })
}

/// Runs governance `action` through the fixture quorum: `admin-a`
/// proposes, `admin-b` approves. Returns the approval's receipt.
pub fn govern(net: &mut Network, proposal_id: &str, action: Gov) -> Receipt {
    net.ok("admin-a", propose(proposal_id, action));
    net.submit("admin-b", approve(proposal_id))
}

// --- Assurance and scans -----------------------------------------------------

/// A Recall `id` of all of `gtin`, effective at once.
pub fn recall(id: &str, gtin: &str) -> Action {
    Action::Recall(pb::Recall {
        recall_id: id.into(),
        gtin: gtin.into(),
        reason: "fixture defect".into(),
        severity: pb::RecallSeverity::High as i32,
        ..Default::default()
    })
}

/// CloseRecall `id`.
pub fn close_recall(id: &str) -> Action {
    Action::CloseRecall(pb::CloseRecall { recall_id: id.into(), reason: "fixed".into() })
}

/// A conformant CE Attestation `id` on `gtin`.
pub fn attestation(id: &str, gtin: &str) -> pb::Attestation {
    pb::Attestation {
        attestation_id: id.into(),
        scheme: pb::CertificationScheme::Ce as i32,
        certificate_number: format!("CE-{id}"),
        result: pb::AttestationResult::Conformant as i32,
        subject_gtins: vec![gtin.into()],
        valid_from: Some(prost_types::Timestamp { seconds: EVENT_TIME_SECS, nanos: 0 }),
        ..Default::default()
    }
}

/// A correct-code ConsumerScan of GTIN + serial at `place`.
pub fn scan(gtin: &str, serial: &str, place: pb::Place) -> Action {
    Action::ConsumerScan(pb::ConsumerScan {
        item: Some(pb::GtinSerial { gtin: gtin.into(), serial: serial.into() }),
        code_check: pb::CodeCheck::Matched as i32,
        verdict: pb::Verdict::GenuineFirstScan as i32,
        place: Some(place),
        channel: "fixture".into(),
        ..Default::default()
    })
}

/// A CodeAttempt on GTIN + serial for verification `request_id`, with the
/// label token if given.
pub fn attempt(gtin: &str, serial: &str, request_id: &str, token: Option<&[u8]>) -> Action {
    Action::CodeAttempt(pb::CodeAttempt {
        item: Some(pb::GtinSerial { gtin: gtin.into(), serial: serial.into() }),
        request_id: request_id.as_bytes().to_vec(),
        label_token: token.map(<[u8]>::to_vec).unwrap_or_default(),
    })
}

/// A consumer scan (matched code) recording verification `request_id`
/// with the label `token`, spending its own guess, with `verdict` and
/// `signals`, as a node signs one for VerifyItem.
pub fn consumer_scan(
    gtin: &str,
    serial: &str,
    request_id: &str,
    token: Option<&[u8]>,
    place: pb::Place,
    verdict: pb::Verdict,
    signals: Vec<String>,
) -> Action {
    Action::ConsumerScan(pb::ConsumerScan {
        item: Some(pb::GtinSerial { gtin: gtin.into(), serial: serial.into() }),
        code_check: pb::CodeCheck::Matched as i32,
        verdict: verdict as i32,
        place: Some(place),
        channel: "fixture".into(),
        request_id: request_id.as_bytes().to_vec(),
        label_token: token.map(<[u8]>::to_vec).unwrap_or_default(),
        clone_signals: signals,
        ..Default::default()
    })
}

/// A place in `country`/`city` at (`lat`, `lon`).
pub fn place(country: &str, city: &str, lat: f64, lon: f64) -> pb::Place {
    pb::Place {
        country: country.into(),
        city: city.into(),
        latitude: Some(lat),
        longitude: Some(lon),
        accuracy_meters: 0,
    }
}
