//! Properties over generated events: export then import is the identity
//! for every event in the importer's normal form, and no input panics.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use prost_types::Timestamp;
use serde_json::{Map, Value};
use veritrace_epcis::{document_to_json, event_to_json, parse_document, parse_document_value, parse_event};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::epcis_event::Event;

const EXT1_CONTEXT: &str = r#"{"ext1":"http://example.com/ext1/"}"#;
const EXT4_CONTEXT: &str = r#"{"ext4":"http://example.com/ext4/"}"#;
/// (compact prefix, namespace IRI) for generated extensions: one bound by
/// EXT1_CONTEXT, two by the standard context.
const NAMESPACES: [(&str, &str); 3] =
    [("ext1", "http://example.com/ext1/"), ("cbvmda", "urn:epcglobal:cbv:mda:"), ("gs1", "https://gs1.org/voc/")];

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        "urn:epc:id:sgtin:[0-9]{7}\\.[0-9]{6}\\.[0-9a-zA-Z]{1,8}",
        "https://id\\.example\\.org/01/[0-9]{14}/21/[0-9a-z]{1,6}",
        "[a-z_]{1,12}",
    ]
}

/// A string that may be empty (empty = not given).
fn optional_uri() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), uri()]
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    // Years 0001..=9999, the range of a protobuf Timestamp.
    (-62_135_596_800i64..=253_402_300_799, 0i32..1_000_000_000)
        .prop_map(|(seconds, nanos)| Timestamp { seconds, nanos })
}

fn offset() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[+-]", 0u8..14, 0u8..60).prop_map(|(sign, hours, minutes)| format!("{sign}{hours:02}:{minutes:02}")),
        Just("+14:00".to_owned()),
        Just("-14:00".to_owned()),
    ]
}

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("JSON has no NaN or infinity", |x| x.is_finite())
}

/// A JSON value, as an extension may hold.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        finite().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("(ext1:)?[a-z]{1,5}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Extensions in the importer's normal form: unique names, in the order of
/// their compact names (serde_json's sorted keys), values canonical JSON.
fn extensions() -> impl Strategy<Value = Vec<pb::Extension>> {
    btree_map((0..NAMESPACES.len(), "[a-zA-Z][a-zA-Z0-9_]{0,8}"), json_value(), 0..3).prop_map(
        |by_name: BTreeMap<(usize, String), Value>| {
            let mut by_compact: BTreeMap<String, pb::Extension> = BTreeMap::new();
            for ((namespace, name), value) in by_name {
                let (prefix, namespace_uri) = NAMESPACES[namespace];
                let extension = pb::Extension {
                    namespace_uri: namespace_uri.to_owned(),
                    name: name.clone(),
                    json_value: value.to_string(),
                };
                by_compact.insert(format!("{prefix}:{name}"), extension);
            }
            by_compact.into_values().collect()
        },
    )
}

fn quantities() -> impl Strategy<Value = Vec<pb::QuantityElement>> {
    vec(
        (uri(), option::of(finite()), prop_oneof![Just(String::new()), "[A-Z0-9]{2,3}"])
            .prop_map(|(epc_class, quantity, uom)| pb::QuantityElement { epc_class, quantity, uom }),
        0..3,
    )
}

fn action() -> impl Strategy<Value = i32> {
    prop_oneof![Just(pb::EpcisAction::Add), Just(pb::EpcisAction::Observe), Just(pb::EpcisAction::Delete)]
        .prop_map(|action| action as i32)
}

fn persistent_disposition() -> impl Strategy<Value = Option<pb::PersistentDisposition>> {
    option::of((vec(uri(), 0..2), vec(uri(), 0..2)).prop_map(|(set, unset)| pb::PersistentDisposition { set, unset }))
}

