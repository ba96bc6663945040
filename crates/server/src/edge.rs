//! The API's edge, as one tower layer around every gRPC service: a
//! per-client-IP request rate limit, request accounting (method, status
//! code, duration) for metrics, and a tracing span per request carrying
//! the method and a request id (the client's `x-request-id` header, else
//! one made here), inside which the service's own spans (`submit`,
//! `verify`) nest. Two refusals tonic makes before any handler runs are
//! rewritten to carry a reason like the node's own: an oversized request
//! (`MESSAGE_TOO_LARGE`) and one that does not decode as the method's
//! message (INVALID_ARGUMENT, `MALFORMED_REQUEST`, instead of a bare
//! INTERNAL).
//!
//! The limit is a token bucket per client IP address: `requests_per_second`
//! tokens a second, at most `burst` saved up. A request without a token is
//! answered `RESOURCE_EXHAUSTED` (reason `RATE_LIMITED`) with a
//! `google.rpc.RetryInfo` delay saying when the next token arrives, and
//! never reaches the service. The table of buckets is bounded
//! ([`MAX_TRACKED_CLIENTS`]): when full, buckets that have refilled (clients
//! that went quiet) are dropped first, in at most one sweep a second. A
//! client is its IPv4 address or its IPv6 /64 ([`client_key`]): one host
//! gets a whole /64 and can rotate through it for free, so keying by the
//! full IPv6 address would let one host fill the table.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tonic::Code;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::Instrument as _;

use crate::status::DOMAIN;

/// Most client addresses whose buckets are kept at once.
pub const MAX_TRACKED_CLIENTS: usize = 10_000;

/// Receives one finished request: full method path (e.g.
/// `/veritrace.v1.LedgerService/SubmitEnvelopes`), status code name (e.g.
/// `OK`, `RESOURCE_EXHAUSTED`) and seconds taken until the response head.
pub type RequestObserver = Arc<dyn Fn(&str, &str, f64) + Send + Sync>;

/// A token-bucket rate limit per client key (the client's IP address by
/// default), keeping at most [`MAX_TRACKED_CLIENTS`] buckets.
#[derive(Debug)]
pub struct RateLimiter<K = IpAddr> {
    rate: f64,
    burst: f64,
    buckets: Mutex<Buckets<K>>,
}

#[derive(Debug)]
struct Buckets<K> {
    by_client: HashMap<K, Bucket>,
    /// When full buckets were last swept for quiet clients.
    swept: Option<Instant>,
}

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Buckets { by_client: HashMap::new(), swept: None }
    }
}

/// How often a full table is swept for quiet clients (a sweep is linear in
/// the table: at most once a second, newcomers meanwhile are refused).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The key a client's requests count under: its IPv4 address (an
/// IPv4-mapped IPv6 address counts as the IPv4 one), or the /64 prefix of
/// its IPv6 address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: std::hash::Hash + Eq> RateLimiter<K> {
    /// `per_second` requests a second on average, `burst` at once.
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimiter { rate: f64::from(per_second.max(1)), burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// `per_minute` requests a minute on average, `burst` at once.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        RateLimiter {
            rate: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Takes a token for client `ip`: `Ok` when allowed, otherwise how long
    /// until the next token.
    pub fn check(&self, ip: K, now: Instant) -> Result<(), Duration> {
        let mut guard = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let buckets = &mut *guard;
        if buckets.by_client.len() >= MAX_TRACKED_CLIENTS && !buckets.by_client.contains_key(&ip) {
            if buckets.swept.is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY) {
                buckets.swept = Some(now);
                let (rate, burst) = (self.rate, self.burst);
                buckets
                    .by_client
                    .retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
            }
            if buckets.by_client.len() >= MAX_TRACKED_CLIENTS {
                // Every tracked client is active: refuse the newcomer rather than grow.
                return Err(SWEEP_EVERY);
            }
        }
        let b = buckets.by_client.entry(ip).or_insert(Bucket { tokens: self.burst, at: now });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * self.rate;
        b.tokens = (b.tokens + refill).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.rate).max(Duration::from_millis(1)))
        }
    }
}

