//! `SubmitEnvelopes` as a client in another language sees it: receipts
//! asked for with proofs carry them through any replica; envelopes are
//! taken as the bytes sent, and one that is not a canonical `SignedEnvelope`
//! gets a REJECTED receipt with its reason; a request that is not the
//! method's message is INVALID_ARGUMENT with a reason, not a bare INTERNAL.
//! Real gRPC between in-process replicas.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use prost::Message as _;
use prost::bytes::{Buf as _, BufMut as _};
use veritrace_consensus::sim;
use veritrace_proto::v1 as pb;
use veritrace_testkit::{TestCluster, product};

/// Field `number`, length-delimited, holding `value`.
fn field(out: &mut Vec<u8>, number: u8, value: &[u8]) {
    out.push((number << 3) | 2);
    prost::encoding::encode_varint(u64::try_from(value.len()).unwrap(), out);
    out.extend_from_slice(value);
}

/// Through a follower, every receipt asked for with proofs carries its
/// inclusion proof and tree head, and they check offline: the follower
/// waits until it has applied what the leader answered for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_through_a_follower_carry_their_proofs() {
    let cluster = TestCluster::builder(3).seed(5).start().await;
    let leader = cluster.leader(&[]).await;
    // Slow Raft messages: a follower hears of a commit after the leader answered.
    cluster.set_faults(sim::Faults { max_delay: Duration::from_millis(30), ..sim::Faults::default() });
    let mut n = 0;
    for follower in cluster.running().into_iter().filter(|id| *id != leader) {
        let client = cluster.client(follower).await;
        for _ in 0..10 {
            n += 1;
            let envelope = product(n);
            let receipts = client.submit_with_proofs(vec![envelope.clone()]).await.expect("submit");
            if let Err(e) = veritrace_core::receipt::verify_receipt(&receipts[0], &envelope.encode_to_vec()) {
                panic!("receipt {n} through replica {follower}: {e}: {:?}", receipts[0]);
            }
        }
    }
    cluster.heal();
}

/// Reordered fields, an unknown field and garbage are refused one by one,
/// with their documented reasons; the canonical envelope beside them is
/// applied under the hash of exactly the bytes sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_are_taken_as_sent_and_refused_unless_canonical() {
    let cluster = TestCluster::start(3).await;
    let leader = cluster.leader(&[]).await;
    let follower = cluster.running().into_iter().find(|id| *id != leader).unwrap();
    let envelope = product(1);
    let canonical = envelope.encode_to_vec();
    let mut reordered = Vec::new();
    field(&mut reordered, 3, &envelope.signature);
    field(&mut reordered, 2, &envelope.signer_key_id);
    field(&mut reordered, 1, &envelope.payload);
    let mut unknown = canonical.clone();
    unknown.extend_from_slice(&[4 << 3, 1]); // field 4, varint 1
    let garbage = vec![0xff; 16];
    let sent = vec![reordered, unknown, garbage, canonical.clone()];
    let receipts = cluster.client(follower).await.submit_bytes(sent, false).await.expect("a receipt each");
    let seen = |r: &pb::Receipt| (pb::Outcome::try_from(r.outcome).unwrap(), r.reason.clone(), r.envelope_id.len());
    let rejected = |reason: &str| (pb::Outcome::Rejected, reason.to_owned(), 0);
    assert_eq!(seen(&receipts[0]), rejected("NON_CANONICAL_ENVELOPE"));
    assert_eq!(seen(&receipts[1]), rejected("NON_CANONICAL_ENVELOPE"));
    assert_eq!(seen(&receipts[2]), rejected("MALFORMED_ENVELOPE"));
    assert_eq!(receipts[3].outcome, pb::Outcome::Applied as i32, "{:?}", receipts[3]);
    assert_eq!(receipts[3].envelope_id, veritrace_core::Hash::digest(&canonical).as_bytes().to_vec());
    assert_eq!(cluster.converge().await, 1, "only the canonical envelope is in the ledger");
}

/// Sends and receives message bodies as raw bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Raw;

impl tonic::codec::Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl tonic::codec::Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// A body that is not a `SubmitEnvelopesRequest` (field 1 as a varint) is
/// refused before any handler: INVALID_ARGUMENT, reason MALFORMED_REQUEST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_does_not_decode_is_invalid_argument_with_a_reason() {
    let cluster = TestCluster::start(1).await;
    cluster.leader(&[]).await;
    let channel = tonic::transport::Endpoint::from_shared(cluster.api(1)).unwrap().connect().await.unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/veritrace.v1.LedgerService/SubmitEnvelopes");
    let answer = grpc.unary::<Vec<u8>, Vec<u8>, Raw>(tonic::Request::new(vec![0x08, 0x01]), path, Raw).await;
    let status = answer.expect_err("not a SubmitEnvelopesRequest");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(veritrace_server::status::reason_of(&status).as_deref(), Some("MALFORMED_REQUEST"));
}
