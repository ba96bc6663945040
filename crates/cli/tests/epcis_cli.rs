//! EPCIS from the command line, on a real 3-node cluster: `tx submit
//! --epcis` signs each event of a GS1 EPCIS document as the caller's party;
//! `history -o epcis` gives the item's recorded events back as an
//! `EPCISQueryDocument`, with the same CBV event hash ids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::TestCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epcis_document_goes_in_and_comes_back() {
    let cluster = TestCluster::running(3, 0).await;
    let key = cluster.node_dir(1).join("party.key");
    let key = key.to_str().unwrap();
    let api = cluster.api(1).to_owned();
    let dir = cluster.dir.path().to_path_buf();
    let gtin = "00614141000074";
    let register = dir.join("register.json");
    std::fs::write(
        &register,
        format!(
            r#"{{"registerProduct": {{"gtin": "{gtin}", "brandPartyId": "party-1", "name": "Rose Night Cream"}}}}"#
        ),
    )
    .unwrap();
    let signer = ["--endpoint", api.as_str(), "--party", "party-1", "--key", key];
    support::ok(&[&["tx", "submit"][..], &signer, &[register.to_str().unwrap()]].concat());
    let labels = dir.join("labels");
    support::ok(
        &[&["items", "commission"][..], &signer, &["--gtin", gtin, "--count", "1", "--out", labels.to_str().unwrap()]]
            .concat(),
    );
    let csv = std::fs::read_to_string(labels.join("labels.csv")).unwrap();
    let link = csv.lines().nth(1).unwrap().split(',').nth(4).unwrap().to_owned();
    let item = veritrace_core::gs1::Sgtin::parse_digital_link(&link).unwrap();

    // An EPCIS document about the item, written with its EPC URN.
    let doc = dir.join("packing.jsonld");
    std::fs::write(
        &doc,
        format!(
            r#"{{"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-01-01T00:00:00Z",
  "epcisBody": {{"eventList": [{{"type": "ObjectEvent", "eventTime": "2026-01-02T10:00:00.000+01:00",
    "eventTimeZoneOffset": "+01:00", "epcList": ["{}"], "action": "OBSERVE", "bizStep": "packing"}}]}}}}"#,
            item.to_epc_uri(7).unwrap()
        ),
    )
    .unwrap();
    let out =
        support::ok(&[&["tx", "submit", "--epcis", "-o", "json"][..], &signer, &[doc.to_str().unwrap()]].concat());
    assert!(out.contains("APPLIED") || out.to_ascii_lowercase().contains("applied"), "{out}");
    // A document that is not EPCIS: a clear error, nothing submitted.
    std::fs::write(dir.join("bad.jsonld"), r#"{"type": "EPCISDocument"}"#).unwrap();
    let bad = support::veritrace(
        &[&["tx", "submit", "--epcis"][..], &signer, &[dir.join("bad.jsonld").to_str().unwrap()]].concat(),
    );
    assert!(!bad.status.success(), "a bad document must fail");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bad.jsonld"), "{}", String::from_utf8_lossy(&bad.stderr));

    // Back out: the item's recorded events as EPCIS, with the hash id.
    let history = support::ok(&[
        "history",
        "--endpoint",
        &api,
        "--item",
        &link,
        "-o",
        "epcis",
        "--as-party",
        "party-1",
        "--party-key",
        key,
    ]);
    let json: serde_json::Value = serde_json::from_str(&history).unwrap();
    let events = json.pointer("/epcisBody/queryResults/resultsBody/eventList").unwrap().as_array().unwrap();
    assert_eq!(events.len(), 1, "{history}");
    assert_eq!(events[0]["bizStep"], "packing");
    let id = events[0]["eventID"].as_str().unwrap();
    assert!(id.starts_with("ni:///sha-256;") && id.ends_with("?ver=CBV2.0"), "{id}");
    // The same event's id, computed here from the document, agrees.
    let parsed = veritrace_epcis::parse_document(&std::fs::read_to_string(&doc).unwrap()).unwrap();
    assert_eq!(veritrace_epcis_rest::hash::event_hash_id(&parsed[0]).unwrap(), id);
    // The same event over the REST binding on node 2's web listener, with
    // headers `sign-call` signed for that node and that call.
    let api2 = cluster.api(2).to_owned();
    let headers = support::ok(&[
        "sign-call",
        "--endpoint",
        &api2,
        "--as-party",
        "party-1",
        "--party-key",
        key,
        "--format",
        "lines",
        "GET /events",
    ]);
    let web2 = cluster.nodes[&2].web.trim_start_matches("http://").to_owned();
    let query = "/epcis/events?EQ_bizStep=packing";
    let answer = raw_get(&web2, query, &headers);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(id), "the REST answer carries the same event id: {answer}");
    // The same headers again: a replay, refused.
    assert!(raw_get(&web2, query, &headers).starts_with("HTTP/1.1 401"));

    // Without a party: refused, saying why.
    let anonymous = support::veritrace(&["history", "--endpoint", &api, "--item", &link, "-o", "epcis"]);
    assert!(!anonymous.status.success());
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("--as-party"));
}

/// A GET with `headers` (`name: value` lines), the whole answer as text.
fn raw_get(host: &str, path: &str, headers: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{}\r\n",
        headers.lines().map(|l| format!("{l}\r\n")).collect::<String>()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
