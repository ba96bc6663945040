//! The EPCIS REST binding over a 3-replica in-process cluster, over real
//! HTTP on loopback: capture, jobs, queries and paging, every GS1 example
//! captured and read back, and the party plane's gate (no credential, a
//! replayed one, another party's capture).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use veritrace_core::party_call::PartyCall;
use veritrace_epcis_rest::RestOptions;
use veritrace_server::PartySection;
use veritrace_server::party_auth::PartyGate;
use veritrace_testkit::{TestCluster, fixture};

use veritrace_testkit::http::HttpAnswer as Answer;

async fn http(addr: SocketAddr, method: &str, target: &str, headers: &[(String, String)], body: &str) -> Answer {
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    veritrace_testkit::http::request(addr, method, target, &pairs, body).await
}

async fn serve(cluster: &TestCluster, id: u64, insecure: bool) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let gate = PartyGate::from_config(&PartySection { insecure });
    let app =
        veritrace_epcis_rest::router(cluster.service(id).clone(), RestOptions { base_path: "/epcis".into(), gate });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn json_headers() -> Vec<(String, String)> {
    vec![("Content-Type".into(), "application/ld+json".into())]
}

/// The credential headers of fixture party `party` for `method path` at `node`.
fn signed(cluster: &TestCluster, node: u64, party: &str, method: &str, path: &str) -> Vec<(String, String)> {
    let service = cluster.service(node);
    let call = PartyCall {
        network_id: fixture::NETWORK,
        node: service.peer_id(),
        method: &format!("{method} {path}"),
        party_id: party,
        time_ms: veritrace_service::now_ms() as u64,
        nonce: rand::random(),
    };
    call.sign(&fixture::party_key(party)).headers().into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

const OBJECT_EVENT: &str = r#"{
  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-01-01T00:00:00Z",
  "epcisBody": { "eventList": [
    { "type": "ObjectEvent", "eventTime": "2026-01-02T10:00:00.000+01:00", "eventTimeZoneOffset": "+01:00",
      "epcList": ["urn:epc:id:sscc:0614141.1234567890"], "action": "OBSERVE", "bizStep": "packing",
      "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"} },
    { "type": "ObjectEvent", "eventTime": "2026-01-02T11:00:00.000+01:00", "eventTimeZoneOffset": "+01:00",
      "epcList": ["https://id.gs1.org/00/106141412345678915"], "action": "OBSERVE", "bizStep": "cbv:BizStep-packing" }
  ] } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_query_and_page() {
    let cluster = TestCluster::builder(3).seed(21).node_party(2, "maker").start().await;
    cluster.leader(&[]).await;
    let rest = serve(&cluster, 2, true).await;

    // Discovery.
    let a = http(rest, "OPTIONS", "/epcis/capture", &[], "").await;
    assert_eq!(
        (a.status, a.header("gs1-epcis-version"), a.header("gs1-capture-error-behaviour")),
        (204, "2.0.0", "proceed")
    );
    assert_eq!(a.header("gs1-epcis-capture-limit"), "500");

    // A capture: 202 and a job saying both were captured.
    let a = http(rest, "POST", "/epcis/capture", &json_headers(), OBJECT_EVENT).await;
    assert_eq!(a.status, 202, "{a:?}");
    let job_path = a.header("location").to_owned();
    assert!(job_path.starts_with("/epcis/capture/cap-"), "{a:?}");
    let job = http(rest, "GET", &job_path, &[], "").await.json();
    assert_eq!((job["success"].as_bool(), job["running"].as_bool()), (Some(true), Some(false)), "{job}");

    // Queried back: by type, by step (short name matches the compact form),
    // by EPC (the Digital Link matches its URN), by time; with record times and hash ids.
    let all = http(rest, "GET", "/epcis/events?eventType=ObjectEvent&EQ_bizStep=packing", &[], "").await;
    assert_eq!((all.status, all.header("gs1-epcis-version")), (200, "2.0.0"), "{all:?}");
    let doc = all.json();
    let list = doc
        .pointer("/epcisBody/queryResults/resultsBody/eventList")
        .expect("eventList")
        .as_array()
        .expect("array")
        .clone();
    assert_eq!(list.len(), 2, "{doc}");
    for e in &list {
        assert!(
            e["eventID"].as_str().is_some_and(|id| id.starts_with("ni:///sha-256;") && id.ends_with("?ver=CBV2.0")),
            "{e}"
        );
        assert!(e["recordTime"].as_str().is_some_and(|t| t.ends_with('Z')), "{e}");
    }
    let by_epc = http(rest, "GET", "/epcis/epcs/urn:epc:id:sscc:0614141.1234567891/events", &[], "").await.json();
    let hits = by_epc.pointer("/epcisBody/queryResults/resultsBody/eventList").unwrap().as_array().unwrap().len();
    assert_eq!(hits, 1, "{by_epc}");
    let later = http(rest, "GET", "/epcis/events?GE_eventTime=2026-01-02T09:30:00Z", &[], "").await.json();
    assert_eq!(later.pointer("/epcisBody/queryResults/resultsBody/eventList").unwrap().as_array().unwrap().len(), 1);
    // One event by its id.
    let id = list[0]["eventID"].as_str().unwrap();
    let one = http(
        rest,
        "GET",
        &format!("/epcis/events/{}", id.replace('/', "%2F").replace(';', "%3B").replace('?', "%3F")),
        &[],
        "",
    )
    .await;
    assert_eq!(one.status, 200, "{one:?}");

    // Paging: one per page, a Link to the next, the same events in order.
    let first = http(rest, "GET", "/epcis/events?perPage=1&EQ_bizStep=packing", &[], "").await;
    let link = first.header("link").to_owned();
    assert!(link.contains("rel=\"next\"") && link.contains("nextPageToken=leaf-"), "{first:?}");
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
    let second = http(rest, "GET", &next, &[], "").await.json();
    let ids = |d: &serde_json::Value| {
        d.pointer("/epcisBody/queryResults/resultsBody/eventList")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventID"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        [ids(&first.json()), ids(&second)].concat(),
        list.iter().map(|e| e["eventID"].clone()).collect::<Vec<_>>()
    );

    // One event, synchronously: 201 and its Location; again: 409.
    let one_event = r#"{"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
      "type": "ObjectEvent", "eventTime": "2026-01-03T10:00:00Z", "eventTimeZoneOffset": "+00:00",
      "epcList": ["urn:epc:id:sscc:0614141.1234567890"], "action": "OBSERVE", "bizStep": "packing"}"#;
    let created = http(rest, "POST", "/epcis/events", &json_headers(), one_event).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(http(rest, "GET", created.header("location"), &[], "").await.status, 200, "{created:?}");
    let again = http(rest, "POST", "/epcis/events", &json_headers(), one_event).await;
    assert_eq!(
        (again.status, again.json()["type"].as_str()),
        (409, Some("epcisException:ResourceAlreadyExistsException"))
    );
    let a = http(rest, "OPTIONS", "/epcis/events", &[], "").await;
    assert_eq!((a.status, a.header("allow")), (204, "OPTIONS, GET, POST"));

    // Version negotiation: a range without 2.0.0, or no version at all, is 406.
    for (name, value) in [("GS1-EPCIS-Max", "1.2"), ("GS1-EPCIS-Min", "3.0.0"), ("GS1-CBV-Version", "two")] {
        let a = http(rest, "GET", "/epcis/events", &[(name.into(), value.into())], "").await;
        assert_eq!(
            (a.status, a.json()["type"].as_str()),
            (406, Some("epcisException:NotAcceptableException")),
            "{name}"
        );
    }
    assert_eq!(http(rest, "GET", "/epcis/events", &[("GS1-EPCIS-Min".into(), "1.0".into())], "").await.status, 200);
    // A path value that can name nothing: 404.
    assert_eq!(http(rest, "GET", "/epcis/epcs/notauri/events", &[], "").await.status, 404);
    assert_eq!(http(rest, "GET", "/epcis/eventTypes/Nonsense/events", &[], "").await.status, 404);
    assert_eq!(
        http(rest, "GET", "/epcis/events/notanid", &[], "").await.json()["type"],
        "epcisException:NoSuchNameException"
    );
    assert_eq!(http(rest, "OPTIONS", "/epcis/events/%3A9", &[], "").await.status, 404, "no scheme, no URI");

    // Bad input: a clear problem, nothing captured.
    let a = http(rest, "GET", "/epcis/events?EQ_quantity=3", &[], "").await;
    assert_eq!((a.status, a.json()["type"].as_str()), (400, Some("epcisException:QueryParameterException")));
    let a = http(rest, "POST", "/epcis/capture", &json_headers(), "{\"type\": \"EPCISDocument\"}").await;
    assert_eq!((a.status, a.json()["type"].as_str()), (400, Some("epcisException:ValidationException")), "{a:?}");
    let a = http(rest, "POST", "/epcis/capture", &[("Content-Type".into(), "text/plain".into())], OBJECT_EVENT).await;
    assert_eq!(a.status, 415);
    let mut rollback = json_headers();
    rollback.push(("GS1-Capture-Error-Behaviour".into(), "rollback".into()));
    assert_eq!(http(rest, "POST", "/epcis/capture", &rollback, OBJECT_EVENT).await.status, 400);
}

