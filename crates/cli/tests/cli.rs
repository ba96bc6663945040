//! The real `veritrace` binary against real RocksDB data directories.

use std::path::Path;
use std::process::{Command, Output};

use veritrace_storage::{KvEngine, WriteBatch, WriteOptions};

fn veritrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veritrace"))
        .args(args)
        .env_remove("VERITRACE_DATA_DIR")
        .output()
        .expect("run veritrace")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(args: &[&str]) -> String {
    let o = veritrace(args);
    assert!(o.status.success(), "veritrace {args:?} failed: {}\n{}", stderr(&o), stdout(&o));
    stdout(&o)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn demo_runs_twice_and_proves_append_only_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let first = ok(&["demo", "--data-dir", s(&data)]);
    for needle in [
        "APPLIED",
        "DUPLICATE",
        "REJECTED   BAD_SIGNATURE",
        "REJECTED   MALFORMED_TRANSACTION",
        "verified offline",
        "Audit: 11 leaves",
        "clean",
    ] {
        assert!(first.contains(needle), "first run lacks {needle:?}:\n{first}");
    }
    assert!(first.contains("Journey of https://id.gs1.org/01/"), "{first}");
    assert!(first.contains("Node stopped"), "{first}");
    // A real node's data directory: genesis, node key, its RocksDB.
    for file in ["genesis.pb", "node.key", "db"] {
        assert!(data.join(file).exists(), "no {file} in {}", data.display());
    }
    let second = ok(&["demo", "--data-dir", s(&data)]);
    assert!(second.contains("Consistency proof from the previous run (size 11 -> 22): verified"), "{second}");
    let fresh = ok(&["demo", "--data-dir", s(&data), "--fresh"]);
    assert!(fresh.contains("Audit: 11 leaves"), "{fresh}");
}

#[test]
fn snapshot_save_and_restore_round_trip_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("a");
    let restored = dir.path().join("b");
    let file = dir.path().join("ledger.snap");
    ok(&["demo", "--data-dir", s(&data)]);
    ok(&["snapshot", "save", "--data-dir", s(&data), s(&file)]);
    let out = ok(&["snapshot", "restore", "--data-dir", s(&restored), s(&file)]);
    assert!(out.contains("(verified)"), "{out}");
    assert_eq!(ok(&["tree-head", "--data-dir", s(&data)]), ok(&["tree-head", "--data-dir", s(&restored)]));
    assert!(ok(&["audit", "--data-dir", s(&restored)]).contains("audit: clean"));

    // Restoring over an existing ledger is refused and changes nothing.
    let o = veritrace(&["snapshot", "restore", "--data-dir", s(&restored), s(&file)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already holds a ledger"), "{}", stderr(&o));

    // A corrupted snapshot is refused and leaves no ledger behind.
    let mut bytes = std::fs::read(&file).expect("read snapshot");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let bad = dir.path().join("bad.snap");
    std::fs::write(&bad, bytes).expect("write");
    let target = dir.path().join("c");
    let o = veritrace(&["snapshot", "restore", "--data-dir", s(&target), s(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("snapshot rejected"), "{}", stderr(&o));
    assert!(!target.join("ledger").exists());
}

/// Changes, with `damage`, the first record at or after `from` in column
/// family `cf` of a stopped node's store in `data` (the Raft log's column
/// families open too): a disk that lies.
fn damage_stored_record(data: &std::path::Path, cf: &'static str, from: &[u8], damage: impl FnOnce(&mut Vec<u8>)) {
    let engine =
        veritrace_store_rocksdb::RocksEngine::open(&data.join("db"), veritrace_ledger::ALL_CFS).expect("open store");
    let (key, mut value) = engine
        .scan(cf, from, None)
        .expect("scan")
        .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("kv"))
        .next()
        .expect("a record to damage");
    damage(&mut value);
    let mut b = WriteBatch::new();
    b.put(cf, key, value);
    engine.write(b, WriteOptions::SYNC).expect("tamper");
}

#[test]
fn audit_names_a_tampered_leaf_and_exits_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    ok(&["demo", "--data-dir", s(&data)]);
    damage_stored_record(&data, "leaves", &5u64.to_be_bytes(), |leaf| {
        let at = leaf.len() - 20;
        leaf[at] ^= 1;
    });
    let o = veritrace(&["audit", "--data-dir", s(&data)]);
    assert_eq!(o.status.code(), Some(3), "a check that finds a problem exits 3");
    assert!(stderr(&o).contains("audit failed at leaf 5"), "{}", stderr(&o));
}

/// Damage in the state column family does not show through the leaves:
/// the audit sweeps every state record's integrity tag too.
#[test]
fn audit_names_damaged_state_records_and_exits_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    ok(&["demo", "--data-dir", s(&data)]);
    damage_stored_record(&data, "state", veritrace_ledger::state::keys::PARTY_PREFIX, |v| v[0] ^= 1);
    let o = veritrace(&["audit", "--data-dir", s(&data)]);
    assert_eq!(o.status.code(), Some(3), "a check that finds a problem exits 3");
    assert!(stderr(&o).contains("1 state records fail their integrity tag"), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("damaged: ") && stdout.contains("state record party/#"), "{stdout}");
}

