//! [`Client`]: one connection to a node, with a typed method per call.

use std::time::Duration;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Uri};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::cluster_service_client::ClusterServiceClient;
use veritrace_proto::v1::ledger_service_client::LedgerServiceClient;
use veritrace_proto::v1::marketplace_service_client::MarketplaceServiceClient;
use veritrace_proto::v1::verification_service_client::VerificationServiceClient;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response;
use tonic_health::pb::health_client::HealthClient;

use crate::admin_token::AttachAdminToken;
use crate::error::innermost_cause;
use crate::{AdminToken, ClientError, PartyCredential, TlsOptions};
use veritrace_core::party_call::methods;

/// Most pages [`Client::list_members`] follows before deciding the node is looping.
const MAX_MEMBER_PAGES: usize = 1_000;

/// Connection settings of a [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// TLS settings; required for an `https://` endpoint and refused with an `http://` one. With
    /// TLS, an endpoint without a scheme ("host:port") means `https://`.
    pub tls: Option<TlsOptions>,
    /// How long establishing the connection (and the TLS handshake) may take.
    pub connect_timeout: Duration,
    /// How long each call may take before it fails with code `Cancelled`; `None` waits forever.
    /// Calls that change state (submit, membership) wait for a Raft commit, so keep this above the
    /// cluster's election timeout.
    pub request_timeout: Option<Duration>,
    /// How many times [`Client::submit`] calls again when the node answers that the cluster is
    /// briefly unavailable ([`ClientError::is_transient`]: no leader reachable, leader changing,
    /// proposal dropped, proofs not ready yet), waiting 50 ms, then twice as long each time (or
    /// what the node asked for). Safe because envelopes are idempotent: one that reached the
    /// ledger on an earlier attempt comes back DUPLICATE, with the receipt of its first copy.
    /// 0: never retry.
    pub submit_retries: u32,
    /// The local address to connect from (a host with several addresses, or a test
    /// standing in for two clients); `None` lets the OS choose.
    pub local_address: Option<std::net::IpAddr>,
    /// The admin token sent with admin calls (membership, leadership, snapshots, backups, audit),
    /// which a node refuses without it (`UNAUTHENTICATED`). Never sent in clear off loopback:
    /// connecting with it to an `http://` endpoint that is not loopback fails.
    pub admin_token: Option<AdminToken>,
    /// The party credential that signs party-plane calls (submit, envelope and proposal reads,
    /// watch), which a node refuses without one (`UNAUTHENTICATED`, `PARTY_AUTH_REQUIRED`).
    /// The first such call reads the network id from the node's genesis.
    pub party: Option<PartyCredential>,
}

impl Default for ConnectOptions {
    /// No TLS, connect timeout 5 s, request timeout 30 s, 3 submit retries, any local address, no
    /// admin token.
    fn default() -> Self {
        Self {
            tls: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Some(Duration::from_secs(30)),
            submit_retries: 3,
            local_address: None,
            admin_token: None,
            party: None,
        }
    }
}

/// What a node's standard health service (grpc.health.v1) says of a service; see
/// [`Client::health`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServingStatus {
    /// The node does not know (UNKNOWN).
    Unknown,
    /// The service is serving (SERVING).
    Serving,
    /// The service is not serving (NOT_SERVING).
    NotServing,
    /// The service is not known (SERVICE_UNKNOWN; the Watch method's answer, not Check's).
    ServiceUnknown,
}

impl ServingStatus {
    /// The protocol's name of the status, e.g. "SERVING".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Serving => "SERVING",
            Self::NotServing => "NOT_SERVING",
            Self::ServiceUnknown => "SERVICE_UNKNOWN",
        }
    }
}

impl std::fmt::Display for ServingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connection to one node's gRPC API (ClusterService and LedgerService).
///
/// Cheap to clone: clones share the connection. A call that must run on the leader fails on a
/// follower with reason "NOT_LEADER"; [`ClientError::leader_api`] names where to retry.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: String,
    /// ClusterService without credentials: GetStatus and ListMembers,
    /// which need none (the admin token goes to no call that does not need it).
    cluster: ClusterServiceClient<Channel>,
    /// ClusterService with the admin token: the admin plane.
    admin: ClusterServiceClient<InterceptedService<Channel, AttachAdminToken>>,
    ledger: LedgerServiceClient<Channel>,
    verification: VerificationServiceClient<Channel>,
    marketplace: MarketplaceServiceClient<Channel>,
    health: HealthClient<Channel>,
    submit_retries: u32,
    /// The options connected with, for following a leader redirect.
    options: ConnectOptions,
    /// The node's network id and PeerId, read (GetGenesis, GetStatus) by
    /// the first party call: a party credential names both.
    audience: std::sync::Arc<tokio::sync::OnceCell<(String, String)>>,
}

