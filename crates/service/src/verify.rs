//! The consumer path: verify an item and its code, record the scan through
//! consensus, and answer with the verdict, the journey and a receipt the
//! app can check offline.
//!
//! In order, so that nothing is spent or recorded for a request that could
//! not be one of the item's (ARCHITECTURE.md, "Code secrecy"):
//!
//! 1. an unknown item, a code of the wrong shape, or a missing or wrong
//!    label token is answered at once, from this node's state;
//! 2. a retry of a verification already recorded (same request id) gets
//!    the first answer again: the same verdict, the same scan, its receipt,
//!    and spends nothing (a retry of a wrong code is a new guess);
//! 3. the node compares the code, and submits, for a wrong code, a
//!    `CodeAttempt` (which spends one of the item's guesses) or, for a
//!    matching one, the `ConsumerScan` that records it and spends its own
//!    guess. The ledger decides the budget at apply, so concurrent requests
//!    on any nodes get at most the budget's worth of answers that say
//!    whether a code matched; a refused guess is answered
//!    RESOURCE_EXHAUSTED whatever the code was;
//! 4. a wrong code is answered INVALID_CODE with the guesses left, and is
//!    recorded nowhere but in the count; a matching code is one leaf, whose
//!    verdict is the one the ledger derives at its position and the one
//!    answered.
//!
//! One envelope and one consensus round per verification, as before
//! attempts existed. For a threshold-OPRF item step 3's comparison asks
//! the validators holding shares of the brand's code key
//! ([`crate::code_check`]); a check that cannot gather enough of them is
//! answered UNAVAILABLE and spends nothing on the ledger.

use std::time::{SystemTime, UNIX_EPOCH};

use veritrace_core::code::{CodeSalt, normalize_code, verify_code};
use veritrace_core::gs1::Sgtin;
use veritrace_core::label_token::LabelToken;
use veritrace_core::scan;
use veritrace_core::{Envelope, Hash, Reason};
use veritrace_ledger::state::records::ItemRecord;
use veritrace_proto::timestamp_from_ms;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use tracing::Instrument as _;

use crate::ServiceError;
use crate::service::Service;

/// Times a matched scan is signed again when a concurrent scan changed the
/// verdict the ledger derives for it.
const SCAN_TRIES: usize = 3;

/// A consumer's verification request, validated.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// The item.
    pub item: Sgtin,
    /// The code as typed.
    pub code: String,
    /// Where the consumer is (coordinates are rounded before recording).
    pub place: pb::Place,
    /// Channel ("app", "web", ...).
    pub channel: String,
    /// Pseudonymous device digest (32 bytes or empty).
    pub scanner_digest: Vec<u8>,
    /// The label token presented, if any.
    pub label_token: Option<LabelToken>,
    /// The client's id of this verification (16 to 64 bytes), if it chose
    /// one; else the node picks a random one.
    pub request_id: Option<Vec<u8>>,
}

/// The wall clock in unix milliseconds (0 if it reads before 1970): what
/// a node stamps client times and judges validity and guess budgets by.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn gtin_serial(item: &Sgtin) -> pb::GtinSerial {
    pb::GtinSerial { gtin: item.gtin.as_str().to_owned(), serial: item.serial.as_str().to_owned() }
}

/// `place` with its coordinates rounded as recorded (about 1 km).
fn rounded(place: &pb::Place) -> pb::Place {
    let mut place = place.clone();
    place.latitude = place.latitude.map(scan::round_coordinate);
    place.longitude = place.longitude.map(scan::round_coordinate);
    place
}

/// The consumer scan a leaf records, if it records one.
pub(crate) fn consumer_scan(leaf: &veritrace_core::LeafRecord) -> Option<pb::ConsumerScan> {
    let tx = Envelope::decode(&leaf.envelope).ok()?.transaction().ok()?;
    match tx.action {
        Some(Action::ConsumerScan(scan)) => Some(scan),
        _ => None,
    }
}

