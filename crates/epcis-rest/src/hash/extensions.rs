//! The generic renderer `G` (spec §3) for what the event hash has no fixed
//! layout for: user extensions, wherever they are, and ILMD.

use serde_json::Value;
use veritrace_proto::v1 as pb;

use super::HashError;
use super::values::{Namespaces, canon, format_number};

/// Full IRI of `rdfs:comment`, which R never hashes.
const RDFS_COMMENT: &str = "http://www.w3.org/2000/01/rdf-schema#comment";

/// Members of a JSON object R skips (`json_to_py._json_to_py`): `#text` is
/// the object's own value, the others are comments.
const SKIPPED_MEMBERS: [&str; 3] = ["#text", "rdfs:comment", "comment"];

/// Each extension's `G` strings (one per array element for an array
/// value), unsorted: the caller sorts them with their siblings.
pub(super) fn render_all(extensions: &[pb::Extension], namespaces: &Namespaces) -> Result<Vec<String>, HashError> {
    let mut out = Vec::new();
    for extension in extensions {
        if format!("{}{}", extension.namespace_uri, extension.name) == RDFS_COMMENT {
            continue;
        }
        let key = namespaces.extension_key(extension);
        // A hand-built message may hold text that is not JSON: hash it as
        // the string it is, as the exporter would write it.
        let value =
            serde_json::from_str(&extension.json_value).unwrap_or_else(|_| Value::String(extension.json_value.clone()));
        render(&key, &value, namespaces, &mut out)?;
    }
    Ok(out)
}

/// `EXT(parent)`: a parent's extensions, sorted and concatenated, to follow
/// its regular fields.
pub(super) fn inline(extensions: &[pb::Extension], namespaces: &Namespaces) -> Result<String, HashError> {
    let mut parts = render_all(extensions, namespaces)?;
    parts.sort();
    Ok(parts.concat())
}

/// `G` of a member `key` with `value`, pushed onto `out`; an array gives one
/// string per element, all under `key`.
fn render(key: &str, value: &Value, namespaces: &Namespaces, out: &mut Vec<String>) -> Result<(), HashError> {
    match value {
        Value::Array(elements) => {
            for element in elements {
                render(key, element, namespaces, out)?;
            }
        }
        Value::Object(members) => {
            let mut text = key.to_owned();
            if let Some(own) = members.get("#text") {
                text.push_str(&scalar_part(own, namespaces)?);
            }
            let mut children = Vec::new();
            for (name, child) in members {
                if !SKIPPED_MEMBERS.contains(&name.as_str()) && !name.starts_with("@xmlns") {
                    render(&namespaces.property_key(name), child, namespaces, &mut children)?;
                }
            }
            children.sort();
            text.push_str(&children.concat());
            out.push(text);
        }
        scalar => out.push(format!("{key}{}", scalar_part(scalar, namespaces)?)),
    }
    Ok(())
}

/// `=value` for a scalar with a non-empty canonical text, else nothing.
/// Booleans are lower case (R's JSON path writes Python's `True`, its XML
/// path `true`; spec §4.8). A null has no value (R would write `None`).
fn scalar_part(value: &Value, namespaces: &Namespaces) -> Result<String, HashError> {
    let text = match value {
        Value::Null | Value::Array(_) | Value::Object(_) => String::new(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => match number.as_f64() {
            Some(number) => format_number(number)?,
            None => canon(&number.to_string()),
        },
        Value::String(text) => canon(&namespaces.expand_value(text.trim())),
    };
    Ok(if text.is_empty() { text } else { format!("={text}") })
}
