//! The GS1 EPCIS 2.0 REST binding, on Veritrace's party plane: the systems
//! supply chains already run (warehouse, customs, ERP) capture EPCIS
//! JSON-LD documents and query events with the standard parameters,
//! without building protobuf transactions.
//!
//! Served (under a base path, `/epcis` on the node's web listener):
//!
//! | resource | what |
//! |---|---|
//! | `OPTIONS /`, `OPTIONS /capture` | discovery: versions, limits, error behaviour (as headers) |
//! | `GET /` | the top-level resources served |
//! | `POST /capture` | an `EPCISDocument` or `EPCISQueryDocument` (JSON-LD), validated, converted, signed by the node for its own party, submitted; `202` with the job's `Location` |
//! | `GET /capture`, `GET /capture/{captureID}` | the caller's capture jobs on this node |
//! | `GET /events` | a `SimpleEventQuery` with the standard parameters ([`query`]), paged with `nextPageToken` and a `Link` header |
//! | `GET /events/{eventID}` | one event |
//! | `GET /epcs/{epc}/events`, `GET /eventTypes/{type}/events`, `GET /bizSteps/{bizStep}/events`, `GET /bizLocations/{bizLocation}/events`, `GET /readPoints/{readPoint}/events`, `GET /dispositions/{disposition}/events` | the same query, narrowed by the resource |
//!
//! Every answer carries `GS1-EPCIS-Version` and `GS1-CBV-Version`; errors
//! are RFC 7807 problem documents whose `type` is the standard
//! `epcisException:...` name.
//!
//! Events get the CBV 2.0 event hash id ([`hash`]) when they come without an
//! `eventID`, so the same event has the same id everywhere.
//!
//! # Threat model
//!
//! Every call is a party call: it carries the party credential of the gRPC
//! party plane as HTTP headers (`veritrace-party`, `veritrace-key`,
//! `veritrace-time`, `veritrace-nonce`, `veritrace-signature`, signed over
//! `"{HTTP method} {path}"`: `veritrace_core::party_call`), checked by the
//! same gate (an active key of an active party, fresh, never replayed).
//! The envelopes of the log are the network's business, so reads need a
//! party too. A capture is signed by the node with the key of the party
//! it operates, and only for that party: a caller that is another party
//! gets `403` and signs its own envelopes (`veritrace tx submit --epcis`,
//! the SDK). Capture jobs live in the node's memory (the newest 1,000),
//! each visible to the party that made it only. `[api.party] insecure =
//! true` (a test network on loopback) lets calls without a credential
//! through, as the node's own party.

pub mod capture;
pub mod hash;
mod problem;
pub mod query;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};
use axum::routing::get;
use veritrace_server::party_auth::{Caller, PartyGate};
use veritrace_service::Service;

pub use problem::Problem;

/// The EPCIS version served.
pub const EPCIS_VERSION: &str = "2.0.0";
/// The CBV version served.
pub const CBV_VERSION: &str = "2.0.0";
/// Most events one capture may hold (`GS1-EPCIS-Capture-Limit`).
pub const CAPTURE_LIMIT: usize = 500;
/// Largest capture body in bytes (`GS1-EPCIS-Capture-File-Size-Limit`).
pub const CAPTURE_FILE_SIZE_LIMIT: usize = 2 * 1024 * 1024;

/// How the binding serves.
#[derive(Clone)]
pub struct RestOptions {
    /// The path the routes are nested under (e.g. `/epcis`), for the
    /// `Location` and `Link` headers it writes.
    pub base_path: String,
    /// The party plane's gate (shared nonce memory with whoever else
    /// checks party calls on this node, or its own).
    pub gate: PartyGate,
}

#[derive(Clone)]
pub(crate) struct RestState {
    pub service: Service,
    pub options: Arc<RestOptions>,
    pub jobs: Arc<capture::Jobs>,
}

impl RestState {
    /// The caller of a request to `path` with `method`: its party, or the
    /// node's own party when the plane is open and no credential came.
    pub fn caller(&self, headers: &HeaderMap, method: &str, path: &str) -> Result<String, Problem> {
        negotiate(headers)?;
        let signed = format!("{method} {path}");
        let caller = self
            .options
            .gate
            .check_headers(&self.service, |name| headers.get(name).and_then(|v| v.to_str().ok()), &signed)
            .map_err(|status| Problem::from_status(&status))?;
        match caller {
            Some(Caller { party_id, .. }) => Ok(party_id),
            None => Ok(self.service.node_party().unwrap_or_default().to_owned()),
        }
    }
}

