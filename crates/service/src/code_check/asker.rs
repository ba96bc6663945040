//! The asking side of a threshold code check: gather partial evaluations
//! from the nodes holding shares of the item's code key, combine
//! `threshold` of them, compare with the item's digest.
//!
//! Proofs are asked for and checked only when the comparison fails. A
//! match needs no proof: the output hash binds the input, so no partial,
//! however chosen, makes a wrong code's output equal the stored one
//! ([`oprf::combine_unchecked`]). So holders are first asked to omit their
//! proofs (saving each a proof, about 60 µs); after a mismatch the same
//! holders are asked again, for the same request id and code, with proofs
//! (they do not count it again), and the mismatch is believed only once
//! every partial used has a valid proof against the share the brand
//! registered (never the one a helper claims). A lying helper's partial is
//! dropped and another holder asked. This replica's own partial needs no
//! proof.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;
use rand::seq::SliceRandom as _;
use tokio::task::JoinSet;
use veritrace_consensus::{NodeId, TransportError};
use veritrace_core::code::{digests_equal, oprf_input};
use veritrace_core::gs1::Sgtin;
use veritrace_core::oprf::{self, BlindedElement, DleqProof, EvaluatedElement, PublicShare};
use veritrace_core::{Hash, Reason};
use veritrace_ledger::state::records::ItemRecord;
use veritrace_proto::v1 as pb;

use super::{PEER_REQUEST_TAG, PeerRequests};
use crate::ServiceError;
use crate::service::Service;

/// When a consumer whose check found the holders' allowance for this
/// item spent may retry: unsettled checks settle within a consensus round.
const HELP_RETRY_MS: i64 = 2_000;

/// How long a code check waits for any holder before it asks one more.
const HEDGE_AFTER: Duration = Duration::from_millis(300);

/// Most characters of a helper's own words kept for the log.
const MAX_LOGGED: usize = 200;

/// One holder's partial evaluation and what stands behind it.
#[derive(Clone, Copy)]
struct Candidate {
    node: NodeId,
    share: PublicShare,
    evaluated: EvaluatedElement,
    proof: Proof,
}

/// What stands behind a partial evaluation.
#[derive(Clone, Copy)]
enum Proof {
    /// This replica's own, or one whose proof was checked.
    Trusted,
    /// A proof given, not yet checked.
    Given(DleqProof),
    /// None: the holder was asked to omit it.
    Omitted,
}

/// Why a candidate cannot be believed for a mismatch.
enum Unproven {
    /// It has no proof: ask its holder again, with one.
    Omitted,
    /// Its proof fails: the holder lied or erred.
    Bad(String),
}

/// Why a holder's answer is not used: its refusal reason, if it refused,
/// and a sentence for the log.
struct Unusable {
    refusal: Option<String>,
    detail: String,
}

fn unusable(node: NodeId, why: impl std::fmt::Display) -> Unusable {
    let mut detail = format!("node {node}: {why}");
    if detail.len() > MAX_LOGGED {
        let cut = (0..=MAX_LOGGED).rev().find(|i| detail.is_char_boundary(*i)).unwrap_or(0);
        detail.truncate(cut);
        detail.push('…');
    }
    Unusable { refusal: None, detail }
}

/// Decodes one other holder's answer against the share the brand
/// registered for it. Its proof, if any, is kept, not checked.
fn candidate_of(node: NodeId, registered: PublicShare, answer: &[u8]) -> Result<Candidate, Unusable> {
    let answer = pb::EvaluateCodeResponse::decode(answer).map_err(|e| unusable(node, format!("undecodable: {e}")))?;
    if !answer.refusal_reason.is_empty() {
        let mut why = unusable(node, format!("refused: {}: {}", answer.refusal_reason, answer.refusal_message));
        why.refusal = Some(answer.refusal_reason);
        return Err(why);
    }
    let evaluated = <&[u8; 32]>::try_from(answer.evaluated.as_slice())
        .map_err(|_| unusable(node, "evaluated element of the wrong length"))
        .and_then(|b| EvaluatedElement::from_bytes(b).map_err(|e| unusable(node, e)))?;
    let proof = if answer.proof.is_empty() {
        Proof::Omitted
    } else {
        let proof = <&[u8; DleqProof::LEN]>::try_from(answer.proof.as_slice())
            .map_err(|_| unusable(node, "proof of the wrong length"))
            .and_then(|b| DleqProof::from_bytes(b).map_err(|e| unusable(node, e)))?;
        Proof::Given(proof)
    };
    Ok(Candidate { node, share: registered, evaluated, proof })
}

