//! Peer identities on the simulated network.

use veritrace_service::{PeerControl, PeerIdentity};

/// The [`PeerControl`] of a test cluster: a peer identity is any
/// non-empty printable ASCII token without spaces (replicas are
/// `sim<id>`), its bytes are its text; an address is any non-empty
/// token. Like libp2p's, the checks are pure functions of their argument.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimPeers;

fn token(text: &str, what: &str) -> Result<(), String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("{text:?} is not a {what} (a non-empty token of printable ASCII)"));
    }
    Ok(())
}

impl PeerControl for SimPeers {
    fn parse_peer_id(&self, text: &str) -> Result<PeerIdentity, String> {
        token(text, "simulated peer id")?;
        Ok(PeerIdentity { text: text.to_owned(), bytes: text.as_bytes().to_vec() })
    }

    fn check_address(&self, text: &str) -> Result<(), String> {
        token(text, "simulated address")
    }
}