fn what() -> impl Strategy<Value = Event> {
    prop_oneof![
        (action(), vec(uri(), 0..3), quantities(), persistent_disposition(), extensions()).prop_map(
            |(action, epc_list, quantity_list, persistent_disposition, ilmd)| {
                Event::ObjectEvent(pb::ObjectEvent { action, epc_list, quantity_list, persistent_disposition, ilmd })
            }
        ),
        (action(), optional_uri(), vec(uri(), 0..3), quantities()).prop_map(
            |(action, parent_id, child_epcs, child_quantity_list)| {
                Event::AggregationEvent(pb::AggregationEvent { action, parent_id, child_epcs, child_quantity_list })
            }
        ),
        (action(), optional_uri(), vec(uri(), 0..3), quantities()).prop_map(
            |(action, parent_id, epc_list, quantity_list)| {
                Event::TransactionEvent(pb::TransactionEvent { action, parent_id, epc_list, quantity_list })
            }
        ),
        (
            (vec(uri(), 0..3), quantities(), vec(uri(), 0..3), quantities()),
            (optional_uri(), persistent_disposition(), extensions()),
        )
            .prop_map(
                |(
                    (input_epc_list, input_quantity_list, output_epc_list, output_quantity_list),
                    (transformation_id, persistent_disposition, ilmd),
                )| {
                    Event::TransformationEvent(pb::TransformationEvent {
                        input_epc_list,
                        input_quantity_list,
                        output_epc_list,
                        output_quantity_list,
                        transformation_id,
                        persistent_disposition,
                        ilmd,
                    })
                }
            ),
        (action(), optional_uri(), vec(uri(), 0..3), quantities()).prop_map(
            |(action, parent_id, child_epcs, child_quantity_list)| {
                Event::AssociationEvent(pb::AssociationEvent { action, parent_id, child_epcs, child_quantity_list })
            }
        ),
    ]
}

