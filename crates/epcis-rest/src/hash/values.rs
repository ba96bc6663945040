//! Leaf values as the pre-hash writes them (spec §4): the canonical text of
//! a value, numbers as Python prints them, timestamps rounded to the
//! millisecond, and the namespace prefixes an event declares.

use std::collections::HashMap;

use prost_types::Timestamp;
use veritrace_proto::v1 as pb;

use super::HashError;
use super::identifiers;

/// CBV URN vocabulary prefixes and the Web URI prefixes that replace them
/// (R `_try_format_web_vocabulary`). Business transaction ids
/// (`urn:epcglobal:cbv:bt:`) and master data (`...:mda:`) are not vocabulary
/// and stay as they are.
const CBV_URN_TO_WEB: [(&str, &str); 5] = [
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
];

// Prefixes of the standard EPCIS 2.0 context (the importer's own table):
// property names may use them without declaring them, as they may there.
use veritrace_epcis::STANDARD_PREFIXES;

/// Standard prefixes expanded in values even when the document does not
/// declare them (spec §4.6 recommendation; R leaves them unexpanded, which
/// makes `gs1:Temperature` and `Temperature` hash differently).
const VALUE_PREFIXES: [&str; 2] = ["gs1", "cbv"];

/// The namespace prefixes an event's extra `@context` entries declare.
#[derive(Debug, Default)]
pub(super) struct Namespaces {
    declared: HashMap<String, String>,
}

impl Namespaces {
    /// Reads `EpcisEvent.json_ld_context`: every object entry's string
    /// members (or `{"@id": ...}` definitions); later entries win, as in
    /// JSON-LD. Entries that are not JSON objects (remote context URIs)
    /// declare nothing we can read.
    pub(super) fn of_event(event: &pb::EpcisEvent) -> Self {
        let mut declared = HashMap::new();
        for entry in &event.json_ld_context {
            let Ok(serde_json::Value::Object(members)) = serde_json::from_str(entry) else { continue };
            for (prefix, definition) in members {
                let iri = match &definition {
                    serde_json::Value::String(iri) => iri.as_str(),
                    serde_json::Value::Object(term) => match term.get("@id") {
                        Some(serde_json::Value::String(iri)) => iri.as_str(),
                        _ => continue,
                    },
                    _ => continue,
                };
                declared.insert(prefix.clone(), iri.to_owned());
            }
        }
        Namespaces { declared }
    }

    /// A prefix's IRI for property names: declared, else standard.
    fn key_prefix(&self, prefix: &str) -> Option<&str> {
        self.declared.get(prefix).map(String::as_str).or_else(|| standard_prefix(prefix))
    }

    /// A prefix's IRI for values: declared, else `gs1` / `cbv`.
    fn value_prefix(&self, prefix: &str) -> Option<&str> {
        match self.declared.get(prefix) {
            Some(iri) => Some(iri),
            None if VALUE_PREFIXES.contains(&prefix) => standard_prefix(prefix),
            None => None,
        }
    }

    /// `prefix:rest` with a known value prefix -> `IRI + rest`; anything
    /// else unchanged (R `_namespace_replace` on values).
    pub(super) fn expand_value(&self, value: &str) -> String {
        if let Some((prefix, rest)) = value.split_once(':')
            && let Some(iri) = self.value_prefix(prefix)
        {
            return format!("{iri}{rest}");
        }
        value.to_owned()
    }

    /// A nested property name as R writes it: `{IRI}local` for
    /// `prefix:local` with a known prefix, else the name as written.
    pub(super) fn property_key(&self, name: &str) -> String {
        if let Some((prefix, local)) = name.split_once(':')
            && let Some(iri) = self.key_prefix(prefix)
        {
            return format!("{{{iri}}}{local}");
        }
        name.to_owned()
    }

    /// An extension's name as R writes it, `{IRI}local`, where IRI is the
    /// namespace the document declared. The importer splits the expanded
    /// name at its last `/`, `#` or `:`, which differs from the declared
    /// prefix when that does not end in one of them; so the longest known
    /// namespace the full IRI extends is preferred.
    pub(super) fn extension_key(&self, extension: &pb::Extension) -> String {
        let full = format!("{}{}", extension.namespace_uri, extension.name);
        let known = self.declared.values().map(String::as_str).chain(STANDARD_PREFIXES.iter().map(|(_, iri)| *iri));
        let best = known
            .filter(|iri| !iri.is_empty() && full.len() > iri.len() && full.starts_with(iri))
            .max_by_key(|iri| iri.len());
        match best {
            Some(iri) => format!("{{{iri}}}{}", full.get(iri.len()..).unwrap_or_default()),
            None => format!("{{{}}}{}", extension.namespace_uri, extension.name),
        }
    }
}

fn standard_prefix(prefix: &str) -> Option<&'static str> {
    STANDARD_PREFIXES.iter().find(|(name, _)| *name == prefix).map(|(_, iri)| *iri)
}

