//! Threshold code keys end to end on three node processes (RocksDB,
//! libp2p, gRPC over TCP), as a brand and operators use them: the brand
//! deals a key with `codes deal-key`, each node loads its share from its
//! configuration, the product names the key through `tx submit`, the items
//! are commissioned with `items commission --code-key`, and `verify` works
//! through any node while enough holders run. With a holder killed, a
//! 2-of-3 key still verifies and a 3-of-3 key answers UNAVAILABLE
//! `CODE_CHECK_UNAVAILABLE`, spending nothing; with the holder back, it
//! verifies again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};

use support::TestCluster;

const GTIN_TWO: &str = "00614141000081";
const GTIN_THREE: &str = "00614141000098";

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Serial, code and Digital Link (with its token) of each label in `dir`.
fn labels(dir: &Path) -> Vec<(String, String, String)> {
    let csv = std::fs::read_to_string(dir.join("labels.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            let row: Vec<&str> = l.split(',').collect();
            (row[1].to_owned(), row[3].to_owned(), row[4].to_owned())
        })
        .collect()
}

fn wrong(code: &str) -> String {
    if code == "000000" { "000001".into() } else { "000000".into() }
}

fn verify(api: &str, link: &str, code: &str) -> std::process::Output {
    support::veritrace(&["verify", "--endpoint", api, "--item", link, "--code", code, "-o", "json"])
}

/// The code matched and its scan is recorded (the items never reached a
/// shop: SUSPECTED_CLONE, SCANNED_BEFORE_RETAIL).
fn matched(answer: &str) -> bool {
    answer.contains("\"suspected_clone\"") && answer.contains("SCANNED_BEFORE_RETAIL")
}

fn assert_matched(api: &str, link: &str, code: &str) {
    let answer = verdict(api, link, code);
    assert!(matched(&answer), "{link} through {api}: {answer}");
}

