//! Offline checks of what a node returns: receipts of submitted envelopes and of recorded scans.
//!
//! Nothing here talks to a node. Keep the envelope bytes and the receipt (with its proof and
//! tree head) and these functions re-check them at any time, trusting no node beyond the tree
//! head signers you choose.

use veritrace_core::receipt::{ReceiptError, VerifiedReceipt, verify_receipt};
use veritrace_core::{Envelope, Hash, PublicKey, SignedTreeHead};
use veritrace_proto::v1 as pb;

use crate::SdkError;

/// An envelope in the ledger, with the receipt that proves it, checked offline.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    /// The receipt as the node sent it (outcome APPLIED or DUPLICATE, with inclusion proof and
    /// signed tree head).
    pub receipt: pb::Receipt,
    /// What the offline check established: the envelope, the rebuilt Merkle leaf and the signed
    /// tree head it is proven under.
    pub checked: VerifiedReceipt,
}

impl Submitted {
    /// Checks `receipt` for `envelope` (see [`check_receipt`]); a REJECTED receipt is
    /// [`SdkError::Rejected`].
    pub fn from_receipt(
        envelope: &Envelope,
        receipt: pb::Receipt,
        trusted_signers: &[PublicKey],
    ) -> Result<Self, SdkError> {
        let checked = check_receipt(&receipt, envelope, trusted_signers)?;
        Ok(Self { receipt, checked })
    }

    /// The envelope's id: blake3 of its canonical bytes.
    pub fn envelope_id(&self) -> Hash {
        self.checked.envelope.id()
    }

    /// The envelope as stored in the ledger.
    pub fn envelope(&self) -> &Envelope {
        &self.checked.envelope
    }

    /// Whether the envelope was already in the ledger before this submission (outcome
    /// DUPLICATE): the receipt is then the one of the first submission, with its leaf index,
    /// log index and commit time.
    pub fn is_duplicate(&self) -> bool {
        self.receipt.outcome == pb::Outcome::Duplicate as i32
    }

    /// Zero-based index of the Merkle leaf holding the envelope.
    pub fn leaf_index(&self) -> u64 {
        self.checked.leaf.leaf_index
    }

    /// Commit time of the batch that committed the envelope, unix milliseconds (leader's clock).
    pub fn commit_time_ms(&self) -> i64 {
        self.checked.leaf.commit_time_ms
    }

    /// The signed tree head the envelope is proven under.
    pub fn tree_head(&self) -> &SignedTreeHead {
        &self.checked.tree_head
    }
}

/// Checks a receipt against the envelope it should be for, offline:
///
/// * outcome REJECTED is [`SdkError::Rejected`] with the node's reason;
/// * otherwise (APPLIED or DUPLICATE) [`verify_receipt`] checks the envelope's signature and id,
///   rebuilds the Merkle leaf from the receipt's commit metadata, checks the inclusion proof up
///   to the tree head's root and the tree head's signature; any failure, including a receipt
///   without proof or tree head, is [`SdkError::ReceiptCheck`];
/// * when `trusted_signers` is not empty, a tree head signed by another key is
///   [`SdkError::UntrustedSigner`]. With an empty list any correctly signed head is accepted:
///   the proof then shows the node committed to the envelope, not that a validator you know did.
pub fn check_receipt(
    receipt: &pb::Receipt,
    envelope: &Envelope,
    trusted_signers: &[PublicKey],
) -> Result<VerifiedReceipt, SdkError> {
    let envelope_id = envelope.id();
    if receipt.outcome == pb::Outcome::Rejected as i32 {
        return Err(SdkError::Rejected {
            envelope_id,
            reason: receipt.reason.clone(),
            message: receipt.message.clone(),
        });
    }
    let checked = verify_receipt(receipt, envelope.bytes())
        .map_err(|source| SdkError::ReceiptCheck { envelope_id: Some(envelope_id), source })?;
    if !trusted_signers.is_empty() && !trusted_signers.contains(&checked.tree_head.signer) {
        return Err(SdkError::UntrustedSigner { envelope_id, signer: checked.tree_head.signer.to_bytes() });
    }
    Ok(checked)
}