/// A fault injected into one call: a delay before the service sees it,
/// and an answer replaced after the service handled it.
#[derive(Debug, Default)]
pub struct InjectedFault {
    /// Held back this long before the service sees it (a slow node).
    pub delay: Duration,
    /// Answered with this status instead of the service's answer. The
    /// service did its work, so the client sees what a lost answer looks
    /// like.
    pub status: Option<tonic::Status>,
}

/// Decides, from the full method path of each call, the fault to inject,
/// if any. The test kit's hook: a node never sets one.
pub type AnswerFault = Arc<dyn Fn(&str) -> Option<InjectedFault> + Send + Sync>;

/// The edge layer: see the module docs.
#[derive(Clone, Default)]
pub struct EdgeLayer {
    limiter: Option<Arc<RateLimiter>>,
    observer: Option<RequestObserver>,
    fault: Option<AnswerFault>,
}

impl std::fmt::Debug for EdgeLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeLayer").field("limiter", &self.limiter).finish_non_exhaustive()
    }
}

impl EdgeLayer {
    /// A layer with an optional rate limit and request observer.
    pub fn new(limiter: Option<Arc<RateLimiter>>, observer: Option<RequestObserver>) -> Self {
        EdgeLayer { limiter, observer, fault: None }
    }

    /// The same layer, replacing answers as `fault` says (tests only).
    pub fn with_fault(mut self, fault: Option<AnswerFault>) -> Self {
        self.fault = fault;
        self
    }
}

impl<S> tower::Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner, layer: self.clone() }
    }
}

/// The service [`EdgeLayer`] wraps around the gRPC routes.
#[derive(Clone, Debug)]
pub struct Edge<S> {
    inner: S,
    layer: EdgeLayer,
}

fn client_ip<B>(req: &http::Request<B>) -> Option<IpAddr> {
    let ext = req.extensions();
    let addr: Option<SocketAddr> = ext
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| ext.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|t| t.get_ref().remote_addr()));
    addr.map(|a| client_key(a.ip()))
}

/// The gRPC status code a response head carries (`OK` when the status is
/// only in the trailers, as for every successful unary call).
fn code_of<B>(resp: &http::Response<B>) -> Code {
    resp.headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from_i32)
        .unwrap_or(Code::Ok)
}

/// The status of a refused request: RESOURCE_EXHAUSTED, reason
/// `RATE_LIMITED`, with the delay in a RetryInfo.
pub fn rate_limited(wait: Duration) -> tonic::Status {
    limited("RATE_LIMITED", "too many requests from this address", wait)
}

/// RESOURCE_EXHAUSTED with `reason`, metadata `retry_after_ms` and a
/// RetryInfo of `wait`; the message is `what` and when to retry.
pub fn limited(reason: &str, what: &str, wait: Duration) -> tonic::Status {
    let mut details = ErrorDetails::with_error_info(
        reason,
        DOMAIN,
        HashMap::from([("retry_after_ms".to_string(), wait.as_millis().to_string())]),
    );
    details.set_retry_info(Some(wait));
    tonic::Status::with_error_details(
        Code::ResourceExhausted,
        format!("{what}; retry in {} ms", wait.as_millis().max(1)),
        details,
    )
}

