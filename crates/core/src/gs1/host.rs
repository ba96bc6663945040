//! [`DlHost`]: the scheme and host a label's GS1 Digital Link starts with.
//!
//! GS1 Digital Link lets any domain carry the GS1 keys
//! (`https://{host}/01/{gtin}/21/{serial}`): a network prints its own
//! resolver's host, or a brand its own domain, instead of `id.gs1.org`.
//! The host is printed in millions of QR codes that cannot be reprinted,
//! so it is checked strictly here, once, before any label is made.

use std::fmt;

/// The longest host accepted, in bytes (a QR code's capacity is spent on it
/// on every label).
pub const MAX_DL_HOST_LEN: usize = 100;

/// A Digital Link origin: `https://` or `http://`, a host name or IP
/// address, an optional port; lower case, no path, query, fragment or user
/// information. `Display` gives it as printed before `/01/...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DlHost(String);

/// Why a Digital Link host was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Digital Link host {got:?}: {reason} (expected e.g. \"https://verify.example.com\")")]
pub struct DlHostError {
    /// What was given (cut to 120 characters).
    pub got: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl DlHost {
    /// GS1's own resolver, the default when nothing else is configured.
    pub fn gs1() -> Self {
        DlHost(super::CANONICAL_DL_HOST.to_owned())
    }

    /// Reads an origin such as `https://verify.example.com` or
    /// `http://127.0.0.1:7701`. Scheme and host are lower-cased; one
    /// trailing `/` is dropped.
    pub fn parse(text: &str) -> Result<Self, DlHostError> {
        let fail = |reason| DlHostError { got: text.chars().take(120).collect(), reason };
        if text.len() > MAX_DL_HOST_LEN {
            return Err(fail("longer than 100 bytes"));
        }
        let lower = text.to_ascii_lowercase();
        let (scheme, rest) = if let Some(r) = lower.strip_prefix("https://") {
            ("https://", r)
        } else if let Some(r) = lower.strip_prefix("http://") {
            ("http://", r)
        } else {
            return Err(fail("must start with https:// or http://"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(fail("only scheme, host and port: no path, query or fragment"));
        }
        if rest.contains('@') {
            return Err(fail("no user information"));
        }
        let (host, port) = split_port(rest).ok_or_else(|| fail("the port must be a number from 1 to 65535"))?;
        if !valid_host(host) {
            return Err(fail("the host must be a DNS name (letters, digits, '-', '.') or an IP address"));
        }
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        Ok(DlHost(format!("{scheme}{host}{port}")))
    }

    /// Like [`parse`](Self::parse), but refuses any spelling other than the
    /// normalised one (lower case, no trailing `/`): what a ledger record
    /// holds, so every replica and every label prints the same bytes.
    pub fn parse_normalized(text: &str) -> Result<Self, DlHostError> {
        let host = Self::parse(text)?;
        if host.0 != text {
            return Err(DlHostError {
                got: text.chars().take(120).collect(),
                reason: "write it in lower case without a trailing '/'",
            });
        }
        Ok(host)
    }

    /// The origin as printed, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is GS1's own resolver host.
    pub fn is_gs1(&self) -> bool {
        self.0 == super::CANONICAL_DL_HOST
    }
}

impl fmt::Display for DlHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `host[:port]` (IPv6 literals in brackets); `None` for a bad port.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        match authority.split_once(']') {
            Some((h, "")) => return Some((&authority[..h.len() + 1], None)),
            Some((h, p)) => (&authority[..h.len() + 1], p.strip_prefix(':')?),
            None => return Some((authority, None)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => return Some((authority, None)),
        }
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0 && !port.starts_with('+'))?;
    Some((host, Some(port)))
}

/// A DNS name of labels of letters, digits and inner `-`, or an IP literal.
fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        // A last label of digits only would read as a malformed IPv4 address.
        && !host.rsplit('.').next().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        let ok = |s: &str| DlHost::parse(s).map(|h| h.to_string());
        assert_eq!(ok("https://Verify.Example.COM/"), Ok("https://verify.example.com".into()));
        assert_eq!(ok("HTTP://127.0.0.1:7701"), Ok("http://127.0.0.1:7701".into()));
        assert_eq!(ok("https://[::1]:8443"), Ok("https://[::1]:8443".into()));
        assert_eq!(ok("https://[2001:db8::1]"), Ok("https://[2001:db8::1]".into()));
        assert_eq!(ok("https://localhost"), Ok("https://localhost".into()));
        assert!(DlHost::gs1().is_gs1() && DlHost::parse("https://id.gs1.org").expect("valid").is_gs1());
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for bad in [
            "",
            "verify.example.com",
            "ftp://example.com",
            "https://",
            "https://example.com/path",
            "https://example.com?q",
            "https://example.com#f",
            "https://user@example.com",
            "https://example.com:0",
            "https://example.com:65536",
            "https://example.com:+80",
            "https://example.com:",
            "https://exa mple.com",
            "https://exa_mple.com",
            "https://-example.com",
            "https://example..com",
            "https://1.2.3",
            "https://[::1",
            "https://[nothex]",
            "https://ex\u{e4}mple.com",
        ] {
            assert!(DlHost::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(DlHost::parse_normalized("https://Verify.example.com").is_err());
        assert!(DlHost::parse_normalized("https://verify.example.com/").is_err());
        assert!(DlHost::parse_normalized("https://verify.example.com").is_ok());
        let long = format!("https://{}.com", "a".repeat(95));
        assert_eq!(DlHost::parse(&long).map_err(|e| e.reason), Err("longer than 100 bytes"));
    }
}
