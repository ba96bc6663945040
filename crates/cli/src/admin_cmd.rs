//! Operator commands that look at every member: `cluster status` and the
//! online `audit`; the online `snapshot save`; `config show`.
//!
//! A check that runs but finds a problem (an unhealthy or divergent member)
//! exits with [`CheckFailed`] (exit code 3), distinct from a command that
//! could not run (1) and a usage error (2).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde_json::json;
use veritrace_client::Client;
use veritrace_client::render::{OutputFormat, render_json, role_name};
use veritrace_proto::v1 as pb;

use crate::cluster_cmd::{ConnectArgs, EndpointArgs, connect, runtime};

/// A check ran and found a problem: exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckFailed(pub String);

/// A member may trail the leader's commit index by this many entries and
/// still count as healthy.
const HEALTHY_LAG: u64 = 100;

/// One member as `cluster status` sees it.
struct Row {
    member: pb::Member,
    status: Result<pb::GetStatusResponse, String>,
}

/// A client of another member, at the endpoint it announced, with the
/// command's TLS options and short timeouts (a down member must not stall
/// the survey).
async fn member_client(api: &str, tls: &ConnectArgs) -> Result<Client, String> {
    if api.is_empty() {
        return Err("no gRPC endpoint known for it".into());
    }
    let mut options = tls.options().map_err(|e| e.to_string())?;
    options.connect_timeout = Duration::from_secs(2);
    options.request_timeout = Some(Duration::from_secs(30));
    Client::connect_with(api, &options).await.map_err(|e| e.to_string())
}

/// The members as `target` knows them, with each member's own status.
async fn survey(target: &EndpointArgs) -> anyhow::Result<Vec<Row>> {
    let first = connect(target).await?;
    let status = first.status().await?;
    let mut rows = Vec::new();
    for member in status.members.clone() {
        let result = if member.node_id == status.node_id {
            Ok(status.clone())
        } else {
            match member_client(&member.api_endpoint, &target.connect).await {
                Ok(c) => c.status().await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        };
        rows.push(Row { member, status: result });
    }
    Ok(rows)
}

/// `veritrace cluster status`.
pub fn cluster_status(args: EndpointArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let rows = survey(&args).await?;
        // The leader's commit index is the reference for lag; else the highest seen.
        let leader_commit = rows
            .iter()
            .filter_map(|r| r.status.as_ref().ok())
            .find(|s| s.role == pb::RaftRole::Leader as i32)
            .or_else(|| rows.iter().filter_map(|r| r.status.as_ref().ok()).max_by_key(|s| s.commit_index))
            .map(|s| s.commit_index)
            .unwrap_or(0);
        let mut out = Vec::new();
        let mut unhealthy = Vec::new();
        for r in &rows {
            let m = &r.member;
            let kind = veritrace_client::render::member_kind_name(pb::MemberKind::try_from(m.kind).unwrap_or_default());
            let v = match &r.status {
                Ok(s) => {
                    let lag = leader_commit.saturating_sub(s.applied_index);
                    let healthy = s.leader_id != 0 && lag <= HEALTHY_LAG;
                    json!({
                        "node_id": m.node_id, "party_id": m.party_id, "kind": kind, "api": m.api_endpoint,
                        "role": role_name(pb::RaftRole::try_from(s.role).unwrap_or_default()),
                        "leader_id": s.leader_id, "term": s.term, "commit_index": s.commit_index,
                        "applied_index": s.applied_index, "lag": lag, "tree_size": s.tree_size,
                        "root_hash": hex::encode(&s.root_hash), "healthy": healthy, "error": "",
                        "version": s.version, "revision": s.revision,
                    })
                }
                Err(e) => json!({
                    "node_id": m.node_id, "party_id": m.party_id, "kind": kind, "api": m.api_endpoint,
                    "role": "unreachable", "leader_id": 0, "term": 0, "commit_index": 0, "applied_index": 0,
                    "lag": leader_commit, "tree_size": 0, "root_hash": "", "healthy": false, "error": e,
                    "version": "", "revision": "",
                }),
            };
            if v["healthy"] != json!(true) {
                unhealthy.push(m.node_id);
            }
            out.push(v);
        }
        match args.output {
            OutputFormat::Json => {
                print!("{}", render_json(&json!({ "members": out, "leader_commit_index": leader_commit })))
            }
            OutputFormat::Table => print!("{}", status_table(&out)),
        }
        if let Some(note) = mixed_builds(&out) {
            eprintln!("{note}");
        }
        if unhealthy.is_empty() {
            Ok(())
        } else {
            let ids: Vec<String> = unhealthy.iter().map(u64::to_string).collect();
            Err(CheckFailed(format!("unhealthy member(s): {}", ids.join(", "))).into())
        }
    })
}