fn random_request_id() -> Vec<u8> {
    use rand::Rng as _;
    let mut id = vec![0u8; 16];
    rand::rng().fill_bytes(&mut id);
    id
}

impl Service {
    /// Fills a receipt's inclusion proof and co-signed tree head, relative
    /// to the current tree.
    pub async fn prove_receipt(&self, receipt: &mut pb::Receipt) -> Result<(), ServiceError> {
        let ledger = self.ledger();
        let size = ledger.applied().tree_size;
        let hashes = ledger.inclusion_proof(receipt.leaf_index, size)?;
        receipt.inclusion = Some(pb::InclusionProof {
            leaf_index: receipt.leaf_index,
            tree_size: size,
            hashes: hashes.iter().map(|h| h.as_bytes().to_vec()).collect(),
        });
        receipt.tree_head = Some(self.cosigned_tree_head_at(size).await?);
        Ok(())
    }

    /// The receipt of a recorded consumer scan, by its envelope id, proved
    /// against the current co-signed tree head, with the scan's envelope:
    /// what a buyer downloads to check offline what they were told.
    /// `None` when no envelope has this id or it is not a consumer scan.
    pub async fn scan_receipt(&self, id: &Hash) -> Result<Option<(pb::Receipt, pb::SignedEnvelope)>, ServiceError> {
        let ledger = self.ledger();
        let Some(leaf_index) = ledger.find_envelope(id)? else { return Ok(None) };
        let leaf = ledger.leaf(leaf_index)?;
        if consumer_scan(&leaf).is_none() {
            return Ok(None);
        }
        let envelope = <pb::SignedEnvelope as prost::Message>::decode(leaf.envelope.as_slice())
            .map_err(|e| ServiceError::Answer(format!("leaf {leaf_index}: {e}")))?;
        let mut receipt = pb::Receipt {
            envelope_id: id.as_bytes().to_vec(),
            outcome: pb::Outcome::Applied as i32,
            leaf_index,
            log_index: leaf.log_index,
            commit_time: Some(timestamp_from_ms(leaf.commit_time_ms)),
            shard_id: leaf.shard_id,
            batch_position: leaf.batch_position,
            ..Default::default()
        };
        self.prove_receipt(&mut receipt).await?;
        Ok(Some((receipt, envelope)))
    }

    /// Verifies an item and its code (see the module docs). Fails with
    /// [`ServiceError::LockedOut`] while the item's guess budget is spent,
    /// [`ServiceError::LabelToken`] without the item's label token,
    /// [`ServiceError::InvalidArgument`] for a code that cannot be one of
    /// the product's (wrong length or characters: nothing spent), and
    /// [`ServiceError::NotConfigured`] on a node without a party key.
    pub async fn verify_item(&self, req: VerifyRequest) -> Result<pb::VerifyItemResponse, ServiceError> {
        // The scan's envelope id is recorded on the span once it is signed.
        let span = tracing::info_span!("verify", item = %req.item, scan = tracing::field::Empty);
        let answer = self.verify_item_in_span(req).instrument(span).await;
        // Counted by verdict (veritrace_verifications_total), errors as refused.
        let outcome = match &answer {
            Ok(a) => pb::Verdict::try_from(a.verdict)
                .map(|v| v.as_str_name().trim_start_matches("VERDICT_").to_ascii_lowercase())
                .unwrap_or_default(),
            Err(_) => "refused".to_owned(),
        };
        self.metrics().count_verification(&outcome);
        answer
    }

