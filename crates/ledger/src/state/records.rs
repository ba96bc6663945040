//! Domain state records, as stored in the `state` column family.
//!
//! Each is a protobuf message (prost's encoding of these structs is
//! deterministic: no maps, fields in tag order) behind a version byte (see
//! `overlay::encode_record`). Tags are part of the storage format: add
//! fields, never renumber. The API messages of `veritrace.v1` are embedded
//! where the ledger keeps what a party stated.

use veritrace_proto::v1 as pb;

/// Where an object (item or container) stands in the supply chain. Events
/// on a container update its contents' state too, so an item's state is
/// always its own record.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ObjectState {
    /// Party holding the object (brand at commissioning, then each
    /// receiver).
    #[prost(string, tag = "1")]
    pub custodian: String,
    /// Shipped and not yet received.
    #[prost(bool, tag = "2")]
    pub in_transit: bool,
    /// Party that shipped it (while in transit).
    #[prost(string, tag = "3")]
    pub shipped_by: String,
    /// Party the shipment is addressed to, when the shipper named one.
    #[prost(string, tag = "4")]
    pub ship_to: String,
    /// Logistics party that picked it up (while in transit).
    #[prost(string, tag = "5")]
    pub carrier: String,
    /// Declared to customs and not yet cleared.
    #[prost(bool, tag = "6")]
    pub in_customs: bool,
    /// Seized by customs.
    #[prost(bool, tag = "7")]
    pub seized: bool,
    /// Received by a retailer or platform, delivered to a consumer, or sold.
    #[prost(bool, tag = "8")]
    pub reached_retail: bool,
    /// Sold to a consumer.
    #[prost(bool, tag = "9")]
    pub sold: bool,
    /// Key (`EpcId::key_bytes`) of the container it is packed in.
    #[prost(bytes = "vec", tag = "10")]
    pub parent: Vec<u8>,
    /// URI of that container, as first stated.
    #[prost(string, tag = "11")]
    pub parent_uri: String,
    /// Tracking number of the current shipment, if the shipper gave one.
    #[prost(string, tag = "12")]
    pub tracking: String,
    /// The customs party the goods were declared to (while `in_customs`);
    /// empty for goods declared before 0.6, which any customs party may
    /// seize.
    #[prost(string, tag = "13")]
    pub customs_party: String,
}

/// Correct-code scans and wrong-code attempts of an item.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScanRecord {
    /// Correct-code scans.
    #[prost(uint64, tag = "1")]
    pub count: u64,
    /// Commit time of the first correct-code scan.
    #[prost(int64, tag = "2")]
    pub first_ms: i64,
    /// Its place.
    #[prost(message, optional, tag = "3")]
    pub first_place: Option<pb::Place>,
    /// Commit time of the latest correct-code scan.
    #[prost(int64, tag = "4")]
    pub last_ms: i64,
    /// Its place.
    #[prost(message, optional, tag = "5")]
    pub last_place: Option<pb::Place>,
    /// Distinct place keys (`scan::place_key`), first seen first, at most 16.
    #[prost(string, repeated, tag = "6")]
    pub places: Vec<String>,
    /// Distinct countries, first seen first.
    #[prost(string, repeated, tag = "7")]
    pub countries: Vec<String>,
    /// Distinct scanner digests, at most 16.
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub devices: Vec<Vec<u8>>,
    /// Latest scan with a position: commit time, latitude, longitude.
    #[prost(int64, tag = "9")]
    pub fix_ms: i64,
    /// Latitude of that scan.
    #[prost(double, optional, tag = "10")]
    pub fix_lat: Option<f64>,
    /// Longitude of that scan.
    #[prost(double, optional, tag = "11")]
    pub fix_lon: Option<f64>,
    /// Clone signals raised so far (sticky: a copied label stays suspect).
    #[prost(string, repeated, tag = "12")]
    pub signals: Vec<String>,
    /// Wrong-code scans.
    #[prost(uint64, tag = "13")]
    pub invalid_count: u64,
    /// Commit times of the latest wrong-code scans (at most 16), for the
    /// lock-out.
    #[prost(int64, repeated, tag = "14")]
    pub recent_failures_ms: Vec<i64>,
    /// Leaf of the latest correct-code scan.
    #[prost(uint64, tag = "15")]
    pub last_leaf: u64,
    /// Commit time of the correct-code scan before the latest.
    #[prost(int64, tag = "16")]
    pub previous_ms: i64,
    /// Its place.
    #[prost(message, optional, tag = "17")]
    pub previous_place: Option<pb::Place>,
    /// Scans parties reported themselves (no request id): counted apart.
    #[prost(uint64, tag = "18")]
    pub party_reported: u64,
}

