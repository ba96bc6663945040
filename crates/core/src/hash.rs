//! The 32-byte blake3 digest used for ids, leaves and tree nodes.

use std::fmt;

/// A 32-byte blake3 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

/// Length in bytes of a [`Hash`].
pub const HASH_LEN: usize = 32;

/// A byte string that should have been a 32-byte hash was not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hash is 32 bytes, got {len}")]
pub struct BadHashLength {
    /// The length that was found.
    pub len: usize,
}

impl Hash {
    /// blake3 of `data`.
    pub fn digest(data: &[u8]) -> Self {
        Hash(*blake3::hash(data).as_bytes())
    }

    /// Reads a hash from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, BadHashLength> {
        <[u8; 32]>::try_from(bytes).map(Hash).map_err(|_| BadHashLength { len: bytes.len() })
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self, BadHashLength> {
        let bytes = hex::decode(s).map_err(|_| BadHashLength { len: s.len() / 2 })?;
        Self::from_slice(&bytes)
    }
}

impl From<blake3::Hash> for Hash {
    fn from(h: blake3::Hash) -> Self {
        Hash(*h.as_bytes())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", &self.to_hex()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_length_errors() {
        let h = Hash::digest(b"abc");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_slice(&[0u8; 31]), Err(BadHashLength { len: 31 }));
        assert!(Hash::from_hex("zz").is_err());
    }
}
