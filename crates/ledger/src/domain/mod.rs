//! The domain rules: what each action means and when it is refused.
//!
//! [`execute`] runs one authenticated transaction's action against the
//! state at its position in the log: first the role policy
//! ([`policy`]), then the action's own rules, which read and write the
//! state through the envelope's [`StateView`]. A refusal leaves the view's
//! writes unused, so a refused envelope changes nothing. Every rule is
//! deterministic: it reads only the state, the transaction and the batch
//! header (commit time), never a clock, randomness or local settings.

mod assurance;
pub(crate) mod attempts;
pub(crate) mod code_keys;
mod events;
pub(crate) mod governance;
mod items;
pub use items::MAX_ITEMS_PER_COMMISSION;
pub(crate) mod lifecycle;
pub(crate) mod marketplace;
pub(crate) mod policy;
pub(crate) mod products;
pub(crate) mod scans;
mod validate;

use veritrace_core::{Hash, Reason};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;
use veritrace_storage::KvEngine;

use crate::schema::{CF_IDX_GTIN, CF_IDX_ITEM, len_prefixed, with_u64};
use crate::state::StateView;
use crate::{Genesis, LedgerError};

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) reason: Reason,
    pub(crate) message: String,
}

/// A rule's failure: a refusal of the envelope, or a storage failure that
/// stops apply.
#[derive(Debug)]
pub(crate) enum Fail {
    Refused(Refusal),
    Storage(LedgerError),
}

impl From<LedgerError> for Fail {
    fn from(e: LedgerError) -> Self {
        Fail::Storage(e)
    }
}

/// Result of a rule.
pub(crate) type Rule<T = ()> = Result<T, Fail>;

/// Refuses with `reason`.
pub(crate) fn refuse<T>(reason: Reason, message: impl Into<String>) -> Rule<T> {
    Err(Fail::Refused(Refusal { reason, message: message.into() }))
}

/// Refuses with INVALID_ACTION unless `ok`.
pub(crate) fn require(ok: bool, message: impl FnOnce() -> String) -> Rule {
    if ok { Ok(()) } else { refuse(Reason::InvalidAction, message()) }
}

/// What a rule knows about the envelope it runs for.
pub(crate) struct Ctx<'a, E: KvEngine> {
    /// The state as of this envelope.
    pub(crate) view: StateView<'a, E>,
    /// The network's genesis.
    pub(crate) genesis: &'a Genesis,
    /// The signing party, as of this envelope.
    pub(crate) signer: pb::Party,
    /// Leaf the envelope will occupy.
    pub(crate) leaf: u64,
    /// Commit time of its batch, unix ms.
    pub(crate) time_ms: i64,
    /// The transaction's `client_time`, unix ms, when it has one.
    pub(crate) client_time_ms: Option<i64>,
    /// Its envelope id.
    pub(crate) envelope_id: Hash,
}

impl<E: KvEngine> Ctx<'_, E> {
    /// Whether the signer holds `role`.
    pub(crate) fn signer_has(&self, role: pb::PartyRole) -> bool {
        self.signer.roles.contains(&(role as i32))
    }

    /// The signer's party id.
    pub(crate) fn signer_id(&self) -> &str {
        &self.signer.party_id
    }

    /// A party as of this envelope.
    pub(crate) fn party(&self, id: &str) -> Rule<Option<pb::Party>> {
        Ok(self.view.party(id)?)
    }

    /// Runs `f`; if it fails, none of its writes remain.
    pub(crate) fn nested(&mut self, f: impl FnOnce(&mut Self) -> Rule) -> Rule {
        let savepoint = self.view.savepoint();
        let result = f(self);
        if result.is_err() {
            self.view.roll_back(savepoint);
        }
        result
    }

    /// Lists this envelope under an object's history: `via` is empty when
    /// the envelope names the object, else the URI of the container the
    /// object travelled in.
    pub(crate) fn index_object(&mut self, object_key: &[u8], via: &str) {
        self.view.put(CF_IDX_ITEM, with_u64(len_prefixed(object_key), self.leaf), via.as_bytes().to_vec());
    }

    /// Lists this envelope under a GTIN.
    pub(crate) fn index_gtin(&mut self, gtin: &str) {
        self.view.put(CF_IDX_GTIN, with_u64(len_prefixed(gtin.as_bytes()), self.leaf), Vec::new());
    }
}

