//! An in-test node: ClusterService and LedgerService with canned answers, served over real TCP.

#![allow(dead_code)] // each test binary uses part of it

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};
use veritrace_core::Envelope;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::cluster_service_server::{ClusterService, ClusterServiceServer};
use veritrace_proto::v1::ledger_service_server::{LedgerService, LedgerServiceServer};

/// Node id for which PromoteMember answers NOT_LEADER.
pub const FOLLOWER_ONLY_NODE: u64 = 9;
/// What that NOT_LEADER names as the leader.
pub const LEADER_API: &str = "http://127.0.0.1:7402";
/// The envelope id GetEnvelope knows.
pub const KNOWN_ID: [u8; 32] = [7; 32];

/// A status with three members.
pub fn canned_status() -> pb::GetStatusResponse {
    pb::GetStatusResponse {
        node_id: 1,
        peer_id: "12D3KooWNode1".to_owned(),
        party_id: "brand-a".to_owned(),
        role: pb::RaftRole::Leader.into(),
        leader_id: 1,
        term: 7,
        commit_index: 42,
        applied_index: 41,
        snapshot_index: 30,
        tree_size: 120,
        root_hash: vec![0xab; 32],
        shard_id: 0,
        members: canned_members(),
        version: "0.1.0".to_owned(),
        network_id: "veritrace-test".to_owned(),
    }
}

/// Members 1 and 2 (voters) and 3 (an unreachable learner).
pub fn canned_members() -> Vec<pb::Member> {
    let member = |node_id: u64, kind: pb::MemberKind, match_index: u64, reachable: bool| pb::Member {
        node_id,
        peer_id: format!("12D3KooWNode{node_id}"),
        party_id: if kind == pb::MemberKind::Voter { format!("party-{node_id}") } else { String::new() },
        kind: kind.into(),
        addresses: vec![format!("/ip4/10.0.0.{node_id}/tcp/7400"), format!("/dns4/n{node_id}.example.org/tcp/7400")],
        match_index,
        reachable,
        api_endpoint: format!("http://10.0.0.{node_id}:7401"),
    };
    vec![
        member(1, pb::MemberKind::Voter, 42, true),
        member(2, pb::MemberKind::Voter, 40, true),
        member(3, pb::MemberKind::Learner, 12, false),
    ]
}

/// A status carrying a `google.rpc.ErrorInfo` in domain "veritrace.io".
pub fn error_status(code: Code, message: &str, reason: &str, metadata: &[(&str, &str)]) -> Status {
    let metadata: HashMap<String, String> = metadata.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Status::with_error_details(code, message, ErrorDetails::with_error_info(reason, "veritrace.io", metadata))
}

/// The fake node. `received` records the envelopes of every SubmitEnvelopes call;
/// `submit_failures` holds reasons the next SubmitEnvelopes calls fail with, one per call, as
/// code UNAVAILABLE (recorded in `received` all the same, as if the node had got them).
#[derive(Default, Clone)]
pub struct FakeNode {
    pub received: Arc<Mutex<Vec<pb::SignedEnvelope>>>,
    pub submit_failures: Arc<Mutex<Vec<&'static str>>>,
}

#[tonic::async_trait]
impl ClusterService for FakeNode {
    type SaveSnapshotStream = tokio_stream::Empty<Result<pb::SaveSnapshotResponse, Status>>;

    async fn save_snapshot(
        &self,
        _: Request<pb::SaveSnapshotRequest>,
    ) -> Result<Response<Self::SaveSnapshotStream>, Status> {
        Err(Status::unimplemented("SaveSnapshot"))
    }

    async fn audit(&self, _: Request<pb::AuditRequest>) -> Result<Response<pb::AuditResponse>, Status> {
        Err(Status::unimplemented("Audit"))
    }

    async fn get_status(&self, _: Request<pb::GetStatusRequest>) -> Result<Response<pb::GetStatusResponse>, Status> {
        Ok(Response::new(canned_status()))
    }