/// Most leader redirects a membership or leadership call follows ([`Client::transfer_leader`]).
pub const MAX_LEADER_REDIRECTS: usize = 3;

impl Client {
    /// Connects to `endpoint` ("http://host:port", or "host:port" meaning http) with the default
    /// [`ConnectOptions`] (no TLS).
    pub async fn connect(endpoint: &str) -> Result<Self, ClientError> {
        Self::connect_with(endpoint, &ConnectOptions::default()).await
    }

    /// Connects to `endpoint` with the given options. The connection (with its TLS handshake) is
    /// made now, so an unreachable node, or one whose certificate the CA did not sign, fails here
    /// with [`ClientError::Connect`]. TLS options are checked first: unusable ones fail with
    /// [`ClientError::InvalidTls`], and a scheme that does not match them (`https://` without TLS,
    /// `http://` with it) with [`ClientError::InvalidEndpoint`].
    pub async fn connect_with(endpoint: &str, options: &ConnectOptions) -> Result<Self, ClientError> {
        let default_scheme = if options.tls.is_some() { "https" } else { "http" };
        let url = normalize_endpoint(endpoint, default_scheme)?;
        let bad =
            |reason: &str| ClientError::InvalidEndpoint { endpoint: endpoint.to_owned(), reason: reason.to_owned() };
        let mut builder = Endpoint::from_shared(url.clone())
            .map_err(|e| bad(&e.to_string()))?
            .connect_timeout(options.connect_timeout)
            .local_address(options.local_address);
        let https = url.starts_with("https://");
        if options.admin_token.is_some() && !https && !is_loopback_host(&url) {
            return Err(bad("the admin token would travel in clear off loopback: use https:// (TLS)"));
        }
        match (&options.tls, https) {
            (Some(tls), true) => {
                let config = tls.to_tonic(ip_literal_host(&url))?.timeout(options.connect_timeout);
                builder = builder
                    .tls_config(config)
                    .map_err(|e| ClientError::InvalidTls { path: None, reason: innermost_cause(&e) })?;
            }
            (None, false) => {}
            (None, true) => {
                return Err(bad("an https:// endpoint needs TLS options (the network's CA certificate, --cacert)"));
            }
            (Some(_), false) => {
                return Err(bad("TLS options were given but the endpoint is http://; use https://"));
            }
        }
        if let Some(timeout) = options.request_timeout {
            builder = builder.timeout(timeout);
        }
        let channel = builder.connect().await.map_err(|e| ClientError::connect(&url, e))?;
        Ok(Self {
            endpoint: url,
            cluster: ClusterServiceClient::new(channel.clone()),
            admin: ClusterServiceClient::with_interceptor(
                channel.clone(),
                AttachAdminToken::new(options.admin_token.as_ref()),
            ),
            verification: VerificationServiceClient::new(channel.clone()),
            marketplace: MarketplaceServiceClient::new(channel.clone()),
            health: HealthClient::new(channel.clone()),
            ledger: LedgerServiceClient::new(channel),
            submit_retries: options.submit_retries,
            options: options.clone(),
            audience: std::sync::Arc::default(),
        })
    }

    /// This connection, with party-plane calls signed by `party` instead (the connection and the
    /// cached network id are shared).
    pub fn with_party(&self, party: PartyCredential) -> Client {
        let mut client = self.clone();
        client.options.party = Some(party);
        client
    }

