//! Identifiers chosen by people: party ids and network ids.
//!
//! Both are lowercase slugs (`a-z`, `0-9`, `-`, not starting or ending
//! with `-`), 2 to 64 characters, so they read well in logs and URLs and
//! never need escaping in keys.

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty, or longer than 64 characters, or shorter than 2.
    #[error("{kind} must be 2 to 64 characters, got {len}")]
    Length {
        /// `"party id"` or `"network id"`.
        kind: &'static str,
        /// Length found.
        len: usize,
    },
    /// A character outside `a-z0-9-`, or a leading / trailing `-`.
    #[error("{kind} {value:?} must be lowercase letters, digits and inner hyphens")]
    Characters {
        /// `"party id"` or `"network id"`.
        kind: &'static str,
        /// The value, cut to 64 characters.
        value: String,
    },
}

fn validate_slug(kind: &'static str, s: &str) -> Result<(), IdError> {
    if !(2..=64).contains(&s.len()) {
        return Err(IdError::Length { kind, len: s.len() });
    }
    let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok_chars || s.starts_with('-') || s.ends_with('-') {
        return Err(IdError::Characters { kind, value: s.chars().take(64).collect() });
    }
    Ok(())
}

/// Checks a party id.
pub fn validate_party_id(s: &str) -> Result<(), IdError> {
    validate_slug("party id", s)
}

/// Checks a network id.
pub fn validate_network_id(s: &str) -> Result<(), IdError> {
    validate_slug("network id", s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(validate_party_id("acme-brand"), Ok(()));
        assert_eq!(validate_party_id("x"), Err(IdError::Length { kind: "party id", len: 1 }));
        assert!(matches!(validate_party_id("Acme"), Err(IdError::Characters { .. })));
        assert!(matches!(validate_party_id("-acme"), Err(IdError::Characters { .. })));
        assert!(matches!(validate_network_id("a b"), Err(IdError::Characters { .. })));
        assert!(validate_network_id(&"a".repeat(65)).is_err());
    }
}
