//! What a running build is: its version and the source revision it was
//! built from, shown by `GetStatus` and the `veritrace_build_info` metric
//! so an operator can tell which nodes still run the old build during a
//! rolling upgrade.

/// A build's version and source revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The release version (semver), e.g. `0.6.0`.
    pub version: String,
    /// The source revision (git commit, abbreviated) the binary was built
    /// from, or `unknown` when the build had none (a source archive).
    pub revision: String,
}

impl BuildInfo {
    /// This crate's version with an `unknown` revision: for embedders and
    /// tests that have no revision of their own (the node binary passes
    /// its own, from its build script).
    pub fn crate_version() -> Self {
        BuildInfo { version: env!("CARGO_PKG_VERSION").to_owned(), revision: "unknown".to_owned() }
    }
}

impl std::fmt::Display for BuildInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (revision {})", self.version, self.revision)
    }
}
