//! GS1 AI encodable character set 82, [`Serial`], [`GlnExtension`] and
//! the percent escaping of EPC URIs and Digital Link URIs.

use std::fmt;
use std::fmt::Write as _;

use super::{Field, Gs1Error};

/// Whether `c` is in GS1 AI encodable character set 82 (GS1 General
/// Specifications figure 7.11-1): `! " % & ' ( ) * + , - . /`, `0-9`,
/// `: ; < = > ?`, `A-Z`, `_`, `a-z`.
pub fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '"'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '<'
                | '='
                | '>'
                | '?'
                | '_'
        )
}

/// Checks a decoded value: 1 to `max` characters, all in set 82.
pub(crate) fn check_cset82(field: Field, s: &str, max: usize) -> Result<(), Gs1Error> {
    if s.is_empty() {
        return Err(Gs1Error::Empty { field });
    }
    if let Some((index, ch)) = s.chars().enumerate().find(|(_, c)| !is_cset82(*c)) {
        return Err(Gs1Error::InvalidChar { field, index, ch });
    }
    // All ASCII now, so bytes == characters.
    if s.len() > max {
        return Err(Gs1Error::TooLong { field, len: s.len(), max });
    }
    Ok(())
}

/// The escaping rules of a URI form.
#[derive(Clone, Copy)]
pub(crate) enum Escaping {
    /// EPC Tag Data Standard: `"` `%` `&` `/` `<` `>` `?` must be escaped.
    Epc,
    /// RFC 3986 path segment, as GS1 Digital Link uses it.
    DigitalLink,
}

impl Escaping {
    /// Set-82 characters that may not appear raw in this form.
    fn must_escape(self, b: u8) -> bool {
        match self {
            Escaping::Epc => matches!(b, b'"' | b'&' | b'/' | b'<' | b'>' | b'?'),
            // `/` and `?` cannot reach a segment (they split the URI), and
            // the sub-delims and `:` are legal in a path segment.
            Escaping::DigitalLink => matches!(b, b'"' | b'<' | b'>' | b'/' | b'?'),
        }
    }

    /// Characters written raw in canonical output.
    fn keep_raw(self, c: char) -> bool {
        match self {
            Escaping::Epc => !matches!(c, '"' | '%' | '&' | '/' | '<' | '>' | '?'),
            Escaping::DigitalLink => c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'),
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes one URI component; the result still needs
/// [`check_cset82`].
pub(crate) fn unescape(field: Field, raw: &str, esc: Escaping) -> Result<String, Gs1Error> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_val);
            let lo = bytes.get(i + 2).copied().and_then(hex_val);
            match (hi, lo) {
                (Some(h), Some(l)) => out.push((h << 4) | l),
                _ => return Err(Gs1Error::BadEscape { field, index: i }),
            }
            i += 3;
        } else {
            if esc.must_escape(b) {
                return Err(Gs1Error::MustEscape { field, index: i, ch: char::from(b) });
            }
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Gs1Error::NotUtf8 { field })
}

