//! Typed reads of JSON values, failing with the value's path.

use prost_types::Timestamp;
use serde_json::{Map, Value};

use crate::error::{EpcisError, JsonPath};
use crate::time;

pub(crate) type Result<T> = std::result::Result<T, EpcisError>;

pub(crate) fn wrong_type(path: &JsonPath<'_>, expected: &'static str) -> EpcisError {
    EpcisError::WrongType { path: path.to_string(), expected }
}

pub(crate) fn missing(path: &JsonPath<'_>) -> EpcisError {
    EpcisError::MissingField { path: path.to_string() }
}

pub(crate) fn object<'v>(value: &'v Value, path: &JsonPath<'_>) -> Result<&'v Map<String, Value>> {
    value.as_object().ok_or_else(|| wrong_type(path, "an object"))
}

pub(crate) fn array<'v>(value: &'v Value, path: &JsonPath<'_>) -> Result<&'v [Value]> {
    value.as_array().map(Vec::as_slice).ok_or_else(|| wrong_type(path, "an array"))
}

pub(crate) fn text<'v>(value: &'v Value, path: &JsonPath<'_>) -> Result<&'v str> {
    value.as_str().ok_or_else(|| wrong_type(path, "a string"))
}

pub(crate) fn string(value: &Value, path: &JsonPath<'_>) -> Result<String> {
    text(value, path).map(str::to_owned)
}

pub(crate) fn number(value: &Value, path: &JsonPath<'_>) -> Result<f64> {
    value.as_f64().ok_or_else(|| wrong_type(path, "a number"))
}

pub(crate) fn boolean(value: &Value, path: &JsonPath<'_>) -> Result<bool> {
    value.as_bool().ok_or_else(|| wrong_type(path, "a boolean"))
}

pub(crate) fn timestamp(value: &Value, path: &JsonPath<'_>) -> Result<Timestamp> {
    let found = text(value, path)?;
    time::parse_timestamp(found).map_err(|reason| EpcisError::BadTimestamp {
        path: path.to_string(),
        value: found.to_owned(),
        reason,
    })
}

/// Each element of an array, read with `read`.
pub(crate) fn list<T>(
    value: &Value,
    path: &JsonPath<'_>,
    mut read: impl FnMut(&Value, &JsonPath<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    array(value, path)?.iter().enumerate().map(|(index, element)| read(element, &path.index(index))).collect()
}

pub(crate) fn string_list(value: &Value, path: &JsonPath<'_>) -> Result<Vec<String>> {
    list(value, path, string)
}

/// Fails with `MissingField` unless `object` has every key of `required`.
pub(crate) fn require(object: &Map<String, Value>, path: &JsonPath<'_>, required: &[&str]) -> Result<()> {
    match required.iter().find(|key| !object.contains_key(**key)) {
        Some(key) => Err(missing(&path.key(key))),
        None => Ok(()),
    }
}
