//! The flags of each `veritrace market` action and the action they build.
//! Field checks are the ledger's (its refusal names the field); here only
//! what a flag's text must be to be read at all.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use crate::market_cmd::{evidence_digests, money_arg, time_arg};

/// Builds the action of a command's flags.
pub trait ActionArgs {
    /// The action, or the flag that cannot be read.
    fn action(&self) -> anyhow::Result<Action>;
}

fn opt_time(field: &str, t: &Option<String>) -> anyhow::Result<Option<prost_types::Timestamp>> {
    t.as_deref().map(|t| time_arg(field, t)).transpose()
}

fn opt_money(field: &str, m: &Option<String>) -> anyhow::Result<Option<pb::Money>> {
    m.as_deref().map(|m| money_arg(field, m)).transpose()
}

/// `market licence`.
#[derive(Debug, Args)]
pub struct LicenceArgs {
    /// Id of this statement, unique among the signer's licences.
    #[arg(long)]
    id: String,
    /// The licensed party.
    #[arg(long)]
    subject: String,
    /// Registration number as printed.
    #[arg(long)]
    number: String,
    /// Registered capital, "AMOUNT CURRENCY" (e.g. "5000000 CNY").
    #[arg(long)]
    capital: Option<String>,
    /// Business scope as registered.
    #[arg(long, default_value = "")]
    scope: String,
    /// Start of validity (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    valid_from: String,
    /// End of validity; omitted for a licence without a term.
    #[arg(long)]
    valid_until: Option<String>,
    /// The licence document, whose blake3 digest is recorded.
    #[arg(long)]
    document: Option<PathBuf>,
}

impl ActionArgs for LicenceArgs {
    fn action(&self) -> anyhow::Result<Action> {
        let document = evidence_digests(self.document.as_slice())?.pop().unwrap_or_default();
        Ok(Action::BusinessLicence(pb::BusinessLicence {
            licence_id: self.id.clone(),
            subject_party_id: self.subject.clone(),
            licence_number: self.number.clone(),
            registered_capital: opt_money("capital", &self.capital)?,
            business_scope: self.scope.clone(),
            valid_from: Some(time_arg("valid-from", &self.valid_from)?),
            valid_until: opt_time("valid-until", &self.valid_until)?,
            document_digest: document,
        }))
    }
}

/// `market audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Id of this audit, unique among the signer's audits.
    #[arg(long)]
    id: String,
    /// The audited party.
    #[arg(long)]
    subject: String,
    /// Address of the site, without personal data.
    #[arg(long)]
    site_address: String,
    /// Country of the site (ISO 3166-1 alpha-2).
    #[arg(long, default_value = "")]
    site_country: String,
    /// City of the site.
    #[arg(long, default_value = "")]
    site_city: String,
    /// Claimed figures: STAFF,FLOOR_M2,LINES (e.g. 500,20000,8).
    #[arg(long)]
    claimed: Option<String>,
    /// Figures the auditor found: STAFF,FLOOR_M2,LINES.
    #[arg(long)]
    attested: String,
    /// The audit failed (default: passed).
    #[arg(long)]
    failed: bool,
    /// When the audit took place.
    #[arg(long)]
    audited_at: String,
    /// End of validity of the result.
    #[arg(long)]
    valid_until: Option<String>,
    /// The audit report, whose blake3 digest is recorded.
    #[arg(long)]
    report: Option<PathBuf>,
}

fn figures(field: &str, text: &str) -> anyhow::Result<pb::SiteFigures> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let bad = || anyhow::anyhow!("--{field}: {text:?} is not STAFF,FLOOR_M2,LINES (three whole numbers)");
    let [staff, floor, lines] = parts.as_slice() else { return Err(bad()) };
    let n = |s: &str| s.parse::<u32>().map_err(|_| bad());
    Ok(pb::SiteFigures { staff_count: n(staff)?, floor_area_m2: n(floor)?, production_lines: n(lines)? })
}

