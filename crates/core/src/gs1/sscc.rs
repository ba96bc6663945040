//! [`Sscc`]: Serial Shipping Container Code, a pallet, case or container.

use std::fmt;
use std::str::FromStr;

use super::digits::{ascii, from_body, parse_keyed};
use super::epc::{epc_body, split_epc};
use super::{CANONICAL_DL_HOST, Field, Form, Gs1Error, Kind, check_partition, check_prefix_len, dl, excerpt};

/// An 18-digit Serial Shipping Container Code (AI 00), check digit verified.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sscc([u8; 18]);

impl Sscc {
    /// Digits in an SSCC.
    pub const LEN: usize = 18;

    /// Parses the bare 18 digits.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        parse_keyed(Field::Sscc, s, &[18], "18").map(Sscc)
    }

    /// Builds an SSCC from its first 17 digits, computing the check digit.
    pub fn from_body(body: &str) -> Result<Self, Gs1Error> {
        from_body(body, &[17], "17").map(Sscc)
    }

    /// Parses any supported form: bare 18 digits, an EPC URI
    /// (`urn:epc:id:sscc:`), a Digital Link URI or an element string (`(00)`).
    pub fn parse_any(s: &str) -> Result<Self, Gs1Error> {
        if super::epc::looks_like(s) {
            Self::parse_epc_uri(s)
        } else if dl::looks_like(s) {
            Self::parse_digital_link(s)
        } else if s.starts_with('(') {
            Self::parse_element_string(s)
        } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            Self::parse(s)
        } else {
            Err(Gs1Error::UnknownScheme { start: excerpt(s) })
        }
    }

    /// Parses `urn:epc:id:sscc:CompanyPrefix.SerialReference`, where the
    /// serial reference is the extension digit followed by the serial, 17
    /// digits in all with the 6 to 12 digit company prefix.
    pub fn parse_epc_uri(s: &str) -> Result<Self, Gs1Error> {
        let body = epc_body(s, Kind::Sscc)?;
        if body.bytes().filter(|b| *b == b'.').count() > 1 {
            return Err(Gs1Error::EpcComponents { kind: Kind::Sscc, found: body.split('.').count(), expected: 2 });
        }
        let [cp, serial_ref] = split_epc::<2>(body, Kind::Sscc)?;
        check_partition(cp, Field::SerialReference, serial_ref, 17)?;
        let (extension, serial) = serial_ref.split_at(1);
        Self::from_body(&format!("{extension}{cp}{serial}"))
    }

    /// Parses a Digital Link URI `http(s)://{host}/{prefix}/00/{sscc}`.
    pub fn parse_digital_link(s: &str) -> Result<Self, Gs1Error> {
        let key = dl::parse(s)?;
        key.expect_kind(Kind::Sscc)?;
        Self::parse(key.value)
    }

    /// Parses the element string `(00){18 digits}`.
    pub fn parse_element_string(s: &str) -> Result<Self, Gs1Error> {
        let rest = s
            .strip_prefix("(00)")
            .ok_or(Gs1Error::Malformed { form: Form::ElementString, reason: "must start with (00)" })?;
        Self::parse(rest)
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }

    /// The canonical Digital Link URI, `https://id.gs1.org/00/{sscc}`.
    pub fn to_digital_link(&self) -> String {
        format!("{CANONICAL_DL_HOST}/00/{}", self.as_str())
    }

    /// The EPC pure identity URI for a `company_prefix_len`-digit (6 to 12)
    /// company prefix: the extension digit moves to the front of the serial
    /// reference and the check digit is dropped.
    pub fn to_epc_uri(&self, company_prefix_len: usize) -> Result<String, Gs1Error> {
        check_prefix_len(company_prefix_len)?;
        let (extension, rest) = self.as_str().split_at(1);
        let (cp, rest) = rest.split_at(company_prefix_len);
        let serial = rest.get(..rest.len().saturating_sub(1)).unwrap_or_default();
        Ok(format!("urn:epc:id:sscc:{cp}.{extension}{serial}"))
    }

    /// The element string `(00){sscc}`.
    pub fn to_element_string(&self) -> String {
        format!("(00){}", self.as_str())
    }

    /// An index key: the 18 digits. Equal SSCCs give equal keys whichever
    /// form they were parsed from.
    pub fn key_bytes(&self) -> Vec<u8> {
        self.0.to_vec()
    }
}

/// Writes the canonical Digital Link URI.
impl fmt::Display for Sscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_digital_link())
    }
}

impl fmt::Debug for Sscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sscc({})", self.as_str())
    }
}

impl FromStr for Sscc {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sscc::parse_any(s)
    }
}
