//! The part of JSON-LD `@context` processing EPCIS extensions need: which
//! prefixes and terms are defined, expanding a property name to an IRI, and
//! compacting an IRI back to a property name.
//!
//! This is not a JSON-LD processor. Remote contexts other than the standard
//! EPCIS one are kept (as entries) but not fetched, so their prefixes are
//! unknown; `@vocab`, `@base`, scoped contexts and null (context reset) are
//! not supported. The standard EPCIS context is built in; its terms
//! (`bizStep`, ...) cannot be redefined, its prefixes (`cbvmda`, ...) can,
//! for extensions (see [`Context::add_entry`]).

use serde_json::Value;

use crate::error::{EpcisError, JsonPath};

/// The standard EPCIS 2.0 JSON-LD context, written first in every `@context`
/// the exporter produces.
pub const EPCIS_CONTEXT_URI: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// URIs the importer reads as the standard context: the versioned one, the
/// unversioned alias GS1 also publishes, and the GitHub Pages copy older
/// examples used. None of them is copied into `json_ld_context`.
const STANDARD_CONTEXT_URIS: [&str; 3] = [
    EPCIS_CONTEXT_URI,
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    "https://gs1.github.io/EPCIS/epcis-context.jsonld",
];

/// Prefixes the standard EPCIS 2.0 context defines: (prefix, IRI).
pub const STANDARD_PREFIXES: [(&str, &str); 8] = [
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("gs1", "https://gs1.org/voc/"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
];

/// Other top-level terms of the standard context; protected, so an extra
/// context may not redefine them.
const STANDARD_TERMS: [&str; 57] = [
    "id",
    "type",
    "baseURL",
    "ObjectEvent",
    "AggregationEvent",
    "TransformationEvent",
    "AssociationEvent",
    "TransactionEvent",
    "Collection",
    "eventTimeZoneOffset",
    "action",
    "uom",
    "eventID",
    "instanceIdentifier",
    "schemaVersion",
    "EPCISDocument",
    "EPCISQueryDocument",
    "epcisHeader",
    "masterData",
    "vocabularyList",
    "epcisBody",
    "queryResults",
    "subscriptionID",
    "queryName",
    "resultsBody",
    "member",
    "eventTime",
    "recordTime",
    "certificationInfo",
    "bizStep",
    "disposition",
    "bizLocation",
    "readPoint",
    "transformationID",
    "epcList",
    "sourceList",
    "destinationList",
    "persistentDisposition",
    "quantity",
    "epcClass",
    "quantityList",
    "bizTransactionList",
    "parentID",
    "childEPCs",
    "childQuantityList",
    "inputEPCList",
    "outputEPCList",
    "inputQuantityList",
    "outputQuantityList",
    "sensorElementList",
    "errorDeclaration",
    "creationDate",
    "sender",
    "receiver",
    "ilmd",
    "eventList",
    "children",
];

/// Whether `uri` names the standard EPCIS context.
pub(crate) fn is_standard_context_uri(uri: &str) -> bool {
    STANDARD_CONTEXT_URIS.contains(&uri)
}

/// Prefix and term definitions in force at some place of a document.
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// Definitions from extra context entries, in document order; a later
    /// definition of a key overrides an earlier one (JSON-LD's rule).
    definitions: Vec<(String, String)>,
}

impl Context {
    /// Reads one `@context` value (a string, an object, or an array of
    /// them): adds the definitions of its objects, and returns its entries
    /// other than the standard context, as canonical JSON texts.
    pub(crate) fn add_context_value(&mut self, value: &Value, path: &JsonPath<'_>) -> Result<Vec<String>, EpcisError> {
        let mut extra = Vec::new();
        match value {
            Value::Array(entries) => {
                for (index, entry) in entries.iter().enumerate() {
                    self.add_entry(entry, &path.index(index), &mut extra)?;
                }
            }
            entry => self.add_entry(entry, path, &mut extra)?,
        }
        Ok(extra)
    }

    /// Adds one context entry; appends its canonical text to `extra` unless
    /// it is the standard context.
    pub(crate) fn add_entry(
        &mut self,
        entry: &Value,
        path: &JsonPath<'_>,
        extra: &mut Vec<String>,
    ) -> Result<(), EpcisError> {
        match entry {
            Value::String(uri) if is_standard_context_uri(uri) => return Ok(()),
            Value::String(_) => {}
            Value::Object(definitions) => {
                for (key, definition) in definitions {
                    self.add_definition(key, definition, &path.key(key))?;
                }
            }
            Value::Null => return Err(invalid_context(path, "null (a context reset) is not supported")),
            _ => return Err(invalid_context(path, "expected a context URI or a context object")),
        }
        let text = entry.to_string();
        if !extra.contains(&text) {
            extra.push(text);
        }
        Ok(())
    }

