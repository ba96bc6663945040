//! `EpcisEvent` -> EPCIS 2.0 JSON-LD.

mod parts;

use prost_types::Timestamp;
use serde_json::Value;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::epcis_event::Event;

use crate::context::{Context, EPCIS_CONTEXT_URI};
use crate::error::JsonPath;
use crate::extensions::{write_extensions, write_ilmd};
use crate::time::format_timestamp;
use parts::{Object, put_action, put_quantity_list, put_str, put_strings, put_time};

/// One event as a standalone EPCIS 2.0 JSON-LD object, with an `@context`
/// of the standard EPCIS context followed by the event's
/// `json_ld_context` entries.
///
/// Extensions are written under compact names (`ext1:float`) using those
/// entries; times in UTC (`...Z`, millisecond precision unless finer is
/// needed); no `recordTime`. Never fails: parts of a hand-built message
/// that JSON-LD cannot express are left out (an UNSPECIFIED action, a NaN
/// quantity, a missing oneof, which leaves out `type`).
pub fn event_to_json(event: &pb::EpcisEvent) -> Value {
    let mut object = event_body(event);
    object.insert("@context".to_owned(), context_value(Some(EPCIS_CONTEXT_URI), &event.json_ld_context));
    Value::Object(object)
}

/// An `EPCISDocument` holding `events`, created at `creation_date` (a
/// parameter, so that the output depends on its inputs only).
///
/// The document's `@context` is the standard EPCIS context followed by the
/// `json_ld_context` entries all events share (their longest common prefix:
/// the union when, as for every document [`parse_document`] reads without
/// event-level contexts, all events have the same entries). An event with
/// further entries carries them in its own `@context`, so that importing the
/// document gives every event back exactly its own entries, and prefixes
/// one event defines differently from another stay apart.
///
/// [`parse_document`]: crate::parse_document
pub fn document_to_json(events: &[pb::EpcisEvent], creation_date: &Timestamp) -> Value {
    document(events, creation_date, None)
}

/// An `EPCISQueryDocument`: `events` as the results of `query`
/// (`epcisBody.queryResults` with `queryName`, `subscriptionID` if any, and
/// `resultsBody.eventList`), created at `creation_date`; otherwise as
/// [`document_to_json`].
pub fn query_document_to_json(
    events: &[pb::EpcisEvent],
    query: &crate::QueryResults,
    creation_date: &Timestamp,
) -> Value {
    document(events, creation_date, Some(query))
}

fn document(events: &[pb::EpcisEvent], creation_date: &Timestamp, query: Option<&crate::QueryResults>) -> Value {
    let shared = shared_context(events);
    let event_list = events
        .iter()
        .map(|event| {
            let mut object = event_body(event);
            if let Some(own) = event.json_ld_context.get(shared.len()..).filter(|own| !own.is_empty()) {
                object.insert("@context".to_owned(), context_value(None, own));
            }
            Value::Object(object)
        })
        .collect();
    let mut body = Object::new();
    body.insert("eventList".to_owned(), Value::Array(event_list));
    let (body, document_type) = match query {
        None => (body, "EPCISDocument"),
        Some(query) => {
            let mut results = Object::new();
            results.insert("queryName".to_owned(), Value::String(query.query_name.clone()));
            if let Some(id) = &query.subscription_id {
                results.insert("subscriptionID".to_owned(), Value::String(id.clone()));
            }
            results.insert("resultsBody".to_owned(), Value::Object(body));
            let mut outer = Object::new();
            outer.insert("queryResults".to_owned(), Value::Object(results));
            (outer, "EPCISQueryDocument")
        }
    };
    let mut document = Object::new();
    document.insert("@context".to_owned(), context_value(Some(EPCIS_CONTEXT_URI), shared));
    document.insert("type".to_owned(), Value::String(document_type.to_owned()));
    document.insert("schemaVersion".to_owned(), Value::String("2.0".to_owned()));
    document.insert("creationDate".to_owned(), Value::String(format_timestamp(creation_date)));
    document.insert("epcisBody".to_owned(), Value::Object(body));
    Value::Object(document)
}

/// The longest common prefix of the events' `json_ld_context` lists.
fn shared_context(events: &[pb::EpcisEvent]) -> &[String] {
    let Some((first, rest)) = events.split_first() else { return &[] };
    let mut shared: &[String] = &first.json_ld_context;
    for event in rest {
        let common = shared.iter().zip(&event.json_ld_context).take_while(|(a, b)| a == b).count();
        shared = &shared[..common];
    }
    shared
}

/// An `@context` value: `standard` (if any) then the entries, each parsed
/// from its JSON text (an entry that is not JSON, possible only in a
/// hand-built message, is written as a URI string).
fn context_value(standard: Option<&str>, entries: &[String]) -> Value {
    let standard = standard.map(|uri| Value::String(uri.to_owned()));
    let entries = entries.iter().map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())));
    Value::Array(standard.into_iter().chain(entries).collect())
}

/// The definitions of the event's context entries, for compacting
/// extension names. Entries that do not parse or define nothing usable are
/// skipped: export never fails.
fn export_context(entries: &[String]) -> Context {
    let mut context = Context::default();
    let root = JsonPath::Root("json_ld_context");
    let mut seen = Vec::new();
    for text in entries {
        if let Ok(entry) = serde_json::from_str::<Value>(text) {
            // An invalid entry only loses its own definitions.
            let _ = context.add_entry(&entry, &root, &mut seen);
        }
    }
    context
}

