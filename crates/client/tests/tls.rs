//! The client over TLS against an in-test gRPC server (the standard health service) on real TCP,
//! with certificates made by veritrace-certs.

use std::net::SocketAddr;
use std::path::Path;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus as ReportedStatus;
use veritrace_certs::{CertificateAuthority, Existing, IssuedCert};
use veritrace_client::{Client, ClientError, ConnectOptions, ServingStatus, TlsOptions};

const LEDGER_SERVICE: &str = "veritrace.v1.LedgerService";
const STOPPED_SERVICE: &str = "veritrace.v1.ClusterService";

struct Pki {
    ca: CertificateAuthority,
    node: IssuedCert,
}

fn pki() -> Pki {
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
    let node = ca.issue_node("n1", &hosts).expect("node cert");
    Pki { ca, node }
}

/// Serves the health service over TLS with `node`'s certificate on 127.0.0.1:0; with
/// `client_ca`, only clients with a certificate that CA signed get in.
async fn serve(node: &IssuedCert, client_ca: Option<&CertificateAuthority>) -> SocketAddr {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status(LEDGER_SERVICE, ReportedStatus::Serving).await;
    reporter.set_service_status(STOPPED_SERVICE, ReportedStatus::NotServing).await;
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(node.cert_pem(), node.key_pem()));
    if let Some(ca) = client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(ca.cert_pem()));
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = Server::builder().tls_config(tls).expect("server TLS config").add_service(health);
    tokio::spawn(async move {
        // Keep the reporter alive as long as the server: it owns the statuses.
        let _reporter = reporter;
        server.serve_with_incoming(TcpListenerStream::new(listener)).await.expect("serve");
    });
    addr
}

fn trusting(ca: &CertificateAuthority) -> ConnectOptions {
    let tls = TlsOptions { ca_pem: Some(ca.cert_pem().as_bytes().to_vec()), ..TlsOptions::default() };
    ConnectOptions { tls: Some(tls), ..ConnectOptions::default() }
}

fn with_identity(mut options: ConnectOptions, cert: &IssuedCert) -> ConnectOptions {
    if let Some(tls) = &mut options.tls {
        tls.client_identity = Some((cert.cert_pem().as_bytes().to_vec(), cert.key_pem().as_bytes().to_vec()));
    }
    options
}

/// Connects and checks health; a refusal may come at the handshake or at the first call (TLS 1.3
/// lets the server reject a client certificate after the client thinks it is connected).
async fn connect_and_check(endpoint: &str, options: &ConnectOptions) -> Result<ServingStatus, ClientError> {
    Client::connect_with(endpoint, options).await?.health("").await
}

#[tokio::test]
async fn client_trusting_the_ca_gets_serving() {
    let pki = pki();
    let addr = serve(&pki.node, None).await;
    let options = trusting(&pki.ca);
    let client = Client::connect_with(&format!("https://{addr}"), &options).await.expect("connect over TLS");
    assert_eq!(client.endpoint(), format!("https://{addr}"));
    assert_eq!(client.health("").await.expect("health"), ServingStatus::Serving);
    assert_eq!(client.health(LEDGER_SERVICE).await.expect("health"), ServingStatus::Serving);
    assert_eq!(client.health(STOPPED_SERVICE).await.expect("health"), ServingStatus::NotServing);
    assert_eq!(ServingStatus::NotServing.to_string(), "NOT_SERVING");

    // A bare host:port means https when TLS options are given; "localhost" is also in the SANs.
    let bare = Client::connect_with(&format!("localhost:{}", addr.port()), &options).await.expect("bare endpoint");
    assert_eq!(bare.endpoint(), format!("https://localhost:{}", addr.port()));
    assert_eq!(bare.health("").await.expect("health"), ServingStatus::Serving);
}

