//! The GS1 CBV 2.0 event hash id, `ni:///sha-256;{hex}?ver=CBV2.0`.
//!
//! Profile R: the layout of the reference implementation whose test
//! vectors are the only published ones (`RalphTro/epcis-event-hash-generator`
//! @ 5d2f1c3, Python), as specified in `docs/event-hash-spec.md` §1-§7:
//!
//! * a pre-hash string ([`pre_hash`]): `eventType=...`, the fields of a fixed
//!   order (`eventTime` ... `sensorElementList`), then the business
//!   transaction, source and destination lists, ILMD and user extensions,
//!   each rendered whole and sorted;
//! * values canonical: times in UTC to the millisecond, numbers as Python
//!   prints them, CBV vocabulary as Web URIs, GS1 identifiers as Digital
//!   Link URIs on `id.gs1.org`, extension names as `{namespace}local`;
//! * `eventID`, `recordTime` and `errorDeclaration` never hashed.
//!
//! So an event gets the same id whichever way it was written (EPC URN or
//! Digital Link, bare CBV word, URN or Web URI). Where R has bugs that make
//! equal events hash differently, this follows the spec's fixes instead
//! (§7): booleans in lower case, sub-millisecond digits rounded half up
//! with carry, any namespaced member inside readPoint / bizLocation /
//! sensor data is an extension, `type` before the id in list entries, bare
//! strings expanded only in their own field, empty objects omitted.
//!
//! The hash sees the stored [`pb::EpcisEvent`], not the JSON text: what the
//! importer does not keep (the order of members, the offset written inside
//! a time string, nanosecond digits beyond the ninth) cannot matter.

mod digital_link;
mod extensions;
mod identifiers;
mod prehash;
mod sensors;
mod values;
mod vocabulary;

use veritrace_proto::v1 as pb;

/// Why an event has no hash id: it lacks what the pre-hash needs (event
/// type, eventTime), or holds what it cannot write (a non-finite number, an
/// unknown action, a time out of range). Events the importer produces
/// always have one.
#[derive(Debug, thiserror::Error)]
#[error("event hash: {0}")]
pub struct HashError(String);

impl HashError {
    fn new(reason: impl Into<String>) -> Self {
        HashError(reason.into())
    }
}

/// Whether `word` is a bare CBV 2.0 business step (`shipping`).
pub fn is_cbv_biz_step(word: &str) -> bool {
    vocabulary::Vocabulary::BizStep.has_term(word)
}

/// Whether `word` is a bare CBV 2.0 disposition (`in_transit`).
pub fn is_cbv_disposition(word: &str) -> bool {
    vocabulary::Vocabulary::Disposition.has_term(word)
}

/// The event's pre-hash string (spec §2), the text whose SHA-256 the hash id
/// is. For tests and debugging.
pub fn pre_hash(event: &pb::EpcisEvent) -> Result<String, HashError> {
    prehash::build(event)
}

/// Gives `event` its hash id as its eventID when it has none (what a
/// capture records and a query shows), so the same event has the same id
/// wherever it was captured. An event with an eventID keeps it.
pub fn with_event_id(event: &mut pb::EpcisEvent) -> Result<(), HashError> {
    if event.event_id.is_empty() {
        event.event_id = event_hash_id(event)?;
    }
    Ok(())
}

/// The event's CBV 2.0 hash id, `ni:///sha-256;{64 lower-case hex}?ver=CBV2.0`.
pub fn event_hash_id(event: &pb::EpcisEvent) -> Result<String, HashError> {
    use sha2::Digest as _;
    let text = pre_hash(event)?;
    Ok(format!("ni:///sha-256;{}?ver=CBV2.0", hex::encode(sha2::Sha256::digest(text.as_bytes()))))
}
