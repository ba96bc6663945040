//! `GET /events` and the resources narrowed from it: a `SimpleEventQuery`
//! over the ledger's EPCIS events, answered as an `EPCISQueryDocument`.
//!
//! Parameters served (lists are `|`-separated, as the binding's
//! `pipeDelimited` style says): `eventType`, `GE_eventTime`,
//! `LT_eventTime`, `GE_recordTime`, `LT_recordTime`, `EQ_action`,
//! `EQ_bizStep`, `EQ_disposition`, `EQ_readPoint`, `EQ_bizLocation`,
//! `EQ_transformationID`, `MATCH_epc`, `MATCH_parentID`, `MATCH_inputEPC`,
//! `MATCH_outputEPC`, `MATCH_anyEPC`, `EQ_eventID`,
//! `EXISTS_errorDeclaration`, `perPage` (default 30, at most 1,000),
//! `nextPageToken`. Vocabulary values compare by their CBV short name, so
//! `shipping`, `cbv:BizStep-shipping` and the web and URN forms match each
//! other; identifiers compare by their GS1 key when they are GS1 keys (a
//! Digital Link matches its EPC URN). Any other standard parameter is
//! refused with `QueryParameterException`, never ignored.
//!
//! Events come in log order. `recordTime` is the commit time of the
//! event's batch; an event recorded without an `eventID` is given its CBV
//! event hash id. A page examines at most [`SCAN_BUDGET`] leaves, so a page
//! may be short (even empty) and still have a `Link: <...>; rel="next"`;
//! `MATCH_epc` and `MATCH_anyEPC` read the ledger's per-object index
//! instead of scanning. Page tokens are positions in the append-only log:
//! they never expire.

use std::collections::BTreeSet;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use veritrace_core::Envelope;
use veritrace_core::gs1::EpcId;
use veritrace_core::vocab::same_term;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::epcis_event::Event;
use veritrace_proto::v1::transaction::Action;

// Reads that walk the log (up to SCAN_BUDGET leaves) run on the blocking
// pool, not on the async workers the Raft driver shares, as the gRPC edge's do.
use veritrace_server::work_limits::off_the_runtime;

use crate::capture::{json_response, rfc3339};
use crate::{Problem, RestState};

/// Most leaves one page examines.
pub const SCAN_BUDGET: u64 = 20_000;
/// Events per page by default.
pub const DEFAULT_PER_PAGE: usize = 30;
/// Most events per page.
pub const MAX_PER_PAGE: usize = 1000;

/// A parsed `SimpleEventQuery`.
#[derive(Debug, Default, Clone)]
pub struct EventQuery {
    event_types: Vec<String>,
    ge_event_time: Option<i64>,
    lt_event_time: Option<i64>,
    ge_record_time: Option<i64>,
    lt_record_time: Option<i64>,
    actions: Vec<String>,
    biz_steps: Vec<String>,
    dispositions: Vec<String>,
    read_points: Vec<String>,
    biz_locations: Vec<String>,
    transformation_ids: Vec<String>,
    match_epc: Vec<String>,
    match_parent: Vec<String>,
    match_input: Vec<String>,
    match_output: Vec<String>,
    match_any: Vec<String>,
    event_ids: Vec<String>,
    /// `EXISTS_errorDeclaration`: with (true) or without (false) one.
    error_declaration: Option<bool>,
    per_page: usize,
    after: u64,
    /// The query string without `nextPageToken`, for the next page's link.
    kept: Vec<(String, String)>,
}

const EVENT_TYPES: [&str; 5] =
    ["ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"];