    async fn verify_item_in_span(&self, req: VerifyRequest) -> Result<pb::VerifyItemResponse, ServiceError> {
        let item = gtin_serial(&req.item);
        // The record alone until the code is compared; the full report is
        // built once, for the answer.
        let Some(record) = self.item_record_for_verify(&req.item).await? else {
            return Ok(pb::VerifyItemResponse {
                verdict: pb::Verdict::UnknownItem as i32,
                item: Some(item),
                ..Default::default()
            });
        };
        let policy = veritrace_ledger::core_policy(record.code_length, &record.code_alphabet).ok_or_else(|| {
            ServiceError::Answer(format!("item has an unsupported code policy ({})", record.code_length))
        })?;
        let code = normalize_code(&policy, &req.code).map_err(|e| ServiceError::invalid("code", e.to_string()))?;
        let token = req.label_token.map(|t| t.as_bytes().to_vec()).unwrap_or_default();
        if let Some((reason, message)) = veritrace_ledger::label_token_refusal(&record, &token) {
            return Err(ServiceError::LabelToken { reason: reason.code(), message });
        }
        // Everything the scan will carry is checked before any code is
        // compared: an input that fails only for a matched code (an
        // oversized place, say) would answer the comparison uncounted.
        let place = rounded(&req.place);
        veritrace_ledger::check_consumer_place(&place).map_err(|e| ServiceError::invalid("place", e))?;
        let request_id = req.request_id.clone().unwrap_or_else(random_request_id);
        if let Some(leaf) = veritrace_ledger::recorded_scan(&record, &request_id) {
            return self.answer_recorded(&req.item, leaf).await;
        }
        let budget = veritrace_ledger::budget(&record, now_ms());
        if budget.left == 0 {
            return Err(ServiceError::LockedOut { until_ms: budget.open_at_ms.unwrap_or_else(now_ms) });
        }
        let matched = if record.code_key.is_empty() {
            let salt =
                CodeSalt::from_slice(&record.salt).map_err(|e| ServiceError::Answer(format!("stored salt: {e}")))?;
            let expected = Hash::from_slice(&record.code_digest)
                .map_err(|e| ServiceError::Answer(format!("stored digest: {e}")))?;
            // Constant time: how long the comparison takes says nothing.
            verify_code(&salt, &req.item.key_bytes(), &policy, &code, &expected)
                .map_err(|e| ServiceError::invalid("code", e.to_string()))?
        } else {
            // No replica can check this code alone (code_check).
            self.threshold_code_matches(&record, &req.item, &code, &token, &request_id).await?
        };
        // Nothing below answers whether the code matched unless the ledger
        // counted the guess.
        if matched {
            return self.record_matched_scan(&req, place, &request_id, token).await;
        }
        self.spend_guess(&req.item, &request_id, token).await?;
        let after = self.ledger().item_report(&req.item, now_ms())?;
        Ok(pb::VerifyItemResponse {
            verdict: pb::Verdict::InvalidCode as i32,
            item: Some(item),
            product: after.product,
            scan_stats: after.scan_stats,
            recalls: after.recalls,
            attempts_left: after.budget.left,
            ..Default::default()
        })
    }

    /// The item's record, read without a consensus round when this replica
    /// has it: a verification is decided by the write it makes, not by the
    /// read before it, so a replica a little behind the leader answers as
    /// the leader would.
    ///
    /// Every fact read here either never changes once the item exists (its
    /// code digest, key, policy and label token), only grows (counted
    /// guesses and recorded scans: a stale record can only show fewer, so
    /// a spent budget it shows is spent), or is checked again at apply
    /// against the ledger's state at the scan's position (the budget, a
    /// request id already recorded, the verdict: a stale preview is refused
    /// as `VERDICT_MISMATCH` and signed again after this replica caught up).
    /// Only "unknown item" would be wrong on a lagging replica, after a
    /// commissioning it has not applied yet, so that answer alone waits for
    /// a read barrier (ReadIndex) and a second look.
    async fn item_record_for_verify(&self, item: &Sgtin) -> Result<Option<ItemRecord>, ServiceError> {
        if let Some(record) = self.ledger().item_record(item)? {
            return Ok(Some(record));
        }
        self.read_barrier().await?;
        Ok(self.ledger().item_record(item)?)
    }

