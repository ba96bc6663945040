//! `LedgerService`: submit signed envelopes, read them back with receipts
//! and Merkle proofs, and get signed tree heads.

use std::collections::HashMap;

use prost::Message as _;
use tonic::{Code, Request, Response, Status};
use veritrace_consensus::DriverError;
use veritrace_core::{Hash, LeafRecord};
use veritrace_ledger::LedgerError;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::ledger_service_server::LedgerService;
use veritrace_service::{Service, ServiceError};

use veritrace_ledger::PartyFilter;

use crate::party_auth::{Caller, PartyGate};
use crate::status::{from_service, invalid, reason, with_reason};
use crate::verification::{offset_token, page_size};
use veritrace_core::party_call::methods;

/// The ledger service over a replica's application layer.
#[derive(Debug, Clone)]
pub struct LedgerApi {
    service: Service,
    gate: PartyGate,
    limits: crate::work_limits::WorkLimits,
}

impl LedgerApi {
    /// Serves `service`; `gate` guards the party-plane methods
    /// ([`veritrace_core::party_call::methods`]).
    pub fn new(service: Service, gate: PartyGate) -> Self {
        LedgerApi { service, gate, limits: crate::work_limits::WorkLimits::default() }
    }

    /// Shares `limits` (Watch streams at once) with the server's other
    /// services.
    pub fn with_limits(mut self, limits: crate::work_limits::WorkLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Refuses a party-plane call without a valid party credential;
    /// returns the calling party (`None` when the plane is open and the
    /// call carries no credential).
    fn party<T>(&self, request: &Request<T>, method: &str) -> Result<Option<Caller>, Status> {
        let caller = self.gate.check(&self.service, request.metadata(), method)?;
        if let Some(caller) = &caller {
            tracing::debug!(party = %caller.party_id, method, "party call");
        }
        Ok(caller)
    }

    /// The calling party of a call that must name one, even on an open plane.
    fn named_party<T>(&self, request: &Request<T>, method: &str) -> Result<String, Status> {
        self.party(request, method)?.map(|c| c.party_id).ok_or_else(|| {
            reason(Code::Unauthenticated, "PARTY_AUTH_REQUIRED", format!("{method} needs a party credential"))
        })
    }

    fn ledger_err(&self, e: LedgerError) -> Status {
        match e {
            LedgerError::OutOfRange { what } => reason(Code::OutOfRange, "OUT_OF_RANGE", what),
            other => from_service(&self.service, other.into()),
        }
    }

    /// The inclusion proof of `leaf_index` in the tree of `size` leaves.
    fn inclusion(&self, leaf_index: u64, size: u64) -> Result<pb::InclusionProof, Status> {
        let hashes = self.service.ledger().inclusion_proof(leaf_index, size).map_err(|e| self.ledger_err(e))?;
        Ok(pb::InclusionProof {
            leaf_index,
            tree_size: size,
            hashes: hashes.iter().map(|h| h.as_bytes().to_vec()).collect(),
        })
    }

    /// Resolves a requested tree size (0 = current) against the ledger.
    fn tree_size(&self, requested: u64) -> Result<u64, Status> {
        let current = self.service.ledger().tree_head().tree_size;
        match requested {
            0 => Ok(current),
            n if n > current => {
                Err(reason(Code::OutOfRange, "OUT_OF_RANGE", format!("tree size {n} is beyond this node's {current}")))
            }
            n => Ok(n),
        }
    }
}

/// A stored leaf as a `LedgerEntry`: the envelope and its receipt, or,
/// when the envelope carries code material, the envelope withheld (see
/// `veritrace_ledger::without_code_material`): no read serves an item's
/// code salt or digest.
pub(crate) fn ledger_entry(leaf: &LeafRecord) -> Result<pb::LedgerEntry, Status> {
    let corrupt = |e: &dyn std::fmt::Display| reason(Code::DataLoss, "CORRUPT", format!("stored envelope: {e}"));
    let envelope = pb::SignedEnvelope::decode(leaf.envelope.as_slice()).map_err(|e| corrupt(&e))?;
    let receipt = veritrace_core::receipt::receipt_of_leaf(leaf, pb::Outcome::Applied);
    let tx = pb::Transaction::decode(envelope.payload.as_slice()).map_err(|e| corrupt(&e))?;
    let Some(public) = veritrace_ledger::without_code_material(&tx) else {
        return Ok(pb::LedgerEntry { envelope: Some(envelope), receipt: Some(receipt), withheld: None });
    };
    let withheld = pb::WithheldEnvelope {
        reason: veritrace_ledger::WITHHELD_CODE_MATERIAL.to_owned(),
        leaf_hash: leaf.hash().as_bytes().to_vec(),
        signer_key_id: envelope.signer_key_id,
        transaction: Some(public),
    };
    Ok(pb::LedgerEntry { envelope: None, receipt: Some(receipt), withheld: Some(withheld) })
}

/// UNAVAILABLE, reason `PROOF_NOT_READY`: the envelopes of a submission
/// with `include_proofs` are committed, but this node did not apply leaf
/// `leaf` in time to prove them. Submitting them again is safe (DUPLICATE,
/// with the first receipts and their proofs).
fn proof_not_ready(leaf: u64) -> Status {
    with_reason(
        Code::Unavailable,
        "PROOF_NOT_READY",
        format!(
            "the envelopes are committed, but this node has not applied leaf {leaf} yet to prove them; submit them \
             again (DUPLICATE, with proofs) or ask the leader"
        ),
        HashMap::from([("leaf_index".to_string(), leaf.to_string())]),
    )
}

fn envelope_id(bytes: &[u8], field: &str) -> Result<Hash, Status> {
    Hash::from_slice(bytes).map_err(|_| invalid(field, format!("{field} must be 32 bytes, got {}", bytes.len())))
}

#[tonic::async_trait]
impl LedgerService for LedgerApi {
    async fn submit_envelopes(
        &self,
        request: Request<pb::SubmitEnvelopesRequest>,
    ) -> Result<Response<pb::SubmitEnvelopesResponse>, Status> {
        self.party(&request, methods::SUBMIT_ENVELOPES)?;
        let req = request.into_inner();
        // The envelopes exactly as sent (`bytes` on the wire): the ledger
        // refuses what is not a canonical SignedEnvelope, and an id is the
        // hash of the bytes the client sent. Never re-encoded here.
        let mut receipts = self.service.submit(req.envelopes).await.map_err(|e| from_service(&self.service, e))?;
        if req.include_proofs {
            let in_tree = |r: &pb::Receipt| {
                r.outcome == pb::Outcome::Applied as i32 || r.outcome == pb::Outcome::Duplicate as i32
            };
            // The receipts are the leader's: a follower may not have applied
            // the leaves they name yet. Wait (bounded) until it has, so that
            // every receipt in the tree gets its proof or the call fails.
            if let Some(last) = receipts.iter().filter(|r| in_tree(r)).map(|r| r.leaf_index).max() {
                self.service.wait_for_leaf(last).await.map_err(|e| match e {
                    ServiceError::Driver(DriverError::Timeout(_)) => proof_not_ready(last),
                    other => from_service(&self.service, other),
                })?;
            }
            let size = self.service.ledger().tree_head().tree_size;
            let head = self.service.cosigned_tree_head_at(size).await.map_err(|e| from_service(&self.service, e))?;
            for r in receipts.iter_mut().filter(|r| in_tree(r)) {
                // `last < size` after the wait: a leaf outside the tree is an
                // error (OUT_OF_RANGE) here, never a receipt without a proof.
                r.inclusion = Some(self.inclusion(r.leaf_index, head.tree_size)?);
                r.tree_head = Some(head.clone());
            }
        }
        Ok(Response::new(pb::SubmitEnvelopesResponse { receipts }))
    }

