//! How JSON-LD maps onto `EpcisEvent`: document kinds, contexts,
//! extensions, and what is dropped.

use prost_types::Timestamp;
use serde_json::{Value, json};
use veritrace_epcis::{
    EPCIS_CONTEXT_URI, document_to_json, event_to_json, parse_document, parse_document_value, parse_event,
};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::epcis_event::Event;

const EXT1: &str = r#"{"ext1":"http://example.com/ext1/"}"#;

fn ext(namespace_uri: &str, name: &str, json_value: &str) -> pb::Extension {
    pb::Extension { namespace_uri: namespace_uri.to_owned(), name: name.to_owned(), json_value: json_value.to_owned() }
}

fn aggregation_event() -> Value {
    json!({
        "type": "AggregationEvent",
        "eventTime": "2013-06-08T16:58:56.591+02:00",
        "recordTime": "2013-06-08T14:58:57Z",
        "eventTimeZoneOffset": "+02:00",
        "parentID": "urn:epc:id:sscc:0614141.1234567890",
        "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "action": "ADD",
        "bizStep": "packing",
        "certificationInfo": ["https://cert.example.org/1"],
    })
}

#[test]
fn every_standard_field_lands_in_its_proto_field() {
    let event = json!({
        "type": "ObjectEvent",
        "eventTime": "2005-04-03T20:33:31.116-06:00",
        "eventTimeZoneOffset": "-06:00",
        "eventID": "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8",
        "certificationInfo": "https://cert.example.org/1",
        "errorDeclaration": {"declarationTime": "2006-11-07T14:00:00+01:00", "reason": "incorrect_data",
            "correctiveEventIDs": ["urn:uuid:1"]},
        "action": "ADD",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200.5, "uom": "KGM"}],
        "bizStep": "receiving",
        "disposition": "in_progress",
        "persistentDisposition": {"set": ["completeness_verified"], "unset": ["completeness_inferred"]},
        "readPoint": {"id": "urn:epc:id:sgln:0012345.11111.400"},
        "bizLocation": {"id": "urn:epc:id:sgln:0012345.11111.0"},
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epc:id:gdti:0614141.00001.1618034"}],
        "sourceList": [{"type": "location", "source": "urn:epc:id:sgln:4012345.00225.0"}],
        "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00777"}],
        "sensorElementList": [{
            "sensorMetadata": {"time": "2019-04-02T13:05:00Z", "deviceID": "urn:epc:id:giai:4000001.111",
                "bizRules": "https://example.com/rules"},
            "sensorReport": [{"type": "Temperature", "value": 26, "minValue": 25.5, "sDev": 0.1, "percRank": 50,
                "booleanValue": true, "stringValue": "s", "hexBinaryValue": "f0", "exception": "ALARM_CONDITION",
                "coordinateReferenceSystem": "urn:crs", "uom": "CEL"}],
        }],
        "ilmd": {"cbvmda:lotNumber": "ABC123"},
    });
    let parsed = parse_event(&event, &[]).expect("valid");
    assert_eq!(parsed.event_time, Some(Timestamp { seconds: 1_112_582_011, nanos: 116_000_000 }));
    assert_eq!(parsed.event_time_zone_offset, "-06:00");
    assert_eq!(parsed.event_id, "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8");
    assert_eq!(parsed.certification_info, ["https://cert.example.org/1"]);
    let declaration = parsed.error_declaration.as_ref().expect("errorDeclaration");
    assert_eq!(declaration.declaration_time, Some(Timestamp { seconds: 1_162_904_400, nanos: 0 }));
    assert_eq!(
        (declaration.reason.as_str(), declaration.corrective_event_ids.as_slice()),
        ("incorrect_data", &["urn:uuid:1".to_owned()][..])
    );
    assert_eq!((parsed.biz_step.as_str(), parsed.disposition.as_str()), ("receiving", "in_progress"));
    assert_eq!(parsed.read_point.as_ref().map(|p| p.id.as_str()), Some("urn:epc:id:sgln:0012345.11111.400"));
    assert_eq!(parsed.biz_location.as_ref().map(|p| p.id.as_str()), Some("urn:epc:id:sgln:0012345.11111.0"));
    assert_eq!(parsed.biz_transaction_list[0].r#type, "po");
    assert_eq!(parsed.source_list[0].source, "urn:epc:id:sgln:4012345.00225.0");
    assert_eq!(parsed.destination_list[0].r#type, "owning_party");
    let element = &parsed.sensor_element_list[0];
    let metadata = element.sensor_metadata.as_ref().expect("metadata");
    assert_eq!(
        (metadata.device_id.as_str(), metadata.biz_rules.as_str()),
        ("urn:epc:id:giai:4000001.111", "https://example.com/rules")
    );
    let report = &element.sensor_report[0];
    assert_eq!(report.r#type, "Temperature");
    assert_eq!(
        (report.value, report.min_value, report.s_dev, report.perc_rank),
        (Some(26.0), Some(25.5), Some(0.1), Some(50.0))
    );
    assert_eq!((report.boolean_value, report.string_value.as_deref()), (Some(true), Some("s")));
    assert_eq!((report.hex_binary_value.as_str(), report.exception.as_str()), ("f0", "ALARM_CONDITION"));
    assert_eq!((report.coordinate_reference_system.as_str(), report.uom.as_str()), ("urn:crs", "CEL"));
    let Some(Event::ObjectEvent(what)) = &parsed.event else { panic!("not an ObjectEvent: {parsed:?}") };
    assert_eq!(what.action, pb::EpcisAction::Add as i32);
    assert_eq!(what.epc_list, ["urn:epc:id:sgtin:0614141.107346.2018"]);
    assert_eq!(what.quantity_list[0].quantity, Some(200.5));
    let persistent = what.persistent_disposition.as_ref().expect("persistentDisposition");
    assert_eq!(
        (persistent.set.as_slice(), persistent.unset.as_slice()),
        (&["completeness_verified".to_owned()][..], &["completeness_inferred".to_owned()][..])
    );
    assert_eq!(what.ilmd, [ext("urn:epcglobal:cbv:mda:", "lotNumber", "\"ABC123\"")]);
    assert_eq!(parse_event(&event_to_json(&parsed), &[]).ok(), Some(parsed));
}

#[test]
fn query_documents_and_bare_events() {
    let query = json!({
        "@context": [EPCIS_CONTEXT_URI, {"ext1": "http://example.com/ext1/"}],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": "2020-01-01T00:00:00Z",
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery",
            "resultsBody": {"eventList": [aggregation_event(), aggregation_event()]}}},
    });
    let events = parse_document(&query.to_string()).expect("query document");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].json_ld_context, [EXT1]);

    let mut bare = aggregation_event();
    bare["@context"] = json!([EPCIS_CONTEXT_URI, {"ext1": "http://example.com/ext1/"}]);
    let from_bare = parse_document(&bare.to_string()).expect("bare event");
    assert_eq!(from_bare, events[..1]);
}

