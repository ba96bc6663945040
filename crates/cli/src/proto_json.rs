//! Protobuf messages read from proto3 JSON (the canonical mapping: camelCase
//! names, enums by name, bytes as base64, timestamps in RFC 3339), through
//! the descriptors compiled into `veritrace-proto`: the input of `tx submit`.
//!
//! Output is another matter: every `-o json` writes the one dialect of
//! `veritrace_client::render` (snake_case names, hex bytes, lowercase enum
//! words).

use anyhow::Context as _;
use prost::Message;
use prost_reflect::DynamicMessage;
use veritrace_client::render::message_descriptor;

/// Parses proto3 JSON into message `M` named `name` (e.g. "veritrace.v1.Transaction").
pub fn from_json<M: Message + Default>(name: &str, json: &str) -> anyhow::Result<M> {
    let mut de = serde_json::Deserializer::from_str(json);
    let dynamic = DynamicMessage::deserialize(message_descriptor(name)?, &mut de)
        .with_context(|| format!("not a valid {name} in proto3 JSON"))?;
    de.end().context("trailing characters after the JSON value")?;
    M::decode(dynamic.encode_to_vec().as_slice()).context("re-decoding the message")
}

/// Writes message `m` named `name` as pretty proto3 JSON (the mapping
/// [`from_json`] reads), ending in a newline: for files meant to be pasted
/// into `tx submit` input.
pub fn to_json<M: Message>(name: &str, m: &M) -> anyhow::Result<String> {
    let dynamic = DynamicMessage::decode(message_descriptor(name)?, m.encode_to_vec().as_slice())
        .with_context(|| format!("encoding a {name}"))?;
    Ok(serde_json::to_string_pretty(&dynamic)? + "\n")
}

#[cfg(test)]
mod tests {
    use veritrace_proto::v1 as pb;

    use super::*;

    #[test]
    fn transactions_parse_from_proto3_json() {
        let json = r#"{"registerProduct": {"gtin": "00614141000012", "brandPartyId": "party-1", "name": "Serum"},
                       "nonce": "7"}"#;
        let tx: pb::Transaction = from_json("veritrace.v1.Transaction", json).expect("parses");
        let Some(pb::transaction::Action::RegisterProduct(p)) = &tx.action else { panic!("wrong action {tx:?}") };
        assert_eq!(
            (p.gtin.as_str(), p.brand_party_id.as_str(), p.name.as_str()),
            ("00614141000012", "party-1", "Serum")
        );
        assert_eq!(tx.nonce, 7);
    }

    #[test]
    fn bad_json_names_the_problem() {
        let e = from_json::<pb::Transaction>("veritrace.v1.Transaction", r#"{"registerProdukt": {}}"#)
            .expect_err("refused");
        assert!(format!("{e:#}").contains("registerProdukt"), "{e:#}");
        assert!(from_json::<pb::Transaction>("veritrace.v1.Transaction", "{").is_err());
    }
}
