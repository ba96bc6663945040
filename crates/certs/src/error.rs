//! [`CertError`]: what making, reading or writing certificates can fail with.

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

/// What a PEM block should have held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemKind {
    /// An X.509 certificate ("CERTIFICATE").
    Certificate,
    /// A private key ("PRIVATE KEY", PKCS#8).
    PrivateKey,
}

impl std::fmt::Display for PemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Certificate => "certificate",
            Self::PrivateKey => "private key",
        })
    }
}

/// An error of this crate.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A common name or node name is empty.
    #[error("the {what} is empty")]
    EmptyName {
        /// Which name, e.g. "node name".
        what: &'static str,
    },
    /// A node certificate was asked for with no host names or addresses.
    #[error("node {name:?}: no hosts; list the DNS names and IP addresses it is reached by")]
    NoHosts {
        /// The node name.
        name: String,
    },
    /// A host is neither an IP address nor a DNS name.
    #[error("invalid host {host:?}: {reason}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A validity period is zero or too long to represent.
    #[error("invalid validity period {validity:?}")]
    InvalidValidity {
        /// The period as given.
        validity: Duration,
    },
    /// The certificate would stay valid after the CA certificate expires.
    #[error(
        "certificate {common_name:?} would be valid until {not_after}, after its CA expires ({ca_not_after}); ask for a shorter validity or make a new CA"
    )]
    OutlivesCa {
        /// The certificate's common name.
        common_name: String,
        /// When it would expire.
        not_after: OffsetDateTime,
        /// When the CA expires.
        ca_not_after: OffsetDateTime,
    },
    /// Making a key or signing a certificate failed.
    #[error("cannot make the {what}: {source}")]
    Generate {
        /// What was being made, e.g. "CA certificate".
        what: &'static str,
        /// The cause.
        #[source]
        source: rcgen::Error,
    },
    /// A PEM text does not hold the expected certificate or key.
    #[error("{}invalid {kind}: {reason}", at(path.as_ref()))]
    InvalidPem {
        /// What it should hold.
        kind: PemKind,
        /// The file it was read from, if any.
        path: Option<PathBuf>,
        /// What is wrong with it.
        reason: String,
    },
    /// The certificate given as a CA is not a CA certificate (no basic constraints CA:true).
    #[error("{}not a CA certificate", at(path.as_ref()))]
    NotCa {
        /// The file it was read from, if any.
        path: Option<PathBuf>,
    },
    /// The private key given for a CA is not the key of its certificate.
    #[error("{}the private key{} is not the key of the CA certificate", at(cert_path.as_ref()), key_path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    KeyMismatch {
        /// The certificate's file, if any.
        cert_path: Option<PathBuf>,
        /// The key's file, if any.
        key_path: Option<PathBuf>,
    },
    /// A file that would be written exists and overwriting was not asked for.
    #[error("{}: already exists; not overwriting it", path.display())]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// Reading a file failed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing a file or making a directory failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// "path: " or nothing.
fn at(path: Option<&PathBuf>) -> String {
    path.map(|p| format!("{}: ", p.display())).unwrap_or_default()
}