#[test]
fn record_time_is_dropped_and_times_are_written_in_utc() {
    let event = parse_event(&aggregation_event(), &[]).expect("valid");
    let json = event_to_json(&event);
    assert_eq!(json.get("recordTime"), None);
    assert_eq!(json["eventTime"], "2013-06-08T14:58:56.591Z");
    assert_eq!(json["eventTimeZoneOffset"], "+02:00");
}

#[test]
fn certification_info_is_a_string_when_single() {
    let single = parse_event(&aggregation_event(), &[]).expect("valid");
    assert_eq!(single.certification_info, ["https://cert.example.org/1"]);
    assert_eq!(event_to_json(&single)["certificationInfo"], "https://cert.example.org/1");
    let mut two = aggregation_event();
    two["certificationInfo"] = json!(["urn:a:1", "urn:a:2"]);
    let two = parse_event(&two, &[]).expect("valid");
    assert_eq!(event_to_json(&two)["certificationInfo"], json!(["urn:a:1", "urn:a:2"]));
}

#[test]
fn contexts_are_inherited_extended_and_deduplicated() {
    let mut event = aggregation_event();
    event["@context"] = json!([{"ext1": "http://example.com/ext1/"}, {"ext2": "http://example.com/ext2/"}]);
    event["ext2:note"] = json!({"ext2:nested": [1, 2]});
    // Whitespace and key order in an inherited entry do not matter.
    let parsed = parse_event(
        &event,
        &[format!("\"{EPCIS_CONTEXT_URI}\""), "{ \"ext1\" : \"http://example.com/ext1/\" }".to_owned()],
    )
    .expect("valid");
    assert_eq!(parsed.json_ld_context, [EXT1, r#"{"ext2":"http://example.com/ext2/"}"#]);
    assert_eq!(parsed.extensions, [ext("http://example.com/ext2/", "note", r#"{"ext2:nested":[1,2]}"#)]);
    let json = event_to_json(&parsed);
    assert_eq!(
        json["@context"],
        json!([EPCIS_CONTEXT_URI, {"ext1": "http://example.com/ext1/"}, {"ext2": "http://example.com/ext2/"}])
    );
    assert_eq!(json["ext2:note"], json!({"ext2:nested": [1, 2]}));
}

#[test]
fn extensions_are_kept_wherever_epcis_allows_them() {
    let mut event = aggregation_event();
    event["readPoint"] = json!({"id": "urn:epc:id:sgln:1.2.3", "ext1:door": 4});
    event["bizLocation"] = json!({"id": "urn:epc:id:sgln:1.2.0", "ext1:zone": "A"});
    event["errorDeclaration"] = json!({"declarationTime": "2020-01-01T00:00:00Z", "ext1:by": "auditor"});
    event["sensorElementList"] = json!([{
        "sensorMetadata": {"deviceID": "urn:epc:id:giai:1.1", "ext1:firmware": "1.2"},
        "sensorReport": [{"type": "Temperature", "value": -3.5, "ext1:calibrated": true}],
        "ext1:batch": [1, "two", null],
    }]);
    event["http://example.org/vocab#note"] = json!("absolute IRI");
    event["urn:example:flag"] = json!(false);
    event["gs1:netContent"] = json!("1 KGM");
    let parsed = parse_event(&event, &[EXT1.to_owned()]).expect("valid");

    let ext1 = "http://example.com/ext1/";
    assert_eq!(parsed.read_point.as_ref().map(|p| p.extensions.clone()), Some(vec![ext(ext1, "door", "4")]));
    assert_eq!(parsed.biz_location.as_ref().map(|p| p.extensions.clone()), Some(vec![ext(ext1, "zone", "\"A\"")]));
    assert_eq!(
        parsed.error_declaration.as_ref().map(|d| d.extensions.clone()),
        Some(vec![ext(ext1, "by", "\"auditor\"")])
    );
    let element = &parsed.sensor_element_list[0];
    assert_eq!(element.extensions, [ext(ext1, "batch", r#"[1,"two",null]"#)]);
    assert_eq!(
        element.sensor_metadata.as_ref().map(|m| m.extensions.clone()),
        Some(vec![ext(ext1, "firmware", "\"1.2\"")])
    );
    assert_eq!(element.sensor_report[0].extensions, [ext(ext1, "calibrated", "true")]);
    assert_eq!(
        parsed.extensions,
        [
            ext("https://gs1.org/voc/", "netContent", "\"1 KGM\""),
            ext("http://example.org/vocab#", "note", "\"absolute IRI\""),
            ext("urn:example:", "flag", "false"),
        ]
    );

    let json = event_to_json(&parsed);
    assert_eq!(json["readPoint"], json!({"id": "urn:epc:id:sgln:1.2.3", "ext1:door": 4}));
    assert_eq!(json["sensorElementList"][0]["sensorReport"][0]["ext1:calibrated"], true);
    assert_eq!(json["gs1:netContent"], "1 KGM");
    assert_eq!(json["http://example.org/vocab#note"], "absolute IRI");
    assert_eq!(json["urn:example:flag"], false);
    assert_eq!(parse_event(&json, &[]).ok(), Some(parsed));
}

#[test]
fn documents_keep_each_events_own_context() {
    let mut first = parse_event(&aggregation_event(), &[EXT1.to_owned()]).expect("valid");
    first.extensions.push(ext("http://a.example/", "x", "1"));
    first.json_ld_context.push(r#"{"ex":"http://a.example/"}"#.to_owned());
    let mut second = first.clone();
    second.extensions = vec![ext("http://b.example/", "x", "2")];
    second.json_ld_context[1] = r#"{"ex":"http://b.example/"}"#.to_owned();
    let events = vec![first, second];

    let creation = Timestamp { seconds: 0, nanos: 0 };
    let document = document_to_json(&events, &creation);
    assert_eq!(document["@context"], json!([EPCIS_CONTEXT_URI, {"ext1": "http://example.com/ext1/"}]));
    assert_eq!(document["creationDate"], "1970-01-01T00:00:00.000Z");
    assert_eq!(document["schemaVersion"], "2.0");
    let list = &document["epcisBody"]["eventList"];
    // "ex" means a different namespace in each event.
    assert_eq!(list[0]["@context"], json!([{"ex": "http://a.example/"}]));
    assert_eq!(list[1]["@context"], json!([{"ex": "http://b.example/"}]));
    assert_eq!((&list[0]["ex:x"], &list[1]["ex:x"]), (&json!(1), &json!(2)));
    assert_eq!(parse_document_value(&document).ok(), Some(events));

    let empty = document_to_json(&[], &creation);
    assert_eq!(empty["@context"], json!([EPCIS_CONTEXT_URI]));
    assert_eq!(parse_document_value(&empty).ok(), Some(vec![]));
}

#[test]
fn document_parts_that_are_not_events_are_ignored() {
    let document = json!({
        "@context": [EPCIS_CONTEXT_URI],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2020-01-01T00:00:00Z",
        "sender": "urn:epc:id:sgln:0353579.00001.0",
        "epcisHeader": {"epcisMasterData": {"vocabularyList": []}},
        "epcisBody": {"eventList": [aggregation_event()]},
    });
    assert_eq!(parse_document(&document.to_string()).map(|events| events.len()).ok(), Some(1));
}

#[test]
fn hand_built_messages_export_without_failing() {
    let odd = pb::EpcisEvent {
        event_time: Some(Timestamp { seconds: i64::MAX, nanos: -5 }),
        extensions: vec![ext("no-delimiter", "", "not json {")],
        json_ld_context: vec!["not json either".to_owned()],
        sensor_element_list: vec![pb::SensorElement {
            sensor_report: vec![pb::SensorReport { value: Some(f64::NAN), ..Default::default() }],
            ..Default::default()
        }],
        event: Some(Event::ObjectEvent(pb::ObjectEvent { action: 99, ..Default::default() })),
        ..Default::default()
    };
    let json = event_to_json(&odd);
    assert_eq!(json["no-delimiter"], "not json {");
    assert_eq!(json.get("action"), None);
    assert_eq!(json["sensorElementList"][0]["sensorReport"][0].get("value"), None);
    assert_eq!(json["@context"], json!([EPCIS_CONTEXT_URI, "not json either"]));
    assert!(document_to_json(&[odd, pb::EpcisEvent::default()], &Timestamp::default()).is_object());
}