/// What one holder's answer becomes in the join set.
type Asked = (NodeId, PublicShare, Result<Vec<u8>, TransportError>);

/// The holders of one check: those asked, those not yet asked, and what
/// went wrong.
struct Gathering<'a> {
    service: &'a Service,
    request: pb::EvaluateCodeRequest,
    asks: JoinSet<Asked>,
    waiting: VecDeque<(NodeId, PublicShare)>,
    problems: Vec<Unusable>,
}

impl Gathering<'_> {
    /// Asks the next holder not asked yet, if any.
    fn ask_next(&mut self) {
        let Some((node, registered)) = self.waiting.pop_front() else { return };
        let peers: Arc<dyn PeerRequests> = Arc::clone(&self.service.inner.peer_requests);
        let mut bytes = vec![PEER_REQUEST_TAG];
        bytes.extend(self.request.encode_to_vec());
        self.asks.spawn(async move { (node, registered, peers.ask(node, bytes).await) });
    }

    /// Adds candidates to `into` until it holds `threshold`, asking further
    /// holders as others fail or are slow; with `element`, checks each
    /// proof as it arrives. Stops early when no holder is left.
    async fn fill(&mut self, into: &mut Vec<Candidate>, threshold: usize, element: Option<&BlindedElement>) {
        while into.len() < threshold {
            let joined = match tokio::time::timeout(HEDGE_AFTER, self.asks.join_next()).await {
                Ok(Some(joined)) => joined,
                Ok(None) => {
                    if self.waiting.is_empty() {
                        return;
                    }
                    self.ask_next();
                    continue;
                }
                Err(_) => {
                    self.ask_next();
                    continue;
                }
            };
            let Ok((node, registered, answer)) = joined else { continue };
            let checked = answer.map_err(|e| unusable(node, e)).and_then(|bytes| {
                let mut c = candidate_of(node, registered, &bytes)?;
                if let Some(element) = element {
                    verify(&mut c, element).map_err(|e| match e {
                        Unproven::Omitted => unusable(node, "no proof given"),
                        Unproven::Bad(why) => unusable(node, why),
                    })?;
                }
                Ok(c)
            });
            match checked {
                Ok(c) => into.push(c),
                Err(why) => {
                    self.problems.push(why);
                    self.ask_next();
                }
            }
        }
    }
}

/// Checks a candidate's proof, and trusts it from then on.
fn verify(c: &mut Candidate, element: &BlindedElement) -> Result<(), Unproven> {
    match c.proof {
        Proof::Trusted => Ok(()),
        Proof::Omitted => Err(Unproven::Omitted),
        Proof::Given(proof) => {
            c.share.verify(element, &c.evaluated, &proof).map_err(|e| Unproven::Bad(format!("bad evaluation: {e}")))?;
            c.proof = Proof::Trusted;
            Ok(())
        }
    }
}

/// Whether the candidates' combination finalizes to `expected`.
fn matches(input: &[u8], candidates: &[Candidate], threshold: u8, expected: &Hash) -> Result<bool, ServiceError> {
    let pairs: Vec<(PublicShare, EvaluatedElement)> = candidates.iter().map(|c| (c.share, c.evaluated)).collect();
    let combined = oprf::combine_unchecked(&pairs, threshold)
        .map_err(|e| ServiceError::Answer(format!("combining evaluations: {e}")))?;
    Ok(digests_equal(&Hash(oprf::finalize_unblinded(input, &combined).0), expected))
}

