//! Certificates made here parse back with the fields asked for, and the PEM files are written safely.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use veritrace_certs::{CertError, CertificateAuthority, Existing, IssuedCert};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::{Pem, parse_x509_pem};

fn hosts(list: &[&str]) -> Vec<String> {
    list.iter().map(|h| (*h).to_owned()).collect()
}

fn pem(text: &str) -> Pem {
    parse_x509_pem(text.as_bytes()).expect("PEM").1
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).unwrap_or_default().to_owned()
}

/// (DNS names, IP addresses) of a certificate's SAN extension.
fn sans(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<IpAddr>) {
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    if let Some(ext) = cert.subject_alternative_name().expect("SAN extension parses") {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push((*d).to_owned()),
                GeneralName::IPAddress(bytes) => ips.push(match bytes.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*bytes).expect("v4")),
                    16 => IpAddr::from(<[u8; 16]>::try_from(*bytes).expect("v6")),
                    n => panic!("IP SAN of {n} bytes"),
                }),
                other => panic!("unexpected SAN {other:?}"),
            }
        }
    }
    (dns, ips)
}

/// Checks `leaf` is signed by `ca`'s key and names it as issuer.
fn assert_issued_by(leaf: &IssuedCert, ca: &CertificateAuthority) {
    let (leaf_pem, ca_pem) = (pem(leaf.cert_pem()), pem(ca.cert_pem()));
    let (leaf_x509, ca_x509) = (leaf_pem.parse_x509().expect("leaf parses"), ca_pem.parse_x509().expect("CA parses"));
    assert_eq!(leaf_x509.issuer(), ca_x509.subject());
    leaf_x509.verify_signature(Some(ca_x509.public_key())).expect("signed by the CA");
    assert!(!leaf_x509.is_ca());
}

#[test]
fn ca_is_a_self_signed_ca_valid_for_ten_years() {
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let parsed = pem(ca.cert_pem());
    let x509 = parsed.parse_x509().expect("parses");
    assert!(x509.is_ca());
    assert_eq!(common_name(&x509), "Test CA");
    x509.verify_signature(None).expect("self-signed");
    let days = (x509.validity().not_after.to_datetime() - time::OffsetDateTime::now_utc()).whole_days();
    assert!((3640..=3650).contains(&days), "{days} days");
    assert!(ca.key_pem().contains("PRIVATE KEY"));
}

#[test]
fn node_cert_has_the_given_dns_and_ip_sans_and_both_usages() {
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let given = hosts(&["localhost", "127.0.0.1", "n1.example.org", "::1", "localhost"]);
    let node = ca.issue_node("n1", &given).expect("node cert");
    assert_issued_by(&node, &ca);
    let parsed = pem(node.cert_pem());
    let x509 = parsed.parse_x509().expect("parses");
    assert_eq!(common_name(&x509), "n1");
    let (dns, ips) = sans(&x509);
    assert_eq!(dns, ["localhost", "n1.example.org"]);
    assert_eq!(ips, [IpAddr::from([127, 0, 0, 1]), "::1".parse::<IpAddr>().expect("ip")]);
    let eku = x509.extended_key_usage().expect("EKU parses").expect("EKU present").value;
    assert!(eku.server_auth && eku.client_auth);
    let days = (node.not_after() - time::OffsetDateTime::now_utc()).whole_days();
    assert!((360..=365).contains(&days), "{days} days");
}

#[test]
fn client_cert_is_client_auth_only() {
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let client = ca.issue_client("operator").expect("client cert");
    assert_issued_by(&client, &ca);
    let parsed = pem(client.cert_pem());
    let x509 = parsed.parse_x509().expect("parses");
    assert_eq!(common_name(&x509), "operator");
    let eku = x509.extended_key_usage().expect("EKU parses").expect("EKU present").value;
    assert!(eku.client_auth && !eku.server_auth);
    assert_eq!(sans(&x509), (vec![], vec![]));
}

#[test]
fn bad_requests_are_refused() {
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    assert!(matches!(ca.issue_node("n1", &[]), Err(CertError::NoHosts { .. })));
    let err = ca.issue_node("n1", &hosts(&["localhost", "bad host"])).expect_err("bad host");
    assert!(matches!(&err, CertError::InvalidHost { host, .. } if host == "bad host"), "{err}");
    assert!(matches!(ca.issue_client(" "), Err(CertError::EmptyName { .. })));
    assert!(matches!(CertificateAuthority::generate(""), Err(CertError::EmptyName { .. })));
    let too_long = ca.issue_client_valid_for("operator", Duration::from_secs(11 * 365 * 86_400));
    assert!(matches!(too_long, Err(CertError::OutlivesCa { .. })), "{too_long:?}");
}

