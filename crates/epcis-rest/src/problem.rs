//! Errors as the binding answers them: RFC 7807 problem documents whose
//! `type` is the EPCIS exception name (`epcisException:ValidationException`),
//! with Veritrace's machine-readable `reason` beside it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// The EPCIS exception, e.g. `ValidationException`.
    pub exception: &'static str,
    /// Veritrace's reason, e.g. `INVALID_EPCIS_DOCUMENT`.
    pub reason: String,
    /// What is wrong, for a person.
    pub detail: String,
}

impl Problem {
    /// A problem of `status`, `exception` and `reason`.
    pub fn new(status: StatusCode, exception: &'static str, reason: &str, detail: impl Into<String>) -> Self {
        Problem { status, exception, reason: reason.to_owned(), detail: detail.into() }
    }

    /// `400 ValidationException`.
    pub fn validation(reason: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", reason, detail)
    }

    /// `400 QueryParameterException`.
    pub fn parameter(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "QueryParameterException", "INVALID_QUERY_PARAMETER", detail)
    }

    /// `404 NoSuchResourceException`.
    pub fn no_such_resource(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchResourceException", "NOT_FOUND", detail)
    }

    /// `404 NoSuchNameException`: no event, capture job, ... of that name.
    pub fn no_such_name(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchNameException", "NOT_FOUND", detail)
    }

    /// A gRPC status of the party gate or the service, mapped to HTTP.
    pub fn from_status(status: &veritrace_server::Status) -> Self {
        let (code, reason, message) = veritrace_server::status::as_http(status);
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let exception = match code {
            401 | 403 => "SecurityException",
            400 => "ValidationException",
            404 => "NoSuchResourceException",
            _ => "ImplementationException",
        };
        Problem { status, exception, reason, detail: message }
    }
}

impl From<veritrace_server::work_limits::ReadFailed> for Problem {
    fn from(e: veritrace_server::work_limits::ReadFailed) -> Self {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "ImplementationException", "INTERNAL", e.0)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": format!("epcisException:{}", self.exception),
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "reason": self.reason,
        });
        let mut response =
            (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response();
        crate::versioned(response.headers_mut());
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Veritrace-Party"));
        }
        response
    }
}
