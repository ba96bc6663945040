//! Readers for the structured parts of an event: the "where", "why" and
//! sensor data, and quantity elements.

use serde_json::Value;
use veritrace_proto::v1 as pb;

use crate::context::Context;
use crate::error::{EpcisError, JsonPath};
use crate::extensions::{read_closed_object, read_properties};
use crate::read::{self, Result, boolean, list, number, object, require, string, string_list, timestamp};

/// `certificationInfo`: one URI, or an array of them.
pub(crate) fn certification_info(value: &Value, path: &JsonPath<'_>) -> Result<Vec<String>> {
    match value {
        Value::String(uri) => Ok(vec![uri.clone()]),
        Value::Array(_) => string_list(value, path),
        _ => Err(read::wrong_type(path, "a string or an array of strings")),
    }
}

/// `action`: "ADD", "OBSERVE" or "DELETE".
pub(crate) fn action(value: &Value, path: &JsonPath<'_>) -> Result<i32> {
    let action = match read::text(value, path)? {
        "ADD" => pb::EpcisAction::Add,
        "OBSERVE" => pb::EpcisAction::Observe,
        "DELETE" => pb::EpcisAction::Delete,
        other => {
            return Err(EpcisError::InvalidValue {
                path: path.to_string(),
                value: other.to_owned(),
                expected: "an action (ADD, OBSERVE or DELETE)",
            });
        }
    };
    Ok(action as i32)
}

