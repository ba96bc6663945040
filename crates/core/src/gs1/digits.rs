//! Numeric GS1 keys: the mod-10 check digit, [`Gtin`] and [`Gln`].

use std::fmt;
use std::str::FromStr;

use super::{Field, Gs1Error};

/// The longest body [`check_digit`] accepts (an SSCC without its check digit).
const MAX_BODY: usize = 17;

/// The GS1 mod-10 check digit of `body` (the key without its check digit).
///
/// Digits are weighted 3, 1, 3, 1, ... from the right, so the result does
/// not depend on left zero padding: GTIN-8, -12, -13 and -14, GLN and SSCC
/// all use this one function. `body` must be 1 to 17 ASCII digits.
pub fn check_digit(body: &str) -> Result<u8, Gs1Error> {
    if body.is_empty() {
        return Err(Gs1Error::Empty { field: Field::Body });
    }
    all_digits(Field::Body, body)?;
    if body.len() > MAX_BODY {
        return Err(Gs1Error::BadLength { field: Field::Body, len: body.len(), expected: "1 to 17" });
    }
    Ok(compute_check(body.as_bytes()))
}

/// Check digit of ASCII digits (caller has checked they are digits).
pub(crate) fn compute_check(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d.wrapping_sub(b'0'));
            if i % 2 == 0 { 3 * v } else { v }
        })
        .sum();
    // sum % 10 < 10, so the cast is lossless.
    ((10 - sum % 10) % 10) as u8
}

/// Fails with [`Gs1Error::NonDigit`] at the first non-ASCII-digit.
pub(crate) fn all_digits(field: Field, s: &str) -> Result<(), Gs1Error> {
    match s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        Some((index, ch)) => Err(Gs1Error::NonDigit { field, index, ch }),
        None => Ok(()),
    }
}

/// Parses a digit string of one of `lens` lengths ending in a valid check
/// digit, left-padded with `0` to `N` digits.
pub(crate) fn parse_keyed<const N: usize>(
    field: Field,
    s: &str,
    lens: &[usize],
    expected: &'static str,
) -> Result<[u8; N], Gs1Error> {
    if s.is_empty() {
        return Err(Gs1Error::Empty { field });
    }
    all_digits(field, s)?;
    let bytes = s.as_bytes();
    if !lens.contains(&bytes.len()) || bytes.len() > N {
        return Err(Gs1Error::BadLength { field, len: bytes.len(), expected });
    }
    let (body, check) = bytes.split_at(bytes.len() - 1);
    let found = check.first().map_or(0, |c| c - b'0');
    let want = compute_check(body);
    if found != want {
        return Err(Gs1Error::BadCheckDigit { field, found, expected: want });
    }
    let mut out = [b'0'; N];
    out[N - bytes.len()..].copy_from_slice(bytes);
    Ok(out)
}

/// Appends the check digit to a body of one of `lens` digits (each < `N`),
/// left-padding the result with `0` to `N` digits.
pub(crate) fn from_body<const N: usize>(
    body: &str,
    lens: &[usize],
    expected: &'static str,
) -> Result<[u8; N], Gs1Error> {
    if body.is_empty() {
        return Err(Gs1Error::Empty { field: Field::Body });
    }
    all_digits(Field::Body, body)?;
    let b = body.as_bytes();
    if !lens.contains(&b.len()) || b.len() >= N {
        return Err(Gs1Error::BadLength { field: Field::Body, len: b.len(), expected });
    }
    let mut out = [b'0'; N];
    out[N - 1 - b.len()..N - 1].copy_from_slice(b);
    out[N - 1] = b'0' + compute_check(b);
    Ok(out)
}

/// The `&str` view of ASCII digits held in an array.
pub(crate) fn ascii(digits: &[u8]) -> &str {
    // Every constructor stores ASCII digits only, so this never fails.
    std::str::from_utf8(digits).unwrap_or_default()
}

/// A Global Trade Item Number, normalised to 14 digits.
///
/// GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14 are all accepted
/// and left-padded with zeros: `Gtin::parse("4006381333931")` and
/// `Gtin::parse("04006381333931")` are equal.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin([u8; 14]);

impl Gtin {
    /// Digits in the normalised form.
    pub const LEN: usize = 14;

    /// Parses an 8, 12, 13 or 14 digit GTIN with a correct check digit.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        parse_keyed(Field::Gtin, s, &[8, 12, 13, 14], "8, 12, 13 or 14").map(Gtin)
    }

    /// Builds a GTIN from its digits without the check digit (7, 11, 12 or
    /// 13 digits), computing the check digit.
    pub fn from_body(body: &str) -> Result<Self, Gs1Error> {
        from_body(body, &[7, 11, 12, 13], "7, 11, 12 or 13").map(Gtin)
    }

    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }

    /// The indicator digit (first of the 14), 0 to 9.
    pub fn indicator(&self) -> u8 {
        self.0[0] - b'0'
    }

    /// The 14 digits as ASCII bytes.
    pub(crate) fn bytes(&self) -> &[u8; 14] {
        &self.0
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gtin({})", self.as_str())
    }
}

