//! Three organisations found a network from three separate directories:
//! each makes its keys on its "own host" (`keys generate`), a coordinator
//! assembles the genesis from their public parts only, each founder signs
//! it, the coordinator seals it, each configures and starts its node as a
//! real process. No directory ever holds another organisation's secret
//! key, and a node refuses a genesis a founder did not sign.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, free_base_port, ok, veritrace};
use veritrace_client::Client;
use veritrace_proto::v1 as pb;

/// The organisations' node processes, killed when the test ends.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Copies `name` from `from` to `to`: what travels between hosts.
fn send(from: &Path, name: &str, to: &Path, as_name: &str) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join(name), to.join(as_name)).unwrap();
}

/// Every file under `dir` (recursively) whose name is a secret's.
fn secrets_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(secrets_in(&p));
        } else if p.extension().is_some_and(|e| e == "key") || p.file_name().is_some_and(|n| n == "admin.token") {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_organisations_found_a_network_without_sharing_a_secret() {
    let root = tempfile::tempdir().unwrap();
    let base = free_base_port(3);
    let orgs = [("acme-brand", "brand-owner"), ("qc-lab", "inspection"), ("port-customs", "customs")];
    let host = |k: usize| root.path().join(format!("host-{}", orgs[k].0));
    let coordinator = root.path().join("coordinator");

    // 1. Each organisation on its own host.
    for (k, (party, role)) in orgs.iter().enumerate() {
        let n = base + k as u16 + 1;
        let mut args = vec![
            "keys".to_owned(),
            "generate".into(),
            "--out".into(),
            path(&host(k)).into(),
            "--party".into(),
            (*party).into(),
            "--name".into(),
            format!("{party} Ltd"),
            "--country".into(),
            "FR".into(),
            "--role".into(),
            "admin".into(),
            "--role".into(),
            (*role).into(),
            "--api-advertise".into(),
            format!("http://127.0.0.1:{n}"),
            "--p2p-advertise".into(),
            format!("/ip4/127.0.0.1/tcp/{}", n + 100),
        ];
        if k == 0 {
            args.extend(["--gs1-prefix".into(), "0614141".into(), "--tls-host".into(), "127.0.0.1".into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&args);
        send(&host(k), "public.json", &coordinator, &format!("{party}.json"));
    }
    let again = veritrace(&[
        "keys",
        "generate",
        "--out",
        path(&host(0)),
        "--party",
        "acme-brand",
        "--name",
        "x",
        "--country",
        "FR",
        "--role",
        "admin",
        "--api-advertise",
        "http://127.0.0.1:1",
        "--p2p-advertise",
        "/ip4/127.0.0.1/tcp/2",
    ]);
    assert_eq!(again.status.code(), Some(1), "keys are never overwritten");

    // 2. The coordinator assembles from public parts only.
    let publics: Vec<String> =
        orgs.iter().map(|(p, _)| path(&coordinator.join(format!("{p}.json"))).to_owned()).collect();
    let mut assemble = vec!["genesis", "assemble", "--network-id", "three-orgs", "--out", path(&coordinator)];
    assemble.extend(publics.iter().map(String::as_str));
    let out = ok(&assemble);
    assert!(out.contains("3 founders"), "{out}");

    // A coordinator that slips its own key into a founder's entry gets no signature.
    let forged_dir = root.path().join("forged");
    std::fs::create_dir_all(&forged_dir).unwrap();
    let mut forged =
        <pb::Genesis as prost::Message>::decode(std::fs::read(coordinator.join("genesis.pb")).unwrap().as_slice())
            .unwrap();
    let mut extra = forged.founding_parties[0].signing_keys[0].clone();
    extra.public_key = veritrace_core::SecretKey::from_seed_label("coordinator").public().to_bytes().to_vec();
    forged.founding_parties[0].signing_keys.push(extra);
    std::fs::write(forged_dir.join("genesis.pb"), prost::Message::encode_to_vec(&forged)).unwrap();
    let o = veritrace(&["genesis", "sign", "--network", path(&forged_dir), "--keys", path(&host(0))]);
    assert_eq!(o.status.code(), Some(1), "signed a genesis with a planted key");
    assert!(String::from_utf8_lossy(&o.stderr).contains("differs from its public.json"), "{o:?}");

    // 3. Each founder checks and signs on its own host.
    for (k, (party, _)) in orgs.iter().enumerate() {
        let incoming = host(k).join("incoming");
        send(&coordinator, "genesis.pb", &incoming, "genesis.pb");
        send(&coordinator, "network.json", &incoming, "network.json");
        let out = ok(&["genesis", "sign", "--network", path(&incoming), "--keys", path(&host(k))]);
        assert!(out.contains(&format!("signed as {party}")), "{out}");
        send(&host(k), &format!("genesis-{party}.sig"), &coordinator, &format!("genesis-{party}.sig"));
    }
    let sig = |k: usize| path(&coordinator.join(format!("genesis-{}.sig", orgs[k].0))).to_owned();
    // Two signatures of three do not seal it.
    let o = veritrace(&["genesis", "seal", "--network", path(&coordinator), &sig(0), &sig(1)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("port-customs has not signed"), "{o:?}");
    ok(&["genesis", "seal", "--network", path(&coordinator), &sig(0), &sig(1), &sig(2)]);

    // A network.json with a voter the genesis does not list is refused.
    let tampered = root.path().join("tampered");
    for name in ["genesis.pb", "genesis.sig"] {
        send(&coordinator, name, &tampered, name);
    }
    let mut network: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(coordinator.join("network.json")).unwrap()).unwrap();
    let mut intruder = network["members"][0].clone();
    intruder["node_id"] = 9.into();
    intruder["party_id"] = "intruder".into();
    network["members"].as_array_mut().unwrap().push(intruder);
    std::fs::write(tampered.join("network.json"), network.to_string()).unwrap();
    let o = veritrace(&["genesis", "configure", "--network", path(&tampered), "--keys", path(&host(0))]);
    assert_eq!(o.status.code(), Some(1), "configured with an intruding voter");
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a founding validator"), "{o:?}");

    // 4. Each configures its node from the sealed genesis.
    for k in 0..3 {
        let incoming = host(k).join("incoming");
        send(&coordinator, "genesis.sig", &incoming, "genesis.sig");
        let ops = format!("127.0.0.1:{}", base + 200 + k as u16 + 1);
        ok(&["genesis", "configure", "--network", path(&incoming), "--keys", path(&host(k)), "--ops-listen", &ops]);
    }

    // The first organisation's TLS key stayed home: the network's CA signs its request.
    let ca = root.path().join("ca-host");
    ok(&["cert", "create-ca", "--out", path(&ca)]);
    send(&host(0), "node-tls.csr", &ca, "acme.csr");
    let signed = ok(&[
        "cert",
        "sign-request",
        "--ca-dir",
        path(&ca),
        "--csr",
        path(&ca.join("acme.csr")),
        "--out",
        path(&ca.join("acme.crt")),
    ]);
    assert!(signed.contains("request for node \"acme-brand\", hosts 127.0.0.1"), "{signed}");
    assert!(std::fs::read_to_string(ca.join("acme.crt")).unwrap().contains("BEGIN CERTIFICATE"));

    // No directory holds another's secret: each host its own, the coordinator none.
    assert!(secrets_in(&coordinator).is_empty(), "{:?}", secrets_in(&coordinator));
    for k in 0..3 {
        let mut names: Vec<String> =
            secrets_in(&host(k)).iter().map(|p| p.strip_prefix(host(k)).unwrap().display().to_string()).collect();
        names.sort();
        let mut want = vec!["admin.token", "node.key", "party.key"];
        if k == 0 {
            want.insert(1, "node-tls.key");
        }
        assert_eq!(names, want, "host {k}");
    }
    assert_eq!(secrets_in(&ca).iter().filter(|p| p.ends_with("node-tls.key")).count(), 0);

    // A node refuses a genesis one founder did not sign.
    let seal_path = host(2).join("genesis.sig");
    let sealed = std::fs::read_to_string(&seal_path).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&sealed).unwrap();
    doc["signatures"].as_array_mut().unwrap().retain(|s| s["party_id"] != "qc-lab");
    std::fs::write(&seal_path, doc.to_string()).unwrap();
    let o =
        Command::new(BIN).args(["node", "start", "--config", path(&host(2).join("veritrace.toml"))]).output().unwrap();
    assert_ne!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("qc-lab has not signed"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::write(&seal_path, sealed).unwrap();

    // The three nodes run, elect a leader and replicate a founder's submission.
    let mut nodes = Nodes(Vec::new());
    for k in 0..3 {
        let log = std::fs::File::create(host(k).join("node.log")).unwrap();
        let child = Command::new(BIN)
            .args(["node", "start", "--config", path(&host(k).join("veritrace.toml"))])
            .env("VERITRACE_LOG", "info,veritrace_net=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        nodes.0.push(child);
    }
    let apis: Vec<String> = (1..=3).map(|k| format!("http://127.0.0.1:{}", base + k)).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut leaders = 0;
        for api in &apis {
            if let Ok(c) = Client::connect(api).await
                && let Ok(s) = c.status().await
                && s.role == pb::RaftRole::Leader as i32
            {
                leaders += 1;
            }
        }
        if leaders == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no leader; logs in {}", root.path().display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let product = root.path().join("product.json");
    std::fs::write(
        &product,
        r#"{"registerProduct": {"gtin": "00614141000012", "brandPartyId": "acme-brand", "name": "Shoe"}}"#,
    )
    .unwrap();
    let key = host(0).join("party.key");
    ok(&["tx", "submit", "--endpoint", &apis[1], "--party", "acme-brand", "--key", path(&key), path(&product)]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut sizes = Vec::new();
        for api in &apis {
            if let Ok(c) = Client::connect(api).await
                && let Ok(s) = c.status().await
            {
                sizes.push(s.tree_size);
            }
        }
        if sizes == [1, 1, 1] {
            break;
        }
        assert!(Instant::now() < deadline, "not replicated: {sizes:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
