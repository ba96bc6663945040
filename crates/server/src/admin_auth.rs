//! The admin plane's gate: who may change membership, move leadership,
//! take snapshots and backups and run audits (`ClusterService` but its
//! `GetStatus` and `ListMembers`).
//!
//! Threat model: anyone who reaches the API port (the public port,
//! consumers' apps included) and every party's node (its node certificate
//! too) is a possible adversary. An unauthenticated admin plane lets any of
//! them add a learner and receive the whole ledger, remove voters, move
//! leadership or stream backups until the disk fills. So the plane is shut
//! unless the operator configured a credential:
//!
//! * `api.admin.token_blake3`: the hash of a bearer token
//!   (`authorization: Bearer ...`) that only the operator holds; the node
//!   compares hashes in constant time and never stores the token. A node
//!   certificate is not an admin: with `api.tls.admin_requires_client_cert`
//!   the caller needs a client certificate *and* the token.
//! * `api.admin.insecure = true`: the plane open to anyone who reaches the
//!   port, logged as a warning at start; for a loopback-only test network.
//! * Neither: every call is refused, `UNAUTHENTICATED`,
//!   `ADMIN_NOT_CONFIGURED`.

use crate::ServeError;
use crate::config::AdminSection;
use crate::status;

/// Metadata key of the admin credential.
pub const AUTHORIZATION: &str = "authorization";

/// What the gate lets through.
#[derive(Clone, Copy)]
enum Policy {
    /// Callers presenting the token whose hash this is.
    Token(blake3::Hash),
    /// Anyone (`api.admin.insecure`).
    Open,
    /// No one: no credential is configured.
    Shut,
}

/// The check in front of every admin method (see the module docs).
#[derive(Clone, Copy)]
pub struct AdminGate {
    policy: Policy,
    require_client_cert: bool,
}

impl std::fmt::Debug for AdminGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let policy = match self.policy {
            Policy::Token(_) => "token",
            Policy::Open => "open (insecure)",
            Policy::Shut => "shut (no credential configured)",
        };
        f.debug_struct("AdminGate").field("policy", &policy).field("client_cert", &self.require_client_cert).finish()
    }
}

/// A fresh admin token (64 hex digits, 256 random bits) and the value of
/// `api.admin.token_blake3` for it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    let token = hex::encode(bytes);
    let hash = blake3::hash(token.as_bytes()).to_hex().to_string();
    (token, hash)
}

/// Parses `api.admin.token_blake3`: 64 hex digits.
pub fn parse_token_hash(text: &str) -> Result<blake3::Hash, String> {
    blake3::Hash::from_hex(text.trim())
        .map_err(|_| format!("api.admin.token_blake3: {text:?} is not 64 hex digits (veritrace keygen admin-token)"))
}

impl AdminGate {
    /// The gate `[api.admin]` describes; `require_client_cert` adds the
    /// TLS client-certificate check of `[api.tls]`. Fails on a malformed
    /// token hash.
    pub fn from_config(admin: &AdminSection, require_client_cert: bool) -> Result<Self, ServeError> {
        let policy = match (&admin.token_blake3, admin.insecure) {
            (Some(hash), _) => Policy::Token(parse_token_hash(hash).map_err(|what| ServeError::Admin { what })?),
            (None, true) => {
                tracing::warn!(
                    "api.admin.insecure: ClusterService is open to anyone who reaches the API port: they can change \
                     membership, move leadership and stream backups"
                );
                Policy::Open
            }
            (None, false) => Policy::Shut,
        };
        Ok(AdminGate { policy, require_client_cert })
    }

    /// Whether callers that pass hold the admin token, as opposed to
    /// being let through by `insecure` (a client certificate alone is not
    /// an admin: node certificates come from the same CA).
    pub fn authenticates(&self) -> bool {
        matches!(self.policy, Policy::Token(_))
    }
}

