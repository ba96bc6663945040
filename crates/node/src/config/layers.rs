//! Layered configuration: defaults < file < `VERITRACE_*` environment <
//! flags, merged key by key, then validated as a whole.
//!
//! Every scalar key of the file can be overridden: key `api.listen` is
//! `VERITRACE_API_LISTEN` in the environment and `--set api.listen=...` on
//! the command line (see [`settable_keys`]). The `[[peers]]` list comes
//! from the file only. Relative paths resolve against the configuration
//! file's directory when they come from the file, and against the working
//! directory when they come from the environment or a flag.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{ConfigError, NodeConfig};

/// Prefix of the environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "VERITRACE_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    SocketAddr,
    Path,
    Int,
    Bool,
    IntList,
    /// Paths: a TOML array in the file, comma-separated elsewhere.
    PathList,
}

const KEYS: &[(&str, Kind)] = &[
    ("node.id", Kind::Int),
    ("node.name", Kind::Str),
    ("node.data_dir", Kind::Path),
    ("node.key_file", Kind::Path),
    ("node.genesis_file", Kind::Path),
    ("node.genesis_seal_file", Kind::Path),
    ("node.party_id", Kind::Str),
    ("node.party_key_file", Kind::Path),
    ("node.code_key_share_files", Kind::PathList),
    ("node.min_free_disk_bytes", Kind::Int),
    ("network.listen", Kind::Str),
    ("network.request_timeout_ms", Kind::Int),
    ("network.advertise", Kind::Str),
    ("api.listen", Kind::SocketAddr),
    ("api.advertise", Kind::Str),
    ("api.max_message_bytes", Kind::Int),
    ("api.requests_per_second", Kind::Int),
    ("api.request_burst", Kind::Int),
    ("api.verification.per_address_per_minute", Kind::Int),
    ("api.verification.per_address_burst", Kind::Int),
    ("api.tls.cert_file", Kind::Path),
    ("api.tls.key_file", Kind::Path),
    ("api.tls.client_ca_file", Kind::Path),
    ("api.tls.admin_requires_client_cert", Kind::Bool),
    ("api.insecure", Kind::Bool),
    ("api.admin.token_blake3", Kind::Str),
    ("api.admin.insecure", Kind::Bool),
    ("ops.listen", Kind::SocketAddr),
    ("ops.ready_max_lag", Kind::Int),
    ("log.format", Kind::Str),
    ("log.level", Kind::Str),
    ("raft.tick_ms", Kind::Int),
    ("raft.election_ticks", Kind::Int),
    ("raft.heartbeat_ticks", Kind::Int),
    ("raft.snapshot_interval", Kind::Int),
    ("raft.snapshot_keep_entries", Kind::Int),
    ("raft.max_batch_envelopes", Kind::Int),
    ("raft.max_batch_bytes", Kind::Int),
    ("cluster.initial_voters", Kind::IntList),
];

/// Every key settable from the environment or a flag, in file order.
pub fn settable_keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|(key, _)| *key)
}

/// Where a key's effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The configuration file.
    File(PathBuf),
    /// An environment variable (its name).
    Env(String),
    /// A command-line flag (as written, e.g. `--set api.listen`).
    Flag(String),
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::File(p) => write!(f, "file {}", p.display()),
            ConfigSource::Env(v) => write!(f, "env {v}"),
            ConfigSource::Flag(k) => write!(f, "flag {k}"),
        }
    }
}

/// The effective configuration and where each explicitly set key came
/// from (keys left at their defaults are absent).
#[derive(Debug, Clone)]
pub struct LayeredConfig {
    /// The merged, validated configuration.
    pub config: NodeConfig,
    /// Origin of each key that was set, by key (`api.listen`).
    pub sources: BTreeMap<String, ConfigSource>,
}

/// The environment variable of `key`: `api.tls.cert_file` is
/// `VERITRACE_API_TLS_CERT_FILE`.
pub fn env_var_of(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "_").to_uppercase())
}

fn kind_of(key: &str) -> Option<Kind> {
    KEYS.iter().find(|(k, _)| *k == key).map(|(_, kind)| *kind)
}

fn override_err(source: &ConfigSource, key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Override { origin: source.to_string(), field: key.to_owned(), reason: reason.into() }
}

