//! GS1 Digital Link URI structure: finding the primary key and its
//! qualifiers in `http(s)://host/{prefix}/{ai}/{value}/{ai}/{value}...`.

use super::chars::{Escaping, check_cset82, unescape};
use super::{Field, Form, Gs1Error, Kind, excerpt, strip_prefix_ci};

/// Primary keys this module understands: (AI, kind).
const PRIMARIES: [(&str, Kind); 3] = [("01", Kind::Sgtin), ("00", Kind::Sscc), ("414", Kind::Sgln)];

/// Key qualifiers: (AI, field, max length, primary AI it qualifies).
const QUALIFIERS: [(&str, Field, usize, &str); 5] = [
    ("22", Field::Cpv, 20, "01"),
    ("10", Field::Lot, 20, "01"),
    ("21", Field::Serial, 20, "01"),
    ("235", Field::Tpx, 28, "01"),
    ("254", Field::GlnExtension, 20, "414"),
];

/// The GS1 key part of a Digital Link URI.
#[derive(Debug)]
pub(crate) struct DlKey<'a> {
    /// What the primary key identifies.
    pub kind: Kind,
    /// The primary key value, still raw.
    pub value: &'a str,
    /// Qualifiers in path order: (AI, raw value). Values are already
    /// checked to decode to 1..=max set-82 characters.
    pub qualifiers: Vec<(&'static str, &'a str)>,
}

impl<'a> DlKey<'a> {
    /// The raw value of qualifier `ai`, if present.
    pub fn qualifier(&self, ai: &str) -> Option<&'a str> {
        self.qualifiers.iter().find(|(q, _)| *q == ai).map(|(_, v)| *v)
    }

    /// Fails unless this key is of `kind`.
    pub fn expect_kind(&self, kind: Kind) -> Result<(), Gs1Error> {
        if self.kind == kind { Ok(()) } else { Err(Gs1Error::WrongKind { expected: kind, found: self.kind }) }
    }
}

/// Rejects whitespace and control characters anywhere in a URI.
pub(crate) fn check_uri_chars(s: &str) -> Result<(), Gs1Error> {
    match s.chars().enumerate().find(|(_, c)| c.is_whitespace() || c.is_control()) {
        Some((index, ch)) => Err(Gs1Error::InvalidChar { field: Field::Uri, index, ch }),
        None => Ok(()),
    }
}

/// Whether `s` starts like a Digital Link (`http://` or `https://`).
pub(crate) fn looks_like(s: &str) -> bool {
    strip_prefix_ci(s, "https://").is_some() || strip_prefix_ci(s, "http://").is_some()
}

