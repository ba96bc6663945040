//! GS1 identifiers -> the constrained canonical GS1 Digital Link the hash
//! uses (spec §4.7, R `dl_normaliser.normaliser`).
//!
//! Written out here rather than taken from `veritrace_core::gs1`: the hash
//! must reproduce R's output byte for byte, which escapes fewer characters
//! than a canonical Digital Link (`'` stays, `%22` is kept as sent), and
//! covers keys the core does not model (GRAI, GIAI, GDTI, CPI, ...). Only the
//! check digit comes from the core.

use veritrace_core::gs1::check_digit;

use super::digital_link::digital_link;

const HOST: &str = "https://id.gs1.org";

/// `value` as a Digital Link on `https://id.gs1.org`, if it is an EPC URI,
/// EPC class or pattern URI, or a Digital Link URI with a GS1 key; `None`
/// leaves the value as it is.
pub(super) fn normalise(value: &str) -> Option<String> {
    // R starts with `uri.index('.')`, so a value without a dot is never an
    // identifier there.
    if !value.contains('.') {
        return None;
    }
    if let Some(body) = value.strip_prefix("urn:epc:id:") {
        return epc_id(body);
    }
    if let Some(body) = value.strip_prefix("urn:epc:class:lgtin:") {
        let (gtin, lot) = gtin_and_serial(body, 20)?;
        return Some(format!("{HOST}/01/{gtin}/10/{}", escape(lot)));
    }
    if let Some(body) = value.strip_prefix("urn:epc:idpat:") {
        return epc_pattern(body);
    }
    if value.starts_with("http:") || value.starts_with("https:") {
        return digital_link(value);
    }
    None
}

/// `urn:epc:id:{scheme}:{body}`.
fn epc_id(body: &str) -> Option<String> {
    let (scheme, body) = body.split_once(':')?;
    let path = match scheme {
        "sgtin" => {
            let (gtin, serial) = gtin_and_serial(body, 20)?;
            format!("/01/{gtin}/21/{}", escape(serial))
        }
        "upui" => {
            let (gtin, serial) = gtin_and_serial(body, 28)?;
            format!("/01/{gtin}/235/{}", escape(serial))
        }
        "sscc" => {
            let (cp, serial_ref) = company_and_digits(body, 17)?;
            let (extension, rest) = serial_ref.split_at_checked(1)?;
            format!("/00/{}", with_check(&format!("{extension}{cp}{rest}"))?)
        }
        "sgln" => {
            let (gln, extension) = keyed_with_serial(body, 12, 20)?;
            if extension == "0" { format!("/414/{gln}") } else { format!("/414/{gln}/254/{}", escape(extension)) }
        }
        // The GRAI key is `0` + CP + asset type + check digit; the leading
        // zero does not change the check digit (weights run from the right).
        "grai" => {
            let (key, serial) = keyed_with_serial(body, 12, 16)?;
            format!("/8003/0{key}{}", escape(serial))
        }
        "gdti" => {
            let (key, serial) = keyed_with_serial(body, 12, 20)?;
            format!("/253/{key}{}", escape(serial))
        }
        "sgcn" => {
            let (key, serial) = keyed_with_serial(body, 12, 12)?;
            if !serial.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            format!("/255/{key}{serial}")
        }
        "giai" | "ginc" => {
            let (cp, reference) = body.split_once('.')?;
            company_prefix(cp)?;
            epc_chars(reference, 1, 30 - cp.len())?;
            let ai = if scheme == "giai" { "8004" } else { "401" };
            format!("/{ai}/{cp}{}", escape(reference))
        }
        "gsrn" | "gsrnp" => {
            let (cp, reference) = company_and_digits(body, 17)?;
            let ai = if scheme == "gsrn" { "8018" } else { "8017" };
            format!("/{ai}/{}", with_check(&format!("{cp}{reference}"))?)
        }
        "gsin" => {
            let (cp, reference) = company_and_digits(body, 16)?;
            format!("/402/{}", with_check(&format!("{cp}{reference}"))?)
        }
        "pgln" => {
            let (cp, reference) = company_and_digits_allow_empty(body, 12)?;
            format!("/417/{}", with_check(&format!("{cp}{reference}"))?)
        }
        "cpi" => {
            let (cp, rest) = body.split_once('.')?;
            let (reference, serial) = rest.rsplit_once('.')?;
            company_prefix(cp)?;
            cpi_chars(reference, 30 - cp.len())?;
            if serial.is_empty() || serial.len() > 12 || !serial.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            format!("/8010/{}/8011/{serial}", escape(&format!("{cp}{reference}")))
        }
        "itip" => {
            let (cp, rest) = body.split_once('.')?;
            let (item_ref, rest) = rest.split_once('.')?;
            let (piece, rest) = rest.split_once('.')?;
            let (total, serial) = rest.split_once('.')?;
            let gtin = gtin(cp, item_ref)?;
            two_digits(piece)?;
            two_digits(total)?;
            epc_chars(serial, 1, 20)?;
            format!("/8006/{gtin}{piece}{total}/21/{}", escape(serial))
        }
        _ => return None,
    };
    Some(format!("{HOST}{path}"))
}

