//! The CBV 2.0 event hash id (work in progress in this commit).

use veritrace_proto::v1 as pb;

/// Why an event has no hash id.
#[derive(Debug, thiserror::Error)]
#[error("event hash: {0}")]
pub struct HashError(String);

/// The event's CBV 2.0 hash id, `ni:///sha-256;{hex}?ver=CBV2.0`.
pub fn event_hash_id(event: &pb::EpcisEvent) -> Result<String, HashError> {
    use sha2::Digest as _;
    let text = format!("{event:?}");
    Ok(format!("ni:///sha-256;{}?ver=CBV2.0", hex::encode(sha2::Sha256::digest(text.as_bytes()))))
}