fn status_table(rows: &[serde_json::Value]) -> String {
    let header = [
        "ID", "PARTY", "KIND", "ROLE", "LEADER", "TERM", "COMMIT", "APPLIED", "LAG", "TREE", "ROOT", "VERSION",
        "HEALTHY", "API",
    ];
    let mut lines: Vec<Vec<String>> = Vec::new();
    for r in rows {
        let s = |k: &str| match &r[k] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let root = s("root_hash");
        lines.push(vec![
            s("node_id"),
            s("party_id"),
            s("kind"),
            s("role"),
            s("leader_id"),
            s("term"),
            s("commit_index"),
            s("applied_index"),
            s("lag"),
            s("tree_size"),
            root.get(..16).unwrap_or(&root).to_owned(),
            build_label(r),
            if r["healthy"] == json!(true) { "yes".into() } else { format!("NO {}", s("error")).trim().to_owned() },
            s("api"),
        ]);
    }
    veritrace_client::render::text_table(&header, &lines)
}

/// `0.6.0 (90873ed1a2b3)`, or `-` for an unreachable member.
fn build_label(row: &serde_json::Value) -> String {
    match (row["version"].as_str().unwrap_or(""), row["revision"].as_str().unwrap_or("")) {
        ("", _) => "-".to_owned(),
        (version, "") => version.to_owned(),
        (version, revision) => format!("{version} ({revision})"),
    }
}

/// A note naming the builds when the reachable members run more than one
/// (a rolling upgrade in progress, or a node left behind after one).
fn mixed_builds(rows: &[serde_json::Value]) -> Option<String> {
    let mut builds: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for r in rows.iter().filter(|r| r["version"].as_str().is_some_and(|v| !v.is_empty())) {
        builds.entry(build_label(r)).or_default().push(r["node_id"].to_string());
    }
    (builds.len() > 1).then(|| {
        let parts: Vec<String> =
            builds.iter().map(|(build, nodes)| format!("{build} on node {}", nodes.join(", "))).collect();
        format!("note: members run {} builds: {}", builds.len(), parts.join("; "))
    })
}

/// `veritrace audit` against a running cluster.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub target: EndpointArgs,
    /// Audit a stopped node's data directory instead (offline; no cluster needed).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Skip signature checks (hashes only; faster).
    #[arg(long)]
    pub no_signatures: bool,
}

/// Every member re-derives its root from its stored envelopes; the roots
/// are compared at the smallest tree size among them. A member whose audit
/// finds a bad leaf, or whose root differs from the majority's, is named.
pub fn audit_cluster(args: AuditArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let rows = survey(&args.target).await?;
        let common = rows.iter().filter_map(|r| r.status.as_ref().ok()).map(|s| s.tree_size).min().unwrap_or(0);
        let mut results = Vec::new();
        for r in &rows {
            let answer = match member_client(&r.member.api_endpoint, &args.target.connect).await {
                Ok(c) => c.audit(args.no_signatures, common).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            results.push((r.member.node_id, answer));
        }
        // The majority root at the common size.
        let mut counts: std::collections::BTreeMap<Vec<u8>, usize> = Default::default();
        for (_, a) in &results {
            if let Ok(a) = a {
                *counts.entry(a.root_at_size.clone()).or_default() += 1;
            }
        }
        let majority = counts.iter().max_by_key(|(_, n)| **n).map(|(r, _)| r.clone()).unwrap_or_default();
        // JSON rows: `verdict` is a word (ok, corrupt, divergent, not_audited), `problem` says
        // what is wrong ("" when ok); a member not audited has null figures.
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for (id, a) in &results {
            let v = match a {
                Ok(a) => {
                    let agrees = a.root_at_size == majority;
                    let (verdict, problem) = if !a.clean {
                        ("corrupt", format!("leaf {}: {}", a.first_bad_leaf, a.problem))
                    } else if !agrees {
                        ("divergent", format!("root at size {common} differs from the majority"))
                    } else {
                        ("ok", String::new())
                    };
                    json!({"node_id": id, "leaves_checked": a.leaves_checked, "clean": a.clean,
                           "first_bad_leaf": if a.clean { None } else { Some(a.first_bad_leaf) },
                           "recomputed_root": hex::encode(&a.recomputed_root), "agrees": agrees,
                           "root_at_common_size": hex::encode(&a.root_at_size), "verdict": verdict,
                           "problem": problem})
                }
                Err(e) => json!({"node_id": id, "leaves_checked": null, "clean": null, "first_bad_leaf": null,
                                 "recomputed_root": null, "agrees": null, "root_at_common_size": null,
                                 "verdict": "not_audited", "problem": e}),
            };
            if v["verdict"] != "ok" {
                bad.push(format!("node {id} ({})", verdict_text(&v)));
            }
            out.push(v);
        }
        // Equivocation evidence any member holds, checked here offline.
        let mut equivocations = Vec::new();
        for (id, a) in &results {
            let Ok(a) = a else { continue };
            for e in &a.equivocations {
                let (Some(first), Some(second)) = (&e.first, &e.second) else { continue };
                let Ok(key) = veritrace_core::cosign::check_equivocation(first, second) else { continue };
                let node = signer_node(&rows, &args.target.connect, &key).await;
                bad.push(format!(
                    "EQUIVOCATION by {} (key {key}): two roots at tree size {} (evidence held by node {id})",
                    node.map_or("an unknown node".to_owned(), |n| format!("node {n}")),
                    first.tree_size
                ));
                equivocations.push(json!({"reported_by": id, "node_id": node, "signer_key": key.to_string(),
                    "tree_size": first.tree_size,
                    "roots": [hex::encode(&first.root_hash), hex::encode(&second.root_hash)]}));
            }
        }
        match args.target.output {
            OutputFormat::Json => print!(
                "{}",
                render_json(&json!({"common_tree_size": common, "members": out, "equivocations": equivocations}))
            ),
            OutputFormat::Table => {
                let mut lines = Vec::new();
                for v in &out {
                    let root = v["root_at_common_size"].as_str().unwrap_or("").to_owned();
                    lines.push(vec![
                        v["node_id"].to_string(),
                        v["leaves_checked"].as_u64().map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                        root.get(..16).unwrap_or(&root).to_owned(),
                        verdict_text(v),
                    ]);
                }
                println!("compared at tree size {common}");
                print!("{}", veritrace_client::render::text_table(&["ID", "LEAVES", "ROOT@COMMON", "VERDICT"], &lines));
                for e in &equivocations {
                    println!(
                        "EQUIVOCATION: node {} (key {}) signed two roots at tree size {}; evidence held by node {}",
                        e["node_id"],
                        e["signer_key"].as_str().unwrap_or(""),
                        e["tree_size"],
                        e["reported_by"]
                    );
                }
            }
        }
        if bad.is_empty() { Ok(()) } else { Err(CheckFailed(format!("audit failed: {}", bad.join("; "))).into()) }
    })
}

