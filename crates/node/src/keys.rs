//! Key files: a 32-byte ed25519 seed as lowercase hex and a newline,
//! readable by its owner only (mode 0600).
//!
//! The same format holds a node's libp2p identity ([`node_keypair`],
//! [`peer_id_of`]) and a party's signing key ([`party_key`]). Error
//! messages name the file and never contain the secret.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::Rng;
use veritrace_core::SecretKey;
use veritrace_net::{Keypair, PeerId};

/// Length of a seed, in bytes.
pub const SEED_LEN: usize = 32;

/// Why a key file cannot be written or read, or a seed not turned into a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Writing would replace an existing file.
    #[error("key file {} already exists; refusing to overwrite it", .path.display())]
    AlreadyExists {
        /// The key file.
        path: PathBuf,
    },
    /// The key file does not exist.
    #[error("key file {} does not exist", .path.display())]
    Missing {
        /// The key file.
        path: PathBuf,
    },
    /// Another I/O error.
    #[error("key file {}: {source}", .path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The contents are not hexadecimal text.
    #[error("key file {} is not valid: {reason}", .path.display())]
    BadHex {
        /// The key file.
        path: PathBuf,
        /// What is wrong, without the file's contents.
        reason: &'static str,
    },
    /// The contents decode to the wrong number of bytes.
    #[error("key file {} holds {len} bytes, expected {SEED_LEN}", .path.display())]
    WrongLength {
        /// The key file.
        path: PathBuf,
        /// Bytes found.
        len: usize,
    },
    /// The seed was refused by the key library.
    #[error("invalid ed25519 seed: {reason}")]
    InvalidSeed {
        /// The library's message.
        reason: String,
    },
}

/// A new random seed from the thread-local cryptographic RNG.
pub fn generate_seed() -> [u8; SEED_LEN] {
    let mut seed = [0u8; SEED_LEN];
    rand::rng().fill_bytes(&mut seed);
    seed
}

/// Writes `seed` as lowercase hex and a newline to a new file `path`, mode
/// 0600 on Unix. Refuses to overwrite an existing file.
pub fn write_seed_file(path: &Path, seed: &[u8; SEED_LEN]) -> Result<(), KeyFileError> {
    write_secret_file(path, &format!("{}\n", hex::encode(seed)))
}

/// Writes `text` to a new file `path` readable by its owner only (mode
/// 0600 on Unix), synced; refuses to overwrite an existing file, and
/// leaves no truncated file behind when the write fails. For every secret
/// the node's tools write: seeds, admin tokens.
pub fn write_secret_file(path: &Path, text: &str) -> Result<(), KeyFileError> {
    let io = |source: std::io::Error| KeyFileError::Io { path: path.to_path_buf(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyFileError::AlreadyExists { path: path.to_path_buf() },
        _ => io(e),
    })?;
    let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_all());
    if let Err(e) = written {
        // Do not leave a truncated key behind; the write error is what matters.
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(io(e));
    }
    Ok(())
}

/// Reads a seed written by [`write_seed_file`] (surrounding whitespace is
/// ignored; upper-case hex is accepted).
pub fn read_seed_file(path: &Path) -> Result<[u8; SEED_LEN], KeyFileError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => KeyFileError::Missing { path: path.to_path_buf() },
        _ => KeyFileError::Io { path: path.to_path_buf(), source: e },
    })?;
    let bad = |reason| KeyFileError::BadHex { path: path.to_path_buf(), reason };
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not text"))?.trim();
    if text.is_empty() {
        return Err(bad("empty"));
    }
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("not hexadecimal"));
    }
    if text.len() % 2 != 0 {
        return Err(bad("odd number of hex digits"));
    }
    let decoded = hex::decode(text).map_err(|_| bad("not hexadecimal"))?;
    let len = decoded.len();
    decoded.try_into().map_err(|_| KeyFileError::WrongLength { path: path.to_path_buf(), len })
}

/// The node's libp2p identity for `seed`.
pub fn node_keypair(seed: &[u8; SEED_LEN]) -> Result<Keypair, KeyFileError> {
    // `ed25519_from_bytes` zeroes its argument: give it a copy.
    let mut copy = *seed;
    Keypair::ed25519_from_bytes(&mut copy).map_err(|e| KeyFileError::InvalidSeed { reason: e.to_string() })
}

/// The libp2p `PeerId` of the node whose identity seed is `seed`.
pub fn peer_id_of(seed: &[u8; SEED_LEN]) -> Result<PeerId, KeyFileError> {
    Ok(node_keypair(seed)?.public().to_peer_id())
}

/// The party signing key for `seed`.
pub fn party_key(seed: &[u8; SEED_LEN]) -> Result<SecretKey, KeyFileError> {
    SecretKey::from_bytes(seed).map_err(|e| KeyFileError::InvalidSeed { reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Co-signatures are checked against the key a validator's PeerId
    /// carries (`veritrace_core::cosign::peer_public_key`): it must be the
    /// key that signs the node's tree heads.
    #[test]
    fn the_peer_id_carries_the_tree_head_key() {
        let seed = generate_seed();
        let peer = peer_id_of(&seed).expect("peer id").to_string();
        let head_key = party_key(&seed).expect("key").public();
        assert_eq!(veritrace_core::cosign::peer_public_key(&peer), Some(head_key));
    }

    #[test]
    fn peer_id_and_party_key_are_deterministic() {
        let seed = [7u8; SEED_LEN];
        let peer = peer_id_of(&seed).expect("peer id");
        assert_eq!(peer, peer_id_of(&seed).expect("peer id"));
        assert_ne!(peer, peer_id_of(&[8u8; SEED_LEN]).expect("peer id"));
        assert_eq!(party_key(&seed).expect("party key").to_bytes(), seed);
        assert_ne!(generate_seed(), generate_seed());
    }
}
