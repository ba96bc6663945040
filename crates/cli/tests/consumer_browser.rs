//! A shopper's phone, for real: headless Chromium (Debian's chromium and
//! chromium-driver, installed by scripts/install-build-deps.sh) driven over
//! WebDriver against a running 3-node cluster (processes, RocksDB, libp2p).
//! The labels come from `veritrace items commission`, so the QR code's link
//! is the one printed; the test opens it, types codes and reads what the
//! page says: genuine (first check), seen before (with the first check's
//! date and place), a wrong code (tries left), a recalled item, a cloned
//! label scanned in three cities; each in English and in Chinese.
//!
//! With `VERITRACE_SCREENSHOTS=DIR` every state is saved as
//! `DIR/{state}-{lang}.png` (scripts/screenshots.sh refreshes docs/screenshots).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use support::{Party, Signer, TestCluster};
use veritrace_ledger::testing::{self as fx, TestParty};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

/// chromedriver, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (scripts/install-build-deps.sh installs chromium-driver)");
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

async fn browser(driver: &Driver) -> Browser {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=412,1400"],
        }),
    );
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&driver.url).await {
            Ok(b) => return b,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("chromedriver did not start a browser session");
}

/// `action` (an EPCIS event) as happening now, after the commissioning.
fn now(mut action: Action) -> Action {
    if let Action::EpcisEvent(e) = &mut action {
        let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        e.event_time = Some(veritrace_proto::timestamp_from_ms(ms));
    }
    action
}

/// A product registration with a name shoppers read.
fn named(mut action: Action, name: &str) -> Action {
    if let Action::RegisterProduct(p) = &mut action {
        p.name = name.into();
        p.brand_name = "Lumière".into();
        p.description = "Night cream with rose extract.".into();
    }
    action
}

/// One printed label: its QR code's link and the code under the scratch-off.
struct Label {
    link: String,
    code: String,
}