impl ActionArgs for AuditArgs {
    fn action(&self) -> anyhow::Result<Action> {
        let site = (!self.site_country.is_empty() || !self.site_city.is_empty()).then(|| pb::Place {
            country: self.site_country.clone(),
            city: self.site_city.clone(),
            ..Default::default()
        });
        Ok(Action::FactoryAudit(pb::FactoryAudit {
            audit_id: self.id.clone(),
            subject_party_id: self.subject.clone(),
            site,
            site_address: self.site_address.clone(),
            claimed: self.claimed.as_deref().map(|c| figures("claimed", c)).transpose()?,
            attested: Some(figures("attested", &self.attested)?),
            passed: !self.failed,
            audited_at: Some(time_arg("audited-at", &self.audited_at)?),
            valid_until: opt_time("valid-until", &self.valid_until)?,
            report_digest: evidence_digests(self.report.as_slice())?.pop().unwrap_or_default(),
        }))
    }
}

/// `market bond`.
#[derive(Debug, Args)]
pub struct BondArgs {
    /// Id of this bond, unique among the signer's bonds.
    #[arg(long)]
    id: String,
    /// The supplier.
    #[arg(long)]
    subject: String,
    /// Amount held, "AMOUNT CURRENCY".
    #[arg(long)]
    amount: String,
    /// Start of cover.
    #[arg(long)]
    valid_from: String,
    /// End of cover.
    #[arg(long)]
    valid_until: Option<String>,
}

impl ActionArgs for BondArgs {
    fn action(&self) -> anyhow::Result<Action> {
        Ok(Action::DeliveryBond(pb::DeliveryBond {
            bond_id: self.id.clone(),
            subject_party_id: self.subject.clone(),
            amount: Some(money_arg("amount", &self.amount)?),
            valid_from: Some(time_arg("valid-from", &self.valid_from)?),
            valid_until: opt_time("valid-until", &self.valid_until)?,
        }))
    }
}

/// Kinds of IP right.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RightKind {
    /// A registered trademark.
    Trademark,
    /// A patent.
    Patent,
    /// A copyright.
    Copyright,
}

/// `market register-right`.
#[derive(Debug, Args)]
pub struct RightArgs {
    /// Id of the right, unique among the signer's rights.
    #[arg(long)]
    id: String,
    /// Kind of right.
    #[arg(long, value_enum)]
    kind: RightKind,
    /// Registration number as printed.
    #[arg(long)]
    number: String,
    /// Jurisdiction (ISO 3166-1 alpha-2, or EM for the EU, WO for WIPO).
    #[arg(long)]
    jurisdiction: String,
    /// Start of validity.
    #[arg(long)]
    valid_from: String,
    /// End of validity.
    #[arg(long)]
    valid_until: Option<String>,
    /// Products (GTIN-14) it covers.
    #[arg(long = "gtin")]
    gtins: Vec<String>,
    /// Evidence files (registration certificate ...); at least one. Only
    /// their blake3 digests are recorded.
    #[arg(long = "evidence", required = true)]
    evidence: Vec<PathBuf>,
}

impl ActionArgs for RightArgs {
    fn action(&self) -> anyhow::Result<Action> {
        let kind = match self.kind {
            RightKind::Trademark => pb::IpRightKind::Trademark,
            RightKind::Patent => pb::IpRightKind::Patent,
            RightKind::Copyright => pb::IpRightKind::Copyright,
        };
        Ok(Action::RegisterIpRight(pb::RegisterIpRight {
            right_id: self.id.clone(),
            kind: kind as i32,
            number: self.number.clone(),
            jurisdiction: self.jurisdiction.clone(),
            valid_from: Some(time_arg("valid-from", &self.valid_from)?),
            valid_until: opt_time("valid-until", &self.valid_until)?,
            gtins: self.gtins.clone(),
            evidence_digests: evidence_digests(&self.evidence)?,
        }))
    }
}

/// `market attest-right`.
#[derive(Debug, Args)]
pub struct AttestRightArgs {
    /// The right's holder.
    holder: String,
    /// The holder's right id.
    right_id: String,
    /// What the authority checked.
    #[arg(long, default_value = "")]
    note: String,
}

impl ActionArgs for AttestRightArgs {
    fn action(&self) -> anyhow::Result<Action> {
        Ok(Action::AttestIpRight(pb::AttestIpRight {
            holder_party_id: self.holder.clone(),
            right_id: self.right_id.clone(),
            note: self.note.clone(),
        }))
    }
}

