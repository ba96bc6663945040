//! Private business data: the clear values behind an envelope's private
//! commitments ([`veritrace_core::private_data`]), kept on the nodes of
//! the submitter and of the parties it names, and nowhere else.
//!
//! Threat model: the shared log is read by every party, competitors
//! included, and replicated to every validator. The clear values of
//! private fields never enter it (nor Raft, snapshots or backups): the
//! submitter hands them to its own node or a named party's node
//! (`PutPrivateData`), which checks each against its commitment, keeps
//! them in files under `private_dir` (0600), and pushes them over the peer
//! link (tag [`PRIVATE_PUSH_TAG`]) to the nodes the ledger lists as the
//! named parties' validators, and to no other node. A receiving node keeps
//! them only if its own party is named and the values open the
//! commitments of the envelope in its own ledger. `GetPrivateData`
//! answers the submitter and the named parties only. A named party may
//! later disclose a field to anyone with its value and salt, which anyone
//! checks against the public commitment.
//!
//! Not covered: who the readers are (`private_to`) is public, as is the
//! submitter; a named party's node operator reads what its party may read
//! (it is that party); a party with no node of its own gets the values
//! only from another node it calls with `GetPrivateData`.

use std::path::PathBuf;

use prost::Message as _;
use veritrace_consensus::NodeId;
use veritrace_core::Hash;
use veritrace_core::private_data::verify_disclosure;
use veritrace_proto::v1 as pb;

use crate::ServiceError;
use crate::members::MemberInfo;
use crate::service::Service;

/// Tag of a private-data push on the forward channel.
pub const PRIVATE_PUSH_TAG: u8 = 0x82;

fn denied(reason: &'static str, message: String) -> ServiceError {
    ServiceError::Refused { code: "PERMISSION_DENIED", reason, message }
}

impl Service {
    /// The transaction of envelope `id` in this node's ledger.
    fn transaction_of(&self, id: &Hash) -> Result<Option<pb::Transaction>, ServiceError> {
        let ledger = self.ledger();
        let Some(index) = ledger.find_envelope(id)? else { return Ok(None) };
        let leaf = ledger.leaf(index)?;
        let envelope = pb::SignedEnvelope::decode(leaf.envelope.as_slice())
            .map_err(|e| ServiceError::Answer(format!("stored envelope: {e}")))?;
        Ok(Some(
            pb::Transaction::decode(envelope.payload.as_slice())
                .map_err(|e| ServiceError::Answer(format!("stored transaction: {e}")))?,
        ))
    }

    /// Whether `values` open every commitment of `tx`, one value each.
    fn opens(tx: &pb::Transaction, values: &[pb::PrivateValue]) -> Result<(), String> {
        if values.len() != tx.private_commitments.len() {
            return Err(format!("{} values for {} commitments", values.len(), tx.private_commitments.len()));
        }
        for c in &tx.private_commitments {
            let Some(v) = values.iter().find(|v| v.name == c.name) else {
                return Err(format!("no value for private field {:?}", c.name));
            };
            if !verify_disclosure(&c.commitment, &v.name, &v.value, &v.salt) {
                return Err(format!("the value of {:?} does not open its commitment", c.name));
            }
        }
        Ok(())
    }

    /// The parties that may read `tx`'s private values: its submitter and
    /// the parties it names.
    fn readers(tx: &pb::Transaction) -> Vec<&str> {
        std::iter::once(tx.party_id.as_str()).chain(tx.private_to.iter().map(String::as_str)).collect()
    }

    fn private_path(&self, id: &Hash) -> PathBuf {
        self.inner.config.private_dir.join(format!("{id}.pb"))
    }

