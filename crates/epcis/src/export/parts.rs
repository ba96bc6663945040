//! Writers for the structured parts of an event, and the JSON value
//! helpers they share. Empty proto3 strings and lists are "not given" and
//! are not written; properties EPCIS requires inside a part that is present
//! (`readPoint.id`, `quantityElement.epcClass`, ...) are always written.

use prost_types::Timestamp;
use serde_json::{Map, Value};
use veritrace_proto::v1 as pb;

use crate::context::Context;
use crate::extensions::write_extensions;
use crate::time::format_timestamp;

pub(crate) type Object = Map<String, Value>;

pub(crate) fn put_str(object: &mut Object, key: &str, value: &str) {
    if !value.is_empty() {
        object.insert(key.to_owned(), Value::String(value.to_owned()));
    }
}

pub(crate) fn put_strings(object: &mut Object, key: &str, values: &[String]) {
    if !values.is_empty() {
        object.insert(key.to_owned(), Value::Array(values.iter().cloned().map(Value::String).collect()));
    }
}

pub(crate) fn put_time(object: &mut Object, key: &str, value: Option<&Timestamp>) {
    if let Some(time) = value {
        object.insert(key.to_owned(), Value::String(format_timestamp(time)));
    }
}

/// A double as JSON: integral values as integers (`200`, not `200.0`, as
/// EPCIS documents write them) when exactly representable; `None` for NaN
/// and infinities, which JSON cannot hold.
pub(crate) fn number(value: f64) -> Option<Value> {
    const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    if !value.is_finite() {
        return None;
    }
    let negative_zero = value == 0.0 && value.is_sign_negative();
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGER_LIMIT && !negative_zero {
        // Exact: integral and below 2^53 in magnitude.
        return Some(Value::from(value as i64));
    }
    Some(Value::from(value))
}

pub(crate) fn put_number(object: &mut Object, key: &str, value: Option<f64>) {
    if let Some(json) = value.and_then(number) {
        object.insert(key.to_owned(), json);
    }
}

/// `action` text; `None` for UNSPECIFIED or an unknown number.
pub(crate) fn action(action: i32) -> Option<&'static str> {
    match pb::EpcisAction::try_from(action) {
        Ok(pb::EpcisAction::Add) => Some("ADD"),
        Ok(pb::EpcisAction::Observe) => Some("OBSERVE"),
        Ok(pb::EpcisAction::Delete) => Some("DELETE"),
        Ok(pb::EpcisAction::Unspecified) | Err(_) => None,
    }
}

pub(crate) fn put_action(object: &mut Object, value: i32) {
    if let Some(text) = action(value) {
        object.insert("action".to_owned(), Value::String(text.to_owned()));
    }
}

pub(crate) fn error_declaration(declaration: &pb::ErrorDeclaration, context: &Context) -> Value {
    let mut object = Object::new();
    put_time(&mut object, "declarationTime", declaration.declaration_time.as_ref());
    put_str(&mut object, "reason", &declaration.reason);
    put_strings(&mut object, "correctiveEventIDs", &declaration.corrective_event_ids);
    write_extensions(&declaration.extensions, context, &mut object);
    Value::Object(object)
}

pub(crate) fn persistent_disposition(disposition: &pb::PersistentDisposition) -> Value {
    let mut object = Object::new();
    put_strings(&mut object, "set", &disposition.set);
    put_strings(&mut object, "unset", &disposition.unset);
    Value::Object(object)
}

/// `readPoint` / `bizLocation`.
pub(crate) fn location(id: &str, extensions: &[pb::Extension], context: &Context) -> Value {
    let mut object = Object::new();
    object.insert("id".to_owned(), Value::String(id.to_owned()));
    write_extensions(extensions, context, &mut object);
    Value::Object(object)
}

pub(crate) fn quantity_list(elements: &[pb::QuantityElement]) -> Value {
    let elements = elements.iter().map(|element| {
        let mut object = Object::new();
        object.insert("epcClass".to_owned(), Value::String(element.epc_class.clone()));
        put_number(&mut object, "quantity", element.quantity);
        put_str(&mut object, "uom", &element.uom);
        Value::Object(object)
    });
    Value::Array(elements.collect())
}

pub(crate) fn put_quantity_list(object: &mut Object, key: &str, elements: &[pb::QuantityElement]) {
    if !elements.is_empty() {
        object.insert(key.to_owned(), quantity_list(elements));
    }
}

