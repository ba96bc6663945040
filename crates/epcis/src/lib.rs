//! GS1 EPCIS 2.0 JSON-LD <-> Veritrace's protobuf [`EpcisEvent`].
//!
//! * [`parse_document`] / [`parse_document_value`]: an `EPCISDocument`, an
//!   `EPCISQueryDocument` or one bare event -> its events.
//! * [`parse_event`]: one event object, given the `@context` entries around
//!   it.
//! * [`parse_epcis_document`] / [`parse_epcis_document_value`]: the same,
//!   keeping a query document's `queryName` and `subscriptionID`
//!   ([`EpcisDocument`], [`QueryResults`]).
//! * [`event_to_json`], [`document_to_json`], [`query_document_to_json`]:
//!   back to JSON-LD.
//!
//! An empty list property (`"epcList": []`) is kept as the event's
//! `empty_lists` and written back as `[]`: proto3 cannot tell an empty
//! repeated field from an absent one.
//!
//! A pure library: no I/O, no async. Every input gives a value or an
//! [`EpcisError`] naming the JSON path at fault; nothing panics.
//!
//! # Mapping
//!
//! As `proto/veritrace/v1/epcis.proto` states it: each standard property of
//! an event is the field of the same name in snake_case (`bizStep` ->
//! `biz_step`, `childEPCs` -> `child_epcs`, `sDev` -> `s_dev`); `type` is the
//! case of the `EpcisEvent.event` oneof; `action` is [`EpcisAction`].
//! Vocabulary values (bizStep, disposition, types, ...) and identifiers are
//! stored as sent, short CBV names and URIs alike. Quantities and sensor
//! values are doubles. `certificationInfo` may be a string or an array;
//! it is written back as a string when there is exactly one.
//!
//! Times (`eventTime`, `declarationTime`, sensor `time` / `startTime` /
//! `endTime`) are `xsd:dateTimeStamp` texts with an offset, stored as the
//! instant they name (nanosecond precision; finer digits are truncated;
//! years 0001..=9999 UTC, the range of a protobuf Timestamp) and written
//! back in UTC (`2005-04-04T02:33:31.116Z`). `eventTimeZoneOffset`
//! is kept as sent (checked against `±hh:mm`, at most 14:00).
//!
//! Extensions (any property that is not an EPCIS term at its place) are
//! kept as [`Extension`]`{ namespace_uri, name, json_value }` at event
//! level, in `readPoint`, `bizLocation`, `errorDeclaration`, sensor elements,
//! sensor metadata and sensor reports, and as the `ilmd` of object and
//! transformation events. The name is expanded through the `@context`: a
//! prefix (`"ext1": "http://example.com/ext1/"`, or one of the standard
//! context's: `cbvmda`, `gs1`, `rdfs`, ...), a term defined by an extra
//! context, or an absolute IRI (`scheme://...` or `urn:...`); it is split at
//! its last `/`, `#` or `:`. The value is kept as JSON text, nested property
//! names as written. The exporter writes each extension under a compact
//! name again, using the event's context entries. Extra `@context` entries
//! (every entry but the standard context) are kept in
//! `EpcisEvent.json_ld_context`, as canonical JSON texts.
//!
//! Objects EPCIS closes (`quantityElement`, `bizTransaction`, `source`,
//! `destination`, `persistentDisposition`) take no extensions; an unknown
//! property there, or a bare unknown word anywhere, is refused rather than
//! dropped.
//!
//! # Not kept
//!
//! * `recordTime`: the ledger's commit time is the record time; an imported
//!   `recordTime` is checked for form and dropped.
//! * The offset written inside a time string (only the instant is kept).
//! * Document-level parts: `id`, `schemaVersion`, `creationDate`,
//!   `epcisHeader` (master data, SBDH), `sender`, `receiver`,
//!   `instanceIdentifier`, query names and subscription ids.
//! * The order of an object's properties: extensions, and properties inside
//!   extension values, come out sorted by name (serde_json's order).
//! * Extension event types (`type` other than the five standard ones) are
//!   refused with [`EpcisError::UnsupportedEventType`].
//!
//! # JSON-LD support
//!
//! Enough for EPCIS extensions, not a JSON-LD processor: remote contexts
//! other than the standard EPCIS one are kept but not fetched (a prefix only
//! they define is [`EpcisError::UnknownPrefix`]); `@vocab`, `@base` and
//! context resets are not supported; redefining a term of the standard
//! context (`bizStep`, ...) is [`EpcisError::InvalidContext`]. An extra
//! context may rebind a standard prefix (`cbvmda`, ...) for its extensions,
//! as one GS1 example does, although strict JSON-LD 1.1 forbids it (the
//! standard context is `@protected`).
//!
//! # Round trips
//!
//! For every event the importer produces, importing [`event_to_json`]'s (or
//! [`document_to_json`]'s) output gives the same message back.
//!
//! [`EpcisEvent`]: veritrace_proto::v1::EpcisEvent
//! [`EpcisAction`]: veritrace_proto::v1::EpcisAction
//! [`Extension`]: veritrace_proto::v1::Extension

mod context;
mod error;
mod export;
mod extensions;
mod import;
mod read;
mod time;

pub use context::{EPCIS_CONTEXT_URI, STANDARD_PREFIXES};

/// Parses an `xsd:dateTimeStamp` with its offset (`2005-04-03T20:33:31.116-06:00`)
/// into the instant it names, as the importer reads event times; the error
/// says what is wrong. For the query parameters of the REST binding.
pub fn parse_time(text: &str) -> Result<prost_types::Timestamp, String> {
    time::parse_timestamp(text).map_err(|why| format!("{text:?} is not an xsd:dateTimeStamp: {why}"))
}

/// An instant as the exporter writes times: UTC, `...Z`, millisecond
/// precision unless finer is needed.
pub fn format_time(timestamp: &prost_types::Timestamp) -> String {
    time::format_timestamp(timestamp)
}
pub use error::EpcisError;
pub use export::{document_to_json, event_to_json, query_document_to_json};
pub use import::{
    EpcisDocument, QueryResults, parse_document, parse_document_value, parse_epcis_document,
    parse_epcis_document_value, parse_event,
};