    /// Two pages: member 1, then members 2 and 3.
    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let mut members = canned_members();
        let response = match request.into_inner().page_token.as_str() {
            "" => pb::ListMembersResponse { members: members.drain(..1).collect(), next_page_token: "p2".to_owned() },
            "p2" => pb::ListMembersResponse { members: members.split_off(1), next_page_token: String::new() },
            other => return Err(Status::invalid_argument(format!("bad page token {other:?}"))),
        };
        Ok(Response::new(response))
    }

    async fn add_learner(
        &self,
        request: Request<pb::AddLearnerRequest>,
    ) -> Result<Response<pb::AddLearnerResponse>, Status> {
        let request = request.into_inner();
        if request.peer_id.is_empty() {
            return Err(error_status(Code::InvalidArgument, "peer_id is required", "INVALID_ARGUMENT", &[]));
        }
        let member = pb::Member {
            node_id: if request.node_id == 0 { 77 } else { request.node_id },
            peer_id: request.peer_id,
            kind: pb::MemberKind::Learner.into(),
            addresses: request.addresses,
            ..Default::default()
        };
        Ok(Response::new(pb::AddLearnerResponse { member: Some(member), log_index: 43 }))
    }

    async fn promote_member(
        &self,
        request: Request<pb::PromoteMemberRequest>,
    ) -> Result<Response<pb::PromoteMemberResponse>, Status> {
        let node_id = request.into_inner().node_id;
        if node_id == FOLLOWER_ONLY_NODE {
            let metadata = [("leader_id", "2"), ("leader_api", LEADER_API)];
            return Err(error_status(Code::Unavailable, "not the leader", "NOT_LEADER", &metadata));
        }
        let member = pb::Member { node_id, kind: pb::MemberKind::Voter.into(), ..Default::default() };
        Ok(Response::new(pb::PromoteMemberResponse { member: Some(member), log_index: 44 }))
    }

    /// Refuses node 1 with QUORUM_AT_RISK, node 0 with a bare status (no details).
    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        match request.into_inner().node_id {
            0 => Err(Status::invalid_argument("node_id is required")),
            1 => Err(error_status(Code::FailedPrecondition, "quorum at risk", "QUORUM_AT_RISK", &[("voters", "2")])),
            _ => Ok(Response::new(pb::RemoveMemberResponse { log_index: 45 })),
        }
    }

    async fn transfer_leader(
        &self,
        request: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::TransferLeaderResponse>, Status> {
        let node_id = request.into_inner().node_id;
        Ok(Response::new(pb::TransferLeaderResponse { leader_id: if node_id == 0 { 2 } else { node_id }, term: 8 }))
    }

    /// Slow on purpose (1.5 s), to test request timeouts.
    async fn create_snapshot(
        &self,
        _: Request<pb::CreateSnapshotRequest>,
    ) -> Result<Response<pb::CreateSnapshotResponse>, Status> {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Ok(Response::new(pb::CreateSnapshotResponse { index: 42, term: 7, tree_size: 120, size_bytes: 4096 }))
    }
}

#[tonic::async_trait]
impl LedgerService for FakeNode {
    /// Applies envelopes that decode and verify, at leaves 120, 121, ...; rejects the others.
    async fn submit_envelopes(
        &self,
        request: Request<pb::SubmitEnvelopesRequest>,
    ) -> Result<Response<pb::SubmitEnvelopesResponse>, Status> {
        let envelopes = request.into_inner().envelopes;
        let failure = {
            let mut failures = self.submit_failures.lock().map_err(|_| Status::internal("poisoned"))?;
            (!failures.is_empty()).then(|| failures.remove(0))
        };
        if let Some(reason) = failure {
            self.received.lock().map_err(|_| Status::internal("poisoned"))?.extend(envelopes);
            return Err(error_status(Code::Unavailable, "cannot right now", reason, &[]));
        }
        let mut next_leaf = 120;
        let receipts = envelopes
            .iter()
            .map(|msg| match Envelope::from_proto(msg.clone()) {
                Ok(env) if env.verify().is_ok() => {
                    next_leaf += 1;
                    pb::Receipt {
                        envelope_id: env.id().as_bytes().to_vec(),
                        outcome: pb::Outcome::Applied.into(),
                        leaf_index: next_leaf - 1,
                        log_index: 50,
                        ..Default::default()
                    }
                }
                _ => pb::Receipt {
                    outcome: pb::Outcome::Rejected.into(),
                    reason: "BAD_SIGNATURE".to_owned(),
                    message: "signature does not verify".to_owned(),
                    log_index: 50,
                    ..Default::default()
                },
            })
            .collect();
        self.received.lock().map_err(|_| Status::internal("poisoned"))?.extend(envelopes);
        Ok(Response::new(pb::SubmitEnvelopesResponse { receipts }))
    }

    async fn get_envelope(
        &self,
        request: Request<pb::GetEnvelopeRequest>,
    ) -> Result<Response<pb::GetEnvelopeResponse>, Status> {
        let id = request.into_inner().envelope_id;
        if id.len() != 32 {
            return Err(error_status(Code::InvalidArgument, "envelope_id must be 32 bytes", "INVALID_ARGUMENT", &[]));
        }
        if id != KNOWN_ID {
            return Err(error_status(Code::NotFound, "no such envelope", "NOT_FOUND", &[]));
        }
        let receipt =
            pb::Receipt { envelope_id: id, outcome: pb::Outcome::Applied.into(), leaf_index: 5, ..Default::default() };
        let entry = pb::LedgerEntry { envelope: Some(pb::SignedEnvelope::default()), receipt: Some(receipt) };
        Ok(Response::new(pb::GetEnvelopeResponse { entry: Some(entry) }))
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
        let head = pb::SignedTreeHead { tree_size: 120, root_hash: vec![0xab; 32], ..Default::default() };
        Ok(Response::new(pb::GetTreeHeadResponse { tree_head: Some(head) }))
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

    async fn get_genesis(&self, _: Request<pb::GetGenesisRequest>) -> Result<Response<pb::GetGenesisResponse>, Status> {
        Err(Status::unimplemented("GetGenesis"))
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

/// Serves `node` on 127.0.0.1 at a free port until the test's runtime ends; returns the address.
pub async fn serve(node: FakeNode) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let router = tonic::transport::Server::builder()
        .add_service(ClusterServiceServer::new(node.clone()))
        .add_service(LedgerServiceServer::new(node));
    tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
    addr
}

/// A local port with nothing listening on it (bound, then released).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("local addr").port()
}