/// A commissioned item.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ItemRecord {
    /// GTIN-14.
    #[prost(string, tag = "1")]
    pub gtin: String,
    /// Serial.
    #[prost(string, tag = "2")]
    pub serial: String,
    /// Lot, if any.
    #[prost(string, tag = "3")]
    pub lot: String,
    /// 16-byte code salt.
    #[prost(bytes = "vec", tag = "4")]
    pub salt: Vec<u8>,
    /// 32-byte code digest.
    #[prost(bytes = "vec", tag = "5")]
    pub code_digest: Vec<u8>,
    /// Code policy at commissioning: length.
    #[prost(uint32, tag = "6")]
    pub code_length: u32,
    /// Code policy at commissioning: alphabet (characters).
    #[prost(string, tag = "7")]
    pub code_alphabet: String,
    /// Commissioning party.
    #[prost(string, tag = "8")]
    pub commissioned_by: String,
    /// Leaf of the commissioning.
    #[prost(uint64, tag = "9")]
    pub commissioned_leaf: u64,
    /// `DecommissionReason` (0 = in circulation).
    #[prost(int32, tag = "10")]
    pub decommission_reason: i32,
    /// Leaf of the decommissioning.
    #[prost(uint64, tag = "11")]
    pub decommissioned_leaf: u64,
    /// Supply-chain state.
    #[prost(message, optional, tag = "12")]
    pub state: Option<ObjectState>,
    /// Scans.
    #[prost(message, optional, tag = "13")]
    pub scans: Option<ScanRecord>,
    /// A complaint reported the item as counterfeit.
    #[prost(bool, tag = "14")]
    pub reported_counterfeit: bool,
    /// Expiry date ("YYYY-MM-DD") from commissioning.
    #[prost(string, tag = "15")]
    pub expiry_date: String,
    /// Digest of the label token (`veritrace_core::label_token`); empty
    /// when the label has none.
    #[prost(bytes = "vec", tag = "16")]
    pub label_token_digest: Vec<u8>,
    /// Code attempts of the current window and their totals.
    #[prost(message, optional, tag = "17")]
    pub attempts: Option<AttemptLog>,
    /// The public key of the brand's code key (`codekey/`) when the code
    /// digest is CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1 (then `salt` is
    /// empty); empty for BLAKE3_V1.
    #[prost(bytes = "vec", tag = "18")]
    pub code_key: Vec<u8>,
}

/// A brand's code key as stored (`codekey/`), with the brand that
/// registered it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CodeKeyRecord {
    /// The key's public parts, as first registered.
    #[prost(message, optional, tag = "1")]
    pub key: Option<veritrace_proto::v1::ThresholdCodeKey>,
    /// The brand it belongs to.
    #[prost(string, tag = "2")]
    pub brand_party_id: String,
}

/// An item's code attempts (`CodeAttempt`): those of the current window,
/// for the guess budget and for one scan per request id, and totals.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttemptLog {
    /// Attempts younger than the window, oldest first, at most
    /// `MAX_ATTEMPTS_PER_WINDOW`.
    #[prost(message, repeated, tag = "1")]
    pub recent: Vec<AttemptRecord>,
    /// Attempts ever counted.
    #[prost(uint64, tag = "2")]
    pub total: u64,
    /// Of those, matched by a consumer scan.
    #[prost(uint64, tag = "3")]
    pub matched: u64,
}

/// One counted code attempt.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttemptRecord {
    /// The verification's request id.
    #[prost(bytes = "vec", tag = "1")]
    pub request_id: Vec<u8>,
    /// Commit time of the attempt.
    #[prost(int64, tag = "2")]
    pub time_ms: i64,
    /// The party (node operator) that counted it.
    #[prost(string, tag = "3")]
    pub party_id: String,
    /// A consumer scan recorded the code as matched.
    #[prost(bool, tag = "4")]
    pub matched: bool,
    /// Leaf of that scan, when matched.
    #[prost(uint64, tag = "5")]
    pub scan_leaf: u64,
    /// Envelope id of the CodeAttempt (a scan names it; a replay of the
    /// same envelope is refused).
    #[prost(bytes = "vec", tag = "6")]
    pub attempt_id: Vec<u8>,
}

/// A container (SSCC or other logistic unit) that objects were packed into.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContainerRecord {
    /// URI as first stated.
    #[prost(string, tag = "1")]
    pub uri: String,
    /// Supply-chain state.
    #[prost(message, optional, tag = "2")]
    pub state: Option<ObjectState>,
    /// Keys of the objects packed in it now.
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub children: Vec<Vec<u8>>,
    /// Decommissioned (destroyed, seized) with everything in it.
    #[prost(int32, tag = "4")]
    pub decommission_reason: i32,
}