    async fn get_envelope(
        &self,
        request: Request<pb::GetEnvelopeRequest>,
    ) -> Result<Response<pb::GetEnvelopeResponse>, Status> {
        self.party(&request, methods::GET_ENVELOPE)?;
        let req = request.into_inner();
        let id = envelope_id(&req.envelope_id, "envelope_id")?;
        let ledger = self.service.ledger();
        let Some(index) = ledger.find_envelope(&id).map_err(|e| self.ledger_err(e))? else {
            return Err(reason(Code::NotFound, "NOT_FOUND", format!("no envelope {id} in the ledger")));
        };
        let leaf = ledger.leaf(index).map_err(|e| self.ledger_err(e))?;
        let mut entry = ledger_entry(&leaf)?;
        if req.include_proof {
            let size = self.tree_size(req.tree_size)?;
            if index >= size {
                return Err(reason(
                    Code::OutOfRange,
                    "OUT_OF_RANGE",
                    format!("leaf {index} is not in a tree of {size}"),
                ));
            }
            if let Some(r) = entry.receipt.as_mut() {
                r.inclusion = Some(self.inclusion(index, size)?);
                r.tree_head = Some(self.service.signed_tree_head_at(size).map_err(|e| from_service(&self.service, e))?);
            }
        }
        Ok(Response::new(pb::GetEnvelopeResponse { entry: Some(entry) }))
    }

