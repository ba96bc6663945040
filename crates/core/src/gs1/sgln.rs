//! [`Sgln`]: a GLN with an optional extension, identifying a location.

use std::fmt;
use std::str::FromStr;

use super::chars::Escaping;
use super::epc::{epc_body, split_epc};
use super::{
    CANONICAL_DL_HOST, Field, Form, Gln, GlnExtension, Gs1Error, Kind, check_partition, check_prefix_len, dl, excerpt,
};

/// A location: GLN (AI 414) plus an optional extension (AI 254).
///
/// The extension `0` is the EPC spelling of "no extension" and is
/// normalised to `None` in every form, so `urn:epc:id:sgln:0614141.12345.0`
/// equals `https://id.gs1.org/414/0614141123452`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Sgln {
    gln: Gln,
    extension: Option<GlnExtension>,
}

impl Sgln {
    /// Pairs a GLN with an optional extension (`Some("0")` becomes `None`).
    pub fn new(gln: Gln, extension: Option<GlnExtension>) -> Self {
        let extension = extension.filter(|e| e.as_str() != "0");
        Sgln { gln, extension }
    }

    /// The GLN.
    pub fn gln(&self) -> &Gln {
        &self.gln
    }

    /// The extension, never `"0"`.
    pub fn extension(&self) -> Option<&GlnExtension> {
        self.extension.as_ref()
    }

    /// Parses any supported form: an EPC URI (`urn:epc:id:sgln:`), a
    /// Digital Link URI or an element string (`(414)`).
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

    /// Parses `urn:epc:id:sgln:CompanyPrefix.LocationReference.Extension`.
    ///
    /// Company prefix and location reference total 12 digits (the location
    /// reference is empty for a 12-digit prefix). The extension is
    /// TDS-escaped like an SGTIN serial; `0` means no extension.
    pub fn parse_epc_uri(s: &str) -> Result<Self, Gs1Error> {
        let body = epc_body(s, Kind::Sgln)?;
        let [cp, loc_ref, ext] = split_epc::<3>(body, Kind::Sgln)?;
        check_partition(cp, Field::LocationReference, loc_ref, 12)?;
        let gln = Gln::from_body(&format!("{cp}{loc_ref}"))?;
        let ext = GlnExtension::unescape(ext, Escaping::Epc)?;
        Ok(Sgln::new(gln, Some(ext)))
    }

    /// Parses a Digital Link URI `http(s)://{host}/{prefix}/414/{gln}` with
    /// an optional `/254/{extension}` (percent-decoded).
    pub fn parse_digital_link(s: &str) -> Result<Self, Gs1Error> {
        let key = dl::parse(s)?;
        key.expect_kind(Kind::Sgln)?;
        let gln = Gln::parse(key.value)?;
        let ext = key.qualifier("254").map(|raw| GlnExtension::unescape(raw, Escaping::DigitalLink)).transpose()?;
        Ok(Sgln::new(gln, ext))
    }

    /// Parses the element string `(414){13 digits}` optionally followed by
    /// `(254){extension}`; the extension runs to the end of the input.
    pub fn parse_element_string(s: &str) -> Result<Self, Gs1Error> {
        let rest = s
            .strip_prefix("(414)")
            .ok_or(Gs1Error::Malformed { form: Form::ElementString, reason: "must start with (414)" })?;
        let (gln, ext) = match rest.split_once("(254)") {
            Some((gln, ext)) => (gln, Some(ext)),
            None => (rest, None),
        };
        if gln.contains('(') {
            return Err(Gs1Error::Malformed { form: Form::ElementString, reason: "only (254) may follow (414)" });
        }
        let gln = Gln::parse(gln)?;
        let ext = ext.map(GlnExtension::parse).transpose()?;
        Ok(Sgln::new(gln, ext))
    }

    /// The canonical Digital Link URI, `https://id.gs1.org/414/{gln}` plus
    /// `/254/{percent-encoded extension}` when there is one.
    pub fn to_digital_link(&self) -> String {
        match &self.extension {
            Some(e) => format!("{CANONICAL_DL_HOST}/414/{}/254/{}", self.gln, e.to_dl_escaped()),
            None => format!("{CANONICAL_DL_HOST}/414/{}", self.gln),
        }
    }

    /// The EPC pure identity URI for a `company_prefix_len`-digit (6 to 12)
    /// company prefix; a missing extension is written `0`.
    pub fn to_epc_uri(&self, company_prefix_len: usize) -> Result<String, Gs1Error> {
        check_prefix_len(company_prefix_len)?;
        let (cp, rest) = self.gln.as_str().split_at(company_prefix_len);
        let loc_ref = rest.get(..rest.len().saturating_sub(1)).unwrap_or_default();
        let ext = self.extension.as_ref().map_or_else(|| "0".to_owned(), |e| e.to_epc_escaped());
        Ok(format!("urn:epc:id:sgln:{cp}.{loc_ref}.{ext}"))
    }

    /// The element string `(414){gln}`, plus `(254){extension}` if any.
    pub fn to_element_string(&self) -> String {
        match &self.extension {
            Some(e) => format!("(414){}(254){}", self.gln, e),
            None => format!("(414){}", self.gln),
        }
    }

    /// An index key: the 13 GLN digits followed by the extension's bytes
    /// (nothing when there is no extension). Unambiguous because the GLN
    /// part has a fixed length; equal locations give equal keys whichever
    /// form they were parsed from.
    pub fn key_bytes(&self) -> Vec<u8> {
        let ext = self.extension.as_ref().map_or("", |e| e.as_str());
        let mut out = Vec::with_capacity(Gln::LEN + ext.len());
        out.extend_from_slice(self.gln.bytes());
        out.extend_from_slice(ext.as_bytes());
        out
    }
}

/// Writes the canonical Digital Link URI.
impl fmt::Display for Sgln {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_digital_link())
    }
}

impl FromStr for Sgln {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sgln::parse_any(s)
    }
}
