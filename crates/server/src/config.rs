//! The `[api]` section of a node's configuration: what the edge listens
//! on and how (message size, per-client rate, TLS). The node's
//! configuration file embeds it; the server owns its meaning.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[api]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Socket address the gRPC API listens on, e.g. `127.0.0.1:7401`.
    pub listen: SocketAddr,
    /// The endpoint clients and other nodes are told to use, e.g.
    /// `https://n1.example.org:7401` (member lists, `NOT_LEADER`
    /// redirects); default `listen` with the scheme TLS implies. Required
    /// when `listen` binds every interface (`0.0.0.0:7401`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise: Option<String>,
    /// Largest gRPC request message accepted, in bytes (default 4 MiB; at
    /// least 64 KiB). Larger requests get RESOURCE_EXHAUSTED.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Requests per second allowed from one client IP address, on average
    /// (default 1000; 0 disables the limit). Beyond it the node answers
    /// RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` delay.
    #[serde(default = "default_requests_per_second")]
    pub requests_per_second: u32,
    /// Requests one client IP may send at once above the average rate
    /// (token bucket size; default 200).
    #[serde(default = "default_request_burst")]
    pub request_burst: u32,
    /// TLS for the gRPC API; absent means plaintext (loopback and tests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSection>,
    /// Per-client limits of `VerificationService.VerifyItem`.
    #[serde(default)]
    pub verification: VerificationSection,
    /// Who may call `ClusterService` (the admin plane).
    #[serde(default)]
    pub admin: AdminSection,
    /// Whether the party plane (submissions, envelope and proposal reads,
    /// the watch stream) needs a party credential (`crate::party_auth`).
    #[serde(default, skip_serializing_if = "PartySection::is_default")]
    pub party: PartySection,
    /// Serve plaintext gRPC on an address other than loopback (no
    /// `[api.tls]`): submissions, admin tokens and answers travel in clear.
    /// Refused unless set (`veritrace node start --insecure`); logged as a
    /// warning when it is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

/// The `[api.admin]` section: the admin plane's credential
/// (`crate::admin_auth`). Without one, `ClusterService` refuses every call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// blake3 of the admin token, 64 hex digits (`veritrace keygen
    /// admin-token`; `veritrace init` sets it). Admin clients send the
    /// token as `authorization: Bearer <token>`; the node holds only its
    /// hash, so its disk does not give the credential away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_blake3: Option<String>,
    /// Serve `ClusterService` to anyone who reaches the port, when no
    /// token is set (logged as a warning): for loopback test networks.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

/// The `[api.party]` section: the party plane (`crate::party_auth`). By
/// default every party-plane call must carry a credential signed with an
/// active key of a registered party.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartySection {
    /// Let party-plane calls without a credential through (logged as a
    /// warning): anyone who reaches the port reads every envelope and
    /// submits. For loopback test networks only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

impl PartySection {
    fn is_default(&self) -> bool {
        *self == PartySection::default()
    }
}

/// The `[api.tls]` section: PEM files, by path (relative paths resolve
/// against the configuration file's directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// The node's certificate chain.
    pub cert_file: PathBuf,
    /// The node's private key.
    pub key_file: PathBuf,
    /// CA whose client certificates the node accepts. When set, clients
    /// may present a certificate; see `admin_requires_client_cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca_file: Option<PathBuf>,
    /// Refuse `ClusterService` calls (membership, snapshots, audit) from
    /// clients without a certificate signed by `client_ca_file`
    /// (UNAUTHENTICATED). Default true when `client_ca_file` is set.
    #[serde(default = "default_true")]
    pub admin_requires_client_cert: bool,
}

/// The `[api.verification]` section: how many verifications one client may
/// ask this node for. These limits are this node's own (each node keeps its
/// buckets); the guess budget of each item is the network's, decided in the
/// ledger whatever node is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationSection {
    /// VerifyItem calls per minute from one client address without an app
    /// key, on average (default 30; 0 disables the limit). Beyond it the
    /// node answers RESOURCE_EXHAUSTED, reason `CLIENT_RATE_LIMITED`, with a
    /// `google.rpc.RetryInfo` delay.
    #[serde(default = "default_verify_per_minute")]
    pub per_address_per_minute: u32,
    /// VerifyItem calls one address may make at once above that rate
    /// (default 10).
    #[serde(default = "default_verify_burst")]
    pub per_address_burst: u32,
    /// Consumer apps with a key of their own (sent as the
    /// `x-veritrace-app-key` header), each with its own limit instead of
    /// the per-address one: an app's backend verifies for many shoppers
    /// from few addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppKeySection>,
}

impl Default for VerificationSection {
    fn default() -> Self {
        VerificationSection {
            per_address_per_minute: default_verify_per_minute(),
            per_address_burst: default_verify_burst(),
            apps: Vec::new(),
        }
    }
}

/// One `[[api.verification.apps]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppKeySection {
    /// The app's name (logs and metrics).
    pub name: String,
    /// blake3 of the app's key, 64 hex digits (the node never stores the
    /// key: `veritrace keygen app-key` prints both).
    pub key_blake3: String,
    /// VerifyItem calls per minute for the app, on average.
    pub per_minute: u32,
    /// Calls at once above that rate (default 100).
    #[serde(default = "default_app_burst")]
    pub burst: u32,
}

fn default_verify_per_minute() -> u32 {
    30
}

fn default_verify_burst() -> u32 {
    10
}

fn default_app_burst() -> u32 {
    100
}

fn default_max_message_bytes() -> usize {
    4 * 1024 * 1024
}

fn default_requests_per_second() -> u32 {
    1000
}

fn default_request_burst() -> u32 {
    200
}

fn default_true() -> bool {
    true
}

impl ApiSection {
    /// An API section listening on `listen` with every default.
    pub fn new(listen: SocketAddr) -> Self {
        ApiSection {
            listen,
            advertise: None,
            max_message_bytes: default_max_message_bytes(),
            requests_per_second: default_requests_per_second(),
            request_burst: default_request_burst(),
            tls: None,
            verification: VerificationSection::default(),
            admin: AdminSection::default(),
            party: PartySection::default(),
            insecure: false,
        }
    }
}