    /// Spends one of the item's guesses with a `CodeAttempt` (a wrong
    /// code): `Ok` once the ledger counted it and this node applied it,
    /// else the error to answer ([`Service::refused`]).
    async fn spend_guess(&self, item: &Sgtin, request_id: &[u8], label_token: Vec<u8>) -> Result<(), ServiceError> {
        let attempt = self.sign(Action::CodeAttempt(pb::CodeAttempt {
            item: Some(gtin_serial(item)),
            request_id: request_id.to_vec(),
            label_token,
        }))?;
        let receipt = self.submit_one(attempt).await?;
        self.wait_for_applied(receipt.log_index).await?;
        if receipt.outcome == pb::Outcome::Counted as i32 {
            return Ok(());
        }
        Err(self.refused(item, receipt))
    }

    /// The answer to a refused attempt: [`ServiceError::LockedOut`] when the
    /// item's guesses are spent, else the refusal itself.
    fn refused(&self, item: &Sgtin, receipt: pb::Receipt) -> ServiceError {
        if receipt.reason != Reason::CodeAttemptsExhausted.code() {
            return ServiceError::ScanRefused { reason: receipt.reason, message: receipt.message };
        }
        match self.ledger().item_report(item, now_ms()) {
            Ok(report) => ServiceError::LockedOut { until_ms: report.budget.open_at_ms.unwrap_or_else(now_ms) },
            Err(e) => e.into(),
        }
    }

    /// Records a matched code: one consumer scan that spends its own guess
    /// (one envelope, one consensus round; refused with its guess when the
    /// budget is spent, so the comparison is never answered uncounted),
    /// signed with the verdict and signals the ledger will derive for it.
    /// Answers with that verdict.
    async fn record_matched_scan(
        &self,
        req: &VerifyRequest,
        place: pb::Place,
        id: &[u8],
        label_token: Vec<u8>,
    ) -> Result<pb::VerifyItemResponse, ServiceError> {
        let mut refusal = None;
        for _ in 0..SCAN_TRIES {
            let ledger = self.ledger();
            let now = now_ms();
            let Some((verdict, signals)) = ledger.preview_matched_scan(&req.item, &place, &req.scanner_digest, now)?
            else {
                return Err(ServiceError::Answer("the item disappeared".into()));
            };
            let scan = pb::ConsumerScan {
                item: Some(gtin_serial(&req.item)),
                code_check: pb::CodeCheck::Matched as i32,
                verdict: verdict as i32,
                place: Some(place.clone()),
                channel: req.channel.clone(),
                scan_time: Some(timestamp_from_ms(now)),
                scanner_digest: req.scanner_digest.clone(),
                clone_signals: signals,
                request_id: id.to_vec(),
                label_token: label_token.clone(),
            };
            let envelope = self.sign(Action::ConsumerScan(scan))?;
            tracing::Span::current().record("scan", crate::service::envelope_id(envelope.bytes()));
            let mut receipt = self.submit_one(envelope.clone()).await?;
            if receipt.outcome == pb::Outcome::Applied as i32 || receipt.outcome == pb::Outcome::Duplicate as i32 {
                self.wait_for_leaf(receipt.leaf_index).await?;
                self.prove_receipt(&mut receipt).await?;
                return self.answer(&req.item, verdict, receipt, envelope.to_proto());
            }
            self.wait_for_applied(receipt.log_index).await?;
            if receipt.reason == Reason::ScanAlreadyRecorded.code() {
                // A concurrent retry of the same request recorded it first.
                let record = self.ledger().item_record(&req.item)?;
                if let Some(leaf) = record.and_then(|r| veritrace_ledger::recorded_scan(&r, id)) {
                    return self.answer_recorded(&req.item, leaf).await;
                }
            }
            if receipt.reason != Reason::VerdictMismatch.code() {
                return Err(self.refused(&req.item, receipt));
            }
            refusal = Some(receipt);
        }
        // Concurrent scans kept moving the verdict. The code matched, and
        // the answer says so; spend the guess first, so that no comparison
        // is ever answered uncounted.
        self.spend_guess(&req.item, id, label_token).await?;
        let r = refusal.unwrap_or_default();
        Err(ServiceError::ScanRefused { reason: r.reason, message: format!("{} ({SCAN_TRIES} tries)", r.message) })
    }