    fn add_definition(&mut self, key: &str, definition: &Value, path: &JsonPath<'_>) -> Result<(), EpcisError> {
        let iri = match definition {
            Value::String(iri) => Some(iri.as_str()),
            Value::Object(expanded) => expanded.get("@id").and_then(Value::as_str),
            // Un-defining a term: refused rather than ignored, so that a
            // prefix the document unbinds is never silently expanded.
            Value::Null => return Err(invalid_context(path, "un-defining a term (null) is not supported")),
            _ => return Err(invalid_context(path, "a term definition must be an IRI string or an object")),
        };
        // Keywords (`@version`, `@vocab`, ...) and keyword aliases do not
        // name IRIs; keys holding ':' are type coercions of compact IRIs
        // (`"rail:vehiclePosition": {"@type": "xsd:integer"}`).
        let Some(iri) = iri.filter(|iri| !iri.starts_with('@')) else { return Ok(()) };
        if key.starts_with('@') || key.contains(':') {
            return Ok(());
        }
        // Redefining a standard term would change what an EPCIS property
        // means to JSON-LD consumers while this crate reads it as standard.
        // (A standard *prefix* may be redefined: strict JSON-LD 1.1 refuses
        // that too, the context being @protected, but GS1's own example
        // `WithFullCombinationOfFields_transformation_event` binds "cbvmda"
        // to its own IRI, and it only changes the IRIs of extensions.)
        if STANDARD_TERMS.contains(&key) {
            return Err(invalid_context(path, format!("redefines the standard EPCIS term {key:?}")));
        }
        self.definitions.push((key.to_owned(), iri.to_owned()));
        Ok(())
    }

    /// The IRI a prefix or term stands for: its last definition in the
    /// extra contexts, else the standard context's.
    fn lookup(&self, key: &str) -> Option<&str> {
        self.definitions
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, iri)| iri.as_str())
            .or_else(|| STANDARD_PREFIXES.iter().find(|(prefix, _)| *prefix == key).map(|(_, iri)| *iri))
    }

    /// Expands the name of a non-EPCIS property to its IRI: a term of an
    /// extra context, a compact IRI `prefix:suffix`, or an absolute IRI
    /// (`scheme://...` or `urn:...`). `Ok(None)` when the name is none of
    /// these (a bare word, a keyword).
    pub(crate) fn expand_property(&self, name: &str, path: &JsonPath<'_>) -> Result<Option<String>, EpcisError> {
        if name.starts_with('@') {
            return Ok(None);
        }
        let Some((prefix, suffix)) = name.split_once(':') else {
            return Ok(self.definitions.iter().rev().find(|(k, _)| k == name).map(|(_, iri)| iri.clone()));
        };
        // JSON-LD: a suffix starting with "//" makes it an absolute IRI,
        // whatever the prefix.
        if suffix.starts_with("//") {
            return Ok(Some(name.to_owned()));
        }
        if let Some(iri) = self.lookup(prefix) {
            return Ok(Some(format!("{iri}{suffix}")));
        }
        // JSON-LD reads any undefined prefix as a URI scheme. We accept only
        // `urn:` that way: an undefined "ext1:" is a missing context entry,
        // and storing "ext1:" as a namespace would be meaningless.
        if prefix.eq_ignore_ascii_case("urn") {
            return Ok(Some(name.to_owned()));
        }
        Err(EpcisError::UnknownPrefix { path: path.to_string(), prefix: prefix.to_owned() })
    }

    /// The property name to write for `iri`: a term defined for exactly this
    /// IRI, else `prefix:suffix` with the longest matching prefix IRI, else
    /// the IRI itself. Only definitions in force are used, so expanding the
    /// result gives `iri` back whenever that is possible at all.
    pub(crate) fn compact_iri(&self, iri: &str) -> String {
        // (key, IRI, whether an extra context defines it): only extra
        // contexts define terms usable as whole property names.
        let candidates = STANDARD_PREFIXES
            .iter()
            .map(|(key, prefix_iri)| (*key, *prefix_iri, false))
            .chain(self.definitions.iter().map(|(key, prefix_iri)| (key.as_str(), prefix_iri.as_str(), true)))
            .filter(|(key, prefix_iri, _)| self.lookup(key) == Some(prefix_iri));
        let mut best: Option<(&str, &str)> = None;
        for (key, prefix_iri, is_term) in candidates {
            if prefix_iri == iri && is_term {
                return key.to_owned();
            }
            let Some(suffix) = iri.strip_prefix(prefix_iri) else { continue };
            let usable = !suffix.is_empty() && !suffix.starts_with("//");
            if usable && best.is_none_or(|(_, longest)| prefix_iri.len() > longest.len()) {
                best = Some((key, prefix_iri));
            }
        }
        match best {
            Some((key, prefix_iri)) => format!("{key}:{}", &iri[prefix_iri.len()..]),
            None => iri.to_owned(),
        }
    }
}

/// Splits an extension's IRI into (namespace IRI, local name) at its last
/// '/', '#' or ':' (the namespace keeps the delimiter).
pub(crate) fn split_iri(iri: &str) -> (&str, &str) {
    match iri.rfind(['/', '#', ':']) {
        Some(at) => iri.split_at(at + 1),
        None => ("", iri),
    }
}

