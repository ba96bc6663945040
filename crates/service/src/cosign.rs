//! Co-signing tree heads with the other validators, and keeping the
//! equivocation evidence met on the way ([`veritrace_core::cosign`]).
//!
//! Threat model: a validator may show one history to some clients and
//! another to others (a fork), or sign whatever its operator likes. A
//! receipt's head is therefore co-signed: this node asks every other
//! member to sign the same head, and each signs only if its own ledger has
//! that root at that size (waiting up to [`COSIGN_WAIT`] to apply it).
//! A peer whose root differs answers with its own signed head instead.
//!
//! Every head a node receives signed by another node's key goes into its
//! [`HeadBook`]; two of one key at one size with different roots are kept
//! as evidence, which `ClusterService.Audit` reports. When a peer shows
//! this node a head it does not have, this node asks that peer to co-sign
//! its own head of that size: an honest fork-free peer refuses, a peer
//! that signs both has equivocated, provably.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use prost::Message as _;
use veritrace_consensus::NodeId;
use veritrace_core::SigningContext;
use veritrace_core::receipt::{tree_head_from_proto, tree_head_to_proto};
use veritrace_proto::v1 as pb;

use crate::ServiceError;
use crate::service::Service;

/// Tag of a co-sign request on the forward channel (after code checks' 0x80).
pub const COSIGN_REQUEST_TAG: u8 = 0x81;

/// How long a peer waits to apply a head's size before refusing to sign.
pub const COSIGN_WAIT: Duration = Duration::from_secs(1);

/// Heads kept per node (smallest sizes dropped first).
const MAX_HEADS: usize = 10_000;
/// Evidence pairs kept.
const MAX_EVIDENCE: usize = 100;

/// A head's place in the book: tree size, shard, signing key.
type HeadKey = (u64, u32, [u8; 32]);

/// Keys not among the members' PeerId keys whose heads are kept (a
/// member sending heads under throwaway keys fills this share, not the
/// book).
const MAX_OTHER_KEYS: usize = 16;

/// Heads signed by other nodes' keys that this node received, and the
/// equivocations among them. Bounded: the oldest heads go first, at most
/// one piece of evidence per key, and heads by keys that are no member's
/// PeerId key are kept for a few keys only.
#[derive(Default)]
pub struct HeadBook {
    inner: Mutex<Book>,
}

#[derive(Default)]
struct Book {
    heads: BTreeMap<HeadKey, pb::SignedTreeHead>,
    order: std::collections::VecDeque<HeadKey>,
    other_keys: std::collections::BTreeSet<[u8; 32]>,
    evidence: Vec<pb::EquivocationEvidence>,
}

impl HeadBook {
    /// Records `head` if its signature checks; when its key signed another
    /// root at that size before, keeps the pair as evidence. `members` are
    /// the keys the members' PeerIds carry.
    pub fn record(&self, head: &pb::SignedTreeHead, members: &[veritrace_core::PublicKey]) {
        let Ok(sth) = tree_head_from_proto(head) else { return };
        if sth.verify().is_err() {
            return;
        }
        let mut book = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let signer = sth.signer.to_bytes();
        if !members.contains(&sth.signer) && !book.other_keys.contains(&signer) {
            if book.other_keys.len() >= MAX_OTHER_KEYS {
                return;
            }
            book.other_keys.insert(signer);
        }
        let key = (sth.head.tree_size, sth.head.shard_id, signer);
        match book.heads.get(&key).cloned() {
            Some(known) if known.root_hash != head.root_hash => {
                let already = book.evidence.iter().any(|e| e.first.as_ref().is_some_and(|f| f.signer_key_id == signer));
                if !already && book.evidence.len() < MAX_EVIDENCE {
                    tracing::error!(signer = %sth.signer, tree_size = sth.head.tree_size,
                        "a node signed two different roots at one size: equivocation evidence kept");
                    book.evidence.push(pb::EquivocationEvidence { first: Some(known), second: Some(head.clone()) });
                }
            }
            Some(_) => {}
            None => {
                book.heads.insert(key, head.clone());
                book.order.push_back(key);
                while book.order.len() > MAX_HEADS {
                    if let Some(old) = book.order.pop_front() {
                        book.heads.remove(&old);
                    }
                }
            }
        }
    }

