//! Certificates for a test or small Veritrace network's gRPC TLS, in the manner of
//! `cockroach cert` or `cfssl`.
//!
//! A [`CertificateAuthority`] is made once ([`generate`](CertificateAuthority::generate)) and kept
//! as two PEM files ([`write_pem_pair`](CertificateAuthority::write_pem_pair), read back with
//! [`load`](CertificateAuthority::load)). It issues
//!
//! - node certificates ([`issue_node`](CertificateAuthority::issue_node)): server and client
//!   authentication, valid for the DNS names and IP addresses the caller lists; and
//! - client certificates ([`issue_client`](CertificateAuthority::issue_client)): client
//!   authentication only, for operators and tools when nodes require client certificates.
//!
//! Keys are ECDSA P-256 with SHA-256 signatures, which every TLS stack accepts. Certificates start
//! to be valid one hour before they are made, so a peer whose clock is a little behind accepts
//! them.
//!
//! ```no_run
//! # fn run() -> Result<(), veritrace_certs::CertError> {
//! use std::path::Path;
//! use veritrace_certs::{CertificateAuthority, Existing};
//!
//! let dir = Path::new("certs");
//! let ca = CertificateAuthority::generate("Veritrace test CA")?;
//! ca.write_pem_pair(dir, "ca", Existing::Refuse)?;
//! let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned(), "n1.example.org".to_owned()];
//! ca.issue_node("n1", &hosts)?.write_pem_pair(dir, "node", Existing::Refuse)?;
//! ca.issue_client("operator")?.write_pem_pair(dir, "client.operator", Existing::Refuse)?;
//! # Ok(())
//! # }
//! ```

mod error;
mod pem_files;
mod request;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

pub use error::{CertError, PemKind};
pub use pem_files::{Existing, PemPaths};
pub use request::{RequestSummary, node_request, read_request};

/// How long a CA made by [`CertificateAuthority::generate`] is valid: ten years.
pub const DEFAULT_CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
/// How long a node or client certificate is valid unless the caller says otherwise: one year.
pub const DEFAULT_LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// How far before "now" every certificate's validity starts, for peers whose clocks are behind.
pub const BACKDATE: Duration = Duration::from_secs(60 * 60);

/// Organization (O) of every certificate's subject.
const ORGANIZATION: &str = "Veritrace";

/// A certificate authority: its certificate and private key, which sign node and client
/// certificates.
pub struct CertificateAuthority {
    cert_pem: String,
    key_pem: String,
    not_after: OffsetDateTime,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for CertificateAuthority {
    /// Shows the validity end, never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority").field("not_after", &self.not_after).finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Makes a new self-signed CA named `common_name`, valid for [`DEFAULT_CA_VALIDITY`].
    pub fn generate(common_name: &str) -> Result<Self, CertError> {
        Self::generate_valid_for(common_name, DEFAULT_CA_VALIDITY)
    }

    /// Makes a new self-signed CA named `common_name`, valid for `validity` from now.
    pub fn generate_valid_for(common_name: &str, validity: Duration) -> Result<Self, CertError> {
        check_name("CA common name", common_name)?;
        let (not_before, not_after) = validity_window(validity)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(common_name);
        params.not_before = not_before;
        params.not_after = not_after;
        // Signs end-entity certificates only: no intermediate CAs below it.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().map_err(|source| CertError::Generate { what: "CA key", source })?;
        let cert = params.self_signed(&key).map_err(|source| CertError::Generate { what: "CA certificate", source })?;
        Ok(Self { cert_pem: cert.pem(), key_pem: key.serialize_pem(), not_after, issuer: Issuer::new(params, key) })
    }

    /// Reads a CA from its certificate and private key PEM files, as written by
    /// [`write_pem_pair`](Self::write_pem_pair) (or by another tool: any CA certificate with an
    /// ECDSA, Ed25519 or RSA key in PKCS#8). Refuses a certificate that is not a CA, or a key that is
    /// not the certificate's.
    pub fn load(cert_pem_path: &Path, key_pem_path: &Path) -> Result<Self, CertError> {
        let cert_pem = pem_files::read(cert_pem_path)?;
        let key_pem = pem_files::read(key_pem_path)?;
        Self::parse(cert_pem, key_pem, Some(cert_pem_path), Some(key_pem_path))
    }

    /// A CA from its certificate and private key in PEM text; see [`load`](Self::load).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CertError> {
        Self::parse(cert_pem.to_owned(), key_pem.to_owned(), None, None)
    }