fn verdict(api: &str, link: &str, code: &str) -> String {
    let out = verify(api, link, code);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // An answered verification exits with its verdict's documented code.
    let want = support::verdict_exit_code(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(want), "verify {link} through {api}: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dealt_code_key_needs_its_holders_and_nothing_else() {
    let keys = tempfile::tempdir().unwrap();
    let dir = |name: &str| -> PathBuf { keys.path().join(name) };
    let (two, three) = (dir("two-of-three"), dir("three-of-three"));
    let brand = ["--brand", "party-1", "--network", "veritrace-local"];
    let (two_out, three_out) = (two.to_str().unwrap(), three.to_str().unwrap());
    support::ok(
        &[&["codes", "deal-key", "--threshold", "2", "--node", "1,2,3", "--out", two_out][..], &brand].concat(),
    );
    let nodes = ["--node", "1", "--node", "2", "--node", "3"];
    support::ok(&[&["codes", "deal-key", "--threshold", "3", "--out", three_out][..], &nodes, &brand].concat());
    for name in ["code-key.secret", "share-node-1.codeshare", "share-node-3.codeshare", "code-policy.json"] {
        assert_eq!(mode(&two.join(name)), 0o600, "{name} is readable by others");
    }
    assert_eq!(mode(&two), 0o700);
    // Refused: overwriting a key, a threshold that protects nothing, one node twice.
    for (args, says) in [
        (vec!["--threshold", "2", "--node", "1,2", "--out", two.to_str().unwrap()], "refusing to overwrite"),
        (vec!["--threshold", "1", "--node", "1,2", "--out", dir("t1").to_str().unwrap()], "--threshold 1"),
        (vec!["--threshold", "2", "--node", "1,1", "--out", dir("dup").to_str().unwrap()], "distinct"),
    ] {
        let out = support::veritrace(&[&["codes", "deal-key"][..], &args, &brand].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(says), "{args:?}: {stderr}");
    }

    let mut cluster = TestCluster::init(3, 0, |c| {
        let id = c.node.id;
        c.node.code_key_share_files =
            vec![two.join(format!("share-node-{id}.codeshare")), three.join(format!("share-node-{id}.codeshare"))];
        c.api.verification.per_address_per_minute = 0;
    });
    for id in 1..=3 {
        cluster.start(id);
    }
    cluster.leader(&[1, 2, 3]).await;
    let key = cluster.node_dir(1).join("party.key").to_str().unwrap().to_owned();
    let api1 = cluster.api(1).to_owned();
    let signer = ["--endpoint", api1.as_str(), "--party", "party-1", "--key", key.as_str()];

    let mut batches = Vec::new();
    for (gtin, key_dir) in [(GTIN_TWO, &two), (GTIN_THREE, &three)] {
        let policy: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(key_dir.join("code-policy.json")).unwrap()).unwrap();
        let tx = serde_json::json!({"registerProduct": {
            "gtin": gtin, "brandPartyId": "party-1", "name": "Serum", "codePolicy": policy,
        }});
        let file = keys.path().join(format!("register-{gtin}.json"));
        std::fs::write(&file, tx.to_string()).unwrap();
        let submitted = support::ok(&[&["tx", "submit"][..], &signer, &[file.to_str().unwrap()]].concat());
        assert!(submitted.to_lowercase().contains("applied"), "{submitted}");
        let out = keys.path().join(format!("labels-{gtin}"));
        let secret = key_dir.join("code-key.secret");
        support::ok(
            &[
                &["items", "commission"][..],
                &signer,
                &[
                    "--gtin",
                    gtin,
                    "--count",
                    "3",
                    "--code-key",
                    secret.to_str().unwrap(),
                    "--out",
                    out.to_str().unwrap(),
                ],
            ]
            .concat(),
        );
        batches.push(labels(&out));
    }
    let (two_labels, three_labels) = (&batches[0], &batches[1]);
    cluster.converge(&[1, 2, 3], 4).await;

    // Every node checks codes under either key, right and wrong.
    let api3 = cluster.api(3).to_owned();
    assert_matched(&api3, &two_labels[0].2, &two_labels[0].1);
    assert_matched(&api1, &three_labels[0].2, &three_labels[0].1);
    let invalid = verdict(&api1, &two_labels[1].2, &wrong(&two_labels[1].1));
    assert!(invalid.contains("\"invalid_code\""), "{invalid}");

    // A holder killed: 2-of-3 still verifies; 3-of-3 cannot, and says so.
    cluster.kill(2);
    cluster.leader(&[1, 3]).await;
    assert_matched(&api1, &two_labels[2].2, &two_labels[2].1);
    let refused = verify(&api3, &three_labels[1].2, &three_labels[1].1);
    let text = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success() && text.contains("CODE_CHECK_UNAVAILABLE"), "{text}");

    // Back: the 3-of-3 item verifies, as a first scan (nothing was recorded).
    cluster.start(2);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = verify(&api3, &three_labels[1].2, &three_labels[1].1);
        // Answered: a verdict's exit code (0 genuine, 10 + the verdict otherwise).
        if out.status.code().is_some_and(|c| c == 0 || (10..=17).contains(&c)) {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(matched(&text), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never verified with node 2 back");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let log = std::fs::read_to_string(&cluster.nodes[&1].log).unwrap();
    assert!(log.contains("code key share loaded"), "node 1 did not say it loaded its shares");
}

/// Runs `veritrace node start` and waits up to 30 s for it to exit.
fn start_and_expect_exit(config: &Path) -> (bool, String) {
    let mut child = std::process::Command::new(support::BIN)
        .args(["node", "start", "--config", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return (status.success(), stderr);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the node started with an unusable code key share");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_node_with_an_unusable_share_does_not_start_and_names_it() {
    let keys = tempfile::tempdir().unwrap();
    let garbage = keys.path().join("garbage.codeshare");
    std::fs::write(&garbage, "veritrace code key share v1\npublic_key 00\nshare 00\n").unwrap();
    for (file, says) in [(keys.path().join("missing.codeshare"), "missing.codeshare"), (garbage, "garbage.codeshare")] {
        let shown = file.clone();
        let cluster = TestCluster::init(1, 0, move |c| c.node.code_key_share_files = vec![shown.clone()]);
        let (ok, stderr) = start_and_expect_exit(&cluster.nodes[&1].config);
        assert!(!ok && stderr.contains(says), "{}: {stderr}", file.display());
    }
}
