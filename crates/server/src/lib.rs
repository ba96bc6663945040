//! Veritrace's edge: the gRPC services (tonic) over a replica's
//! application layer ([`Service`], from `veritrace-service`), and the ops
//! HTTP listener. It never depends on the node's wiring, so the test kit
//! serves the same edge over in-process replicas.
//!
//! * `ledger::LedgerApi`: `veritrace.v1.LedgerService` ([`watch`] streams it);
//! * `cluster::ClusterApi`: `veritrace.v1.ClusterService`;
//! * `verification::VerificationApi`: `veritrace.v1.VerificationService`;
//! * `grpc.health.v1.Health` (tracks the node's readiness) and gRPC server
//!   reflection (`grpc.reflection.v1`), so grpcurl needs no proto files;
//! * [`edge`]: the per-client rate limit, request accounting and a `grpc`
//!   span with the request id around them (and the test kit's fault hook);
//! * [`config`]: the `[api]` section it serves by;
//! * [`admin_auth`], [`party_auth`]: who may call the admin plane and the
//!   party plane (the public plane, verification and tree heads, is open);
//! * [`status`]: errors as gRPC statuses with a machine-readable reason
//!   in a `google.rpc.ErrorInfo` detail (domain `veritrace.io`);
//! * [`ops_http`]: `/livez`, `/readyz`, `/metrics`.
//!
//! [`serve`] runs the gRPC services on a TCP listener until a shutdown
//! future resolves, configured by the `[api]` section ([`ApiSection`]).

pub mod admin_auth;
pub mod client_budget;
pub mod cluster;
pub mod config;
pub mod edge;
pub mod ledger;
pub mod listing;
pub mod marketplace;
pub mod ops_http;
pub mod party_auth;
pub mod status;
pub mod verification;
pub mod watch;
pub mod work_limits;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic_health::ServingStatus;
use veritrace_proto::v1::cluster_service_server::ClusterServiceServer;
use veritrace_proto::v1::ledger_service_server::LedgerServiceServer;
use veritrace_proto::v1::marketplace_service_server::MarketplaceServiceServer;
use veritrace_proto::v1::verification_service_server::VerificationServiceServer;
use veritrace_service::Service;

pub use config::{AdminSection, ApiSection, AppKeySection, PartySection, TlsSection, VerificationSection};
pub use edge::RequestObserver;
/// The status type the gate and [`status`] speak (tonic's), for edges
/// other than gRPC that map it ([`status::as_http`]).
pub use tonic::Status;

/// Largest gRPC message accepted by default, in bytes (a submission of envelopes).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// How often the gRPC health status follows the node's readiness.
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);

/// Why a listener stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What failed.
        source: std::io::Error,
    },
    /// A TLS file could not be read or used.
    #[error("TLS: {what}")]
    Tls {
        /// The file and the problem.
        what: String,
    },
    /// The admin credential could not be read or is unusable.
    #[error("admin plane: {what}")]
    Admin {
        /// The file and the problem.
        what: String,
    },
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The ops HTTP server failed.
    #[error("ops HTTP server: {0}")]
    Ops(std::io::Error),
}

/// Turns Nagle's algorithm off on an accepted connection. A gRPC answer
/// is several small HTTP/2 frames (headers, data, trailers): with Nagle on,
/// the last one waits for the client's delayed ACK, ~40 ms on Linux.
fn no_delay(accepted: std::io::Result<tokio::net::TcpStream>) -> std::io::Result<tokio::net::TcpStream> {
    let stream = accepted?;
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(cause = %e, "cannot set TCP_NODELAY on an accepted connection");
    }
    Ok(stream)
}

/// Binds `addr` (port 0 picks one; see the returned address).
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServeError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(|source| ServeError::Bind { addr, source })?;
    Ok((listener, local))
}

/// How [`serve`] serves: the `[api]` section and an optional observer.
#[derive(Clone)]
pub struct ServeOptions {
    /// Message size, rate limit and TLS (its `listen` address is the
    /// caller's to bind; [`serve`] takes a bound listener).
    pub api: ApiSection,
    /// Receives every finished request; default: the service's gRPC metrics.
    pub observer: Option<RequestObserver>,
    /// Replaces answers after the service handled them (the test kit's
    /// fault hook; `None` in a node).
    pub fault: Option<edge::AnswerFault>,
}

impl ServeOptions {
    /// Serves with `api`'s settings and the default observer.
    pub fn new(api: ApiSection) -> Self {
        ServeOptions { api, observer: None, fault: None }
    }
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("api", &self.api)
            .field("observer", &self.observer.is_some())
            .field("fault", &self.fault.is_some())
            .finish()
    }
}