    /// The evidence kept so far.
    pub fn evidence(&self) -> Vec<pb::EquivocationEvidence> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).evidence.clone()
    }
}

/// A signed head with its co-signatures removed, as a co-signature signs it.
fn bare(head: &pb::SignedTreeHead) -> pb::SignedTreeHead {
    pb::SignedTreeHead { cosignatures: Vec::new(), ..head.clone() }
}

impl Service {
    /// The head of the first `size` leaves signed by this node and
    /// co-signed by the first members that have the same root at that size,
    /// until a majority of the members (this node included) signed, or
    /// every member answered or waited [`COSIGN_WAIT`] and a second.
    /// Members that do not sign are left out: check the quorum with
    /// [`veritrace_core::cosign::verify_cosigned`].
    pub async fn cosigned_tree_head_at(&self, size: u64) -> Result<pb::SignedTreeHead, ServiceError> {
        let membership = self.inner.raft.membership();
        let others: Vec<NodeId> = membership.borrow().metadata.keys().copied().filter(|id| *id != self.id()).collect();
        // A majority of the members (this node included) is a quorum: stop
        // there, so a member that is down or slow does not hold up every
        // receipt for the full wait.
        let members = others.len() + 1;
        let enough = members / 2 + 1;
        let cache = || self.inner.cosigned_head.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cached) = cache().as_ref().filter(|h| h.tree_size == size && h.cosignatures.len() >= enough) {
            return Ok(cached.clone());
        }
        let own = self.inner.config.head_signer.sign(&self.head_at(size)?);
        let mut head = tree_head_to_proto(&own);
        head.cosignatures.push(veritrace_core::cosign::cosignature(&own));
        let mut request = vec![COSIGN_REQUEST_TAG];
        request.extend(pb::CoSignRequest { head: Some(bare(&head)), probe: false }.encode_to_vec());
        let mut asks = tokio::task::JoinSet::new();
        for node in others {
            let (service, request) = (self.clone(), request.clone());
            asks.spawn(async move {
                let answer = service.inner.peer_requests.ask(node, request);
                (node, tokio::time::timeout(COSIGN_WAIT + Duration::from_secs(1), answer).await)
            });
        }
        let message = own.head.signing_bytes();
        let keys = self.member_key_map();
        let member_keys: Vec<veritrace_core::PublicKey> = keys.values().copied().collect();
        while head.cosignatures.len() < enough
            && let Some(joined) = asks.join_next().await
        {
            let Ok((node, Ok(Ok(bytes)))) = joined else { continue };
            let Ok(response) = pb::CoSignResponse::decode(bytes.as_slice()) else { continue };
            if let Some(c) = response.cosignature {
                // Only the asked node's own key, when its PeerId names one.
                let expected = keys.get(&node).is_none_or(|k| k.to_bytes().as_slice() == c.signer_key_id);
                let valid = expected
                    && veritrace_core::PublicKey::from_slice(&c.signer_key_id)
                        .is_ok_and(|k| k.verify(SigningContext::TreeHead, &message, &c.signature).is_ok());
                if valid {
                    head.cosignatures.push(c);
                }
            }
            if let Some(conflicting) = response.conflicting {
                self.inner.heads.record(&conflicting, &member_keys);
            }
        }
        // Dropping the set aborts the asks still out.
        if head.cosignatures.len() >= enough {
            *cache() = Some(head.clone());
        }
        Ok(head)
    }

    /// Answers a peer's co-sign request (the bytes after the tag).
    pub async fn answer_cosign(&self, from: NodeId, body: &[u8]) -> Vec<u8> {
        let refuse = |why: String| pb::CoSignResponse { refusal: why, ..Default::default() }.encode_to_vec();
        let Ok(pb::CoSignRequest { head: Some(head), probe }) = pb::CoSignRequest::decode(body) else {
            return refuse("undecodable CoSignRequest".into());
        };
        let Ok(asked) = tree_head_from_proto(&head) else { return refuse("malformed head".into()) };
        if asked.verify().is_err() {
            return refuse("the head's signature does not check".into());
        }
        self.inner.heads.record(&head, &self.member_keys());
        let size = asked.head.tree_size;
        if self.ledger().applied().tree_size < size {
            let mut sizes = self.subscribe_tree_size();
            let _ = tokio::time::timeout(COSIGN_WAIT, sizes.wait_for(|s| *s >= size)).await;
        }
        if self.ledger().applied().tree_size < size {
            return refuse(format!("this node has not applied tree size {size}"));
        }
        let own = match self.head_at(size) {
            Ok(own) => own,
            Err(e) => return refuse(e.to_string()),
        };
        if own == asked.head {
            let signed = self.inner.config.head_signer.cosign(&own);
            return pb::CoSignResponse {
                cosignature: Some(veritrace_core::cosign::cosignature(&signed)),
                ..Default::default()
            }
            .encode_to_vec();
        }
        tracing::warn!(from, tree_size = size, "a peer asked to co-sign a head this node's ledger does not have");
        let ours = tree_head_to_proto(&self.inner.config.head_signer.cosign(&own));
        // Ask the peer to co-sign ours: a peer that signs both equivocated.
        // Never in answer to a probe, so two forks do not ping-pong.
        if !probe {
            let (service, head) = (self.clone(), ours.clone());
            tokio::spawn(async move { service.probe(from, head).await });
        }
        pb::CoSignResponse { conflicting: Some(ours), ..Default::default() }.encode_to_vec()
    }

    /// Asks `node` to co-sign `head`; records what it signs.
    async fn probe(&self, node: NodeId, head: pb::SignedTreeHead) {
        let mut request = vec![COSIGN_REQUEST_TAG];
        request.extend(pb::CoSignRequest { head: Some(head.clone()), probe: true }.encode_to_vec());
        let answer = self.inner.peer_requests.ask(node, request);
        let Ok(Ok(bytes)) = tokio::time::timeout(COSIGN_WAIT + Duration::from_secs(1), answer).await else { return };
        let Ok(response) = pb::CoSignResponse::decode(bytes.as_slice()) else { return };
        if let Some(c) = response.cosignature {
            let signed = pb::SignedTreeHead { signer_key_id: c.signer_key_id, signature: c.signature, ..bare(&head) };
            self.inner.heads.record(&signed, &self.member_keys());
        }
    }

    /// This node's head of the first `size` leaves, as every replica has
    /// it: the root, and the commit time of leaf `size - 1` (not the time
    /// of the last batch, which a batch of refused envelopes moves).
    fn head_at(&self, size: u64) -> Result<veritrace_core::TreeHead, ServiceError> {
        let ledger = self.ledger();
        let current = ledger.tree_head();
        let root = if size == current.tree_size { current.root } else { ledger.root_at(size)? };
        let timestamp_ms = if size == 0 { 0 } else { ledger.leaf(size - 1)?.commit_time_ms };
        Ok(veritrace_core::TreeHead { shard_id: current.shard_id, tree_size: size, root, timestamp_ms })
    }

    /// The keys the members' PeerIds carry, by node id (members whose
    /// PeerId carries no ed25519 key are left out).
    fn member_key_map(&self) -> std::collections::BTreeMap<NodeId, veritrace_core::PublicKey> {
        let membership = self.inner.raft.membership();
        let metadata = membership.borrow().metadata.clone();
        metadata
            .iter()
            .filter_map(|(id, m)| {
                let peer = crate::members::MemberInfo::decode(m)?.peer_id;
                Some((*id, veritrace_core::cosign::peer_public_key(&peer)?))
            })
            .collect()
    }

    fn member_keys(&self) -> Vec<veritrace_core::PublicKey> {
        self.member_key_map().into_values().collect()
    }

    /// Equivocation evidence this node holds (`ClusterService.Audit`).
    pub fn equivocations(&self) -> Vec<pb::EquivocationEvidence> {
        self.inner.heads.evidence()
    }
}