/// Every GS1 example document is taken by `/capture`: validated, converted
/// and submitted (`202`). The ledger then judges each event by the
/// network's rules, as it judges any party's: the examples' items were
/// never commissioned here and their steps belong to roles the capturing
/// party lacks, so many are refused, each with its reason in the job.
/// (`gs1_replay.rs` replays them on a network set up for them and reads
/// them back.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gs1_example_is_taken_by_capture() {
    let cluster = TestCluster::builder(3).seed(22).node_party(1, "maker").start().await;
    cluster.leader(&[]).await;
    let rest = serve(&cluster, 1, true).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../epcis/tests/gs1-examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let (mut taken, mut applied) = (0, 0);
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "jsonld" || e == "json")) {
        let text = std::fs::read_to_string(path).unwrap();
        let a = http(rest, "POST", "/epcis/capture", &json_headers(), &text).await;
        assert_eq!(a.status, 202, "{}: {}", path.display(), a.body);
        taken += 1;
        let job = http(rest, "GET", a.header("location"), &[], "").await.json();
        for e in job["errors"].as_array().unwrap() {
            let title = e["title"].as_str().unwrap();
            assert!(
                title.contains(" refused: ") && !e["detail"].as_str().unwrap().is_empty(),
                "{}: {e}",
                path.display()
            );
        }
        applied += usize::from(job["success"] == serde_json::Value::Bool(true));
    }
    assert_eq!(taken, 47, "the 47 JSON examples of gs1/EPCIS");
    assert!(applied >= 10, "examples the maker's role may record and whose objects need no commissioning: {applied}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_party_plane_gate_holds() {
    let cluster = TestCluster::builder(3).seed(23).node_party(1, "maker").start().await;
    cluster.leader(&[]).await;
    let rest = serve(&cluster, 1, false).await;
    let with = |mut h: Vec<(String, String)>| {
        h.extend(json_headers());
        h
    };

    // No credential: 401, nothing read, nothing captured.
    let a = http(rest, "GET", "/epcis/events", &[], "").await;
    assert_eq!((a.status, a.json()["reason"].as_str()), (401, Some("PARTY_AUTH_REQUIRED")), "{a:?}");
    assert_eq!(a.json()["type"], "epcisException:SecurityException");
    assert_eq!(http(rest, "POST", "/epcis/capture", &json_headers(), OBJECT_EVENT).await.status, 401);

    // The node's own party captures; its credential is good once.
    let maker = with(signed(&cluster, 1, "maker", "POST", "/capture"));
    assert_eq!(http(rest, "POST", "/epcis/capture", &maker, OBJECT_EVENT).await.status, 202);
    let again = http(rest, "POST", "/epcis/capture", &maker, OBJECT_EVENT).await;
    assert_eq!((again.status, again.json()["reason"].as_str()), (401, Some("PARTY_AUTH_REPLAYED")), "{again:?}");
    // A credential for another call does not open this one.
    let read = with(signed(&cluster, 1, "maker", "GET", "/events"));
    assert_eq!(http(rest, "POST", "/epcis/capture", &read, OBJECT_EVENT).await.json()["reason"], "PARTY_AUTH_INVALID");

    // Another party: the node does not sign for it, but it reads the log.
    let brand = with(signed(&cluster, 1, "brand", "POST", "/capture"));
    let a = http(rest, "POST", "/epcis/capture", &brand, OBJECT_EVENT).await;
    assert_eq!((a.status, a.json()["reason"].as_str()), (403, Some("NOT_DELEGATED")), "{a:?}");
    let a = http(rest, "GET", "/epcis/events", &signed(&cluster, 1, "brand", "GET", "/events"), "").await;
    assert_eq!(a.status, 200, "{a:?}");
    let listed = a.json();
    assert_eq!(listed.pointer("/epcisBody/queryResults/resultsBody/eventList").unwrap().as_array().unwrap().len(), 2);
    // Capture jobs are their maker's only.
    let jobs = http(rest, "GET", "/epcis/capture", &signed(&cluster, 1, "brand", "GET", "/capture"), "").await.json();
    assert_eq!(jobs, serde_json::json!([]));
    let jobs = http(rest, "GET", "/epcis/capture", &signed(&cluster, 1, "maker", "GET", "/capture"), "").await.json();
    assert_eq!(jobs.as_array().map(Vec::len), Some(1), "{jobs}");
}
