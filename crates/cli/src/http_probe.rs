//! A minimal HTTP/1.0 GET for the ops endpoints (`/readyz`, `/metrics`),
//! so the CLI needs no HTTP client library for them.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// GETs `path` from `base` (`http://host:port`); returns the status code
/// and the body. Bounded: 2 s timeouts, at most 16 MiB of answer.
pub fn get(base: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let Some(authority) = base.strip_prefix("http://") else { bail!("{base:?} is not an http:// URL") };
    let authority = authority.trim_end_matches('/');
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} has no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.take(16 * 1024 * 1024).read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .with_context(|| format!("{base}{path}: not an HTTP answer"))?;
    Ok((code, body.to_owned()))
}
