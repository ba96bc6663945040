//! The helping side of a threshold code check: one partial evaluation for
//! another replica (or for this one), given only when the item, its key,
//! its label token and both budgets allow it.

use prost::Message as _;
use veritrace_consensus::NodeId;
use veritrace_core::Reason;
use veritrace_core::code::{normalize_code, oprf_input};
use veritrace_core::gs1::{Gtin, Serial, Sgtin};
use veritrace_core::oprf;
use veritrace_proto::v1 as pb;

use super::HelpRefused;
use crate::service::Service;
use crate::verify::now_ms;

/// Longest a helper waits to catch up with an asker that has applied
/// more of the log (a commissioning this replica has not applied yet).
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(1);

/// A refusal to help, with its reason.
fn refusal(reason: Reason, message: impl Into<String>) -> pb::EvaluateCodeResponse {
    pb::EvaluateCodeResponse {
        refusal_reason: reason.code().to_owned(),
        refusal_message: message.into(),
        ..Default::default()
    }
}

impl Service {
    /// Answers a peer request from the authenticated replica `from`: the
    /// encoded [`pb::EvaluateCodeResponse`]. Malformed requests are refused
    /// in the answer, never with a panic. An item this replica does not
    /// hold yet, while it holds fewer leaves than the asker did, is looked
    /// for again once it caught up (at most [`CATCH_UP`] later).
    pub async fn answer_peer_request(&self, from: NodeId, request: &[u8]) -> Vec<u8> {
        let req = match pb::EvaluateCodeRequest::decode(request) {
            Ok(req) => req,
            Err(e) => {
                return refusal(Reason::InvalidAction, format!("undecodable EvaluateCodeRequest: {e}")).encode_to_vec();
            }
        };
        let mut answer = self.evaluate_code_for(from, &req);
        if answer.refusal_reason == Reason::NotFound.code() && self.ledger().applied().tree_size < req.tree_size {
            let mut sizes = self.subscribe_tree_size();
            // Caught up or not, the second look decides.
            let _ = tokio::time::timeout(CATCH_UP, sizes.wait_for(|size| *size >= req.tree_size)).await;
            answer = self.evaluate_code_for(from, &req);
        }
        answer.encode_to_vec()
    }

    /// This replica's partial evaluation of `req`'s code for another
    /// replica, `asker` (with its proof unless the request omits it), or
    /// why it will not give one. Each evaluation given is counted against
    /// `asker` and the item ([`super::HelpBudget`]). This replica's own
    /// checks do not come here: they evaluate their share directly.
    fn evaluate_code_for(&self, asker: NodeId, req: &pb::EvaluateCodeRequest) -> pb::EvaluateCodeResponse {
        match self.try_evaluate_code_for(asker, req) {
            Ok(answer) => answer,
            Err(refused) => {
                tracing::info!(
                    asker,
                    reason = %refused.refusal_reason,
                    message = %refused.refusal_message,
                    "refused to help with a code check"
                );
                refused
            }
        }
    }

    fn try_evaluate_code_for(
        &self,
        asker: NodeId,
        req: &pb::EvaluateCodeRequest,
    ) -> Result<pb::EvaluateCodeResponse, pb::EvaluateCodeResponse> {
        let item = req.item.as_ref().ok_or_else(|| refusal(Reason::InvalidAction, "item is required"))?;
        let gtin = Gtin::parse(&item.gtin).map_err(|e| refusal(Reason::InvalidAction, format!("item.gtin: {e}")))?;
        let serial =
            Serial::parse(&item.serial).map_err(|e| refusal(Reason::InvalidAction, format!("item.serial: {e}")))?;
        let item = Sgtin::new(gtin, serial);
        let record = self
            .ledger()
            .item_record(&item)
            .map_err(|e| refusal(Reason::NotFound, format!("item record unreadable here: {e}")))?
            .ok_or_else(|| refusal(Reason::NotFound, format!("no item {item} on this replica (yet)")))?;
        let share = self.inner.code_shares.get(&record.code_key).ok_or_else(|| {
            refusal(Reason::CodePolicyMismatch, format!("this replica holds no share of {item}'s code key"))
        })?;
        if let Some((reason, message)) = veritrace_ledger::label_token_refusal(&record, &req.label_token) {
            return Err(refusal(reason, message));
        }
        let policy = veritrace_ledger::core_policy(record.code_length, &record.code_alphabet)
            .ok_or_else(|| refusal(Reason::CodePolicyMismatch, "the item's code policy is not supported here"))?;
        // The asker sends the normalised code; anything else would make
        // the helpers evaluate different inputs.
        match normalize_code(&policy, &req.code) {
            Ok(code) if code == req.code => {}
            _ => return Err(refusal(Reason::InvalidAction, "code: not a normalised code of the item's policy")),
        }
        let now = now_ms();
        let budget = veritrace_ledger::budget(&record, now);
        if budget.left == 0 {
            return Err(refusal(Reason::CodeAttemptsExhausted, "the item's guess budget is spent"));
        }
        if !veritrace_ledger::REQUEST_ID_LEN.contains(&req.request_id.len()) {
            return Err(refusal(Reason::InvalidAction, "request_id: 16 to 64 bytes"));
        }
        let item_key = item.key_bytes();
        let input = oprf_input(&item_key, &req.code);
        let input_hash = blake3::hash(&input);
        let counted: Vec<&[u8]> =
            record.attempts.iter().flat_map(|log| log.recent.iter()).map(|a| a.request_id.as_slice()).collect();
        if let Err(why) =
            self.inner.help_budget.take(asker, &item_key, &req.request_id, input_hash.as_bytes(), &counted, now)
        {
            let detail = match why {
                HelpRefused::Spent => {
                    format!("its {} checks of {item} for this window", super::HELP_PER_ASKER_PER_WINDOW)
                }
                HelpRefused::Unsettled => format!(
                    "{} checks of {item} whose guesses the ledger has not counted",
                    super::UNSETTLED_HELP_PER_ASKER
                ),
                HelpRefused::Full => "checks of as many items as this helper tracks for one node".to_owned(),
            };
            return Err(refusal(Reason::CodeHelpExhausted, format!("node {asker} has had {detail}")));
        }
        let (_, element) = oprf::unblinded(&input);
        let (evaluated, proof) = if !req.omit_proof {
            let (evaluated, proof) = share.evaluate(&element, &mut rand::rng());
            (evaluated, proof.to_bytes().to_vec())
        } else {
            (share.evaluate_unproved(&element), Vec::new())
        };
        tracing::debug!(asker, item = %item, "helped with a code check");
        Ok(pb::EvaluateCodeResponse {
            evaluated: evaluated.to_bytes().to_vec(),
            proof,
            public_share: share.public().to_bytes().to_vec(),
            ..Default::default()
        })
    }
}
