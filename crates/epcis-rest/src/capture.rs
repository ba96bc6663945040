//! `POST /capture` and the capture jobs, plus discovery (`OPTIONS`) and the
//! top-level resource list.
//!
//! A capture is validated and converted whole before anything is signed:
//! a document that does not parse, holds more than [`CAPTURE_LIMIT`]
//! events or is larger than [`CAPTURE_FILE_SIZE_LIMIT`] bytes is refused
//! (`400` / `413`) and nothing is submitted. Then every event becomes one
//! envelope signed by the node for its own party, all in one proposal per
//! [`MAX_ENVELOPES_PER_PROPOSAL`]; the ledger applies or refuses each on its
//! own, so the error behaviour is `proceed` (the ledger has no
//! all-or-nothing batches: a client asking for `rollback` is refused before
//! anything is captured). The job is finished when the `202` is sent: its
//! `success` and `errors` name each refused event with the ledger's reason.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;
use veritrace_service::{MAX_ENVELOPES_PER_PROPOSAL, now_ms};

use crate::{CAPTURE_FILE_SIZE_LIMIT, CAPTURE_LIMIT, Problem, RestState, versioned};

/// Capture jobs a node remembers (the newest).
pub const MAX_JOBS: usize = 1000;

/// One finished capture.
#[derive(Debug, Clone)]
pub struct Job {
    /// `captureID`.
    pub id: String,
    /// The party that captured.
    pub party: String,
    /// Start and end, unix milliseconds.
    pub created_ms: i64,
    /// When the last receipt came.
    pub finished_ms: i64,
    /// Refused events: (position in the document, eventID, reason, message).
    pub errors: Vec<(usize, String, String, String)>,
    /// The ids of the events captured, in document order.
    pub event_ids: Vec<String>,
}

impl Job {
    /// The job as the binding's `CaptureJob` document.
    pub fn to_json(&self) -> Value {
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|(i, id, reason, message)| {
                json!({
                    "type": "epcisException:ValidationException",
                    "title": format!("event {i} ({id}) refused: {reason}"),
                    "status": 400,
                    "detail": message,
                })
            })
            .collect();
        json!({
            "captureID": self.id,
            "createdAt": rfc3339(self.created_ms),
            "finishedAt": rfc3339(self.finished_ms),
            "running": false,
            "success": self.errors.is_empty(),
            "captureErrorBehaviour": "proceed",
            "errors": errors,
        })
    }
}

/// The jobs of this node, newest last, at most [`MAX_JOBS`].
#[derive(Debug, Default)]
pub struct Jobs(Mutex<VecDeque<Job>>);

impl Jobs {
    fn add(&self, job: Job) {
        let mut jobs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if jobs.len() == MAX_JOBS {
            jobs.pop_front();
        }
        jobs.push_back(job);
    }

    fn of(&self, party: &str) -> Vec<Job> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|j| j.party == party).cloned().collect()
    }
}

/// An instant as EPCIS writes it (`2026-12-07T19:22:03.123Z`).
pub(crate) fn rfc3339(ms: i64) -> String {
    veritrace_epcis::format_time(&veritrace_proto::timestamp_from_ms(ms))
}

/// `OPTIONS` on the read-only resources.
pub(crate) async fn discovery_reads(headers: HeaderMap) -> Response {
    options_answer(&headers, "OPTIONS, GET")
}

/// `OPTIONS /`.
pub(crate) async fn discovery_root(headers: HeaderMap) -> Response {
    options_answer(&headers, "OPTIONS, GET")
}

/// `OPTIONS /events`: reads, and the synchronous capture of one event.
pub(crate) async fn discovery_events(headers: HeaderMap) -> Response {
    options_answer(&headers, "OPTIONS, GET, POST")
}

/// `OPTIONS /events/{eventID}`.
pub(crate) async fn discovery_event(headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !crate::query::is_uri(&id) {
        return Problem::no_such_name(format!("{id:?} is not an event id (a URI)")).into_response();
    }
    options_answer(&headers, "OPTIONS, GET")
}

