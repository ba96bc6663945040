//! Offline commands on a ledger's data directory.

use std::path::Path;

use anyhow::{Context, bail};
use veritrace_ledger::{ALL_CFS, Ledger, LedgerOptions};
use veritrace_store_rocksdb::RocksEngine;

/// The store of a data directory: `db` for a node (ledger and Raft log
/// together), `ledger` for a ledger made by `snapshot restore`.
fn store_path(data_dir: &Path) -> std::path::PathBuf {
    let node = data_dir.join("db");
    if node.exists() { node } else { data_dir.join("ledger") }
}

/// Opens the RocksDB engine of a ledger in `data_dir` (see [`store_path`]).
pub fn open_engine(data_dir: &Path) -> anyhow::Result<RocksEngine> {
    let path = store_path(data_dir);
    RocksEngine::open(&path, ALL_CFS).with_context(|| format!("opening ledger store at {}", path.display()))
}

/// Opens an existing ledger.
pub fn open_ledger(data_dir: &Path) -> anyhow::Result<Ledger<RocksEngine>> {
    if !store_path(data_dir).exists() {
        bail!("no ledger in {} (expected a `db` or `ledger` directory)", data_dir.display());
    }
    let engine = open_engine(data_dir)?;
    Ledger::open(engine, LedgerOptions::default()).with_context(|| format!("opening ledger in {}", data_dir.display()))
}

pub fn audit(data_dir: &Path, check_signatures: bool) -> anyhow::Result<()> {
    let ledger = open_ledger(data_dir)?;
    let report = ledger.audit(check_signatures)?;
    println!("leaves checked: {}", report.leaves_checked);
    println!("recorded root:   {}", report.recorded_root);
    println!("recomputed root: {}", report.recomputed_root);
    println!("state records checked: {}", report.state_records_checked);
    for damage in &report.state_damage {
        println!("damaged: {damage}");
    }
    match report.first_problem {
        Some(p) => {
            Err(crate::admin_cmd::CheckFailed(format!("audit failed at leaf {}: {}", p.leaf_index, p.what)).into())
        }
        None if report.state_records_damaged > 0 => Err(crate::admin_cmd::CheckFailed(format!(
            "audit failed: {} state records fail their integrity tag",
            report.state_records_damaged
        ))
        .into()),
        None => {
            println!("audit: clean");
            Ok(())
        }
    }
}

pub fn tree_head(data_dir: &Path) -> anyhow::Result<()> {
    let ledger = open_ledger(data_dir)?;
    let head = ledger.tree_head();
    let applied = ledger.applied();
    println!("applied index: {}", applied.applied_index);
    println!("tree size:     {}", head.tree_size);
    println!("root:          {}", head.root);
    Ok(())
}

pub fn snapshot_save(data_dir: &Path, file: &Path) -> anyhow::Result<()> {
    let ledger = open_ledger(data_dir)?;
    let tmp = file.with_extension("partial");
    let out = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let bar = crate::progress::bytes(None, "saving");
    let info = ledger.export_snapshot(bar.wrap_write(std::io::BufWriter::new(out)))?;
    bar.finish_and_clear();
    std::fs::rename(&tmp, file).with_context(|| format!("renaming to {}", file.display()))?;
    println!(
        "saved snapshot {}: applied index {}, tree size {}, root {}, {} records",
        file.display(),
        info.applied.applied_index,
        info.applied.tree_size,
        info.applied.root,
        info.records
    );
    Ok(())
}

pub fn snapshot_restore(data_dir: &Path, file: &Path) -> anyhow::Result<()> {
    if data_dir.join("ledger").exists() {
        bail!("{} already holds a ledger; restore into an empty data directory", data_dir.display());
    }
    // A node's store (the ledger and its Raft log) lives in DIR/db: never
    // import a backup over it.
    if data_dir.join("db").exists() {
        bail!("{} holds a node's store (db/); restore into an empty data directory", data_dir.display());
    }
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let bar = crate::progress::bytes(input.metadata().ok().map(|m| m.len()), "restoring");
    let engine = open_engine(data_dir)?;
    let result =
        Ledger::import_snapshot(engine, std::io::BufReader::new(bar.wrap_read(input)), LedgerOptions::default());
    bar.finish_and_clear();
    match result {
        Ok((_, info)) => {
            println!(
                "restored {} into {}: tree size {}, root {} (verified)",
                file.display(),
                data_dir.display(),
                info.applied.tree_size,
                info.applied.root
            );
            Ok(())
        }
        Err(e) => {
            // Leave nothing half-restored behind.
            let _ = std::fs::remove_dir_all(data_dir.join("ledger"));
            Err(e).context("restoring snapshot")
        }
    }
}
