//! Mapping node errors to gRPC statuses with a machine-readable reason
//! (`google.rpc.ErrorInfo`, domain [`DOMAIN`]).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use veritrace_consensus::DriverError;
use veritrace_service::{Service, ServiceError};

/// The `ErrorInfo.domain` of every Veritrace error.
pub const DOMAIN: &str = "veritrace.io";

/// A status with `reason` and `metadata` in an `ErrorInfo` detail.
pub fn with_reason(code: Code, reason: &str, message: impl Into<String>, metadata: HashMap<String, String>) -> Status {
    Status::with_error_details(code, message, ErrorDetails::with_error_info(reason, DOMAIN, metadata))
}

/// A status with `reason` and no metadata.
pub fn reason(code: Code, reason: &str, message: impl Into<String>) -> Status {
    with_reason(code, reason, message, HashMap::new())
}

/// The `ErrorInfo` reason of a status, if it has one.
pub fn reason_of(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

/// `INVALID_ARGUMENT` naming the field.
pub fn invalid(field: &str, message: impl Into<String>) -> Status {
    let metadata = HashMap::from([("field".to_string(), field.to_string())]);
    with_reason(Code::InvalidArgument, "INVALID_ARGUMENT", message, metadata)
}

/// The status for a failed node request. `NOT_LEADER` carries the leader's
/// id and gRPC endpoint when known, so clients can retry there.
pub fn from_service(service: &Service, e: ServiceError) -> Status {
    match e {
        ServiceError::InvalidArgument { field, reason } => invalid(&field, format!("{field}: {reason}")),
        ServiceError::Driver(d) => from_driver(service, d),
        ServiceError::Answer(m) => reason(Code::Internal, "MALFORMED_ANSWER", m),
        ServiceError::Refused { code, reason: r, message } => {
            let code = match code {
                "PERMISSION_DENIED" => Code::PermissionDenied,
                "NOT_FOUND" => Code::NotFound,
                _ => Code::FailedPrecondition,
            };
            reason(code, r, message)
        }
        ServiceError::Ledger(veritrace_ledger::LedgerError::Corrupt { what }) => corrupt(what),
        ServiceError::Ledger(veritrace_ledger::LedgerError::Storage(
            s @ veritrace_storage::StorageError::Corrupt { .. },
        ))
        | ServiceError::Storage(s @ veritrace_storage::StorageError::Corrupt { .. }) => corrupt(s.to_string()),
        other => {
            tracing::error!(cause = %other, "request failed inside the node");
            reason(Code::Internal, "INTERNAL", other.to_string())
        }
    }
}

fn from_driver(service: &Service, e: DriverError) -> Status {
    let message = e.to_string();
    match e {
        DriverError::NotLeader { leader } => {
            let mut metadata = HashMap::new();
            if let Some(l) = leader {
                metadata.insert("leader_id".to_string(), l.to_string());
                if let Some(api) = service.member_api(l) {
                    metadata.insert("leader_api".to_string(), api);
                }
            }
            with_reason(Code::Unavailable, "NOT_LEADER", message, metadata)
        }
        DriverError::Refused { reason: r, message } => {
            let code = match r.as_str() {
                "TOO_LARGE" => Code::InvalidArgument,
                "DISK_FULL" => Code::ResourceExhausted,
                _ => Code::FailedPrecondition,
            };
            reason(code, &r, message)
        }
        DriverError::Dropped(_) => reason(Code::Unavailable, "PROPOSAL_DROPPED", message),
        DriverError::Timeout(_) => reason(Code::DeadlineExceeded, "TIMEOUT", message),
        DriverError::Unavailable(_) => reason(Code::Unavailable, "LEADER_UNREACHABLE", message),
        DriverError::Stopped => reason(Code::Unavailable, "SHUTTING_DOWN", message),
    }
}

/// DATA_LOSS, reason `DATA_CORRUPT`: this node's copy failed a check on
/// read and is not served.
fn corrupt(what: String) -> Status {
    reason(
        Code::DataLoss,
        "DATA_CORRUPT",
        format!("this node's copy of the data is corrupt ({what}); ask another node"),
    )
}

/// `UNIMPLEMENTED` for a method this version does not serve yet.
pub fn unimplemented(method: &str) -> Status {
    reason(Code::Unimplemented, "UNIMPLEMENTED", format!("{method} is not implemented in this version"))
}

/// A status as an HTTP edge answers it: the HTTP status code (per the
/// usual gRPC-to-HTTP mapping), the machine-readable reason (the status
/// code's name when the status carries none) and the message.
pub fn as_http(status: &Status) -> (u16, String, String) {
    let http = match status.code() {
        Code::Ok => 200,
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => 400,
        Code::Unauthenticated => 401,
        Code::PermissionDenied => 403,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::ResourceExhausted => 429,
        Code::Cancelled => 499,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::DeadlineExceeded => 504,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
    };
    let reason = reason_of(status).unwrap_or_else(|| format!("{:?}", status.code()).to_ascii_uppercase());
    (http, reason, status.message().to_owned())
}
