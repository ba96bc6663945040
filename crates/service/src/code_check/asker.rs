//! The asking side of a threshold code check: gather partial evaluations
//! from the nodes holding shares of the item's code key, check each proof
//! against the share the brand registered, combine the first `threshold`,
//! compare with the item's digest.

use std::sync::Arc;

use prost::Message as _;
use rand::seq::SliceRandom as _;
use tokio::task::JoinSet;
use veritrace_consensus::NodeId;
use veritrace_core::code::{digests_equal, oprf_input};
use veritrace_core::gs1::Sgtin;
use veritrace_core::oprf::{self, BlindedElement, DleqProof, EvaluatedElement, PublicShare};
use veritrace_core::{Hash, Reason};
use veritrace_ledger::state::records::ItemRecord;
use veritrace_proto::v1 as pb;

use super::{PEER_REQUEST_TAG, PeerRequests};
use crate::ServiceError;
use crate::service::Service;

/// One helper's verified contribution.
type Partial = (PublicShare, EvaluatedElement, DleqProof);

/// Why a helper's answer is not used: its refusal reason, if it refused,
/// and a sentence for the log.
struct Unusable {
    refusal: Option<String>,
    detail: String,
}

/// Most characters of a helper's own words kept for the log.
const MAX_LOGGED: usize = 200;

fn unusable(node: NodeId, why: impl std::fmt::Display) -> Unusable {
    let mut detail = format!("node {node}: {why}");
    if detail.len() > MAX_LOGGED {
        let cut = (0..=MAX_LOGGED).rev().find(|i| detail.is_char_boundary(*i)).unwrap_or(0);
        detail.truncate(cut);
        detail.push('…');
    }
    Unusable { refusal: None, detail }
}

/// Checks one helper's encoded answer against the share the brand
/// registered for it (not the one it claims).
fn partial_of(
    node: NodeId,
    registered: PublicShare,
    element: &BlindedElement,
    answer: &[u8],
) -> Result<Partial, Unusable> {
    let answer = pb::EvaluateCodeResponse::decode(answer).map_err(|e| unusable(node, format!("undecodable: {e}")))?;
    if !answer.refusal_reason.is_empty() {
        let mut why = unusable(node, format!("refused: {}: {}", answer.refusal_reason, answer.refusal_message));
        why.refusal = Some(answer.refusal_reason);
        return Err(why);
    }
    let evaluated = <&[u8; 32]>::try_from(answer.evaluated.as_slice())
        .map_err(|_| unusable(node, "evaluated element of the wrong length"))
        .and_then(|b| EvaluatedElement::from_bytes(b).map_err(|e| unusable(node, e)))?;
    let proof = <&[u8; DleqProof::LEN]>::try_from(answer.proof.as_slice())
        .map_err(|_| unusable(node, "proof of the wrong length"))
        .and_then(|b| DleqProof::from_bytes(b).map_err(|e| unusable(node, e)))?;
    registered.verify(element, &evaluated, &proof).map_err(|e| unusable(node, format!("bad evaluation: {e}")))?;
    Ok((registered, evaluated, proof))
}

/// What one holder's answer becomes in the join set.
type Asked = (NodeId, PublicShare, Result<Vec<u8>, veritrace_consensus::TransportError>);

/// How long a code check waits for any holder before it asks one more.
const HEDGE_AFTER: std::time::Duration = std::time::Duration::from_millis(300);

impl Service {
    /// Asks holder `node` (this replica itself at once, another over the
    /// peer link) for its partial evaluation, into `asks`.
    fn ask_holder(
        &self,
        asks: &mut JoinSet<Asked>,
        node: NodeId,
        registered: PublicShare,
        request: &pb::EvaluateCodeRequest,
    ) {
        if node == self.id() {
            let answer = self.evaluate_code_for(node, request).encode_to_vec();
            asks.spawn(async move { (node, registered, Ok(answer)) });
        } else {
            let peers: Arc<dyn PeerRequests> = Arc::clone(&self.inner.peer_requests);
            let mut bytes = vec![PEER_REQUEST_TAG];
            bytes.extend(request.encode_to_vec());
            asks.spawn(async move { (node, registered, peers.ask(node, bytes).await) });
        }
    }

