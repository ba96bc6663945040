//! [`ClientError`]: what a call to a node can fail with.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tonic_types::StatusExt;

/// Metadata key of a NOT_LEADER error naming the leader's Raft node id.
pub const LEADER_ID_KEY: &str = "leader_id";
/// Metadata key of a NOT_LEADER error naming the leader's gRPC URL.
pub const LEADER_API_KEY: &str = "leader_api";
/// Reason a follower gives when a call must go to the leader.
pub const REASON_NOT_LEADER: &str = "NOT_LEADER";

/// An error of [`Client`](crate::Client).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint text is not a usable gRPC URL.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made (refused, unreachable, timed out).
    #[error("cannot connect to {endpoint}: {detail}")]
    Connect {
        /// The endpoint, normalised (with its scheme).
        endpoint: String,
        /// The innermost cause, for humans (e.g. "Connection refused (os error 111)").
        detail: String,
        /// The transport error.
        #[source]
        source: tonic::transport::Error,
    },
    /// A TLS file could not be read.
    #[error("cannot read the {what} {}: {source}", path.display())]
    ReadFile {
        /// What the file should hold, e.g. "CA certificate".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS options are unusable (a file holds no certificate or key, a certificate without its
    /// key, no CA).
    #[error("{}{reason}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    InvalidTls {
        /// The file at fault, when the options were read from files.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// The admin token (or its file) is unusable.
    #[error("{}{reason}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    InvalidAdminToken {
        /// The token file, when read from one.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// A health check named a service the node has no health status for (gRPC NotFound).
    #[error("the node reports no health status for service {service:?} (code NotFound)")]
    UnknownHealthService {
        /// The service asked about.
        service: String,
    },
    /// The node answered the call with an error status.
    #[error("{}", rpc_display(*code, reason.as_deref(), message))]
    Rpc {
        /// gRPC status code.
        code: tonic::Code,
        /// Machine-readable reason of the `google.rpc.ErrorInfo` detail (UPPER_SNAKE, e.g. "NOT_LEADER"),
        /// when the status carried one.
        reason: Option<String>,
        /// Human-readable message of the status.
        message: String,
        /// Metadata of the `ErrorInfo` detail (e.g. `leader_id`, `leader_api` for NOT_LEADER); empty
        /// when there was none.
        metadata: BTreeMap<String, String>,
        /// How long to wait before retrying, from a `google.rpc.RetryInfo` detail (rate limits,
        /// code lock-outs).
        retry_delay: Option<std::time::Duration>,
    },
    /// The node answered with a response that breaks the API's contract.
    #[error("invalid {rpc} response: {detail}")]
    InvalidResponse {
        /// The RPC, e.g. "SubmitEnvelopes".
        rpc: &'static str,
        /// What was wrong with the response.
        detail: String,
    },
    /// A local step of a call failed (e.g. writing a streamed snapshot).
    #[error("{what}")]
    Local {
        /// What failed.
        what: String,
    },
}

fn rpc_display(code: tonic::Code, reason: Option<&str>, message: &str) -> String {
    match (reason, message.is_empty()) {
        (Some(reason), false) => format!("{reason}: {message} (code {code:?})"),
        (Some(reason), true) => format!("{reason} (code {code:?})"),
        (None, false) => format!("{message} (code {code:?})"),
        (None, true) => format!("{} (code {code:?})", code.description()),
    }
}

impl ClientError {
    /// The machine-readable reason of an [`Rpc`](Self::Rpc) error, if the node sent one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Rpc { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// The gRPC status code of an [`Rpc`](Self::Rpc) error.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Self::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The delay the node asked for before a retry (`google.rpc.RetryInfo`), if any.
    pub fn retry_delay(&self) -> Option<std::time::Duration> {
        match self {
            Self::Rpc { retry_delay, .. } => *retry_delay,
            _ => None,
        }
    }

