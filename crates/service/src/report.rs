//! Consumer reports of a suspected fake: a buyer who checked an item and
//! doubts it files a report, and the node records it as a `Complaint`
//! signed by its own party (the policy lets validator operators file
//! complaints for consumers).
//!
//! Threat model: the report comes from an anonymous caller on the public
//! port. A report marks the item REPORTED_COUNTERFEIT, a clone signal every
//! later buyer sees, so a stranger who knows only a GTIN and serial must not
//! be able to file one against a genuine item. A report therefore names
//! the `ConsumerScan` its reporter made (the envelope id the verification
//! answered, which only that caller was told): the scan must be on the
//! ledger, be of the same item, show a code that matched (the reporter held
//! the item's code) and be at most [`REPORT_WINDOW_MS`] old. One report per
//! scan and node: the complaint id is derived from the scan's id, so a
//! repeated report is refused by the ledger as a duplicate. The text goes
//! to a replicated, append-only ledger: the page asks for no personal data,
//! and consumers never see complaint text.

use veritrace_core::Hash;
use veritrace_core::gs1::Sgtin;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use crate::ServiceError;
use crate::service::Service;
use crate::verify::now_ms;

/// How long after a scan its reporter may still report the item (30 days).
pub const REPORT_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// Longest report text, in bytes.
pub const MAX_REPORT_TEXT: usize = 1000;

/// A consumer's report of a suspected fake.
#[derive(Debug, Clone)]
pub struct ConsumerReport {
    /// The item.
    pub item: Sgtin,
    /// Id of the ConsumerScan envelope the reporter's verification recorded.
    pub scan_envelope_id: Hash,
    /// What the reporter suspects.
    pub category: pb::ComplaintCategory,
    /// Free text, without personal data, at most [`MAX_REPORT_TEXT`] bytes.
    pub text: String,
    /// BCP 47 language of `text`.
    pub language: String,
    /// Where the item was bought, as reported (shop or online store).
    pub seller: String,
}

impl Service {
    /// Records `report` as a complaint signed by this node's party, after
    /// checking that its scan proves the reporter held the item's code.
    /// Errors: `InvalidArgument` (field `scan`) when the scan is unknown,
    /// of another item, without a matched code or too old;
    /// `NotConfigured` on a node without a party key; a refused complaint
    /// (e.g. ALREADY_EXISTS for a second report of the same scan) as
    /// `ScanRefused` with the ledger's reason.
    pub async fn report_suspected_fake(&self, report: ConsumerReport) -> Result<pb::Receipt, ServiceError> {
        let bad = |reason: &str| ServiceError::InvalidArgument { field: "scan".into(), reason: reason.into() };
        if report.text.len() > MAX_REPORT_TEXT || report.seller.len() > 500 {
            return Err(ServiceError::InvalidArgument {
                field: "text".into(),
                reason: format!("the text is at most {MAX_REPORT_TEXT} bytes and the seller at most 500"),
            });
        }
        self.read_barrier().await?;
        let ledger = self.ledger();
        let Some(leaf_index) = ledger.find_envelope(&report.scan_envelope_id)? else {
            return Err(bad("no scan with this id is on the ledger"));
        };
        let leaf = ledger.leaf(leaf_index)?;
        let Some(scan) = crate::verify::consumer_scan(&leaf) else {
            return Err(bad("the id is not of a consumer scan"));
        };
        let same_item = scan
            .item
            .as_ref()
            .is_some_and(|i| i.gtin == report.item.gtin.as_str() && i.serial == report.item.serial.as_str());
        if !same_item {
            return Err(bad("the scan is of another item"));
        }
        if scan.code_check != pb::CodeCheck::Matched as i32 {
            return Err(bad("the scan did not show the item's code"));
        }
        if now_ms().saturating_sub(leaf.commit_time_ms) > REPORT_WINDOW_MS {
            return Err(bad("the scan is more than 30 days old"));
        }
        let complaint = pb::Complaint {
            complaint_id: format!("scan-{}", &report.scan_envelope_id.to_hex()[..32]),
            subject: Some(pb::complaint::Subject::Item(pb::GtinSerial {
                gtin: report.item.gtin.as_str().into(),
                serial: report.item.serial.as_str().into(),
            })),
            category: report.category as i32,
            text: report.text,
            language: report.language,
            place: scan.place,
            seller: report.seller,
            evidence_digests: Vec::new(),
            reporter_digest: scan.scanner_digest,
        };
        let receipt = self.submit_one(self.sign(Action::Complaint(complaint))?).await?;
        if receipt.outcome == pb::Outcome::Rejected as i32 {
            return Err(ServiceError::ScanRefused { reason: receipt.reason, message: receipt.message });
        }
        Ok(receipt)
    }
}
