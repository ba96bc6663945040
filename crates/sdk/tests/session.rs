//! `Veritrace` over real gRPC against an in-test LedgerService backed by the ledger's in-memory
//! fixture network: real receipts, real proofs, and a node that can be told to lie.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};
use veritrace_core::receipt::ReceiptError;
use veritrace_ledger::testing::{self as fx, Network};
use veritrace_proto::v1::ledger_service_server::{LedgerService, LedgerServiceServer};
use veritrace_sdk::{PartySigner, SdkError, SecretKey, Veritrace, proto as pb, timestamp_from_ms};

fn node_key() -> SecretKey {
    SecretKey::from_seed_label("sdk-test/node-1")
}

/// A node holding a fixture network whose commit clock reads now (so client times of
/// `PartySigner::transaction` fall in the replay window).
#[derive(Clone)]
struct FixtureNode {
    net: Arc<Mutex<Network>>,
    /// Corrupt the tree head signature of every receipt.
    lie: Arc<AtomicBool>,
}

impl FixtureNode {
    fn new() -> Self {
        let mut net = Network::new();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
        net.advance(i64::try_from(now).expect("ms") - fx::BASE_TIME_MS);
        Self { net: Arc::new(Mutex::new(net)), lie: Arc::new(AtomicBool::new(false)) }
    }

    fn tree_size(&self) -> u64 {
        self.net.lock().expect("lock").ledger.tree_head().tree_size
    }
}

#[tonic::async_trait]
impl LedgerService for FixtureNode {
    /// Applies the envelopes as one batch; with `include_proofs`, proves every receipt of an
    /// envelope in the ledger against the new head, signed by `node_key`, as a node does.
    async fn submit_envelopes(
        &self,
        request: Request<pb::SubmitEnvelopesRequest>,
    ) -> Result<Response<pb::SubmitEnvelopesResponse>, Status> {
        let req = request.into_inner();
        let mut net = self.net.lock().expect("lock");
        let envelopes = req.envelopes.iter().map(prost::Message::encode_to_vec).collect();
        let receipts = net.apply(envelopes);
        let head = net.ledger.tree_head();
        let sth = head.sign(&node_key());
        let mut signature = sth.signature.to_vec();
        if self.lie.load(Ordering::SeqCst) {
            signature[0] ^= 1;
        }
        let tree_head = pb::SignedTreeHead {
            tree_size: sth.head.tree_size,
            root_hash: sth.head.root.as_bytes().to_vec(),
            timestamp: Some(timestamp_from_ms(sth.head.timestamp_ms)),
            shard_id: sth.head.shard_id,
            signer_key_id: sth.signer.to_bytes().to_vec(),
            signature,
        };
        let mut out = Vec::new();
        for r in receipts {
            let mut receipt = r.to_proto();
            if req.include_proofs && receipt.outcome != pb::Outcome::Rejected as i32 {
                let hashes = net.ledger.inclusion_proof(receipt.leaf_index, head.tree_size).expect("proof");
                receipt.inclusion = Some(pb::InclusionProof {
                    leaf_index: receipt.leaf_index,
                    tree_size: head.tree_size,
                    hashes: hashes.iter().map(|h| h.as_bytes().to_vec()).collect(),
                });
                receipt.tree_head = Some(tree_head.clone());
            }
            out.push(receipt);
        }
        Ok(Response::new(pb::SubmitEnvelopesResponse { receipts: out }))
    }

    async fn get_genesis(&self, _: Request<pb::GetGenesisRequest>) -> Result<Response<pb::GetGenesisResponse>, Status> {
        Ok(Response::new(pb::GetGenesisResponse { genesis: Some(fx::network_genesis()), ..Default::default() }))
    }

    async fn get_envelope(
        &self,
        _: Request<pb::GetEnvelopeRequest>,
    ) -> Result<Response<pb::GetEnvelopeResponse>, Status> {
        Err(Status::unimplemented("GetEnvelope"))
    }

    async fn list_envelopes(
        &self,
        _: Request<pb::ListEnvelopesRequest>,
    ) -> Result<Response<pb::ListEnvelopesResponse>, Status> {
        Err(Status::unimplemented("ListEnvelopes"))
    }

    async fn get_tree_head(
        &self,
        _: Request<pb::GetTreeHeadRequest>,
    ) -> Result<Response<pb::GetTreeHeadResponse>, Status> {
        Err(Status::unimplemented("GetTreeHead"))
    }