fn sensor_report() -> impl Strategy<Value = pb::SensorReport> {
    (
        (uri(), optional_uri(), optional_uri(), optional_uri(), optional_uri(), optional_uri()),
        (option::of(timestamp()), option::of(finite()), option::of("\\PC{0,6}"), option::of(any::<bool>())),
        (option::of(finite()), option::of(finite()), option::of(finite()), option::of(finite())),
        (option::of(finite()), option::of(finite()), optional_uri(), extensions()),
    )
        .prop_map(
            |(
                (r#type, exception, device_id, raw_data, component, uom),
                (time, value, string_value, boolean_value),
                (min_value, max_value, mean_value, s_dev),
                (perc_rank, perc_value, uri_value, extensions),
            )| pb::SensorReport {
                r#type,
                exception,
                device_id,
                raw_data,
                component,
                uom,
                time,
                value,
                string_value,
                boolean_value,
                min_value,
                max_value,
                mean_value,
                s_dev,
                perc_rank,
                perc_value,
                uri_value,
                extensions,
                hex_binary_value: "0f".to_owned(),
                ..Default::default()
            },
        )
}

fn sensor_element() -> impl Strategy<Value = pb::SensorElement> {
    let metadata = (option::of(timestamp()), optional_uri(), option::of(timestamp()), optional_uri(), extensions())
        .prop_map(|(time, device_id, start_time, biz_rules, extensions)| pb::SensorMetadata {
            time,
            device_id,
            start_time,
            biz_rules,
            extensions,
            ..Default::default()
        });
    (option::of(metadata), vec(sensor_report(), 0..2), extensions()).prop_map(
        |(sensor_metadata, sensor_report, extensions)| pb::SensorElement { sensor_metadata, sensor_report, extensions },
    )
}

fn event() -> impl Strategy<Value = pb::EpcisEvent> {
    (
        (timestamp(), offset(), optional_uri(), vec(uri(), 0..3), optional_uri(), optional_uri()),
        (
            option::of((timestamp(), optional_uri(), vec(uri(), 0..2), extensions())),
            option::of((uri(), extensions())),
            option::of((uri(), extensions())),
        ),
        (vec((optional_uri(), uri()), 0..3), vec((uri(), uri()), 0..2), vec((uri(), uri()), 0..2)),
        (vec(sensor_element(), 0..2), extensions(), any::<bool>(), what()),
    )
        .prop_map(|(common, (declaration, read_point, biz_location), lists, (sensors, extensions, ext4, what))| {
            let (event_time, event_time_zone_offset, event_id, certification_info, biz_step, disposition) = common;
            let (transactions, sources, destinations) = lists;
            let mut json_ld_context = vec![EXT1_CONTEXT.to_owned()];
            if ext4 {
                json_ld_context.push(EXT4_CONTEXT.to_owned());
            }
            pb::EpcisEvent {
                event_time: Some(event_time),
                event_time_zone_offset,
                event_id,
                certification_info,
                error_declaration: declaration.map(|(time, reason, corrective_event_ids, extensions)| {
                    pb::ErrorDeclaration { declaration_time: Some(time), reason, corrective_event_ids, extensions }
                }),
                biz_step,
                disposition,
                read_point: read_point.map(|(id, extensions)| pb::ReadPoint { id, extensions }),
                biz_location: biz_location.map(|(id, extensions)| pb::BizLocation { id, extensions }),
                biz_transaction_list: transactions
                    .into_iter()
                    .map(|(r#type, biz_transaction)| pb::BizTransaction { r#type, biz_transaction })
                    .collect(),
                source_list: sources.into_iter().map(|(r#type, source)| pb::Source { r#type, source }).collect(),
                destination_list: destinations
                    .into_iter()
                    .map(|(r#type, destination)| pb::Destination { r#type, destination })
                    .collect(),
                sensor_element_list: sensors,
                extensions,
                json_ld_context,
                // Half the events keep their empty lists as `[]`.
                empty_lists: if ext4 { empty_list_keys(&what) } else { Vec::new() },
                event: Some(what),
            }
        })
}

/// The names of `what`'s empty list properties, sorted.
fn empty_list_keys(what: &Event) -> Vec<String> {
    let lists: Vec<(&str, bool)> = match what {
        Event::ObjectEvent(w) => vec![("epcList", w.epc_list.is_empty()), ("quantityList", w.quantity_list.is_empty())],
        Event::TransactionEvent(w) => {
            vec![("epcList", w.epc_list.is_empty()), ("quantityList", w.quantity_list.is_empty())]
        }
        Event::AggregationEvent(w) => {
            vec![("childEPCs", w.child_epcs.is_empty()), ("childQuantityList", w.child_quantity_list.is_empty())]
        }
        Event::AssociationEvent(w) => {
            vec![("childEPCs", w.child_epcs.is_empty()), ("childQuantityList", w.child_quantity_list.is_empty())]
        }
        Event::TransformationEvent(w) => vec![
            ("inputEPCList", w.input_epc_list.is_empty()),
            ("inputQuantityList", w.input_quantity_list.is_empty()),
            ("outputEPCList", w.output_epc_list.is_empty()),
            ("outputQuantityList", w.output_quantity_list.is_empty()),
        ],
    };
    let mut keys: Vec<String> = lists.into_iter().filter(|(_, empty)| *empty).map(|(k, _)| k.to_owned()).collect();
    keys.sort();
    keys
}

proptest! {
    #[test]
    fn an_exported_event_imports_back_identical(event in event()) {
        let json = event_to_json(&event);
        prop_assert_eq!(parse_event(&json, &[]).ok(), Some(event.clone()));
        // And through its text, as it would travel.
        prop_assert_eq!(parse_document(&json.to_string()).ok(), Some(vec![event]));
    }

    #[test]
    fn an_exported_document_imports_back_identical(events in vec(event(), 0..4), created in timestamp()) {
        let document = document_to_json(&events, &created);
        prop_assert_eq!(parse_document_value(&document).ok(), Some(events));
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let _ = parse_event(&value, &[]);
        let _ = parse_document_value(&value);
    }

    #[test]
    fn a_damaged_event_fails_or_parses_but_never_panics(
        event in event(),
        key in prop_oneof![
            Just("eventTime"), Just("eventTimeZoneOffset"), Just("type"), Just("action"), Just("readPoint"),
            Just("sensorElementList"), Just("quantityList"), Just("ilmd"), Just("@context"), Just("certificationInfo"),
            Just("errorDeclaration"), Just("bizTransactionList"), Just("ext1:x"), Just("ext9:x"), Just("other"),
        ],
        replacement in json_value(),
    ) {
        let mut json = event_to_json(&event);
        if let Some(fields) = json.as_object_mut() {
            fields.insert(key.to_owned(), replacement);
        }
        let _ = parse_event(&json, &[]);
        let _ = parse_document(&json.to_string());
    }
}
