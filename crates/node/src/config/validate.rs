//! Validation of a parsed [`NodeConfig`]: every error names its field.

use std::collections::BTreeSet;
use std::path::Path;

use veritrace_net::{Multiaddr, PeerId};

use super::{ConfigError, NodeConfig};

/// A field error before the file name is known.
pub(super) struct Bad {
    field: String,
    reason: String,
}

pub(super) fn bad(field: impl Into<String>, reason: impl Into<String>) -> Bad {
    Bad { field: field.into(), reason: reason.into() }
}

impl Bad {
    pub(super) fn field(&self) -> &str {
        &self.field
    }

    pub(super) fn reason(&self) -> &str {
        &self.reason
    }

    pub(super) fn in_file(self, file: &Path) -> ConfigError {
        ConfigError::Invalid { file: file.to_path_buf(), field: self.field, reason: self.reason }
    }
}

pub(super) fn parse_multiaddr(field: String, text: &str) -> Result<Multiaddr, Bad> {
    text.parse::<Multiaddr>().map_err(|e| bad(field, format!("{text:?} is not a libp2p multiaddr: {e}")))
}

pub(super) fn parse_peer_id(field: String, text: &str) -> Result<PeerId, Bad> {
    text.parse::<PeerId>().map_err(|e| bad(field, format!("{text:?} is not a libp2p PeerId: {e}")))
}

impl NodeConfig {
    pub(super) fn check(&self) -> Result<(), Bad> {
        let node = &self.node;
        if node.id == 0 {
            return Err(bad("node.id", "must be non-zero"));
        }
        if node.name.trim().is_empty() {
            return Err(bad("node.name", "must not be empty"));
        }
        let paths = [
            ("node.data_dir", &node.data_dir),
            ("node.key_file", &node.key_file),
            ("node.genesis_file", &node.genesis_file),
        ];
        if let Some((field, _)) = paths.iter().find(|(_, p)| p.as_os_str().is_empty()) {
            return Err(bad(*field, "must not be empty"));
        }
        if let Some(party) = &node.party_id {
            veritrace_core::ids::validate_party_id(party).map_err(|e| bad("node.party_id", e.to_string()))?;
        }
        let listen = parse_multiaddr("network.listen".into(), &self.network.listen)?;
        match &self.network.advertise {
            Some(a) => {
                parse_multiaddr("network.advertise".into(), a)?;
            }
            None if binds_every_interface(&listen) => {
                return Err(bad(
                    "network.advertise",
                    format!(
                        "network.listen {listen} binds every interface, which no peer can dial: set \
                         network.advertise to an address the others can reach"
                    ),
                ));
            }
            None => {}
        }
        if self.network.request_timeout_ms == 0 {
            return Err(bad("network.request_timeout_ms", "must be positive"));
        }
        self.check_api()?;
        self.check_raft()?;
        self.check_peers()?;
        self.check_voters()
    }