    async fn get_inclusion_proof(
        &self,
        _: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::GetInclusionProofResponse>, Status> {
        Err(Status::unimplemented("GetInclusionProof"))
    }

    async fn get_consistency_proof(
        &self,
        _: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::GetConsistencyProofResponse>, Status> {
        Err(Status::unimplemented("GetConsistencyProof"))
    }

    type WatchStream = tokio_stream::Empty<Result<pb::WatchResponse, Status>>;

    async fn watch(&self, _: Request<pb::WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("Watch"))
    }

    async fn list_parties(
        &self,
        _: Request<pb::ListPartiesRequest>,
    ) -> Result<Response<pb::ListPartiesResponse>, Status> {
        Err(Status::unimplemented("ListParties"))
    }

    async fn list_proposals(
        &self,
        _: Request<pb::ListProposalsRequest>,
    ) -> Result<Response<pb::ListProposalsResponse>, Status> {
        Err(Status::unimplemented("ListProposals"))
    }
}

async fn serve(node: FixtureNode) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let router = tonic::transport::Server::builder().add_service(LedgerServiceServer::new(node));
    tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
    addr
}

async fn session() -> (Veritrace, FixtureNode) {
    let node = FixtureNode::new();
    let addr = serve(node.clone()).await;
    let session = Veritrace::connect(&format!("http://{addr}")).await.expect("connect");
    (session, node)
}

fn brand(network_id: &str) -> PartySigner {
    PartySigner::new("brand", fx::party_key("brand"), network_id)
}

#[tokio::test]
async fn submit_returns_a_checked_receipt_and_a_resubmission_the_original() {
    let (node, fake) = session().await;
    assert_eq!(node.network_id(), fx::NETWORK);
    let signer = brand(node.network_id());

    let first = node.submit(&signer, fx::register_product(&fx::gtin(1), "brand")).await.expect("applied");
    assert!(!first.is_duplicate());
    assert_eq!(first.leaf_index(), 0);
    assert_eq!(first.tree_head().signer, node_key().public());
    assert_eq!(first.envelope().transaction().expect("tx").party_id, "brand");

    // A retry of the same envelope (e.g. after a timeout): the original receipt, nothing new.
    let envelope = signer.sign_action(fx::register_product(&fx::gtin(2), "brand"));
    let applied = node.submit_envelope(&envelope).await.expect("applied");
    let again = node.submit_envelope(&envelope).await.expect("duplicate");
    assert!(again.is_duplicate());
    assert_eq!(again.envelope_id(), envelope.id());
    assert_eq!((again.leaf_index(), again.commit_time_ms()), (applied.leaf_index(), applied.commit_time_ms()));
    assert_eq!(fake.tree_size(), 2, "the envelope was recorded once");
}

#[tokio::test]
async fn a_batch_is_judged_envelope_by_envelope() {
    let (node, _fake) = session().await;
    let signer = brand(node.network_id());
    let results = node
        .submit_batch(
            &signer,
            vec![
                fx::register_product(&fx::gtin(1), "brand"),
                // Under the other brand's company prefix: refused.
                fx::register_product(&fx::gtin_under(fx::BRAND2_PREFIX, 1), "brand"),
                fx::register_product(&fx::gtin(2), "brand"),
            ],
        )
        .await
        .expect("the call succeeds");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().map(|s| s.leaf_index()).ok(), Some(0));
    match &results[1] {
        Err(e @ SdkError::Rejected { .. }) => assert!(e.reason().is_some_and(|r| !r.is_empty()), "{e}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(results[2].as_ref().map(|s| s.leaf_index()).ok(), Some(1));
}

#[tokio::test]
async fn a_signer_for_another_network_sends_nothing() {
    let (node, fake) = session().await;
    let err = node.submit(&brand("other-net"), fx::register_product(&fx::gtin(1), "brand")).await.expect_err("refused");
    assert!(matches!(err, SdkError::WrongNetwork { .. }), "{err:?}");
    assert_eq!(fake.tree_size(), 0);
}

#[tokio::test]
async fn a_lying_node_is_caught() {
    let (node, fake) = session().await;
    fake.lie.store(true, Ordering::SeqCst);
    let err = node
        .submit(&brand(node.network_id()), fx::register_product(&fx::gtin(1), "brand"))
        .await
        .expect_err("bad tree head signature");
    assert!(matches!(err, SdkError::ReceiptCheck { source: ReceiptError::Signature(_), .. }), "{err:?}");
}

#[tokio::test]
async fn only_trusted_tree_head_signers_are_accepted() {
    let (node, _fake) = session().await;
    let stranger = SecretKey::from_seed_label("sdk-test/stranger").public();
    let strict = node.clone().trust_tree_head_signers([stranger]);
    let err = strict
        .submit(&brand(node.network_id()), fx::register_product(&fx::gtin(1), "brand"))
        .await
        .expect_err("untrusted");
    assert!(matches!(err, SdkError::UntrustedSigner { .. }), "{err:?}");

    let trusting = node.trust_tree_head_signers([stranger, node_key().public()]);
    trusting.submit(&brand(trusting.network_id()), fx::register_product(&fx::gtin(2), "brand")).await.expect("trusted");
}