/// The `Transaction.action` oneof field name of an action.
pub fn action_name(action: &Action) -> &'static str {
    match action {
        Action::ProposeGovernance(_) => "propose_governance",
        Action::ApproveGovernance(_) => "approve_governance",
        Action::RevokeSigningKey(_) => "revoke_signing_key",
        Action::AuthorizeManufacturer(_) => "authorize_manufacturer",
        Action::RevokeManufacturerAuthorization(_) => "revoke_manufacturer_authorization",
        Action::RegisterProduct(_) => "register_product",
        Action::CommissionItems(_) => "commission_items",
        Action::DecommissionItems(_) => "decommission_items",
        Action::EpcisEvent(_) => "epcis_event",
        Action::Attestation(_) => "attestation",
        Action::RevokeAttestation(_) => "revoke_attestation",
        Action::Recall(_) => "recall",
        Action::CloseRecall(_) => "close_recall",
        Action::ConsumerScan(_) => "consumer_scan",
        Action::Complaint(_) => "complaint",
        Action::CodeAttempt(_) => "code_attempt",
        Action::BusinessLicence(_) => "business_licence",
        Action::FactoryAudit(_) => "factory_audit",
        Action::DeliveryBond(_) => "delivery_bond",
        Action::RegisterIpRight(_) => "register_ip_right",
        Action::AttestIpRight(_) => "attest_ip_right",
        Action::FileIpComplaint(_) => "file_ip_complaint",
        Action::AnswerIpComplaint(_) => "answer_ip_complaint",
        Action::RuleIpComplaint(_) => "rule_ip_complaint",
        Action::FileTradeComplaint(_) => "file_trade_complaint",
        Action::AnswerTradeComplaint(_) => "answer_trade_complaint",
        Action::ReplyTradeComplaint(_) => "reply_trade_complaint",
        Action::RuleTradeComplaint(_) => "rule_trade_complaint",
        Action::AcknowledgeComplaint(_) => "acknowledge_complaint",
    }
}

/// Every action name, in oneof order.
pub const ACTION_NAMES: &[&str] = &[
    "propose_governance",
    "approve_governance",
    "revoke_signing_key",
    "authorize_manufacturer",
    "revoke_manufacturer_authorization",
    "register_product",
    "commission_items",
    "decommission_items",
    "epcis_event",
    "attestation",
    "revoke_attestation",
    "recall",
    "close_recall",
    "consumer_scan",
    "complaint",
    "code_attempt",
    "business_licence",
    "factory_audit",
    "delivery_bond",
    "register_ip_right",
    "attest_ip_right",
    "file_ip_complaint",
    "answer_ip_complaint",
    "rule_ip_complaint",
    "file_trade_complaint",
    "answer_trade_complaint",
    "reply_trade_complaint",
    "rule_trade_complaint",
    "acknowledge_complaint",
];

/// Actions only a party of a case takes (the accused, the seller, the
/// buyer, the product's brand): the role policy does not gate them, so no
/// policy can take a party's answer to a case against it away. Their own
/// rules check the signer is that party.
pub const CASE_PARTY_ACTIONS: &[&str] =
    &["answer_ip_complaint", "answer_trade_complaint", "reply_trade_complaint", "acknowledge_complaint"];

/// Checks the role policy, then runs the action's rules.
pub(crate) fn execute<E: KvEngine>(ctx: &mut Ctx<'_, E>, action: &Action) -> Rule {
    policy::check(ctx, action)?;
    match action {
        Action::ProposeGovernance(a) => governance::propose(ctx, a),
        Action::ApproveGovernance(a) => governance::approve(ctx, a),
        Action::RevokeSigningKey(a) => governance::revoke_own_key(ctx, a),
        Action::AuthorizeManufacturer(a) => products::authorize_manufacturer(ctx, a),
        Action::RevokeManufacturerAuthorization(a) => products::revoke_authorization(ctx, a),
        Action::RegisterProduct(a) => products::register(ctx, a),
        Action::CommissionItems(a) => items::commission(ctx, a),
        Action::DecommissionItems(a) => items::decommission(ctx, a),
        Action::EpcisEvent(a) => events::record(ctx, a),
        Action::Attestation(a) => assurance::attest(ctx, a),
        Action::RevokeAttestation(a) => assurance::revoke_attestation(ctx, a),
        Action::Recall(a) => assurance::recall(ctx, a),
        Action::CloseRecall(a) => assurance::close_recall(ctx, a),
        Action::ConsumerScan(a) => scans::record(ctx, a),
        Action::Complaint(a) => assurance::complaint(ctx, a),
        Action::CodeAttempt(a) => attempts::spend(ctx, a),
        Action::BusinessLicence(a) => marketplace::supplier::licence(ctx, a),
        Action::FactoryAudit(a) => marketplace::supplier::audit(ctx, a),
        Action::DeliveryBond(a) => marketplace::supplier::bond(ctx, a),
        Action::RegisterIpRight(a) => marketplace::ip::register_right(ctx, a),
        Action::AttestIpRight(a) => marketplace::ip::attest_right(ctx, a),
        Action::FileIpComplaint(a) => marketplace::ip::file(ctx, a),
        Action::AnswerIpComplaint(a) => marketplace::ip::answer(ctx, a),
        Action::RuleIpComplaint(a) => marketplace::ip::rule(ctx, a),
        Action::FileTradeComplaint(a) => marketplace::trade::file(ctx, a),
        Action::AnswerTradeComplaint(a) => marketplace::trade::answer(ctx, a),
        Action::ReplyTradeComplaint(a) => marketplace::trade::reply(ctx, a),
        Action::RuleTradeComplaint(a) => marketplace::trade::rule(ctx, a),
        Action::AcknowledgeComplaint(a) => marketplace::acks::acknowledge(ctx, a),
    }
}
