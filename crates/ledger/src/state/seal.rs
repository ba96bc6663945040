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
//! written before sealing (no such key) is sealed once, in one atomic
//! write, when it is opened ([`seal_unsealed_store`]); a snapshot from such
//! a store is sealed as it is imported.

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
    LedgerError::Corrupt { what: format!("state record {} {what}", printable(key)) }
}

/// A key for an error message: text where it is text, hex elsewhere.
fn printable(key: &[u8]) -> String {
    key.iter().map(|b| if b.is_ascii_graphic() { char::from(*b).to_string() } else { format!("\\x{b:02x}") }).collect()
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

/// Seals every value of a store written before sealing, and records the
/// format, in one atomic, synced write (a crash leaves the store wholly
/// old or wholly new). Refuses a format this build does not know.
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
    let mut sealed = 0u64;
    for kv in engine.scan(CF_STATE, &[], None)? {
        let (k, v) = kv?;
        batch.put(CF_STATE, k.to_vec(), seal(&k, v.to_vec()));
        sealed += 1;
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
    fn the_error_names_the_record() {
        let e = open(b"item/\x00\x01", b"short").expect_err("too short").to_string();
        assert!(e.contains("item/\\x00\\x01") && e.contains("shorter than its tag"), "{e}");
    }
}