    /// The endpoint connected to, normalised (e.g. "http://127.0.0.1:7401").
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// What the node's standard health service (grpc.health.v1.Health/Check) says of `service`:
    /// "" asks about the node as a whole, otherwise a fully qualified service name such as
    /// "veritrace.v1.LedgerService". A service the node does not report on fails with
    /// [`ClientError::UnknownHealthService`].
    pub async fn health(&self, service: &str) -> Result<ServingStatus, ClientError> {
        let request = HealthCheckRequest { service: service.to_owned() };
        let response = match self.health.clone().check(request).await {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => {
                return Err(ClientError::UnknownHealthService { service: service.to_owned() });
            }
            Err(status) => return Err(status.into()),
        };
        match health_check_response::ServingStatus::try_from(response.status) {
            Ok(health_check_response::ServingStatus::Unknown) => Ok(ServingStatus::Unknown),
            Ok(health_check_response::ServingStatus::Serving) => Ok(ServingStatus::Serving),
            Ok(health_check_response::ServingStatus::NotServing) => Ok(ServingStatus::NotServing),
            Ok(health_check_response::ServingStatus::ServiceUnknown) => Ok(ServingStatus::ServiceUnknown),
            Err(_) => Err(invalid("Health.Check", format!("unknown serving status {}", response.status))),
        }
    }

    /// Status of the node and its view of the cluster (ClusterService.GetStatus).
    pub async fn status(&self) -> Result<pb::GetStatusResponse, ClientError> {
        Ok(self.cluster.clone().get_status(pb::GetStatusRequest {}).await?.into_inner())
    }

    /// All Raft members, by node id, following every page (ClusterService.ListMembers).
    pub async fn list_members(&self) -> Result<Vec<pb::Member>, ClientError> {
        let mut members = Vec::new();
        let mut page_token = String::new();
        for _ in 0..MAX_MEMBER_PAGES {
            let request = pb::ListMembersRequest { page_size: 0, page_token: page_token.clone() };
            let page = self.cluster.clone().list_members(request).await?.into_inner();
            members.extend(page.members);
            if page.next_page_token.is_empty() {
                return Ok(members);
            }
            if page.next_page_token == page_token {
                return Err(invalid("ListMembers", format!("page token {page_token:?} returned twice")));
            }
            page_token = page.next_page_token;
        }
        Err(invalid("ListMembers", format!("more than {MAX_MEMBER_PAGES} pages")))
    }

    /// Adds a non-voting learner (ClusterService.AddLearner). `node_id` 0 lets the node derive one
    /// from `peer_id`; `api_endpoint` (may be empty) is the learner's gRPC endpoint.
    pub async fn add_learner(
        &self,
        node_id: u64,
        peer_id: &str,
        addresses: Vec<String>,
        api_endpoint: &str,
    ) -> Result<pb::AddLearnerResponse, ClientError> {
        let request = pb::AddLearnerRequest {
            node_id,
            peer_id: peer_id.to_owned(),
            addresses,
            api_endpoint: api_endpoint.to_owned(),
        };
        self.at_leader(|c| {
            let request = request.clone();
            async move { Ok(c.admin.clone().add_learner(request).await?.into_inner()) }
        })
        .await
    }

    /// Promotes a caught-up learner to voter (ClusterService.PromoteMember).
    pub async fn promote_member(&self, node_id: u64) -> Result<pb::PromoteMemberResponse, ClientError> {
        self.at_leader(|c| async move {
            Ok(c.admin.clone().promote_member(pb::PromoteMemberRequest { node_id }).await?.into_inner())
        })
        .await
    }

    /// Removes a voter or learner (ClusterService.RemoveMember).
    pub async fn remove_member(&self, node_id: u64) -> Result<pb::RemoveMemberResponse, ClientError> {
        self.at_leader(|c| async move {
            Ok(c.admin.clone().remove_member(pb::RemoveMemberRequest { node_id }).await?.into_inner())
        })
        .await
    }

    /// Hands leadership to voter `node_id`, or to the most up-to-date other voter when 0
    /// (ClusterService.TransferLeader).
    pub async fn transfer_leader(&self, node_id: u64) -> Result<pb::TransferLeaderResponse, ClientError> {
        self.at_leader(|c| async move {
            Ok(c.admin.clone().transfer_leader(pb::TransferLeaderRequest { node_id }).await?.into_inner())
        })
        .await
    }

