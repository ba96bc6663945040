//! Scratch codes against a counterfeiter, on a real 3-node cluster
//! (processes, RocksDB, libp2p, gRPC over TCP): nothing public carries code
//! material, concurrent guesses are budgeted by the ledger, a stranger
//! cannot lock a buyer out, wrong guesses do not grow the log, a retried
//! verification records one scan, and a party cannot pass its own scans
//! off as consumers'.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::IpAddr;

use prost::Message as _;
use support::{Party, Signer, TestCluster};
use tonic::Code;
use veritrace_client::{Client, ClientError, ConnectOptions};
use veritrace_core::Envelope;
use veritrace_core::code::CodePolicy;
use veritrace_core::scan::LOCKOUT_FAILURES;
use veritrace_labels::{BatchSpec, Label, SerialScheme};
use veritrace_ledger::testing::{self as fx, TestParty};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

fn test_party(p: &Party) -> TestParty {
    TestParty { id: p.id.clone(), key: p.key.clone() }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Fails if `bytes` (an encoded answer named `what`) holds any of `secrets`.
fn assert_no_code_material(what: &str, bytes: &[u8], secrets: &[Vec<u8>]) {
    for s in secrets {
        assert!(!contains(bytes, s), "{what} carries code material {}", hex::encode(s));
    }
}

fn verify_request(label: &Label, code: &str, request_id: &str) -> pb::VerifyItemRequest {
    pb::VerifyItemRequest {
        item: Some(pb::verify_item_request::Item::ItemUri(label.digital_link.clone())),
        code: code.into(),
        place: Some(pb::Place { country: "FR".into(), city: "Paris".into(), ..Default::default() }),
        channel: "test".into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

/// `label` as a stranger knows it: GTIN and serial, without the token.
fn without_token(mut request: pb::VerifyItemRequest, label: &Label) -> pb::VerifyItemRequest {
    let link = label.digital_link.split('?').next().unwrap().to_owned();
    request.item = Some(pb::verify_item_request::Item::ItemUri(link));
    request
}

/// A wrong code of the default policy for `code`.
fn wrong(code: &str) -> String {
    let first = if code.starts_with('0') { '1' } else { '0' };
    format!("{first}{}", &code[1..])
}

/// A wrong code other than [`wrong`]'s: its last digit changed too.
fn other_wrong(code: &str) -> String {
    let w = wrong(code);
    let last = if code.ends_with('0') { '1' } else { '0' };
    format!("{}{last}", &w[..w.len() - 1])
}

fn reason_of(e: &ClientError) -> (Code, String) {
    let code = e.code().unwrap_or_else(|| panic!("not a status: {e}"));
    (code, e.reason().unwrap_or_default().to_owned())
}

async fn client_from(cluster: &TestCluster, node: u64, from: IpAddr) -> Client {
    let options = ConnectOptions { local_address: Some(from), ..cluster.party_options() };
    Client::connect_with(cluster.api(node), &options).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch_codes_hold_against_a_counterfeiter() {
    let cluster = TestCluster::running(3, 0).await;
    let (brand, lab) = (test_party(&Party::of_node(&cluster, 1)), test_party(&Party::of_node(&cluster, 2)));
    let mut net = Signer { client: cluster.client(1).await, network_id: cluster.network_id.clone(), nonce: 0 };

    // A retailer, admitted by 2 of the 3 admins, sells the items.
    let shop = TestParty { id: "shop".into(), key: fx::party_key("shop") };
    net.ok(&brand, fx::propose("admit-shop", fx::register_party("shop", &[pb::PartyRole::Retailer], &[]))).await;
    net.ok(&lab, fx::approve("admit-shop")).await;
    let gtin = "00614141000074";
    net.ok(&brand, fx::register_product(gtin, &brand.id)).await;
    // The items as `veritrace items commission` makes them: codes, tokens, digests.
    let mut spec =
        BatchSpec::new(gtin, 5, SerialScheme::Sequential { prefix: "CS-".into(), start: 1, width: 4 }).unwrap();
    spec.policy = CodePolicy::default();
    let batch = veritrace_labels::generate(&spec, &mut rand::rng()).unwrap();
    let labels = batch.labels.clone();
    let commission = batch.actions[0].clone();
    let mut secrets = vec![commission.batch_salt.clone()];
    secrets.extend(commission.items.iter().map(|i| i.code_digest.clone()));
    let commission_envelope = net.envelope(&brand, Action::CommissionItems(commission));
    let commission_id = Envelope::from_proto(commission_envelope.clone()).unwrap().id();
    let receipt = net.client.submit(vec![commission_envelope]).await.unwrap().remove(0);
    assert_eq!(receipt.outcome, pb::Outcome::Applied as i32, "{}", receipt.message);
    let epcs: Vec<String> = labels.iter().map(|l| l.sgtin().to_digital_link()).collect();
    let all: Vec<&str> = epcs.iter().map(String::as_str).collect();
    net.ok(&brand, fx::ship(&all, "shop", None)).await;
    net.ok(&shop, fx::step("receiving", &all)).await;
    net.ok(&shop, fx::step("retail_selling", &all)).await;

    // 1. No public read carries a salt or a digest, byte for byte.
    for node in 1..=3 {
        let client = cluster.client(node).await;
        let entry = client.get_envelope(*commission_id.as_bytes()).await.unwrap().expect("the commissioning");
        assert!(entry.envelope.is_none(), "node {node} served the commissioning's bytes");
        let withheld = entry.withheld.clone().expect("withheld");
        assert_eq!(withheld.reason, "CODE_MATERIAL");
        assert_no_code_material("GetEnvelope", &entry.encode_to_vec(), &secrets);
        let listed = client
            .list_envelopes(pb::ListEnvelopesRequest { gtin: gtin.into(), include_proofs: true, ..Default::default() })
            .await
            .unwrap();
        assert!(listed.entries.len() >= 4, "the product's envelopes are listed");
        assert_no_code_material("ListEnvelopes", &listed.encode_to_vec(), &secrets);
    }
    let mut watch = net.client.watch(pb::WatchRequest::default()).await.unwrap();
    let size = net.client.status().await.unwrap().tree_size;
    let mut seen = 0;
    while seen < size {
        let message = watch.message().await.unwrap().expect("watch ended early");
        assert_no_code_material("Watch", &message.encode_to_vec(), &secrets);
        if matches!(message.event, Some(pb::watch_response::Event::Entry(_))) {
            seen += 1;
        }
    }
    drop(watch);
    let history = net.client.item_history(&labels[0].digital_link).await.unwrap();
    assert_no_code_material("GetItemHistory", &history.encode_to_vec(), &secrets);

    // 2. Two hundred concurrent wrong guesses on one item, from 200
    // addresses (a botnet holding a photo of the label) over all three
    // nodes: the ledger lets exactly the budget through to a code
    // comparison.
    let target = &labels[1];
    let before = net.client.status().await.unwrap().tree_size;
    let mut clients = Vec::new();
    for i in 0..200u64 {
        clients.push(client_from(&cluster, 1 + i % 3, [127, 0, 1, 10 + i as u8].into()).await);
    }
    let mut guesses = tokio::task::JoinSet::new();
    for (i, client) in clients.into_iter().enumerate() {
        let request = verify_request(target, &wrong(&target.code), &format!("guess-{i:012}"));
        guesses.spawn(async move { client.verify_item(request).await });
    }
    let (mut invalid, mut exhausted) = (0, 0);
    while let Some(answer) = guesses.join_next().await {
        match answer.unwrap() {
            Ok(a) => {
                assert_eq!(a.verdict, pb::Verdict::InvalidCode as i32);
                assert!(a.receipt.is_none(), "a wrong code is not recorded");
                invalid += 1;
            }
            Err(e) => {
                let (code, reason) = reason_of(&e);
                assert_eq!(code, Code::ResourceExhausted, "{e}");
                assert_eq!(reason, "CODE_ATTEMPTS_EXHAUSTED");
                assert!(e.retry_delay().is_some(), "RESOURCE_EXHAUSTED says when to retry");
                exhausted += 1;
            }
        }
    }
    assert_eq!(invalid, LOCKOUT_FAILURES, "wrong codes compared; the budget is {LOCKOUT_FAILURES}");
    assert_eq!(invalid + exhausted, 200);
    let stats = net.client.item_history(&target.digital_link).await.unwrap();
    assert_eq!(stats.state, pb::ItemState::Active as i32);

    // 3. A stranger at 127.0.0.1 who knows GTIN and serial hammers the
    // next item with wrong codes; the buyer at 127.0.0.2, holding the
    // label, still gets a genuine verdict.
    let bought = &labels[2];
    let stranger = client_from(&cluster, 1, [127, 0, 0, 1].into()).await;
    let buyer = client_from(&cluster, 1, [127, 0, 0, 2].into()).await;
    let mut refusals = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..60 {
        let request = without_token(verify_request(bought, &wrong(&bought.code), &format!("stranger-{i:010}")), bought);
        let e = stranger.verify_item(request).await.expect_err("a stranger has no token");
        *refusals.entry(reason_of(&e).1).or_default() += 1;
    }
    assert!(refusals.keys().all(|r| r == "LABEL_TOKEN_REQUIRED" || r == "CLIENT_RATE_LIMITED"), "{refusals:?}");
    assert!(refusals.contains_key("CLIENT_RATE_LIMITED"), "the address limit stops the script: {refusals:?}");
    let genuine = buyer.verify_item(verify_request(bought, &bought.code, "buyer-0000000001")).await.unwrap();
    let genuine_scan = genuine.scan_envelope.clone().expect("the recorded scan");
    assert_eq!(genuine.verdict, pb::Verdict::GenuineFirstScan as i32);
    assert_eq!(genuine.attempts_left, LOCKOUT_FAILURES as u32, "the stranger spent nothing");

    // 4. None of the wrong guesses grew the log: the one leaf added is the buyer's scan.
    let after = net.client.status().await.unwrap().tree_size;
    assert_eq!(after, before + 1, "only the matched scan is a leaf");
    // Ten thousand more wrong guesses on another item, with and without the
    // token, from 100 addresses over the three nodes: not one leaf.
    let hammered = &labels[4];
    let mut senders = tokio::task::JoinSet::new();
    for a in 0..100u64 {
        let client = client_from(&cluster, 1 + a % 3, [127, 0, 2, 10 + a as u8].into()).await;
        let guess = wrong(&hammered.code);
        let (with, without) =
            (verify_request(hammered, &guess, ""), without_token(verify_request(hammered, &guess, ""), hammered));
        senders.spawn(async move {
            let mut refused = 0;
            for i in 0..100 {
                let request = if i % 2 == 0 { with.clone() } else { without.clone() };
                match client.verify_item(request).await {
                    Ok(a) => assert_eq!(a.verdict, pb::Verdict::InvalidCode as i32),
                    Err(_) => refused += 1,
                }
            }
            refused
        });
    }
    let mut refused = 0;
    while let Some(n) = senders.join_next().await {
        refused += n.unwrap();
    }
    assert!(refused >= 9_990, "{refused} of 10,000 refused");
    assert_eq!(net.client.status().await.unwrap().tree_size, after, "10,000 wrong guesses, no leaf");

    // 5. The buyer's app retries (lost answer), on another node: one scan,
    // the same verdict and receipt.
    let again = cluster.client(3).await.verify_item(verify_request(bought, &bought.code, "buyer-0000000001")).await;
    let again = again.unwrap();
    assert_eq!(again.verdict, genuine.verdict);
    let (first, second) = (genuine.receipt.unwrap(), again.receipt.unwrap());
    assert_eq!((second.leaf_index, second.envelope_id), (first.leaf_index, first.envelope_id));
    assert_eq!(again.scan_stats.unwrap().count, 1);
    // The receipt proves the verdict answered: the scan it covers states it.
    let scan = Envelope::from_proto(again.scan_envelope.unwrap()).unwrap().transaction().unwrap();
    let Some(Action::ConsumerScan(scan)) = scan.action else { panic!("not a scan") };
    assert_eq!(scan.verdict, pb::Verdict::GenuineFirstScan as i32);

    // A request id buys no free guesses: the same id with wrong codes spends each time.
    let spare = &labels[3];
    let mut left = Vec::new();
    for code in [wrong(&spare.code), other_wrong(&spare.code)] {
        let a = cluster.client(2).await.verify_item(verify_request(spare, &code, "reused-000000001")).await.unwrap();
        assert_eq!(a.verdict, pb::Verdict::InvalidCode as i32);
        left.push(a.attempts_left);
    }
    assert_eq!(left, vec![LOCKOUT_FAILURES as u32 - 1, LOCKOUT_FAILURES as u32 - 2]);

    // 6. `veritrace items commission` as a brand runs it: private files,
    // random serials, a token in every link, and codes that verify only
    // with it.
    let out = cluster.dir.path().join("labels");
    let key = cluster.node_dir(1).join("party.key");
    let (api, key) = (cluster.api(1).to_owned(), key.to_str().unwrap().to_owned());
    support::ok(&[
        "items",
        "commission",
        "--endpoint",
        &api,
        "--party",
        "party-1",
        "--key",
        &key,
        "--gtin",
        gtin,
        "--count",
        "3",
        "--random-serials",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o700, "the labels directory is private");
    let csv = std::fs::read_to_string(out.join("labels.csv")).unwrap();
    assert_eq!(mode(&out.join("labels.csv")), 0o600, "the codes are readable by their owner only");
    assert_eq!(mode(&out.join("labels-001.svg")), 0o600);
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row[1].len(), 10, "a random serial of 10 characters: {row:?}");
        assert!(row[4].contains("?t="), "the link carries the token: {row:?}");
    }
    let (link, code) = (rows[0][4], rows[0][3]);
    // Node 3: node 1 has rate-limited this address's verifications (step 3).
    let api = cluster.api(3).to_owned();
    let verified = support::veritrace(&["verify", "--endpoint", &api, "--item", link, "--code", code, "-o", "json"]);
    let answer = String::from_utf8_lossy(&verified.stdout);
    // Exit 0 for a genuine verdict, 13 (10 + SUSPECTED_CLONE) for a clone.
    match verified.status.code() {
        Some(0) => assert!(answer.contains("\"genuine_first_scan\""), "{answer}"),
        Some(13) => assert!(answer.contains("\"suspected_clone\""), "{answer}"),
        other => panic!("verify exited {other:?}: {answer} {}", String::from_utf8_lossy(&verified.stderr)),
    }
    let bare =
        support::veritrace(&["verify", "--endpoint", &api, "--item", link.split('?').next().unwrap(), "--code", code]);
    assert!(!bare.status.success() && String::from_utf8_lossy(&bare.stderr).contains("LABEL_TOKEN_REQUIRED"));

    // 7. The shop reports scans of its own: attributed and counted apart;
    // passing one off as a verification is refused.
    let place = fx::place("DE", "Berlin", 52.52, 13.40);
    let report = net.submit(&shop, fx::scan(gtin, bought.serial.as_str(), place.clone())).await;
    assert_eq!(report.outcome, pb::Outcome::Rejected as i32, "a retailer may not report scans");
    // A validator recording a "matched" scan itself: the buyer's request
    // again is refused, and without the label's token so is a new one.
    let buyer_scan = Envelope::from_proto(genuine_scan.clone()).unwrap().transaction().unwrap();
    let Some(Action::ConsumerScan(buyer_scan)) = buyer_scan.action else { panic!("not a scan") };
    let forge = |request_id: &str, token: Option<&[u8]>| {
        fx::consumer_scan(
            gtin,
            bought.serial.as_str(),
            request_id,
            token,
            place.clone(),
            pb::Verdict::GenuineSeenBefore,
            vec![],
        )
    };
    let replayed = net.submit(&brand, forge(std::str::from_utf8(&buyer_scan.request_id).unwrap(), None)).await;
    assert_eq!(replayed.outcome, pb::Outcome::Rejected as i32);
    let tokenless = net.submit(&brand, forge("forged-000000001", None)).await;
    assert_eq!(tokenless.reason, "LABEL_TOKEN_REQUIRED", "{}", tokenless.message);
    // A platform or retailer cannot count guesses at all.
    let guess = fx::attempt(gtin, bought.serial.as_str(), "shop-guess-000001", Some(bought.label_token.as_bytes()));
    assert_eq!(net.submit(&shop, guess).await.reason, "ROLE_NOT_PERMITTED");
    let own = net.ok(&brand, fx::scan(gtin, bought.serial.as_str(), fx::place("FR", "Lyon", 45.76, 4.84))).await;
    assert!(own.leaf_index > 0);
    let stats = cluster.client(2).await.verify_item(verify_request(bought, &bought.code, "buyer-0000000002")).await;
    let stats = stats.unwrap().scan_stats.unwrap();
    assert_eq!((stats.count, stats.party_reported_count), (2, 1), "the brand's report is not a consumer scan");
}
