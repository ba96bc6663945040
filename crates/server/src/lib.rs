//! Veritrace's gRPC services (tonic) over a running [`Node`].
//!
//! * `ledger::LedgerApi`: `veritrace.v1.LedgerService`;
//! * `cluster::ClusterApi`: `veritrace.v1.ClusterService`;
//! * `verification::VerificationApi`: `veritrace.v1.VerificationService`;
//! * [`status`]: errors as gRPC statuses with a machine-readable reason
//!   in a `google.rpc.ErrorInfo` detail (domain `veritrace.io`).
//!
//! [`serve`] runs them on a TCP listener until a shutdown future resolves.

pub mod cluster;
pub mod ledger;
pub mod listing;
pub mod status;
pub mod verification;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use veritrace_node::Node;
use veritrace_proto::v1::cluster_service_server::ClusterServiceServer;
use veritrace_proto::v1::ledger_service_server::LedgerServiceServer;
use veritrace_proto::v1::verification_service_server::VerificationServiceServer;

/// Largest gRPC message accepted, in bytes (a submission of envelopes).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Why the API server stopped.
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
    /// The server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Binds `addr` (port 0 picks one; see the returned address).
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServeError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(|source| ServeError::Bind { addr, source })?;
    Ok((listener, local))
}

/// Serves the ledger, verification and cluster services of `node` on `listener` until
/// `shutdown` resolves; in-flight requests finish first.
pub async fn serve(node: Node, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
    let ledger = LedgerServiceServer::new(ledger::LedgerApi::new(node.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES * 2);
    let verification = VerificationServiceServer::new(verification::VerificationApi::new(node.clone()));
    let cluster = ClusterServiceServer::new(cluster::ClusterApi::new(node));
    tonic::transport::Server::builder()
        .add_service(ledger)
        .add_service(verification)
        .add_service(cluster)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}
