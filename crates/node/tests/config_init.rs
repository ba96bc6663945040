//! `veritrace init` output, configuration loading and key files, checked on
//! real files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use veritrace_node::keys::{self, KeyFileError};
use veritrace_node::{ClusterFile, ConfigError, InitError, InitOptions, NodeConfig, generate_local_cluster};
use veritrace_proto::v1 as pb;

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn options(out: &Path, nodes: usize, learners: usize) -> InitOptions {
    InitOptions { learners, base_port: 17400, network_id: "test-local".into(), ..InitOptions::new(nodes, out) }
}

#[test]
fn init_three_voters_and_a_learner() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("cluster");
    let layout = generate_local_cluster(&options(&out, 3, 1)).expect("init");
    assert_eq!(layout.dir, out);
    assert_eq!(layout.nodes.len(), 4);

    // The real identity of each node, from its key file.
    let mut peer_ids = BTreeMap::new();
    for k in 1..=4u64 {
        let dir = out.join(format!("node{k}"));
        let seed = keys::read_seed_file(&dir.join("node.key")).expect("node key");
        peer_ids.insert(k, keys::peer_id_of(&seed).expect("peer id").to_string());
        #[cfg(unix)]
        assert_eq!(mode(&dir.join("node.key")), 0o600);
    }

    let genesis_bytes = std::fs::read(out.join("node1/genesis.pb")).expect("genesis");
    for (i, node) in layout.nodes.iter().enumerate() {
        let k = i as u64 + 1;
        let dir = out.join(format!("node{k}"));
        assert_eq!(node.id, k);
        assert_eq!(node.name, format!("node{k}"));
        assert_eq!(node.config_path, dir.join("veritrace.toml"));
        assert_eq!(node.peer_id, peer_ids[&k]);
        assert_eq!(node.voter, k <= 3);
        assert_eq!(node.api_addr.to_string(), format!("127.0.0.1:{}", 17400 + k));
        assert_eq!(node.p2p_addr, format!("/ip4/127.0.0.1/tcp/{}", 17500 + k));
        assert_eq!(std::fs::read(dir.join("genesis.pb")).expect("genesis copy"), genesis_bytes);

        let config = NodeConfig::load(&node.config_path).expect("generated config loads");
        assert_eq!(config.node.id, k);
        assert_eq!(config.node.key_file, dir.join("node.key"));
        assert_eq!(config.node.data_dir, dir.join("data"));
        assert_eq!(config.node.genesis_file, dir.join("genesis.pb"));
        assert_eq!(config.api.listen, node.api_addr);
        assert_eq!(config.network.listen, node.p2p_addr);
        assert_eq!(config.network.request_timeout_ms, 5000);
        if k <= 3 {
            assert_eq!(config.cluster.initial_voters, vec![1, 2, 3]);
            assert_eq!(config.node.party_id.as_deref(), Some(format!("party-{k}").as_str()));
            assert_eq!(node.party_id, config.node.party_id);
        } else {
            // A learner joins later, as its own party's validator, named in the genesis.
            assert!(config.cluster.initial_voters.is_empty());
            assert_eq!(config.node.party_id.as_deref(), Some("party-4"));
            assert_eq!(node.party_id, config.node.party_id);
            assert!(dir.join("party.key").exists());
        }
        // Every other node, with its real PeerId and address.
        let entries = config.peer_entries().expect("peer entries");
        assert_eq!(entries.len(), 3);
        for other in (1..=4u64).filter(|&o| o != k) {
            let entry = entries.iter().find(|e| e.node == other).expect("peer listed");
            assert_eq!(entry.peer_id.to_string(), peer_ids[&other]);
            assert_eq!(entry.addrs.len(), 1);
            assert_eq!(entry.addrs[0].to_string(), format!("/ip4/127.0.0.1/tcp/{}", 17500 + other));
        }
    }

    let genesis = pb::Genesis::decode(genesis_bytes.as_slice()).expect("genesis decodes");
    assert_eq!(genesis.network_id, "test-local");
    assert!(genesis.genesis_time.is_some_and(|t| t.seconds > 1_700_000_000));
    assert_eq!(genesis.founding_parties.len(), 4, "three founding voters' parties and the learner's");
    let learner = &genesis.founding_parties[3];
    assert_eq!((learner.party_id.as_str(), learner.validator_peer_id.as_str()), ("party-4", peer_ids[&4].as_str()));
    assert_eq!(learner.roles.len(), 1, "the learner's party is no admin: {learner:?}");
    assert_ne!(learner.roles[0], pb::PartyRole::Admin as i32);
    let mut roles = Vec::new();
    for (i, party) in genesis.founding_parties.iter().take(3).enumerate() {
        let k = i as u64 + 1;
        assert_eq!(party.party_id, format!("party-{k}"));
        assert_eq!(party.display_name, format!("Local party {k}"));
        assert_eq!(party.validator_peer_id, peer_ids[&k]);
        assert_eq!(party.status, pb::PartyStatus::Active as i32);
        let party_key_file = out.join(format!("node{k}/party.key"));
        #[cfg(unix)]
        assert_eq!(mode(&party_key_file), 0o600);
        let seed = keys::read_seed_file(&party_key_file).expect("party key");
        let public = keys::party_key(&seed).expect("party key").public().to_bytes().to_vec();
        assert_eq!(party.signing_keys.len(), 1);
        assert_eq!(party.signing_keys[0].public_key, public);
        assert_eq!(party.signing_keys[0].status, pb::KeyStatus::Active as i32);
        assert_eq!(party.roles.len(), 2, "ADMIN plus one business role");
        assert_eq!(party.roles[0], pb::PartyRole::Admin as i32);
        assert_ne!(party.roles[1], pb::PartyRole::Unspecified as i32);
        roles.push(party.roles[1]);
    }
    roles.dedup();
    assert_eq!(roles.len(), 3, "roles cycle through distinct business roles");
    assert_eq!(genesis.governance.as_ref().map(|g| g.threshold), Some(2), "a majority of the 3 admins");
    let validated = veritrace_ledger::Genesis::from_proto(genesis).expect("the ledger accepts the genesis");
    assert_eq!(validated.network_id(), "test-local");

    let cluster: ClusterFile =
        serde_json::from_slice(&std::fs::read(out.join("cluster.json")).expect("cluster.json")).expect("json");
    assert_eq!(cluster.network_id, "test-local");
    assert_eq!(cluster.nodes.len(), 4);
    assert_eq!(cluster.nodes[0].api, "http://127.0.0.1:17401");
    assert_eq!(cluster.nodes[3].peer_id, peer_ids[&4]);
    assert_eq!(cluster.nodes[3].party_id.as_deref(), Some("party-4"));
    assert!(!cluster.nodes[3].voter);
    assert_eq!(cluster.nodes[1].config, "node2/veritrace.toml");
    assert!(out.join(&cluster.nodes[1].config).is_file());
    // The raw JSON names the learner's party too, for scripts.
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("cluster.json")).expect("cluster.json")).expect("json");
    assert_eq!(raw["nodes"][3]["party_id"], "party-4");
}

