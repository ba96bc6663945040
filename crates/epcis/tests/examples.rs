//! Every official GS1 EPCIS 2.0 example document (tests/gs1-examples)
//! imports, exports and imports again to the same events, and the export
//! carries the same properties as the original.

use std::fs;
use std::path::{Path, PathBuf};

use prost_types::Timestamp;
use serde_json::{Map, Value};
use veritrace_epcis::{
    EPCIS_CONTEXT_URI, document_to_json, event_to_json, parse_document, parse_document_value, parse_epcis_document,
    parse_epcis_document_value, parse_event, query_document_to_json,
};

/// The GS1 examples, kept in this crate so a clean clone has them.
fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gs1-examples")
}

/// Example files that are expected to fail, with why. None today: every
/// GS1 example uses only the five standard event types. An example with an
/// extension event type would be listed here as
/// `("file.jsonld", "UnsupportedEventType")`.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

/// The example documents, sorted; files that are not JSON-LD / JSON are
/// skipped (there are none today) and reported.
fn example_files() -> Vec<PathBuf> {
    let dir = examples_dir();
    let entries = fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    let mut files: Vec<PathBuf> = entries.map(|entry| entry.expect("directory entry").path()).collect();
    files.sort();
    let (documents, skipped): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|path| matches!(path.extension().and_then(|e| e.to_str()), Some("jsonld" | "json")));
    for path in &skipped {
        eprintln!("skipped (not .jsonld / .json): {}", path.display());
    }
    documents
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|name| name.to_str()).unwrap_or_default()
}

fn creation_date() -> Timestamp {
    Timestamp { seconds: 1_700_000_000, nanos: 0 }
}

#[test]
fn the_examples_are_there() {
    // Guards the relative path: an empty directory would pass vacuously.
    assert!(example_files().len() >= 47, "expected the 47 GS1 examples in {}", examples_dir().display());
}

#[test]
fn every_example_round_trips_through_the_proto() {
    for path in example_files() {
        let name = file_name(&path);
        let text = fs::read_to_string(&path).expect("readable example");
        let result = parse_document(&text);
        if let Some((_, why)) = EXPECTED_FAILURES.iter().find(|(file, _)| *file == name) {
            let error = result.expect_err(name);
            assert!(format!("{error:?}").starts_with(why), "{name}: {error}");
            continue;
        }
        let events = result.unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(!events.is_empty(), "{name}: no events");

        let exported = document_to_json(&events, &creation_date());
        let again = parse_document_value(&exported).unwrap_or_else(|error| panic!("{name}: re-import: {error}"));
        assert_eq!(again, events, "{name}: document round trip");

        for (index, event) in events.iter().enumerate() {
            let alone = event_to_json(event);
            let back = parse_event(&alone, &[]).unwrap_or_else(|error| panic!("{name}[{index}]: {error}"));
            assert_eq!(&back, event, "{name}[{index}]: event round trip");
            // A bare event is a document too.
            let bare = parse_document(&alone.to_string()).unwrap_or_else(|error| panic!("{name}[{index}]: {error}"));
            assert_eq!(bare.as_slice(), std::slice::from_ref(event), "{name}[{index}]: bare event");
        }
    }
}

#[test]
fn every_export_carries_the_original_properties() {
    for path in example_files() {
        let name = file_name(&path);
        if EXPECTED_FAILURES.iter().any(|(file, _)| *file == name) {
            continue;
        }
        let original: Value = serde_json::from_str(&fs::read_to_string(&path).expect("readable")).expect("JSON");
        let events = parse_document_value(&original).unwrap_or_else(|error| panic!("{name}: {error}"));
        let exported = document_to_json(&events, &creation_date());

        assert_eq!(exported["@context"], original["@context"], "{name}: @context");
        let body = &original["epcisBody"];
        let original_events = body["eventList"]
            .as_array()
            .or_else(|| body["queryResults"]["resultsBody"]["eventList"].as_array())
            .expect("eventList");
        let exported_events = exported["epcisBody"]["eventList"].as_array().expect("eventList");
        assert_eq!(exported_events.len(), original_events.len(), "{name}");
        for (index, (exported, original)) in exported_events.iter().zip(original_events).enumerate() {
            assert_eq!(normalise(exported.clone()), normalise(original.clone()), "{name}[{index}]");
        }
    }
}

/// What may differ between an original event and its export: recordTime
/// (dropped), a single certificationInfo as string or array, the offset a
/// time is written in, and 26 vs 26.0.
fn normalise(value: Value) -> Value {
    match value {
        Value::Object(fields) => {
            let mut normal = Map::new();
            for (key, value) in fields {
                let value = match (key.as_str(), value) {
                    ("recordTime", _) => continue,
                    ("certificationInfo", Value::String(uri)) => Value::Array(vec![Value::String(uri)]),
                    ("eventTime" | "declarationTime" | "time" | "startTime" | "endTime", Value::String(time)) => {
                        Value::String(instant(&time))
                    }
                    (_, value) => normalise(value),
                };
                normal.insert(key, value);
            }
            Value::Object(normal)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Value::Number(number) => number.as_f64().map_or(Value::Number(number), Value::from),
        other => other,
    }
}

/// A time as the instant it names, through a tiny event (the crate's time
/// parser is private): two texts naming one instant normalise equal.
fn instant(time: &str) -> String {
    let event = serde_json::json!({
        "@context": [EPCIS_CONTEXT_URI],
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": time, "eventTimeZoneOffset": "+00:00",
    });
    let parsed = parse_event(&event, &[]).unwrap_or_else(|error| panic!("{time}: {error}"));
    event_to_json(&parsed)["eventTime"].as_str().unwrap_or_default().to_owned()
}

/// A query document keeps what it says of its query: exported again, it
/// is a query document with the same `queryName`, `subscriptionID` and
/// events, which imports back equal.
#[test]
fn a_query_document_keeps_its_query_name_and_subscription() {
    let path = examples_dir().join("EPCISQueryDocument.jsonld");
    let text = fs::read_to_string(&path).expect("the GS1 query document");
    let document = parse_epcis_document(&text).expect("parses");
    let query = document.query.clone().expect("a query document");
    assert_eq!(query.query_name, "SimpleEventQuery");
    assert_eq!(query.subscription_id.as_deref(), Some("32d2aec1-a6d2-46d9-900a-24124288cce1"));
    assert!(!document.events.is_empty());

    let exported = query_document_to_json(&document.events, &query, &creation_date());
    assert_eq!(exported["type"], "EPCISQueryDocument");
    let results = &exported["epcisBody"]["queryResults"];
    assert_eq!(results["queryName"], "SimpleEventQuery");
    assert_eq!(results["subscriptionID"], "32d2aec1-a6d2-46d9-900a-24124288cce1");
    let again = parse_epcis_document_value(&exported).expect("re-imports");
    assert_eq!(again, document, "query document round trip");

    // A capture document has no query; a query document needs its name.
    let capture =
        parse_epcis_document(&document_to_json(&document.events, &creation_date()).to_string()).expect("parses");
    assert_eq!(capture.query, None);
    let mut nameless: Value = serde_json::from_str(&text).expect("JSON");
    nameless["epcisBody"]["queryResults"].as_object_mut().expect("queryResults").remove("queryName");
    let error = parse_epcis_document_value(&nameless).expect_err("queryName is required");
    assert!(error.to_string().contains("queryName"), "{error}");
}
