//! [`EpcisError`] and the JSON paths its variants carry.

use std::fmt;

/// Why a JSON-LD text could not be turned into [`EpcisEvent`]s.
///
/// Every variant that concerns one place of the input carries its `path`, a
/// JSONPath-like location such as `$.epcisBody.eventList[2].eventTime`
/// (`$` is the value given to the parser).
///
/// [`EpcisEvent`]: veritrace_proto::v1::EpcisEvent
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EpcisError {
    /// The input is not JSON text.
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// A field EPCIS requires is absent.
    #[error("{path}: required field is missing")]
    MissingField {
        /// Where the field should be.
        path: String,
    },
    /// A value has the wrong JSON type.
    #[error("{path}: expected {expected}")]
    WrongType {
        /// Where the value is.
        path: String,
        /// What was expected there, e.g. "a string" or "an array of strings".
        expected: &'static str,
    },
    /// A time is not an `xsd:dateTimeStamp` (RFC 3339 date-time with offset).
    #[error("{path}: bad timestamp {value:?}: {reason}")]
    BadTimestamp {
        /// Where the time is.
        path: String,
        /// The text found.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `eventTimeZoneOffset` is not `+hh:mm` / `-hh:mm` within -14:00..=+14:00.
    #[error("{path}: bad time zone offset {value:?} (expected \"+hh:mm\" or \"-hh:mm\", at most 14:00)")]
    BadTimeZoneOffset {
        /// Where the offset is.
        path: String,
        /// The text found.
        value: String,
    },
    /// A string is not one of the values allowed there (e.g. an `action`
    /// other than ADD, OBSERVE, DELETE).
    #[error("{path}: {value:?} is not {expected}")]
    InvalidValue {
        /// Where the value is.
        path: String,
        /// The text found.
        value: String,
        /// What is allowed there.
        expected: &'static str,
    },
    /// The event's `type` is not one of the five standard EPCIS 2.0 event
    /// types (an extension event type, or a typo). Veritrace refuses those.
    #[error(
        "{path}: unsupported event type {event_type:?} (supported: ObjectEvent, AggregationEvent, \
         TransactionEvent, TransformationEvent, AssociationEvent)"
    )]
    UnsupportedEventType {
        /// Where the `type` is.
        path: String,
        /// The type found.
        event_type: String,
    },
    /// An extension property `prefix:name` uses a prefix that no `@context`
    /// entry (nor the standard EPCIS context) defines.
    #[error("{path}: prefix {prefix:?} is not defined by any @context entry")]
    UnknownPrefix {
        /// Where the property is.
        path: String,
        /// The undefined prefix.
        prefix: String,
    },
    /// A property that is neither an EPCIS term allowed at this place nor an
    /// extension (a `prefix:name` compact IRI, an absolute IRI, or a term of
    /// an extra `@context` entry). Refused so that nothing is dropped
    /// silently.
    #[error("{path}: unexpected property (not an EPCIS term here, and not an extension IRI)")]
    UnexpectedProperty {
        /// Where the property is.
        path: String,
    },
    /// Two properties of one object name the same IRI (e.g. `ext1:a` and
    /// `http://example.com/ext1/a`): refused rather than merged.
    #[error("{path}: property {iri:?} is given twice under different names")]
    DuplicateProperty {
        /// Where the second one is.
        path: String,
        /// The IRI both names expand to.
        iri: String,
    },
    /// An `@context` entry is not a URI string or an object, or it redefines
    /// a term of the standard EPCIS context (such as `bizStep`).
    #[error("{path}: invalid @context entry: {reason}")]
    InvalidContext {
        /// Where the entry is (`inherited_context[i]` for an entry passed to
        /// [`parse_event`](crate::parse_event)).
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A location in the input JSON, built without allocating on the success
/// path: only an error renders it to a string.
#[derive(Clone, Copy)]
pub(crate) enum JsonPath<'a> {
    /// The value given to the parser (`$`), or a named root such as
    /// `inherited_context`.
    Root(&'a str),
    /// A property of an object.
    Key(&'a JsonPath<'a>, &'a str),
    /// An element of an array.
    Index(&'a JsonPath<'a>, usize),
}

impl<'a> JsonPath<'a> {
    /// The path of property `key` of the object at `self`.
    pub(crate) fn key(&'a self, key: &'a str) -> JsonPath<'a> {
        JsonPath::Key(self, key)
    }

    /// The path of element `index` of the array at `self`.
    pub(crate) fn index(&'a self, index: usize) -> JsonPath<'a> {
        JsonPath::Index(self, index)
    }
}

impl fmt::Display for JsonPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonPath::Root(name) => f.write_str(name),
            JsonPath::Key(parent, key) => {
                // Keys like "ext1:float" or "@context" are not identifiers;
                // JSONPath's bracket form keeps the path unambiguous.
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    write!(f, "{parent}.{key}")
                } else {
                    write!(f, "{parent}[{key:?}]")
                }
            }
            JsonPath::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::JsonPath;

    #[test]
    fn paths_render_as_jsonpath() {
        let root = JsonPath::Root("$");
        let body = root.key("epcisBody");
        let list = body.key("eventList");
        let event = list.index(2);
        assert_eq!(event.key("eventTime").to_string(), "$.epcisBody.eventList[2].eventTime");
        assert_eq!(event.key("ext1:float").to_string(), "$.epcisBody.eventList[2][\"ext1:float\"]");
    }
}
