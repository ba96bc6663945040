//! `sensorElementList` entries (spec §2.1, `SE` and `SR`): fields in R's
//! fixed order, reports sorted, extensions inline after their parent's
//! fields.

use prost_types::Timestamp;
use veritrace_proto::v1 as pb;

use super::HashError;
use super::extensions::inline;
use super::prehash::{id, nested, scalar, sorted, vocabulary};
use super::values::{Namespaces, canon, format_number, timestamp};
use super::vocabulary::Vocabulary;

/// `sensorElement` + `sensorMetadata...` + sorted reports + extensions.
pub(super) fn element(element: &pb::SensorElement, ns: &Namespaces) -> Result<String, HashError> {
    let mut out = String::from("sensorElement");
    if let Some(metadata) = &element.sensor_metadata {
        nested(&mut out, "sensorMetadata", self::metadata(metadata, ns)?);
    }
    let reports = element.sensor_report.iter().map(|r| report(r, ns)).collect::<Result<Vec<_>, _>>()?;
    out.push_str(&sorted(reports.into_iter()));
    out.push_str(&inline(&element.extensions, ns)?);
    Ok(out)
}

fn metadata(metadata: &pb::SensorMetadata, ns: &Namespaces) -> Result<String, HashError> {
    let mut out = String::new();
    time(&mut out, "time", metadata.time.as_ref())?;
    time(&mut out, "startTime", metadata.start_time.as_ref())?;
    time(&mut out, "endTime", metadata.end_time.as_ref())?;
    scalar(&mut out, "deviceID", &id(&metadata.device_id, ns));
    scalar(&mut out, "deviceMetadata", &id(&metadata.device_metadata, ns));
    scalar(&mut out, "rawData", &id(&metadata.raw_data, ns));
    scalar(&mut out, "dataProcessingMethod", &id(&metadata.data_processing_method, ns));
    scalar(&mut out, "bizRules", &id(&metadata.biz_rules, ns));
    out.push_str(&inline(&metadata.extensions, ns)?);
    Ok(out)
}

/// `sensorReport` + its fields. R's order has no place for a report's
/// `bizRules`; it is written after `dataProcessingMethod`, as in metadata.
fn report(report: &pb::SensorReport, ns: &Namespaces) -> Result<String, HashError> {
    let mut out = String::from("sensorReport");
    scalar(&mut out, "type", &vocabulary(Vocabulary::MeasurementType, &report.r#type, ns));
    scalar(&mut out, "exception", &vocabulary(Vocabulary::SensorAlert, &report.exception, ns));
    scalar(&mut out, "deviceID", &id(&report.device_id, ns));
    scalar(&mut out, "deviceMetadata", &id(&report.device_metadata, ns));
    scalar(&mut out, "rawData", &id(&report.raw_data, ns));
    scalar(&mut out, "dataProcessingMethod", &id(&report.data_processing_method, ns));
    scalar(&mut out, "bizRules", &id(&report.biz_rules, ns));
    time(&mut out, "time", report.time.as_ref())?;
    scalar(&mut out, "microorganism", &id(&report.microorganism, ns));
    scalar(&mut out, "chemicalSubstance", &id(&report.chemical_substance, ns));
    number(&mut out, "value", report.value)?;
    scalar(&mut out, "component", &vocabulary(Vocabulary::Component, &report.component, ns));
    if let Some(text) = &report.string_value {
        scalar(&mut out, "stringValue", &canon(text));
    }
    if let Some(flag) = report.boolean_value {
        // Lower case, as XML writes it (R's JSON path writes `True`).
        scalar(&mut out, "booleanValue", if flag { "true" } else { "false" });
    }
    scalar(&mut out, "hexBinaryValue", &canon(&report.hex_binary_value));
    scalar(&mut out, "uriValue", &id(&report.uri_value, ns));
    number(&mut out, "minValue", report.min_value)?;
    number(&mut out, "maxValue", report.max_value)?;
    number(&mut out, "meanValue", report.mean_value)?;
    number(&mut out, "sDev", report.s_dev)?;
    number(&mut out, "percRank", report.perc_rank)?;
    number(&mut out, "percValue", report.perc_value)?;
    scalar(&mut out, "uom", report.uom.trim());
    scalar(&mut out, "coordinateReferenceSystem", &id(&report.coordinate_reference_system, ns));
    out.push_str(&inline(&report.extensions, ns)?);
    Ok(out)
}

fn time(out: &mut String, name: &str, time: Option<&Timestamp>) -> Result<(), HashError> {
    if let Some(time) = time {
        scalar(out, name, &timestamp(time)?);
    }
    Ok(())
}

fn number(out: &mut String, name: &str, value: Option<f64>) -> Result<(), HashError> {
    if let Some(value) = value {
        scalar(out, name, &format_number(value)?);
    }
    Ok(())
}