/// `canon(v)` of spec §4.1 for a text leaf: trimmed, CBV URNs as Web URIs,
/// numbers as Python prints them, GS1 identifiers as constrained canonical
/// Digital Link URIs.
pub(super) fn canon(text: &str) -> String {
    let mut text = text.trim().to_owned();
    for (urn, web) in CBV_URN_TO_WEB {
        if text.contains(urn) {
            text = text.replace(urn, web);
        }
    }
    if let Some(number) = numeric(&text) {
        return number;
    }
    identifiers::normalise(&text).unwrap_or(text)
}

/// A text Python's `float()` reads, written back as R does
/// (`_try_format_numeric`); `None` if it is not a finite number. Python's
/// `inf`/`nan` are left as text (R drops the event on `inf`).
fn numeric(text: &str) -> Option<String> {
    let value: f64 = text.parse().ok()?;
    format_number(value).ok()
}

/// A number as R writes it: `str(int(x))` when integral (`26.0` -> `26`),
/// else Python's shortest round-trip `repr` (`1.5`, `0.1`, `5e-05`).
pub(super) fn format_number(value: f64) -> Result<String, HashError> {
    if !value.is_finite() {
        return Err(HashError::new(format!("the number {value} has no pre-hash form")));
    }
    if value.fract() == 0.0 {
        // `{:.0}` prints the double's exact integer value, as Python's
        // int() does (12345678901234567890 -> 12345678901234567168).
        let text = format!("{value:.0}");
        return Ok(if text == "-0" { "0".to_owned() } else { text });
    }
    // Python's repr switches to exponent form below 1e-4 and from 1e16 on;
    // Rust's Display never does, its LowerExp gives the same digits.
    let exponent_form = format!("{value:e}");
    let (mantissa, exponent) =
        exponent_form.split_once('e').ok_or_else(|| HashError::new(format!("cannot format {value}")))?;
    let exponent: i32 = exponent.parse().map_err(|_| HashError::new(format!("cannot format {value}")))?;
    if (-4..16).contains(&exponent) {
        Ok(format!("{value}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        Ok(format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs()))
    }
}

/// A time as the pre-hash writes it: UTC, milliseconds rounded half up on
/// the sub-millisecond digits with carry (`.1415` -> `.142`, `.9996` -> the
/// next second), `YYYY-MM-DDTHH:MM:SS.mmmZ`. R rounds half to even and
/// fails on a carry into the next second; no official vector has a tie.
pub(super) fn timestamp(time: &Timestamp) -> Result<String, HashError> {
    const NANOS_PER_MILLI: i128 = 1_000_000;
    let nanos = i128::from(time.seconds) * 1_000_000_000 + i128::from(time.nanos);
    let millis = (nanos + NANOS_PER_MILLI / 2).div_euclid(NANOS_PER_MILLI);
    let out_of_range = || HashError::new(format!("time {}s {}ns out of range", time.seconds, time.nanos));
    let seconds = i64::try_from(millis.div_euclid(1000)).map_err(|_| out_of_range())?;
    let nanos = i32::try_from(millis.rem_euclid(1000) * NANOS_PER_MILLI).map_err(|_| out_of_range())?;
    Ok(veritrace_epcis::format_time(&Timestamp { seconds, nanos }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(value: f64) -> String {
        format_number(value).unwrap_or_default()
    }

    #[test]
    fn numbers_print_as_python_str() {
        assert_eq!(number(26.0), "26");
        assert_eq!(number(1.50), "1.5");
        assert_eq!(number(0.00005), "5e-05");
        assert_eq!(number(12.1), "12.1");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(0.0001), "0.0001");
        assert_eq!(number(0.00001), "1e-05");
        assert_eq!(number(1.5e-7), "1.5e-07");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(452.0), "452");
        assert_eq!(number(1e20), "100000000000000000000");
        assert!(format_number(f64::NAN).is_err());
    }

    #[test]
    fn canon_reads_numbers_in_text() {
        assert_eq!(canon("1.0"), "1");
        assert_eq!(canon("0012"), "12");
        assert_eq!(canon(" 0.30 "), "0.3");
        assert_eq!(canon("12345678901234567890"), "12345678901234567168");
        assert_eq!(canon("nan"), "nan");
        assert_eq!(canon("+01:00"), "+01:00");
        assert_eq!(canon("urn:epcglobal:cbv:bizstep:receiving"), "https://ref.gs1.org/cbv/BizStep-receiving");
        assert_eq!(canon("urn:epcglobal:cbv:bt:5200001000008:4711"), "urn:epcglobal:cbv:bt:5200001000008:4711");
    }

    fn at(seconds: i64, nanos: i32) -> String {
        timestamp(&Timestamp { seconds, nanos }).unwrap_or_default()
    }

    #[test]
    fn timestamps_round_half_up_with_carry() {
        // 2023-02-02T11:04:03Z
        let second = 1_675_335_843;
        assert_eq!(at(second, 141_500_000), "2023-02-02T11:04:03.142Z");
        assert_eq!(at(second, 141_400_000), "2023-02-02T11:04:03.141Z");
        assert_eq!(at(second, 142_500_000), "2023-02-02T11:04:03.143Z");
        assert_eq!(at(second, 999_600_000), "2023-02-02T11:04:04.000Z");
        assert_eq!(at(second, 0), "2023-02-02T11:04:03.000Z");
    }
}
