//! EPCIS 2.0 JSON-LD -> `EpcisEvent`.

mod parts;
pub(crate) mod what;

use serde_json::Value;
use veritrace_proto::v1 as pb;

use crate::context::Context;
use crate::error::{EpcisError, JsonPath};
use crate::extensions::read_properties;
use crate::read::{self, Result, list, missing, object, require, string, timestamp};
use crate::time::is_time_zone_offset;
use what::What;

/// Parses an EPCIS 2.0 JSON-LD text into its events.
///
/// Accepts an `EPCISDocument` (events under `epcisBody.eventList`), an
/// `EPCISQueryDocument` (under `epcisBody.queryResults.resultsBody.eventList`)
/// or one bare event object. The document's `@context` entries beyond the
/// standard EPCIS context go into every event's `json_ld_context`, followed
/// by the event's own extra entries. Document-level parts (header, master
/// data, sender / receiver, ...) are not events and are ignored.
///
/// Fails on the first event that does not convert; see [`EpcisError`].
pub fn parse_document(json: &str) -> std::result::Result<Vec<pb::EpcisEvent>, EpcisError> {
    let value: Value = serde_json::from_str(json).map_err(EpcisError::NotJson)?;
    parse_document_value(&value)
}

/// [`parse_document`] for JSON already parsed.
pub fn parse_document_value(value: &Value) -> std::result::Result<Vec<pb::EpcisEvent>, EpcisError> {
    parse_epcis_document_value(value).map(|document| document.events)
}

/// The query an `EPCISQueryDocument` answers: `epcisBody.queryResults`'s
/// `queryName` (required) and `subscriptionID` (when the results come from
/// a subscription).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryResults {
    /// `queryName`, e.g. `SimpleEventQuery`.
    pub query_name: String,
    /// `subscriptionID`, if any.
    pub subscription_id: Option<String>,
}

/// A parsed document: its events and, for an `EPCISQueryDocument`, the
/// query the events answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EpcisDocument {
    /// The events, in document order.
    pub events: Vec<pb::EpcisEvent>,
    /// Set for an `EPCISQueryDocument`.
    pub query: Option<QueryResults>,
}

/// [`parse_document`], keeping what a query document says of its query
/// (export it again with [`crate::query_document_to_json`]).
pub fn parse_epcis_document(json: &str) -> std::result::Result<EpcisDocument, EpcisError> {
    let value: Value = serde_json::from_str(json).map_err(EpcisError::NotJson)?;
    parse_epcis_document_value(&value)
}

/// [`parse_epcis_document`] for JSON already parsed.
pub fn parse_epcis_document_value(value: &Value) -> std::result::Result<EpcisDocument, EpcisError> {
    let root = JsonPath::Root("$");
    let fields = object(value, &root)?;
    let type_path = root.key("type");
    let body_path = root.key("epcisBody");
    let results_path = body_path.key("queryResults");
    let results_body_path = results_path.key("resultsBody");
    let is_query = match read::text(fields.get("type").ok_or_else(|| missing(&type_path))?, &type_path)? {
        "EPCISDocument" => false,
        "EPCISQueryDocument" => true,
        _ => return Ok(EpcisDocument { events: vec![parse_event_at(value, &[], &root)?], query: None }),
    };

    let mut context = Context::default();
    let inherited = match fields.get("@context") {
        Some(entries) => context.add_context_value(entries, &root.key("@context"))?,
        None => Vec::new(),
    };
    let body = member(value, "epcisBody", &root)?;
    let (container, container_path, query) = if is_query {
        let results = member(body, "queryResults", &body_path)?;
        let query = QueryResults {
            query_name: string(member(results, "queryName", &results_path)?, &results_path.key("queryName"))?,
            subscription_id: match object(results, &results_path)?.get("subscriptionID") {
                Some(id) => Some(string(id, &results_path.key("subscriptionID"))?),
                None => None,
            },
        };
        (member(results, "resultsBody", &results_path)?, &results_body_path, Some(query))
    } else {
        (body, &body_path, None)
    };
    let list_path = container_path.key("eventList");
    let events = member(container, "eventList", container_path)?;
    let events = list(events, &list_path, |event, path| parse_event_at(event, &inherited, path))?;
    Ok(EpcisDocument { events, query })
}