#[test]
fn loaded_ca_issues_like_the_original() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let paths = ca.write_pem_pair(dir.path(), "ca", Existing::Refuse).expect("write");
    assert_eq!(paths.cert, dir.path().join("ca.crt"));
    assert_eq!(paths.key, dir.path().join("ca.key"));

    let loaded = CertificateAuthority::load(&paths.cert, &paths.key).expect("load");
    assert_eq!(loaded.cert_pem(), ca.cert_pem());
    assert_eq!(loaded.key_pem(), ca.key_pem());
    assert_eq!(loaded.not_after(), ca.not_after());
    let node = loaded.issue_node("n2", &hosts(&["127.0.0.1"])).expect("node cert from the loaded CA");
    assert_issued_by(&node, &ca);
}

#[test]
fn load_refuses_a_leaf_a_wrong_key_and_missing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let other = CertificateAuthority::generate("Other CA").expect("CA");
    let node = ca.issue_node("n1", &hosts(&["localhost"])).expect("node");
    let ca_paths = ca.write_pem_pair(dir.path(), "ca", Existing::Refuse).expect("write");
    let other_paths = other.write_pem_pair(dir.path(), "other", Existing::Refuse).expect("write");
    let node_paths = node.write_pem_pair(dir.path(), "node", Existing::Refuse).expect("write");

    let err = CertificateAuthority::load(&node_paths.cert, &node_paths.key).expect_err("a leaf is no CA");
    assert!(matches!(&err, CertError::NotCa { path: Some(p) } if *p == node_paths.cert), "{err}");
    let err = CertificateAuthority::load(&ca_paths.cert, &other_paths.key).expect_err("wrong key");
    assert!(matches!(err, CertError::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("other.key"), "{err}");
    let missing = dir.path().join("missing.crt");
    let err = CertificateAuthority::load(&missing, &ca_paths.key).expect_err("missing");
    assert!(matches!(&err, CertError::Read { path, .. } if *path == missing), "{err}");
    assert!(err.to_string().contains("missing.crt"), "{err}");
    let err = CertificateAuthority::load(&ca_paths.key, &ca_paths.key).expect_err("a key is no certificate");
    assert!(matches!(err, CertError::InvalidPem { .. }), "{err}");
    assert!(err.to_string().starts_with(&ca_paths.key.display().to_string()), "{err}");
}

#[test]
fn write_refuses_to_overwrite_unless_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let first = ca.issue_client("a").expect("cert");
    let second = ca.issue_client("b").expect("cert");
    let paths = first.write_pem_pair(dir.path(), "client", Existing::Refuse).expect("first write");

    let err = second.write_pem_pair(dir.path(), "client", Existing::Refuse).expect_err("exists");
    assert!(matches!(&err, CertError::Exists { path } if *path == paths.cert), "{err}");
    assert!(err.to_string().contains("client.crt"), "{err}");
    assert_eq!(read(&paths.cert), first.cert_pem());
    assert_eq!(read(&paths.key), first.key_pem());

    // Only the key exists: still refused, and no certificate is left behind.
    std::fs::remove_file(&paths.cert).expect("rm");
    let err = second.write_pem_pair(dir.path(), "client", Existing::Refuse).expect_err("key exists");
    assert!(matches!(&err, CertError::Exists { path } if *path == paths.key), "{err}");
    assert!(!paths.cert.exists());

    second.write_pem_pair(dir.path(), "client", Existing::Overwrite).expect("overwrite");
    assert_eq!(read(&paths.cert), second.cert_pem());
    assert_eq!(read(&paths.key), second.key_pem());
}

#[test]
fn write_creates_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = dir.path().join("certs/n1");
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let paths = ca.write_pem_pair(&nested, "ca", Existing::Refuse).expect("write");
    assert!(paths.cert.starts_with(&nested));
    assert!(matches!(ca.write_pem_pair(&nested, "a/b", Existing::Refuse), Err(CertError::Write { .. })));
}

#[cfg(unix)]
#[test]
fn key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let paths = ca.write_pem_pair(dir.path(), "ca", Existing::Refuse).expect("write");
    assert_eq!(mode(&paths.key), 0o600);
    assert_eq!(mode(&paths.cert) & 0o600, 0o600);
    // Overwriting a key file that had been made readable by all gives a private one again.
    std::fs::set_permissions(&paths.key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    ca.write_pem_pair(dir.path(), "ca", Existing::Overwrite).expect("overwrite");
    assert_eq!(mode(&paths.key), 0o600);
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}