    /// Whether `code` (normalised) is `item`'s, by a threshold evaluation
    /// of the item's code key ([`super`]). Fails with
    /// [`ServiceError::CodeCheckUnavailable`] when fewer than the key's
    /// threshold of helpers gave a valid evaluation, and with
    /// [`ServiceError::LockedOut`] when that is because the item's budget
    /// is spent (as this replica's ledger now says too).
    pub(crate) async fn threshold_code_matches(
        &self,
        record: &ItemRecord,
        item: &Sgtin,
        code: &str,
        label_token: &[u8],
        request_id: &[u8],
    ) -> Result<bool, ServiceError> {
        let key = self
            .ledger()
            .code_key(&record.code_key)?
            .ok_or_else(|| ServiceError::Answer(format!("{item}'s code key is not stored on this replica")))?;
        // Checked when the ledger stored it; decoded only.
        let parts = veritrace_ledger::parse_code_key(&key)
            .map_err(|why| ServiceError::Answer(format!("{item}'s stored code key: {why}")))?;
        let threshold = usize::from(parts.threshold);
        let expected =
            Hash::from_slice(&record.code_digest).map_err(|e| ServiceError::Answer(format!("stored digest: {e}")))?;
        let request = pb::EvaluateCodeRequest {
            item: Some(pb::GtinSerial { gtin: item.gtin.as_str().to_owned(), serial: item.serial.as_str().to_owned() }),
            code: code.to_owned(),
            label_token: label_token.to_vec(),
            request_id: request_id.to_vec(),
        };
        let (blind, element) = oprf::unblinded(&oprf_input(&item.key_bytes(), code));

        // This replica first (no round trip), the other holders in random
        // order. Only `threshold` are asked at first, so that in the normal
        // case only they see the code; the next is asked when one fails,
        // or when none has answered within HEDGE_AFTER (a slow or dead
        // holder costs that much, not a whole request timeout).
        let mut order = parts.shares;
        order.shuffle(&mut rand::rng());
        if let Some(mine) = order.iter().position(|(node, _)| *node == self.id()) {
            order.swap(0, mine);
        }
        let mut waiting = order.into_iter();
        let mut asks = JoinSet::new();
        for (node, registered) in waiting.by_ref().take(threshold) {
            self.ask_holder(&mut asks, node, registered, &request);
        }
        let mut partials = Vec::with_capacity(threshold);
        let mut problems = Vec::new();
        while !asks.is_empty() {
            let joined = match tokio::time::timeout(HEDGE_AFTER, asks.join_next()).await {
                Ok(Some(joined)) => joined,
                Ok(None) => break,
                Err(_) => {
                    if let Some((node, registered)) = waiting.next() {
                        self.ask_holder(&mut asks, node, registered, &request);
                    }
                    continue;
                }
            };
            let Ok((node, registered, answer)) = joined else { continue };
            let checked =
                answer.map_err(|e| unusable(node, e)).and_then(|bytes| partial_of(node, registered, &element, &bytes));
            match checked {
                Ok(partial) => partials.push(partial),
                Err(why) => {
                    problems.push(why);
                    if let Some((node, registered)) = waiting.next() {
                        self.ask_holder(&mut asks, node, registered, &request);
                    }
                }
            }
            if partials.len() == threshold {
                break;
            }
        }
        // Helpers still answering are left to finish on their own: their
        // evaluations are counted where they were given, and not needed.
        asks.detach_all();
        if partials.len() < threshold {
            let details: Vec<&str> = problems.iter().map(|p| p.detail.as_str()).collect();
            tracing::warn!(item = %item, got = partials.len(), threshold, problems = ?details, "code check lacks helpers");
            // A helper's word that the budget is spent is believed only as
            // far as this replica's own ledger agrees.
            let exhausted = problems.iter().any(|p| p.refusal.as_deref() == Some(Reason::CodeAttemptsExhausted.code()));
            if exhausted && let Some(now_record) = self.ledger().item_record(item)? {
                let now = crate::verify::now_ms();
                let budget = veritrace_ledger::budget(&now_record, now);
                if budget.left == 0 {
                    return Err(ServiceError::LockedOut { until_ms: budget.open_at_ms.unwrap_or(now) });
                }
            }
            return Err(ServiceError::CodeCheckUnavailable(format!(
                "{} of the {threshold} validators a code check of {item} needs answered: {}",
                partials.len(),
                details.join("; ")
            )));
        }
        let combined = oprf::combine(&partials, &element, parts.threshold)
            .map_err(|e| ServiceError::Answer(format!("combining checked evaluations: {e}")))?;
        let got = Hash(blind.finalize(&combined).0);
        Ok(digests_equal(&got, &expected))
    }
}