/// `veritrace items commission` of `count` items of `gtin` into `out`.
fn commission(cluster: &TestCluster, gtin: &str, prefix: &str, count: u32, out: &Path) -> Vec<Label> {
    let key = cluster.node_dir(1).join("party.key");
    support::ok(&[
        "items",
        "commission",
        "--endpoint",
        cluster.api(1),
        "--party",
        "party-1",
        "--key",
        key.to_str().unwrap(),
        "--gtin",
        gtin,
        "--count",
        &count.to_string(),
        "--serial-prefix",
        prefix,
        "--out",
        out.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(out.join("labels.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Label { link: f[4].to_owned(), code: f[3].to_owned() }
        })
        .collect()
}

/// Opens `label`'s link in `lang`, types `code` (and a city), submits and
/// returns the verdict the page shows (its `data-verdict`) and its text.
async fn check(b: &Browser, label: &Label, code: &str, city: &str, lang: &str) -> (String, String) {
    b.goto(&format!("{}&lang={lang}", label.link)).await.unwrap();
    let field = b.find(Locator::Id("code")).await.expect("the code field");
    field.send_keys(code).await.unwrap();
    b.find(Locator::Id("city")).await.unwrap().send_keys(city).await.unwrap();
    b.find(Locator::Id("country")).await.unwrap().send_keys("FR").await.unwrap();
    b.find(Locator::Css("form button[type=submit]")).await.unwrap().click().await.unwrap();
    let Ok(panel) = b.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css("[data-verdict]")).await else {
        let url = b.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        panic!("no verdict at {url}:\n{}", b.source().await.unwrap_or_default());
    };
    let verdict = panel.attr("data-verdict").await.unwrap().unwrap_or_default();
    let text = b.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    (verdict, text)
}

async fn shot(b: &Browser, name: &str) {
    let Some(dir) = std::env::var_os("VERITRACE_SCREENSHOTS") else { return };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let png = b.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_checks_labels_in_a_real_browser() {
    // One browser makes every check from one address: no per-address limit
    // here (the web crate's tests check that limit).
    let mut cluster = TestCluster::init(3, 0, |c| c.api.verification.per_address_per_minute = 0);
    for id in 1..=3 {
        cluster.start(id);
    }
    cluster.leader(&[1, 2, 3]).await;
    let (brand, lab) = (Party::of_node(&cluster, 1), Party::of_node(&cluster, 2));
    let brand = TestParty { id: brand.id, key: brand.key };
    let lab = TestParty { id: lab.id, key: lab.key };
    let mut net = Signer { client: cluster.client(1).await, network_id: cluster.network_id.clone(), nonce: 0 };
    // A retailer, admitted by 2 of the 3 admins, sells the items.
    let shop = TestParty { id: "shop".into(), key: fx::party_key("shop") };
    net.ok(&brand, fx::propose("admit-shop", fx::register_party("shop", &[pb::PartyRole::Retailer], &[]))).await;
    net.ok(&lab, fx::approve("admit-shop")).await;
    let (cream, recalled) = ("00614141000074", "00614141000081");
    net.ok(&brand, named(fx::register_product(cream, &brand.id), "Rose Night Cream 50 ml")).await;
    net.ok(&brand, named(fx::register_product(recalled, &brand.id), "Rose Day Cream 50 ml")).await;
    let work = cluster.dir.path().to_path_buf();
    let labels = commission(&cluster, cream, "BR-", 6, &work.join("cream"));
    let recalled_labels = commission(&cluster, recalled, "RC-", 1, &work.join("recalled"));
    // The QR code points at the network's resolver: node 1's web listener.
    let web1 = cluster.nodes[&1].web.clone();
    assert!(labels[0].link.starts_with(&format!("{web1}/01/{cream}/21/BR-")), "{}", labels[0].link);
    let sold: Vec<String> = labels
        .iter()
        .chain(&recalled_labels)
        .map(|l| veritrace_core::gs1::Sgtin::parse_digital_link(&l.link).unwrap().to_digital_link())
        .collect();
    let sold: Vec<&str> = sold.iter().map(String::as_str).collect();
    let customs = Party::of_node(&cluster, 3);
    let customs = TestParty { id: customs.id, key: customs.key };
    net.ok(&lab, Action::Attestation(fx::attestation("CE-2026-0001", cream))).await;
    net.ok(&customs, now(fx::step(veritrace_core::vocab::CUSTOMS_CLEARING, &sold))).await;
    net.ok(&brand, now(fx::ship(&sold, "shop", None))).await;
    net.ok(&shop, now(fx::step("receiving", &sold))).await;
    net.ok(&shop, now(fx::step("retail_selling", &sold))).await;
    net.ok(&brand, fx::recall("R-1", recalled)).await;

    let driver = chromedriver();
    let b = browser(&driver).await;
    for (lang, first_label, clone_label) in [("en", 0, 1), ("zh", 2, 3)] {
        // Genuine, first check.
        let l = &labels[first_label];
        let (verdict, text) = check(&b, l, &l.code, "Lyon", lang).await;
        assert_eq!(verdict, "GENUINE_FIRST_SCAN", "{lang}: {text}");
        assert!(!text.contains(&l.code), "the page never shows the code");
        let signed = if lang == "en" { "Signed by " } else { "个验证节点中的" };
        assert!(text.contains(signed), "{lang}: the receipt line names its signers: {text}");
        shot(&b, &format!("genuine-first-{lang}")).await;
        // Again: seen before, first in Lyon.
        let (verdict, text) = check(&b, l, &l.code, "Lyon", lang).await;
        assert_eq!(verdict, "GENUINE_SEEN_BEFORE", "{lang}: {text}");
        assert!(text.contains("Lyon, FR"), "{lang}: the first check's place: {text}");
        let year = time::OffsetDateTime::now_utc().year().to_string();
        assert!(text.contains(&year), "{lang}: the first check's date: {text}");
        shot(&b, &format!("seen-before-{lang}")).await;
        // A wrong code: tries left.
        let wrong = if l.code.starts_with('0') { format!("1{}", &l.code[1..]) } else { format!("0{}", &l.code[1..]) };
        let (verdict, text) = check(&b, &labels[4 + first_label / 2], &wrong, "", lang).await;
        assert_eq!(verdict, "INVALID_CODE", "{lang}: {text}");
        let tries = if lang == "en" { "Tries left for now: 4." } else { "目前还可尝试 4 次。" };
        assert!(text.contains(tries), "{lang}: {text}");
        shot(&b, &format!("wrong-code-{lang}")).await;
        // A recalled item: the brand's notice, whatever else.
        let r = &recalled_labels[0];
        let (verdict, text) = check(&b, r, &r.code, "Lyon", lang).await;
        assert_eq!(verdict, "RECALLED", "{lang}: {text}");
        assert!(text.contains("fixture defect"), "{lang}: the recall's reason: {text}");
        shot(&b, &format!("recalled-{lang}")).await;
        // A cloned label: the same label in three cities.
        let c = &labels[clone_label];
        let mut last = (String::new(), String::new());
        for city in ["Shanghai", "Paris", "New York"] {
            last = check(&b, c, &c.code, city, lang).await;
        }
        assert_eq!(last.0, "SUSPECTED_CLONE", "{lang}: {}", last.1);
        let why = if lang == "en" { "more places than one item can be" } else { "超出一件商品的可能" };
        assert!(last.1.contains(why), "{lang}: the reason: {}", last.1);
        shot(&b, &format!("suspected-clone-{lang}")).await;
    }
    b.close().await.unwrap();
}