/// The event's properties, without `@context`.
fn event_body(event: &pb::EpcisEvent) -> Object {
    let context = export_context(&event.json_ld_context);
    let mut object = Object::new();
    let type_name = match &event.event {
        Some(Event::ObjectEvent(_)) => Some("ObjectEvent"),
        Some(Event::AggregationEvent(_)) => Some("AggregationEvent"),
        Some(Event::TransactionEvent(_)) => Some("TransactionEvent"),
        Some(Event::TransformationEvent(_)) => Some("TransformationEvent"),
        Some(Event::AssociationEvent(_)) => Some("AssociationEvent"),
        None => None,
    };
    if let Some(name) = type_name {
        object.insert("type".to_owned(), Value::String(name.to_owned()));
    }
    put_time(&mut object, "eventTime", event.event_time.as_ref());
    put_str(&mut object, "eventTimeZoneOffset", &event.event_time_zone_offset);
    put_str(&mut object, "eventID", &event.event_id);
    match event.certification_info.as_slice() {
        [] => {}
        [single] => put_str(&mut object, "certificationInfo", single),
        many => put_strings(&mut object, "certificationInfo", many),
    }
    if let Some(declaration) = &event.error_declaration {
        object.insert("errorDeclaration".to_owned(), parts::error_declaration(declaration, &context));
    }
    put_str(&mut object, "bizStep", &event.biz_step);
    put_str(&mut object, "disposition", &event.disposition);
    if let Some(read_point) = &event.read_point {
        object.insert("readPoint".to_owned(), parts::location(&read_point.id, &read_point.extensions, &context));
    }
    if let Some(location) = &event.biz_location {
        object.insert("bizLocation".to_owned(), parts::location(&location.id, &location.extensions, &context));
    }
    put_list(&mut object, "bizTransactionList", &event.biz_transaction_list, parts::biz_transaction);
    put_list(&mut object, "sourceList", &event.source_list, |source| {
        parts::source_or_destination(&source.r#type, "source", &source.source)
    });
    put_list(&mut object, "destinationList", &event.destination_list, |destination| {
        parts::source_or_destination(&destination.r#type, "destination", &destination.destination)
    });
    put_list(&mut object, "sensorElementList", &event.sensor_element_list, |element| {
        parts::sensor_element(element, &context)
    });
    if let Some(what) = &event.event {
        put_what(&mut object, what, &context);
        // Lists the document wrote as `[]` (an empty list is not written
        // otherwise); only this type's list properties.
        for key in crate::import::what::list_keys(what) {
            if event.empty_lists.iter().any(|k| k == key) {
                object.entry(*key).or_insert_with(|| Value::Array(Vec::new()));
            }
        }
    }
    write_extensions(&event.extensions, &context, &mut object);
    object
}

/// The type-specific properties.
fn put_what(object: &mut Object, what: &Event, context: &Context) {
    match what {
        Event::ObjectEvent(what) => {
            put_action(object, what.action);
            put_strings(object, "epcList", &what.epc_list);
            put_quantity_list(object, "quantityList", &what.quantity_list);
            put_persistent_disposition(object, what.persistent_disposition.as_ref());
            put_ilmd(object, &what.ilmd, context);
        }
        Event::AggregationEvent(what) => {
            put_action(object, what.action);
            put_str(object, "parentID", &what.parent_id);
            put_strings(object, "childEPCs", &what.child_epcs);
            put_quantity_list(object, "childQuantityList", &what.child_quantity_list);
        }
        Event::TransactionEvent(what) => {
            // Required for this type, so written even when empty: the
            // event then reads back the same.
            object.entry("bizTransactionList").or_insert_with(|| Value::Array(Vec::new()));
            put_action(object, what.action);
            put_str(object, "parentID", &what.parent_id);
            put_strings(object, "epcList", &what.epc_list);
            put_quantity_list(object, "quantityList", &what.quantity_list);
        }
        Event::TransformationEvent(what) => {
            put_strings(object, "inputEPCList", &what.input_epc_list);
            put_quantity_list(object, "inputQuantityList", &what.input_quantity_list);
            put_strings(object, "outputEPCList", &what.output_epc_list);
            put_quantity_list(object, "outputQuantityList", &what.output_quantity_list);
            put_str(object, "transformationID", &what.transformation_id);
            put_persistent_disposition(object, what.persistent_disposition.as_ref());
            put_ilmd(object, &what.ilmd, context);
        }
        Event::AssociationEvent(what) => {
            put_action(object, what.action);
            // Required for this type: written even when empty.
            object.insert("parentID".to_owned(), Value::String(what.parent_id.clone()));
            put_strings(object, "childEPCs", &what.child_epcs);
            put_quantity_list(object, "childQuantityList", &what.child_quantity_list);
        }
    }
}

fn put_list<T>(object: &mut Object, key: &str, items: &[T], write: impl FnMut(&T) -> Value) {
    if !items.is_empty() {
        object.insert(key.to_owned(), Value::Array(items.iter().map(write).collect()));
    }
}

fn put_persistent_disposition(object: &mut Object, disposition: Option<&pb::PersistentDisposition>) {
    if let Some(disposition) = disposition {
        object.insert("persistentDisposition".to_owned(), parts::persistent_disposition(disposition));
    }
}

fn put_ilmd(object: &mut Object, ilmd: &[pb::Extension], context: &Context) {
    if !ilmd.is_empty() {
        object.insert("ilmd".to_owned(), write_ilmd(ilmd, context));
    }
}