/// `urn:epc:idpat:{scheme}:{body}` naming a whole class (`...*`).
fn epc_pattern(body: &str) -> Option<String> {
    let (scheme, body) = body.split_once(':')?;
    let body = body.strip_suffix(".*")?;
    let path = match scheme {
        "sgtin" | "upui" => {
            let (cp, item_ref) = body.split_once('.')?;
            format!("/01/{}", gtin(cp, item_ref)?)
        }
        "grai" => format!("/8003/0{}", keyed(body, 12)?),
        "gdti" => format!("/253/{}", keyed(body, 12)?),
        "sgcn" => format!("/255/{}", keyed(body, 12)?),
        "cpi" => {
            let (cp, reference) = body.split_once('.')?;
            company_prefix(cp)?;
            cpi_chars(reference, 30 - cp.len())?;
            format!("/8010/{}", escape(&format!("{cp}{reference}")))
        }
        "itip" => {
            let (cp, rest) = body.split_once('.')?;
            let (item_ref, rest) = rest.split_once('.')?;
            let (piece, total) = rest.split_once('.')?;
            two_digits(piece)?;
            two_digits(total)?;
            format!("/8006/{}{piece}{total}", gtin(cp, item_ref)?)
        }
        _ => return None,
    };
    Some(format!("{HOST}{path}"))
}

/// `CP.ItemRef.Serial` -> (GTIN-14, serial), the serial 1..=`max` EPC
/// characters.
fn gtin_and_serial(body: &str, max: usize) -> Option<(String, &str)> {
    let (cp, rest) = body.split_once('.')?;
    let (item_ref, serial) = rest.split_once('.')?;
    let gtin = gtin(cp, item_ref)?;
    epc_chars(serial, 1, max)?;
    Some((gtin, serial))
}

/// GTIN-14 from company prefix and item reference (indicator digit first).
fn gtin(cp: &str, item_ref: &str) -> Option<String> {
    company_prefix(cp)?;
    if cp.len() + item_ref.len() != 13 || !item_ref.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (indicator, rest) = item_ref.split_at_checked(1)?;
    with_check(&format!("{indicator}{cp}{rest}"))
}

/// `CP.Ref.Serial` with CP + Ref = `total` digits (Ref may be empty) ->
/// (CP + Ref + check digit, serial of 1..=`max` EPC characters).
fn keyed_with_serial(body: &str, total: usize, max: usize) -> Option<(String, &str)> {
    let (cp, rest) = body.split_once('.')?;
    let (reference, serial) = rest.split_once('.')?;
    let key = keyed(&format!("{cp}.{reference}"), total)?;
    epc_chars(serial, 1, max)?;
    Some((key, serial))
}

/// `CP.Ref` with CP + Ref = `total` digits (Ref may be empty) -> CP + Ref +
/// check digit.
fn keyed(body: &str, total: usize) -> Option<String> {
    let (cp, reference) = company_and_digits_allow_empty(body, total)?;
    with_check(&format!("{cp}{reference}"))
}