#[test]
fn init_refuses_bad_options_and_non_empty_dirs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("cluster");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("something"), b"x").expect("write");
    let err = generate_local_cluster(&options(&out, 3, 0)).expect_err("non-empty dir");
    assert!(matches!(&err, InitError::OutDirNotEmpty { dir } if dir == &out), "{err:?}");
    assert!(err.to_string().contains(&out.display().to_string()), "{err}");
    assert_eq!(std::fs::read_dir(&out).expect("dir").count(), 1, "nothing written");

    let fresh = tmp.path().join("fresh");
    let err = generate_local_cluster(&options(&fresh, 0, 0)).expect_err("nodes = 0");
    assert!(matches!(err, InitError::InvalidOptions { option: "nodes", .. }), "{err:?}");
    assert!(!fresh.exists());
    let err = generate_local_cluster(&options(&fresh, 60, 5)).expect_err("too many");
    assert!(matches!(err, InitError::InvalidOptions { option: "nodes", .. }), "{err:?}");
    let err = generate_local_cluster(&InitOptions { base_port: 65_500, ..options(&fresh, 3, 0) }).expect_err("port");
    assert!(matches!(err, InitError::PortOverflow { base_port: 65_500, .. }), "{err:?}");
    let err =
        generate_local_cluster(&InitOptions { host: "localhost".into(), ..options(&fresh, 1, 0) }).expect_err("host");
    assert!(matches!(err, InitError::InvalidOptions { option: "host", .. }), "{err:?}");

    // An empty existing directory is fine; one node is a cluster.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let layout = generate_local_cluster(&options(&empty, 1, 0)).expect("init into empty dir");
    let config = NodeConfig::load(&layout.nodes[0].config_path).expect("load");
    assert_eq!(config.cluster.initial_voters, vec![1]);
    assert!(config.peers.is_empty());
}

const VALID: &str = r#"
[node]
id = 1
name = "node1"
data_dir = "data"
key_file = "node.key"
genesis_file = "genesis.pb"

[network]
listen = "/ip4/127.0.0.1/tcp/7501"

[api]
listen = "127.0.0.1:7401"

[cluster]
initial_voters = [1, 2]

[[peers]]
id = 1
peer_id = "PEER1"
addrs = ["/ip4/127.0.0.1/tcp/7501"]