/// Percent-encodes a set-82 value canonically for `esc`.
///
/// In a Digital Link path a value made only of dots (`.`, `..`) would be a
/// dot segment that URI normalisation removes, so its dots are written
/// `%2E`. (WHATWG URL parsers treat `%2e` as a dot segment too: such
/// serials survive this module's parsers and RFC 3986 tools, not browsers.)
pub(crate) fn escape(s: &str, esc: Escaping) -> String {
    let all_dots = matches!(esc, Escaping::DigitalLink) && s.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(s.len() * 3);
    for c in s.chars() {
        if esc.keep_raw(c) && !all_dots {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

macro_rules! cset82_string {
    ($(#[$doc:meta])* $name:ident, $field:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Maximum length in characters.
            pub const MAX_LEN: usize = $max;

            /// Validates an unescaped value: 1 to 20 characters from set 82.
            pub fn parse(s: &str) -> Result<Self, Gs1Error> {
                check_cset82($field, s, Self::MAX_LEN)?;
                Ok(Self(s.to_owned()))
            }

            /// Percent-decodes a URI component, then validates it.
            pub(crate) fn unescape(raw: &str, esc: Escaping) -> Result<Self, Gs1Error> {
                let decoded = unescape($field, raw, esc)?;
                check_cset82($field, &decoded, Self::MAX_LEN)?;
                Ok(Self(decoded))
            }

            /// The value (unescaped; ASCII only).
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value escaped for an EPC pure identity URI.
            pub fn to_epc_escaped(&self) -> String {
                escape(&self.0, Escaping::Epc)
            }

            /// The value percent-encoded for a Digital Link path segment.
            pub fn to_dl_escaped(&self) -> String {
                escape(&self.0, Escaping::DigitalLink)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Gs1Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

cset82_string!(
    /// A GS1 serial number (AI 21): 1 to 20 characters from character set 82.
    ///
    /// Held unescaped. Set 82 is printable ASCII, so a serial never contains
    /// control bytes, whitespace or non-ASCII.
    Serial,
    Field::Serial,
    20
);

cset82_string!(
    /// A GLN extension (AI 254): 1 to 20 characters from character set 82.
    ///
    /// [`Sgln`](super::Sgln) treats the extension `0` as "no extension", the
    /// EPC convention, so an `Sgln` never holds `GlnExtension("0")`.
    GlnExtension,
    Field::GlnExtension,
    20
);

#[cfg(test)]
mod tests {
    use super::*;

    const CSET82: &str = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn cset82_has_exactly_82_members() {
        assert_eq!(CSET82.len(), 82);
        assert!(CSET82.chars().all(is_cset82));
        let count = (0u32..0x110000).filter_map(char::from_u32).filter(|c| is_cset82(*c)).count();
        assert_eq!(count, 82);
        for c in [' ', '#', '$', '@', '[', '\\', ']', '^', '`', '{', '|', '}', '~', '\u{7f}', 'é'] {
            assert!(!is_cset82(c), "{c:?}");
        }
    }

    #[test]
    fn serial_limits() {
        assert_eq!(Serial::parse("").map(|_| ()), Err(Gs1Error::Empty { field: Field::Serial }));
        assert!(Serial::parse(&"a".repeat(20)).is_ok());
        assert_eq!(
            Serial::parse(&"a".repeat(21)).map(|_| ()),
            Err(Gs1Error::TooLong { field: Field::Serial, len: 21, max: 20 })
        );
        assert_eq!(
            Serial::parse("ab c").map(|_| ()),
            Err(Gs1Error::InvalidChar { field: Field::Serial, index: 2, ch: ' ' })
        );
        assert_eq!(
            Serial::parse("ééé").map(|_| ()),
            Err(Gs1Error::InvalidChar { field: Field::Serial, index: 0, ch: 'é' })
        );
        assert!(Serial::parse(CSET82.get(..20).unwrap_or_default()).is_ok());
    }

    #[test]
    fn epc_escaping_round_trips_every_set82_char() {
        for c in CSET82.chars() {
            let s = Serial::parse(&c.to_string()).expect("set 82");
            let e = s.to_epc_escaped();
            assert_eq!(Serial::unescape(&e, Escaping::Epc), Ok(s.clone()), "{c:?} -> {e}");
            let d = s.to_dl_escaped();
            assert_eq!(Serial::unescape(&d, Escaping::DigitalLink), Ok(s), "{c:?} -> {d}");
        }
        let s = Serial::parse("a/b%\"&<>?c").expect("set 82");
        assert_eq!(s.to_epc_escaped(), "a%2Fb%25%22%26%3C%3E%3Fc");
        let s = Serial::parse("A-1.b_(x)!").expect("set 82");
        assert_eq!(s.to_dl_escaped(), "A-1.b_%28x%29%21");
        // Dot segments would vanish under URI normalisation.
        assert_eq!(Serial::parse(".").expect("set 82").to_dl_escaped(), "%2E");
        assert_eq!(Serial::parse("..").expect("set 82").to_dl_escaped(), "%2E%2E");
        assert_eq!(Serial::parse("...").expect("set 82").to_dl_escaped(), "%2E%2E%2E");
        assert_eq!(Serial::parse("..").expect("set 82").to_epc_escaped(), "..");
    }

    #[test]
    fn unescape_errors() {
        let f = Field::Serial;
        assert_eq!(unescape(f, "ab%", Escaping::Epc), Err(Gs1Error::BadEscape { field: f, index: 2 }));
        assert_eq!(unescape(f, "%4", Escaping::Epc), Err(Gs1Error::BadEscape { field: f, index: 0 }));
        assert_eq!(unescape(f, "a%zz", Escaping::Epc), Err(Gs1Error::BadEscape { field: f, index: 1 }));
        assert_eq!(unescape(f, "%C3%", Escaping::Epc), Err(Gs1Error::BadEscape { field: f, index: 3 }));
        assert_eq!(unescape(f, "%FF", Escaping::Epc), Err(Gs1Error::NotUtf8 { field: f }));
        assert_eq!(unescape(f, "a&b", Escaping::Epc), Err(Gs1Error::MustEscape { field: f, index: 1, ch: '&' }));
        assert_eq!(unescape(f, "a&b", Escaping::DigitalLink), Ok("a&b".to_owned()));
        assert_eq!(
            unescape(f, "a<b", Escaping::DigitalLink),
            Err(Gs1Error::MustEscape { field: f, index: 1, ch: '<' })
        );
        // Lower-case hex and needless escapes decode to the same value.
        assert_eq!(unescape(f, "%2f%41", Escaping::Epc), Ok("/A".to_owned()));
        // Decoded values outside set 82 are caught by the validator.
        assert_eq!(
            Serial::unescape("a%20b", Escaping::Epc).map(|_| ()),
            Err(Gs1Error::InvalidChar { field: f, index: 1, ch: ' ' })
        );
        assert_eq!(
            Serial::unescape("%C3%A9", Escaping::DigitalLink).map(|_| ()),
            Err(Gs1Error::InvalidChar { field: f, index: 0, ch: 'é' })
        );
    }
}
