//! Certificate signing requests: a node's TLS key is made on the node's
//! own host and never leaves it; the CA signs the request.
//!
//! The CA decides everything but the name, the host names and the key: a
//! request that asks to be a CA, for other key usages or for a long
//! validity gets none of it.

use rcgen::{
    CertificateParams, CertificateSigningRequestParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::{CertError, CertificateAuthority, DEFAULT_LEAF_VALIDITY, check_name, host_san, subject, validity_window};

/// A request for node `name`'s certificate with these `hosts` as its
/// subject alternative names, and its new private key: (request PEM, key
/// PEM). The key stays with the node; the request goes to the CA.
pub fn node_request(name: &str, hosts: &[String]) -> Result<(String, String), CertError> {
    check_name("node name", name)?;
    if hosts.is_empty() {
        return Err(CertError::NoHosts { name: name.to_owned() });
    }
    let mut sans: Vec<SanType> = Vec::new();
    for host in hosts {
        let san = host_san(host)?;
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(name);
    params.subject_alt_names = sans;
    let key = KeyPair::generate().map_err(|source| CertError::Generate { what: "key", source })?;
    let request =
        params.serialize_request(&key).map_err(|source| CertError::Generate { what: "certificate request", source })?;
    let pem = request.pem().map_err(|source| CertError::Generate { what: "certificate request", source })?;
    Ok((pem, key.serialize_pem()))
}

/// A request's common name and subject alternative names, for the CA's
/// operator to read before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSummary {
    /// The node's name.
    pub common_name: String,
    /// The host names and addresses asked for.
    pub hosts: Vec<String>,
}

fn parse(csr_pem: &str) -> Result<(CertificateSigningRequestParams, RequestSummary), CertError> {
    let csr = CertificateSigningRequestParams::from_pem(csr_pem)
        .map_err(|source| CertError::Generate { what: "certificate request (it does not parse or verify)", source })?;
    let common_name = match csr.params.distinguished_name.get(&DnType::CommonName) {
        Some(DnValue::Utf8String(s)) => s.clone(),
        Some(DnValue::PrintableString(s)) => s.as_str().to_owned(),
        _ => String::new(),
    };
    check_name("node name", &common_name)?;
    let hosts = csr
        .params
        .subject_alt_names
        .iter()
        .map(|san| match san {
            SanType::DnsName(d) => d.as_str().to_owned(),
            SanType::IpAddress(ip) => ip.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    Ok((csr, RequestSummary { common_name, hosts }))
}

/// What a request asks for.
pub fn read_request(csr_pem: &str) -> Result<RequestSummary, CertError> {
    Ok(parse(csr_pem)?.1)
}

impl CertificateAuthority {
    /// Signs a node's certificate request as [`CertificateAuthority::issue_node`]
    /// issues one (server and client usages, [`DEFAULT_LEAF_VALIDITY`], not a
    /// CA), keeping only the request's name, host names and key. Returns
    /// the certificate PEM.
    pub fn sign_node_request(&self, csr_pem: &str) -> Result<String, CertError> {
        let (mut csr, summary) = parse(csr_pem)?;
        if !csr.params.subject_alt_names.iter().all(|s| matches!(s, SanType::DnsName(_) | SanType::IpAddress(_))) {
            return Err(CertError::InvalidHost {
                host: summary.hosts.join(", "),
                reason: "only DNS names and IP addresses".into(),
            });
        }
        let (not_before, not_after) = validity_window(DEFAULT_LEAF_VALIDITY)?;
        if not_after > self.not_after {
            return Err(CertError::OutlivesCa {
                common_name: summary.common_name,
                not_after,
                ca_not_after: self.not_after,
            });
        }
        let p = &mut csr.params;
        p.distinguished_name = subject(&summary.common_name);
        p.not_before = not_before;
        p.not_after = not_after;
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        p.custom_extensions.clear();
        let cert = csr.signed_by(&self.issuer).map_err(|source| CertError::Generate { what: "certificate", source })?;
        Ok(cert.pem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_signed_by_the_ca_keeps_its_names_and_key_and_nothing_else() {
        let ca = CertificateAuthority::generate("test CA").unwrap_or_else(|e| panic!("{e}"));
        let hosts = vec!["n1.acme.example".to_owned(), "127.0.0.1".to_owned()];
        let (csr, key_pem) = node_request("acme-node", &hosts).unwrap_or_else(|e| panic!("{e}"));
        assert!(csr.contains("CERTIFICATE REQUEST") && key_pem.contains("PRIVATE KEY"));
        let asked = read_request(&csr).ok().map(|r| (r.common_name, r.hosts));
        assert_eq!(asked, Some(("acme-node".to_owned(), hosts)));
        let cert = ca.sign_node_request(&csr).unwrap_or_else(|e| panic!("{e}"));
        let (_, pem) = x509_parser::pem::parse_x509_pem(cert.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let x509 = pem.parse_x509().unwrap_or_else(|e| panic!("{e}"));
        assert!(!x509.is_ca(), "a request never makes a CA");
        // The certificate carries the requester's key, which never left it.
        let key = KeyPair::from_pem(&key_pem).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.public_key_raw(), x509.public_key().subject_public_key.data.as_ref());
        assert!(ca.sign_node_request("not a request").is_err());
    }
}