    async fn list_envelopes(
        &self,
        request: Request<pb::ListEnvelopesRequest>,
    ) -> Result<Response<pb::ListEnvelopesResponse>, Status> {
        self.party(&request, methods::LIST_ENVELOPES)?;
        let req = request.into_inner();
        let size = page_size(req.page_size)?;
        let api = self.clone();
        crate::work_limits::off_the_runtime(move || {
            let (leaves, next) =
                crate::listing::envelope_page(&api.service.ledger(), &req, size).map_err(|e| match e {
                    crate::listing::ListError::Invalid(field, m) => invalid(field, m),
                    crate::listing::ListError::Ledger(e) => api.ledger_err(e),
                })?;
            let head = req.include_proofs.then(|| api.service.signed_tree_head());
            let mut entries = Vec::with_capacity(leaves.len());
            for leaf in &leaves {
                let mut entry = ledger_entry(leaf)?;
                if let (Some(h), Some(r)) = (&head, entry.receipt.as_mut()) {
                    r.inclusion = Some(api.inclusion(leaf.leaf_index, h.tree_size)?);
                    r.tree_head = Some(h.clone());
                }
                entries.push(entry);
            }
            Ok(Response::new(pb::ListEnvelopesResponse {
                entries,
                next_page_token: next.map(|n| n.to_string()).unwrap_or_default(),
                tree_head: head,
            }))
        })
        .await
    }