/// tonic refuses an oversized request with OUT_OF_RANGE ("decoded message
/// length too large ... the limit is: N bytes"); the gRPC spec asks for
/// RESOURCE_EXHAUSTED. Returns the limit when `resp` is that refusal.
fn decode_limit_hit<B>(resp: &http::Response<B>) -> Option<u64> {
    if code_of(resp) != Code::OutOfRange {
        return None;
    }
    let message = resp.headers().get("grpc-message")?.to_str().ok()?;
    let message = percent_decode(message);
    if !message.contains("decoded message length too large") {
        return None;
    }
    message.rsplit("the limit is: ").next()?.split_whitespace().next()?.parse().ok()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// tonic answers a request body that does not decode as the method's
/// message (or holds none) with INTERNAL, "failed to decode Protobuf
/// message: ..." ("Missing request message."), and no details
/// (tonic-prost's codec, before any handler runs); the gRPC spec asks for
/// INVALID_ARGUMENT, and the caller for a reason. Returns the decoder's
/// message when `resp` is that refusal. The node's own INTERNAL answers
/// always carry an `ErrorInfo` (`crate::status`), so they never match.
fn undecodable_request<B>(resp: &http::Response<B>) -> Option<String> {
    if code_of(resp) != Code::Internal || resp.headers().contains_key("grpc-status-details-bin") {
        return None;
    }
    let message = percent_decode(resp.headers().get("grpc-message")?.to_str().ok()?);
    let codec = message.starts_with("failed to decode Protobuf message") || message == "Missing request message.";
    codec.then_some(message)
}

/// INVALID_ARGUMENT, reason `MALFORMED_REQUEST`: the request is not an
/// encoding of the method's message; `cause` is the decoder's message.
pub fn malformed_request(cause: &str) -> tonic::Status {
    let details = ErrorDetails::with_error_info("MALFORMED_REQUEST", DOMAIN, HashMap::new());
    tonic::Status::with_error_details(
        Code::InvalidArgument,
        format!("the request is not a valid message of this method: {cause}"),
        details,
    )
}

/// RESOURCE_EXHAUSTED, reason `MESSAGE_TOO_LARGE`, naming the limit.
pub fn message_too_large(limit: u64) -> tonic::Status {
    let details = ErrorDetails::with_error_info(
        "MESSAGE_TOO_LARGE",
        DOMAIN,
        HashMap::from([("limit_bytes".to_string(), limit.to_string())]),
    );
    tonic::Status::with_error_details(
        Code::ResourceExhausted,
        format!("the request is larger than this node's limit of {limit} bytes (api.max_message_bytes)"),
        details,
    )
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Edge<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let method = req.uri().path().to_owned();
        let span = tracing::info_span!("grpc", method = %method, request_id = %request_id(&req));
        let observer = self.layer.observer.clone();
        let observed = method.clone();
        let observe = move |code: Code| {
            if let Some(o) = &observer {
                o(&observed, veritrace_metrics::grpc_code_name(code as i32), started.elapsed().as_secs_f64());
            }
        };
        if let (Some(limiter), Some(ip)) = (&self.layer.limiter, client_ip(&req))
            && let Err(wait) = limiter.check(ip, started)
        {
            observe(Code::ResourceExhausted);
            return Box::pin(async move { Ok(rate_limited(wait).into_http()) });
        }
        // Faults apply to the calls the service sees (past the rate limit).
        let fault = self.layer.fault.as_ref().and_then(|f| f(&method));
        // The clone is ready only if `self.inner` was; swap so the polled one serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(
            async move {
                let (delay, replacement) = fault.map_or((Duration::ZERO, None), |f| (f.delay, f.status));
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let mut result = inner.call(req).await;
                if let Ok(resp) = &result
                    && let Some(limit) = decode_limit_hit(resp)
                {
                    result = Ok(message_too_large(limit).into_http());
                }
                if let Ok(resp) = &result
                    && let Some(cause) = undecodable_request(resp)
                {
                    result = Ok(malformed_request(&cause).into_http());
                }
                if let (Ok(_), Some(status)) = (&result, replacement) {
                    result = Ok(status.into_http());
                }
                match &result {
                    Ok(resp) => observe(code_of(resp)),
                    Err(_) => observe(Code::Internal),
                }
                result
            }
            .instrument(span),
        )
    }
}