/// A registered product class.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProductRecord {
    /// The latest registration.
    #[prost(message, optional, tag = "1")]
    pub product: Option<pb::RegisterProduct>,
    /// Party that signed the first registration.
    #[prost(string, tag = "2")]
    pub registered_by: String,
    /// Commit time of the first registration.
    #[prost(int64, tag = "3")]
    pub registered_ms: i64,
}

/// A lot-wide decommissioning.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LotRecord {
    /// `DecommissionReason`.
    #[prost(int32, tag = "1")]
    pub decommission_reason: i32,
    /// Leaf of the decommissioning.
    #[prost(uint64, tag = "2")]
    pub leaf: u64,
}

/// A manufacturer authorization granted by a brand.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthorizationRecord {
    /// Granting brand.
    #[prost(string, tag = "1")]
    pub brand: String,
    /// The grant as signed.
    #[prost(message, optional, tag = "2")]
    pub grant: Option<pb::AuthorizeManufacturer>,
    /// Start of validity, unix ms.
    #[prost(int64, tag = "3")]
    pub valid_from_ms: i64,
    /// End of validity, unix ms (0 = none).
    #[prost(int64, tag = "4")]
    pub valid_until_ms: i64,
    /// Commit time of the revocation (0 = in force).
    #[prost(int64, tag = "5")]
    pub revoked_ms: i64,
    /// Revocation reason.
    #[prost(string, tag = "6")]
    pub revoke_reason: String,
}

/// The authorizations a manufacturer holds.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthorizationList {
    /// In grant order.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<AuthorizationRecord>,
}

/// A recall.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RecallRecord {
    /// As issued.
    #[prost(message, optional, tag = "1")]
    pub recall: Option<pb::Recall>,
    /// Issuing party.
    #[prost(string, tag = "2")]
    pub issuer: String,
    /// Commit time of the recall.
    #[prost(int64, tag = "3")]
    pub record_ms: i64,
    /// In force from (max of effective time and commit), unix ms.
    #[prost(int64, tag = "4")]
    pub effective_ms: i64,
    /// Commit time of the closing (0 = open).
    #[prost(int64, tag = "5")]
    pub closed_ms: i64,
    /// Why it was closed.
    #[prost(string, tag = "6")]
    pub close_reason: String,
    /// Envelope id of the recall.
    #[prost(bytes = "vec", tag = "7")]
    pub envelope_id: Vec<u8>,
}

/// An attestation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttestationRecord {
    /// As signed.
    #[prost(message, optional, tag = "1")]
    pub attestation: Option<pb::Attestation>,
    /// Signing party.
    #[prost(string, tag = "2")]
    pub signer: String,
    /// Commit time.
    #[prost(int64, tag = "3")]
    pub record_ms: i64,
    /// Commit time of the revocation (0 = not revoked).
    #[prost(int64, tag = "4")]
    pub revoked_ms: i64,
    /// Revocation reason.
    #[prost(string, tag = "5")]
    pub revoke_reason: String,
    /// Envelope id of the attestation.
    #[prost(bytes = "vec", tag = "6")]
    pub envelope_id: Vec<u8>,
}

/// References (`party \0 id`) of recalls or attestations on one GTIN or
/// party, in log order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RefList {
    /// The references.
    #[prost(string, repeated, tag = "1")]
    pub refs: Vec<String>,
}

/// An EPCIS event id recorded in the ledger.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EventRecord {
    /// Party that recorded it.
    #[prost(string, tag = "1")]
    pub party: String,
    /// Its leaf.
    #[prost(uint64, tag = "2")]
    pub leaf: u64,
    /// Leaf of the error declaration that retracted it (0 = none).
    #[prost(uint64, tag = "3")]
    pub retracted_leaf: u64,
}

/// A carrier tracking number and whether its carrier confirmed it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TrackingRecord {
    /// Carrier named in the number (`urn:veritrace:tracking:{carrier}:...`).
    #[prost(string, tag = "1")]
    pub carrier: String,
    /// Party that shipped under it.
    #[prost(string, tag = "2")]
    pub shipper: String,
    /// Leaf of the shipping event.
    #[prost(uint64, tag = "3")]
    pub shipped_leaf: u64,
    /// The named carrier signed a pickup or delivery for it.
    #[prost(bool, tag = "4")]
    pub confirmed: bool,
    /// Leaf of the first confirming event.
    #[prost(uint64, tag = "5")]
    pub confirmed_leaf: u64,
}

/// A party's suspensions, oldest first.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SuspensionList {
    /// The suspensions.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<pb::Suspension>,
}