fn list(value: &str) -> Vec<String> {
    value.split('|').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

fn time(name: &str, value: &str) -> Result<i64, Problem> {
    veritrace_epcis::parse_time(value)
        .map(|t| veritrace_proto::ms_from_timestamp(&t))
        .map_err(|e| Problem::parameter(format!("{name}: {e}")))
}

impl EventQuery {
    /// Reads the query string's pairs.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, Problem> {
        let mut q = EventQuery { per_page: DEFAULT_PER_PAGE, ..Default::default() };
        for (name, value) in pairs {
            if name != "nextPageToken" {
                q.kept.push((name.clone(), value.clone()));
            }
            match name.as_str() {
                "eventType" => {
                    for t in list(value) {
                        // An extension event type (a URI) is a valid name that
                        // matches nothing here: the ledger records the five.
                        if !EVENT_TYPES.contains(&t.as_str()) && !is_uri(&t) {
                            return Err(Problem::parameter(format!(
                                "eventType {t:?}: one of {}",
                                EVENT_TYPES.join(", ")
                            )));
                        }
                        q.event_types.push(t);
                    }
                }
                "GE_eventTime" => q.ge_event_time = Some(time(name, value)?),
                "LT_eventTime" => q.lt_event_time = Some(time(name, value)?),
                "GE_recordTime" => q.ge_record_time = Some(time(name, value)?),
                "LT_recordTime" => q.lt_record_time = Some(time(name, value)?),
                "EQ_action" => {
                    for a in list(value) {
                        if !matches!(a.as_str(), "ADD" | "OBSERVE" | "DELETE") {
                            return Err(Problem::parameter(format!("EQ_action {a:?}: ADD, OBSERVE or DELETE")));
                        }
                        q.actions.push(a);
                    }
                }
                "EQ_bizStep" => q.biz_steps.extend(list(value)),
                "EQ_disposition" => q.dispositions.extend(list(value)),
                "EQ_readPoint" => q.read_points.extend(list(value)),
                "EQ_bizLocation" => q.biz_locations.extend(list(value)),
                "EQ_transformationID" => q.transformation_ids.extend(list(value)),
                "MATCH_epc" => q.match_epc.extend(list(value)),
                "MATCH_parentID" => q.match_parent.extend(list(value)),
                "MATCH_inputEPC" => q.match_input.extend(list(value)),
                "MATCH_outputEPC" => q.match_output.extend(list(value)),
                "MATCH_anyEPC" => q.match_any.extend(list(value)),
                "EQ_eventID" => q.event_ids.extend(list(value)),
                "EXISTS_errorDeclaration" => {
                    q.error_declaration = match value.as_str() {
                        "true" => Some(true),
                        "false" => Some(false),
                        _ => return Err(Problem::parameter("EXISTS_errorDeclaration: true or false")),
                    }
                }
                "perPage" => {
                    let n: usize = value.parse().map_err(|_| Problem::parameter("perPage: a positive whole number"))?;
                    if n == 0 {
                        return Err(Problem::parameter("perPage: at least 1"));
                    }
                    q.per_page = n.min(MAX_PER_PAGE);
                }
                "nextPageToken" => {
                    q.after = value
                        .strip_prefix("leaf-")
                        .and_then(|v| v.parse().ok())
                        .ok_or_else(|| Problem::parameter("nextPageToken: not a token this repository issued"))?;
                }
                other => {
                    return Err(Problem::parameter(format!(
                        "{other}: not a query parameter this repository serves (see the binding's documentation)"
                    )));
                }
            }
        }
        Ok(q)
    }

    /// Whether `event`, recorded at `record_ms`, answers the query.
    pub fn matches(&self, event: &pb::EpcisEvent, record_ms: i64) -> bool {
        let event_ms = event.event_time.as_ref().map(veritrace_proto::ms_from_timestamp);
        let (kind, action, epcs, parent, inputs, outputs, transformation) = shape(event);
        let any_of = |wanted: &[String], have: &str| wanted.is_empty() || wanted.iter().any(|w| same_term(w, have));
        let ids_of = |wanted: &[String], have: &[&str]| {
            wanted.is_empty() || wanted.iter().any(|w| have.iter().any(|h| same_id(w, h)))
        };
        (self.event_types.is_empty() || self.event_types.iter().any(|t| t == kind))
            && self.ge_event_time.is_none_or(|t| event_ms.is_some_and(|e| e >= t))
            && self.lt_event_time.is_none_or(|t| event_ms.is_some_and(|e| e < t))
            && self.ge_record_time.is_none_or(|t| record_ms >= t)
            && self.lt_record_time.is_none_or(|t| record_ms < t)
            && (self.actions.is_empty() || self.actions.iter().any(|a| a == action))
            && any_of(&self.biz_steps, &event.biz_step)
            && any_of(&self.dispositions, &event.disposition)
            && ids_of(&self.read_points, &[event.read_point.as_ref().map_or("", |r| r.id.as_str())])
            && ids_of(&self.biz_locations, &[event.biz_location.as_ref().map_or("", |b| b.id.as_str())])
            && (self.transformation_ids.is_empty() || self.transformation_ids.iter().any(|t| t == transformation))
            && ids_of(&self.match_epc, &epcs)
            && ids_of(&self.match_parent, &[parent])
            && ids_of(&self.match_input, &inputs)
            && ids_of(&self.match_output, &outputs)
            && (self.match_any.is_empty()
                || self.match_any.iter().any(|w| {
                    epcs.iter().chain(&inputs).chain(&outputs).chain(std::iter::once(&parent)).any(|h| same_id(w, h))
                }))
            && (self.event_ids.is_empty() || self.event_ids.contains(&event.event_id))
            && self.error_declaration.is_none_or(|with| with == event.error_declaration.is_some())
    }

    /// The object keys whose index answers `MATCH_epc` / `MATCH_anyEPC`, if
    /// the query has one of them (every listed id must be a GS1 key).
    fn index_keys(&self) -> Option<Vec<Vec<u8>>> {
        let ids = if !self.match_epc.is_empty() { &self.match_epc } else { &self.match_any };
        if ids.is_empty() {
            return None;
        }
        ids.iter().map(|id| EpcId::parse(id).ok().map(|e| e.key_bytes())).collect()
    }
}