    /// Runs a membership or leadership call here or, when this node answers NOT_LEADER naming
    /// the leader's endpoint, there, with the same options (at most [`MAX_LEADER_REDIRECTS`]
    /// hops). Nodes do not forward these calls to the leader: the leader's own admin plane must
    /// authenticate the caller.
    async fn at_leader<T, F, Fut>(&self, call: F) -> Result<T, ClientError>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut client = self.clone();
        for _ in 0..MAX_LEADER_REDIRECTS {
            match call(client.clone()).await {
                Err(e) if e.is_not_leader() => {
                    let Some(api) = e.leader_api().filter(|api| *api != client.endpoint) else { return Err(e) };
                    client = Client::connect_with(api, &self.options).await?;
                }
                answer => return answer,
            }
        }
        call(client).await
    }

    /// Makes the node snapshot its state machine now (ClusterService.CreateSnapshot).
    pub async fn create_snapshot(&self) -> Result<pb::CreateSnapshotResponse, ClientError> {
        Ok(self.admin.clone().create_snapshot(pb::CreateSnapshotRequest {}).await?.into_inner())
    }

    /// `message` as a request of the party-plane `method`, signed with the party credential when
    /// the options hold one (without one the node decides: it refuses unless its party plane is
    /// open).
    async fn party_request<T>(&self, message: T, method: &str) -> Result<tonic::Request<T>, ClientError> {
        let mut request = tonic::Request::new(message);
        let Some(credential) = &self.options.party else { return Ok(request) };
        let (network_id, node) = self
            .audience
            .get_or_try_init(|| async {
                let genesis = self.ledger.clone().get_genesis(pb::GetGenesisRequest {}).await?.into_inner();
                let network = genesis.genesis.map(|g| g.network_id);
                let network = network.ok_or_else(|| invalid("GetGenesis", "no genesis".to_owned()))?;
                let status = self.cluster.clone().get_status(pb::GetStatusRequest {}).await?.into_inner();
                Ok::<_, ClientError>((network, status.peer_id))
            })
            .await?;
        for (name, value) in credential.sign(network_id, node, method)? {
            request.metadata_mut().insert(name, value);
        }
        Ok(request)
    }

    /// The party credential of one call of `method` at this node, as HTTP
    /// header (name, value) pairs: for the EPCIS REST binding, whose
    /// `method` is `"{HTTP method} {path below /epcis}"` (e.g.
    /// `"POST /capture"`). Each set is good for one call, at this node.
    /// Fails when the client has no party credential.
    pub async fn party_call_headers(&self, method: &str) -> Result<Vec<(&'static str, String)>, ClientError> {
        let request = self.party_request((), method).await?;
        if self.options.party.is_none() {
            return Err(ClientError::Local { what: "no party credential to sign the call with (--as-party)".into() });
        }
        Ok(request
            .metadata()
            .iter()
            .filter_map(|kv| match kv {
                tonic::metadata::KeyAndValueRef::Ascii(k, v) => {
                    let name = veritrace_core::party_call::HEADER_NAMES.iter().find(|n| **n == k.as_str())?;
                    Some((*name, v.to_str().ok()?.to_owned()))
                }
                tonic::metadata::KeyAndValueRef::Binary(..) => None,
            })
            .collect())
    }

    /// Submits envelopes and returns one receipt per envelope, in order (LedgerService.SubmitEnvelopes).
    /// A refused envelope is a receipt with outcome REJECTED, not an error.
    pub async fn submit(&self, envelopes: Vec<pb::SignedEnvelope>) -> Result<Vec<pb::Receipt>, ClientError> {
        self.submit_envelopes(encoded(&envelopes), false).await
    }

    /// [`Client::submit`] of envelopes already encoded (each a `SignedEnvelope` in its canonical
    /// encoding), sent exactly as given: an envelope's id is the blake3 hash of its bytes, and
    /// bytes that are not a canonical envelope come back REJECTED (MALFORMED_ENVELOPE,
    /// NON_CANONICAL_ENVELOPE). With `include_proofs`, as [`Client::submit_with_proofs`].
    pub async fn submit_bytes(
        &self,
        envelopes: Vec<Vec<u8>>,
        include_proofs: bool,
    ) -> Result<Vec<pb::Receipt>, ClientError> {
        self.submit_envelopes(envelopes, include_proofs).await
    }

    /// [`Client::submit`], with each receipt of an envelope in the ledger (APPLIED or DUPLICATE)
    /// carrying its inclusion proof and the signed tree head it is relative to, ready for
    /// `veritrace_core::receipt::verify_receipt`.
    pub async fn submit_with_proofs(
        &self,
        envelopes: Vec<pb::SignedEnvelope>,
    ) -> Result<Vec<pb::Receipt>, ClientError> {
        self.submit_envelopes(encoded(&envelopes), true).await
    }

    async fn submit_envelopes(
        &self,
        envelopes: Vec<Vec<u8>>,
        include_proofs: bool,
    ) -> Result<Vec<pb::Receipt>, ClientError> {
        let sent = envelopes.len();
        let mut request = pb::SubmitEnvelopesRequest { envelopes, include_proofs };
        let mut attempt = 0;
        let receipts = loop {
            // The last attempt sends the request itself; earlier ones a copy.
            let call = if attempt < self.submit_retries { request.clone() } else { std::mem::take(&mut request) };
            let call = self.party_request(call, methods::SUBMIT_ENVELOPES).await?;
            let err = match self.ledger.clone().submit_envelopes(call).await {
                Ok(response) => break response.into_inner().receipts,
                Err(status) => ClientError::from(status),
            };
            if attempt >= self.submit_retries || !err.is_transient() {
                return Err(err);
            }
            let backoff = Duration::from_millis(50u64 << attempt.min(6));
            tokio::time::sleep(err.retry_delay().unwrap_or(backoff)).await;
            attempt += 1;
        };
        if receipts.len() != sent {
            return Err(invalid("SubmitEnvelopes", format!("{} receipts for {sent} envelopes", receipts.len())));
        }
        Ok(receipts)
    }

    /// The envelope with id `id` and its receipt, or `None` if the ledger holds no such envelope
    /// (LedgerService.GetEnvelope).
    pub async fn get_envelope(&self, id: [u8; 32]) -> Result<Option<pb::LedgerEntry>, ClientError> {
        let request = pb::GetEnvelopeRequest { envelope_id: id.to_vec(), include_proof: false, tree_size: 0 };
        let request = self.party_request(request, methods::GET_ENVELOPE).await?;
        match self.ledger.clone().get_envelope(request).await {
            Ok(response) => match response.into_inner().entry {
                Some(entry) => Ok(Some(entry)),
                None => Err(invalid("GetEnvelope", "no entry".to_owned())),
            },
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }

    /// The inclusion proof of envelope `id` in the node's current tree, with
    /// the signed tree head it is relative to and the leaf hash
    /// (LedgerService.GetInclusionProof). Check it with
    /// `veritrace_core::merkle::verify_inclusion`.
    pub async fn inclusion_proof(&self, id: [u8; 32]) -> Result<pb::GetInclusionProofResponse, ClientError> {
        let request = pb::GetInclusionProofRequest {
            leaf: Some(pb::get_inclusion_proof_request::Leaf::EnvelopeId(id.to_vec())),
            tree_size: 0,
            shard_id: 0,
        };
        Ok(self.ledger.clone().get_inclusion_proof(request).await?.into_inner())
    }

    /// A proof that the node's tree of `second_size` leaves (0: its current
    /// tree) extends its tree of `first_size`, with the signed head of the
    /// larger tree (LedgerService.GetConsistencyProof). Check it with
    /// `veritrace_core::merkle::verify_consistency`.
    pub async fn consistency_proof(
        &self,
        first_size: u64,
        second_size: u64,
    ) -> Result<pb::GetConsistencyProofResponse, ClientError> {
        let request = pb::GetConsistencyProofRequest { first_size, second_size, shard_id: 0 };
        Ok(self.ledger.clone().get_consistency_proof(request).await?.into_inner())
    }

    /// The node's current signed tree head of shard 0, from its applied state
    /// (LedgerService.GetTreeHead).
    pub async fn tree_head(&self) -> Result<pb::SignedTreeHead, ClientError> {
        self.tree_head_with(pb::GetTreeHeadRequest::default()).await
    }

    /// The node's signed tree head as `request` asks (linearizable, or
    /// co-signed by the validators: check it with
    /// `veritrace_core::cosign::verify_cosigned`).
    pub async fn tree_head_with(&self, request: pb::GetTreeHeadRequest) -> Result<pb::SignedTreeHead, ClientError> {
        let response = self.ledger.clone().get_tree_head(request).await?.into_inner();
        response.tree_head.ok_or_else(|| invalid("GetTreeHead", "no tree head".to_owned()))
    }
}