pub(crate) fn error_declaration(value: &Value, path: &JsonPath<'_>, context: &Context) -> Result<pb::ErrorDeclaration> {
    let fields = object(value, path)?;
    require(fields, path, &["declarationTime"])?;
    let mut declaration = pb::ErrorDeclaration::default();
    let extensions = read_properties(fields, path, context, |key, value, path| {
        match key {
            "declarationTime" => declaration.declaration_time = Some(timestamp(value, path)?),
            "reason" => declaration.reason = string(value, path)?,
            "correctiveEventIDs" => declaration.corrective_event_ids = string_list(value, path)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(pb::ErrorDeclaration { extensions, ..declaration })
}

pub(crate) fn persistent_disposition(value: &Value, path: &JsonPath<'_>) -> Result<pb::PersistentDisposition> {
    let mut disposition = pb::PersistentDisposition::default();
    read_closed_object(object(value, path)?, path, |key, value, path| {
        match key {
            "set" => disposition.set = string_list(value, path)?,
            "unset" => disposition.unset = string_list(value, path)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(disposition)
}

/// `readPoint` or `bizLocation`: `(id, extensions)`.
pub(crate) fn location(value: &Value, path: &JsonPath<'_>, context: &Context) -> Result<(String, Vec<pb::Extension>)> {
    let fields = object(value, path)?;
    require(fields, path, &["id"])?;
    let mut id = String::new();
    let extensions = read_properties(fields, path, context, |key, value, path| {
        if key != "id" {
            return Ok(false);
        }
        id = string(value, path)?;
        Ok(true)
    })?;
    Ok((id, extensions))
}

pub(crate) fn quantity_element(value: &Value, path: &JsonPath<'_>) -> Result<pb::QuantityElement> {
    let fields = object(value, path)?;
    require(fields, path, &["epcClass"])?;
    let mut element = pb::QuantityElement::default();
    read_closed_object(fields, path, |key, value, path| {
        match key {
            "epcClass" => element.epc_class = string(value, path)?,
            "quantity" => element.quantity = Some(number(value, path)?),
            "uom" => element.uom = string(value, path)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(element)
}

pub(crate) fn quantity_list(value: &Value, path: &JsonPath<'_>) -> Result<Vec<pb::QuantityElement>> {
    list(value, path, quantity_element)
}

pub(crate) fn biz_transaction(value: &Value, path: &JsonPath<'_>) -> Result<pb::BizTransaction> {
    let fields = object(value, path)?;
    require(fields, path, &["bizTransaction"])?;
    let mut transaction = pb::BizTransaction::default();
    read_closed_object(fields, path, |key, value, path| {
        match key {
            "type" => transaction.r#type = string(value, path)?,
            "bizTransaction" => transaction.biz_transaction = string(value, path)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(transaction)
}

/// A `source` (`end` = "source") or `destination` (`end` = "destination"):
/// `(type, party or location)`.
fn source_or_destination(value: &Value, path: &JsonPath<'_>, end: &str) -> Result<(String, String)> {
    let fields = object(value, path)?;
    require(fields, path, &["type", end])?;
    let (mut kind, mut id) = (String::new(), String::new());
    read_closed_object(fields, path, |key, value, path| {
        if key == "type" {
            kind = string(value, path)?;
        } else if key == end {
            id = string(value, path)?;
        } else {
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok((kind, id))
}

pub(crate) fn source(value: &Value, path: &JsonPath<'_>) -> Result<pb::Source> {
    let (r#type, source) = source_or_destination(value, path, "source")?;
    Ok(pb::Source { r#type, source })
}

pub(crate) fn destination(value: &Value, path: &JsonPath<'_>) -> Result<pb::Destination> {
    let (r#type, destination) = source_or_destination(value, path, "destination")?;
    Ok(pb::Destination { r#type, destination })
}

pub(crate) fn sensor_element(value: &Value, path: &JsonPath<'_>, context: &Context) -> Result<pb::SensorElement> {
    let fields = object(value, path)?;
    require(fields, path, &["sensorReport"])?;
    let mut element = pb::SensorElement::default();
    let extensions = read_properties(fields, path, context, |key, value, path| {
        match key {
            "sensorMetadata" => element.sensor_metadata = Some(sensor_metadata(value, path, context)?),
            "sensorReport" => element.sensor_report = list(value, path, |v, p| sensor_report(v, p, context))?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(pb::SensorElement { extensions, ..element })
}

fn sensor_metadata(value: &Value, path: &JsonPath<'_>, context: &Context) -> Result<pb::SensorMetadata> {
    let mut metadata = pb::SensorMetadata::default();
    let extensions = read_properties(object(value, path)?, path, context, |key, value, path| {
        match key {
            "time" => metadata.time = Some(timestamp(value, path)?),
            "deviceID" => metadata.device_id = string(value, path)?,
            "deviceMetadata" => metadata.device_metadata = string(value, path)?,
            "rawData" => metadata.raw_data = string(value, path)?,
            "startTime" => metadata.start_time = Some(timestamp(value, path)?),
            "endTime" => metadata.end_time = Some(timestamp(value, path)?),
            "dataProcessingMethod" => metadata.data_processing_method = string(value, path)?,
            "bizRules" => metadata.biz_rules = string(value, path)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(pb::SensorMetadata { extensions, ..metadata })
}

fn sensor_report(value: &Value, path: &JsonPath<'_>, context: &Context) -> Result<pb::SensorReport> {
    let fields = object(value, path)?;
    require(fields, path, &["type"])?;
    let mut report = pb::SensorReport::default();
    let extensions = read_properties(fields, path, context, |key, value, path| {
        match key {
            "type" => report.r#type = string(value, path)?,
            "exception" => report.exception = string(value, path)?,
            "deviceID" => report.device_id = string(value, path)?,
            "deviceMetadata" => report.device_metadata = string(value, path)?,
            "rawData" => report.raw_data = string(value, path)?,
            "dataProcessingMethod" => report.data_processing_method = string(value, path)?,
            "bizRules" => report.biz_rules = string(value, path)?,
            "time" => report.time = Some(timestamp(value, path)?),
            "microorganism" => report.microorganism = string(value, path)?,
            "chemicalSubstance" => report.chemical_substance = string(value, path)?,
            "coordinateReferenceSystem" => report.coordinate_reference_system = string(value, path)?,
            "value" => report.value = Some(number(value, path)?),
            "component" => report.component = string(value, path)?,
            "stringValue" => report.string_value = Some(string(value, path)?),
            "booleanValue" => report.boolean_value = Some(boolean(value, path)?),
            "hexBinaryValue" => report.hex_binary_value = string(value, path)?,
            "uriValue" => report.uri_value = string(value, path)?,
            "minValue" => report.min_value = Some(number(value, path)?),
            "maxValue" => report.max_value = Some(number(value, path)?),
            "meanValue" => report.mean_value = Some(number(value, path)?),
            "sDev" => report.s_dev = Some(number(value, path)?),
            "percRank" => report.perc_rank = Some(number(value, path)?),
            "percValue" => report.perc_value = Some(number(value, path)?),
            "uom" => report.uom = string(value, path)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(pb::SensorReport { extensions, ..report })
}
