//! Rust client of a Veritrace node's gRPC API.
//!
//! [`Client`] wraps the ClusterService and LedgerService calls with typed methods returning the
//! `veritrace_proto::v1` messages; every failure is a [`ClientError`], whose [`Rpc`](ClientError::Rpc)
//! variant carries the machine-readable reason (e.g. "NOT_LEADER") and metadata a node puts in the
//! status's `google.rpc.ErrorInfo`. [`render`] turns responses into tables or JSON for command-line
//! tools.
//!
//! Over TLS, pass [`TlsOptions`] (the network's CA, and a client certificate when nodes require
//! one) in [`ConnectOptions`] to [`Client::connect_with`] with an `https://` endpoint.
//! [`Client::health`] asks the node's standard grpc.health.v1 service.
//!
//! Three planes: verification, tree heads, proofs, the genesis and the party list are public;
//! submissions and reads of envelopes, proposals and the watch stream need a
//! [`PartyCredential`] (each call signed with the party's key); membership, leadership, snapshots,
//! backups and audits need the operator's [`AdminToken`].
//!
//! ```no_run
//! # async fn run() -> Result<(), veritrace_client::ClientError> {
//! use veritrace_client::{Client, render};
//!
//! let client = Client::connect("127.0.0.1:7401").await?;
//! let status = client.status().await?;
//! print!("{}", render::render_status(&status, render::OutputFormat::Table));
//! # Ok(())
//! # }
//! ```

mod admin_token;
mod client;
mod error;
mod party_credential;
pub mod render;
mod tls;

pub use admin_token::{AdminToken, MIN_TOKEN_CHARS};
pub use client::{Client, ConnectOptions, ServingStatus};
pub use error::{ClientError, LEADER_API_KEY, LEADER_ID_KEY, REASON_NOT_LEADER};
pub use party_credential::PartyCredential;
pub use tls::TlsOptions;
/// The protobuf messages the client sends and returns.
pub use veritrace_proto::v1 as proto;