/// "GTIN/SERIAL".
fn item_arg(text: &str) -> anyhow::Result<pb::GtinSerial> {
    let (gtin, serial) = text
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("--item: {text:?} is not GTIN/SERIAL (e.g. 07123450000011/F1)"))?;
    Ok(pb::GtinSerial { gtin: gtin.into(), serial: serial.into() })
}

/// `market file-ip`.
#[derive(Debug, Args)]
pub struct FileIpArgs {
    /// Id of the complaint, unique among the signer's IP complaints.
    #[arg(long)]
    id: String,
    /// The signer's right it is filed under.
    #[arg(long)]
    right: String,
    /// The accused party.
    #[arg(long)]
    accused: String,
    /// Products of the accused (GTIN-14).
    #[arg(long = "gtin")]
    gtins: Vec<String>,
    /// Listings, "PLATFORM_PARTY:LISTING_ID".
    #[arg(long = "listing")]
    listings: Vec<String>,
    /// Items of the accused, "GTIN/SERIAL"; an upholding decision withdraws them.
    #[arg(long = "item")]
    items: Vec<String>,
    /// What infringes and how, without personal data.
    #[arg(long)]
    text: String,
    /// Evidence files; at least one. Only their digests are recorded.
    #[arg(long = "evidence", required = true)]
    evidence: Vec<PathBuf>,
}

impl ActionArgs for FileIpArgs {
    fn action(&self) -> anyhow::Result<Action> {
        Ok(Action::FileIpComplaint(pb::FileIpComplaint {
            complaint_id: self.id.clone(),
            right_id: self.right.clone(),
            accused_party_id: self.accused.clone(),
            gtins: self.gtins.clone(),
            listings: self.listings.clone(),
            items: self.items.iter().map(|i| item_arg(i)).collect::<anyhow::Result<_>>()?,
            text: self.text.clone(),
            evidence_digests: evidence_digests(&self.evidence)?,
        }))
    }
}

/// `market answer-ip`.
#[derive(Debug, Args)]
pub struct AnswerIpArgs {
    /// The complainant.
    complainant: String,
    /// Its complaint id.
    complaint_id: String,
    /// Contest it (needs --text and --evidence).
    #[arg(long)]
    counter_notice: bool,
    /// Accept it: the items named are withdrawn.
    #[arg(long)]
    accept: bool,
    /// Reasons.
    #[arg(long, default_value = "")]
    text: String,
    /// Evidence files (e.g. an authorisation letter).
    #[arg(long = "evidence")]
    evidence: Vec<PathBuf>,
}

impl ActionArgs for AnswerIpArgs {
    fn action(&self) -> anyhow::Result<Action> {
        if self.accept == self.counter_notice {
            anyhow::bail!("answer with exactly one of --counter-notice, --accept");
        }
        let kind = if self.accept { pb::IpAnswerKind::Accept } else { pb::IpAnswerKind::CounterNotice };
        Ok(Action::AnswerIpComplaint(pb::AnswerIpComplaint {
            complainant_party_id: self.complainant.clone(),
            complaint_id: self.complaint_id.clone(),
            kind: kind as i32,
            text: self.text.clone(),
            evidence_digests: evidence_digests(&self.evidence)?,
        }))
    }
}

/// `market rule-ip` and `market rule-trade`.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// The filer (complainant or buyer).
    filer: String,
    /// Its complaint id.
    complaint_id: String,
    /// Uphold the complaint.
    #[arg(long)]
    uphold: bool,
    /// Reject it.
    #[arg(long)]
    reject: bool,
    /// Why.
    #[arg(long)]
    reason: String,
    /// What the seller is to do when upheld (trade only).
    #[arg(long, default_value = "")]
    remedy: String,
}

impl RuleArgs {
    fn decision(&self) -> anyhow::Result<i32> {
        if self.uphold == self.reject {
            anyhow::bail!("rule with exactly one of --uphold, --reject");
        }
        Ok(if self.uphold { pb::CaseDecision::Uphold as i32 } else { pb::CaseDecision::Reject as i32 })
    }