impl Client {
    /// Verifies an item and its code (VerificationService.VerifyItem): the
    /// verdict, journey and a receipt of the recorded scan. Check the
    /// receipt offline with `veritrace_core::receipt::verify_receipt`
    /// against `scan_envelope`.
    pub async fn verify_item(&self, request: pb::VerifyItemRequest) -> Result<pb::VerifyItemResponse, ClientError> {
        Ok(self.verification.clone().verify_item(request).await?.into_inner())
    }

    /// An item's state and journey, following every page
    /// (VerificationService.GetItemHistory).
    pub async fn item_history(&self, item_uri: &str) -> Result<pb::GetItemHistoryResponse, ClientError> {
        let mut first: Option<pb::GetItemHistoryResponse> = None;
        let mut token = String::new();
        for _ in 0..MAX_MEMBER_PAGES {
            let request = pb::GetItemHistoryRequest {
                item: Some(pb::get_item_history_request::Item::ItemUri(item_uri.to_owned())),
                page_size: 1000,
                page_token: token,
            };
            let page = self.verification.clone().get_item_history(request).await?.into_inner();
            token = page.next_page_token.clone();
            match &mut first {
                None => first = Some(page),
                Some(f) => f.steps.extend(page.steps),
            }
            if token.is_empty() {
                break;
            }
        }
        first.ok_or_else(|| invalid("GetItemHistory", "no page".to_owned()))
    }

