//! [`run`]: a whole node process, from configuration to shutdown.
//!
//! mini-redis's shape: the caller passes the listeners and a shutdown
//! future, so the binary (`veritrace node start`, with SIGTERM) and tests
//! (with a channel) run exactly the same code.

use std::future::Future;

use tokio::net::TcpListener;

use crate::{Node, NodeConfig, NodeError};

/// The sockets a node serves on.
#[derive(Debug)]
pub enum Listeners {
    /// Bind `api.listen` and, when set, `ops.listen` and `web.listen` once the node has
    /// started (its stores opened, its driver running), so clients and
    /// probes are refused rather than kept waiting while it starts. What
    /// `veritrace node start` uses.
    FromConfig,
    /// Sockets the caller bound (port 0 works: read the address back from
    /// the listener).
    Bound {
        /// The gRPC API.
        api: TcpListener,
        /// The ops HTTP listener (`/livez`, `/readyz`, `/metrics`), if any.
        ops: Option<TcpListener>,
        /// The public web listener (resolver and consumer page), if any.
        web: Option<TcpListener>,
    },
}

/// The sockets, once open.
struct Open {
    api: TcpListener,
    ops: Option<TcpListener>,
    web: Option<TcpListener>,
}

impl Listeners {
    async fn open(self, config: &NodeConfig) -> Result<Open, NodeError> {
        match self {
            Listeners::Bound { api, ops, web } => Ok(Open { api, ops, web }),
            Listeners::FromConfig => {
                let (api, _) = veritrace_server::bind(config.api.listen).await?;
                let ops = match config.ops.listen {
                    Some(addr) => Some(veritrace_server::bind(addr).await?.0),
                    None => None,
                };
                let web = match config.web.listen {
                    Some(addr) => Some(veritrace_server::bind(addr).await?.0),
                    None => None,
                };
                Ok(Open { api, ops, web })
            }
        }
    }
}

/// Starts a node from `config`, serves gRPC (and the ops listener) on
/// `listeners` until `shutdown` resolves, then lets in-flight requests
/// finish, stops the network and the Raft driver and flushes storage.
pub async fn run(
    config: NodeConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeError> {
    let api_section = config.api.clone();
    if api_section.tls.is_none() && !api_section.listen.ip().is_loopback() {
        tracing::warn!(
            api = %api_section.listen,
            "api.insecure: plaintext gRPC off loopback; submissions, admin tokens and answers travel in clear"
        );
    }
    let node = Node::start(config).await?;
    let party_section = node.config().api.party.clone();
    let web_options = veritrace_web::WebOptions {
        public_origin: node
            .config()
            .web
            .public_origin
            .as_deref()
            .and_then(|o| veritrace_core::gs1::DlHost::parse(o).ok()),
        limits: node.config().api.verification.clone(),
    };
    let Open { api, ops, web } = match listeners.open(node.config()).await {
        Ok(sockets) => sockets,
        Err(e) => {
            node.shutdown().await;
            return Err(e);
        }
    };
    let service = node.service().clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ops_task = ops.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(ops = %addr, "serving /livez, /readyz, /metrics");
        }
        tokio::spawn(veritrace_server::ops_http::serve_ops(service.clone(), listener, stopped(&stop_rx)))
    });
    let web_task = web.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(web = %addr, "serving the Digital Link resolver and the consumer page");
        }
        let stopped = stopped(&stop_rx);
        // The EPCIS REST binding (party plane) rides the same listener under /epcis.
        let rest = veritrace_epcis_rest::RestOptions {
            base_path: "/epcis".into(),
            gate: veritrace_server::party_auth::PartyGate::from_config(&party_section),
        };
        let app = veritrace_web::router(service.clone(), &web_options)
            .merge(veritrace_epcis_rest::router(service.clone(), rest));
        tokio::spawn(async move { veritrace_web::serve_router(app, listener, stopped).await })
    });
    if let Ok(addr) = api.local_addr() {
        tracing::info!(node = service.id(), api = %addr, peer_id = service.peer_id(), "serving gRPC");
    }
    let options = veritrace_server::ServeOptions::new(api_section);
    // Every listener is bound and the node runs: tell systemd (Type=notify).
    crate::notify::ready(&format!("serving: node {}, peer {}", service.id(), service.peer_id()));
    let status_task = crate::notify::enabled().then(|| tokio::spawn(crate::notify::follow_readiness(service.clone())));
    // Fail-stop: a driver that stops while serving (its log write failed)
    // ends the process with an error, for the supervisor to restart it;
    // a restart replays the synced log and catches up from the peers.
    let raft = service.raft().clone();
    let driver_failure = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let failure_slot = std::sync::Arc::clone(&driver_failure);
    let served = veritrace_server::serve(service, api, options, async move {
        tokio::select! {
            () = shutdown => crate::notify::stopping(),
            why = raft.stopped() => {
                let why = why.unwrap_or_else(|| "it stopped while the node was serving".to_owned());
                tracing::error!(cause = %why, "the Raft driver stopped; exiting");
                *failure_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
            }
        }
        let _ = stop_tx.send(true);
    })
    .await;
    if let Some(task) = ops_task
        && let Ok(Err(e)) = task.await
    {
        tracing::warn!(cause = %e, "ops listener failed");
    }
    if let Some(task) = web_task
        && let Ok(Err(e)) = task.await
    {
        tracing::warn!(cause = %e, "web listener failed");
    }
    if let Some(task) = status_task {
        task.abort();
    }
    node.shutdown().await;
    served?;
    match driver_failure.lock().unwrap_or_else(|e| e.into_inner()).take() {
        Some(why) => Err(NodeError::DriverStopped(why)),
        None => Ok(()),
    }
}

/// Resolves once `stop` says true: the shutdown of a side listener (ops,
/// web), which ends with the gRPC server.
fn stopped(stop: &tokio::sync::watch::Receiver<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut rx = stop.clone();
    async move {
        let _ = rx.wait_for(|s| *s).await;
    }
}