    /// The IP ruling.
    pub fn ip_action(&self) -> anyhow::Result<Action> {
        if !self.remedy.is_empty() {
            anyhow::bail!("--remedy: only a trade ruling names a remedy");
        }
        Ok(Action::RuleIpComplaint(pb::RuleIpComplaint {
            complainant_party_id: self.filer.clone(),
            complaint_id: self.complaint_id.clone(),
            decision: self.decision()?,
            reason: self.reason.clone(),
        }))
    }

    /// The trade ruling.
    pub fn trade_action(&self) -> anyhow::Result<Action> {
        Ok(Action::RuleTradeComplaint(pb::RuleTradeComplaint {
            buyer_party_id: self.filer.clone(),
            complaint_id: self.complaint_id.clone(),
            decision: self.decision()?,
            reason: self.reason.clone(),
            remedy: self.remedy.clone(),
        }))
    }
}

/// Kinds of trade complaint.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TradeKind {
    /// Goods not received: never shipped.
    NotShipped,
    /// Goods not received: a tracking number its carrier never confirmed.
    FalseDelivery,
    /// Not as agreed: quality.
    Quality,
    /// Not as agreed: fewer goods than ordered.
    QuantityShort,
    /// Not as agreed: counterfeit (cite verifications with --scan).
    Counterfeit,
}

/// `market file-trade`.
#[derive(Debug, Args)]
pub struct FileTradeArgs {
    /// Id of the complaint, unique among the signer's trade complaints.
    #[arg(long)]
    id: String,
    /// The seller.
    #[arg(long)]
    seller: String,
    /// The order: an EPCIS business transaction id.
    #[arg(long)]
    order: String,
    /// What went wrong.
    #[arg(long, value_enum)]
    kind: TradeKind,
    /// The seller's tracking number (urn:veritrace:tracking:CARRIER:NUMBER).
    #[arg(long, default_value = "")]
    tracking: String,
    /// Quantity ordered (quantity-short).
    #[arg(long, default_value_t = 0)]
    ordered: u64,
    /// Quantity received (quantity-short).
    #[arg(long, default_value_t = 0)]
    received: u64,
    /// Envelope ids (hex) of consumer verifications of the goods (counterfeit).
    #[arg(long = "scan")]
    scans: Vec<String>,
    /// Amount claimed, "AMOUNT CURRENCY".
    #[arg(long)]
    amount: Option<String>,
    /// Description, without personal data.
    #[arg(long, default_value = "")]
    text: String,
    /// Evidence files; only their digests are recorded.
    #[arg(long = "evidence")]
    evidence: Vec<PathBuf>,
}

impl ActionArgs for FileTradeArgs {
    fn action(&self) -> anyhow::Result<Action> {
        let kind = match self.kind {
            TradeKind::NotShipped => pb::TradeComplaintKind::NotShipped,
            TradeKind::FalseDelivery => pb::TradeComplaintKind::FalseDelivery,
            TradeKind::Quality => pb::TradeComplaintKind::Quality,
            TradeKind::QuantityShort => pb::TradeComplaintKind::QuantityShort,
            TradeKind::Counterfeit => pb::TradeComplaintKind::Counterfeit,
        };
        let scans = self
            .scans
            .iter()
            .map(|s| hex::decode(s).map_err(|_| anyhow::anyhow!("--scan: {s:?} is not an envelope id in hex")))
            .collect::<anyhow::Result<_>>()?;
        Ok(Action::FileTradeComplaint(pb::FileTradeComplaint {
            complaint_id: self.id.clone(),
            seller_party_id: self.seller.clone(),
            order: self.order.clone(),
            kind: kind as i32,
            tracking: self.tracking.clone(),
            quantity_ordered: self.ordered,
            quantity_received: self.received,
            scan_envelope_ids: scans,
            amount_claimed: opt_money("amount", &self.amount)?,
            text: self.text.clone(),
            evidence_digests: evidence_digests(&self.evidence)?,
        }))
    }
}