[[peers]]
id = 2
peer_id = "PEER2"
addrs = ["/ip4/127.0.0.1/tcp/7502"]
"#;

fn peer(n: u8) -> String {
    keys::peer_id_of(&[n; 32]).expect("peer id").to_string()
}

fn valid() -> String {
    VALID.replace("PEER1", &peer(1)).replace("PEER2", &peer(2))
}

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn load_applies_defaults_and_resolves_paths() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = valid().replace("key_file = \"node.key\"", "key_file = \"/etc/veritrace/node.key\"");
    let config = NodeConfig::load(&write_config(tmp.path(), "ok.toml", &text)).expect("valid config");
    assert_eq!(config.node.data_dir, tmp.path().join("data"));
    assert_eq!(config.node.genesis_file, tmp.path().join("genesis.pb"));
    assert_eq!(config.node.key_file, PathBuf::from("/etc/veritrace/node.key"));
    assert_eq!(config.node.party_id, None);
    assert_eq!(config.network.request_timeout_ms, 5000);
    assert_eq!(config.raft.tick_ms, 100);
    assert_eq!(config.raft.election_ticks, 10);
    assert_eq!(config.raft.heartbeat_ticks, 3);
    assert_eq!(config.raft.snapshot_interval, 100_000);
    assert_eq!(config.raft.snapshot_keep_entries, 1000);
    assert_eq!(config.raft.max_batch_envelopes, 1000);
    assert_eq!(config.raft.max_batch_bytes, 1_048_576);
    // The entry for this node itself is ignored.
    let entries = config.peer_entries().expect("entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].node, 2);
    assert_eq!(entries[0].peer_id.to_string(), peer(2));

    // to_toml round-trips (paths as given).
    let again: NodeConfig = toml::from_str(&config.to_toml().expect("toml")).expect("reparse");
    assert_eq!(again, config);
}

#[test]
fn load_errors_name_the_file_and_field() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = valid();
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown field", base.replace("name = \"node1\"", "name = \"node1\"\ncolour = \"red\""), "colour"),
        ("unknown section", format!("{base}\n[extra]\nx = 1\n"), "extra"),
        ("node id 0", base.replace("id = 1\nname", "id = 0\nname"), "node.id"),
        ("bad listen", base.replace("/ip4/127.0.0.1/tcp/7501\"\n", "not-a-multiaddr\"\n"), "network.listen"),
        ("bad api listen", base.replace("127.0.0.1:7401", "127.0.0.1"), "listen"),
        ("bad peer id", base.replace(&peer(2), "12D3KooWnotapeerid"), "peers[1].peer_id"),
        ("bad peer addr", base.replace("/ip4/127.0.0.1/tcp/7502", "/ip4/999.0.0.1/tcp/1"), "peers[1].addrs[0]"),
        ("duplicate peer id", base.replace(&peer(2), &peer(1)), "peers[1].peer_id"),
        ("duplicate node id", base.replace("id = 2\n", "id = 1\n"), "peers[1].id"),
        ("self not a voter", base.replace("[1, 2]", "[2]"), "cluster.initial_voters"),
        ("voter not a peer", base.replace("[1, 2]", "[1, 2, 3]"), "cluster.initial_voters"),
        ("heartbeat >= election", format!("{base}\n[raft]\nheartbeat_ticks = 10\n"), "raft.heartbeat_ticks"),
        ("zero tick", format!("{base}\n[raft]\ntick_ms = 0\n"), "raft.tick_ms"),
        ("zero batch", format!("{base}\n[raft]\nmax_batch_bytes = 0\n"), "raft.max_batch_bytes"),
        (
            "bad party id",
            base.replace("name = \"node1\"", "name = \"node1\"\nparty_id = \"Bad Party\""),
            "node.party_id",
        ),
        ("plaintext off loopback", base.replace("127.0.0.1:7401", "192.0.2.1:7401"), "api.listen"),
        ("api on every interface", base.replace("127.0.0.1:7401", "0.0.0.0:7401"), "api.advertise"),
        (
            "peers on every interface",
            base.replace("/ip4/127.0.0.1/tcp/7501\"\n", "/ip4/0.0.0.0/tcp/7501\"\n"),
            "network.advertise",
        ),
        (
            "bad admin token hash",
            base.replace("[api]", "[api.admin]\ntoken_blake3 = \"xyz\"\n\n[api]"),
            "api.admin.token_blake3",
        ),
    ];
    for (i, (what, text, field)) in cases.iter().enumerate() {
        let path = write_config(tmp.path(), &format!("case{i}.toml"), text);
        let err = NodeConfig::load(&path).expect_err(what);
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{what}: {message}");
        assert!(message.contains(field), "{what}: {message} should name {field}");
        match &err {
            ConfigError::Invalid { file, field: f, .. } => {
                assert_eq!(file, &path, "{what}");
                assert_eq!(f, field, "{what}");
            }
            ConfigError::Parse { file, .. } => assert_eq!(file, &path, "{what}"),
            other => panic!("{what}: unexpected {other:?}"),
        }
    }
    // Plaintext off loopback is refused with the way out in the message,
    // and accepted when the operator says so.
    let open = base.replace("127.0.0.1:7401", "192.0.2.1:7401");
    let err = NodeConfig::load(&write_config(tmp.path(), "open.toml", &open)).expect_err("plaintext off loopback");
    assert!(err.to_string().contains("--insecure"), "{err}");
    let insecure = open.replace("listen = \"192.0.2.1:7401\"", "listen = \"192.0.2.1:7401\"\ninsecure = true");
    let config = NodeConfig::load(&write_config(tmp.path(), "insecure.toml", &insecure)).expect("insecure on purpose");
    assert!(config.api.insecure);
    assert_eq!(config.advertised_api(), "http://192.0.2.1:7401");
    // Every interface: told what to announce, the node announces that.
    let everywhere = base
        .replace(
            "listen = \"127.0.0.1:7401\"",
            "listen = \"0.0.0.0:7401\"\ninsecure = true\nadvertise = \"http://n1.example.org:7401\"",
        )
        .replace(
            "listen = \"/ip4/127.0.0.1/tcp/7501\"\n",
            "listen = \"/ip4/0.0.0.0/tcp/7501\"\nadvertise = \"/dns4/n1.example.org/tcp/7501\"\n",
        );
    let config = NodeConfig::load(&write_config(tmp.path(), "everywhere.toml", &everywhere)).expect("advertised");
    assert_eq!(config.advertised_api(), "http://n1.example.org:7401");
    assert_eq!(config.advertised_addrs(), ["/dns4/n1.example.org/tcp/7501"]);
    let bad = everywhere.replace("\"http://n1.example.org:7401\"", "\"n1.example.org:7401\"");
    let err = NodeConfig::load(&write_config(tmp.path(), "bad-advertise.toml", &bad)).expect_err("no scheme");
    assert!(err.to_string().contains("api.advertise"), "{err}");
    let missing = tmp.path().join("missing.toml");
    let err = NodeConfig::load(&missing).expect_err("missing");
    assert!(matches!(&err, ConfigError::Read { file, .. } if file == &missing), "{err:?}");
}

