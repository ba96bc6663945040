//! The client over TLS against a real in-process replica (veritrace-testkit) serving its gRPC API
//! with certificates made by veritrace-certs.

use std::path::Path;

use tempfile::TempDir;
use tonic::Code;
use veritrace_certs::{CertificateAuthority, Existing, IssuedCert, PemPaths};
use veritrace_client::{Client, ClientError, ConnectOptions, ServingStatus, TlsOptions};
use veritrace_testkit::{TestCluster, TlsSection};

const LEDGER_SERVICE: &str = "veritrace.v1.LedgerService";
const CLUSTER_SERVICE: &str = "veritrace.v1.ClusterService";

/// A CA and a node certificate for localhost and 127.0.0.1, written as PEM files in `dir`.
struct Pki {
    ca: CertificateAuthority,
    node: IssuedCert,
    ca_files: PemPaths,
    node_files: PemPaths,
    dir: TempDir,
}

fn pki() -> Pki {
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
    let node = ca.issue_node("n1", &hosts).expect("node cert");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_files = ca.write_pem_pair(dir.path(), "ca", Existing::Refuse).expect("write CA");
    let node_files = node.write_pem_pair(dir.path(), "node", Existing::Refuse).expect("write node cert");
    Pki { ca, node, ca_files, node_files, dir }
}

/// A cluster of one voter (and `learners` replicas waiting to be added) serving TLS with `pki`'s
/// node certificate; with `client_ca`, ClusterService admits only clients with a certificate the
/// CA signed. Returns once the voter reports SERVING.
async fn serve(pki: &Pki, client_ca: bool, learners: u64) -> TestCluster {
    let tls = TlsSection {
        cert_file: pki.node_files.cert.clone(),
        key_file: pki.node_files.key.clone(),
        client_ca_file: client_ca.then(|| pki.ca_files.cert.clone()),
        admin_requires_client_cert: true,
    };
    let cluster = TestCluster::builder(1).learners(learners).tls(tls).start().await;
    let waiting: Vec<u64> = (2..=1 + learners).collect();
    cluster.leader(&waiting).await;
    let client = Client::connect_with(&cluster.api(1), &with_identity(trusting(&pki.ca), &pki.node))
        .await
        .expect("connect over TLS");
    cluster
        .eventually("the replica to report SERVING", || async {
            (client.health(LEDGER_SERVICE).await.ok()? == ServingStatus::Serving).then_some(())
        })
        .await;
    cluster
}