/// The request id of a call: the client's `x-request-id` header when it is
/// short printable ASCII, else a new one (this process's counter), so log
/// lines of one request can be found together.
fn request_id<B>(req: &http::Request<B>) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let given = req.headers().get("x-request-id").and_then(|v| v.to_str().ok());
    match given {
        Some(id) if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()) => id.to_owned(),
        _ => format!("r{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_the_client_s_when_printable_else_made_here() {
        let with = |id: &str| http::Request::builder().header("x-request-id", id).body(()).expect("request");
        assert_eq!(request_id(&with("order-4711/attempt-2")), "order-4711/attempt-2");
        for bad in ["", "has space", &"x".repeat(65)] {
            let made = request_id(&with(bad));
            assert!(made.starts_with('r') && made[1..].parse::<u64>().is_ok(), "{bad:?} -> {made}");
        }
        let a = request_id(&http::Request::new(()));
        let b = request_id(&http::Request::new(()));
        assert_ne!(a, b, "made ids are unique");
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(10, 3);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(ip, t0).is_ok());
        }
        let wait = limiter.check(ip, t0).expect_err("the fourth request at once is over the burst");
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100), "{wait:?}");
        // Another client has its own bucket.
        assert!(limiter.check([10, 0, 0, 2].into(), t0).is_ok());
        // 100 ms later one token has arrived.
        assert!(limiter.check(ip, t0 + Duration::from_millis(100)).is_ok());
        assert!(limiter.check(ip, t0 + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn an_ipv6_host_counts_as_its_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("v6");
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().expect("v6");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("v6");
        assert_eq!(client_key(a), client_key(b), "one /64");
        assert_ne!(client_key(a), client_key(other));
        assert_eq!(client_key("::ffff:10.0.0.1".parse().expect("mapped")), IpAddr::from([10, 0, 0, 1]));
        // Rotating through a /64 spends one bucket.
        let limiter = RateLimiter::new(1, 2);
        let t0 = Instant::now();
        assert!(limiter.check(client_key(a), t0).is_ok());
        assert!(limiter.check(client_key(b), t0).is_ok());
        assert!(limiter.check(client_key("2001:db8:1:2::9".parse().expect("v6")), t0).is_err());
    }

    #[test]
    fn a_full_table_of_active_clients_refuses_newcomers_without_growing() {
        let limiter = RateLimiter::new(1, 5);
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED_CLIENTS as u32 {
            assert!(limiter.check(IpAddr::from(i.to_be_bytes()), t0).is_ok());
        }
        let newcomer = IpAddr::from([250, 0, 0, 1]);
        assert!(limiter.check(newcomer, t0).is_err(), "every tracked client is active");
        assert_eq!(limiter.buckets.lock().expect("lock").by_client.len(), MAX_TRACKED_CLIENTS);
        // Once they went quiet (buckets refilled), the sweep makes room.
        let later = t0 + Duration::from_secs(10);
        assert!(limiter.check(newcomer, later).is_ok());
        assert_eq!(limiter.buckets.lock().expect("lock").by_client.len(), 1);
    }

    #[test]
    fn an_undecodable_request_is_invalid_argument_with_a_reason() {
        // What tonic-prost's codec answers for a body that is not the message.
        let cause = "SubmitEnvelopesRequest.envelopes: invalid wire type: Varint (expected LengthDelimited)";
        let codec = tonic::Status::internal(format!("failed to decode Protobuf message: {cause}"));
        let resp: http::Response<()> = codec.into_http();
        let cause = undecodable_request(&resp).expect("the codec's refusal");
        let status = malformed_request(&cause);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.get_error_details().error_info().map(|i| i.reason.as_str()), Some("MALFORMED_REQUEST"));
        assert!(status.message().contains("invalid wire type"), "{}", status.message());
        // The node's own INTERNAL answers carry an ErrorInfo and stay as they are.
        let own = crate::status::reason(Code::Internal, "MALFORMED_ANSWER", "failed to decode Protobuf message: x");
        assert_eq!(undecodable_request(&own.into_http::<()>()), None);
        assert_eq!(undecodable_request(&tonic::Status::internal("other").into_http::<()>()), None);
    }

    #[test]
    fn a_rate_limited_status_carries_the_reason_and_retry_info() {
        let status = rate_limited(Duration::from_millis(250));
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        assert_eq!(details.error_info().map(|i| i.reason.as_str()), Some("RATE_LIMITED"));
        assert_eq!(details.retry_info().and_then(|r| r.retry_delay), Some(Duration::from_millis(250)));
    }
}
