//! GS1 Digital Link URIs -> the constrained canonical form on
//! `https://id.gs1.org` (spec §4.7 steps I-VII, the second half of R's
//! `dl_normaliser.normaliser`), step by step as R does it, so that odd
//! inputs come out as they do there.

/// Primary keys (AIs and short names) that make an http(s) URI a Digital
/// Link candidate.
const KEYS: [&str; 28] = [
    "01", "gtin", "8006", "itip", "8010", "cpid", "414", "gln", "417", "party", "8017", "gsrnp", "8018", "gsrn", "255",
    "gcn", "00", "sscc", "253", "gdti", "401", "ginc", "402", "gsin", "8003", "grai", "8004", "giai",
];

/// Short names -> AIs, replaced in this order (R's `str.replace` chain).
const SHORT_NAMES: [(&str, &str); 17] = [
    ("/gtin/", "/01/"),
    ("/itip/", "/8006/"),
    ("/cpid/", "/8010/"),
    ("/gln/", "/414/"),
    ("/party/", "/417/"),
    ("/gsrnp/", "/8017/"),
    ("/gsrn/", "/8018/"),
    ("/gcn/", "/255/"),
    ("/sscc/", "/00/"),
    ("/gdti/", "/253/"),
    ("/ginc/", "/401/"),
    ("/gsin/", "/402/"),
    ("/grai/", "/8003/"),
    ("/giai/", "/8004/"),
    ("/cpv/", "/22/"),
    ("/lot/", "/10/"),
    ("/ser/", "/21/"),
];

/// Primary-key AIs in the order R looks for them to cut off a custom host.
const HOST_CUT_ORDER: [&str; 14] =
    ["00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017", "8018"];

/// AIs a URI on `https://id.gs1.org` may start with to be left as it is.
const CANONICAL_KEYS: [&str; 14] =
    ["01", "8006", "8010", "414", "417", "8017", "8018", "255", "00", "253", "401", "402", "8003", "8004"];

const HOST: &str = "https://id.gs1.org";

/// The constrained canonical Digital Link of an http(s) URI, or `None` when
/// it is not one (R then leaves the value unchanged).
pub(super) fn digital_link(uri: &str) -> Option<String> {
    if !is_candidate(uri) {
        return None;
    }
    // (I) drop the query string.
    let mut uri = uri.split('?').next().unwrap_or_default().to_owned();
    // (II) short names -> AIs.
    for (name, ai) in SHORT_NAMES {
        uri = uri.replace(name, ai);
    }
    // (III) custom host -> id.gs1.org: cut at the first key found.
    if !CANONICAL_KEYS.iter().any(|key| key_follows(&uri, &format!("{HOST}/{key}/")))
        && let Some(at) = HOST_CUT_ORDER.iter().find_map(|key| uri.find(&format!("/{key}/")))
    {
        uri = format!("{HOST}{}", uri.get(at..).unwrap_or_default());
    }
    // (IV) GTIN-8/12/13 -> 14 digits (R replaces every `/01/`).
    if let Some(rest) = uri.strip_prefix(&format!("{HOST}/01/")) {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let padding = match digits {
            14.. => "",
            13 => "0",
            12 => "00",
            8..=11 => "000000",
            _ => "",
        };
        if !padding.is_empty() {
            uri = uri.replace("/01/", &format!("/01/{padding}"));
        }
    }
    // (V) drop the consumer product variant.
    if let Some((key, rest)) = split_after_key(&uri, "/22/") {
        if chars(rest, 20, false) {
            uri = key.to_owned();
        } else if chars(rest, 20, true) {
            let tail = rest.find('/').and_then(|at| rest.get(at..)).unwrap_or_default();
            uri = format!("{key}{tail}");
        }
    }
    // (VI) lot and serial -> serial only.
    if let Some((key, rest)) = split_after_key(&uri, "/10/")
        && let Some((lot, serial)) = rest.split_once("/21/")
        && chars(lot, 20, false)
        && chars(serial, 20, false)
    {
        uri = format!("{key}/21/{serial}");
    }
    // (VII) accept only the final shapes.
    is_final(&uri).then_some(uri)
}

/// R's first test: `http(s):`, and somewhere before the query a path
/// segment `/{key}/` followed by 4 digits and at least one more character
/// that is not `/`.
fn is_candidate(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("https:").or_else(|| uri.strip_prefix("http:")) else { return false };
    let path_end = rest.find(['?', '#']).unwrap_or(rest.len());
    KEYS.iter().any(|key| {
        let needle = format!("/{key}/");
        rest.match_indices(&needle).any(|(at, _)| at < path_end && key_value_starts(rest.get(at + needle.len()..)))
    })
}

/// Whether `uri` starts with `prefix` followed by R's key value pattern.
fn key_follows(uri: &str, prefix: &str) -> bool {
    key_value_starts(uri.strip_prefix(prefix))
}

/// `\d{4}[^/]+` at the start of `text`.
fn key_value_starts(text: Option<&str>) -> bool {
    let Some(text) = text else { return false };
    let bytes = text.as_bytes();
    bytes.len() > 4 && bytes.iter().take(4).all(u8::is_ascii_digit) && bytes.get(4).is_some_and(|b| *b != b'/')
}