/// The event's type name, action, EPCs (epcList / childEPCs), parentID,
/// inputs, outputs and transformationID.
type Shape<'a> = (&'static str, &'static str, Vec<&'a str>, &'a str, Vec<&'a str>, Vec<&'a str>, &'a str);

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn shape(event: &pb::EpcisEvent) -> Shape<'_> {
    let action = |a: i32| match pb::EpcisAction::try_from(a) {
        Ok(pb::EpcisAction::Add) => "ADD",
        Ok(pb::EpcisAction::Observe) => "OBSERVE",
        Ok(pb::EpcisAction::Delete) => "DELETE",
        _ => "",
    };
    match &event.event {
        Some(Event::ObjectEvent(e)) => ("ObjectEvent", action(e.action), strs(&e.epc_list), "", vec![], vec![], ""),
        Some(Event::AggregationEvent(e)) => {
            ("AggregationEvent", action(e.action), strs(&e.child_epcs), &e.parent_id, vec![], vec![], "")
        }
        Some(Event::TransactionEvent(e)) => {
            ("TransactionEvent", action(e.action), strs(&e.epc_list), &e.parent_id, vec![], vec![], "")
        }
        Some(Event::TransformationEvent(e)) => (
            "TransformationEvent",
            "",
            vec![],
            "",
            strs(&e.input_epc_list),
            strs(&e.output_epc_list),
            &e.transformation_id,
        ),
        Some(Event::AssociationEvent(e)) => {
            ("AssociationEvent", action(e.action), strs(&e.child_epcs), &e.parent_id, vec![], vec![], "")
        }
        None => ("", "", vec![], "", vec![], vec![], ""),
    }
}

/// Two identifiers name the same thing: the same GS1 key in any of its
/// forms, else the same text.
fn same_id(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (EpcId::parse(a), EpcId::parse(b)) {
        (Ok(x), Ok(y)) => x.key_bytes() == y.key_bytes(),
        _ => false,
    }
}

