//! Protobuf messages as proto3 JSON (the canonical mapping: camelCase
//! names, enums by name, bytes as base64, timestamps in RFC 3339), through
//! the descriptors compiled into `veritrace-proto`.

use anyhow::{Context as _, anyhow};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

fn descriptor(name: &str) -> anyhow::Result<MessageDescriptor> {
    let pool =
        DescriptorPool::decode(veritrace_proto::FILE_DESCRIPTOR_SET).context("loading the protobuf descriptors")?;
    pool.get_message_by_name(name).ok_or_else(|| anyhow!("no message {name} in the descriptors"))
}

/// Parses proto3 JSON into message `M` named `name` (e.g. "veritrace.v1.Transaction").
pub fn from_json<M: Message + Default>(name: &str, json: &str) -> anyhow::Result<M> {
    let mut de = serde_json::Deserializer::from_str(json);
    let dynamic = DynamicMessage::deserialize(descriptor(name)?, &mut de)
        .with_context(|| format!("not a valid {name} in proto3 JSON"))?;
    de.end().context("trailing characters after the JSON value")?;
    M::decode(dynamic.encode_to_vec().as_slice()).context("re-decoding the message")
}

/// Writes message `m` (named `name`) as pretty proto3 JSON.
pub fn to_json<M: Message>(name: &str, m: &M) -> anyhow::Result<String> {
    let dynamic =
        DynamicMessage::decode(descriptor(name)?, m.encode_to_vec().as_slice()).context("decoding for JSON")?;
    let mut out = serde_json::Serializer::pretty(Vec::new());
    dynamic.serialize_with_options(&mut out, &SerializeOptions::new()).context("writing JSON")?;
    String::from_utf8(out.into_inner()).context("JSON is not UTF-8")
}

#[cfg(test)]
mod tests {
    use veritrace_proto::v1 as pb;

    use super::*;

    #[test]
    fn transactions_round_trip_through_json() {
        let json = r#"{"registerProduct": {"gtin": "00614141000012", "brandPartyId": "party-1", "name": "Serum"}}"#;
        let tx: pb::Transaction = from_json("veritrace.v1.Transaction", json).expect("parses");
        let Some(pb::transaction::Action::RegisterProduct(p)) = &tx.action else { panic!("wrong action {tx:?}") };
        assert_eq!((p.gtin.as_str(), p.name.as_str()), ("00614141000012", "Serum"));
        let back = to_json("veritrace.v1.Transaction", &tx).expect("writes");
        assert!(back.contains("\"brandPartyId\": \"party-1\""), "{back}");
    }

    #[test]
    fn bad_json_names_the_problem() {
        let e = from_json::<pb::Transaction>("veritrace.v1.Transaction", r#"{"registerProdukt": {}}"#)
            .expect_err("refused");
        assert!(format!("{e:#}").contains("registerProdukt"), "{e:#}");
        assert!(from_json::<pb::Transaction>("veritrace.v1.Transaction", "{").is_err());
    }
}
