//! The ops HTTP listener: `/livez`, `/readyz` and Prometheus `/metrics`,
//! separate from the gRPC API so probes and scrapers need no gRPC client
//! and no API credentials.
//!
//! * `GET /livez`: 200 while the node's Raft driver answers (within 2 s),
//!   503 otherwise. A failing liveness probe means: restart the process.
//! * `GET /readyz`: 200 when the node knows a leader and has applied all
//!   but `ops.ready_max_lag` committed entries, else 503; the body is a
//!   JSON object with `ready`, `has_leader`, `commit_index`,
//!   `applied_index` and `reason`. A failing readiness probe means: send
//!   no traffic here for now.
//! * `GET /metrics`: the node's metrics in the OpenMetrics text format
//!   (which Prometheus scrapes); see `veritrace_metrics` for the catalogue.

use std::future::Future;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use veritrace_service::Service;

use crate::ServeError;

#[derive(Clone)]
struct OpsState {
    service: Service,
}

/// Serves the ops endpoints of `service` on `listener` until `shutdown`.
pub async fn serve_ops(
    service: Service,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let app = axum::Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(OpsState { service });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await.map_err(ServeError::Ops)
}

async fn livez(State(s): State<OpsState>) -> Response {
    match tokio::time::timeout(std::time::Duration::from_secs(2), s.service.raft_status()).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("raft driver: {e}\n")).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "raft driver did not answer within 2 s\n").into_response(),
    }
}

async fn readyz(State(s): State<OpsState>) -> Response {
    let r = s.service.readiness().await;
    let body = serde_json::json!({
        "ready": r.ready,
        "has_leader": r.has_leader,
        "commit_index": r.commit_index,
        "applied_index": r.applied_index,
        "reason": r.reason,
    });
    let code = if r.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, [(header::CONTENT_TYPE, "application/json")], format!("{body}\n")).into_response()
}

async fn render_metrics(State(s): State<OpsState>) -> Response {
    // OpenMetrics text: Prometheus negotiates and reads it; counters' samples end in `_total`.
    ([(header::CONTENT_TYPE, veritrace_metrics::CONTENT_TYPE)], s.service.metrics().encode()).into_response()
}