/// The port of an endpoint `scheme://host:port`.
fn port(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().and_then(|p| p.parse().ok()).expect("an endpoint with a port")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_trusting_the_ca_gets_serving() {
    let pki = pki();
    // Replica 2 runs but is never added: it has no leader, so it is not ready.
    let cluster = serve(&pki, false, 1).await;
    let options = trusting(&pki.ca);
    let endpoint = cluster.api(1);
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    let client = Client::connect_with(&endpoint, &options).await.expect("connect over TLS");
    assert_eq!(client.endpoint(), endpoint);
    assert_eq!(client.health("").await.expect("health"), ServingStatus::Serving);
    assert_eq!(client.health(LEDGER_SERVICE).await.expect("health"), ServingStatus::Serving);
    assert_eq!(client.health(CLUSTER_SERVICE).await.expect("health"), ServingStatus::Serving);

    let waiting = Client::connect_with(&cluster.api(2), &options).await.expect("connect over TLS");
    cluster
        .eventually("the replica without a leader to report NOT_SERVING", || async {
            (waiting.health(CLUSTER_SERVICE).await.ok()? == ServingStatus::NotServing).then_some(())
        })
        .await;
    assert_eq!(waiting.health("").await.expect("health"), ServingStatus::NotServing);
    assert_eq!(waiting.health(LEDGER_SERVICE).await.expect("health"), ServingStatus::NotServing);
    assert_eq!(ServingStatus::NotServing.to_string(), "NOT_SERVING");

    // A bare host:port means https when TLS options are given; "localhost" is also in the SANs.
    let port = port(&endpoint);
    let bare = Client::connect_with(&format!("localhost:{port}"), &options).await.expect("bare endpoint");
    assert_eq!(bare.endpoint(), format!("https://localhost:{port}"));
    assert_eq!(bare.health("").await.expect("health"), ServingStatus::Serving);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_trusting_another_ca_is_refused_with_a_clear_error() {
    let pki = pki();
    let cluster = serve(&pki, false, 0).await;
    let other = CertificateAuthority::generate("Other CA").expect("CA");
    let endpoint = cluster.api(1);
    let err = Client::connect_with(&endpoint, &trusting(&other)).await.expect_err("untrusted server");
    let ClientError::Connect { detail, .. } = &err else { panic!("not a Connect error: {err:?}") };
    assert!(detail.contains("UnknownIssuer") && detail.contains("not signed by the CA"), "{err}");
    assert!(err.to_string().contains(&endpoint), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_the_node_certificate_does_not_list_is_refused() {
    let pki = pki();
    let cluster = serve(&pki, false, 0).await;
    let mut options = trusting(&pki.ca);
    if let Some(tls) = &mut options.tls {
        tls.domain = Some("n9.example.org".to_owned());
    }
    let err = Client::connect_with(&cluster.api(1), &options).await.expect_err("wrong name");
    let ClientError::Connect { detail, .. } = &err else { panic!("not a Connect error: {err:?}") };
    assert!(detail.contains("not valid for name \"n9.example.org\""), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_client_cannot_talk_to_a_tls_node() {
    let pki = pki();
    let cluster = serve(&pki, false, 0).await;
    let plain = format!("http://127.0.0.1:{}", port(&cluster.api(1)));
    let result = connect_and_check(&plain, &ConnectOptions::default()).await;
    assert!(result.is_err(), "{result:?}");
}

/// With a client CA the handshake admits clients without a certificate (they may read the ledger
/// and the cluster's status) and refuses certificates the CA did not sign. An admin call needs a
/// certificate the CA signed *and* the admin token: a node's certificate is not an admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_with_a_client_ca_admits_only_the_ca_s_clients() {
    let pki = pki();
    let cluster = serve(&pki, true, 0).await;
    let endpoint = cluster.api(1);
    let token = || Some(cluster.admin_token().clone());

    let anonymous = Client::connect_with(&endpoint, &trusting(&pki.ca)).await.expect("no client certificate");
    assert_eq!(anonymous.health("").await.expect("health"), ServingStatus::Serving);
    assert_eq!(anonymous.status().await.expect("status is readable").node_id, 1);
    let err = anonymous.create_snapshot().await.expect_err("an admin call needs a client certificate");
    assert_eq!((err.code(), err.reason()), (Some(Code::Unauthenticated), Some("CLIENT_CERT_REQUIRED")));
    let tokened = ConnectOptions { admin_token: token(), ..trusting(&pki.ca) };
    let err = Client::connect_with(&endpoint, &tokened).await.expect("admitted").create_snapshot().await;
    assert_eq!(err.expect_err("the token alone").reason(), Some("CLIENT_CERT_REQUIRED"));

    let stranger = CertificateAuthority::generate("Other CA").expect("CA").issue_client("mallory").expect("cert");
    let err = connect_and_check(&endpoint, &with_identity(trusting(&pki.ca), &stranger)).await.expect_err("foreign");
    assert_refused(&err, "UnknownCA");

    let operator = pki.ca.issue_client("operator").expect("client cert");
    let client = Client::connect_with(&endpoint, &with_identity(trusting(&pki.ca), &operator)).await.expect("admitted");
    assert_eq!(client.health("").await.expect("health"), ServingStatus::Serving);
    let err = client.create_snapshot().await.expect_err("a certificate without the token");
    assert_eq!(err.reason(), Some("ADMIN_TOKEN_REQUIRED"), "{err}");
    let admin = ConnectOptions { admin_token: token(), ..with_identity(trusting(&pki.ca), &operator) };
    let admin = Client::connect_with(&endpoint, &admin).await.expect("admitted");
    assert!(admin.create_snapshot().await.expect("certificate and token").index > 0);
    // A node certificate passes the handshake, and is not an admin.
    let node = Client::connect_with(&endpoint, &with_identity(trusting(&pki.ca), &pki.node)).await.expect("admitted");
    assert_eq!(node.health("").await.expect("health"), ServingStatus::Serving);
    let err = node.create_snapshot().await.expect_err("a node certificate is not an admin");
    assert_eq!(err.reason(), Some("ADMIN_TOKEN_REQUIRED"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_health_service_is_a_clear_error() {
    let pki = pki();
    let cluster = serve(&pki, false, 0).await;
    let client = Client::connect_with(&cluster.api(1), &trusting(&pki.ca)).await.expect("connect");
    let err = client.health("no.such.Service").await.expect_err("unknown service");
    assert!(matches!(&err, ClientError::UnknownHealthService { service } if service == "no.such.Service"), "{err:?}");
    assert!(err.to_string().contains("no.such.Service"), "{err}");
}

#[tokio::test]
async fn scheme_and_tls_options_must_agree() {
    let ca = CertificateAuthority::generate("Test CA").expect("CA");
    let err = Client::connect_with("https://127.0.0.1:1", &ConnectOptions::default()).await.expect_err("https, no TLS");
    assert!(matches!(&err, ClientError::InvalidEndpoint { reason, .. } if reason.contains("https://")), "{err}");
    let err = Client::connect_with("http://127.0.0.1:1", &trusting(&ca)).await.expect_err("http with TLS");
    assert!(matches!(&err, ClientError::InvalidEndpoint { reason, .. } if reason.contains("http://")), "{err}");
    let no_ca = ConnectOptions { tls: Some(TlsOptions::default()), ..ConnectOptions::default() };
    let err = Client::connect_with("https://127.0.0.1:1", &no_ca).await.expect_err("no CA");
    assert!(matches!(err, ClientError::InvalidTls { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_options_from_files_connect_and_name_bad_files() {
    let pki = pki();
    let cluster = serve(&pki, true, 0).await;
    let ca = &pki.ca_files;
    let client = pki.ca.issue_client("operator").expect("cert");
    let client = client.write_pem_pair(pki.dir.path(), "client.operator", Existing::Refuse).expect("write client");

    let tls = TlsOptions::from_files(Some(&ca.cert), Some(&client.cert), Some(&client.key)).expect("read files");
    let options = ConnectOptions { tls: Some(tls), ..ConnectOptions::default() };
    assert_eq!(connect_and_check(&cluster.api(1), &options).await.expect("health"), ServingStatus::Serving);

    let missing = pki.dir.path().join("missing.crt");
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
/// certificate, so the node's refusal comes back on the first call, as an `Rpc` error. Its message
/// names the node's TLS alert when the client reads the alert before the node's close; when the
/// call's bytes reach the node first, the close is a reset and the message says only that.
fn assert_refused(err: &ClientError, alert: &str) {
    let text = match err {
        ClientError::Connect { detail, .. } => detail,
        ClientError::Rpc { message, .. } => message,
        other => panic!("not a connection refusal: {other:?}"),
    };
    let lower = text.to_lowercase();
    let closed = ["connection closed", "broken pipe", "connection reset"].iter().any(|w| lower.contains(w));
    assert!(text.contains(alert) || closed, "{err}");
}

fn assert_invalid_file(err: &ClientError, file: &Path) {
    assert!(matches!(err, ClientError::InvalidTls { path: Some(p), .. } if p == file), "{err:?}");
    assert!(err.to_string().starts_with(&file.display().to_string()), "{err}");
}
