//! GS1 identifiers, parsed and normalised.
//!
//! The same physical item can be written down in several ways: an EPC pure
//! identity URI (`urn:epc:id:sgtin:0614141.112345.400`), a GS1 Digital Link
//! URI (`https://example.com/01/10614141123459/21/400?17=251231`), or a GS1
//! element string (`(01)10614141123459(21)400`). Every parser here accepts
//! the forms it knows and produces one normalised value, so two spellings of
//! the same item compare equal and give the same index key.
//!
//! * [`Gtin`]: GTIN-8/12/13/14, check digit verified, held as 14 digits.
//! * [`Gln`]: 13-digit Global Location Number, check digit verified.
//! * [`Serial`] / [`GlnExtension`]: 1 to 20 characters from the GS1 AI
//!   encodable character set 82 (GS1 General Specifications figure 7.11-1).
//! * [`Sgtin`]: GTIN + serial (AI 01 + AI 21), the identity of one item.
//! * [`Sscc`]: 18-digit Serial Shipping Container Code (pallets, cases).
//! * [`Sgln`]: GLN + optional extension (AI 414 + AI 254), a location.
//! * [`EpcId`]: an EPCIS `epcList` entry: one of the above, or another EPC /
//!   web URI kept verbatim.
//!
//! # Normalisation rules
//!
//! * GTINs are left-padded with zeros to 14 digits; the check digit must be
//!   right (it is never silently recomputed).
//! * URN prefixes (`urn:epc:id:sgtin:`) and the `http` / `https` scheme are
//!   matched without regard to ASCII case; the Digital Link host, any path
//!   prefix before the primary key, other key qualifiers (`/22/`, `/10/`,
//!   `/235/`), the query string and the fragment are checked for syntax and
//!   then dropped: they are not part of the item's identity.
//! * Percent escapes are decoded (hex digits in either case) and the decoded
//!   value is checked against character set 82, so `%41` and `A` give the
//!   same serial. Output re-escapes canonically: in EPC URIs only the
//!   characters TDS requires (`"` `%` `&` `/` `<` `>` `?`), in Digital Link
//!   URIs everything except `A-Z a-z 0-9 - . _`, with upper-case hex.
//! * An SGLN extension of `0` means "no extension" (the TDS convention for
//!   `urn:epc:id:sgln:CP.LocRef.0`), in every form.
//!
//! Parsers never trim or otherwise repair their input: leading or trailing
//! whitespace is an error. They never panic; every failure is a
//! [`Gs1Error`] naming the field and the problem.

mod chars;
mod digits;
mod dl;
mod epc;
mod host;
mod sgln;
mod sgtin;
mod sscc;

use std::fmt;

pub use chars::{GlnExtension, Serial, is_cset82};
pub use digits::{Gln, Gtin, check_digit};
pub use epc::EpcId;
pub use host::{DlHost, DlHostError, MAX_DL_HOST_LEN};
pub use sgln::Sgln;
pub use sgtin::Sgtin;
pub use sscc::Sscc;

/// The host used by canonical GS1 Digital Link output.
pub const CANONICAL_DL_HOST: &str = "https://id.gs1.org";

/// The smallest GS1 Company Prefix length accepted by EPC URIs.
pub const MIN_COMPANY_PREFIX_LEN: usize = 6;

/// The largest GS1 Company Prefix length accepted by EPC URIs.
pub const MAX_COMPANY_PREFIX_LEN: usize = 12;

/// The part of an identifier an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// A GTIN (AI 01).
    Gtin,
    /// A GLN (AI 414).
    Gln,
    /// An SSCC (AI 00).
    Sscc,
    /// The digits given to [`check_digit`] or a `from_body` constructor.
    Body,
    /// A serial number (AI 21).
    Serial,
    /// A GLN extension (AI 254).
    GlnExtension,
    /// A batch / lot number (AI 10) in a Digital Link path.
    Lot,
    /// A consumer product variant (AI 22) in a Digital Link path.
    Cpv,
    /// A third-party controlled serial (AI 235) in a Digital Link path.
    Tpx,
    /// The GS1 Company Prefix of an EPC URI.
    CompanyPrefix,
    /// The indicator digit + item reference of an SGTIN EPC URI.
    ItemReference,
    /// The extension digit + serial reference of an SSCC EPC URI.
    SerialReference,
    /// The location reference of an SGLN EPC URI.
    LocationReference,
    /// A whole URI (an [`EpcId`] or a Digital Link).
    Uri,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Gtin => "GTIN",
            Field::Gln => "GLN",
            Field::Sscc => "SSCC",
            Field::Body => "check digit body",
            Field::Serial => "serial (AI 21)",
            Field::GlnExtension => "GLN extension (AI 254)",
            Field::Lot => "lot (AI 10)",
            Field::Cpv => "consumer product variant (AI 22)",
            Field::Tpx => "third-party serial (AI 235)",
            Field::CompanyPrefix => "GS1 company prefix",
            Field::ItemReference => "indicator and item reference",
            Field::SerialReference => "extension and serial reference",
            Field::LocationReference => "location reference",
            Field::Uri => "URI",
        })
    }
}