/// `OPTIONS /{resource}/{value}/events`.
pub(crate) async fn discovery_resource(
    headers: HeaderMap,
    Path((resource, value)): Path<(String, String)>,
) -> Response {
    if let Err(p) = crate::query::resource_param(&resource, &value) {
        return p.into_response();
    }
    options_answer(&headers, "OPTIONS, GET")
}

fn options_answer(headers: &HeaderMap, allow: &'static str) -> Response {
    if let Err(p) = crate::negotiate(headers) {
        return p.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    versioned(h);
    h.insert(header::ALLOW, HeaderValue::from_static(allow));
    for (name, value) in [
        ("GS1-EPCIS-Min", crate::EPCIS_VERSION),
        ("GS1-EPCIS-Max", crate::EPCIS_VERSION),
        ("GS1-CBV-Min", crate::CBV_VERSION),
        ("GS1-CBV-Max", crate::CBV_VERSION),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `OPTIONS /capture`: versions, limits and the error behaviour.
pub(crate) async fn discovery(headers: HeaderMap) -> Response {
    if let Err(p) = crate::negotiate(&headers) {
        return p.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    versioned(h);
    let pairs: [(&str, String); 9] = [
        ("Allow", "OPTIONS, POST, GET".into()),
        ("GS1-EPCIS-Min", crate::EPCIS_VERSION.into()),
        ("GS1-EPCIS-Max", crate::EPCIS_VERSION.into()),
        ("GS1-CBV-Min", crate::CBV_VERSION.into()),
        ("GS1-CBV-Max", crate::CBV_VERSION.into()),
        ("GS1-Vendor-Version", format!("veritrace/{}", env!("CARGO_PKG_VERSION"))),
        ("GS1-EPCIS-Capture-Limit", CAPTURE_LIMIT.to_string()),
        ("GS1-EPCIS-Capture-File-Size-Limit", CAPTURE_FILE_SIZE_LIMIT.to_string()),
        ("GS1-Capture-Error-Behaviour", "proceed".into()),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    response
}

/// `GET /`: the top-level resources served.
pub(crate) async fn top_level(State(state): State<RestState>, headers: HeaderMap) -> Response {
    if let Err(p) = state.caller(&headers, "GET", "/") {
        return p.into_response();
    }
    // Only what is served whole: `epcs`, `bizSteps`, ... are served as
    // `/{resource}/{value}/events`, not as lists of their own.
    let body = json!(["events", "capture"]);
    json_response(StatusCode::OK, &body)
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
    versioned(response.headers_mut());
    response
}

/// `POST /capture`.
pub(crate) async fn post_capture(State(state): State<RestState>, headers: HeaderMap, body: Bytes) -> Response {
    match capture(&state, &headers, &body).await {
        Ok(job) => {
            let location = format!("{}/capture/{}", state.options.base_path, job.id);
            let mut response = StatusCode::ACCEPTED.into_response();
            versioned(response.headers_mut());
            if let Ok(v) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Err(p) => p.into_response(),
    }
}

async fn capture(state: &RestState, headers: &HeaderMap, body: &[u8]) -> Result<Job, Problem> {
    let party = state.caller(headers, "POST", "/capture")?;
    let own = state.service.node_party().unwrap_or_default();
    if party != own || own.is_empty() {
        return Err(not_delegated(own, &party));
    }
    check_media(headers)?;
    if let Some(b) = headers.get("GS1-Capture-Error-Behaviour").and_then(|v| v.to_str().ok())
        && b.trim() != "proceed"
    {
        return Err(Problem::validation(
            "ERROR_BEHAVIOUR_NOT_SUPPORTED",
            format!(
                "GS1-Capture-Error-Behaviour {b:?}: the ledger applies or refuses each event on its own, so this \
                 repository captures with \"proceed\" only (OPTIONS /capture says so)"
            ),
        ));
    }
    if body.len() > CAPTURE_FILE_SIZE_LIMIT {
        return Err(too_large(format!("{} bytes; at most {CAPTURE_FILE_SIZE_LIMIT}", body.len())));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::validation("INVALID_JSON", format!("the body is not JSON: {e}")))?;
    let document = veritrace_epcis::parse_epcis_document_value(&value)
        .map_err(|e| Problem::validation("INVALID_EPCIS_DOCUMENT", e.to_string()))?;
    if document.events.is_empty() {
        return Err(Problem::validation("EMPTY_CAPTURE", "the document holds no events"));
    }
    if document.events.len() > CAPTURE_LIMIT {
        return Err(too_large(format!("{} events; at most {CAPTURE_LIMIT} per capture", document.events.len())));
    }
    let created_ms = now_ms();
    let mut events = document.events;
    for event in &mut events {
        crate::hash::with_event_id(event).map_err(|e| Problem::validation("INVALID_EPCIS_DOCUMENT", e.to_string()))?;
    }
    let event_ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    let mut errors = Vec::new();
    let mut position = 0;
    let mut queue = events.into_iter().peekable();
    while queue.peek().is_some() {
        let chunk: Vec<Action> = queue.by_ref().take(MAX_ENVELOPES_PER_PROPOSAL).map(Action::EpcisEvent).collect();
        let n = chunk.len();
        let receipts = state
            .service
            .submit_as_node_party(chunk)
            .await
            .map_err(|e| Problem::from_status(&veritrace_server::status::from_service(&state.service, e)))?;
        for (i, r) in receipts.iter().enumerate() {
            if r.outcome == pb::Outcome::Rejected as i32 {
                let at = position + i;
                errors.push((at, event_ids[at].clone(), r.reason.clone(), r.message.clone()));
            }
        }
        position += n;
    }
    let id: [u8; 12] = rand::random();
    let job =
        Job { id: format!("cap-{}", hex::encode(id)), party, created_ms, finished_ms: now_ms(), errors, event_ids };
    tracing::info!(capture = %job.id, events = job.event_ids.len(), refused = job.errors.len(), "EPCIS capture");
    state.jobs.add(job.clone());
    Ok(job)
}

/// `POST /events`: the synchronous capture of one event: `201` with the
/// event's `Location` and the event, `409` when its eventID is recorded
/// already, `400` when the ledger refuses it (with its reason).
pub(crate) async fn post_event(State(state): State<RestState>, headers: HeaderMap, body: Bytes) -> Response {
    match capture_one(&state, &headers, &body).await {
        Ok((event, id)) => {
            let location = format!("{}/events/{}", state.options.base_path, crate::query::encode(&id));
            let mut response = json_response(StatusCode::CREATED, &veritrace_epcis::event_to_json(&event));
            if let Ok(v) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Err(p) => p.into_response(),
    }
}

async fn capture_one(state: &RestState, headers: &HeaderMap, body: &[u8]) -> Result<(pb::EpcisEvent, String), Problem> {
    let party = state.caller(headers, "POST", "/events")?;
    let own = state.service.node_party().unwrap_or_default();
    if party != own || own.is_empty() {
        return Err(not_delegated(own, &party));
    }
    check_media(headers)?;
    if body.len() > CAPTURE_FILE_SIZE_LIMIT {
        return Err(too_large(format!("{} bytes; at most {CAPTURE_FILE_SIZE_LIMIT}", body.len())));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::validation("INVALID_JSON", format!("the body is not JSON: {e}")))?;
    let mut events = veritrace_epcis::parse_document_value(&value)
        .map_err(|e| Problem::validation("INVALID_EPCIS_EVENT", e.to_string()))?;
    let (Some(mut event), true) = (events.pop(), events.is_empty()) else {
        return Err(Problem::validation(
            "NOT_ONE_EVENT",
            "POST /events takes exactly one event; use /capture for more",
        ));
    };
    crate::hash::with_event_id(&mut event).map_err(|e| Problem::validation("INVALID_EPCIS_EVENT", e.to_string()))?;
    let receipts = state
        .service
        .submit_as_node_party(vec![Action::EpcisEvent(event.clone())])
        .await
        .map_err(|e| Problem::from_status(&veritrace_server::status::from_service(&state.service, e)))?;
    match receipts.first() {
        Some(r) if r.outcome == pb::Outcome::Rejected as i32 && r.reason == "ALREADY_EXISTS" => Err(Problem::new(
            StatusCode::CONFLICT,
            "ResourceAlreadyExistsException",
            "ALREADY_EXISTS",
            r.message.clone(),
        )),
        Some(r) if r.outcome == pb::Outcome::Rejected as i32 => Err(Problem::validation(&r.reason, r.message.clone())),
        Some(_) => {
            let id = event.event_id.clone();
            Ok((event, id))
        }
        None => {
            Err(Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "ImplementationException", "INTERNAL", "no receipt"))
        }
    }
}

fn not_delegated(own: &str, party: &str) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "SecurityException",
        "NOT_DELEGATED",
        format!(
            "this node signs captures for its own party ({own:?}) only; party {party} signs its own envelopes \
             (veritrace tx submit --epcis, the SDK) or captures at its own node"
        ),
    )
}

fn check_media(headers: &HeaderMap) -> Result<(), Problem> {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = media.split(';').next().unwrap_or("").trim();
    if matches!(media, "application/json" | "application/ld+json") {
        return Ok(());
    }
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaTypeException",
        "UNSUPPORTED_MEDIA_TYPE",
        format!("capture takes application/json or application/ld+json (JSON-LD), not {media:?}"),
    ))
}

fn too_large(detail: String) -> Problem {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "CaptureLimitExceededException", "CAPTURE_TOO_LARGE", detail)
}

/// `GET /capture`: the caller's jobs on this node, newest first, at most
/// `perPage` (default 30; the node keeps 1,000, so one page of 1,000 holds
/// them all and no page token is ever issued).
pub(crate) async fn list_jobs(
    State(state): State<RestState>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    let party = match state.caller(&headers, "GET", "/capture") {
        Ok(p) => p,
        Err(p) => return p.into_response(),
    };
    let mut per_page = crate::query::DEFAULT_PER_PAGE;
    let pairs = match crate::query::query_pairs(raw.as_deref()) {
        Ok(p) => p,
        Err(p) => return p.into_response(),
    };
    let bad = |detail: String| Problem::validation("INVALID_QUERY_PARAMETER", detail).into_response();
    for (name, value) in pairs {
        match name.as_str() {
            "perPage" => match value.parse::<usize>() {
                Ok(n) if n > 0 => per_page = n.min(MAX_JOBS),
                _ => return bad("perPage: a positive whole number".into()),
            },
            "nextPageToken" => return bad("nextPageToken: not a token this repository issued".into()),
            other => return bad(format!("{other}: not a parameter of GET /capture")),
        }
    }
    let jobs: Vec<Value> = state.jobs.of(&party).iter().rev().take(per_page).map(Job::to_json).collect();
    json_response(StatusCode::OK, &Value::Array(jobs))
}

/// `GET /capture/{captureID}`.
pub(crate) async fn get_job(State(state): State<RestState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let party = match state.caller(&headers, "GET", &format!("/capture/{id}")) {
        Ok(p) => p,
        Err(p) => return p.into_response(),
    };
    match state.jobs.of(&party).into_iter().find(|j| j.id == id) {
        Some(job) => json_response(StatusCode::OK, &job.to_json()),
        None => Problem::no_such_name(format!("no capture job {id:?} of party {party} on this node")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_rfc3339() {
        assert_eq!(rfc3339(1_765_000_000_123), "2025-12-06T05:46:40.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
