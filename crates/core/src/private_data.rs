//! Private business data: salted commitments on the shared log, clear
//! values only with the parties the submitter names.
//!
//! Competitors share the log. Order, invoice and customs declaration
//! numbers, prices and counterparties go on it as commitments: blake3 over
//! a domain prefix, the field's name and value (length-prefixed) and 32
//! random bytes of salt. Without the salt a commitment says nothing about
//! the value (a guess costs a blake3 per salt candidate: 2^256); with the
//! value and salt anyone can check it ([`verify_disclosure`]), which is how
//! a party later discloses a field to an auditor or a court.

use crate::Hash;

/// Bytes of a private field's salt.
pub const SALT_LEN: usize = 32;
/// Most private fields in one transaction.
pub const MAX_FIELDS: usize = 32;
/// Most parties one transaction names as readers.
pub const MAX_READERS: usize = 16;
/// Longest field name.
pub const MAX_NAME_LEN: usize = 64;

const PREFIX: &[u8] = b"veritrace.v1.PrivateField\0";

/// The commitment to field `name` = `value` under `salt`.
pub fn commit(name: &str, value: &str, salt: &[u8; SALT_LEN]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(PREFIX);
    for part in [name.as_bytes(), value.as_bytes()] {
        hasher.update(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        hasher.update(part);
    }
    hasher.update(salt);
    Hash::from(hasher.finalize())
}

/// Whether `value` and `salt` open `commitment` for field `name`.
pub fn verify_disclosure(commitment: &[u8], name: &str, value: &str, salt: &[u8]) -> bool {
    let Ok(salt) = <[u8; SALT_LEN]>::try_from(salt) else { return false };
    commit(name, value, &salt).as_bytes().as_slice() == commitment
}

/// Checks a field name: 1 to [`MAX_NAME_LEN`] printable ASCII characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("private field name {name:?} must be 1 to {MAX_NAME_LEN} printable ASCII characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disclosure_opens_its_commitment_only() {
        let salt = [7u8; SALT_LEN];
        let c = commit("po", "PO-4711", &salt);
        assert!(verify_disclosure(c.as_bytes(), "po", "PO-4711", &salt));
        assert!(!verify_disclosure(c.as_bytes(), "po", "PO-4712", &salt), "another value");
        assert!(!verify_disclosure(c.as_bytes(), "invoice", "PO-4711", &salt), "another field");
        assert!(!verify_disclosure(c.as_bytes(), "po", "PO-4711", &[8u8; SALT_LEN]), "another salt");
        assert!(!verify_disclosure(c.as_bytes(), "po", "PO-4711", &salt[..31]), "a short salt");
        // Lengths keep name and value apart.
        assert_ne!(commit("ab", "c", &salt), commit("a", "bc", &salt));
    }
}