    fn parse(
        cert_pem: String,
        key_pem: String,
        cert_path: Option<&Path>,
        key_path: Option<&Path>,
    ) -> Result<Self, CertError> {
        let bad_cert = |reason: String| CertError::InvalidPem {
            kind: PemKind::Certificate,
            path: cert_path.map(Path::to_path_buf),
            reason,
        };
        let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|e| bad_cert(e.to_string()))?;
        let x509 = pem.parse_x509().map_err(|e| bad_cert(e.to_string()))?;
        if !x509.is_ca() {
            return Err(CertError::NotCa { path: cert_path.map(Path::to_path_buf) });
        }
        let key = KeyPair::from_pem(&key_pem).map_err(|e| CertError::InvalidPem {
            kind: PemKind::PrivateKey,
            path: key_path.map(Path::to_path_buf),
            reason: e.to_string(),
        })?;
        if key.public_key_raw() != x509.public_key().subject_public_key.data.as_ref() {
            return Err(CertError::KeyMismatch {
                cert_path: cert_path.map(Path::to_path_buf),
                key_path: key_path.map(Path::to_path_buf),
            });
        }
        let not_after = x509.validity().not_after.to_datetime();
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| bad_cert(e.to_string()))?;
        Ok(Self { cert_pem, key_pem, not_after, issuer })
    }

    /// The CA certificate in PEM: what nodes and clients trust (`--cacert`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key in PKCS#8 PEM. Secret: whoever has it can issue certificates the
    /// network trusts.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// When the CA certificate stops being valid. No certificate it issues may outlive it.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Issues a certificate for node `name`, valid for [`DEFAULT_LEAF_VALIDITY`]; see
    /// [`issue_node_valid_for`](Self::issue_node_valid_for).
    pub fn issue_node(&self, name: &str, hosts: &[String]) -> Result<IssuedCert, CertError> {
        self.issue_node_valid_for(name, hosts, DEFAULT_LEAF_VALIDITY)
    }

    /// Issues a certificate for node `name` (its common name) usable both as a TLS server and as a
    /// TLS client, valid for `validity` from now. Its subject alternative names are exactly
    /// `hosts`, in order and without repeats: each one that parses as an IP address is an IP SAN,
    /// every other one a DNS name (a leading "*." makes a wildcard). A client checks the name it
    /// dialled against these, so list every name and address the node is reached by, including
    /// "localhost" and "127.0.0.1" if local tools use them.
    pub fn issue_node_valid_for(
        &self,
        name: &str,
        hosts: &[String],
        validity: Duration,
    ) -> Result<IssuedCert, CertError> {
        check_name("node name", name)?;
        if hosts.is_empty() {
            return Err(CertError::NoHosts { name: name.to_owned() });
        }
        let mut sans: Vec<SanType> = Vec::with_capacity(hosts.len());
        for host in hosts {
            let san = host_san(host)?;
            if !sans.contains(&san) {
                sans.push(san);
            }
        }
        let usages = [ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(name, sans, &usages, validity)
    }

    /// Issues a client certificate for `common_name` (e.g. an operator or tool), valid for
    /// [`DEFAULT_LEAF_VALIDITY`]; see [`issue_client_valid_for`](Self::issue_client_valid_for).
    pub fn issue_client(&self, common_name: &str) -> Result<IssuedCert, CertError> {
        self.issue_client_valid_for(common_name, DEFAULT_LEAF_VALIDITY)
    }

    /// Issues a certificate for `common_name` usable only as a TLS client, valid for `validity`
    /// from now. It has no subject alternative names.
    pub fn issue_client_valid_for(&self, common_name: &str, validity: Duration) -> Result<IssuedCert, CertError> {
        check_name("client common name", common_name)?;
        self.issue(common_name, Vec::new(), &[ExtendedKeyUsagePurpose::ClientAuth], validity)
    }

    fn issue(
        &self,
        common_name: &str,
        sans: Vec<SanType>,
        usages: &[ExtendedKeyUsagePurpose],
        validity: Duration,
    ) -> Result<IssuedCert, CertError> {
        let (not_before, not_after) = validity_window(validity)?;
        if not_after > self.not_after {
            return Err(CertError::OutlivesCa {
                common_name: common_name.to_owned(),
                not_after,
                ca_not_after: self.not_after,
            });
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(common_name);
        params.subject_alt_names = sans;
        params.not_before = not_before;
        params.not_after = not_after;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = usages.to_vec();
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(|source| CertError::Generate { what: "key", source })?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|source| CertError::Generate { what: "certificate", source })?;
        Ok(IssuedCert { cert_pem: cert.pem(), key_pem: key.serialize_pem(), not_after })
    }

    /// Writes the CA as `dir/stem.crt` and `dir/stem.key`; see [`IssuedCert::write_pem_pair`].
    pub fn write_pem_pair(&self, dir: &Path, stem: &str, existing: Existing) -> Result<PemPaths, CertError> {
        pem_files::write_pair(dir, stem, &self.cert_pem, &self.key_pem, existing)
    }
}

