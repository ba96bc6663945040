//! The JSON dialect of every `-o json` (rules in the parent module's documentation): any
//! `veritrace.v1` message, walked through its descriptor in `veritrace_proto::FILE_DESCRIPTOR_SET`.

use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MapKey, ReflectMessage as _, Value as Field,
};
use serde_json::{Map, Number, Value};

/// A message that could not be written as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The descriptors compiled into `veritrace-proto` did not load.
    #[error("loading the protobuf descriptors: {0}")]
    Descriptors(String),
    /// No message of that full name (e.g. "veritrace.v1.Receipt") in the descriptors.
    #[error("no message {0} in the protobuf descriptors")]
    UnknownMessage(String),
    /// The message's bytes did not decode as the named message (the name is wrong).
    #[error("the message is not a valid {name}: {reason}")]
    Decode {
        /// The full name the message was taken for.
        name: String,
        /// Why decoding failed.
        reason: String,
    },
}

/// The descriptors of every `veritrace.v1` message, loaded once.
fn pool() -> Result<&'static DescriptorPool, JsonError> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(veritrace_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| JsonError::Descriptors(e.clone()))
}

/// The descriptor of the message named `full_name`, from the pool loaded once.
pub(super) fn descriptor(full_name: &str) -> Result<prost_reflect::MessageDescriptor, JsonError> {
    pool()?.get_message_by_name(full_name).ok_or_else(|| JsonError::UnknownMessage(full_name.to_owned()))
}

/// `message`, whose full protobuf name is `full_name`, as a JSON value of the dialect.
pub(super) fn message_value<M: Message>(full_name: &str, message: &M) -> Result<Value, JsonError> {
    let descriptor = descriptor(full_name)?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(|e| JsonError::Decode { name: full_name.to_owned(), reason: e.to_string() })?;
    Ok(dynamic_value(&dynamic))
}

/// [`message_value`] for the messages this module renders itself: their names are spelled here and
/// checked by the tests, and a message re-encoded by prost always decodes with its own descriptor.
pub(super) fn known<M: Message>(full_name: &str, message: &M) -> Value {
    message_value(full_name, message).expect("veritrace-proto's descriptors describe its own messages")
}

/// Pretty-printed `value` with a final newline.
pub(super) fn document(value: &Value) -> String {
    format!("{value:#}\n")
}

fn dynamic_value(message: &DynamicMessage) -> Value {
    let descriptor = message.descriptor();
    match descriptor.full_name() {
        "google.protobuf.Timestamp" => {
            let (seconds, nanos) = seconds_nanos(message);
            return Value::String(prost_types::Timestamp { seconds, nanos }.to_string());
        }
        "google.protobuf.Duration" => {
            let (seconds, nanos) = seconds_nanos(message);
            return Value::String(prost_types::Duration { seconds, nanos }.to_string());
        }
        _ => {}
    }
    let mut fields: Vec<(String, Value)> = Vec::new();
    for field in descriptor.fields() {
        let set = message.has_field(&field);
        let in_oneof = field.containing_oneof().is_some_and(|oneof| !oneof.is_synthetic());
        let value = if in_oneof && !set {
            // A oneof shows only its set field.
            continue;
        } else if field.supports_presence() && !set {
            Value::Null
        } else {
            field_value(&field, &message.get_field(&field))
        };
        fields.push((field.name().to_owned(), value));
    }
    // Alphabetical whatever serde_json's map keeps (insertion order with its preserve_order).
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(fields.into_iter().collect())
}

fn seconds_nanos(message: &DynamicMessage) -> (i64, i32) {
    let seconds = message.get_field_by_name("seconds").and_then(|v| v.as_i64());
    let nanos = message.get_field_by_name("nanos").and_then(|v| v.as_i32());
    (seconds.unwrap_or(0), nanos.unwrap_or(0))
}

fn field_value(field: &FieldDescriptor, value: &Field) -> Value {
    match value {
        Field::List(items) => Value::Array(items.iter().map(|item| single(&field.kind(), item)).collect()),
        Field::Map(entries) => {
            let value_kind = match field.kind() {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other,
            };
            let mut object: Vec<(String, Value)> =
                entries.iter().map(|(key, value)| (map_key(key), single(&value_kind, value))).collect();
            object.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(object.into_iter().collect::<Map<String, Value>>())
        }
        single_value => single(&field.kind(), single_value),
    }
}

fn single(kind: &Kind, value: &Field) -> Value {
    match value {
        Field::Bool(b) => Value::Bool(*b),
        Field::I32(n) => Value::from(*n),
        Field::I64(n) => Value::from(*n),
        Field::U32(n) => Value::from(*n),
        Field::U64(n) => Value::from(*n),
        // Through its shortest text, so 0.1f32 is 0.1 and not 0.10000000149011612.
        Field::F32(x) => float(x.to_string().parse().unwrap_or(f64::from(*x))),
        Field::F64(x) => float(*x),
        Field::String(s) => Value::String(s.clone()),
        Field::Bytes(b) => Value::String(hex::encode(b)),
        Field::EnumNumber(n) => match kind {
            Kind::Enum(e) => enum_value(e, *n),
            _ => Value::from(*n),
        },
        Field::Message(m) => dynamic_value(m),
        // Not reached: lists and maps are fields, not elements.
        Field::List(_) | Field::Map(_) => Value::Null,
    }
}

