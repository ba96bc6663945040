//! What the cluster replicates about each member: its network identity
//! and addresses (the opaque per-member metadata of the Raft driver).
//!
//! Format, UTF-8 lines: `v1`, the base58 `PeerId`, the gRPC endpoint (may
//! be empty), then one libp2p multiaddr per line.
//!
//! The strings are checked by a [`PeerControl`] that the node process
//! implements with libp2p: this crate never parses a `PeerId` itself.

use veritrace_consensus::NodeId;

/// A peer identity as the network layer understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The canonical text form (base58 `PeerId`).
    pub text: String,
    /// The identity's bytes (the `PeerId` multihash), from which a node id
    /// is derived when a request names none ([`node_id_from_peer_bytes`]).
    pub bytes: Vec<u8>,
}

/// How the application layer checks the peer identities and addresses of
/// membership requests without linking the network stack.
///
/// Contract: both methods are pure functions of their argument (no I/O,
/// no state), so every replica given the same request checks it the same
/// way; an `Err` carries a message for the client naming what is wrong.
pub trait PeerControl: Send + Sync + 'static {
    /// Parses a peer identity (`12D3KooW...`).
    fn parse_peer_id(&self, text: &str) -> Result<PeerIdentity, String>;

    /// Checks a dialable address of a peer (a libp2p multiaddr).
    fn check_address(&self, text: &str) -> Result<(), String>;
}

/// One member's identity and addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// libp2p `PeerId`, base58.
    pub peer_id: String,
    /// gRPC endpoint, e.g. `http://127.0.0.1:7401`; empty if unknown.
    pub api: String,
    /// libp2p multiaddrs.
    pub addrs: Vec<String>,
}

impl MemberInfo {
    /// Encodes the metadata bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut lines = vec!["v1".to_string(), self.peer_id.clone(), self.api.clone()];
        lines.extend(self.addrs.iter().cloned());
        lines.join("\n").into_bytes()
    }

    /// Decodes metadata bytes; `None` when they are not this format.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.split('\n');
        if lines.next()? != "v1" {
            return None;
        }
        let peer_id = lines.next()?.to_string();
        let api = lines.next()?.to_string();
        Some(MemberInfo { peer_id, api, addrs: lines.map(str::to_string).collect() })
    }
}

/// A Raft node id derived from a peer identity's bytes (for members added
/// without one): the first 8 bytes of blake3 of them, never 0.
pub fn node_id_from_peer_bytes(peer_id: &[u8]) -> NodeId {
    let h = blake3::hash(peer_id);
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    // Keep ids below 2^53 so JSON tools read them exactly.
    (u64::from_be_bytes(b) >> 11).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_info_round_trips_and_refuses_other_bytes() {
        let m = MemberInfo {
            peer_id: "12D3KooWabc".into(),
            api: "http://127.0.0.1:7401".into(),
            addrs: vec!["/ip4/127.0.0.1/tcp/7501".into()],
        };
        assert_eq!(MemberInfo::decode(&m.encode()), Some(m.clone()));
        let bare = MemberInfo { api: String::new(), addrs: vec![], ..m };
        assert_eq!(MemberInfo::decode(&bare.encode()), Some(bare));
        assert_eq!(MemberInfo::decode(b"node-1"), None);
        assert_eq!(MemberInfo::decode(&[0xff, 0xfe]), None);
    }
}