    /// What the ledger says about a party (VerificationService.GetPartyProfile).
    pub async fn party_profile(&self, party_id: &str) -> Result<pb::GetPartyProfileResponse, ClientError> {
        let request = pb::GetPartyProfileRequest { name: format!("parties/{party_id}") };
        Ok(self.verification.clone().get_party_profile(request).await?.into_inner())
    }

    /// A registered product (VerificationService.GetProduct).
    pub async fn product(&self, gtin: &str) -> Result<pb::ProductSummary, ClientError> {
        let request = pb::GetProductRequest { name: format!("products/{gtin}") };
        Ok(self.verification.clone().get_product(request).await?.into_inner())
    }

    /// One page of parties (LedgerService.ListParties).
    pub async fn list_parties(&self, request: pb::ListPartiesRequest) -> Result<pb::ListPartiesResponse, ClientError> {
        Ok(self.ledger.clone().list_parties(request).await?.into_inner())
    }

    /// One page of governance proposals (LedgerService.ListProposals).
    pub async fn list_proposals(
        &self,
        request: pb::ListProposalsRequest,
    ) -> Result<pb::ListProposalsResponse, ClientError> {
        let request = self.party_request(request, methods::LIST_PROPOSALS).await?;
        Ok(self.ledger.clone().list_proposals(request).await?.into_inner())
    }

    /// One page of envelopes (LedgerService.ListEnvelopes).
    pub async fn list_envelopes(
        &self,
        request: pb::ListEnvelopesRequest,
    ) -> Result<pb::ListEnvelopesResponse, ClientError> {
        let request = self.party_request(request, methods::LIST_ENVELOPES).await?;
        Ok(self.ledger.clone().list_envelopes(request).await?.into_inner())
    }

    /// A supplier's trust profile (MarketplaceService.GetSupplierProfile; a party call).
    pub async fn supplier_profile(&self, party_id: &str) -> Result<pb::SupplierProfile, ClientError> {
        let request = pb::GetSupplierProfileRequest { name: format!("parties/{party_id}") };
        let request = self.party_request(request, methods::GET_SUPPLIER_PROFILE).await?;
        Ok(self.marketplace.clone().get_supplier_profile(request).await?.into_inner())
    }

    /// An IP case filed by `complainant` (MarketplaceService.GetIpCase; a party call).
    pub async fn ip_case(&self, complainant: &str, complaint_id: &str) -> Result<pb::IpCase, ClientError> {
        let request = pb::GetCaseRequest { name: format!("parties/{complainant}/ipCases/{complaint_id}") };
        let request = self.party_request(request, methods::GET_IP_CASE).await?;
        Ok(self.marketplace.clone().get_ip_case(request).await?.into_inner())
    }

    /// A trade case filed by `buyer` (MarketplaceService.GetTradeCase; a party call).
    pub async fn trade_case(&self, buyer: &str, complaint_id: &str) -> Result<pb::TradeCase, ClientError> {
        let request = pb::GetCaseRequest { name: format!("parties/{buyer}/tradeCases/{complaint_id}") };
        let request = self.party_request(request, methods::GET_TRADE_CASE).await?;
        Ok(self.marketplace.clone().get_trade_case(request).await?.into_inner())
    }

    /// One page of the cases a party filed or answers (MarketplaceService.ListCases; a party call).
    pub async fn list_cases(&self, request: pb::ListCasesRequest) -> Result<pb::ListCasesResponse, ClientError> {
        let request = self.party_request(request, methods::LIST_CASES).await?;
        Ok(self.marketplace.clone().list_cases(request).await?.into_inner())
    }