    fn check_api(&self) -> Result<(), Bad> {
        let api = &self.api;
        if api.max_message_bytes < 64 * 1024 {
            return Err(bad("api.max_message_bytes", format!("{} is below the minimum 65536", api.max_message_bytes)));
        }
        if api.requests_per_second > 0 && api.request_burst == 0 {
            return Err(bad("api.request_burst", "must be positive when api.requests_per_second is set"));
        }
        let verification = &api.verification;
        if verification.per_address_per_minute > 0 && verification.per_address_burst == 0 {
            return Err(bad(
                "api.verification.per_address_burst",
                "must be positive when api.verification.per_address_per_minute is set",
            ));
        }
        for (i, app) in verification.apps.iter().enumerate() {
            let field = format!("api.verification.apps[{i}]");
            if app.name.trim().is_empty() {
                return Err(bad(format!("{field}.name"), "must not be empty"));
            }
            if app.key_blake3.len() != 64 || !app.key_blake3.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("{field}.key_blake3"), "must be 64 hex digits (veritrace keygen app-key)"));
            }
            if app.per_minute == 0 || app.burst == 0 {
                return Err(bad(format!("{field}.per_minute"), "per_minute and burst must be positive"));
            }
        }
        match &api.advertise {
            Some(a) if !(a.starts_with("http://") || a.starts_with("https://")) => {
                return Err(bad("api.advertise", format!("{a:?} is not an http:// or https:// endpoint")));
            }
            None if api.listen.ip().is_unspecified() => {
                return Err(bad(
                    "api.advertise",
                    format!(
                        "api.listen {} binds every interface: set api.advertise to the endpoint clients and \
                         other nodes should use (e.g. https://n1.example.org:{})",
                        api.listen,
                        api.listen.port()
                    ),
                ));
            }
            _ => {}
        }
        if api.tls.is_none() && !api.listen.ip().is_loopback() && !api.insecure {
            return Err(bad(
                "api.listen",
                format!(
                    "{} is not a loopback address and [api.tls] is not set: gRPC (submissions, admin tokens, \
                     answers) would travel in clear; configure [api.tls], or accept the risk with \
                     `node start --insecure` (api.insecure = true)",
                    api.listen
                ),
            ));
        }
        if let Some(hash) = &api.admin.token_blake3 {
            veritrace_server::admin_auth::parse_token_hash(hash).map_err(|why| bad("api.admin.token_blake3", why))?;
        }
        if let Some(tls) = &api.tls {
            for (field, p) in [("api.tls.cert_file", &tls.cert_file), ("api.tls.key_file", &tls.key_file)] {
                if p.as_os_str().is_empty() {
                    return Err(bad(field, "must not be empty"));
                }
            }
        }
        if let Some(ops) = self.ops.listen
            && ops == api.listen
            && ops.port() != 0
        {
            return Err(bad("ops.listen", format!("{ops} is also api.listen; give the ops listener its own port")));
        }
        if let Some(web) = self.web.listen
            && web.port() != 0
            && (web == api.listen || Some(web) == self.ops.listen)
        {
            return Err(bad(
                "web.listen",
                format!("{web} is taken by another listener; give the web listener its own port"),
            ));
        }
        if let Some(origin) = &self.web.public_origin {
            veritrace_core::gs1::DlHost::parse(origin).map_err(|e| bad("web.public_origin", e.to_string()))?;
        }
        if self.log.level.trim().is_empty() {
            return Err(bad("log.level", "must not be empty (e.g. info)"));
        }
        Ok(())
    }

    fn check_raft(&self) -> Result<(), Bad> {
        let r = &self.raft;
        let positive = [
            ("raft.tick_ms", r.tick_ms == 0),
            ("raft.election_ticks", r.election_ticks == 0),
            ("raft.heartbeat_ticks", r.heartbeat_ticks == 0),
            ("raft.snapshot_interval", r.snapshot_interval == 0),
            ("raft.max_batch_envelopes", r.max_batch_envelopes == 0),
            ("raft.max_batch_bytes", r.max_batch_bytes == 0),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, zero)| *zero) {
            return Err(bad(*field, "must be positive"));
        }
        if r.max_batch_bytes > super::MAX_BATCH_BYTES {
            return Err(bad(
                "raft.max_batch_bytes",
                format!(
                    "{} is above the maximum {} (an entry must fit one 4 MiB peer-network frame)",
                    r.max_batch_bytes,
                    super::MAX_BATCH_BYTES
                ),
            ));
        }
        if r.heartbeat_ticks >= r.election_ticks {
            return Err(bad(
                "raft.heartbeat_ticks",
                format!("must be less than raft.election_ticks ({} >= {})", r.heartbeat_ticks, r.election_ticks),
            ));
        }
        Ok(())
    }

    fn check_peers(&self) -> Result<(), Bad> {
        let mut ids = BTreeSet::new();
        let mut peer_ids = BTreeSet::new();
        for (i, peer) in self.peers.iter().enumerate() {
            if peer.id == 0 {
                return Err(bad(format!("peers[{i}].id"), "must be non-zero"));
            }
            if !ids.insert(peer.id) {
                return Err(bad(format!("peers[{i}].id"), format!("node id {} is listed twice", peer.id)));
            }
            let peer_id = parse_peer_id(format!("peers[{i}].peer_id"), &peer.peer_id)?;
            if !peer_ids.insert(peer_id) {
                return Err(bad(format!("peers[{i}].peer_id"), format!("PeerId {peer_id} is listed twice")));
            }
            for (j, addr) in peer.addrs.iter().enumerate() {
                parse_multiaddr(format!("peers[{i}].addrs[{j}]"), addr)?;
            }
        }
        Ok(())
    }

    fn check_voters(&self) -> Result<(), Bad> {
        let voters = &self.cluster.initial_voters;
        if voters.is_empty() {
            return Ok(());
        }
        let field = "cluster.initial_voters";
        if !voters.contains(&self.node.id) {
            return Err(bad(field, format!("does not contain this node's id {}", self.node.id)));
        }
        let mut seen = BTreeSet::new();
        for &v in voters {
            if v == 0 {
                return Err(bad(field, "node ids must be non-zero"));
            }
            if !seen.insert(v) {
                return Err(bad(field, format!("node id {v} is listed twice")));
            }
            if v != self.node.id && !self.peers.iter().any(|p| p.id == v) {
                return Err(bad(field, format!("voter {v} is not listed in [[peers]]")));
            }
        }
        Ok(())
    }
}

/// Whether a multiaddr binds every interface (`/ip4/0.0.0.0/...`, `/ip6/::/...`).
fn binds_every_interface(addr: &Multiaddr) -> bool {
    use veritrace_net::Protocol;
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_unspecified(),
        Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}
