//! Records the source revision the binary is built from, for
//! `veritrace --version`, the status and the `veritrace_build_info` metric.
//!
//! `VERITRACE_GIT_REVISION` wins when set (an image or package build from
//! a tree without `.git`); else `git rev-parse` of the checkout; else
//! `unknown`. Only the files that move with HEAD are watched, so an edit
//! does not rebuild this crate: the revision names the commit checked out
//! when the binary was built, not uncommitted changes on top of it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=VERITRACE_GIT_REVISION");
    let revision = std::env::var("VERITRACE_GIT_REVISION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .map(|r| r.trim().to_owned())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=VERITRACE_GIT_REVISION={revision}");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn git_revision() -> Option<String> {
    let revision = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: HEAD itself, the branch it names, packed refs.
    let git_dir = PathBuf::from(git(&["rev-parse", "--git-dir"])?);
    let common_dir = git(&["rev-parse", "--git-common-dir"]).map_or_else(|| git_dir.clone(), PathBuf::from);
    watch(&git_dir.join("HEAD"));
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(&common_dir.join(branch));
    }
    watch(&common_dir.join("packed-refs"));
    Some(revision)
}

/// Watches `path` if it exists (a missing path would rerun every build).
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