impl Service {
    /// Whether `code` (normalised) is `item`'s, by a threshold evaluation
    /// of the item's code key ([`super`]). Fails with
    /// [`ServiceError::CodeCheckUnavailable`] when fewer than the key's
    /// threshold of holders gave a usable evaluation, and with
    /// [`ServiceError::LockedOut`] when that is because the item's budget
    /// is spent (as this replica's ledger now says too) or the holders'
    /// allowance for this replica and item is, for a moment.
    pub(crate) async fn threshold_code_matches(
        &self,
        record: &ItemRecord,
        item: &Sgtin,
        code: &str,
        label_token: &[u8],
        request_id: &[u8],
    ) -> Result<bool, ServiceError> {
        let parts = self.inner.decoded_keys.get_or_decode(&record.code_key, || {
            let key = self
                .ledger()
                .code_key(&record.code_key)?
                .ok_or_else(|| ServiceError::Answer(format!("{item}'s code key is not stored on this replica")))?;
            // Checked when the ledger stored it; decoded only.
            veritrace_ledger::parse_code_key(&key)
                .map_err(|why| ServiceError::Answer(format!("{item}'s stored code key: {why}")))
        })?;
        let threshold = usize::from(parts.threshold);
        let expected =
            Hash::from_slice(&record.code_digest).map_err(|e| ServiceError::Answer(format!("stored digest: {e}")))?;
        let input = oprf_input(&item.key_bytes(), code);
        let request = pb::EvaluateCodeRequest {
            item: Some(pb::GtinSerial { gtin: item.gtin.as_str().to_owned(), serial: item.serial.as_str().to_owned() }),
            code: code.to_owned(),
            label_token: label_token.to_vec(),
            request_id: request_id.to_vec(),
            omit_proof: true,
            tree_size: self.ledger().applied().tree_size,
        };
        let (_, element) = oprf::unblinded(&input);
        // This replica's own partial first (no round trip, no proof, and
        // the checks above are the ones a helper makes), the other holders
        // in random order. Only as many as needed are asked at first, so
        // that usually only they see the code; the next is asked when one
        // fails, or when none has answered within HEDGE_AFTER (a slow or
        // dead holder costs that much, not a whole request timeout).
        let mut candidates = Vec::with_capacity(threshold);
        let mut order = parts.shares.clone();
        if let Some(mine) = order.iter().position(|(node, _)| *node == self.id()) {
            let (node, registered) = order.swap_remove(mine);
            match self.inner.code_shares.get(&record.code_key) {
                Some(share) if share.public() == registered => candidates.push(Candidate {
                    node,
                    share: registered,
                    evaluated: share.evaluate_unproved(&element),
                    proof: Proof::Trusted,
                }),
                Some(_) => {
                    tracing::warn!(item = %item, "this replica's share file is not the share the brand registered for it")
                }
                None => {}
            }
        }
        order.shuffle(&mut rand::rng());
        let mut gathering =
            Gathering { service: self, request, asks: JoinSet::new(), waiting: order.into(), problems: Vec::new() };
        for _ in candidates.len()..threshold {
            gathering.ask_next();
        }
        gathering.fill(&mut candidates, threshold, None).await;
        let outcome = if candidates.len() < threshold {
            None
        } else if matches(&input, &candidates, parts.threshold, &expected)? {
            Some(true)
        } else {
            // A mismatch: believed once every partial used proves itself.
            let before = candidates.len();
            let mut again = Vec::new();
            candidates.retain_mut(|c| match verify(c, &element) {
                Ok(()) => true,
                Err(Unproven::Omitted) => {
                    again.push((c.node, c.share));
                    false
                }
                Err(Unproven::Bad(why)) => {
                    tracing::warn!(node = c.node, item = %item, "a code key holder's evaluation has a bad proof");
                    gathering.problems.push(unusable(c.node, why));
                    false
                }
            });
            if candidates.len() == before {
                Some(false)
            } else {
                // The same holders first, now with proofs; answers still
                // coming from the first round (proofless) are not waited for.
                gathering.asks.detach_all();
                gathering.request.omit_proof = false;
                for holder in again.iter().rev() {
                    gathering.waiting.push_front(*holder);
                }
                for _ in 0..threshold - candidates.len() {
                    gathering.ask_next();
                }
                gathering.fill(&mut candidates, threshold, Some(&element)).await;
                if candidates.len() < threshold {
                    None
                } else {
                    Some(matches(&input, &candidates, parts.threshold, &expected)?)
                }
            }
        };
        // Holders still answering are left to finish on their own: their
        // evaluations are counted where they were given, and not needed.
        gathering.asks.detach_all();
        match outcome {
            Some(matched) => Ok(matched),
            None => Err(self.lacking_holders(item, candidates.len(), threshold, &gathering.problems)?),
        }
    }

