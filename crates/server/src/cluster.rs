//! `ClusterService`: status and Raft membership of the node's cluster.
//!
//! `GetStatus` and `ListMembers` answer anyone (what the genesis and the
//! peers' addresses already say: who the members are, who leads, how far
//! each got); every other method is the admin plane's and passes the
//! [`AdminGate`] first.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::cluster_service_server::ClusterService;
use veritrace_service::Service;

use crate::admin_auth::AdminGate;
use crate::status::{from_service, invalid, reason};
use crate::work_limits::WorkLimits;

/// The cluster service over a replica's application layer.
#[derive(Debug, Clone)]
pub struct ClusterApi {
    service: Service,
    gate: AdminGate,
    limits: WorkLimits,
}

impl ClusterApi {
    /// Serves `service`, admitting admin calls through `gate`.
    pub fn new(service: Service, gate: AdminGate) -> Self {
        ClusterApi { service, gate, limits: WorkLimits::default() }
    }

    /// Shares `limits` (audits and backups at once) with the server's
    /// other services.
    pub fn with_limits(mut self, limits: WorkLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Refuses an admin call the gate does not let through.
    fn admin<T>(&self, request: &Request<T>) -> Result<(), Status> {
        self.gate.check(request.metadata(), request.peer_certs().is_some_and(|c| !c.is_empty()))
    }

    async fn member(&self, id: u64) -> Result<pb::Member, Status> {
        let status = self.service.status().await.map_err(|e| from_service(&self.service, e))?;
        Ok(status
            .members
            .into_iter()
            .find(|m| m.node_id == id)
            .unwrap_or(pb::Member { node_id: id, ..Default::default() }))
    }
}

fn require_node(id: u64) -> Result<u64, Status> {
    if id == 0 { Err(invalid("node_id", "node_id must be non-zero")) } else { Ok(id) }
}

/// Bytes of snapshot file per `SaveSnapshot` message.
const SNAPSHOT_CHUNK_BYTES: usize = 1024 * 1024;
/// Messages buffered ahead of a slow `SaveSnapshot` reader.
const SNAPSHOT_CHUNKS_IN_FLIGHT: usize = 4;

type SnapshotStream = ReceiverStream<Result<pb::SaveSnapshotResponse, Status>>;

/// Writes a backup file and sends it in chunks, then the metadata.
fn stream_backup(service: &Service, tx: &mpsc::Sender<Result<pb::SaveSnapshotResponse, Status>>) -> Result<(), Status> {
    use std::io::Read as _;
    let backup = service.write_backup().map_err(|e| from_service(service, e))?;
    let internal = |e: std::io::Error| reason(tonic::Code::Internal, "INTERNAL", format!("reading the backup: {e}"));
    let mut file = std::fs::File::open(&backup.path).map_err(internal)?;
    loop {
        let mut chunk = vec![0u8; SNAPSHOT_CHUNK_BYTES];
        let mut filled = 0;
        while filled < chunk.len() {
            match file.read(&mut chunk[filled..]).map_err(internal)? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            break;
        }
        chunk.truncate(filled);
        if tx.blocking_send(Ok(pb::SaveSnapshotResponse { chunk, ..Default::default() })).is_err() {
            return Ok(()); // the client went away
        }
    }
    let Some(info) = backup.info() else { return Err(reason(tonic::Code::Internal, "INTERNAL", "backup incomplete")) };
    let last = pb::SaveSnapshotResponse {
        applied_index: info.applied.applied_index,
        tree_size: info.applied.tree_size,
        root_hash: info.applied.root.as_bytes().to_vec(),
        chunk: Vec::new(),
    };
    let _ = tx.blocking_send(Ok(last));
    Ok(())
}

#[tonic::async_trait]
impl ClusterService for ClusterApi {
    type SaveSnapshotStream = SnapshotStream;