#[test]
fn bad_invocations_name_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = veritrace(&["audit", "--data-dir", s(&dir.path().join("nothing"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no ledger in"), "{}", stderr(&o));
    let o = veritrace(&["snapshot", "restore", "--data-dir", s(&dir.path().join("x")), "/nonexistent.snap"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent.snap"), "{}", stderr(&o));
    // A node's data directory is never restored over.
    std::fs::create_dir_all(dir.path().join("node/db")).expect("db dir");
    let o = veritrace(&["snapshot", "restore", "--data-dir", s(&dir.path().join("node")), "/nonexistent.snap"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("holds a node's store"), "{}", stderr(&o));
    let o = veritrace(&["no-such-command"]);
    assert_eq!(o.status.code(), Some(2));
}

fn veritrace_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_veritrace"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run veritrace")
}

#[test]
fn configuration_merges_flags_over_env_over_file_and_names_bad_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("c");
    ok(&["init", "--nodes", "1", "--out", s(&out), "--base-port", "17400"]);
    let config = out.join("node1").join("veritrace.toml");
    let show = ok(&["config", "show", "--config", s(&config)]);
    assert!(show.contains("listen = \"127.0.0.1:17401\""), "{show}");
    assert!(show.contains("api.listen <- file"), "{show}");

    // The environment beats the file; a flag beats the environment.
    let o = veritrace_env(
        &["config", "show", "--config", s(&config), "-o", "json"],
        &[("VERITRACE_API_LISTEN", "127.0.0.1:9999"), ("VERITRACE_RAFT_TICK_MS", "50")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["config"]["api"]["listen"], "127.0.0.1:9999");
    assert_eq!(v["config"]["raft"]["tick_ms"], 50);
    assert_eq!(v["sources"]["api.listen"], "env:VERITRACE_API_LISTEN");
    let o = veritrace_env(
        &["config", "show", "--config", s(&config), "--set", "api.listen=127.0.0.1:9998", "-o", "json"],
        &[("VERITRACE_API_LISTEN", "127.0.0.1:9999")],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["config"]["api"]["listen"], "127.0.0.1:9998");
    assert_eq!(v["sources"]["api.listen"], "flag:--set api.listen");

    // Bad values name the key and where they came from; nothing starts.
    let o = veritrace_env(&["node", "start", "--config", s(&config)], &[("VERITRACE_RAFT_TICK_MS", "fast")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("VERITRACE_RAFT_TICK_MS") && stderr(&o).contains("raft.tick_ms"), "{}", stderr(&o));
    let o = veritrace(&["config", "show", "--config", s(&config), "--set", "api.listen=nowhere"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("`api.listen`"), "{}", stderr(&o));
    let o = veritrace(&["config", "show", "--config", s(&config), "--set", "raft.election_ticks=2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("raft.heartbeat_ticks"), "validation runs on the merged result: {}", stderr(&o));
    let o = veritrace(&["config", "show", "--config", s(&config), "--set", "no.such.key=1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("`no.such.key`: unknown key"), "{}", stderr(&o));
    let keys = ok(&["config", "keys"]);
    assert!(keys.contains("VERITRACE_API_TLS_CERT_FILE"), "{keys}");
}

#[test]
fn version_names_the_release_and_the_source_revision() {
    let v = ok(&["--version"]);
    let want = format!("veritrace {} (revision ", env!("CARGO_PKG_VERSION"));
    assert!(v.starts_with(&want), "{v}");
    // Built from a git checkout: the revision is its HEAD.
    let git =
        Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    if let Ok(g) = git
        && g.status.success()
    {
        let head = String::from_utf8_lossy(&g.stdout).trim().to_owned();
        assert_eq!(v.trim(), format!("{want}{head})"));
    }
    // Subcommands say the same; the CHANGELOG and README name this release.
    assert_eq!(ok(&["node", "--version"]).trim(), v.trim().replacen("veritrace", "veritrace-node", 1));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).expect("CHANGELOG.md");
    let first_release = changelog.lines().find(|l| l.starts_with("## [")).expect("a release heading");
    assert!(first_release.starts_with(&format!("## [{}]", env!("CARGO_PKG_VERSION"))), "{first_release}");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    assert!(readme.contains(&format!("**Status: {}.**", env!("CARGO_PKG_VERSION"))), "README status line");
}

#[test]
fn completions_and_man_pages_come_from_the_commands() {
    let bash = ok(&["completions", "bash"]);
    assert!(
        bash.contains("complete -F _veritrace") && bash.contains("verify") && bash.contains("--endpoint"),
        "{bash}"
    );
    let zsh = ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef veritrace"), "{zsh}");
    assert_eq!(veritrace(&["completions", "tcsh"]).status.code(), Some(2), "an unknown shell is a usage error");

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    let said = ok(&["man", "--out", s(&out)]);
    let pages: Vec<String> = std::fs::read_dir(&out)
        .expect("man dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(said.contains(&format!("wrote {} man pages", pages.len())), "{said}");
    for page in ["veritrace.1", "veritrace-node-start.1", "veritrace-verify.1", "veritrace-cluster-status.1"] {
        assert!(pages.iter().any(|p| p == page), "{page} missing from {pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("transfer-leader")), "hidden commands get no page: {pages:?}");
    let start = std::fs::read_to_string(out.join("veritrace-node-start.1")).expect("page");
    assert!(start.starts_with(".ie") || start.contains(".TH veritrace-node-start 1"), "{start}");
}