/// The member whose tree heads `key` signs: the key its PeerId carries,
/// or, failing that, the signer of the head it serves.
async fn signer_node(rows: &[Row], connect: &ConnectArgs, key: &veritrace_core::PublicKey) -> Option<u64> {
    if let Some(r) = rows.iter().find(|r| veritrace_core::cosign::peer_public_key(&r.member.peer_id) == Some(*key)) {
        return Some(r.member.node_id);
    }
    for r in rows {
        let Ok(client) = member_client(&r.member.api_endpoint, connect).await else { continue };
        if client.tree_head().await.is_ok_and(|h| h.signer_key_id == key.to_bytes()) {
            return Some(r.member.node_id);
        }
    }
    None
}

/// An audit row's verdict for people: "ok", "CORRUPT at leaf N: ...",
/// "DIVERGENT: ..." or "not audited: ...".
fn verdict_text(row: &serde_json::Value) -> String {
    let problem = row["problem"].as_str().unwrap_or("");
    match row["verdict"].as_str().unwrap_or("") {
        "ok" => "ok".to_owned(),
        "corrupt" => format!("CORRUPT at {problem}"),
        "divergent" => format!("DIVERGENT: {problem}"),
        _ => format!("not audited: {problem}"),
    }
}

/// `veritrace snapshot save FILE` against a running node: streams a
/// consistent backup, writes it next to FILE and renames it into place.
pub fn snapshot_save_online(target: EndpointArgs, file: PathBuf) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let client = connect(&target).await?;
        let tmp = file.with_extension("partial");
        let out = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        // A second handle on the file, to sync it once written.
        let file_handle = out.try_clone().context("opening the snapshot file")?;
        let bar = crate::progress::bytes(None, "saving");
        let mut out = std::io::BufWriter::new(bar.wrap_write(out));
        let saved = client.save_snapshot(&mut out).await;
        bar.finish_and_clear();
        let meta = match saved {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
        };
        out.into_inner().map_err(|e| e.into_error()).context("writing the snapshot")?;
        file_handle.sync_all().context("syncing the snapshot")?;
        std::fs::rename(&tmp, &file).with_context(|| format!("renaming to {}", file.display()))?;
        let root = hex::encode(&meta.root_hash);
        match target.output {
            OutputFormat::Json => print!(
                "{}",
                render_json(&json!({"file": file.display().to_string(), "applied_index": meta.applied_index,
                                    "tree_size": meta.tree_size, "root_hash": root}))
            ),
            OutputFormat::Table => println!(
                "saved snapshot {}: applied index {}, tree size {}, root {root}",
                file.display(),
                meta.applied_index,
                meta.tree_size
            ),
        }
        Ok(())
    })
}
