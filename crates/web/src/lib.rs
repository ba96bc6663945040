//! Veritrace's public web listener: the GS1 Digital Link resolver that a
//! label's QR code points at, and the consumer page behind it.
//!
//! A shopper scans the label (`https://{label host}/01/{gtin}/21/{serial}?t={token}`),
//! the phone opens the page, the shopper types the code under the scratch
//! label and reads the verdict, the item's journey and who vouched for it,
//! downloads a receipt they can check offline, and can report a suspected
//! fake. Systems get the resolver's linkset (`?linkType=all` or `Accept:
//! application/linkset+json`) and the resolver description
//! (`/.well-known/gs1resolver`).
//!
//! * [`resolver`]: paths, content negotiation, linksets;
//! * [`view`]: verdicts and journey steps in words;
//! * `page`: the HTML (maud), `lang`: English and Chinese;
//! * `handlers`: the routes over the application layer ([`Service`]).
//!
//! # Threat model (who can do what here)
//!
//! The listener is public and unauthenticated, as a label's link must be.
//! It reveals nothing the public gRPC plane does not (item state, product,
//! journey, recalls, the co-signed receipt of the caller's own scan) and
//! never code material: codes are posted in a form body, never put in a
//! URL, a log line or a page. Spending an item's guesses needs the label
//! token (`t`, printed in the QR code), as on gRPC; the per-address budget
//! of `[api.verification]` applies to every code check and report, on a
//! budget of its own (a reverse proxy in front makes every shopper one
//! address: give the proxy's address a larger budget, or terminate at the
//! node). A report must name a scan its reporter made with the right code
//! (`veritrace_service::report`), so a stranger cannot mark a genuine item.
//! Pages carry a strict Content-Security-Policy (no script at all), no
//! referrer (the URL holds the token), and are never cached.

mod handlers;
mod lang;
mod page;
pub mod resolver;
pub mod view;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use veritrace_core::gs1::DlHost;
use veritrace_server::VerificationSection;
use veritrace_server::client_budget::ClientBudgets;
use veritrace_service::Service;

pub use lang::Lang;

/// How the web listener serves.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// The origin this listener is reached at, for absolute links in
    /// linksets (`https://verify.example.net`); `None` takes the request's
    /// `Host` header with `http://`.
    pub public_origin: Option<DlHost>,
    /// Per-address limits of code checks and reports (the same settings as
    /// gRPC's VerifyItem, on a budget of their own).
    pub limits: VerificationSection,
}

#[derive(Clone)]
pub(crate) struct WebState {
    pub service: Service,
    pub budgets: Arc<ClientBudgets>,
    pub origin: Option<DlHost>,
}

/// The web routes over `service`. Serve them with [`serve_router`] (or
/// with `into_make_service_with_connect_info::<SocketAddr>()`): the code
/// check and the report read each connection's address for the
/// per-address budget.
pub fn router(service: Service, options: &WebOptions) -> axum::Router {
    handlers::routes(WebState {
        service,
        budgets: Arc::new(ClientBudgets::new(&options.limits)),
        origin: options.public_origin.clone(),
    })
}

/// Serves the web routes of `service` on `listener` until `shutdown`.
pub async fn serve_web(
    service: Service,
    options: &WebOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(router(service, options), listener, shutdown).await
}

/// Serves `app` (the web routes, with whatever the node nests in them, such
/// as the EPCIS REST binding under `/epcis`) on `listener` until
/// `shutdown`, with each connection's address known to the handlers.
pub async fn serve_router(
    app: axum::Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