/// For `https://id.gs1.org/01/{14 digits}{qualifier}...` or
/// `.../8006/{18 digits}{qualifier}...`: (the URI up to the qualifier, what
/// follows the qualifier).
fn split_after_key<'a>(uri: &'a str, qualifier: &str) -> Option<(&'a str, &'a str)> {
    let (ai, digits) = if uri.starts_with(&format!("{HOST}/01/")) {
        ("01", 14)
    } else if uri.starts_with(&format!("{HOST}/8006/")) {
        ("8006", 18)
    } else {
        return None;
    };
    let key_end = HOST.len() + ai.len() + 2 + digits;
    let key = uri.get(..key_end)?;
    let value = key.get(HOST.len() + ai.len() + 2..)?;
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = uri.get(key_end..)?.strip_prefix(qualifier)?;
    Some((key, rest))
}

/// At most `max` characters of R's Digital Link value class
/// (`" ' - . 0-9 ; < = > ? A-Z _ a-z`, plus `/` if `slash`).
fn chars(text: &str, max: usize, slash: bool) -> bool {
    text.len() <= max && text.bytes().all(|b| is_value_char(b) || (slash && b == b'/'))
}

fn is_value_char(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'-' | b'.' | b'0'..=b'9' | b';'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

fn digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

/// `text` is `len` digits followed by at most `max` more value characters.
fn digits_then(text: &str, len: usize, max: usize) -> bool {
    text.get(..len).is_some_and(|head| digits(head, len)) && text.get(len..).is_some_and(|tail| chars(tail, max, false))
}

/// `text` is `len` digits, optionally followed by `/{ai}/` and at most `max`
/// value characters for one of the qualifiers `ais`.
fn digits_with_qualifier(text: &str, len: usize, ais: &[(&str, usize)]) -> bool {
    let (Some(head), Some(tail)) = (text.get(..len), text.get(len..)) else { return false };
    if !digits(head, len) {
        return false;
    }
    tail.is_empty()
        || ais.iter().any(|(ai, max)| {
            tail.strip_prefix('/')
                .and_then(|t| t.strip_prefix(ai))
                .and_then(|t| t.strip_prefix('/'))
                .is_some_and(|value| chars(value, *max, false))
        })
}

/// R's final syntax check (spec §4.7 step VII).
fn is_final(uri: &str) -> bool {
    let Some(path) = uri.strip_prefix(HOST).and_then(|p| p.strip_prefix('/')) else { return false };
    let Some((ai, value)) = path.split_once('/') else { return false };
    match ai {
        "00" => digits(value, 18),
        "01" => digits_with_qualifier(value, 14, &[("21", 20), ("10", 20), ("235", 28)]),
        "253" => digits_then(value, 13, 17),
        "255" => (13..=25).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()),
        "401" | "8004" => chars(value, 30, false),
        "402" => digits(value, 17),
        "414" => digits_with_qualifier(value, 13, &[("254", 20)]),
        "417" => digits(value, 13),
        "8003" => digits_then(value, 14, 16),
        "8006" => digits_with_qualifier(value, 18, &[("21", 20), ("10", 20)]),
        "8010" => {
            let cpid = |text: &str| {
                text.len() <= 30 && text.bytes().all(|b| matches!(b, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z'))
            };
            match value.rsplit_once("/8011/") {
                Some((id, serial)) if cpid(id) && serial.len() <= 12 && serial.bytes().all(|b| b.is_ascii_digit()) => {
                    true
                }
                _ => cpid(value),
            }
        }
        "8017" | "8018" => digits(value, 18),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_as_r_does() {
        let cases = [
            (
                "https://example.com/gtin/09780345418913/21/765tz?abc=211121",
                "https://id.gs1.org/01/09780345418913/21/765tz",
            ),
            ("https://id.gs1.de/00/040123451111111110", "https://id.gs1.org/00/040123451111111110"),
            ("https://id.example.com/253/4012345000054987", "https://id.gs1.org/253/4012345000054987"),
            ("https://id.gs1.org/01/9780345418913", "https://id.gs1.org/01/09780345418913"),
            ("https://x.example/01/09780345418913/22/abc/10/L1/21/S1", "https://id.gs1.org/01/09780345418913/21/S1"),
            ("https://id.gs1.org/01/09780345418913/10/L1/21/S1", "https://id.gs1.org/01/09780345418913/21/S1"),
        ];
        for (input, expected) in cases {
            assert_eq!(digital_link(input).as_deref(), Some(expected), "{input}");
        }
        // A serial with an escape fails R's final check: left unchanged.
        assert_eq!(digital_link("https://id.gs1.org/01/09780345418913/21/a%2Fb"), None);
        assert_eq!(digital_link("https://www.ncbi.nlm.nih.gov/taxonomy/1126011"), None);
        assert_eq!(digital_link("http://www.opengis.net/def/crs/EPSG/0/27700"), None);
    }
}