impl FromStr for Gtin {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Gtin::parse(s)
    }
}

/// A 13-digit Global Location Number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gln([u8; 13]);

impl Gln {
    /// Digits in a GLN.
    pub const LEN: usize = 13;

    /// Parses 13 digits with a correct check digit.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        parse_keyed(Field::Gln, s, &[13], "13").map(Gln)
    }

    /// Builds a GLN from its first 12 digits, computing the check digit.
    pub fn from_body(body: &str) -> Result<Self, Gs1Error> {
        from_body(body, &[12], "12").map(Gln)
    }

    /// The 13 digits.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }

    /// The 13 digits as ASCII bytes.
    pub(crate) fn bytes(&self) -> &[u8; 13] {
        &self.0
    }
}

impl fmt::Display for Gln {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Gln {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gln({})", self.as_str())
    }
}

impl FromStr for Gln {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Gln::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_known_values() {
        // GS1 General Specifications worked example: GTIN-13 body 629104150021 -> 3.
        assert_eq!(check_digit("629104150021"), Ok(3));
        // EAN-13 4006381333931.
        assert_eq!(check_digit("400638133393"), Ok(1));
        // UPC-A 036000291452.
        assert_eq!(check_digit("03600029145"), Ok(2));
        // TDS examples.
        assert_eq!(check_digit("1061414112345"), Ok(9));
        assert_eq!(check_digit("8061414112345"), Ok(8));
        assert_eq!(check_digit("10614141234567890"), Ok(8));
        assert_eq!(check_digit("061414112345"), Ok(2));
        // Zero padding does not change the digit.
        assert_eq!(check_digit("00400638133393"), Ok(1));
        assert_eq!(check_digit("0"), Ok(0));
    }

    #[test]
    fn check_digit_rejects_bad_bodies() {
        assert_eq!(check_digit(""), Err(Gs1Error::Empty { field: Field::Body }));
        assert_eq!(check_digit("12a"), Err(Gs1Error::NonDigit { field: Field::Body, index: 2, ch: 'a' }));
        assert!(matches!(
            check_digit("123456789012345678"),
            Err(Gs1Error::BadLength { field: Field::Body, len: 18, .. })
        ));
        // Unicode digits are not ASCII digits.
        assert!(matches!(check_digit("١٢٣"), Err(Gs1Error::NonDigit { index: 0, .. })));
    }

    #[test]
    fn gtin_lengths_normalise_to_14() {
        let g13 = Gtin::parse("4006381333931").expect("valid EAN-13");
        assert_eq!(g13.as_str(), "04006381333931");
        assert_eq!(Gtin::parse("04006381333931"), Ok(g13));
        let g12 = Gtin::parse("036000291452").expect("valid UPC-A");
        assert_eq!(g12.as_str(), "00036000291452");
        let g8 = Gtin::parse("96385074").expect("valid GTIN-8");
        assert_eq!(g8.as_str(), "00000096385074");
        assert_eq!(g8.to_string(), "00000096385074");
        assert_eq!(Gtin::from_body("9638507"), Ok(g8));
        assert_eq!(Gtin::from_body("1061414112345").map(|g| g.indicator()), Ok(1));
    }

    #[test]
    fn gtin_errors_are_typed() {
        assert_eq!(
            Gtin::parse("4006381333932"),
            Err(Gs1Error::BadCheckDigit { field: Field::Gtin, found: 2, expected: 1 })
        );
        assert!(matches!(Gtin::parse("40063813339"), Err(Gs1Error::BadLength { field: Field::Gtin, len: 11, .. })));
        assert!(matches!(Gtin::parse("123456789"), Err(Gs1Error::BadLength { len: 9, .. })));
        assert!(matches!(Gtin::parse("123456789012345"), Err(Gs1Error::BadLength { len: 15, .. })));
        assert_eq!(Gtin::parse(""), Err(Gs1Error::Empty { field: Field::Gtin }));
        assert_eq!(Gtin::parse("40063813339x1"), Err(Gs1Error::NonDigit { field: Field::Gtin, index: 11, ch: 'x' }));
        assert!(matches!(Gtin::parse(" 4006381333931"), Err(Gs1Error::NonDigit { index: 0, .. })));
        assert!(matches!(Gtin::from_body("12345678"), Err(Gs1Error::BadLength { len: 8, .. })));
        assert!(matches!(Gtin::from_body(""), Err(Gs1Error::Empty { .. })));
    }

    #[test]
    fn gln_parse_and_body() {
        let gln = Gln::parse("0614141123452").expect("valid GLN");
        assert_eq!(Gln::from_body("061414112345"), Ok(gln));
        assert_eq!(gln.as_str(), "0614141123452");
        assert!(matches!(Gln::parse("0614141123453"), Err(Gs1Error::BadCheckDigit { .. })));
        assert!(matches!(Gln::parse("06141411234520"), Err(Gs1Error::BadLength { .. })));
        assert!(matches!(Gln::from_body("06141411234"), Err(Gs1Error::BadLength { .. })));
    }
}