fn invalid_context(path: &JsonPath<'_>, reason: impl Into<String>) -> EpcisError {
    EpcisError::InvalidContext { path: path.to_string(), reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context(value: Value) -> Context {
        let mut context = Context::default();
        let root = JsonPath::Root("$");
        assert!(context.add_context_value(&value, &root).is_ok());
        context
    }

    #[test]
    fn extra_entries_skip_the_standard_context_and_repeat_once() {
        let mut context = Context::default();
        let value = json!([EPCIS_CONTEXT_URI, {"ext1": "http://example.com/ext1/"}, "https://example.com/ctx.jsonld", {"ext1": "http://example.com/ext1/"}]);
        let extra = context.add_context_value(&value, &JsonPath::Root("$")).ok();
        assert_eq!(
            extra,
            Some(vec![
                r#"{"ext1":"http://example.com/ext1/"}"#.to_owned(),
                r#""https://example.com/ctx.jsonld""#.to_owned()
            ])
        );
    }

    #[test]
    fn expands_prefixes_terms_and_absolute_iris() {
        let context = context(json!({"ext1": "http://example.com/ext1/", "myField": {"@id": "http://example.com/f"}}));
        let root = JsonPath::Root("$");
        let expand = |name| context.expand_property(name, &root).ok().flatten();
        assert_eq!(expand("ext1:float").as_deref(), Some("http://example.com/ext1/float"));
        assert_eq!(expand("cbvmda:lotNumber").as_deref(), Some("urn:epcglobal:cbv:mda:lotNumber"));
        assert_eq!(expand("myField").as_deref(), Some("http://example.com/f"));
        assert_eq!(expand("http://x.org/a").as_deref(), Some("http://x.org/a"));
        assert_eq!(expand("urn:x:y").as_deref(), Some("urn:x:y"));
        assert_eq!(expand("bare"), None);
        assert!(matches!(
            context.expand_property("ext9:a", &root),
            Err(EpcisError::UnknownPrefix { prefix, .. }) if prefix == "ext9"
        ));
    }

    #[test]
    fn later_definitions_override_and_compaction_follows_them() {
        let context = context(json!([{"ex": "http://a/"}, {"ex": "http://b/"}]));
        assert_eq!(context.compact_iri("http://b/x"), "ex:x");
        assert_eq!(context.compact_iri("http://a/x"), "http://a/x");
        assert_eq!(context.compact_iri("urn:epcglobal:cbv:mda:lotNumber"), "cbvmda:lotNumber");
    }

    #[test]
    fn compaction_prefers_exact_terms_then_longest_prefixes() {
        let context = context(json!({"ex": "http://e/", "exdeep": "http://e/deep/", "term": "http://e/t"}));
        assert_eq!(context.compact_iri("http://e/t"), "term");
        assert_eq!(context.compact_iri("http://e/deep/x"), "exdeep:x");
        assert_eq!(context.compact_iri("http://e/x"), "ex:x");
        assert_eq!(context.compact_iri("urn:other:x"), "urn:other:x");
    }

    #[test]
    fn standard_prefixes_may_be_redefined_for_extensions() {
        let context = context(json!({"cbvmda": "http://example.com/cbvmda/"}));
        let root = JsonPath::Root("$");
        let expanded = context.expand_property("cbvmda:lotNumber", &root).ok().flatten();
        assert_eq!(expanded.as_deref(), Some("http://example.com/cbvmda/lotNumber"));
        assert_eq!(context.compact_iri("http://example.com/cbvmda/lotNumber"), "cbvmda:lotNumber");
        // The standard IRI is no longer reachable through "cbvmda".
        assert_eq!(context.compact_iri("urn:epcglobal:cbv:mda:lotNumber"), "urn:epcglobal:cbv:mda:lotNumber");
    }

    #[test]
    fn standard_terms_cannot_be_redefined_nor_contexts_reset() {
        let root = JsonPath::Root("$");
        for bad in [
            json!({"bizStep": "http://evil/"}),
            json!({"eventTime": {"@id": "http://evil/"}}),
            json!({"ext1": null}),
            json!([null]),
            json!(3),
        ] {
            let mut context = Context::default();
            assert!(matches!(context.add_context_value(&bad, &root), Err(EpcisError::InvalidContext { .. })), "{bad}");
        }
    }

    #[test]
    fn splits_iris_at_the_last_delimiter() {
        assert_eq!(split_iri("http://example.com/ext1/float"), ("http://example.com/ext1/", "float"));
        assert_eq!(split_iri("urn:epcglobal:cbv:mda:lotNumber"), ("urn:epcglobal:cbv:mda:", "lotNumber"));
        assert_eq!(
            split_iri("http://www.w3.org/2000/01/rdf-schema#comment"),
            ("http://www.w3.org/2000/01/rdf-schema#", "comment")
        );
        assert_eq!(split_iri("plain"), ("", "plain"));
    }
}
