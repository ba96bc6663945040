//! Column families, key encodings and versioned values of the ledger.
//!
//! | column family | key                                  | value |
//! |---------------|--------------------------------------|-------|
//! | `meta`        | `b"applied"`                         | [`AppliedState`] (versioned) |
//! |               | `b"genesis"`                         | `veritrace.v1.Genesis` bytes |
//! |               | `b"state_format"`                    | one byte: 2 = state values sealed (`state::seal`) |
//! | `leaves`      | leaf index (u64 BE)                  | `LeafRecord` encoding (versioned) |
//! | `merkle`      | `NodeId::to_key` (level, index BE)   | 32-byte perfect-subtree hash |
//! | `idx_envelope`| envelope id (32)                     | leaf index (u64 BE) |
//! | `idx_nonce`   | party (len-prefixed) ‖ nonce (u64 BE)| leaf index ‖ payload hash |
//! | `idx_party`   | party (len-prefixed) ‖ leaf (u64 BE) | empty |
//! | `idx_item`    | object key (len-prefixed) ‖ leaf (BE)| empty, or the URI of the container it travelled in |
//! | `idx_gtin`    | GTIN (len-prefixed) ‖ leaf (BE)      | empty |
//! | `state`       | kind prefix ‖ id (see `state::keys`) | domain records (versioned) ‖ 16-byte integrity tag |
//!
//! Big-endian integers keep keys in numeric order, so scans run in log
//! order. Length prefixes (u16 BE) keep one party's or item's keys from
//! running into another's.

use veritrace_core::Hash;

/// Ledger metadata.
pub const CF_META: &str = "meta";
/// Leaf records by leaf index.
pub const CF_LEAVES: &str = "leaves";
/// Perfect Merkle subtree hashes.
pub const CF_MERKLE: &str = "merkle";
/// Envelope id to leaf index.
pub const CF_IDX_ENVELOPE: &str = "idx_envelope";
/// (party, nonce) to leaf index and payload hash.
pub const CF_IDX_NONCE: &str = "idx_nonce";
/// (party, leaf) for a party's history.
pub const CF_IDX_PARTY: &str = "idx_party";
/// (item, leaf) for an item's history.
pub const CF_IDX_ITEM: &str = "idx_item";
/// Domain state (parties, products, items, ...; see `state::keys`).
pub const CF_STATE: &str = "state";
/// (GTIN, leaf) for a product's history.
pub const CF_IDX_GTIN: &str = "idx_gtin";

/// Every column family the ledger uses, in snapshot order. The order is
/// part of the snapshot format: append only.
pub const ALL_CFS: &[&str] =
    &[CF_META, CF_STATE, CF_LEAVES, CF_MERKLE, CF_IDX_ENVELOPE, CF_IDX_NONCE, CF_IDX_PARTY, CF_IDX_ITEM, CF_IDX_GTIN];

/// Key of the applied-state record in `meta`.
pub const KEY_APPLIED: &[u8] = b"applied";
/// Key of the genesis document in `meta`.
pub const KEY_GENESIS: &[u8] = b"genesis";

const APPLIED_VERSION: u8 = 1;
const APPLIED_LEN: usize = 1 + 8 + 8 + 32 + 8;

/// What the ledger has applied: written in the same atomic batch as the
/// state it describes, so it can never run ahead of or behind that state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppliedState {
    /// Index of the last applied batch (0 = none).
    pub applied_index: u64,
    /// Number of leaves.
    pub tree_size: u64,
    /// Merkle root over those leaves.
    pub root: Hash,
    /// Commit time of the last applied batch, unix ms.
    pub last_commit_time_ms: i64,
}

impl AppliedState {
    /// Versioned encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(APPLIED_LEN);
        v.push(APPLIED_VERSION);
        v.extend_from_slice(&self.applied_index.to_be_bytes());
        v.extend_from_slice(&self.tree_size.to_be_bytes());
        v.extend_from_slice(self.root.as_bytes());
        v.extend_from_slice(&self.last_commit_time_ms.to_be_bytes());
        v
    }

    /// Decodes, or `None` for a wrong length or unknown version.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != APPLIED_LEN || b[0] != APPLIED_VERSION {
            return None;
        }
        Some(AppliedState {
            applied_index: u64::from_be_bytes(b[1..9].try_into().ok()?),
            tree_size: u64::from_be_bytes(b[9..17].try_into().ok()?),
            root: Hash::from_slice(&b[17..49]).ok()?,
            last_commit_time_ms: i64::from_be_bytes(b[49..57].try_into().ok()?),
        })
    }
}

/// `len (u16 BE) ‖ bytes`: a prefix no other value's prefix can extend.
/// Values longer than u16::MAX are cut (ids are validated far shorter).
pub fn len_prefixed(bytes: &[u8]) -> Vec<u8> {
    let len = bytes.len().min(usize::from(u16::MAX));
    let mut v = Vec::with_capacity(2 + len + 8);
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.extend_from_slice(&bytes[..len]);
    v
}

/// `prefix ‖ n (u64 BE)`.
pub fn with_u64(mut prefix: Vec<u8>, n: u64) -> Vec<u8> {
    prefix.extend_from_slice(&n.to_be_bytes());
    prefix
}

/// Reads a trailing u64 BE from a key or value.
pub fn trailing_u64(b: &[u8]) -> Option<u64> {
    let start = b.len().checked_sub(8)?;
    Some(u64::from_be_bytes(b[start..].try_into().ok()?))
}

/// Reads a leading u64 BE.
pub fn leading_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_state_round_trip_and_rejects() {
        let s = AppliedState { applied_index: 9, tree_size: 4, root: Hash::digest(b"x"), last_commit_time_ms: -1 };
        assert_eq!(AppliedState::decode(&s.encode()), Some(s));
        let mut bad = s.encode();
        bad[0] = 9;
        assert_eq!(AppliedState::decode(&bad), None);
        assert_eq!(AppliedState::decode(&s.encode()[..10]), None);
    }

    #[test]
    fn length_prefix_separates_neighbours() {
        // "ab" ‖ leaf must not sort inside "a" ‖ leaf's range.
        let a = len_prefixed(b"a");
        let ab = len_prefixed(b"ab");
        assert!(!ab.starts_with(&a));
    }
}