#[test]
fn key_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("k.key");
    let seed = keys::generate_seed();
    keys::write_seed_file(&path, &seed).expect("write");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), format!("{}\n", hex::encode(seed)));
    assert_eq!(keys::read_seed_file(&path).expect("read back"), seed);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);

    let err = keys::write_seed_file(&path, &[1; 32]).expect_err("overwrite");
    assert!(matches!(&err, KeyFileError::AlreadyExists { path: p } if p == &path), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
    assert_eq!(keys::read_seed_file(&path).expect("unchanged"), seed);

    // Upper case and surrounding whitespace are accepted.
    let upper = tmp.path().join("upper.key");
    std::fs::write(&upper, format!("  {}\r\n\n", hex::encode_upper(seed))).expect("write");
    assert_eq!(keys::read_seed_file(&upper).expect("upper"), seed);

    let secret = hex::encode(seed);
    let bad_cases = [
        ("bad-hex", format!("{}zz", &secret[..62])),
        ("short", secret[..62].to_owned()),
        ("long", format!("{secret}00")),
        ("odd", secret[..63].to_owned()),
        ("empty", "\n".to_owned()),
    ];
    for (name, contents) in bad_cases {
        let file = tmp.path().join(format!("{name}.key"));
        std::fs::write(&file, &contents).expect("write");
        let err = keys::read_seed_file(&file).expect_err(name);
        let message = err.to_string();
        assert!(message.contains(&file.display().to_string()), "{name}: {message}");
        assert!(!message.contains(&secret[..16]) && !message.contains("zz"), "{name} leaks the secret: {message}");
        match name {
            "short" => assert!(matches!(err, KeyFileError::WrongLength { len: 31, .. }), "{err:?}"),
            "long" => assert!(matches!(err, KeyFileError::WrongLength { len: 33, .. }), "{err:?}"),
            _ => assert!(matches!(err, KeyFileError::BadHex { .. }), "{name}: {err:?}"),
        }
    }
    let missing = tmp.path().join("missing.key");
    let err = keys::read_seed_file(&missing).expect_err("missing");
    assert!(matches!(&err, KeyFileError::Missing { path: p } if p == &missing), "{err:?}");
}