/// A way of writing a GS1 identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// EPC pure identity URI, `urn:epc:id:...`.
    EpcUri,
    /// GS1 Digital Link URI, `https://host/01/...`.
    DigitalLink,
    /// GS1 element string in human-readable form, `(01)...(21)...`.
    ElementString,
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Form::EpcUri => "EPC URI",
            Form::DigitalLink => "GS1 Digital Link URI",
            Form::ElementString => "GS1 element string",
        })
    }
}

/// The kinds of identifier this module normalises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Serialised GTIN: one trade item.
    Sgtin,
    /// Serial Shipping Container Code: one logistic unit.
    Sscc,
    /// GLN with optional extension: one location.
    Sgln,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Sgtin => "SGTIN",
            Kind::Sscc => "SSCC",
            Kind::Sgln => "SGLN",
        })
    }
}

/// Why a GS1 identifier was rejected.
///
/// Positions (`index`) are character positions within the named field,
/// except for [`Gs1Error::BadEscape`] and [`Gs1Error::MustEscape`], which
/// give byte offsets within the still-escaped component. Values copied from
/// the input (`ai`, `start`) are cut to at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Gs1Error {
    /// A required component is empty.
    #[error("{field} is empty")]
    Empty {
        /// The empty component.
        field: Field,
    },
    /// A numeric key has the wrong number of digits.
    #[error("{field} has {len} digits, expected {expected}")]
    BadLength {
        /// The key.
        field: Field,
        /// Digits found.
        len: usize,
        /// The accepted lengths, in words.
        expected: &'static str,
    },
    /// A text component is longer than allowed.
    #[error("{field} is {len} characters long, at most {max} allowed")]
    TooLong {
        /// The component.
        field: Field,
        /// Its length in characters (bytes for [`Field::Uri`]).
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A numeric component contains something other than an ASCII digit.
    #[error("{field} has non-digit {ch:?} at position {index}")]
    NonDigit {
        /// The component.
        field: Field,
        /// Character position.
        index: usize,
        /// The offending character.
        ch: char,
    },
    /// The mod-10 check digit is wrong.
    #[error("{field} check digit is {found}, expected {expected}")]
    BadCheckDigit {
        /// The key.
        field: Field,
        /// The check digit in the input.
        found: u8,
        /// The check digit computed from the other digits.
        expected: u8,
    },
    /// A (decoded) character is not allowed in this component: outside
    /// GS1 character set 82, or whitespace / control in a URI.
    #[error("{field} has disallowed character {ch:?} at position {index}")]
    InvalidChar {
        /// The component.
        field: Field,
        /// Character position in the decoded value.
        index: usize,
        /// The offending character.
        ch: char,
    },
    /// A character that this URI form requires to be percent-escaped
    /// appears raw.
    #[error("{field} has {ch:?} at byte {index}, which must be percent-escaped")]
    MustEscape {
        /// The component.
        field: Field,
        /// Byte offset within the escaped component.
        index: usize,
        /// The character.
        ch: char,
    },
    /// A `%` is not followed by two hex digits.
    #[error("{field} has a malformed percent escape at byte {index}")]
    BadEscape {
        /// The component.
        field: Field,
        /// Byte offset of the `%` within the escaped component.
        index: usize,
    },
    /// Percent escapes decode to bytes that are not UTF-8.
    #[error("{field} percent-decodes to bytes that are not UTF-8")]
    NotUtf8 {
        /// The component.
        field: Field,
    },
    /// A GS1 Company Prefix length outside 6..=12.
    #[error("GS1 company prefix length {len} is outside 6..=12")]
    CompanyPrefixLength {
        /// The length given or found.
        len: usize,
    },
    /// An EPC URI has the wrong number of `.`-separated components.
    #[error("{kind} EPC URI has {found} dot-separated components, expected {expected}")]
    EpcComponents {
        /// The EPC scheme.
        kind: Kind,
        /// Components found.
        found: usize,
        /// Components expected.
        expected: usize,
    },
    /// An EPC URI component's digit count does not fit the company prefix.
    #[error("{field} has {len} digits; with a {company_prefix_len}-digit company prefix it must have {expected}")]
    PartitionMismatch {
        /// The component after the company prefix.
        field: Field,
        /// Its digit count.
        len: usize,
        /// The company prefix length.
        company_prefix_len: usize,
        /// The digit count that would fit.
        expected: usize,
    },
    /// A Digital Link path does not end in a known GS1 primary key
    /// (`/01/`, `/00/`, `/414/`) followed only by its key qualifiers.
    #[error("Digital Link path has no known GS1 primary key (stopped at segment {segment:?})")]
    NoPrimaryKey {
        /// The path segment where the search stopped (empty if the path ran out).
        segment: String,
    },
    /// A required application identifier is missing.
    #[error("{form} lacks AI ({ai})")]
    MissingAi {
        /// The form being parsed.
        form: Form,
        /// The missing AI.
        ai: &'static str,
    },
    /// A Digital Link key qualifier that does not belong to the primary key.
    #[error("Digital Link AI /{ai}/ cannot qualify primary key /{primary}/")]
    UnexpectedAi {
        /// The qualifier found.
        ai: String,
        /// The primary key it follows.
        primary: &'static str,
    },
    /// A Digital Link key qualifier appears twice.
    #[error("Digital Link repeats AI /{ai}/")]
    DuplicateAi {
        /// The repeated AI.
        ai: String,
    },
    /// The input is a valid form of a different kind of identifier.
    #[error("expected {expected}, found {found}")]
    WrongKind {
        /// What the parser produces.
        expected: Kind,
        /// What the input identifies.
        found: Kind,
    },
    /// The input is not well-formed in the form it claims to be.
    #[error("malformed {form}: {reason}")]
    Malformed {
        /// The form.
        form: Form,
        /// What is wrong.
        reason: &'static str,
    },
    /// The input is not in any form this parser knows.
    #[error("unrecognised identifier starting {start:?}")]
    UnknownScheme {
        /// The start of the input.
        start: String,
    },
}