    /// The error of a check that could not gather `threshold` usable
    /// evaluations.
    fn lacking_holders(
        &self,
        item: &Sgtin,
        got: usize,
        threshold: usize,
        problems: &[Unusable],
    ) -> Result<ServiceError, ServiceError> {
        let details: Vec<&str> = problems.iter().map(|p| p.detail.as_str()).collect();
        tracing::warn!(item = %item, got, threshold, problems = ?details, "code check lacks helpers");
        let refused = |reason: Reason| problems.iter().any(|p| p.refusal.as_deref() == Some(reason.code()));
        // A holder's word that the budget is spent is believed only as far
        // as this replica's own ledger agrees.
        if refused(Reason::CodeAttemptsExhausted)
            && let Some(now_record) = self.ledger().item_record(item)?
        {
            let now = crate::verify::now_ms();
            let budget = veritrace_ledger::budget(&now_record, now);
            if budget.left == 0 {
                return Ok(ServiceError::LockedOut { until_ms: budget.open_at_ms.unwrap_or(now) });
            }
        }
        // The holders are busy with this item for this replica (its earlier
        // checks are not counted on their ledgers yet): the consumer may
        // retry in a moment, as after a spent budget.
        if refused(Reason::CodeHelpExhausted) {
            return Ok(ServiceError::LockedOut { until_ms: crate::verify::now_ms() + HELP_RETRY_MS });
        }
        Ok(ServiceError::CodeCheckUnavailable(format!(
            "{got} of the {threshold} validators a code check of {item} needs answered: {}",
            details.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use veritrace_core::oprf::{KeyShare, OprfKey};

    use super::*;

    fn honest(node: NodeId, share: &KeyShare, input: &[u8], rng: &mut rand::rngs::StdRng) -> Candidate {
        let (_, element) = oprf::unblinded(input);
        let (evaluated, proof) = share.evaluate(&element, rng);
        Candidate { node, share: share.public(), evaluated, proof: Proof::Given(proof) }
    }

    #[test]
    fn a_match_needs_no_proof_and_a_mismatch_is_believed_only_with_proofs() -> Result<(), Box<dyn std::error::Error>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let key = OprfKey::generate(&mut rng);
        let shares = key.split(2, 3, &mut rng)?;
        let right = oprf_input(b"item", "123456");
        let wrong = oprf_input(b"item", "654321");
        let expected = Hash(key.evaluate(&right).0);
        // The right code, honest holders: a match, no proof checked.
        let both = [honest(1, &shares[0], &right, &mut rng), honest(2, &shares[1], &right, &mut rng)];
        assert!(matches(&right, &both, 2, &expected)?);
        // A wrong code, honest holders: a mismatch whose proofs all hold.
        let mut honest_wrong = [honest(1, &shares[0], &wrong, &mut rng), honest(3, &shares[2], &wrong, &mut rng)];
        assert!(!matches(&wrong, &honest_wrong, 2, &expected)?);
        let (_, wrong_element) = oprf::unblinded(&wrong);
        assert!(honest_wrong.iter_mut().all(|c| verify(c, &wrong_element).is_ok()));
        // The right code with a lying holder (another key's evaluation under
        // its registered share): a mismatch, and the liar's proof fails.
        let other = OprfKey::generate(&mut rng).split(2, 3, &mut rng)?;
        let (_, element) = oprf::unblinded(&right);
        let (lie, lie_proof) = other[1].evaluate(&element, &mut rng);
        let mut liar = Candidate { node: 2, share: shares[1].public(), evaluated: lie, proof: Proof::Given(lie_proof) };
        let pair = [honest(1, &shares[0], &right, &mut rng), Candidate { proof: Proof::Omitted, ..liar }];
        assert!(!matches(&right, &pair, 2, &expected)?);
        assert!(matches!(verify(&mut liar, &element), Err(Unproven::Bad(_))), "a lying holder's proof passed");
        // A partial without a proof is never believed for a mismatch.
        let mut proofless = Candidate { proof: Proof::Omitted, ..liar };
        assert!(matches!(verify(&mut proofless, &element), Err(Unproven::Omitted)));
        // No lie makes a wrong code match: the output hash binds the input.
        let forged = [honest(1, &shares[0], &right, &mut rng), honest(2, &shares[1], &right, &mut rng)];
        assert!(!matches(&wrong, &forged, 2, &expected)?);
        Ok(())
    }
}