/// Converts one EPCIS event object.
///
/// `inherited_context` holds the `@context` entries in force around the
/// event (as in `EpcisEvent.json_ld_context`: each the JSON text of a context
/// URI or object; the standard EPCIS context may be included or not). They
/// and the event's own extra `@context` entries, canonicalised (compact JSON,
/// sorted keys) and without repeats, become the event's `json_ld_context`.
/// Paths in errors start at the event (`$`), or at `inherited_context[i]`.
pub fn parse_event(value: &Value, inherited_context: &[String]) -> std::result::Result<pb::EpcisEvent, EpcisError> {
    let root = JsonPath::Root("inherited_context");
    let mut inherited = Vec::new();
    let mut context = Context::default();
    for (index, text) in inherited_context.iter().enumerate() {
        let path = root.index(index);
        let entry: Value = serde_json::from_str(text).map_err(|error| EpcisError::InvalidContext {
            path: path.to_string(),
            reason: format!("not JSON: {error}"),
        })?;
        context.add_entry(&entry, &path, &mut inherited)?;
    }
    parse_event_in(value, context, inherited, &JsonPath::Root("$"))
}

/// [`parse_event`] of an event inside a document, whose context entries are
/// already checked.
fn parse_event_at(value: &Value, inherited: &[String], path: &JsonPath<'_>) -> Result<pb::EpcisEvent> {
    let mut context = Context::default();
    let mut entries = Vec::new();
    for entry in inherited {
        let parsed = serde_json::from_str(entry).unwrap_or_else(|_| Value::String(entry.clone()));
        context.add_entry(&parsed, path, &mut entries)?;
    }
    parse_event_in(value, context, entries, path)
}

fn parse_event_in(
    value: &Value,
    mut context: Context,
    mut json_ld_context: Vec<String>,
    path: &JsonPath<'_>,
) -> Result<pb::EpcisEvent> {
    let fields = object(value, path)?;
    let type_path = path.key("type");
    let event_type = read::text(fields.get("type").ok_or_else(|| missing(&type_path))?, &type_path)?;
    let mut what = What::for_type(event_type).ok_or_else(|| EpcisError::UnsupportedEventType {
        path: type_path.to_string(),
        event_type: event_type.to_owned(),
    })?;
    require(fields, path, &["eventTime", "eventTimeZoneOffset"])?;
    require(fields, path, what.required())?;
    if let Some(entries) = fields.get("@context") {
        for entry in context.add_context_value(entries, &path.key("@context"))? {
            if !json_ld_context.contains(&entry) {
                json_ld_context.push(entry);
            }
        }
    }

    let mut event = pb::EpcisEvent::default();
    let mut empty_lists = Vec::new();
    let extensions = read_properties(fields, path, &context, |key, value, path| {
        match key {
            "@context" | "type" => {}
            "eventTime" => event.event_time = Some(timestamp(value, path)?),
            // recordTime is the ledger's commit time, not the client's: it
            // is checked for form and dropped.
            "recordTime" => {
                timestamp(value, path)?;
            }
            "eventTimeZoneOffset" => {
                let offset = read::text(value, path)?;
                if !is_time_zone_offset(offset) {
                    return Err(EpcisError::BadTimeZoneOffset { path: path.to_string(), value: offset.to_owned() });
                }
                event.event_time_zone_offset = offset.to_owned();
            }
            "eventID" => event.event_id = string(value, path)?,
            "certificationInfo" => event.certification_info = parts::certification_info(value, path)?,
            "errorDeclaration" => event.error_declaration = Some(parts::error_declaration(value, path, &context)?),
            "bizStep" => event.biz_step = string(value, path)?,
            "disposition" => event.disposition = string(value, path)?,
            "readPoint" => {
                let (id, extensions) = parts::location(value, path, &context)?;
                event.read_point = Some(pb::ReadPoint { id, extensions });
            }
            "bizLocation" => {
                let (id, extensions) = parts::location(value, path, &context)?;
                event.biz_location = Some(pb::BizLocation { id, extensions });
            }
            "bizTransactionList" => event.biz_transaction_list = list(value, path, parts::biz_transaction)?,
            "sourceList" => event.source_list = list(value, path, parts::source)?,
            "destinationList" => event.destination_list = list(value, path, parts::destination)?,
            "sensorElementList" => {
                event.sensor_element_list = list(value, path, |v, p| parts::sensor_element(v, p, &context))?;
            }
            _ => {
                let taken = what.take(key, value, path, &context)?;
                if taken && what.is_empty_list(key, value) {
                    empty_lists.push(key.to_owned());
                }
                return Ok(taken);
            }
        }
        Ok(true)
    })?;
    empty_lists.sort();
    Ok(pb::EpcisEvent { extensions, json_ld_context, empty_lists, event: Some(what.into_event()), ..event })
}

/// Property `key` of the object `value` at `path`, which must be there.
fn member<'v>(value: &'v Value, key: &str, path: &JsonPath<'_>) -> Result<&'v Value> {
    object(value, path)?.get(key).ok_or_else(|| missing(&path.key(key)))
}