fn read_pem(path: &std::path::Path, what: &str) -> Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|e| ServeError::Tls { what: format!("cannot read {what} {}: {e}", path.display()) })
}

/// The TLS configuration of `[api.tls]`, if any, and whether the admin
/// service requires a client certificate.
fn tls_config(api: &ApiSection) -> Result<(Option<ServerTlsConfig>, bool), ServeError> {
    let Some(tls) = &api.tls else { return Ok((None, false)) };
    let identity = Identity::from_pem(
        read_pem(&tls.cert_file, "api.tls.cert_file")?,
        read_pem(&tls.key_file, "api.tls.key_file")?,
    );
    let mut config = ServerTlsConfig::new().identity(identity);
    let mut admin_requires = false;
    if let Some(ca) = &tls.client_ca_file {
        config = config
            .client_ca_root(Certificate::from_pem(read_pem(ca, "api.tls.client_ca_file")?))
            .client_auth_optional(true);
        admin_requires = tls.admin_requires_client_cert;
    }
    Ok((Some(config), admin_requires))
}

/// Serves the ledger, verification, cluster, health and reflection
/// services of `service` on `listener` until `shutdown` resolves (in-flight
/// requests finish first), with the message size limit, rate limit and TLS
/// of `options.api`.
pub async fn serve(
    service: Service,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let api = options.api;
    let max = api.max_message_bytes;
    let party_gate = party_auth::PartyGate::from_config(&api.party);
    let limits = work_limits::WorkLimits::default();
    let marketplace =
        MarketplaceServiceServer::new(marketplace::MarketplaceApi::new(service.clone(), party_gate.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max.saturating_mul(2));
    let ledger =
        LedgerServiceServer::new(ledger::LedgerApi::new(service.clone(), party_gate).with_limits(limits.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max.saturating_mul(2));
    let verification =
        VerificationServiceServer::new(verification::VerificationApi::new(service.clone(), &api.verification))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max.saturating_mul(2));
    let (tls, admin_requires_cert) = tls_config(&api)?;
    let gate = admin_auth::AdminGate::from_config(&api.admin, admin_requires_cert)?;
    let cluster = ClusterServiceServer::new(cluster::ClusterApi::new(service.clone(), gate).with_limits(limits));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(veritrace_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Tls { what: format!("reflection descriptors: {e}") })?;
    let (health, health_service) = tonic_health::server::health_reporter();
    // Aborted when this future ends or is dropped (a caller that aborts the
    // server must not leave the follower polling a stopped service).
    let _follower = AbortOnDrop(tokio::spawn(follow_readiness(service.clone(), health)));

    let limiter = (api.requests_per_second > 0)
        .then(|| Arc::new(edge::RateLimiter::new(api.requests_per_second, api.request_burst)));
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let metrics = service.metrics().clone();
    let observer = options.observer.unwrap_or_else(|| {
        Arc::new(move |method: &str, code: &str, seconds: f64| metrics.observe_grpc(method, code, seconds))
    });
    let served = builder
        .layer(edge::EdgeLayer::new(limiter, Some(observer)).with_fault(options.fault))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(ledger)
        .add_service(verification)
        .add_service(marketplace)
        .add_service(cluster)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener).map(no_delay), shutdown)
        .await;
    served?;
    Ok(())
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps `grpc.health.v1` in step with the node's readiness: the overall
/// status ("") and every Veritrace service are SERVING when the node is
/// ready, NOT_SERVING otherwise.
async fn follow_readiness(service: Service, health: tonic_health::server::HealthReporter) {
    let names = [
        "",
        <LedgerServiceServer<ledger::LedgerApi> as tonic::server::NamedService>::NAME,
        <VerificationServiceServer<verification::VerificationApi> as tonic::server::NamedService>::NAME,
        <MarketplaceServiceServer<marketplace::MarketplaceApi> as tonic::server::NamedService>::NAME,
        <ClusterServiceServer<cluster::ClusterApi> as tonic::server::NamedService>::NAME,
    ];
    let mut last = None;
    loop {
        let ready = service.readiness().await.ready;
        if last != Some(ready) {
            let status = if ready { ServingStatus::Serving } else { ServingStatus::NotServing };
            for name in names {
                health.set_service_status(name, status).await;
            }
            tracing::info!(ready, "readiness changed");
            last = Some(ready);
        }
        tokio::time::sleep(HEALTH_INTERVAL).await;
    }
}
