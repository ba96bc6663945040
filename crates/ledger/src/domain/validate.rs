//! Field checks shared by the rules. Each returns a refusal naming the
//! field, so a client learns exactly what to fix.

use veritrace_core::Reason;
use veritrace_core::gs1::{EpcId, Gtin, Serial, Sgtin};
use veritrace_core::ids::validate_party_id;

use super::{Rule, refuse, require};

/// Longest free text accepted (names, reasons, notes), in bytes.
pub(crate) const MAX_TEXT: usize = 4000;
/// Longest client-chosen id (proposal, recall, attestation, ...), in bytes.
pub(crate) const MAX_ID: usize = 128;

/// A GTIN-14 as the API requires it: exactly 14 digits with a valid check
/// digit.
pub(crate) fn gtin(field: &str, s: &str) -> Rule<Gtin> {
    match Gtin::parse(s) {
        Ok(g) if s.len() == Gtin::LEN => Ok(g),
        Ok(_) => refuse(Reason::InvalidAction, format!("{field}: {s:?} must be a 14-digit GTIN (pad with zeros)")),
        Err(e) => refuse(Reason::InvalidAction, format!("{field}: {e}")),
    }
}

/// A serial number (GS1 AI 21).
pub(crate) fn serial(field: &str, s: &str) -> Rule<Serial> {
    Serial::parse(s).or_else(|e| refuse(Reason::InvalidAction, format!("{field}: {e}")))
}

/// A lot number (same character rules as a serial).
pub(crate) fn lot(field: &str, s: &str) -> Rule {
    Serial::parse(s).map(|_| ()).or_else(|e| refuse(Reason::InvalidAction, format!("{field}: {e}")))
}

/// The item key of GTIN + serial.
pub(crate) fn item_key(field: &str, gtin_s: &str, serial_s: &str) -> Rule<(Sgtin, Vec<u8>)> {
    let sgtin = Sgtin::new(gtin(field, gtin_s)?, serial(field, serial_s)?);
    let key = EpcId::Sgtin(sgtin.clone()).key_bytes();
    Ok((sgtin, key))
}

/// An EPC / location URI.
pub(crate) fn epc(field: &str, s: &str) -> Rule<EpcId> {
    EpcId::parse(s).or_else(|e| refuse(Reason::InvalidAction, format!("{field}: {e}")))
}

/// A client-chosen id: 1 to 128 printable ASCII characters without spaces.
pub(crate) fn client_id(field: &str, s: &str) -> Rule {
    require(!s.is_empty() && s.len() <= MAX_ID && s.bytes().all(|b| b.is_ascii_graphic()), || {
        format!("{field}: must be 1 to {MAX_ID} printable ASCII characters without spaces")
    })
}

/// A party id slug.
pub(crate) fn party_id(field: &str, s: &str) -> Rule {
    validate_party_id(s).or_else(|e| refuse(Reason::InvalidAction, format!("{field}: {e}")))
}

/// Free text up to `max` bytes; `required` refuses empty text.
pub(crate) fn text(field: &str, s: &str, max: usize, required: bool) -> Rule {
    require(!required || !s.trim().is_empty(), || format!("{field} is required"))?;
    require(s.len() <= max, || format!("{field} is {} bytes, at most {max} allowed", s.len()))
}

/// An ISO 3166-1 alpha-2 code (two upper-case letters).
pub(crate) fn country(field: &str, s: &str) -> Rule {
    require(s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()), || {
        format!("{field}: {s:?} is not an ISO 3166-1 alpha-2 code (two upper-case letters)")
    })
}

/// An enum field: set to a known, non-zero value.
pub(crate) fn enum_set<T: TryFrom<i32>>(field: &str, v: i32) -> Rule<T> {
    match T::try_from(v) {
        Ok(t) if v != 0 => Ok(t),
        _ => refuse(Reason::InvalidAction, format!("{field}: {v} is unset or unknown")),
    }
}

/// A 32-byte digest, or empty when `optional`.
pub(crate) fn digest(field: &str, b: &[u8], optional: bool) -> Rule {
    require(b.len() == 32 || (optional && b.is_empty()), || format!("{field}: must be 32 bytes, got {}", b.len()))
}

/// Digits only, with a length in `min..=max`.
pub(crate) fn digits(field: &str, s: &str, min: usize, max: usize) -> Rule {
    require((min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()), || {
        format!("{field}: {s:?} must be {min} to {max} digits")
    })
}

/// Unix ms of a timestamp, refusing out-of-range values.
pub(crate) fn time_ms(field: &str, t: &prost_types::Timestamp) -> Rule<i64> {
    require((0..1_000_000_000).contains(&t.nanos) && t.seconds.unsigned_abs() < 400_000_000_000, || {
        format!("{field}: timestamp out of range")
    })?;
    Ok(veritrace_proto::ms_from_timestamp(t))
}