    /// One entry of the error metadata of an [`Rpc`](Self::Rpc) error.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        match self {
            Self::Rpc { metadata, .. } => metadata.get(key).map(String::as_str),
            _ => None,
        }
    }

    /// Whether the call may succeed if made again in a moment: code `UNAVAILABLE` with reason
    /// LEADER_UNREACHABLE (the node could not reach the leader), NOT_LEADER (leadership is
    /// changing), PROPOSAL_DROPPED (raft dropped the proposal) or PROOF_NOT_READY (a submission
    /// with proofs committed, but the node had not applied it yet: again, it answers DUPLICATE
    /// with the proofs). Not SHUTTING_DOWN: that node is going away.
    pub fn is_transient(&self) -> bool {
        self.code() == Some(tonic::Code::Unavailable)
            && matches!(
                self.reason(),
                Some("LEADER_UNREACHABLE" | REASON_NOT_LEADER | "PROPOSAL_DROPPED" | "PROOF_NOT_READY")
            )
    }

    /// Whether the node refused because it is not the leader (reason "NOT_LEADER").
    pub fn is_not_leader(&self) -> bool {
        self.reason() == Some(REASON_NOT_LEADER)
    }

    /// The leader's gRPC URL named by a NOT_LEADER error, if the node knew it.
    pub fn leader_api(&self) -> Option<&str> {
        self.metadata(LEADER_API_KEY).filter(|api| !api.is_empty())
    }

    /// The leader's Raft node id named by a NOT_LEADER error, if the node knew it.
    pub fn leader_id(&self) -> Option<u64> {
        self.metadata(LEADER_ID_KEY).and_then(|id| id.parse().ok()).filter(|id| *id != 0)
    }

    pub(crate) fn connect(endpoint: &str, source: tonic::transport::Error) -> Self {
        let mut detail = innermost_cause(&source);
        if detail.contains("UnknownIssuer") {
            detail.push_str(" (the node's certificate is not signed by the CA the client trusts)");
        }
        Self::Connect { endpoint: endpoint.to_owned(), detail, source }
    }
}

/// The message of the deepest error in `err`'s source chain (tonic's own top level only says
/// "transport error").
pub(crate) fn innermost_cause(err: &tonic::transport::Error) -> String {
    let mut current: &dyn std::error::Error = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        let (reason, metadata) = match status.get_details_error_info() {
            Some(info) => {
                let reason = Some(info.reason).filter(|r| !r.is_empty());
                (reason, info.metadata.into_iter().collect())
            }
            None => (None, BTreeMap::new()),
        };
        let mut message = status.message().to_owned();
        // A status made from a transport failure says only "transport error"; its cause (e.g. a
        // TLS alert "CertificateRequired") is in the source chain.
        if let Some(source) = std::error::Error::source(&status) {
            let mut innermost: &dyn std::error::Error = source;
            while let Some(next) = innermost.source() {
                innermost = next;
            }
            let cause = innermost.to_string();
            if !cause.is_empty() && cause != message {
                message = if message.is_empty() { cause } else { format!("{message}: {cause}") };
            }
        }
        let retry_delay = status.get_details_retry_info().and_then(|r| r.retry_delay);
        Self::Rpc { code: status.code(), reason, message, metadata, retry_delay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn status_with_error_info_keeps_reason_and_metadata() {
        let metadata = std::collections::HashMap::from([("leader_id".to_owned(), "2".to_owned())]);
        let status = tonic::Status::with_error_details(
            tonic::Code::Unavailable,
            "not the leader",
            ErrorDetails::with_error_info("NOT_LEADER", "veritrace.io", metadata),
        );
        let err = ClientError::from(status);
        assert_eq!(err.to_string(), "NOT_LEADER: not the leader (code Unavailable)");
        assert!(err.is_not_leader());
        assert_eq!(err.leader_id(), Some(2));
        assert_eq!(err.leader_api(), None);
        assert_eq!(err.code(), Some(tonic::Code::Unavailable));
    }

    #[test]
    fn plain_status_has_no_reason() {
        let err = ClientError::from(tonic::Status::invalid_argument("bad"));
        assert_eq!(err.reason(), None);
        assert_eq!(err.to_string(), "bad (code InvalidArgument)");
        let empty = ClientError::from(tonic::Status::new(tonic::Code::Internal, ""));
        assert_eq!(empty.to_string(), "Internal error (code Internal)");
    }
}
