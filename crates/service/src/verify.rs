//! The consumer path: verify an item and its code, record the scan through
//! consensus, and answer with the verdict, the journey and a receipt the
//! app can check offline.
//!
//! Wrong codes are recorded too, so the lock-out (five wrong codes per
//! serial per 15 minutes, `veritrace_core::scan`) is derived from the
//! ledger: global across nodes, and not resettable by any one of them.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use veritrace_core::code::{CodeSalt, verify_code};
use veritrace_core::gs1::Sgtin;
use veritrace_core::scan::{self, VerdictInputs};
use veritrace_core::{Envelope, Hash};
use veritrace_proto::timestamp_from_ms;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use tracing::Instrument as _;

use crate::ServiceError;
use crate::service::Service;

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
}

/// The wall clock in unix milliseconds (0 if it reads before 1970): what
/// a node stamps client times and judges validity and lock-outs by.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn gtin_serial(item: &Sgtin) -> pb::GtinSerial {
    pb::GtinSerial { gtin: item.gtin.as_str().to_owned(), serial: item.serial.as_str().to_owned() }
}

impl Service {
    /// Fills a receipt's inclusion proof and signed tree head, relative to
    /// the current tree.
    pub fn prove_receipt(&self, receipt: &mut pb::Receipt) -> Result<(), ServiceError> {
        let ledger = self.ledger();
        let size = ledger.applied().tree_size;
        let hashes = ledger.inclusion_proof(receipt.leaf_index, size)?;
        receipt.inclusion = Some(pb::InclusionProof {
            leaf_index: receipt.leaf_index,
            tree_size: size,
            hashes: hashes.iter().map(|h| h.as_bytes().to_vec()).collect(),
        });
        receipt.tree_head = Some(self.signed_tree_head_at(size)?);
        Ok(())
    }

    /// Verifies an item and its code and records the scan (see the module
    /// docs). Fails with [`ServiceError::LockedOut`] while wrong codes lock the
    /// serial, [`ServiceError::InvalidArgument`] for a code that cannot be one
    /// of the product's (wrong length or characters: not recorded), and
    /// [`ServiceError::NotConfigured`] on a node without a party key.
    pub async fn verify_item(&self, req: VerifyRequest) -> Result<pb::VerifyItemResponse, ServiceError> {
        // The scan's envelope id is recorded on the span once it is signed.
        let span = tracing::info_span!("verify", item = %req.item, scan = tracing::field::Empty);
        self.verify_item_in_span(req).instrument(span).await
    }

    async fn verify_item_in_span(&self, req: VerifyRequest) -> Result<pb::VerifyItemResponse, ServiceError> {
        self.read_barrier().await?;
        let now = now_ms();
        let ledger = self.ledger();
        let report = ledger.item_report(&req.item, now)?;
        let item = gtin_serial(&req.item);
        let Some(record) = report.record.clone() else {
            return Ok(pb::VerifyItemResponse {
                verdict: pb::Verdict::UnknownItem as i32,
                item: Some(item),
                ..Default::default()
            });
        };
        if let Some(until_ms) = report.locked_until_ms {
            return Err(ServiceError::LockedOut { until_ms });
        }
        let policy = veritrace_ledger::core_policy(record.code_length, &record.code_alphabet).ok_or_else(|| {
            ServiceError::Answer(format!("item has an unsupported code policy ({})", record.code_length))
        })?;
        let salt = CodeSalt::from_slice(&record.salt).map_err(|e| ServiceError::Answer(format!("stored salt: {e}")))?;
        let digest =
            Hash::from_slice(&record.code_digest).map_err(|e| ServiceError::Answer(format!("stored digest: {e}")))?;
        let sgtin_key = req.item.key_bytes();
        let matched = verify_code(&salt, &sgtin_key, &policy, &req.code, &digest)
            .map_err(|e| ServiceError::invalid("code", e.to_string()))?;

        let mut provisional = self.verdict_inputs(&report, matched);
        provisional.scan_count += 1;
        let shown = scan::verdict(&provisional);
        let envelope = self.sign_scan(&req, item.clone(), matched, shown, &report.clone_signals)?;
        tracing::Span::current().record("scan", crate::service::envelope_id(envelope.bytes()));
        let mut receipt = self
            .submit(vec![envelope.bytes().to_vec()])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::Answer("no receipt for the recorded scan".into()))?;
        if receipt.outcome == pb::Outcome::Rejected as i32 {
            return Err(ServiceError::ScanRefused { reason: receipt.reason.clone(), message: receipt.message.clone() });
        }
        // The scan's leaf is committed; once it is applied here, so is
        // everything before it (no second ReadIndex round).
        self.wait_for_leaf(receipt.leaf_index).await?;
        let ledger = self.ledger();
        let after = ledger.item_report(&req.item, now)?;
        let verdict = scan::verdict(&self.verdict_inputs(&after, matched));
        self.prove_receipt(&mut receipt)?;
        let journey = if matched { ledger.journey(&req.item, now)? } else { Vec::new() };
        Ok(pb::VerifyItemResponse {
            verdict: verdict as i32,
            item: Some(item),
            product: after.product,
            scan_stats: after.scan_stats,
            clone_signals: if matched { after.clone_signals } else { Vec::new() },
            journey,
            certificates: if matched { after.certificates } else { Vec::new() },
            recalls: after.recalls,
            receipt: Some(receipt),
            scan_envelope: Some(envelope.to_proto()),
        })
    }

    fn verdict_inputs(&self, r: &veritrace_ledger::ItemReport, matched: bool) -> VerdictInputs {
        VerdictInputs {
            known: r.record.is_some(),
            code_matched: matched,
            withdrawn: r.decommission_reason != 0,
            recalled: !r.recalls.is_empty(),
            clone_signals: r.clone_signals.clone(),
            scan_count: r.scan_stats.as_ref().map_or(0, |s| s.count),
        }
    }

    fn sign_scan(
        &self,
        req: &VerifyRequest,
        item: pb::GtinSerial,
        matched: bool,
        shown: pb::Verdict,
        signals: &[String],
    ) -> Result<Envelope, ServiceError> {
        let (Some(party_id), Some(key)) = (&self.inner.config.party_id, &self.inner.config.party_signer) else {
            return Err(ServiceError::NotConfigured(
                "this node has no party_id / party_key_file to sign consumer scans with".into(),
            ));
        };
        let mut place = req.place.clone();
        place.latitude = place.latitude.map(scan::round_coordinate);
        place.longitude = place.longitude.map(scan::round_coordinate);
        let now = now_ms();
        let counter = self.inner.scan_nonce.fetch_add(1, Ordering::Relaxed);
        let tx = pb::Transaction {
            party_id: party_id.clone(),
            nonce: (now as u64).wrapping_mul(1_000_000).wrapping_add(counter % 1_000_000),
            client_time: Some(timestamp_from_ms(now)),
            network_id: self.inner.config.network_id.clone(),
            action: Some(Action::ConsumerScan(pb::ConsumerScan {
                item: Some(item),
                code_check: if matched { pb::CodeCheck::Matched } else { pb::CodeCheck::Mismatched } as i32,
                verdict: shown as i32,
                place: Some(place),
                channel: req.channel.clone(),
                scan_time: Some(timestamp_from_ms(now)),
                scanner_digest: req.scanner_digest.clone(),
                clone_signals: signals.iter().take(8).cloned().collect(),
            })),
        };
        Ok(Envelope::sign_transaction(&tx, key))
    }
}