/// Splits a Digital Link URI into its GS1 key.
///
/// The path is read in (AI, value) pairs from its end back to the first
/// known primary key; anything before that is a free path prefix. The
/// query string and fragment are ignored, one trailing `/` is tolerated.
pub(crate) fn parse(input: &str) -> Result<DlKey<'_>, Gs1Error> {
    let malformed = |reason| Gs1Error::Malformed { form: Form::DigitalLink, reason };
    check_uri_chars(input)?;
    let rest = strip_prefix_ci(input, "https://")
        .or_else(|| strip_prefix_ci(input, "http://"))
        .ok_or(malformed("expected http:// or https://"))?;
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.is_empty() {
        return Err(malformed("empty host"));
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('/').collect() };

    let mut end = segs.len();
    let mut qualifiers = Vec::new();
    let (kind, ai, value) = loop {
        let (Some(&key), Some(&value)) = (segs.get(end.wrapping_sub(2)), segs.get(end.wrapping_sub(1))) else {
            let segment = segs.first().map(|s| excerpt(s)).unwrap_or_default();
            return Err(Gs1Error::NoPrimaryKey { segment });
        };
        if let Some(&(ai, kind)) = PRIMARIES.iter().find(|(ai, _)| *ai == key) {
            break (kind, ai, value);
        }
        match QUALIFIERS.iter().find(|q| q.0 == key) {
            Some(q) => qualifiers.push((q, value)),
            None => {
                return Err(Gs1Error::NoPrimaryKey { segment: excerpt(key) });
            }
        }
        end -= 2;
    };

    // Qualifiers were collected right to left.
    qualifiers.reverse();
    let mut out: Vec<(&'static str, &str)> = Vec::with_capacity(qualifiers.len());
    for (&(q_ai, field, max, primary), raw) in qualifiers {
        if primary != ai {
            return Err(Gs1Error::UnexpectedAi { ai: q_ai.to_owned(), primary: ai });
        }
        if out.iter().any(|(a, _)| *a == q_ai) {
            return Err(Gs1Error::DuplicateAi { ai: q_ai.to_owned() });
        }
        let decoded = unescape(field, raw, Escaping::DigitalLink)?;
        check_cset82(field, &decoded, max)?;
        out.push((q_ai, raw));
    }
    Ok(DlKey { kind, value, qualifiers: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = (Kind, String, Vec<(&'static str, String)>);

    fn key(s: &str) -> Result<Parsed, Gs1Error> {
        parse(s)
            .map(|k| (k.kind, k.value.to_owned(), k.qualifiers.iter().map(|(a, v)| (*a, (*v).to_owned())).collect()))
    }

    #[test]
    fn finds_primary_after_any_prefix() {
        let (kind, value, q) =
            key("https://brand.example/some/prefix/01/09506000134352/10/LOT1/21/ABC?17=251231#x").expect("valid");
        assert_eq!(kind, Kind::Sgtin);
        assert_eq!(value, "09506000134352");
        assert_eq!(q, vec![("10", "LOT1".to_owned()), ("21", "ABC".to_owned())]);
        // Odd-length prefix, http, upper-case scheme, trailing slash.
        let (_, value, q) = key("HTTP://h/p/01/123/21/x/").expect("valid");
        assert_eq!((value.as_str(), q.len()), ("123", 1));
        // A prefix segment that looks like an AI is still prefix.
        let (kind, value, _) = key("https://h/00/01/414/9506000164908").expect("valid");
        assert_eq!((kind, value.as_str()), (Kind::Sgln, "9506000164908"));
    }

    #[test]
    fn structural_errors() {
        assert!(matches!(key("ftp://h/01/1/21/2"), Err(Gs1Error::Malformed { .. })));
        assert!(matches!(key("https:///01/1/21/2"), Err(Gs1Error::Malformed { reason: "empty host", .. })));
        assert!(matches!(key("https://h"), Err(Gs1Error::NoPrimaryKey { .. })));
        assert!(matches!(key("https://h/"), Err(Gs1Error::NoPrimaryKey { .. })));
        assert_eq!(
            key("https://h/products/123").map(|_| ()),
            Err(Gs1Error::NoPrimaryKey { segment: "products".to_owned() })
        );
        assert_eq!(
            key("https://h/01/1/21/2/99/x").map(|_| ()),
            Err(Gs1Error::NoPrimaryKey { segment: "99".to_owned() })
        );
        assert_eq!(
            key("https://h/01/1/254/2").map(|_| ()),
            Err(Gs1Error::UnexpectedAi { ai: "254".to_owned(), primary: "01" })
        );
        assert_eq!(
            key("https://h/00/1/21/2").map(|_| ()),
            Err(Gs1Error::UnexpectedAi { ai: "21".to_owned(), primary: "00" })
        );
        assert_eq!(key("https://h/01/1/21/2/21/3").map(|_| ()), Err(Gs1Error::DuplicateAi { ai: "21".to_owned() }));
        assert!(matches!(key("https://h/01/1/10/a%2"), Err(Gs1Error::BadEscape { field: Field::Lot, index: 1 })));
        assert!(matches!(key("https://h/01/1/10/"), Err(Gs1Error::NoPrimaryKey { .. })));
        assert!(matches!(key("https://h/01/1/10//21/x"), Err(Gs1Error::Empty { field: Field::Lot })));
        assert!(matches!(
            key("https://h/01/1 /21/x"),
            Err(Gs1Error::InvalidChar { field: Field::Uri, index: 14, ch: ' ' })
        ));
    }
}
