//! Submissions a party delegated to its own node: the node signs actions
//! with the key of the party it operates (`node.party_key_file`) for a
//! caller that proved it is that party (the EPCIS REST binding's capture).
//!
//! Threat model: the node already holds that key (it signs consumer scans
//! with it), so signing for its own party adds no new holder. It never
//! signs for another party: the edge refuses a caller that is not the
//! node's party before anything is signed, and every envelope names the
//! node's party as its signer, so the ledger's role policy and custody
//! rules judge it as that party's own submission.

use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use crate::ServiceError;
use crate::service::Service;

impl Service {
    /// The party this node operates and signs for, if it has a party key.
    pub fn node_party(&self) -> Option<&str> {
        match (&self.inner.config.party_id, &self.inner.config.party_signer) {
            (Some(id), Some(_)) => Some(id.as_str()),
            _ => None,
        }
    }

    /// Signs each of `actions` as the node's party and submits them in one
    /// proposal; one receipt per action, in order (each applied or refused
    /// on its own: the ledger has no all-or-nothing batches).
    pub async fn submit_as_node_party(&self, actions: Vec<Action>) -> Result<Vec<pb::Receipt>, ServiceError> {
        let mut envelopes = Vec::with_capacity(actions.len());
        for action in actions {
            envelopes.push(self.sign(action)?.bytes().to_vec());
        }
        self.submit(envelopes).await
    }
}