/// Parses an override's text as the key's type.
fn parse_value(
    key: &str,
    kind: Kind,
    text: &str,
    source: &ConfigSource,
    cwd: &Path,
) -> Result<toml::Value, ConfigError> {
    let int = |t: &str| -> Result<i64, ConfigError> {
        t.trim().parse::<i64>().map_err(|_| override_err(source, key, format!("{t:?} is not an integer")))
    };
    Ok(match kind {
        Kind::Str => toml::Value::String(text.to_owned()),
        Kind::SocketAddr => {
            text.trim().parse::<std::net::SocketAddr>().map_err(|_| {
                override_err(source, key, format!("{text:?} is not a socket address such as 127.0.0.1:7401"))
            })?;
            toml::Value::String(text.trim().to_owned())
        }
        Kind::Path => {
            if text.is_empty() {
                return Err(override_err(source, key, "must not be empty"));
            }
            let p = Path::new(text);
            let p = if p.is_relative() { cwd.join(p) } else { p.to_path_buf() };
            toml::Value::String(p.to_string_lossy().into_owned())
        }
        Kind::Int => toml::Value::Integer(int(text)?),
        Kind::Bool => match text.trim() {
            "true" | "1" | "yes" => toml::Value::Boolean(true),
            "false" | "0" | "no" => toml::Value::Boolean(false),
            other => return Err(override_err(source, key, format!("{other:?} is not true or false"))),
        },
        Kind::PathList => toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    let p = Path::new(t);
                    let p = if p.is_relative() { cwd.join(p) } else { p.to_path_buf() };
                    toml::Value::String(p.to_string_lossy().into_owned())
                })
                .collect(),
        ),
        Kind::IntList => toml::Value::Array(
            text.split(',')
                .filter(|t| !t.trim().is_empty())
                .map(|t| int(t).map(toml::Value::Integer))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn get<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.').peekable();
    let mut t = table;
    while let Some(part) = parts.next() {
        let v = t.get(part)?;
        if parts.peek().is_none() {
            return Some(v);
        }
        t = v.as_table()?;
    }
    None
}

fn set(table: &mut toml::Table, key: &str, value: toml::Value) {
    let parts: Vec<&str> = key.split('.').collect();
    let mut t = table;
    for part in &parts[..parts.len() - 1] {
        let entry = t.entry((*part).to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let Some(inner) = entry.as_table_mut() else { return };
        t = inner;
    }
    if let Some(last) = parts.last() {
        t.insert((*last).to_owned(), value);
    }
}

impl LayeredConfig {
    /// Merges `file` (if any), the `VERITRACE_*` variables of `env` and
    /// `flags` (key, value pairs, e.g. from `--set key=value`) over the
    /// defaults, then validates the result. Environment variables that name
    /// no key (such as `VERITRACE_ENDPOINT`) are ignored; an unknown flag
    /// key is an error. `cwd` resolves relative paths of overrides.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &[(String, String)],
        cwd: &Path,
    ) -> Result<LayeredConfig, ConfigError> {
        let mut table = toml::Table::new();
        let mut sources = BTreeMap::new();
        let shown = file.map(Path::to_path_buf).unwrap_or_default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { file: path.to_path_buf(), source })?;
            table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                file: path.to_path_buf(),
                message: e.to_string().trim().to_owned(),
            })?;
            let base = path.parent().unwrap_or_else(|| Path::new(""));
            for (key, kind) in KEYS {
                let Some(value) = get(&table, key).cloned() else { continue };
                sources.insert((*key).to_owned(), ConfigSource::File(path.to_path_buf()));
                if *kind == Kind::Path
                    && let Some(p) =
                        value.as_str().map(Path::new).filter(|p| p.is_relative() && !p.as_os_str().is_empty())
                {
                    let joined = base.join(p).to_string_lossy().into_owned();
                    set(&mut table, key, toml::Value::String(joined));
                }
                if *kind == Kind::PathList
                    && let Some(list) = value.as_array()
                {
                    let resolved = list
                        .iter()
                        .map(|v| match v.as_str().map(Path::new) {
                            Some(p) if p.is_relative() => {
                                toml::Value::String(base.join(p).to_string_lossy().into_owned())
                            }
                            _ => v.clone(),
                        })
                        .collect();
                    set(&mut table, key, toml::Value::Array(resolved));
                }
            }
        }
        let env: BTreeMap<String, String> = env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
        for (key, kind) in KEYS {
            let var = env_var_of(key);
            if let Some(text) = env.get(&var) {
                let source = ConfigSource::Env(var);
                set(&mut table, key, parse_value(key, *kind, text, &source, cwd)?);
                sources.insert((*key).to_owned(), source);
            }
        }
        for (key, text) in flags {
            let source = ConfigSource::Flag(format!("--set {key}"));
            let Some(kind) = kind_of(key) else {
                return Err(override_err(
                    &source,
                    key,
                    format!("unknown key; settable keys: {}", settable_keys().collect::<Vec<_>>().join(", ")),
                ));
            };
            set(&mut table, key, parse_value(key, kind, text, &source, cwd)?);
            sources.insert(key.clone(), source);
        }
        let config: NodeConfig = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
            let message = e.to_string().trim().to_owned();
            match file {
                Some(f) => ConfigError::Parse { file: f.to_path_buf(), message },
                None => ConfigError::Parse { file: PathBuf::from("(environment and flags)"), message },
            }
        })?;
        config.check().map_err(|b| match sources.get(b.field()) {
            Some(origin @ (ConfigSource::Env(_) | ConfigSource::Flag(_))) => {
                let field = b.field().to_owned();
                override_err(origin, &field, b.reason().to_owned())
            }
            _ => b.in_file(&shown),
        })?;
        Ok(LayeredConfig { config, sources })
    }
}