impl AdminGate {
    /// Lets an admin call through, or refuses it `UNAUTHENTICATED` with a
    /// reason: `metadata` is the call's, `client_cert` whether it came with
    /// a client certificate the TLS layer verified.
    pub fn check(&self, metadata: &tonic::metadata::MetadataMap, client_cert: bool) -> Result<(), tonic::Status> {
        if self.require_client_cert && !client_cert {
            return Err(status::reason(
                tonic::Code::Unauthenticated,
                "CLIENT_CERT_REQUIRED",
                "admin calls need a client certificate signed by the node's api.tls.client_ca_file",
            ));
        }
        let expected = match self.policy {
            Policy::Open => return Ok(()),
            Policy::Shut => {
                return Err(status::reason(
                    tonic::Code::Unauthenticated,
                    "ADMIN_NOT_CONFIGURED",
                    "this node's admin plane has no credential: its operator sets api.admin.token_blake3",
                ));
            }
            Policy::Token(hash) => hash,
        };
        // RFC 9110: the scheme is case-insensitive. A header present but
        // not a bearer token of printable ASCII is a wrong token, not a
        // missing one.
        let presented = metadata.get(AUTHORIZATION).map(|v| {
            v.to_str().ok().and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
        });
        match presented {
            Some(None) => Err(status::reason(
                tonic::Code::Unauthenticated,
                "ADMIN_TOKEN_INVALID",
                "the authorization header is not `Bearer <admin token>`",
            )),
            None => Err(status::reason(
                tonic::Code::Unauthenticated,
                "ADMIN_TOKEN_REQUIRED",
                "admin calls need the admin token (authorization: Bearer ...; the CLI's --admin-token-file)",
            )),
            // blake3::Hash compares in constant time.
            Some(Some(token)) if blake3::hash(token.as_bytes()) == expected => Ok(()),
            Some(Some(_)) => Err(status::reason(
                tonic::Code::Unauthenticated,
                "ADMIN_TOKEN_INVALID",
                "the admin token presented is not this node's",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(gate: &mut AdminGate, token: Option<&str>) -> Result<(), String> {
        let mut metadata = tonic::metadata::MetadataMap::new();
        if let Some(t) = token {
            metadata.insert(AUTHORIZATION, format!("Bearer {t}").parse().unwrap_or_else(|_| unreachable!()));
        }
        gate.check(&metadata, false).map_err(|s| status::reason_of(&s).unwrap_or_default())
    }

    #[test]
    fn only_the_configured_token_opens_the_gate() {
        let (token, hash) = new_token();
        assert_eq!(token.len(), 64);
        let section = AdminSection { token_blake3: Some(hash.clone()), insecure: false };
        let mut gate = AdminGate::from_config(&section, false).unwrap_or_else(|e| panic!("{e}"));
        assert!(gate.authenticates());
        assert_eq!(call(&mut gate, Some(&token)), Ok(()));
        assert_eq!(call(&mut gate, None), Err("ADMIN_TOKEN_REQUIRED".into()));
        assert_eq!(call(&mut gate, Some(&token[1..])), Err("ADMIN_TOKEN_INVALID".into()));
        assert_eq!(call(&mut gate, Some(&hash)), Err("ADMIN_TOKEN_INVALID".into()), "the hash is not the token");
        // The scheme is case-insensitive; anything but a bearer token is invalid.
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert(AUTHORIZATION, format!("bearer {token}").parse().unwrap_or_else(|_| unreachable!()));
        assert!(gate.check(&metadata, false).is_ok());
        metadata.insert(AUTHORIZATION, format!("Basic {token}").parse().unwrap_or_else(|_| unreachable!()));
        let basic = gate.check(&metadata, false).map_err(|s| status::reason_of(&s));
        assert_eq!(basic, Err(Some("ADMIN_TOKEN_INVALID".into())));
        // With a token set, insecure opens nothing.
        let both = AdminSection { token_blake3: Some(hash), insecure: true };
        let mut both = AdminGate::from_config(&both, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(call(&mut both, None), Err("ADMIN_TOKEN_REQUIRED".into()));
        // A malformed hash is refused at start.
        let bad = AdminSection { token_blake3: Some("not-hex".into()), insecure: false };
        assert!(AdminGate::from_config(&bad, false).is_err());
    }

    #[test]
    fn without_a_credential_the_gate_is_shut_unless_insecure() {
        let mut shut = AdminGate::from_config(&AdminSection::default(), false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(call(&mut shut, Some("anything-anything-anything-anything")), Err("ADMIN_NOT_CONFIGURED".into()));
        let open = AdminSection { token_blake3: None, insecure: true };
        let mut open = AdminGate::from_config(&open, false).unwrap_or_else(|e| panic!("{e}"));
        assert!(!open.authenticates());
        assert_eq!(call(&mut open, None), Ok(()));
        // A client certificate is required before anything else when asked.
        let mut certs = AdminGate::from_config(&AdminSection { token_blake3: None, insecure: true }, true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(call(&mut certs, None), Err("CLIENT_CERT_REQUIRED".into()));
    }
}
