//! The web listener over a 3-replica in-process cluster, spoken to over
//! real HTTP on a loopback TCP port: the resolver's content negotiation,
//! the code check and its verdicts, receipts, reports (and the attacks on
//! them: a stranger's report, a replayed report, a missing label token, a
//! flood from one address), in English and Chinese.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use veritrace_core::receipt::verify_receipt;
use veritrace_server::VerificationSection;
use veritrace_testkit::{TestCluster, fixture, signed};
use veritrace_web::WebOptions;

use veritrace_testkit::http::HttpAnswer as Answer;

/// One request, with the form's content type when it carries a body.
async fn http(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut all = headers.to_vec();
    if !body.is_empty() {
        all.push(("Content-Type", "application/x-www-form-urlencoded"));
    }
    veritrace_testkit::http::request(addr, method, target, &all, body).await
}

/// Form encoding of `pairs` (values percent-encoded).
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let value: String = v
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            format!("{k}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of `name="..."`'s `value` attribute, or of an attribute.
fn attribute(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let key = format!("{attr}=\"");
    let v = tag.find(&key)? + key.len();
    Some(tag[v..].split('"').next()?.to_owned())
}

async fn serve(cluster: &TestCluster, id: u64, limits: VerificationSection) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let service = cluster.service(id).clone();
    let options = WebOptions { public_origin: None, limits };
    tokio::spawn(async move { veritrace_web::serve_web(service, &options, listener, std::future::pending()).await });
    addr
}