    /// Keeps the values of envelope `id` in this node's private store.
    fn store_private(&self, id: &Hash, values: &[pb::PrivateValue]) -> Result<(), ServiceError> {
        let dir = &self.inner.config.private_dir;
        let io = |source| ServiceError::Io { path: dir.clone(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = self.private_path(id);
        let bytes =
            pb::PrivateDataPush { envelope_id: id.as_bytes().to_vec(), values: values.to_vec() }.encode_to_vec();
        // A temporary file of its own: concurrent stores never interleave.
        let tmp = path.with_extension(format!("{:016x}.tmp", rand::random::<u64>()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let io = |source| ServiceError::Io { path: tmp.clone(), source };
        let mut file = options.open(&tmp).map_err(io)?;
        std::io::Write::write_all(&mut file, &bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(|source| ServiceError::Io { path: path.clone(), source })?;
        // The rename itself survives a crash only once the directory is synced.
        let dir_io = |source| ServiceError::Io { path: dir.clone(), source };
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(dir_io)
    }

    /// `PutPrivateData` from `caller` (an authenticated party): checks and
    /// keeps the values here, pushes them to the named parties' nodes, and
    /// returns the parties whose nodes hold them.
    pub async fn put_private_data(
        &self,
        caller: &str,
        id: Hash,
        values: Vec<pb::PrivateValue>,
    ) -> Result<Vec<String>, ServiceError> {
        let Some(tx) = self.transaction_of(&id)? else {
            return Err(ServiceError::Refused {
                code: "NOT_FOUND",
                reason: "NOT_FOUND",
                message: format!("no envelope {id} in this node's ledger (yet)"),
            });
        };
        if tx.private_commitments.is_empty() {
            return Err(ServiceError::invalid("envelope_id", "the envelope has no private commitments"));
        }
        if caller != tx.party_id {
            return Err(denied("NOT_THE_SUBMITTER", format!("only {} hands out its private data", tx.party_id)));
        }
        Self::opens(&tx, &values).map_err(|e| ServiceError::invalid("values", e))?;
        let readers = Self::readers(&tx);
        let own = self.inner.config.party_id.as_deref().unwrap_or("");
        if !readers.contains(&own) {
            return Err(ServiceError::Refused {
                code: "FAILED_PRECONDITION",
                reason: "NOT_A_RECIPIENT_NODE",
                message: format!("this node is party {own:?}'s, not the submitter's nor a named party's"),
            });
        }
        self.store_private(&id, &values)?;
        let mut stored = vec![own.to_owned()];
        let push = {
            let mut bytes = vec![PRIVATE_PUSH_TAG];
            bytes.extend(pb::PrivateDataPush { envelope_id: id.as_bytes().to_vec(), values }.encode_to_vec());
            bytes
        };
        // Only to nodes the ledger lists as a reader's validator.
        let members = self.inner.raft.membership().borrow().metadata.clone();
        let ledger = self.ledger();
        for (node, bytes) in members {
            if node == self.id() {
                continue;
            }
            let Some(peer) = MemberInfo::decode(&bytes).map(|m| m.peer_id) else { continue };
            let Some(party) = ledger.validator_party(&peer)? else { continue };
            if party.party_id == own || !readers.contains(&party.party_id.as_str()) {
                continue;
            }
            let answer = self.inner.peer_requests.ask(node, push.clone()).await;
            if answer.as_deref() == Ok(b"stored".as_slice()) {
                stored.push(party.party_id);
            } else {
                tracing::warn!(node, party = %party.party_id, envelope = %id, "a named party's node did not keep the private data");
            }
        }
        Ok(stored)
    }

    /// Answers a peer's private-data push (the bytes after the tag):
    /// `stored`, or why not.
    pub async fn answer_private_push(&self, from: NodeId, body: &[u8]) -> Vec<u8> {
        let refuse = |why: &str| {
            tracing::warn!(from, why, "refused a private-data push");
            why.as_bytes().to_vec()
        };
        let Ok(push) = pb::PrivateDataPush::decode(body) else { return refuse("undecodable") };
        let Ok(id) = Hash::from_slice(&push.envelope_id) else { return refuse("bad envelope id") };
        let mut tx = self.transaction_of(&id).ok().flatten();
        if tx.is_none() {
            let mut sizes = self.subscribe_tree_size();
            let _ = tokio::time::timeout(crate::cosign::COSIGN_WAIT, sizes.changed()).await;
            tx = self.transaction_of(&id).ok().flatten();
        }
        let Some(tx) = tx else { return refuse("no such envelope here") };
        let own = self.inner.config.party_id.as_deref().unwrap_or("");
        if !Self::readers(&tx).contains(&own) {
            return refuse("this node's party is not named");
        }
        if Self::opens(&tx, &push.values).is_err() {
            return refuse("the values do not open the commitments");
        }
        match self.store_private(&id, &push.values) {
            Ok(()) => b"stored".to_vec(),
            Err(_) => refuse("cannot store"),
        }
    }

    /// `GetPrivateData` by `caller`: the values of envelope `id`, to its
    /// submitter and the parties it names, when this node holds them.
    pub fn get_private_data(&self, caller: &str, id: Hash) -> Result<Vec<pb::PrivateValue>, ServiceError> {
        let Some(tx) = self.transaction_of(&id)? else {
            return Err(ServiceError::Refused {
                code: "NOT_FOUND",
                reason: "NOT_FOUND",
                message: format!("no envelope {id} in this node's ledger"),
            });
        };
        if !Self::readers(&tx).contains(&caller) {
            return Err(denied("NOT_A_RECIPIENT", format!("party {caller} is not named on envelope {id}")));
        }
        let path = self.private_path(&id);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ServiceError::Refused {
                    code: "NOT_FOUND",
                    reason: "PRIVATE_DATA_NOT_HERE",
                    message: format!("this node holds no private data of envelope {id}: ask a named party's node"),
                });
            }
            Err(source) => return Err(ServiceError::Io { path, source }),
        };
        let push = pb::PrivateDataPush::decode(bytes.as_slice())
            .map_err(|e| ServiceError::Answer(format!("{}: {e}", path.display())))?;
        // What is served must open the public commitments, whatever the disk says.
        Self::opens(&tx, &push.values)
            .map_err(|e| ServiceError::Answer(format!("{}: stored values do not check: {e}", path.display())))?;
        Ok(push.values)
    }
}