/// `market answer-trade`.
#[derive(Debug, Args)]
pub struct AnswerTradeArgs {
    /// The buyer.
    buyer: String,
    /// Its complaint id.
    complaint_id: String,
    /// Ship again under this tracking number.
    #[arg(long, value_name = "TRACKING")]
    redeliver: Option<String>,
    /// Refund in full; the payment reference.
    #[arg(long, value_name = "REFERENCE")]
    refund: Option<String>,
    /// Refund in part; the payment reference (with --amount).
    #[arg(long, value_name = "REFERENCE")]
    partial_refund: Option<String>,
    /// Contest the complaint (with --text).
    #[arg(long)]
    dispute: bool,
    /// Amount refunded, "AMOUNT CURRENCY".
    #[arg(long)]
    amount: Option<String>,
    /// Explanation.
    #[arg(long, default_value = "")]
    text: String,
    /// Evidence files.
    #[arg(long = "evidence")]
    evidence: Vec<PathBuf>,
}

impl ActionArgs for AnswerTradeArgs {
    fn action(&self) -> anyhow::Result<Action> {
        let chosen = [self.redeliver.is_some(), self.refund.is_some(), self.partial_refund.is_some(), self.dispute];
        if chosen.iter().filter(|c| **c).count() != 1 {
            anyhow::bail!("answer with exactly one of --redeliver, --refund, --partial-refund, --dispute");
        }
        if self.partial_refund.is_some() && self.amount.is_none() {
            anyhow::bail!("--partial-refund needs --amount");
        }
        let (kind, tracking, reference) = if let Some(t) = &self.redeliver {
            (pb::TradeAnswerKind::Redeliver, t.clone(), String::new())
        } else if let Some(r) = &self.refund {
            (pb::TradeAnswerKind::Refund, String::new(), r.clone())
        } else if let Some(r) = &self.partial_refund {
            (pb::TradeAnswerKind::PartialRefund, String::new(), r.clone())
        } else {
            (pb::TradeAnswerKind::Dispute, String::new(), String::new())
        };
        Ok(Action::AnswerTradeComplaint(pb::AnswerTradeComplaint {
            buyer_party_id: self.buyer.clone(),
            complaint_id: self.complaint_id.clone(),
            kind: kind as i32,
            tracking,
            refund_reference: reference,
            refund_amount: opt_money("amount", &self.amount)?,
            text: self.text.clone(),
            evidence_digests: evidence_digests(&self.evidence)?,
        }))
    }
}

/// `market reply-trade`.
#[derive(Debug, Args)]
pub struct ReplyTradeArgs {
    /// The signer's complaint id.
    complaint_id: String,
    /// The answer settles it.
    #[arg(long)]
    accept: bool,
    /// Ask the deciding party to rule (with --text).
    #[arg(long)]
    escalate: bool,
    /// Why.
    #[arg(long, default_value = "")]
    text: String,
}

impl ActionArgs for ReplyTradeArgs {
    fn action(&self) -> anyhow::Result<Action> {
        if self.accept == self.escalate {
            anyhow::bail!("reply with exactly one of --accept, --escalate");
        }
        let kind = if self.escalate { pb::TradeReplyKind::Escalate } else { pb::TradeReplyKind::Accept };
        Ok(Action::ReplyTradeComplaint(pb::ReplyTradeComplaint {
            complaint_id: self.complaint_id.clone(),
            kind: kind as i32,
            text: self.text.clone(),
        }))
    }
}

/// `market acknowledge`.
#[derive(Debug, Args)]
pub struct AckArgs {
    /// The party that recorded the complaint (the reporting node's party).
    filer: String,
    /// Its complaint id.
    complaint_id: String,
    /// What the brand does about it.
    #[arg(long, default_value = "")]
    note: String,
}

impl ActionArgs for AckArgs {
    fn action(&self) -> anyhow::Result<Action> {
        Ok(Action::AcknowledgeComplaint(pb::AcknowledgeComplaint {
            filer_party_id: self.filer.clone(),
            complaint_id: self.complaint_id.clone(),
            note: self.note.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_and_items_parse_or_name_the_flag() {
        assert_eq!(figures("attested", "320, 15000,6").expect("parses").floor_area_m2, 15000);
        assert!(figures("attested", "320,15000").expect_err("refused").to_string().starts_with("--attested"));
        assert_eq!(item_arg("07123450000011/F1").expect("parses").serial, "F1");
        assert!(item_arg("07123450000011").is_err());
    }
}