    /// Hands the clear private values of envelope `envelope_id` to this node (the submitter's own
    /// or a named party's), which sends them on to the named parties' nodes
    /// (LedgerService.PutPrivateData); returns the parties whose nodes hold them.
    pub async fn put_private_data(
        &self,
        envelope_id: [u8; 32],
        values: Vec<pb::PrivateValue>,
    ) -> Result<Vec<String>, ClientError> {
        let request = pb::PutPrivateDataRequest { envelope_id: envelope_id.to_vec(), values };
        let request = self.party_request(request, methods::PUT_PRIVATE_DATA).await?;
        Ok(self.ledger.clone().put_private_data(request).await?.into_inner().stored_for)
    }

    /// The clear private values of envelope `envelope_id`, for its submitter and the parties it
    /// names (LedgerService.GetPrivateData).
    pub async fn get_private_data(&self, envelope_id: [u8; 32]) -> Result<Vec<pb::PrivateValue>, ClientError> {
        let request = pb::GetPrivateDataRequest { envelope_id: envelope_id.to_vec() };
        let request = self.party_request(request, methods::GET_PRIVATE_DATA).await?;
        Ok(self.ledger.clone().get_private_data(request).await?.into_inner().values)
    }

    /// The network's genesis (LedgerService.GetGenesis).
    pub async fn genesis(&self) -> Result<pb::GetGenesisResponse, ClientError> {
        Ok(self.ledger.clone().get_genesis(pb::GetGenesisRequest {}).await?.into_inner())
    }

    /// Asks the node to re-derive its Merkle root from its stored envelopes
    /// (ClusterService.Audit); compare the answers of every member.
    /// With `at_size` > 0 the answer also holds the node's root at that size.
    pub async fn audit(&self, skip_signatures: bool, at_size: u64) -> Result<pb::AuditResponse, ClientError> {
        Ok(self.admin.clone().audit(pb::AuditRequest { skip_signatures, at_size }).await?.into_inner())
    }

    /// Streams a backup of the node's ledger into `out` (ClusterService.SaveSnapshot)
    /// and returns its metadata (the stream's last message). Fails with
    /// [`ClientError::InvalidResponse`] if the stream ends without it.
    pub async fn save_snapshot(&self, out: &mut impl std::io::Write) -> Result<pb::SaveSnapshotResponse, ClientError> {
        let mut stream = self.admin.clone().save_snapshot(pb::SaveSnapshotRequest {}).await?.into_inner();
        while let Some(message) = stream.message().await? {
            if !message.chunk.is_empty() {
                out.write_all(&message.chunk)
                    .map_err(|e| ClientError::Local { what: format!("writing the snapshot: {e}") })?;
            }
            if !message.root_hash.is_empty() {
                return Ok(message);
            }
        }
        Err(invalid("SaveSnapshot", "the stream ended before the snapshot's metadata".into()))
    }

    /// Follows the ledger from `request.start_leaf_index` (LedgerService.Watch):
    /// entries that pass the filters, then signed tree heads, until the stream
    /// is dropped.
    pub async fn watch(&self, request: pb::WatchRequest) -> Result<tonic::Streaming<pb::WatchResponse>, ClientError> {
        // The request timeout bounds the wait for the stream to open, not its life.
        let request = self.party_request(request, methods::WATCH).await?;
        Ok(self.ledger.clone().watch(request).await?.into_inner())
    }
}

/// Each envelope's encoding, as `SubmitEnvelopesRequest.envelopes` carries it (prost encodes a
/// `SignedEnvelope` canonically: fields 1, 2, 3 in order, no unknown fields).
fn encoded(envelopes: &[pb::SignedEnvelope]) -> Vec<Vec<u8>> {
    envelopes.iter().map(prost::Message::encode_to_vec).collect()
}

fn invalid(rpc: &'static str, detail: String) -> ClientError {
    ClientError::InvalidResponse { rpc, detail }
}

/// The host of `url` when it is an IP address literal, unbracketed ("::1" for "https://[::1]:7401"):
/// the name a node's certificate lists as an IP SAN, which tonic would otherwise take with its
/// brackets.
fn ip_literal_host(url: &str) -> Option<&str> {
    url_host(url).filter(|host| host.parse::<std::net::IpAddr>().is_ok())
}

