//! [`run`]: a whole node process, from configuration to shutdown.
//!
//! mini-redis's shape: the caller binds the listeners and passes a
//! shutdown future, so the binary (`veritrace node start`, with SIGTERM)
//! and tests (with a channel) run exactly the same code.

use std::future::Future;

use tokio::net::TcpListener;

use crate::{Node, NodeConfig, NodeError};

/// The sockets a node serves on, bound by the caller (port 0 works: read
/// the address back from the listener).
#[derive(Debug)]
pub struct Listeners {
    /// The gRPC API (`api.listen`).
    pub api: TcpListener,
    /// The ops HTTP listener (`/livez`, `/readyz`, `/metrics`), if any.
    pub ops: Option<TcpListener>,
}

impl Listeners {
    /// Binds `api.listen` and, when set, `ops.listen` of `config`.
    pub async fn bind(config: &NodeConfig) -> Result<Listeners, NodeError> {
        let (api, _) = veritrace_server::bind(config.api.listen).await?;
        let ops = match config.ops.listen {
            Some(addr) => Some(veritrace_server::bind(addr).await?.0),
            None => None,
        };
        Ok(Listeners { api, ops })
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
    let api = config.api.clone();
    let node = Node::start(config).await?;
    let service = node.service().clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ops_task = listeners.ops.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(ops = %addr, "serving /livez, /readyz, /metrics");
        }
        let mut rx = stop_rx.clone();
        let stopped = async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        tokio::spawn(veritrace_server::ops_http::serve_ops(service.clone(), listener, stopped))
    });
    if let Ok(addr) = listeners.api.local_addr() {
        tracing::info!(node = service.id(), api = %addr, peer_id = service.peer_id(), "serving gRPC");
    }
    let options = veritrace_server::ServeOptions::new(api);
    let served = veritrace_server::serve(service, listeners.api, options, async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    })
    .await;
    if let Some(task) = ops_task
        && let Ok(Err(e)) = task.await
    {
        tracing::warn!(cause = %e, "ops listener failed");
    }
    node.shutdown().await;
    served?;
    Ok(())
}
