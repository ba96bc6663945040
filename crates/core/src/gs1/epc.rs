//! EPC pure identity URI plumbing and [`EpcId`], an EPCIS `epcList` entry.

use std::fmt;
use std::str::FromStr;

use super::dl::{self, check_uri_chars};
use super::{Field, Form, Gs1Error, Kind, Sgln, Sgtin, Sscc, excerpt, strip_prefix_ci};

const EPC_ID_PREFIX: &str = "urn:epc:id:";

/// Whether `s` starts like an EPC pure identity URI.
pub(crate) fn looks_like(s: &str) -> bool {
    strip_prefix_ci(s, EPC_ID_PREFIX).is_some()
}

/// Splits `urn:epc:id:{scheme}:{body}`; `None` kind for schemes other than
/// `sgtin`, `sscc` and `sgln` (compared without regard to ASCII case).
fn split_scheme(s: &str) -> Result<(Option<Kind>, &str), Gs1Error> {
    let malformed = |reason| Gs1Error::Malformed { form: Form::EpcUri, reason };
    let rest = strip_prefix_ci(s, EPC_ID_PREFIX).ok_or(malformed("expected urn:epc:id:"))?;
    let (scheme, body) = rest.split_once(':').ok_or(malformed("missing scheme"))?;
    let kind = if scheme.eq_ignore_ascii_case("sgtin") {
        Some(Kind::Sgtin)
    } else if scheme.eq_ignore_ascii_case("sscc") {
        Some(Kind::Sscc)
    } else if scheme.eq_ignore_ascii_case("sgln") {
        Some(Kind::Sgln)
    } else if scheme.is_empty() {
        return Err(malformed("missing scheme"));
    } else {
        None
    };
    Ok((kind, body))
}

/// The part after `urn:epc:id:{scheme}:`, checking the scheme is `want`.
pub(crate) fn epc_body(s: &str, want: Kind) -> Result<&str, Gs1Error> {
    match split_scheme(s)? {
        (Some(k), body) if k == want => Ok(body),
        (Some(found), _) => Err(Gs1Error::WrongKind { expected: want, found }),
        (None, _) => Err(Gs1Error::UnknownScheme { start: excerpt(s) }),
    }
}

/// Splits an EPC body into exactly `N` `.`-separated components; the last
/// one keeps any further dots (a serial may contain `.`).
pub(crate) fn split_epc<const N: usize>(body: &str, kind: Kind) -> Result<[&str; N], Gs1Error> {
    let parts: Vec<&str> = body.splitn(N, '.').collect();
    let found = parts.len();
    <[&str; N]>::try_from(parts).map_err(|_| Gs1Error::EpcComponents { kind, found, expected: N })
}

/// One entry of an EPCIS `epcList`: a known GS1 instance identifier,
/// normalised, or another identifier URI kept verbatim.
///
/// [`EpcId::parse`] normalises `urn:epc:id:sgtin|sscc|sgln:` URIs and GS1
/// Digital Link URIs whose key is `/01/…/21/…`, `/00/…` or `/414/…`; a
/// malformed one of these is an error, never `Other`. Any other
/// `urn:epc:id:{scheme}:…` URI, and any `http(s)://` URI without such a key
/// (including class-level `/01/{gtin}` links without `/21/`), becomes
/// [`EpcId::Other`] unchanged.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum EpcId {
    /// A serialised trade item.
    Sgtin(Sgtin),
    /// A logistic unit.
    Sscc(Sscc),
    /// A location.
    Sgln(Sgln),
    /// Another `urn:epc:id:` or `http(s)://` URI, verbatim.
    Other(String),
}

impl EpcId {
    /// The longest accepted input, in bytes.
    pub const MAX_LEN: usize = 512;

    /// Parses an `epcList` entry.
    ///
    /// Any input must be 1 to 512 bytes without whitespace or control
    /// characters, and start with `urn:epc:id:`, `http://` or `https://`
    /// (ASCII case-insensitive).
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        if s.is_empty() {
            return Err(Gs1Error::Empty { field: Field::Uri });
        }
        if s.len() > Self::MAX_LEN {
            return Err(Gs1Error::TooLong { field: Field::Uri, len: s.len(), max: Self::MAX_LEN });
        }
        check_uri_chars(s)?;
        if looks_like(s) {
            let (kind, body) = split_scheme(s)?;
            return match kind {
                Some(Kind::Sgtin) => Sgtin::parse_epc_uri(s).map(EpcId::Sgtin),
                Some(Kind::Sscc) => Sscc::parse_epc_uri(s).map(EpcId::Sscc),
                Some(Kind::Sgln) => Sgln::parse_epc_uri(s).map(EpcId::Sgln),
                None if body.is_empty() => Err(Gs1Error::Malformed { form: Form::EpcUri, reason: "empty identifier" }),
                None => Ok(EpcId::Other(s.to_owned())),
            };
        }
        if dl::looks_like(s) {
            let key = match dl::parse(s) {
                Ok(key) => key,
                Err(Gs1Error::NoPrimaryKey { .. }) => return Ok(EpcId::Other(s.to_owned())),
                Err(e) => return Err(e),
            };
            return match key.kind {
                Kind::Sgtin if key.qualifier("21").is_none() => Ok(EpcId::Other(s.to_owned())),
                Kind::Sgtin => Sgtin::parse_digital_link(s).map(EpcId::Sgtin),
                Kind::Sscc => Sscc::parse_digital_link(s).map(EpcId::Sscc),
                Kind::Sgln => Sgln::parse_digital_link(s).map(EpcId::Sgln),
            };
        }
        Err(Gs1Error::UnknownScheme { start: excerpt(s) })
    }

    /// An index key unambiguous across kinds: one tag byte (`1` SGTIN,
    /// `2` SSCC, `3` SGLN, `4` other) followed by the kind's own key bytes
    /// (the verbatim URI for `Other`).
    pub fn key_bytes(&self) -> Vec<u8> {
        let (tag, key) = match self {
            EpcId::Sgtin(x) => (1, x.key_bytes()),
            EpcId::Sscc(x) => (2, x.key_bytes()),
            EpcId::Sgln(x) => (3, x.key_bytes()),
            EpcId::Other(s) => (4, s.as_bytes().to_vec()),
        };
        let mut out = Vec::with_capacity(1 + key.len());
        out.push(tag);
        out.extend_from_slice(&key);
        out
    }
}

/// Writes the canonical Digital Link URI for known kinds, `Other` verbatim.
impl fmt::Display for EpcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EpcId::Sgtin(x) => fmt::Display::fmt(x, f),
            EpcId::Sscc(x) => fmt::Display::fmt(x, f),
            EpcId::Sgln(x) => fmt::Display::fmt(x, f),
            EpcId::Other(s) => f.write_str(s),
        }
    }
}

impl FromStr for EpcId {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EpcId::parse(s)
    }
}

impl From<Sgtin> for EpcId {
    fn from(x: Sgtin) -> Self {
        EpcId::Sgtin(x)
    }
}

impl From<Sscc> for EpcId {
    fn from(x: Sscc) -> Self {
        EpcId::Sscc(x)
    }
}

impl From<Sgln> for EpcId {
    fn from(x: Sgln) -> Self {
        EpcId::Sgln(x)
    }
}