/// The EPCIS event recorded at `leaf`, with its eventID (the hash id when
/// it was recorded without one) and its record time.
fn event_at(state: &RestState, leaf: u64) -> Result<Option<(pb::EpcisEvent, i64)>, Problem> {
    let ledger = state.service.ledger();
    let record = ledger.leaf(leaf).map_err(|e| internal(&e.to_string()))?;
    let Some(Action::EpcisEvent(mut event)) =
        Envelope::decode(&record.envelope).ok().and_then(|e| e.transaction().ok()).and_then(|tx| tx.action)
    else {
        return Ok(None);
    };
    // An event the hash cannot take (none the importer makes) keeps no id,
    // as before: it is still listed, without an eventID.
    let _ = crate::hash::with_event_id(&mut event);
    Ok(Some((event, record.commit_time_ms)))
}

fn internal(detail: &str) -> Problem {
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "ImplementationException", "INTERNAL", detail)
}

/// An event and its record time (unix ms).
type Recorded = (pb::EpcisEvent, i64);

/// Runs `q`: the page of events and the token of the next page, if any.
fn run(state: &RestState, q: &EventQuery) -> Result<(Vec<Recorded>, Option<u64>), Problem> {
    let size = state.service.ledger().applied().tree_size;
    let candidates: Box<dyn Iterator<Item = u64>> = match q.index_keys() {
        Some(keys) => {
            let mut leaves = BTreeSet::new();
            for key in keys {
                let entries = state.service.ledger().object_index(&key).map_err(|e| internal(&e.to_string()))?;
                leaves.extend(entries.into_iter().map(|(leaf, _)| leaf));
            }
            Box::new(leaves.into_iter().filter(move |l| *l >= q.after))
        }
        None => Box::new(q.after..size),
    };
    let mut out = Vec::new();
    for (examined, leaf) in (0u64..).zip(candidates) {
        if out.len() == q.per_page || examined == SCAN_BUDGET {
            return Ok((out, Some(leaf)));
        }
        if let Some((event, record_ms)) = event_at(state, leaf)?
            && q.matches(&event, record_ms)
        {
            out.push((event, record_ms));
        }
    }
    Ok((out, None))
}

/// The events as an `EPCISQueryDocument`, each with its `recordTime`.
fn query_document(events: &[Recorded]) -> Value {
    let list: Vec<pb::EpcisEvent> = events.iter().map(|(e, _)| e.clone()).collect();
    let query = veritrace_epcis::QueryResults { query_name: "SimpleEventQuery".into(), subscription_id: None };
    let now = veritrace_proto::timestamp_from_ms(veritrace_service::now_ms());
    let mut doc = veritrace_epcis::query_document_to_json(&list, &query, &now);
    if let Some(Value::Array(items)) = doc.pointer_mut("/epcisBody/queryResults/resultsBody/eventList") {
        for (item, (_, record_ms)) in items.iter_mut().zip(events) {
            if let Value::Object(o) = item {
                o.insert("recordTime".into(), Value::String(rfc3339(*record_ms)));
            }
        }
    }
    doc
}

/// The query string's `application/x-www-form-urlencoded` pairs, in
/// order, repeated names kept.
pub(crate) fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, Problem> {
    let raw = raw.unwrap_or("");
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{raw}").parse().map_err(|_| Problem::parameter("the query string is not a URI query"))?,
    )
    .map(|q| q.0)
    .map_err(|e| Problem::parameter(format!("the query string: {e}")))
}