    async fn save_snapshot(
        &self,
        request: Request<pb::SaveSnapshotRequest>,
    ) -> Result<Response<Self::SaveSnapshotStream>, Status> {
        self.admin(&request)?;
        // A backup holds the code material no other read serves: with the
        // admin plane open (api.admin.insecure), to loopback callers only.
        let loopback = request.remote_addr().is_some_and(|a| a.ip().is_loopback());
        if !self.gate.authenticates() && !loopback {
            return Err(reason(
                Code::PermissionDenied,
                "BACKUP_NEEDS_CLIENT_CERT",
                "a backup holds every item's code digests: on a node whose admin plane is open (api.admin.insecure) \
                 it is served to loopback callers only",
            ));
        }
        let permit = self.limits.ledger_job("SaveSnapshot")?;
        let (tx, rx) = mpsc::channel(SNAPSHOT_CHUNKS_IN_FLIGHT);
        let service = self.service.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            if let Err(status) = stream_backup(&service, &tx) {
                let _ = tx.blocking_send(Err(status));
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn audit(&self, request: Request<pb::AuditRequest>) -> Result<Response<pb::AuditResponse>, Status> {
        // Re-hashing the whole ledger: not for anyone who reaches the port.
        self.admin(&request)?;
        let _permit = self.limits.ledger_job("Audit")?;
        let req = request.into_inner();
        let (applied_index, report) =
            self.service.audit(!req.skip_signatures).await.map_err(|e| from_service(&self.service, e))?;
        let tree_size = self.service.ledger().tree_head().tree_size;
        let root_at_size = match req.at_size {
            0 => Vec::new(),
            n if n > tree_size => {
                return Err(reason(
                    tonic::Code::OutOfRange,
                    "OUT_OF_RANGE",
                    format!("at_size {n} is beyond this node's {tree_size} leaves"),
                ));
            }
            n => {
                self.service.ledger().root_at(n).map_err(|e| from_service(&self.service, e.into()))?.as_bytes().to_vec()
            }
        };
        let (first_bad_leaf, problem) = match (&report.first_problem, report.state_damage.first()) {
            (Some(p), _) => (p.leaf_index, p.what.clone()),
            // Damaged state, sound leaves: no leaf to name.
            (None, Some(first)) => (
                report.leaves_checked,
                format!("{} state records fail their integrity tag; the first: {first}", report.state_records_damaged),
            ),
            (None, None) => (0, String::new()),
        };
        Ok(Response::new(pb::AuditResponse {
            node_id: self.service.id(),
            applied_index,
            leaves_checked: report.leaves_checked,
            recomputed_root: report.recomputed_root.as_bytes().to_vec(),
            recorded_root: report.recorded_root.as_bytes().to_vec(),
            clean: report.is_clean(),
            first_bad_leaf,
            problem,
            at_size: req.at_size,
            root_at_size,
            equivocations: self.service.equivocations(),
        }))
    }

    async fn get_status(&self, _: Request<pb::GetStatusRequest>) -> Result<Response<pb::GetStatusResponse>, Status> {
        Ok(Response::new(self.service.status().await.map_err(|e| from_service(&self.service, e))?))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let req = request.into_inner();
        if req.page_size < 0 {
            return Err(invalid("page_size", "page_size must not be negative"));
        }
        let after: u64 = if req.page_token.is_empty() {
            0
        } else {
            req.page_token.parse().map_err(|_| invalid("page_token", "not a token this node issued"))?
        };
        let size = if req.page_size == 0 { 1000 } else { req.page_size.min(1000) as usize };
        let status = self.service.status().await.map_err(|e| from_service(&self.service, e))?;
        let rest: Vec<pb::Member> = status.members.into_iter().filter(|m| m.node_id > after).collect();
        let next_page_token = if rest.len() > size { rest[size - 1].node_id.to_string() } else { String::new() };
        Ok(Response::new(pb::ListMembersResponse { members: rest.into_iter().take(size).collect(), next_page_token }))
    }

    async fn add_learner(
        &self,
        request: Request<pb::AddLearnerRequest>,
    ) -> Result<Response<pb::AddLearnerResponse>, Status> {
        self.admin(&request)?;
        let req = request.into_inner();
        if req.peer_id.is_empty() {
            return Err(invalid("peer_id", "peer_id is required"));
        }
        let (member, log_index) = self
            .service
            .add_learner(req.node_id, &req.peer_id, req.addresses, req.api_endpoint)
            .await
            .map_err(|e| from_service(&self.service, e))?;
        Ok(Response::new(pb::AddLearnerResponse { member: Some(member), log_index }))
    }

    async fn promote_member(
        &self,
        request: Request<pb::PromoteMemberRequest>,
    ) -> Result<Response<pb::PromoteMemberResponse>, Status> {
        self.admin(&request)?;
        let id = require_node(request.into_inner().node_id)?;
        let log_index = self.service.promote(id).await.map_err(|e| from_service(&self.service, e))?;
        Ok(Response::new(pb::PromoteMemberResponse { member: Some(self.member(id).await?), log_index }))
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        self.admin(&request)?;
        let id = require_node(request.into_inner().node_id)?;
        let log_index = self.service.remove(id).await.map_err(|e| from_service(&self.service, e))?;
        Ok(Response::new(pb::RemoveMemberResponse { log_index }))
    }

    async fn transfer_leader(
        &self,
        request: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::TransferLeaderResponse>, Status> {
        self.admin(&request)?;
        let leader_id = self
            .service
            .transfer_leader(request.into_inner().node_id)
            .await
            .map_err(|e| from_service(&self.service, e))?;
        let term = self.service.raft_status().await.map_err(|e| from_service(&self.service, e))?.term;
        Ok(Response::new(pb::TransferLeaderResponse { leader_id, term }))
    }

    async fn create_snapshot(
        &self,
        request: Request<pb::CreateSnapshotRequest>,
    ) -> Result<Response<pb::CreateSnapshotResponse>, Status> {
        self.admin(&request)?;
        let info = self.service.create_snapshot().await.map_err(|e| from_service(&self.service, e))?;
        let tree_size = info.descriptor.get(8..16).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0);
        Ok(Response::new(pb::CreateSnapshotResponse {
            index: info.index,
            term: info.term,
            tree_size,
            size_bytes: info.size_bytes,
        }))
    }
}