fn open_limits() -> VerificationSection {
    VerificationSection { per_address_per_minute: 0, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_checks_an_item_and_reports_it() {
    let cluster = TestCluster::builder(3).seed(11).start().await;
    cluster.leader(&[]).await;
    let gtin = fixture::gtin(7);
    cluster
        .submit_applied(
            1,
            vec![
                signed("brand", 1, fixture::register_product(&gtin, "brand")),
                signed("brand", 2, fixture::commission_with_tokens(&gtin, "L1", &["S1", "S2", "S3"])),
                signed("brand", 3, fixture::recall("R-7", &gtin)),
            ],
        )
        .await;
    // Item S1 of a second product goes through a shop to its buyer
    // (scanned before retail, a genuine code would say SUSPECTED_CLONE).
    let gtin2 = fixture::gtin(8);
    let s1 = format!("https://id.gs1.org/01/{gtin2}/21/S1");
    cluster
        .submit_applied(
            1,
            vec![
                signed("brand", 4, fixture::register_product(&gtin2, "brand")),
                signed("brand", 5, fixture::commission_with_tokens(&gtin2, "L1", &["S1", "S2"])),
                signed("brand", 6, fixture::ship(&[&s1], "shop", None)),
                signed("shop", 1, fixture::step("receiving", &[&s1])),
                signed("shop", 2, fixture::step("retail_selling", &[&s1])),
            ],
        )
        .await;
    let web = serve(&cluster, 2, open_limits()).await;
    let token = fixture::token_of(&gtin2, "S1").to_string();
    let path = format!("/01/{gtin2}/21/S1");
    let page = format!("{path}?t={token}");

    // The page behind the QR code: product, form, strict headers, a linkset link.
    let a = http(web, "GET", &page, &[("Accept", "text/html")], "").await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains("<html lang=\"en\"") && a.body.contains("name=\"code\""), "{}", a.body);
    assert_eq!(attribute(&a.body, "name=\"t\"", "value").as_deref(), Some(token.as_str()));
    assert!(a.header("content-security-policy").contains("default-src 'none'"), "{a:?}");
    assert_eq!(a.header("referrer-policy"), "no-referrer");
    assert_eq!(a.header("cache-control"), "no-store");
    assert!(a.header("link").contains("linkType=all>; rel=\"linkset\""), "{a:?}");
    // Chinese from Accept-Language, and by the switch.
    let zh = http(web, "GET", &page, &[("Accept-Language", "zh-CN,zh;q=0.9")], "").await;
    assert!(zh.body.contains("<html lang=\"zh\"") && zh.body.contains("涂层下的验证码"), "{}", zh.body);
    let switched = http(web, "GET", &format!("{page}&lang=en"), &[("Accept-Language", "zh-CN")], "").await;
    assert!(switched.body.contains("<html lang=\"en\""));

    // The resolver: linkset by linkType or Accept, a redirect per link type.
    for (target, accept) in [(format!("{page}&linkType=all"), "text/html"), (page.clone(), "application/linkset+json")]
    {
        let a = http(web, "GET", &target, &[("Accept", accept)], "").await;
        assert_eq!((a.status, a.header("content-type")), (200, "application/linkset+json"), "{a:?}");
        let set: serde_json::Value = serde_json::from_str(&a.body).expect("linkset JSON");
        assert_eq!(set["linkset"][0]["anchor"], format!("http://{web}{path}"));
        let verify = &set["linkset"][0]["https://gs1.org/voc/verificationService"][0]["href"];
        assert_eq!(verify, &format!("http://{web}{path}?t={token}"));
    }
    let a = http(web, "GET", &format!("{page}&linkType=gs1:pip"), &[], "").await;
    assert_eq!((a.status, a.header("location")), (307, page.as_str()), "{a:?}");
    let a = http(web, "GET", &format!("{page}&linkType=gs1:epil"), &[], "").await;
    assert_eq!(a.status, 404);
    let problem: serde_json::Value = serde_json::from_str(&a.body).expect("problem JSON");
    assert_eq!(problem["reason"], "NO_SUCH_LINK");
    let a = http(web, "GET", "/00/095060001343528527", &[("Accept", "application/json")], "").await;
    assert_eq!((a.status, a.header("content-type")), (404, "application/problem+json"));
    let a = http(web, "GET", "/.well-known/gs1resolver", &[], "").await;
    let description: serde_json::Value = serde_json::from_str(&a.body).expect("description JSON");
    assert_eq!(description["supportedPrimaryKeys"][0], "01");

    // The product form of the link, and an item nobody registered.
    let a = http(web, "GET", &format!("/01/{gtin2}"), &[], "").await;
    assert!(a.status == 200 && a.body.contains("This link names a product"), "{a:?}");
    let a = http(web, "GET", &format!("/01/{gtin2}/21/NOPE"), &[], "").await;
    assert_eq!(a.status, 404);
    assert!(a.body.contains("data-verdict=\"UNKNOWN_ITEM\""), "{}", a.body);

    // The right code: genuine, first check, with a receipt co-signed by validators.
    let request_id = attribute(&a_form(web, &page).await, "name=\"request_id\"", "value").expect("a request id");
    let code = fixture::code_of(&gtin2, "S1");
    let fields = [
        ("code", code.as_str()),
        ("t", token.as_str()),
        ("request_id", request_id.as_str()),
        ("city", "Lyon"),
        ("country", "fr"),
        ("lang", "en"),
    ];
    let first = http(web, "POST", &path, &[], &form(&fields)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("data-verdict=\"GENUINE_FIRST_SCAN\""), "{}", first.body);
    // Who signed the receipt (the test kit's simulated validators have no
    // libp2p keys to co-sign with; the browser test checks the names on real nodes).
    assert!(first.body.contains("class=\"signers\""), "{}", first.body);
    assert!(!first.body.contains(&code), "the page never shows the code");
    // Re-sending the same form records nothing new and answers the same.
    let again = http(web, "POST", &path, &[], &form(&fields)).await;
    assert!(again.body.contains("data-verdict=\"GENUINE_FIRST_SCAN\""), "{}", again.body);

    // The receipt downloads and checks offline.
    let receipt_href = attribute(&first.body, "download=", "href").expect("a receipt link");
    let a = http(web, "GET", &receipt_href, &[], "").await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.header("content-disposition").starts_with("attachment"));
    let json: serde_json::Value = serde_json::from_str(&a.body).expect("receipt JSON");
    let receipt: veritrace_proto::v1::Receipt = decode_json("veritrace.v1.Receipt", &json["receipt"]);
    let envelope: veritrace_proto::v1::SignedEnvelope =
        decode_json("veritrace.v1.SignedEnvelope", &json["scanEnvelope"]);
    verify_receipt(&receipt, &prost::Message::encode_to_vec(&envelope)).expect("the receipt checks out offline");
    assert_eq!(http(web, "GET", "/receipts/00ff", &[], "").await.status, 400);
    assert_eq!(http(web, "GET", &format!("/receipts/{}", "ab".repeat(32)), &[], "").await.status, 404);

    // A second check: seen before, first in Lyon; in Chinese.
    let fields2 =
        [("code", code.as_str()), ("t", token.as_str()), ("city", "Paris"), ("country", "FR"), ("lang", "zh")];
    let second = http(web, "POST", &path, &[], &form(&fields2)).await;
    assert!(second.body.contains("data-verdict=\"GENUINE_SEEN_BEFORE\""), "{}", second.body);
    assert!(second.body.contains("Lyon, FR") && second.body.contains("此前已被查询 1 次"), "{}", second.body);

    // A wrong code: tries left, no receipt, nothing recorded.
    let wrong = http(web, "POST", &path, &[], &form(&[("code", "000000"), ("t", &token)])).await;
    assert!(
        wrong.body.contains("data-verdict=\"INVALID_CODE\"") && wrong.body.contains("Tries left for now:"),
        "{}",
        wrong.body
    );
    assert!(!wrong.body.contains("download="));
    // Without the label's token nothing is spent: 403.
    let a = http(web, "POST", &path, &[], &form(&[("code", &code)])).await;
    assert_eq!(a.status, 403, "{a:?}");

    // A recalled item says so, with the brand's notice, even for a right code.
    let t3 = fixture::token_of(&gtin, "S3").to_string();
    let c3 = fixture::code_of(&gtin, "S3");
    let recalled = http(web, "POST", &format!("/01/{gtin}/21/S3"), &[], &form(&[("code", &c3), ("t", &t3)])).await;
    assert_eq!(recalled.status, 200, "{}", recalled.body);
    assert!(
        recalled.body.contains("data-verdict=\"RECALLED\"") && recalled.body.contains("fixture defect"),
        "{}",
        recalled.body
    );

    // Reports: tied to the reporter's scan; one per scan; never a stranger's.
    let scan = attribute(&first.body, "name=\"scan\"", "value").expect("the scan id in the report form");
    let item = attribute(&first.body, "name=\"item\"", "value").expect("the item in the report form");
    let report = |scan: String, item: String| {
        form(&[
            ("item", &item),
            ("scan", &scan),
            ("category", "counterfeit"),
            ("seller", "Market stall"),
            ("text", "smells wrong"),
        ])
    };
    let a = http(web, "POST", "/report", &[], &report(scan.clone(), item.clone())).await;
    assert!(a.status == 200 && a.body.contains("Your report is recorded"), "{a:?}");
    let a = http(web, "POST", "/report", &[], &report(scan.clone(), item.clone())).await;
    assert_eq!(a.status, 409, "a second report of the same scan: {a:?}");
    let a = http(web, "POST", "/report", &[], &report("ab".repeat(32), item.clone())).await;
    assert_eq!(a.status, 400, "a scan nobody made: {a:?}");
    let a = http(web, "POST", "/report", &[], &report(scan.clone(), format!("/01/{gtin2}/21/S2"))).await;
    assert_eq!(a.status, 400, "another item's scan: {a:?}");
    // The report counts: the next check of the item shows the signal.
    let after = http(web, "POST", &path, &[], &form(&[("code", &code), ("t", &token)])).await;
    assert!(after.body.contains("reported this item as a suspected fake"), "{}", after.body);
}

