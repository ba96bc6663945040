//! Read-time integrity of the `state` column family.
//!
//! Leaves are covered by the Merkle tree; the domain state derived from
//! them (parties, items, proposals, ...) is not, and a node serves verdicts
//! from it. So every value stored in `state` carries a tag: the first
//! [`TAG_LEN`] bytes of a BLAKE3 hash, in its own derive-key domain, over
//! the key's length, the key and the payload. Values are sealed where they
//! enter the engine ([`crate::state::Overlay::drain_into`], the genesis)
//! and opened where they leave it; a value that fails its tag is a
//! `Corrupt` error, never an answer. Binding the key catches a record
//! copied to another key as well as flipped bits and truncation.
//!
//! What the tag does not catch: a record deleted outright (it reads as
//! absent), and anyone able to write the store who also recomputes tags
//! (the tag has no secret: it guards against a disk that lies, not a
//! node operator who does; co-signed tree heads and offline receipts are
//! the guard against the latter).
//!
//! The format is recorded in `meta` under [`KEY_STATE_FORMAT`]. A store
//! written before sealing (no such key) is sealed when it is opened
//! ([`seal_unsealed_store`]), value by value in bounded batches, the marker
//! last; a snapshot from such a store (snapshot format 1) is sealed as it
//! is imported. Older builds refuse format-2 snapshots (their magic
//! differs), so a sealed value never reaches code that would read the tag
//! as data. There is no way back: a store opened by this build is not for
//! an older one.

use veritrace_storage::{KvEngine, WriteBatch, WriteOptions};

use crate::LedgerError;
use crate::schema::{CF_META, CF_STATE};

/// Bytes of the tag appended to every state value.
pub(crate) const TAG_LEN: usize = 16;

/// Key in `meta` of the state format.
pub(crate) const KEY_STATE_FORMAT: &[u8] = b"state_format";

/// The format this build writes: values sealed with a tag.
pub(crate) const STATE_FORMAT_SEALED: u8 = 2;

const DOMAIN: &str = "veritrace 2026-12 state record seal v1";

fn tag(key: &[u8], payload: &[u8]) -> [u8; TAG_LEN] {
    let mut h = blake3::Hasher::new_derive_key(DOMAIN);
    h.update(&(key.len() as u64).to_be_bytes());
    h.update(key);
    h.update(payload);
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&h.finalize().as_bytes()[..TAG_LEN]);
    out
}

/// `payload ‖ tag(key, payload)`: what the engine stores under `key`.
pub(crate) fn seal(key: &[u8], mut payload: Vec<u8>) -> Vec<u8> {
    let t = tag(key, &payload);
    payload.extend_from_slice(&t);
    payload
}

/// The payload of a stored value, once its tag checks.
pub(crate) fn open<'a>(key: &[u8], stored: &'a [u8]) -> Result<&'a [u8], LedgerError> {
    let Some(split) = stored.len().checked_sub(TAG_LEN) else {
        return Err(corrupt(key, "shorter than its tag"));
    };
    let (payload, t) = stored.split_at(split);
    if tag(key, payload) != t {
        return Err(corrupt(key, "fails its integrity tag (a changed or truncated value)"));
    }
    Ok(payload)
}

fn corrupt(key: &[u8], what: &str) -> LedgerError {
    LedgerError::Corrupt { what: format!("state record {} {what}", name(key)) }
}

/// A key for an error message that any client may see: its kind (the
/// text before the first `/`) and a short hash, never the ids it holds
/// (another party's keys, business transactions).
fn name(key: &[u8]) -> String {
    let kind: String = key
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
        .take(24)
        .map(|b| char::from(*b))
        .collect();
    let kind = if kind.is_empty() { "?" } else { kind.as_str() };
    format!("{kind}/#{}", &blake3::hash(key).to_hex()[..12])
}

/// The state format `engine` records: `None` for a store written before
/// sealing.
pub(crate) fn stored_format<E: KvEngine>(engine: &E) -> Result<Option<u8>, LedgerError> {
    match engine.get(CF_META, KEY_STATE_FORMAT)? {
        None => Ok(None),
        Some(v) if v.len() == 1 => Ok(Some(v[0])),
        Some(_) => Err(LedgerError::Corrupt { what: "state format record is not one byte".into() }),
    }
}

/// Puts the format marker into `batch`.
pub(crate) fn mark_sealed(batch: &mut WriteBatch) {
    batch.put(CF_META, KEY_STATE_FORMAT.to_vec(), vec![STATE_FORMAT_SEALED]);
}

/// Bytes of state values sealed per write while a store is sealed.
const SEAL_BATCH_BYTES: usize = 4 << 20;

/// Seals every value of a store written before sealing, in synced batches
/// of about [`SEAL_BATCH_BYTES`], then records the format. A value that
/// already passes its tag is left alone, so a crash part way leaves a
/// store this resumes (a raw value passes a tag by chance with
/// probability 2^-128). Refuses a format this build does not know.
pub(crate) fn seal_unsealed_store<E: KvEngine>(engine: &E) -> Result<(), LedgerError> {
    match stored_format(engine)? {
        Some(STATE_FORMAT_SEALED) => return Ok(()),
        Some(other) => {
            return Err(LedgerError::Corrupt {
                what: format!("state format {other} is unknown to this build (it writes {STATE_FORMAT_SEALED})"),
            });
        }
        None => {}
    }
    let mut batch = WriteBatch::new();
    let (mut sealed, mut bytes) = (0u64, 0usize);
    for kv in engine.scan(CF_STATE, &[], None)? {
        let (k, v) = kv?;
        if open(&k, &v).is_ok() {
            continue;
        }
        bytes += k.len() + v.len() + TAG_LEN;
        batch.put(CF_STATE, k.to_vec(), seal(&k, v.to_vec()));
        sealed += 1;
        if bytes >= SEAL_BATCH_BYTES {
            engine.write(std::mem::take(&mut batch), WriteOptions::SYNC)?;
            bytes = 0;
        }
    }
    mark_sealed(&mut batch);
    engine.write(batch, WriteOptions::SYNC)?;
    tracing::info!(records = sealed, "state column family sealed (format {STATE_FORMAT_SEALED})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_and_any_change_is_caught() {
        let stored = seal(b"party/acme", b"payload".to_vec());
        assert_eq!(open(b"party/acme", &stored).expect("opens"), b"payload");
        for i in 0..stored.len() {
            for bit in 0..8 {
                let mut flipped = stored.clone();
                flipped[i] ^= 1 << bit;
                assert!(open(b"party/acme", &flipped).is_err(), "flip of byte {i} bit {bit} passed");
            }
        }
        for len in 0..stored.len() {
            assert!(open(b"party/acme", &stored[..len]).is_err(), "truncation to {len} passed");
        }
        // The same bytes under another key: a record moved, not a record.
        assert!(open(b"party/evil", &stored).is_err());
    }

    #[test]
    fn the_error_names_the_kind_of_record_not_its_ids() {
        let e = open(b"party/acme-secret-partner", b"short").expect_err("too short").to_string();
        assert!(e.contains("party/#") && e.contains("shorter than its tag"), "{e}");
        assert!(!e.contains("acme"), "{e}");
    }
}
