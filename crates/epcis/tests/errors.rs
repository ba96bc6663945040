//! Malformed input gives the expected `EpcisError` variant, at the right
//! JSON path.

use serde_json::{Value, json};
use veritrace_epcis::{EPCIS_CONTEXT_URI, EpcisError, parse_document, parse_event};

/// A valid ObjectEvent; tests break one thing in it.
fn object_event() -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": "2005-04-03T20:33:31.116-06:00",
        "eventTimeZoneOffset": "-06:00",
        "action": "OBSERVE",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200, "uom": "KGM"}],
        "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 26}]}],
    })
}

/// `event` inside an EPCISDocument binding `ext1`.
fn document(event: Value) -> String {
    json!({
        "@context": [EPCIS_CONTEXT_URI, {"ext1": "http://example.com/ext1/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2005-07-11T11:30:47.0Z",
        "epcisBody": {"eventList": [event]},
    })
    .to_string()
}

/// The error of parsing `object_event()` changed by `change`.
fn error_after(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> EpcisError {
    let mut event = object_event();
    if let Some(fields) = event.as_object_mut() {
        change(fields);
    }
    match parse_document(&document(event)) {
        Ok(events) => panic!("accepted: {events:?}"),
        Err(error) => error,
    }
}

const EVENT: &str = "$.epcisBody.eventList[0]";

#[test]
fn the_base_event_is_valid() {
    assert!(parse_document(&document(object_event())).is_ok());
}

#[test]
fn text_that_is_not_json() {
    assert!(matches!(parse_document("{\"type\": "), Err(EpcisError::NotJson(_))));
    assert!(matches!(parse_document(""), Err(EpcisError::NotJson(_))));
}

#[test]
fn missing_event_time() {
    let error = error_after(|event| drop(event.remove("eventTime")));
    assert!(matches!(&error, EpcisError::MissingField { path } if *path == format!("{EVENT}.eventTime")), "{error}");
    assert_eq!(error.to_string(), format!("{EVENT}.eventTime: required field is missing"));
}

#[test]
fn missing_required_fields_of_each_type() {
    let missing = |event: Value, field: &str| {
        let error = parse_event(&event, &[]).expect_err(field);
        assert!(
            matches!(&error, EpcisError::MissingField { path } if *path == format!("$.{field}")),
            "{field}: {error}"
        );
    };
    let time = "2020-01-01T00:00:00Z";
    missing(json!({"type": "ObjectEvent", "eventTime": time, "action": "ADD"}), "eventTimeZoneOffset");
    missing(json!({"type": "ObjectEvent", "eventTime": time, "eventTimeZoneOffset": "+00:00"}), "action");
    missing(json!({"eventTime": time, "eventTimeZoneOffset": "+00:00"}), "type");
    missing(
        json!({"type": "AssociationEvent", "eventTime": time, "eventTimeZoneOffset": "+00:00", "action": "ADD"}),
        "parentID",
    );
    missing(
        json!({"type": "TransactionEvent", "eventTime": time, "eventTimeZoneOffset": "+00:00", "action": "ADD"}),
        "bizTransactionList",
    );
    // A TransformationEvent has no action.
    let transformation = json!({"type": "TransformationEvent", "eventTime": time, "eventTimeZoneOffset": "+00:00"});
    assert!(parse_event(&transformation, &[]).is_ok());
}

#[test]
fn missing_required_fields_of_parts() {
    let cases: [(&str, Value, &str); 6] = [
        ("readPoint", json!({}), "readPoint.id"),
        ("quantityList", json!([{"quantity": 1}]), "quantityList[0].epcClass"),
        ("bizTransactionList", json!([{"type": "po"}]), "bizTransactionList[0].bizTransaction"),
        ("sourceList", json!([{"source": "urn:x:y"}]), "sourceList[0].type"),
        ("errorDeclaration", json!({"reason": "did_not_occur"}), "errorDeclaration.declarationTime"),
        ("sensorElementList", json!([{"sensorReport": [{"value": 1}]}]), "sensorElementList[0].sensorReport[0].type"),
    ];
    for (key, value, expected) in cases {
        let error = error_after(|event| drop(event.insert(key.to_owned(), value)));
        assert!(
            matches!(&error, EpcisError::MissingField { path } if *path == format!("{EVENT}.{expected}")),
            "{key}: {error}"
        );
    }
}

#[test]
fn bad_time_zone_offsets() {
    for bad in ["+1:00", "+15:00", "-06", "Z", "+14:30", "06:00"] {
        let error = error_after(|event| drop(event.insert("eventTimeZoneOffset".to_owned(), json!(bad))));
        assert!(
            matches!(&error, EpcisError::BadTimeZoneOffset { path, value }
                if *path == format!("{EVENT}.eventTimeZoneOffset") && value == bad),
            "{bad}: {error}"
        );
    }
    let error = error_after(|event| drop(event.insert("eventTimeZoneOffset".to_owned(), json!(-6))));
    assert!(matches!(error, EpcisError::WrongType { expected: "a string", .. }), "{error}");
}

#[test]
fn bad_timestamps_anywhere() {
    let cases: [(&str, Value, &str); 4] = [
        ("eventTime", json!("2005-13-03T20:33:31Z"), "eventTime"),
        ("eventTime", json!("2005-04-03T20:33:31"), "eventTime"),
        // Dropped, but checked first.
        ("recordTime", json!("yesterday"), "recordTime"),
        ("errorDeclaration", json!({"declarationTime": "2005-02-29T00:00:00Z"}), "errorDeclaration.declarationTime"),
    ];
    for (key, value, expected) in cases {
        let error = error_after(|event| drop(event.insert(key.to_owned(), value)));
        assert!(
            matches!(&error, EpcisError::BadTimestamp { path, .. } if *path == format!("{EVENT}.{expected}")),
            "{key}: {error}"
        );
    }
    let error = error_after(|event| {
        event.insert(
            "sensorElementList".to_owned(),
            json!([{"sensorMetadata": {"startTime": "now"}, "sensorReport": []}]),
        );
    });
    assert!(
        matches!(&error, EpcisError::BadTimestamp { path, value, .. }
            if *path == format!("{EVENT}.sensorElementList[0].sensorMetadata.startTime") && value == "now"),
        "{error}"
    );
}

#[test]
fn wrong_types() {
    let cases: [(&str, Value, &str, &str); 9] = [
        ("epcList", json!("urn:epc:id:sgtin:0614141.107346.2017"), "epcList", "an array"),
        ("epcList", json!(["urn:x:a", 7]), "epcList[1]", "a string"),
        ("quantityList", json!([{"epcClass": "urn:x:c", "quantity": "200"}]), "quantityList[0].quantity", "a number"),
        ("bizStep", json!(["shipping"]), "bizStep", "a string"),
        ("certificationInfo", json!(5), "certificationInfo", "a string or an array of strings"),
        ("readPoint", json!("urn:epc:id:sgln:0614141.07346.1234"), "readPoint", "an object"),
        ("ilmd", json!([]), "ilmd", "an object"),
        (
            "sensorElementList",
            json!([{"sensorReport": [{"type": "Temperature", "booleanValue": "true"}]}]),
            "sensorElementList[0].sensorReport[0].booleanValue",
            "a boolean",
        ),
        ("sourceList", json!({"type": "location", "source": "urn:x:y"}), "sourceList", "an array"),
    ];
    for (key, value, at, what) in cases {
        let error = error_after(|event| drop(event.insert(key.to_owned(), value)));
        assert!(
            matches!(&error, EpcisError::WrongType { path, expected } if *path == format!("{EVENT}.{at}") && *expected == what),
            "{key}: {error}"
        );
    }
}

#[test]
fn events_that_are_not_objects() {
    for event in [json!(42), json!("ObjectEvent"), json!([object_event()]), Value::Null] {
        let error = parse_document(&document(event)).expect_err("not an object");
        assert!(matches!(&error, EpcisError::WrongType { path, expected: "an object" } if path == EVENT), "{error}");
    }
    assert!(matches!(parse_event(&json!(1), &[]), Err(EpcisError::WrongType { .. })));
    assert!(matches!(parse_document("[]"), Err(EpcisError::WrongType { path, .. }) if path == "$"));
}

#[test]
fn documents_without_their_event_list() {
    let error = parse_document(r#"{"type": "EPCISDocument", "epcisBody": {}}"#).expect_err("no eventList");
    assert!(matches!(&error, EpcisError::MissingField { path } if path == "$.epcisBody.eventList"), "{error}");
    let error = parse_document(r#"{"type": "EPCISDocument"}"#).expect_err("no body");
    assert!(matches!(&error, EpcisError::MissingField { path } if path == "$.epcisBody"), "{error}");
    let query = r#"{"type": "EPCISQueryDocument", "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery"}}}"#;
    let error = parse_document(query).expect_err("no resultsBody");
    assert!(
        matches!(&error, EpcisError::MissingField { path } if path == "$.epcisBody.queryResults.resultsBody"),
        "{error}"
    );
    let error = parse_document(r#"{"type": "EPCISDocument", "epcisBody": {"eventList": {}}}"#).expect_err("object");
    assert!(matches!(error, EpcisError::WrongType { expected: "an array", .. }));
}

#[test]
fn unknown_prefixes() {
    let at_event_level = error_after(|event| drop(event.insert("ext9:foo".to_owned(), json!(1))));
    assert!(
        matches!(&at_event_level, EpcisError::UnknownPrefix { path, prefix }
            if *path == format!("{EVENT}[\"ext9:foo\"]") && prefix == "ext9"),
        "{at_event_level}"
    );
    let in_read_point =
        error_after(|event| drop(event.insert("readPoint".to_owned(), json!({"id": "urn:x:y", "foo:bar": true}))));
    assert!(
        matches!(&in_read_point, EpcisError::UnknownPrefix { path, prefix }
            if *path == format!("{EVENT}.readPoint[\"foo:bar\"]") && prefix == "foo"),
        "{in_read_point}"
    );
    let in_ilmd = error_after(|event| {
        event.insert("action".to_owned(), json!("ADD"));
        event.insert("ilmd".to_owned(), json!({"ext1:ok": 1, "ex:lot": "A1"}));
    });
    assert!(matches!(&in_ilmd, EpcisError::UnknownPrefix { prefix, .. } if prefix == "ex"), "{in_ilmd}");
    // Without the document, "ext1" is not bound either.
    let mut event = object_event();
    event["ext1:float"] = json!("20");
    assert!(matches!(parse_event(&event, &[]), Err(EpcisError::UnknownPrefix { prefix, .. }) if prefix == "ext1"));
}

#[test]
fn unsupported_event_types() {
    for event_type in ["example:MyEvent", "QuantityEvent", "objectEvent", ""] {
        let error = error_after(|event| drop(event.insert("type".to_owned(), json!(event_type))));
        assert!(
            matches!(&error, EpcisError::UnsupportedEventType { path, event_type: found }
                if *path == format!("{EVENT}.type") && found == event_type),
            "{event_type}: {error}"
        );
    }
    let bare = json!({"type": "https://example.com/MyEvent", "eventTime": "2020-01-01T00:00:00Z"});
    assert!(matches!(
        parse_document(&bare.to_string()),
        Err(EpcisError::UnsupportedEventType { path, .. }) if path == "$.type"
    ));
}

#[test]
fn unexpected_properties_are_refused_not_dropped() {
    let cases: [(&str, Value, &str); 5] = [
        // A bare word is no IRI.
        ("comment", json!("hello"), "comment"),
        // A term of another event type.
        ("childEPCs", json!(["urn:x:a"]), "childEPCs"),
        ("@id", json!("urn:x:a"), "[\"@id\"]"),
        // Closed objects take no extensions.
        ("quantityList", json!([{"epcClass": "urn:x:c", "ext1:note": "x"}]), "quantityList[0][\"ext1:note\"]"),
        ("persistentDisposition", json!({"set": ["active"], "reset": []}), "persistentDisposition.reset"),
    ];
    for (key, value, at) in cases {
        let error = error_after(|event| drop(event.insert(key.to_owned(), value)));
        assert!(
            matches!(&error, EpcisError::UnexpectedProperty { path } if *path == format!("{EVENT}{}{at}", if at.starts_with('[') { "" } else { "." })),
            "{key}: {error}"
        );
    }
}

#[test]
fn invalid_actions() {
    let error = error_after(|event| drop(event.insert("action".to_owned(), json!("add"))));
    assert!(
        matches!(&error, EpcisError::InvalidValue { path, value, .. } if *path == format!("{EVENT}.action") && value == "add"),
        "{error}"
    );
}

#[test]
fn one_property_under_two_names() {
    let error = error_after(|event| {
        event.insert("ext1:a".to_owned(), json!(1));
        event.insert("http://example.com/ext1/a".to_owned(), json!(2));
    });
    assert!(
        matches!(&error, EpcisError::DuplicateProperty { iri, .. } if iri == "http://example.com/ext1/a"),
        "{error}"
    );
}

#[test]
fn invalid_contexts() {
    let mut event = object_event();
    event["@context"] = json!([EPCIS_CONTEXT_URI, {"bizStep": "http://example.com/step"}]);
    let error = parse_event(&event, &[]).expect_err("redefines bizStep");
    assert!(
        matches!(&error, EpcisError::InvalidContext { path, .. } if path == "$[\"@context\"][1].bizStep"),
        "{error}"
    );
    event["@context"] = json!(7);
    assert!(matches!(parse_event(&event, &[]), Err(EpcisError::InvalidContext { .. })));

    let error = parse_event(&object_event(), &["{not json".to_owned()]).expect_err("bad inherited entry");
    assert!(matches!(&error, EpcisError::InvalidContext { path, .. } if path == "inherited_context[0]"), "{error}");
}

#[test]
fn hostile_inputs_fail_cleanly() {
    // Deep nesting inside an extension value: serde_json's recursion limit
    // answers, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(parse_document(&deep), Err(EpcisError::NotJson(_))));
    // Beyond the years a protobuf Timestamp holds.
    let huge_year =
        error_after(|event| drop(event.insert("eventTime".to_owned(), json!("99999999999-01-01T00:00:00Z"))));
    assert!(matches!(huge_year, EpcisError::BadTimestamp { .. }), "{huge_year}");
    let long_year =
        error_after(|event| drop(event.insert("eventTime".to_owned(), json!("999999999999-01-01T00:00:00Z"))));
    assert!(matches!(long_year, EpcisError::BadTimestamp { .. }), "{long_year}");
    let multibyte = error_after(|event| drop(event.insert("eventTime".to_owned(), json!("２０２０-01-01T00:00:00Z"))));
    assert!(matches!(multibyte, EpcisError::BadTimestamp { .. }), "{multibyte}");
}