async fn a_form(web: SocketAddr, page: &str) -> String {
    http(web, "GET", page, &[], "").await.body
}

fn decode_json<M: prost::Message + Default>(name: &str, value: &serde_json::Value) -> M {
    let descriptor = veritrace_client::render::message_descriptor(name).expect("descriptor");
    let dynamic = prost_reflect::DynamicMessage::deserialize(descriptor, value).expect("JSON of the message");
    dynamic.transcode_to().expect("transcode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_walk_an_item_s_guesses_through_the_page() {
    let cluster = TestCluster::builder(3).seed(12).start().await;
    cluster.leader(&[]).await;
    let gtin = fixture::gtin(9);
    cluster
        .submit_applied(
            1,
            vec![
                signed("brand", 1, fixture::register_product(&gtin, "brand")),
                signed("brand", 2, fixture::commission_with_tokens(&gtin, "L1", &["S1"])),
            ],
        )
        .await;
    let limits = VerificationSection { per_address_per_minute: 1, per_address_burst: 2, ..Default::default() };
    let web = serve(&cluster, 1, limits).await;
    let token = fixture::token_of(&gtin, "S1").to_string();
    let path = format!("/01/{gtin}/21/S1");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let a = http(web, "POST", &path, &[], &form(&[("code", "000000"), ("t", &token)])).await;
        statuses.push((a.status, a.header("retry-after").to_owned()));
    }
    assert_eq!(statuses[..2].iter().map(|s| s.0).collect::<Vec<_>>(), vec![200, 200]);
    assert_eq!(statuses[2].0, 429, "{statuses:?}");
    assert!(statuses[2].1.parse::<u64>().is_ok_and(|s| s >= 1), "{statuses:?}");
    // Reading the page is not limited.
    assert_eq!(http(web, "GET", &format!("{path}?t={token}"), &[], "").await.status, 200);
}
