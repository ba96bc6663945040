//! The asking side of a threshold code check: gather partial evaluations
//! from the nodes holding shares of the item's code key, check each proof
//! against the share the brand registered, combine the first `threshold`,
//! compare with the item's digest.

use std::sync::Arc;

use prost::Message as _;
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

/// Why a helper's answer is not used.
fn unusable(node: NodeId, why: impl std::fmt::Display) -> String {
    format!("node {node}: {why}")
}

/// Checks one helper's encoded answer against the share the brand
/// registered for it (not the one it claims).
fn partial_of(
    node: NodeId,
    registered: PublicShare,
    element: &BlindedElement,
    answer: &[u8],
) -> Result<Partial, String> {
    let answer = pb::EvaluateCodeResponse::decode(answer).map_err(|e| unusable(node, format!("undecodable: {e}")))?;
    if !answer.refusal_reason.is_empty() {
        return Err(unusable(node, format!("refused: {}: {}", answer.refusal_reason, answer.refusal_message)));
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

impl Service {
    /// Whether `code` (normalised) is `item`'s, by a threshold evaluation
    /// of the item's code key ([`super`]). Fails with
    /// [`ServiceError::CodeCheckUnavailable`] when fewer than the key's
    /// threshold of helpers gave a valid evaluation, and with
    /// [`ServiceError::LockedOut`] when that is because the item's budget
    /// is spent on their ledgers.
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
        let (_, shares) = veritrace_ledger::check_code_key(&key)
            .map_err(|why| ServiceError::Answer(format!("{item}'s stored code key: {why}")))?;
        let threshold = key.threshold as usize;
        let expected =
            Hash::from_slice(&record.code_digest).map_err(|e| ServiceError::Answer(format!("stored digest: {e}")))?;
        let request = pb::EvaluateCodeRequest {
            item: Some(pb::GtinSerial { gtin: item.gtin.as_str().to_owned(), serial: item.serial.as_str().to_owned() }),
            code: code.to_owned(),
            label_token: label_token.to_vec(),
            request_id: request_id.to_vec(),
        };
        let (blind, element) = oprf::unblinded(&oprf_input(&item.key_bytes(), code));

        let mut asks = JoinSet::new();
        for (node, registered) in shares {
            if node == self.id() {
                let answer = self.evaluate_code_for(node, &request).encode_to_vec();
                asks.spawn(async move { (node, registered, Ok(answer)) });
            } else {
                let peers: Arc<dyn PeerRequests> = Arc::clone(&self.inner.peer_requests);
                let mut bytes = vec![PEER_REQUEST_TAG];
                bytes.extend(request.encode_to_vec());
                asks.spawn(async move { (node, registered, peers.ask(node, bytes).await) });
            }
        }
        let mut partials = Vec::with_capacity(threshold);
        let mut problems = Vec::new();
        while let Some(joined) = asks.join_next().await {
            let Ok((node, registered, answer)) = joined else { continue };
            let checked =
                answer.map_err(|e| unusable(node, e)).and_then(|bytes| partial_of(node, registered, &element, &bytes));
            match checked {
                Ok(partial) => partials.push(partial),
                Err(why) => problems.push(why),
            }
            if partials.len() == threshold {
                break;
            }
        }
        // Helpers still answering are left to finish on their own: their
        // evaluations are counted where they were given, and not needed.
        asks.detach_all();
        if partials.len() < threshold {
            tracing::warn!(item = %item, got = partials.len(), threshold, problems = ?problems, "code check lacks helpers");
            if problems.iter().any(|p| p.contains(Reason::CodeAttemptsExhausted.code())) {
                let budget = veritrace_ledger::budget(record, crate::verify::now_ms());
                return Err(ServiceError::LockedOut {
                    until_ms: budget.open_at_ms.unwrap_or_else(|| crate::verify::now_ms() + 60_000),
                });
            }
            return Err(ServiceError::CodeCheckUnavailable(format!(
                "{} of the {threshold} validators a code check of {item} needs answered: {}",
                partials.len(),
                problems.join("; ")
            )));
        }
        let combined = oprf::combine(&partials, &element, key.threshold as u8)
            .map_err(|e| ServiceError::Answer(format!("combining checked evaluations: {e}")))?;
        let got = Hash(blind.finalize(&combined).0);
        Ok(digests_equal(&got, &expected))
    }
}