/// `CP.Ref`, both digits, CP + Ref = `total`, Ref not empty.
fn company_and_digits(body: &str, total: usize) -> Option<(&str, &str)> {
    let (cp, reference) = company_and_digits_allow_empty(body, total)?;
    (!reference.is_empty()).then_some((cp, reference))
}

fn company_and_digits_allow_empty(body: &str, total: usize) -> Option<(&str, &str)> {
    let (cp, reference) = body.split_once('.')?;
    company_prefix(cp)?;
    let digits = reference.bytes().all(|b| b.is_ascii_digit());
    (digits && cp.len() + reference.len() == total).then_some((cp, reference))
}

/// A GS1 company prefix: 6 to 12 digits.
fn company_prefix(cp: &str) -> Option<()> {
    ((6..=12).contains(&cp.len()) && cp.bytes().all(|b| b.is_ascii_digit())).then_some(())
}

fn two_digits(text: &str) -> Option<()> {
    (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit())).then_some(())
}

/// `body` followed by its GS1 check digit.
fn with_check(body: &str) -> Option<String> {
    let digit = check_digit(body).ok()?;
    Some(format!("{body}{digit}"))
}

/// Checks `text` is `min..=max` characters of the EPC URI serial alphabet
/// (R's pattern: `!'()*+,-.0-9:;=A-Za-z_` or a `%XX` escape of an allowed
/// character, which counts as one).
fn epc_chars(text: &str, min: usize, max: usize) -> Option<()> {
    count_chars(
        text,
        |b| b"!'()*+,-.:;=_".contains(&b) || b.is_ascii_alphanumeric(),
        |hi, lo| match hi {
            b'2' => matches!(lo, b'1' | b'2' | b'5'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
            b'3' => lo.is_ascii_hexdigit(),
            b'4' | b'6' => matches!(lo, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
            b'5' => matches!(lo, b'0'..=b'9' | b'A' | b'a' | b'F' | b'f'),
            b'7' => matches!(lo, b'0'..=b'9' | b'A' | b'a'),
            _ => false,
        },
    )
    .filter(|count| (min..=max).contains(count))
    .map(|_| ())
}

/// Checks a CPI component reference: 1..=`max` of `0-9 A-Z -` or the
/// escapes `%23` (#), `%2D`, `%2F` (/), ... R allows.
fn cpi_chars(text: &str, max: usize) -> Option<()> {
    count_chars(
        text,
        |b| b == b'-' || b.is_ascii_digit() || b.is_ascii_uppercase(),
        |hi, lo| match hi {
            b'2' => matches!(lo, b'3' | b'd' | b'f' | b'D' | b'F'),
            b'3' => lo.is_ascii_digit(),
            b'4' => matches!(lo, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
            b'5' => matches!(lo, b'0'..=b'9' | b'A' | b'a'),
            _ => false,
        },
    )
    .filter(|count| (1..=max).contains(count))
    .map(|_| ())
}

/// Number of characters in `text` (a `%XX` escape counts as one), if every
/// plain byte passes `plain` and every escape `escape`.
fn count_chars(text: &str, plain: impl Fn(u8) -> bool, escape: impl Fn(u8, u8) -> bool) -> Option<usize> {
    let mut bytes = text.bytes();
    let mut count = 0;
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let (hi, lo) = (bytes.next()?, bytes.next()?);
            if !escape(hi, lo) {
                return None;
            }
        } else if !plain(byte) {
            return None;
        }
        count += 1;
    }
    Some(count)
}

/// R's `webURIPercentEncoder`: the characters a Digital Link path must
/// escape that EPC URIs allow; other escapes stay as sent.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '!' => out.push_str("%21"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '*' => out.push_str("%2A"),
            '+' => out.push_str("%2B"),
            ',' => out.push_str("%2C"),
            ':' => out.push_str("%3A"),
            _ => out.push(c),
        }
    }
    out
}