    async fn get_tree_head(
        &self,
        request: Request<pb::GetTreeHeadRequest>,
    ) -> Result<Response<pb::GetTreeHeadResponse>, Status> {
        let req = request.into_inner();
        if req.shard_id != 0 {
            return Err(invalid("shard_id", "this network has one shard, 0"));
        }
        if req.linearizable {
            self.service.read_barrier().await.map_err(|e| from_service(&self.service, e))?;
        }
        let head = if req.cosigned {
            let size = self.service.ledger().tree_head().tree_size;
            self.service.cosigned_tree_head_at(size).await.map_err(|e| from_service(&self.service, e))?
        } else {
            self.service.signed_tree_head()
        };
        Ok(Response::new(pb::GetTreeHeadResponse { tree_head: Some(head) }))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::GetInclusionProofResponse>, Status> {
        let req = request.into_inner();
        let ledger = self.service.ledger();
        let index = match req.leaf {
            Some(pb::get_inclusion_proof_request::Leaf::LeafIndex(i)) => i,
            Some(pb::get_inclusion_proof_request::Leaf::EnvelopeId(id)) => {
                let id = envelope_id(&id, "envelope_id")?;
                ledger
                    .find_envelope(&id)
                    .map_err(|e| self.ledger_err(e))?
                    .ok_or_else(|| reason(Code::NotFound, "NOT_FOUND", format!("no envelope {id} in the ledger")))?
            }
            None => return Err(invalid("leaf", "set leaf_index or envelope_id")),
        };
        let size = self.tree_size(req.tree_size)?;
        if index >= size {
            return Err(reason(Code::OutOfRange, "OUT_OF_RANGE", format!("leaf {index} is not in a tree of {size}")));
        }
        let leaf = ledger.leaf(index).map_err(|e| self.ledger_err(e))?;
        Ok(Response::new(pb::GetInclusionProofResponse {
            proof: Some(self.inclusion(index, size)?),
            tree_head: Some(self.service.signed_tree_head_at(size).map_err(|e| from_service(&self.service, e))?),
            leaf_hash: leaf.hash().as_bytes().to_vec(),
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::GetConsistencyProofResponse>, Status> {
        let req = request.into_inner();
        let second = self.tree_size(req.second_size)?;
        if req.first_size > second {
            return Err(invalid("first_size", format!("first_size {} exceeds second_size {second}", req.first_size)));
        }
        let hashes = self.service.ledger().consistency_proof(req.first_size, second).map_err(|e| self.ledger_err(e))?;
        Ok(Response::new(pb::GetConsistencyProofResponse {
            proof: Some(pb::ConsistencyProof {
                first_size: req.first_size,
                second_size: second,
                hashes: hashes.iter().map(|h| h.as_bytes().to_vec()).collect(),
            }),
            second_tree_head: Some(
                self.service.signed_tree_head_at(second).map_err(|e| from_service(&self.service, e))?,
            ),
        }))
    }

    type WatchStream = crate::watch::WatchStream;

    async fn watch(&self, request: Request<pb::WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let caller = self.party(&request, methods::WATCH)?;
        let permit = self.limits.watch()?;
        Ok(Response::new(crate::watch::start(self.service.clone(), request.into_inner(), caller, permit)?))
    }

    async fn get_genesis(&self, _: Request<pb::GetGenesisRequest>) -> Result<Response<pb::GetGenesisResponse>, Status> {
        let ledger = self.service.ledger();
        let genesis = ledger.genesis();
        Ok(Response::new(pb::GetGenesisResponse {
            genesis_bytes: genesis.bytes().to_vec(),
            genesis: Some(genesis.proto().clone()),
            genesis_id: genesis.id().as_bytes().to_vec(),
        }))
    }

    async fn list_parties(
        &self,
        request: Request<pb::ListPartiesRequest>,
    ) -> Result<Response<pb::ListPartiesResponse>, Status> {
        let req = request.into_inner();
        let size = page_size(req.page_size)?;
        let role =
            pb::PartyRole::try_from(req.role).map_err(|_| invalid("role", format!("unknown role {}", req.role)))?;
        let filter = PartyFilter { role, include_suspended: req.include_suspended };
        let api = self.clone();
        crate::work_limits::off_the_runtime(move || {
            let after = (!req.page_token.is_empty()).then_some(req.page_token.as_str());
            let (parties, next) =
                api.service.ledger().list_parties(filter, after, size).map_err(|e| api.ledger_err(e))?;
            Ok(Response::new(pb::ListPartiesResponse { parties, next_page_token: next.unwrap_or_default() }))
        })
        .await
    }

    async fn list_proposals(
        &self,
        request: Request<pb::ListProposalsRequest>,
    ) -> Result<Response<pb::ListProposalsResponse>, Status> {
        self.party(&request, methods::LIST_PROPOSALS)?;
        let req = request.into_inner();
        let size = page_size(req.page_size)?;
        let offset = offset_token(&req.page_token)?;
        let status = pb::ProposalStatus::try_from(req.status)
            .map_err(|_| invalid("status", format!("unknown status {}", req.status)))?;
        let now = veritrace_service::now_ms();
        let (proposals, next) =
            self.service.ledger().list_proposals(status, offset, size, now).map_err(|e| self.ledger_err(e))?;
        Ok(Response::new(pb::ListProposalsResponse {
            proposals,
            next_page_token: next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    async fn put_private_data(
        &self,
        request: Request<pb::PutPrivateDataRequest>,
    ) -> Result<Response<pb::PutPrivateDataResponse>, Status> {
        let caller = self.named_party(&request, methods::PUT_PRIVATE_DATA)?;
        let req = request.into_inner();
        let id = envelope_id(&req.envelope_id, "envelope_id")?;
        let stored_for =
            self.service.put_private_data(&caller, id, req.values).await.map_err(|e| from_service(&self.service, e))?;
        Ok(Response::new(pb::PutPrivateDataResponse { stored_for }))
    }

    async fn get_private_data(
        &self,
        request: Request<pb::GetPrivateDataRequest>,
    ) -> Result<Response<pb::GetPrivateDataResponse>, Status> {
        let caller = self.named_party(&request, methods::GET_PRIVATE_DATA)?;
        let id = envelope_id(&request.get_ref().envelope_id, "envelope_id")?;
        let values = self.service.get_private_data(&caller, id).map_err(|e| from_service(&self.service, e))?;
        Ok(Response::new(pb::GetPrivateDataResponse { values }))
    }
}