/// A finite number as a JSON number; NaN and the infinities as the strings "NaN", "Infinity" and
/// "-Infinity" (JSON has no numbers for them).
fn float(x: f64) -> Value {
    match Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None if x.is_nan() => Value::String("NaN".to_owned()),
        None if x > 0.0 => Value::String("Infinity".to_owned()),
        None => Value::String("-Infinity".to_owned()),
    }
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

/// The word for value `number` of `enum_type`, or the number itself if the descriptors do not name
/// it (a value added in a newer version of the API).
fn enum_value(enum_type: &EnumDescriptor, number: i32) -> Value {
    match enum_type.get_value(number) {
        Some(value) => Value::String(enum_word(enum_type.name(), value.name())),
        None => Value::from(number),
    }
}

/// The value name lowercased, without the upper snake case of its type's name as a prefix:
/// `("RaftRole", "RAFT_ROLE_PRE_CANDIDATE")` gives "pre_candidate". A name without that prefix is
/// only lowercased.
pub(super) fn enum_word(type_name: &str, value_name: &str) -> String {
    let prefix = format!("{}_", upper_snake(type_name));
    match value_name.strip_prefix(&prefix) {
        Some(rest) if !rest.is_empty() => rest.to_ascii_lowercase(),
        _ => value_name.to_ascii_lowercase(),
    }
}

/// "CodeDigestScheme" -> "CODE_DIGEST_SCHEME".
fn upper_snake(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_words_drop_the_type_prefix() {
        assert_eq!(upper_snake("RaftRole"), "RAFT_ROLE");
        assert_eq!(upper_snake("CodeDigestScheme"), "CODE_DIGEST_SCHEME");
        assert_eq!(upper_snake("HTTPStatus2Code"), "HTTP_STATUS2_CODE");
        assert_eq!(enum_word("RaftRole", "RAFT_ROLE_PRE_CANDIDATE"), "pre_candidate");
        assert_eq!(enum_word("Verdict", "VERDICT_GENUINE_FIRST_SCAN"), "genuine_first_scan");
        assert_eq!(enum_word("CodeDigestScheme", "CODE_DIGEST_SCHEME_BLAKE3_V1"), "blake3_v1");
        assert_eq!(enum_word("Outcome", "OUTCOME_UNSPECIFIED"), "unspecified");
        assert_eq!(enum_word("Color", "RED"), "red");
        assert_eq!(enum_word("Color", "COLOR_"), "color_");
    }

    /// Every enum of the API follows the naming convention, so every value has a prefix-less word
    /// and no two values of an enum share one.
    #[test]
    fn every_api_enum_value_has_its_type_prefix() {
        let pool = pool().expect("descriptors load");
        let mut enums = 0;
        for e in pool.all_enums().filter(|e| e.package_name() == "veritrace.v1") {
            enums += 1;
            let prefix = format!("{}_", upper_snake(e.name()));
            let mut words: Vec<String> = Vec::new();
            for v in e.values() {
                assert!(v.name().starts_with(&prefix), "{} in {}", v.name(), e.full_name());
                let word = enum_word(e.name(), v.name());
                assert!(!words.contains(&word), "{word} twice in {}", e.full_name());
                words.push(word);
            }
        }
        assert!(enums >= 18, "{enums} enums");
    }

    #[test]
    fn floats_that_json_cannot_hold_are_strings() {
        assert_eq!(float(1.5), Value::from(1.5));
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::INFINITY), "Infinity");
        assert_eq!(float(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(single(&Kind::Float, &Field::F32(0.1)), Value::from(0.1));
    }

    #[test]
    fn unknown_names_and_enum_numbers() {
        let e = message_value("veritrace.v1.NoSuchMessage", &prost_types::Timestamp::default()).expect_err("unknown");
        assert_eq!(e, JsonError::UnknownMessage("veritrace.v1.NoSuchMessage".to_owned()));
        let receipt = veritrace_proto::v1::Receipt { outcome: 99, ..Default::default() };
        let value = message_value("veritrace.v1.Receipt", &receipt).expect("renders");
        assert_eq!(value["outcome"], 99, "a value the descriptors do not name stays a number");
    }

    #[test]
    fn durations_are_seconds_text() {
        let pool = pool().expect("descriptors load");
        let rule = pool.get_message_by_name("veritrace.v1.GovernanceRule").expect("GovernanceRule");
        let mut dynamic = DynamicMessage::new(rule.clone());
        let ttl = rule.get_field_by_name("proposal_ttl").expect("proposal_ttl");
        let duration = pool.get_message_by_name("google.protobuf.Duration").expect("Duration");
        let mut d = DynamicMessage::new(duration);
        d.set_field_by_name("seconds", Field::I64(90));
        d.set_field_by_name("nanos", Field::I32(500_000_000));
        dynamic.set_field(&ttl, Field::Message(d));
        assert_eq!(dynamic_value(&dynamic)["proposal_ttl"], "90.500s");
    }
}
