//! [`TlsOptions`]: how a [`Client`](crate::Client) checks a node's certificate and proves its own.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::ClientError;

/// TLS settings of a connection to an `https://` endpoint.
///
/// The client has no built-in root certificates: it trusts the network's CA given here
/// (`--cacert`), and, when nodes require client certificates, presents `client_identity`
/// (`--cert`, `--key`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM certificates of the CA(s) that sign the nodes' certificates. Required.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM certificate (chain) and PEM private key of this client, for nodes that require client
    /// certificates.
    pub client_identity: Option<(Vec<u8>, Vec<u8>)>,
    /// The name the node's certificate must carry, when it is not the endpoint's host (e.g. the
    /// endpoint is an IP address the certificate does not list). Also sent as SNI.
    pub domain: Option<String>,
}

impl std::fmt::Debug for TlsOptions {
    /// Shows what is set, never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_pem", &self.ca_pem.as_ref().map(|pem| format!("{} bytes", pem.len())))
            .field("client_identity", &self.client_identity.as_ref().map(|_| "[certificate and key]"))
            .field("domain", &self.domain)
            .finish()
    }
}

impl TlsOptions {
    /// Reads the CA certificate(s) file (`--cacert`) and this client's certificate and key files
    /// (`--cert`, `--key`; both or neither), checking each holds what it should. Errors name the
    /// file.
    pub fn from_files(ca: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> Result<Self, ClientError> {
        let ca_pem = ca.map(|path| read(path, "CA certificate")).transpose()?;
        if let (Some(pem), Some(path)) = (&ca_pem, ca) {
            check_certificates(pem, Some(path))?;
        }
        let client_identity = match (cert, key) {
            (Some(cert), Some(key)) => {
                let cert_pem = read(cert, "client certificate")?;
                check_certificates(&cert_pem, Some(cert))?;
                let key_pem = read(key, "client key")?;
                check_key(&key_pem, Some(key))?;
                Some((cert_pem, key_pem))
            }
            (None, None) => None,
            (Some(path), None) | (None, Some(path)) => {
                return Err(ClientError::InvalidTls {
                    path: Some(path.to_path_buf()),
                    reason: "a client certificate and its key go together: give both or neither".to_owned(),
                });
            }
        };
        Ok(Self { ca_pem, client_identity, domain: None })
    }

    /// These options as tonic's client TLS configuration, after checking the PEM texts.
    pub(crate) fn to_tonic(&self, default_domain: Option<&str>) -> Result<ClientTlsConfig, ClientError> {
        let Some(ca_pem) = &self.ca_pem else {
            return Err(ClientError::InvalidTls {
                path: None,
                reason: "no CA certificate: the client trusts only the CA it is given (--cacert)".to_owned(),
            });
        };
        check_certificates(ca_pem, None)?;
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
        if let Some((cert_pem, key_pem)) = &self.client_identity {
            check_certificates(cert_pem, None)?;
            check_key(key_pem, None)?;
            config = config.identity(Identity::from_pem(cert_pem, key_pem));
        }
        if let Some(domain) = self.domain.as_deref().or(default_domain) {
            config = config.domain_name(domain);
        }
        Ok(config)
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::ReadFile { what, path: path.to_path_buf(), source })
}

/// Fails unless `pem` holds at least one certificate and nothing unreadable (tonic would skip a
/// bad CA file and fail later with "unknown issuer").
fn check_certificates(pem: &[u8], path: Option<&Path>) -> Result<(), ClientError> {
    let invalid = |reason: &str| ClientError::InvalidTls { path: path.map(PathBuf::from), reason: reason.to_owned() };
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|e| invalid(&format!("unreadable PEM certificate: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(invalid("no PEM certificate (\"-----BEGIN CERTIFICATE-----\") in it"));
    }
    Ok(())
}

/// Fails unless `pem` holds a private key (PKCS#8, PKCS#1 or SEC1).
fn check_key(pem: &[u8], path: Option<&Path>) -> Result<(), ClientError> {
    PrivateKeyDer::from_pem_slice(pem).map(drop).map_err(|e| ClientError::InvalidTls {
        path: path.map(PathBuf::from),
        reason: format!("no readable PEM private key in it: {e}"),
    })
}