#[tokio::test]
async fn client_trusting_another_ca_is_refused_with_a_clear_error() {
    let pki = pki();
    let addr = serve(&pki.node, None).await;
    let other = CertificateAuthority::generate("Other CA").expect("CA");
    let err = Client::connect_with(&format!("https://{addr}"), &trusting(&other)).await.expect_err("untrusted server");
    let ClientError::Connect { detail, .. } = &err else { panic!("not a Connect error: {err:?}") };
    assert!(detail.contains("UnknownIssuer") && detail.contains("not signed by the CA"), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn a_name_the_node_certificate_does_not_list_is_refused() {
    let pki = pki();
    let addr = serve(&pki.node, None).await;
    let mut options = trusting(&pki.ca);
    if let Some(tls) = &mut options.tls {
        tls.domain = Some("n9.example.org".to_owned());
    }
    let err = Client::connect_with(&format!("https://{addr}"), &options).await.expect_err("wrong name");
    let ClientError::Connect { detail, .. } = &err else { panic!("not a Connect error: {err:?}") };
    assert!(detail.contains("not valid for name \"n9.example.org\""), "{err}");
}

#[tokio::test]
async fn a_plain_client_cannot_talk_to_a_tls_node() {
    let pki = pki();
    let addr = serve(&pki.node, None).await;
    let result = connect_and_check(&format!("http://{addr}"), &ConnectOptions::default()).await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn node_requiring_client_certificates_admits_only_the_ca_s_clients() {
    let pki = pki();
    let addr = serve(&pki.node, Some(&pki.ca)).await;
    let endpoint = format!("https://{addr}");

    let err = connect_and_check(&endpoint, &trusting(&pki.ca)).await.expect_err("no client certificate");
    assert_refused(&err, "CertificateRequired");

    let stranger = CertificateAuthority::generate("Other CA").expect("CA").issue_client("mallory").expect("cert");
    let err = connect_and_check(&endpoint, &with_identity(trusting(&pki.ca), &stranger)).await.expect_err("foreign");
    assert_refused(&err, "UnknownCA");

    let operator = pki.ca.issue_client("operator").expect("client cert");
    let status = connect_and_check(&endpoint, &with_identity(trusting(&pki.ca), &operator)).await;
    assert_eq!(status.expect("admitted"), ServingStatus::Serving);
    // A node certificate also serves as a client certificate (node-to-node, operator tools on a node).
    let status = connect_and_check(&endpoint, &with_identity(trusting(&pki.ca), &pki.node)).await;
    assert_eq!(status.expect("admitted"), ServingStatus::Serving);
}

#[tokio::test]
async fn unknown_health_service_is_a_clear_error() {
    let pki = pki();
    let addr = serve(&pki.node, None).await;
    let client = Client::connect_with(&format!("https://{addr}"), &trusting(&pki.ca)).await.expect("connect");
    let err = client.health("no.such.Service").await.expect_err("unknown service");
    assert!(matches!(&err, ClientError::UnknownHealthService { service } if service == "no.such.Service"), "{err:?}");
    assert!(err.to_string().contains("no.such.Service"), "{err}");
}

#[tokio::test]
async fn scheme_and_tls_options_must_agree() {
    let pki = pki();
    let err = Client::connect_with("https://127.0.0.1:1", &ConnectOptions::default()).await.expect_err("https, no TLS");
    assert!(matches!(&err, ClientError::InvalidEndpoint { reason, .. } if reason.contains("https://")), "{err}");
    let err = Client::connect_with("http://127.0.0.1:1", &trusting(&pki.ca)).await.expect_err("http with TLS");
    assert!(matches!(&err, ClientError::InvalidEndpoint { reason, .. } if reason.contains("http://")), "{err}");
    let no_ca = ConnectOptions { tls: Some(TlsOptions::default()), ..ConnectOptions::default() };
    let err = Client::connect_with("https://127.0.0.1:1", &no_ca).await.expect_err("no CA");
    assert!(matches!(err, ClientError::InvalidTls { .. }), "{err}");
}

#[tokio::test]
async fn tls_options_from_files_connect_and_name_bad_files() {
    let pki = pki();
    let addr = serve(&pki.node, Some(&pki.ca)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = pki.ca.write_pem_pair(dir.path(), "ca", Existing::Refuse).expect("write CA");
    let client = pki.ca.issue_client("operator").expect("cert");
    let client = client.write_pem_pair(dir.path(), "client.operator", Existing::Refuse).expect("write client");

    let tls = TlsOptions::from_files(Some(&ca.cert), Some(&client.cert), Some(&client.key)).expect("read files");
    let options = ConnectOptions { tls: Some(tls), ..ConnectOptions::default() };
    assert_eq!(connect_and_check(&format!("https://{addr}"), &options).await.expect("health"), ServingStatus::Serving);

    let missing = dir.path().join("missing.crt");
    let err = TlsOptions::from_files(Some(&missing), None, None).expect_err("missing");
    assert!(matches!(&err, ClientError::ReadFile { path, .. } if *path == missing), "{err}");
    assert!(err.to_string().contains("missing.crt"), "{err}");

    // A key given as the CA, a certificate given as the key, a certificate without its key.
    let err = TlsOptions::from_files(Some(&ca.key), None, None).expect_err("key as CA");
    assert_invalid_file(&err, &ca.key);
    let err = TlsOptions::from_files(Some(&ca.cert), Some(&client.cert), Some(&client.cert)).expect_err("cert as key");
    assert_invalid_file(&err, &client.cert);
    let err = TlsOptions::from_files(Some(&ca.cert), Some(&client.cert), None).expect_err("no key");
    assert_invalid_file(&err, &client.cert);
}

/// With TLS 1.3 the client finishes its side of the handshake before the node checks its
/// certificate, so the node's refusal (a TLS alert) comes back on the first call, as an `Rpc` error
/// whose message names the alert.
fn assert_refused(err: &ClientError, alert: &str) {
    match err {
        ClientError::Connect { detail, .. } => assert!(detail.contains(alert), "{err}"),
        ClientError::Rpc { message, .. } => assert!(message.contains(alert), "{err}"),
        other => panic!("not a connection refusal: {other:?}"),
    }
}

fn assert_invalid_file(err: &ClientError, file: &Path) {
    assert!(matches!(err, ClientError::InvalidTls { path: Some(p), .. } if p == file), "{err:?}");
    assert!(err.to_string().starts_with(&file.display().to_string()), "{err}");
}