/// At most 32 characters of `s`, for error values.
pub(crate) fn excerpt(s: &str) -> String {
    s.chars().take(32).collect()
}

/// `s` without `prefix`, matching ASCII case-insensitively.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) { s.get(prefix.len()..) } else { None }
}

/// Checks a company prefix length given by a caller.
pub(crate) fn check_prefix_len(len: usize) -> Result<(), Gs1Error> {
    if (MIN_COMPANY_PREFIX_LEN..=MAX_COMPANY_PREFIX_LEN).contains(&len) {
        Ok(())
    } else {
        Err(Gs1Error::CompanyPrefixLength { len })
    }
}

/// Checks the two numeric components of an EPC URI: a 6 to 12 digit
/// company prefix and a reference `field` that together hold `total`
/// digits (the partition rule of the EPC Tag Data Standard).
pub(crate) fn check_partition(cp: &str, field: Field, reference: &str, total: usize) -> Result<(), Gs1Error> {
    digits::all_digits(Field::CompanyPrefix, cp)?;
    check_prefix_len(cp.len())?;
    digits::all_digits(field, reference)?;
    let expected = total - cp.len();
    if reference.len() != expected {
        return Err(Gs1Error::PartitionMismatch {
            field,
            len: reference.len(),
            company_prefix_len: cp.len(),
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_prefix_ci_is_case_blind_and_safe_on_char_boundaries() {
        assert_eq!(strip_prefix_ci("URN:epc:x", "urn:"), Some("epc:x"));
        assert_eq!(strip_prefix_ci("ur", "urn:"), None);
        assert_eq!(strip_prefix_ci("urné", "urn:"), None);
        assert_eq!(strip_prefix_ci("éééé", "urn:"), None);
    }

    #[test]
    fn excerpt_cuts_at_32_chars() {
        assert_eq!(excerpt(&"é".repeat(40)).chars().count(), 32);
        assert_eq!(excerpt("abc"), "abc");
    }
}