/// Checks that the scan the node recorded states the verdict it answered.
fn check_recorded_verdict(envelope: &Envelope, answered: i32) -> Result<(), SdkError> {
    let name = |v: i32| pb::Verdict::try_from(v).map_or_else(|_| v.to_string(), |v| v.as_str_name().to_owned());
    let recorded = match envelope.transaction().map(|tx| tx.action) {
        Ok(Some(pb::transaction::Action::ConsumerScan(scan))) => scan.verdict,
        _ => -1,
    };
    if recorded == answered {
        return Ok(());
    }
    Err(SdkError::VerdictNotRecorded { envelope_id: envelope.id(), answered: name(answered), recorded: name(recorded) })
}

/// The answer of VerificationService.VerifyItem, with the receipt of the recorded consumer scan
/// checked offline.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedItem {
    /// The node's answer as sent: verdict, product, scan statistics, clone signals, journey,
    /// certificates, recalls, receipt and scan envelope.
    pub response: pb::VerifyItemResponse,
    /// The checked receipt of the scan the node recorded; `None` when nothing was recorded
    /// (verdict UNKNOWN_ITEM: the response then carries no receipt).
    pub scan: Option<VerifiedReceipt>,
}

impl VerifiedItem {
    /// Checks the scan receipt of `response` (see [`check_receipt`]) and that the recorded scan
    /// states the verdict answered ([`SdkError::VerdictNotRecorded`]). A response with a receipt
    /// but no scan envelope, or the reverse, fails with [`SdkError::ReceiptCheck`].
    pub fn from_response(response: pb::VerifyItemResponse, trusted_signers: &[PublicKey]) -> Result<Self, SdkError> {
        let receipt_id = |r: &pb::Receipt| Hash::from_slice(&r.envelope_id).ok();
        let scan = match (&response.receipt, &response.scan_envelope) {
            (None, None) => None,
            (Some(receipt), Some(envelope)) => {
                let envelope = Envelope::from_proto(envelope.clone())
                    .map_err(|e| SdkError::ReceiptCheck { envelope_id: receipt_id(receipt), source: e.into() })?;
                let checked = check_receipt(receipt, &envelope, trusted_signers)?;
                check_recorded_verdict(&envelope, response.verdict)?;
                Some(checked)
            }
            (Some(receipt), None) => {
                return Err(SdkError::ReceiptCheck {
                    envelope_id: receipt_id(receipt),
                    source: ReceiptError::Missing { missing: "scan envelope" },
                });
            }
            (None, Some(envelope)) => {
                return Err(SdkError::ReceiptCheck {
                    envelope_id: Envelope::from_proto(envelope.clone()).ok().map(|e| e.id()),
                    source: ReceiptError::Missing { missing: "scan receipt" },
                });
            }
        };
        Ok(Self { response, scan })
    }

    /// Checks that the recorded scan answers `request`: its request id (when the request set
    /// one) and its item. An answer copied from another verification of the item, or of another
    /// item, fails with [`SdkError::AnswerNotForRequest`].
    pub fn check_request(&self, request: &pb::VerifyItemRequest) -> Result<(), SdkError> {
        let Some(envelope) = &self.response.scan_envelope else { return Ok(()) };
        let not_for = |detail: String| SdkError::AnswerNotForRequest { detail };
        let scan = Envelope::from_proto(envelope.clone())
            .ok()
            .and_then(|e| e.transaction().ok())
            .and_then(|tx| match tx.action {
                Some(pb::transaction::Action::ConsumerScan(scan)) => Some(scan),
                _ => None,
            })
            .ok_or_else(|| not_for("the scan envelope is not a consumer scan".into()))?;
        if !request.request_id.is_empty() && scan.request_id != request.request_id.as_bytes() {
            return Err(not_for(format!(
                "the recorded scan is of request {:?}, not {:?}",
                String::from_utf8_lossy(&scan.request_id),
                request.request_id
            )));
        }
        if scan.item != self.response.item {
            return Err(not_for("the recorded scan is of another item than the answer".into()));
        }
        Ok(())
    }

    /// The verdict (UNSPECIFIED if the node sent a value this SDK does not know).
    pub fn verdict(&self) -> pb::Verdict {
        pb::Verdict::try_from(self.response.verdict).unwrap_or(pb::Verdict::Unspecified)
    }
}