/// The host of an absolute URL, unbracketed, without port or path.
fn url_host(url: &str) -> Option<&str> {
    let authority = url.split_once("://")?.1.split('/').next().unwrap_or_default();
    match authority.strip_prefix('[') {
        Some(rest) => Some(rest.split_once(']')?.0),
        None => Some(authority.rsplit_once(':').map_or(authority, |(host, _)| host)),
    }
}

/// Whether a URL's host is loopback (`localhost`, `127.0.0.0/8`, `::1`).
fn is_loopback_host(url: &str) -> bool {
    url_host(url).is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}

/// Checks `endpoint` and returns it as an absolute URL, adding `default_scheme` ("http" or
/// "https") when no scheme is given.
fn normalize_endpoint(endpoint: &str, default_scheme: &str) -> Result<String, ClientError> {
    let bad = |reason: &str| ClientError::InvalidEndpoint { endpoint: endpoint.to_owned(), reason: reason.to_owned() };
    let trimmed = endpoint.trim();
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let url = if trimmed.contains("://") { trimmed.to_owned() } else { format!("{default_scheme}://{trimmed}") };
    let uri = url.parse::<Uri>().map_err(|e| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(bad("scheme must be http or https")),
    }
    let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
        return Err(bad("no host"));
    };
    if authority.as_str().contains('@') {
        return Err(bad("a node endpoint has no user info"));
    }
    // `Uri` accepts any text after the host's colon; only a u16 is a port.
    let after_host = authority.as_str().strip_prefix(authority.host()).unwrap_or_default();
    if !after_host.is_empty() && authority.port_u16().is_none() {
        return Err(bad("the port is not a number from 0 to 65535"));
    }
    if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
        return Err(bad("a node endpoint has no path or query"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalised() {
        assert_eq!(normalize_endpoint("127.0.0.1:7401", "http").ok().as_deref(), Some("http://127.0.0.1:7401"));
        assert_eq!(
            normalize_endpoint("http://n1.example.org:7401/", "http").ok().as_deref(),
            Some("http://n1.example.org:7401")
        );
        assert_eq!(normalize_endpoint("https://[::1]:7401", "http").ok().as_deref(), Some("https://[::1]:7401"));
    }

    #[test]
    fn bare_endpoints_take_the_default_scheme() {
        assert_eq!(normalize_endpoint("n1:7401", "https").ok().as_deref(), Some("https://n1:7401"));
        assert_eq!(normalize_endpoint("http://n1:7401", "https").ok().as_deref(), Some("http://n1:7401"));
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in ["http://127.0.0.1:7401", "http://localhost:7401", "http://[::1]:7401", "http://127.0.0.2"] {
            assert!(is_loopback_host(url), "{url}");
        }
        for url in ["http://10.0.0.1:7401", "http://n1.example.org:7401", "http://0.0.0.0:7401", "http://[::]:1"] {
            assert!(!is_loopback_host(url), "{url}");
        }
    }

    #[tokio::test]
    async fn the_admin_token_never_goes_in_clear_off_loopback() {
        let token = crate::AdminToken::new(&"a".repeat(64)).unwrap_or_else(|e| panic!("{e}"));
        let options = ConnectOptions { admin_token: Some(token), ..ConnectOptions::default() };
        let err = Client::connect_with("http://192.0.2.1:7401", &options).await.expect_err("plaintext off loopback");
        assert!(err.to_string().contains("in clear"), "{err}");
    }

    #[test]
    fn ip_literal_hosts_are_unbracketed() {
        assert_eq!(ip_literal_host("https://[::1]:7401"), Some("::1"));
        assert_eq!(ip_literal_host("https://127.0.0.1:7401"), Some("127.0.0.1"));
        assert_eq!(ip_literal_host("https://127.0.0.1"), Some("127.0.0.1"));
        assert_eq!(ip_literal_host("https://n1.example.org:7401"), None);
    }

    #[test]
    fn malformed_endpoints_are_refused() {
        for bad in [
            "",
            "  ",
            "ftp://host:1",
            "http://",
            "127.0.0.1:notaport",
            "http://h:1/api",
            "http://h:1?x=1",
            "a b",
            "http://u@h:1",
            "h:70000",
            "h:",
        ] {
            assert!(
                matches!(normalize_endpoint(bad, "http"), Err(ClientError::InvalidEndpoint { .. })),
                "{bad:?} should be refused"
            );
        }
    }
}