/// A node or client certificate and its new private key, issued by a [`CertificateAuthority`].
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCert {
    cert_pem: String,
    key_pem: String,
    not_after: OffsetDateTime,
}

impl std::fmt::Debug for IssuedCert {
    /// Shows the validity end, never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert").field("not_after", &self.not_after).finish_non_exhaustive()
    }
}

impl IssuedCert {
    /// The certificate in PEM (`--cert`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The private key in PKCS#8 PEM (`--key`). Secret.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// When the certificate stops being valid.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Writes the certificate to `dir/stem.crt` and the key to `dir/stem.key` (mode 0600 on
    /// unix), creating `dir` if needed. With [`Existing::Refuse`] nothing is written when either
    /// file already exists. Errors name the path.
    pub fn write_pem_pair(&self, dir: &Path, stem: &str, existing: Existing) -> Result<PemPaths, CertError> {
        pem_files::write_pair(dir, stem, &self.cert_pem, &self.key_pem, existing)
    }
}

/// The paths `write_pem_pair(dir, stem, ..)` writes: `dir/stem.crt` and `dir/stem.key`.
pub fn pem_pair_paths(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
    (dir.join(format!("{stem}.crt")), dir.join(format!("{stem}.key")))
}

fn subject(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, ORGANIZATION);
    name.push(DnType::CommonName, common_name);
    name
}

fn check_name(what: &'static str, name: &str) -> Result<(), CertError> {
    if name.trim().is_empty() {
        return Err(CertError::EmptyName { what });
    }
    Ok(())
}

/// The SAN of one `hosts` entry: an IP address if it parses as one (also "[::1]"), else a DNS name.
fn host_san(host: &str) -> Result<SanType, CertError> {
    let invalid = |reason: String| CertError::InvalidHost { host: host.to_owned(), reason };
    let trimmed = host.trim();
    if trimmed.is_empty() {
        return Err(invalid("empty".to_owned()));
    }
    let unbracketed = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(trimmed);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let valid = trimmed.strip_prefix("*.").unwrap_or(trimmed).split('.').all(|label| {
        !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !valid || trimmed.len() > 253 {
        return Err(invalid("not an IP address or DNS name (letters, digits, '-' and '.')".to_owned()));
    }
    let dns = trimmed.to_owned().try_into().map_err(|e: rcgen::Error| invalid(e.to_string()))?;
    Ok(SanType::DnsName(dns))
}

/// `[now - BACKDATE, now + validity]`.
fn validity_window(validity: Duration) -> Result<(OffsetDateTime, OffsetDateTime), CertError> {
    if validity.is_zero() {
        return Err(CertError::InvalidValidity { validity });
    }
    // Whole seconds: what the certificate records, so a loaded CA compares like a generated one.
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let not_after = time::Duration::try_from(validity)
        .ok()
        .and_then(|v| now.checked_add(v))
        .ok_or(CertError::InvalidValidity { validity })?;
    Ok((now - BACKDATE, not_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_become_ip_or_dns_sans() {
        assert!(matches!(host_san("127.0.0.1"), Ok(SanType::IpAddress(ip)) if ip.is_loopback()));
        assert!(matches!(host_san("[::1]"), Ok(SanType::IpAddress(ip)) if ip.is_loopback()));
        assert!(matches!(host_san("::1"), Ok(SanType::IpAddress(_))));
        assert!(matches!(host_san("localhost"), Ok(SanType::DnsName(_))));
        assert!(matches!(host_san("*.n.example.org"), Ok(SanType::DnsName(_))));
        for bad in ["", " ", "a..b", "host name", "n1.example.org:7401", "é.example", "*"] {
            assert!(matches!(host_san(bad), Err(CertError::InvalidHost { .. })), "{bad:?} should be refused");
        }
    }

    #[test]
    fn zero_or_huge_validity_is_refused() {
        assert!(matches!(validity_window(Duration::ZERO), Err(CertError::InvalidValidity { .. })));
        assert!(matches!(validity_window(Duration::MAX), Err(CertError::InvalidValidity { .. })));
    }
}
