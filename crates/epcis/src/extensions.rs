//! Extension properties (`"ext1:float": "20"`) <-> `Extension` entries, and
//! the walk over an object's properties that separates EPCIS terms from
//! extensions.

use std::collections::HashSet;

use serde_json::{Map, Value};
use veritrace_proto::v1 as pb;

use crate::context::{Context, split_iri};
use crate::error::{EpcisError, JsonPath};
use crate::read::Result;

/// Reads every property of `object`: `term` handles the EPCIS terms of this
/// place (returning `Ok(false)` for a name that is not one), every other
/// property must be an extension and is returned as one, in the object's
/// key order.
pub(crate) fn read_properties(
    object: &Map<String, Value>,
    path: &JsonPath<'_>,
    context: &Context,
    mut term: impl FnMut(&str, &Value, &JsonPath<'_>) -> Result<bool>,
) -> Result<Vec<pb::Extension>> {
    let mut extensions = Vec::new();
    // Full IRIs seen, so that two spellings of one property are caught.
    let mut seen = HashSet::new();
    for (key, value) in object {
        let key_path = path.key(key);
        if term(key, value, &key_path)? {
            continue;
        }
        let iri = context
            .expand_property(key, &key_path)?
            .ok_or_else(|| EpcisError::UnexpectedProperty { path: key_path.to_string() })?;
        let (namespace_uri, name) = split_iri(&iri);
        let extension = pb::Extension {
            namespace_uri: namespace_uri.to_owned(),
            name: name.to_owned(),
            json_value: value.to_string(),
        };
        if !seen.insert(iri.clone()) {
            return Err(EpcisError::DuplicateProperty { path: key_path.to_string(), iri });
        }
        extensions.push(extension);
    }
    Ok(extensions)
}

/// Reads every property of an object EPCIS closes to extensions
/// (`quantityElement`, `bizTransaction`, `source`, `destination`,
/// `persistentDisposition`): any property `term` does not take is an error.
pub(crate) fn read_closed_object(
    object: &Map<String, Value>,
    path: &JsonPath<'_>,
    mut term: impl FnMut(&str, &Value, &JsonPath<'_>) -> Result<bool>,
) -> Result<()> {
    for (key, value) in object {
        let key_path = path.key(key);
        if !term(key, value, &key_path)? {
            return Err(EpcisError::UnexpectedProperty { path: key_path.to_string() });
        }
    }
    Ok(())
}

/// Writes `extensions` into `object` under their compact names.
///
/// A `json_value` that is not JSON text (only possible in a hand-built
/// message) is written as a JSON string holding the text. An extension never
/// replaces a property already written (an EPCIS term, or an earlier
/// extension compacting to the same name).
pub(crate) fn write_extensions(extensions: &[pb::Extension], context: &Context, object: &mut Map<String, Value>) {
    for extension in extensions {
        let name = context.compact_iri(&format!("{}{}", extension.namespace_uri, extension.name));
        let value =
            serde_json::from_str(&extension.json_value).unwrap_or_else(|_| Value::String(extension.json_value.clone()));
        object.entry(name).or_insert(value);
    }
}

/// Reads `ilmd`: an object whose properties are all extensions.
pub(crate) fn read_ilmd(value: &Value, path: &JsonPath<'_>, context: &Context) -> Result<Vec<pb::Extension>> {
    let object = crate::read::object(value, path)?;
    read_properties(object, path, context, |_, _, _| Ok(false))
}

/// Writes `ilmd` back as an object.
pub(crate) fn write_ilmd(ilmd: &[pb::Extension], context: &Context) -> Value {
    let mut object = Map::new();
    write_extensions(ilmd, context, &mut object);
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    /// The importer stores extensions (and keys inside `json_value`) in the
    /// order serde_json iterates an object: sorted, as long as nothing in
    /// the build enables serde_json's `preserve_order`. If this fails,
    /// something did, and the messages imported from a given text changed.
    #[test]
    fn serde_json_objects_iterate_sorted() {
        let value: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": {"d": 2, "c": 3}}"#).unwrap_or_default();
        assert_eq!(value.to_string(), r#"{"a":{"c":3,"d":2},"b":1}"#);
    }
}