    /// The answer of a verification whose scan is leaf `leaf`: the verdict
    /// it recorded, its receipt, and the item as it stands now.
    async fn answer_recorded(&self, item: &Sgtin, leaf: u64) -> Result<pb::VerifyItemResponse, ServiceError> {
        self.wait_for_leaf(leaf).await?;
        let record = self.ledger().leaf(leaf)?;
        let envelope = Envelope::decode(&record.envelope).map_err(|e| ServiceError::Answer(e.to_string()))?;
        let tx = envelope.transaction().map_err(|e| ServiceError::Answer(e.to_string()))?;
        let Some(Action::ConsumerScan(scan)) = tx.action else {
            return Err(ServiceError::Answer(format!("leaf {leaf} is not a consumer scan")));
        };
        let verdict = pb::Verdict::try_from(scan.verdict).unwrap_or(pb::Verdict::Unspecified);
        let mut receipt = veritrace_core::receipt::receipt_of_leaf(&record, pb::Outcome::Duplicate);
        self.prove_receipt(&mut receipt).await?;
        self.answer(item, verdict, receipt, envelope.to_proto())
    }

    /// The response for a recorded matched scan with `verdict`.
    fn answer(
        &self,
        item: &Sgtin,
        verdict: pb::Verdict,
        receipt: pb::Receipt,
        scan_envelope: pb::SignedEnvelope,
    ) -> Result<pb::VerifyItemResponse, ServiceError> {
        let now = now_ms();
        let ledger = self.ledger();
        let after = ledger.item_report(item, now)?;
        Ok(pb::VerifyItemResponse {
            verdict: verdict as i32,
            item: Some(gtin_serial(item)),
            product: after.product,
            scan_stats: after.scan_stats,
            clone_signals: after.clone_signals,
            journey: ledger.journey(item, now)?,
            certificates: after.certificates,
            recalls: after.recalls,
            receipt: Some(receipt),
            scan_envelope: Some(scan_envelope),
            attempts_left: after.budget.left,
            withdrawal_reason: if verdict == pb::Verdict::Withdrawn { after.decommission_reason } else { 0 },
        })
    }

    /// Submits one envelope and returns its receipt.
    pub(crate) async fn submit_one(&self, envelope: Envelope) -> Result<pb::Receipt, ServiceError> {
        self.submit(vec![envelope.bytes().to_vec()])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::Answer("no receipt for the submitted envelope".into()))
    }

    /// Signs `action` with this node's party key.
    pub(crate) fn sign(&self, action: Action) -> Result<Envelope, ServiceError> {
        let (Some(party_id), Some(key)) = (&self.inner.config.party_id, &self.inner.config.party_signer) else {
            return Err(ServiceError::NotConfigured(
                "this node has no party_id / party_key_file to sign consumer scans with".into(),
            ));
        };
        let now = now_ms();
        // Random: a counter would tell an observer of the public scans how
        // many envelopes (attempts, scans) this node signed in between.
        let tx = pb::Transaction {
            party_id: party_id.clone(),
            nonce: rand::random::<u64>(),
            client_time: Some(timestamp_from_ms(now)),
            network_id: self.inner.config.network_id.clone(),
            action: Some(action),
            ..Default::default()
        };
        Ok(Envelope::sign_transaction(&tx, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_random_and_of_the_ledger_length() {
        let (a, b) = (random_request_id(), random_request_id());
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
    }
}