pub(crate) fn biz_transaction(transaction: &pb::BizTransaction) -> Value {
    let mut object = Object::new();
    put_str(&mut object, "type", &transaction.r#type);
    object.insert("bizTransaction".to_owned(), Value::String(transaction.biz_transaction.clone()));
    Value::Object(object)
}

/// A `source` or `destination` (`end` names the second property).
pub(crate) fn source_or_destination(kind: &str, end: &str, id: &str) -> Value {
    let mut object = Object::new();
    object.insert("type".to_owned(), Value::String(kind.to_owned()));
    object.insert(end.to_owned(), Value::String(id.to_owned()));
    Value::Object(object)
}

pub(crate) fn sensor_element(element: &pb::SensorElement, context: &Context) -> Value {
    let mut object = Object::new();
    if let Some(metadata) = &element.sensor_metadata {
        object.insert("sensorMetadata".to_owned(), sensor_metadata(metadata, context));
    }
    let reports = element.sensor_report.iter().map(|report| sensor_report(report, context)).collect();
    object.insert("sensorReport".to_owned(), Value::Array(reports));
    write_extensions(&element.extensions, context, &mut object);
    Value::Object(object)
}

fn sensor_metadata(metadata: &pb::SensorMetadata, context: &Context) -> Value {
    let mut object = Object::new();
    put_time(&mut object, "time", metadata.time.as_ref());
    put_str(&mut object, "deviceID", &metadata.device_id);
    put_str(&mut object, "deviceMetadata", &metadata.device_metadata);
    put_str(&mut object, "rawData", &metadata.raw_data);
    put_time(&mut object, "startTime", metadata.start_time.as_ref());
    put_time(&mut object, "endTime", metadata.end_time.as_ref());
    put_str(&mut object, "dataProcessingMethod", &metadata.data_processing_method);
    put_str(&mut object, "bizRules", &metadata.biz_rules);
    write_extensions(&metadata.extensions, context, &mut object);
    Value::Object(object)
}

fn sensor_report(report: &pb::SensorReport, context: &Context) -> Value {
    let mut object = Object::new();
    object.insert("type".to_owned(), Value::String(report.r#type.clone()));
    put_str(&mut object, "exception", &report.exception);
    put_str(&mut object, "deviceID", &report.device_id);
    put_str(&mut object, "deviceMetadata", &report.device_metadata);
    put_str(&mut object, "rawData", &report.raw_data);
    put_str(&mut object, "dataProcessingMethod", &report.data_processing_method);
    put_str(&mut object, "bizRules", &report.biz_rules);
    put_time(&mut object, "time", report.time.as_ref());
    put_str(&mut object, "microorganism", &report.microorganism);
    put_str(&mut object, "chemicalSubstance", &report.chemical_substance);
    put_str(&mut object, "coordinateReferenceSystem", &report.coordinate_reference_system);
    put_number(&mut object, "value", report.value);
    put_str(&mut object, "component", &report.component);
    if let Some(text) = &report.string_value {
        object.insert("stringValue".to_owned(), Value::String(text.clone()));
    }
    if let Some(flag) = report.boolean_value {
        object.insert("booleanValue".to_owned(), Value::Bool(flag));
    }
    put_str(&mut object, "hexBinaryValue", &report.hex_binary_value);
    put_str(&mut object, "uriValue", &report.uri_value);
    put_number(&mut object, "minValue", report.min_value);
    put_number(&mut object, "maxValue", report.max_value);
    put_number(&mut object, "meanValue", report.mean_value);
    put_number(&mut object, "sDev", report.s_dev);
    put_number(&mut object, "percRank", report.perc_rank);
    put_number(&mut object, "percValue", report.perc_value);
    put_str(&mut object, "uom", &report.uom);
    write_extensions(&report.extensions, context, &mut object);
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::number;
    use serde_json::json;

    #[test]
    fn numbers_are_written_as_epcis_documents_write_them() {
        assert_eq!(number(200.0), Some(json!(200)));
        assert_eq!(number(200.5), Some(json!(200.5)));
        assert_eq!(number(-3.0), Some(json!(-3)));
        assert_eq!(number(1e300), Some(json!(1e300)));
        assert_eq!(number(f64::NAN), None);
        assert_eq!(number(f64::INFINITY), None);
        // -0.0 stays a float so that it reads back as -0.0.
        assert!(number(-0.0).and_then(|v| v.as_f64()).is_some_and(|x| x.is_sign_negative()));
    }
}
