//! `ClusterService`: status and Raft membership of the node's cluster.

use tonic::{Request, Response, Status};
use veritrace_node::Node;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::cluster_service_server::ClusterService;

use crate::status::{from_node, invalid};

/// The cluster service over a running node.
#[derive(Debug, Clone)]
pub struct ClusterApi {
    node: Node,
}

impl ClusterApi {
    /// Serves `node`.
    pub fn new(node: Node) -> Self {
        ClusterApi { node }
    }

    async fn member(&self, id: u64) -> Result<pb::Member, Status> {
        let status = self.node.status().await.map_err(|e| from_node(&self.node, e))?;
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

#[tonic::async_trait]
impl ClusterService for ClusterApi {
    async fn get_status(&self, _: Request<pb::GetStatusRequest>) -> Result<Response<pb::GetStatusResponse>, Status> {
        Ok(Response::new(self.node.status().await.map_err(|e| from_node(&self.node, e))?))
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
        let status = self.node.status().await.map_err(|e| from_node(&self.node, e))?;
        let rest: Vec<pb::Member> = status.members.into_iter().filter(|m| m.node_id > after).collect();
        let next_page_token = if rest.len() > size { rest[size - 1].node_id.to_string() } else { String::new() };
        Ok(Response::new(pb::ListMembersResponse { members: rest.into_iter().take(size).collect(), next_page_token }))
    }

    async fn add_learner(
        &self,
        request: Request<pb::AddLearnerRequest>,
    ) -> Result<Response<pb::AddLearnerResponse>, Status> {
        let req = request.into_inner();
        if req.peer_id.is_empty() {
            return Err(invalid("peer_id", "peer_id is required"));
        }
        let (member, log_index) = self
            .node
            .add_learner(req.node_id, &req.peer_id, req.addresses, req.api_endpoint)
            .await
            .map_err(|e| from_node(&self.node, e))?;
        Ok(Response::new(pb::AddLearnerResponse { member: Some(member), log_index }))
    }

    async fn promote_member(
        &self,
        request: Request<pb::PromoteMemberRequest>,
    ) -> Result<Response<pb::PromoteMemberResponse>, Status> {
        let id = require_node(request.into_inner().node_id)?;
        let log_index = self.node.promote(id).await.map_err(|e| from_node(&self.node, e))?;
        Ok(Response::new(pb::PromoteMemberResponse { member: Some(self.member(id).await?), log_index }))
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        let id = require_node(request.into_inner().node_id)?;
        let log_index = self.node.remove(id).await.map_err(|e| from_node(&self.node, e))?;
        Ok(Response::new(pb::RemoveMemberResponse { log_index }))
    }

    async fn transfer_leader(
        &self,
        request: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::TransferLeaderResponse>, Status> {
        let leader_id =
            self.node.transfer_leader(request.into_inner().node_id).await.map_err(|e| from_node(&self.node, e))?;
        let term = self.node.raft_status().await.map_err(|e| from_node(&self.node, e))?.term;
        Ok(Response::new(pb::TransferLeaderResponse { leader_id, term }))
    }

    async fn create_snapshot(
        &self,
        _: Request<pb::CreateSnapshotRequest>,
    ) -> Result<Response<pb::CreateSnapshotResponse>, Status> {
        let info = self.node.create_snapshot().await.map_err(|e| from_node(&self.node, e))?;
        let tree_size = info.descriptor.get(8..16).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0);
        Ok(Response::new(pb::CreateSnapshotResponse {
            index: info.index,
            term: info.term,
            tree_size,
            size_bytes: info.size_bytes,
        }))
    }
}
