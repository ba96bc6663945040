//! [`Sgtin`]: serialised GTIN, the identity of one trade item.

use std::fmt;
use std::str::FromStr;

use super::chars::Escaping;
use super::digits::all_digits;
use super::epc::{epc_body, split_epc};
use super::{
    CANONICAL_DL_HOST, Field, Form, Gs1Error, Gtin, Kind, Serial, check_partition, check_prefix_len, dl, excerpt,
};

/// One serialised trade item: GTIN (AI 01) + serial number (AI 21).
///
/// Parse it from any of its spellings with [`Sgtin::parse_any`]; all of
/// them normalise to the same value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Sgtin {
    /// The trade item's GTIN, normalised to 14 digits.
    pub gtin: Gtin,
    /// The item's serial number, unescaped.
    pub serial: Serial,
}

impl Sgtin {
    /// Pairs a GTIN and a serial.
    pub fn new(gtin: Gtin, serial: Serial) -> Self {
        Sgtin { gtin, serial }
    }

    /// Parses any supported form, detected from its start: an EPC URI
    /// (`urn:epc:id:sgtin:`), a Digital Link URI (`http://` / `https://`)
    /// or an element string (`(01)`).
    pub fn parse_any(s: &str) -> Result<Self, Gs1Error> {
        if super::epc::looks_like(s) {
            Self::parse_epc_uri(s)
        } else if dl::looks_like(s) {
            Self::parse_digital_link(s)
        } else if s.starts_with('(') {
            Self::parse_element_string(s)
        } else {
            Err(Gs1Error::UnknownScheme { start: excerpt(s) })
        }
    }

    /// Parses an SGTIN EPC pure identity URI,
    /// `urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial`.
    ///
    /// The company prefix is 6 to 12 digits; the second component is the
    /// indicator digit followed by the item reference, 13 digits in all with
    /// the prefix. The serial is TDS-escaped: `%XX` escapes are decoded and
    /// `"` `&` `/` `<` `>` `?` must not appear raw.
    pub fn parse_epc_uri(s: &str) -> Result<Self, Gs1Error> {
        let body = epc_body(s, Kind::Sgtin)?;
        let [cp, item_ref, serial] = split_epc::<3>(body, Kind::Sgtin)?;
        check_partition(cp, Field::ItemReference, item_ref, 13)?;
        // Non-empty and ASCII, so splitting after one byte is safe.
        let (indicator, item) = item_ref.split_at(1);
        let gtin = Gtin::from_body(&format!("{indicator}{cp}{item}"))?;
        let serial = Serial::unescape(serial, Escaping::Epc)?;
        Ok(Sgtin { gtin, serial })
    }

    /// Parses a GS1 Digital Link URI with `/01/{gtin}/21/{serial}`.
    ///
    /// Any host and path prefix is accepted; the GTIN may have 8, 12, 13 or
    /// 14 digits; the serial is percent-decoded. Other qualifiers of the
    /// GTIN (`/22/`, `/10/`, `/235/`), the query string and the fragment
    /// are checked for syntax and dropped.
    pub fn parse_digital_link(s: &str) -> Result<Self, Gs1Error> {
        let key = dl::parse(s)?;
        key.expect_kind(Kind::Sgtin)?;
        let gtin = Gtin::parse(key.value)?;
        let raw = key.qualifier("21").ok_or(Gs1Error::MissingAi { form: Form::DigitalLink, ai: "21" })?;
        let serial = Serial::unescape(raw, Escaping::DigitalLink)?;
        Ok(Sgtin { gtin, serial })
    }

    /// Parses the human-readable element string `(01){14 digits}(21){serial}`.
    ///
    /// The serial runs to the end of the input and is not escaped (it may
    /// itself contain parentheses), so no other AI may follow it.
    pub fn parse_element_string(s: &str) -> Result<Self, Gs1Error> {
        let malformed = |reason| Gs1Error::Malformed { form: Form::ElementString, reason };
        let rest = s.strip_prefix("(01)").ok_or(malformed("must start with (01)"))?;
        let Some((gtin, serial)) = rest.split_once("(21)") else {
            return Err(Gs1Error::MissingAi { form: Form::ElementString, ai: "21" });
        };
        if gtin.contains('(') {
            return Err(malformed("(21) must follow the 14-digit (01) directly"));
        }
        all_digits(Field::Gtin, gtin)?;
        if gtin.len() != Gtin::LEN {
            return Err(Gs1Error::BadLength { field: Field::Gtin, len: gtin.len(), expected: "14" });
        }
        Ok(Sgtin { gtin: Gtin::parse(gtin)?, serial: Serial::parse(serial)? })
    }

    /// The canonical Digital Link URI,
    /// `https://id.gs1.org/01/{gtin14}/21/{percent-encoded serial}`.
    pub fn to_digital_link(&self) -> String {
        format!("{CANONICAL_DL_HOST}/01/{}/21/{}", self.gtin, self.serial.to_dl_escaped())
    }

    /// The Digital Link URI on `host` instead of GS1's,
    /// `{host}/01/{gtin14}/21/{percent-encoded serial}`.
    pub fn to_digital_link_on(&self, host: &super::DlHost) -> String {
        format!("{host}/01/{}/21/{}", self.gtin, self.serial.to_dl_escaped())
    }

    /// The EPC pure identity URI for a GS1 Company Prefix of
    /// `company_prefix_len` digits (6 to 12): the indicator digit moves to
    /// the front of the item reference and the check digit is dropped.
    ///
    /// The prefix length is not recorded in the GTIN itself; it comes from
    /// the brand owner's GS1 licence.
    pub fn to_epc_uri(&self, company_prefix_len: usize) -> Result<String, Gs1Error> {
        check_prefix_len(company_prefix_len)?;
        let g = self.gtin.as_str();
        let (indicator, rest) = g.split_at(1);
        let (cp, rest) = rest.split_at(company_prefix_len);
        let item = rest.get(..rest.len().saturating_sub(1)).unwrap_or_default();
        Ok(format!("urn:epc:id:sgtin:{cp}.{indicator}{item}.{}", self.serial.to_epc_escaped()))
    }

    /// The human-readable element string `(01){gtin14}(21){serial}`.
    pub fn to_element_string(&self) -> String {
        format!("(01){}(21){}", self.gtin, self.serial)
    }

    /// An index key: the 14 GTIN digits followed by the serial's bytes.
    ///
    /// The GTIN part has a fixed length, so the key is unambiguous, and
    /// equal items always give equal key bytes whichever form they were
    /// parsed from (parsing normalises GTIN length and serial escaping).
    /// The serial never contains control bytes, so a caller may follow the
    /// key with a `0x00` separator. Keys of different identifier kinds can
    /// collide (an 18-digit SSCC looks like a GTIN + 4-digit serial): use
    /// [`EpcId::key_bytes`](super::EpcId::key_bytes) to mix kinds in one
    /// key space.
    pub fn key_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Gtin::LEN + self.serial.as_str().len());
        out.extend_from_slice(self.gtin.bytes());
        out.extend_from_slice(self.serial.as_str().as_bytes());
        out
    }
}

/// Writes the canonical Digital Link URI.
impl fmt::Display for Sgtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_digital_link())
    }
}

impl FromStr for Sgtin {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sgtin::parse_any(s)
    }
}