/// The binding's routes over `service`, at `options.base_path` (merge
/// them into the listener's router). Every resource also answers `OPTIONS`
/// (`204`, its `Allow` and the version headers).
pub fn router(service: Service, options: RestOptions) -> axum::Router {
    let base = options.base_path.trim_end_matches('/').to_owned();
    let state = RestState { service, options: Arc::new(options), jobs: Arc::default() };
    axum::Router::new()
        .route(&format!("{base}/"), get(capture::top_level).options(capture::discovery_root))
        .route(&base, get(capture::top_level).options(capture::discovery_root))
        .route(
            &format!("{base}/capture"),
            axum::routing::post(capture::post_capture).get(capture::list_jobs).options(capture::discovery),
        )
        .route(&format!("{base}/capture/{{capture_id}}"), get(capture::get_job).options(capture::discovery_reads))
        .route(
            &format!("{base}/events"),
            get(query::events).post(capture::post_event).options(capture::discovery_events),
        )
        .route(&format!("{base}/events/{{event_id}}"), get(query::event_by_id).options(capture::discovery_event))
        .route(
            &format!("{base}/{{resource}}/{{value}}/events"),
            get(query::resource_events).options(capture::discovery_resource),
        )
        .with_state(state)
}

/// Checks the version-negotiation headers a client may send: versions
/// are dotted numbers, the range they give must hold 2.0.0, and
/// `GS1-Extensions` is a list of `name=value`. Refused with `406
/// NotAcceptableException`, as the binding says.
pub(crate) fn negotiate(headers: &HeaderMap) -> Result<(), Problem> {
    let refuse = |detail: String| {
        Problem::new(axum::http::StatusCode::NOT_ACCEPTABLE, "NotAcceptableException", "VERSION_NOT_ACCEPTABLE", detail)
    };
    let version = |name: &str| -> Result<Option<Vec<u64>>, Problem> {
        let Some(value) = headers.get(name) else { return Ok(None) };
        let text = value.to_str().unwrap_or("").trim();
        let parts: Option<Vec<u64>> = text.split('.').map(|p| p.parse::<u64>().ok()).collect();
        match parts {
            Some(parts) if !text.is_empty() && !text.starts_with('+') => Ok(Some(parts)),
            _ => Err(refuse(format!("{name} {text:?} is not a version such as 2.0.0"))),
        }
    };
    let served = [2u64, 0, 0];
    let cmp = |v: &[u64]| {
        let padded: Vec<u64> = (0..3).map(|i| v.get(i).copied().unwrap_or(0)).collect();
        padded.as_slice().cmp(&served[..])
    };
    for (exact, min, max) in
        [("GS1-EPCIS-Version", "GS1-EPCIS-Min", "GS1-EPCIS-Max"), ("GS1-CBV-Version", "GS1-CBV-Min", "GS1-CBV-Max")]
    {
        if let Some(v) = version(exact)?
            && cmp(&v) != std::cmp::Ordering::Equal
        {
            return Err(refuse(format!("{exact}: this repository speaks {EPCIS_VERSION} only")));
        }
        if let Some(v) = version(min)?
            && cmp(&v) == std::cmp::Ordering::Greater
        {
            return Err(refuse(format!("{min}: this repository speaks {EPCIS_VERSION} only")));
        }
        if let Some(v) = version(max)?
            && cmp(&v) == std::cmp::Ordering::Less
        {
            return Err(refuse(format!("{max}: this repository speaks {EPCIS_VERSION} only")));
        }
    }
    // Informational (this repository uses no extensions), but it must be
    // what the binding defines: `name=value` pairs separated by commas.
    if let Some(value) = headers.get("GS1-Extensions") {
        let well_formed = value
            .to_str()
            .is_ok_and(|text| text.split(',').map(str::trim).filter(|e| !e.is_empty()).all(|e| e.contains('=')));
        if !well_formed {
            return Err(refuse("GS1-Extensions is a list of name=value pairs separated by commas".into()));
        }
    }
    Ok(())
}

/// Adds the version headers every answer carries.
pub(crate) fn versioned(headers: &mut HeaderMap) {
    headers.insert("GS1-EPCIS-Version", HeaderValue::from_static(EPCIS_VERSION));
    headers.insert("GS1-CBV-Version", HeaderValue::from_static(CBV_VERSION));
}