async fn answer(state: &RestState, headers: &HeaderMap, path: &str, q: EventQuery) -> Response {
    if let Err(p) = state.caller(headers, "GET", path) {
        return p.into_response();
    }
    if let Err(e) = state.service.read_barrier().await {
        return Problem::from_status(&veritrace_server::status::from_service(&state.service, e)).into_response();
    }
    let page = {
        let (state, q) = (state.clone(), q.clone());
        off_the_runtime(move || run(&state, &q)).await
    };
    let (events, next) = match page {
        Ok(page) => page,
        Err(p) => return p.into_response(),
    };
    // `application/json`, as the binding's OpenAPI names the query document
    // (the body is JSON-LD all the same: it carries its @context).
    let mut response = json_response(StatusCode::OK, &query_document(&events));
    if let Some(next) = next {
        let mut query: Vec<String> = q.kept.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        query.push(format!("nextPageToken=leaf-{next}"));
        let link = format!("<{}{path}?{}>; rel=\"next\"", state.options.base_path, query.join("&"));
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
        // Positions in an append-only log stay valid: a far expiry.
        response.headers_mut().insert("GS1-Next-Page-Token-Expires", HeaderValue::from_static("9999-12-31T23:59:59Z"));
    }
    response
}

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /events`.
pub(crate) async fn events(State(state): State<RestState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    match query_pairs(raw.as_deref()).and_then(|p| EventQuery::parse(&p)) {
        Ok(q) => answer(&state, &headers, "/events", q).await,
        Err(p) => p.into_response(),
    }
}

/// The query parameter a `/{resource}/{value}/events` path stands for, or
/// `404` when the resource is not one of the binding's or the value cannot
/// name one of its members (identifiers and extension terms are URIs; CBV
/// terms are the CBV's bare words; event types are the five names or a URI).
pub(crate) fn resource_param(resource: &str, value: &str) -> Result<&'static str, Problem> {
    let uri = is_uri(value);
    let (param, ok) = match resource {
        "epcs" => ("MATCH_anyEPC", uri),
        "eventTypes" => ("eventType", uri || EVENT_TYPES.contains(&value)),
        "bizSteps" => ("EQ_bizStep", uri || crate::hash::is_cbv_biz_step(value)),
        "bizLocations" => ("EQ_bizLocation", uri),
        "readPoints" => ("EQ_readPoint", uri),
        "dispositions" => ("EQ_disposition", uri || crate::hash::is_cbv_disposition(value)),
        other => return Err(Problem::no_such_resource(format!("no resource {other:?} here"))),
    };
    if ok { Ok(param) } else { Err(Problem::no_such_name(format!("{value:?} names no member of {resource}"))) }
}

/// Whether `text` has the shape of an absolute URI: a scheme (a letter,
/// then letters, digits, `+`, `-`, `.`), a colon, and something after it.
pub(crate) fn is_uri(text: &str) -> bool {
    text.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// `GET /{resource}/{value}/events`: `/events` narrowed by the resource.
pub(crate) async fn resource_events(
    State(state): State<RestState>,
    headers: HeaderMap,
    Path((resource, value)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let param = match resource_param(&resource, &value) {
        Ok(p) => p,
        Err(p) => return p.into_response(),
    };
    let path = format!("/{resource}/{}/events", encode(&value));
    match query_pairs(raw.as_deref()).and_then(|mut p| {
        p.push((param.to_owned(), value.clone()));
        EventQuery::parse(&p)
    }) {
        Ok(q) => answer(&state, &headers, &path, q).await,
        Err(p) => p.into_response(),
    }
}

/// `GET /events/{eventID}`.
pub(crate) async fn event_by_id(
    State(state): State<RestState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(p) = state.caller(&headers, "GET", &format!("/events/{}", encode(&id))) {
        return p.into_response();
    }
    if !is_uri(&id) {
        return Problem::no_such_name(format!("{id:?} is not an event id (a URI)")).into_response();
    }
    if let Err(e) = state.service.read_barrier().await {
        return Problem::from_status(&veritrace_server::status::from_service(&state.service, e)).into_response();
    }
    let found = {
        let (state, id) = (state.clone(), id.clone());
        off_the_runtime(move || match state.service.ledger().event_leaf(&id) {
            Ok(Some((leaf, _))) => event_at(&state, leaf),
            Ok(None) => {
                // Recorded without an eventID: found by its hash id, by a scan.
                let q = EventQuery { event_ids: vec![id.clone()], per_page: 1, ..Default::default() };
                run(&state, &q).map(|(mut page, _)| page.pop())
            }
            Err(e) => Err(internal(&e.to_string())),
        })
        .await
    };
    match found {
        Ok(Some(hit)) => json_response(StatusCode::OK, &query_document(std::slice::from_ref(&hit))),
        Ok(None) => Problem::no_such_name(format!("no event {id:?}")).into_response(),
        Err(p) => p.into_response(),
    }
}
