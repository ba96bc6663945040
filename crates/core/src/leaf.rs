//! Ledger leaves: an envelope plus its commit metadata, encoded
//! unambiguously for hashing into the Merkle tree.
//!
//! Layout (version 1), all integers big-endian:
//!
//! | field          | bytes |
//! |----------------|-------|
//! | version = 1    | 1     |
//! | leaf_index     | 8     |
//! | log_index      | 8     |
//! | batch_position | 4     |
//! | commit_time_ms | 8 (signed) |
//! | shard_id       | 4     |
//! | envelope_len   | 4     |
//! | envelope bytes | envelope_len |
//!
//! Fixed-width fields and one trailing length-prefixed field make the
//! encoding injective: two different leaves never share bytes, so never
//! share a leaf hash. The version byte lets the format evolve; readers
//! refuse versions they do not know.

use crate::Hash;
use crate::merkle;

/// Current leaf encoding version.
pub const LEAF_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 8 + 4 + 8 + 4 + 4;

/// An envelope as committed: where and when it entered the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRecord {
    /// Position in the Merkle tree (0-based).
    pub leaf_index: u64,
    /// Index of the ordered batch (Raft entry) that carried it.
    pub log_index: u64,
    /// Position of the envelope inside that batch.
    pub batch_position: u32,
    /// Commit time from the batch header, unix milliseconds.
    pub commit_time_ms: i64,
    /// Shard of the log (0 until the log is sharded).
    pub shard_id: u32,
    /// The canonical envelope bytes.
    pub envelope: Vec<u8>,
}

/// Why stored leaf bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// Shorter than the fixed header.
    #[error("leaf record is {len} bytes, shorter than its {HEADER_LEN}-byte header")]
    Truncated {
        /// Bytes found.
        len: usize,
    },
    /// A version this code does not know.
    #[error("leaf record version {version} is not supported")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// The length field disagrees with the bytes present.
    #[error("leaf record says the envelope has {declared} bytes, {present} are present")]
    LengthMismatch {
        /// Length in the header.
        declared: u64,
        /// Bytes after the header.
        present: usize,
    },
}

impl LeafRecord {
    /// The unambiguous encoding that is stored and hashed.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.envelope.len());
        out.push(LEAF_VERSION);
        out.extend_from_slice(&self.leaf_index.to_be_bytes());
        out.extend_from_slice(&self.log_index.to_be_bytes());
        out.extend_from_slice(&self.batch_position.to_be_bytes());
        out.extend_from_slice(&self.commit_time_ms.to_be_bytes());
        out.extend_from_slice(&self.shard_id.to_be_bytes());
        // Envelopes are bounded far below 4 GiB (MAX_ENVELOPE_BYTES).
        out.extend_from_slice(&(self.envelope.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.envelope);
        out
    }

    /// Reads stored bytes, refusing anything but an exact encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        if bytes.len() < HEADER_LEN {
            return Err(LeafError::Truncated { len: bytes.len() });
        }
        if bytes[0] != LEAF_VERSION {
            return Err(LeafError::UnknownVersion { version: bytes[0] });
        }
        let u64_at = |at: usize| u64::from_be_bytes(arr(&bytes[at..at + 8]));
        let u32_at = |at: usize| u32::from_be_bytes(arr(&bytes[at..at + 4]));
        let declared = u64::from(u32_at(33));
        let present = bytes.len() - HEADER_LEN;
        if declared != present as u64 {
            return Err(LeafError::LengthMismatch { declared, present });
        }
        Ok(LeafRecord {
            leaf_index: u64_at(1),
            log_index: u64_at(9),
            batch_position: u32_at(17),
            commit_time_ms: u64_at(21) as i64,
            shard_id: u32_at(29),
            envelope: bytes[HEADER_LEN..].to_vec(),
        })
    }

    /// The Merkle leaf hash of this record.
    pub fn hash(&self) -> Hash {
        merkle::leaf_hash(&self.encode())
    }
}

fn arr<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LeafRecord {
        LeafRecord {
            leaf_index: 7,
            log_index: 3,
            batch_position: 2,
            commit_time_ms: 1_700_000_000_000,
            shard_id: 0,
            envelope: b"env".to_vec(),
        }
    }

    #[test]
    fn round_trip() {
        let r = sample();
        assert_eq!(LeafRecord::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(LeafRecord::decode(&bytes[..n]).is_err(), "truncated to {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(LeafRecord::decode(&longer), Err(LeafError::LengthMismatch { .. })));
        let mut v2 = bytes;
        v2[0] = 2;
        assert_eq!(LeafRecord::decode(&v2), Err(LeafError::UnknownVersion { version: 2 }));
    }

    #[test]
    fn metadata_is_bound_into_the_hash() {
        let a = sample();
        let mut b = sample();
        b.commit_time_ms += 1;
        assert_ne!(a.hash(), b.hash());
    }
}
