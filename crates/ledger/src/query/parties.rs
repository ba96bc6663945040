//! Party profiles and the paged lists of parties and proposals.

use veritrace_proto::v1 as pb;
use veritrace_storage::{KvEngine, prefix_end};

use super::summaries::{certificate, party_summary};
use crate::schema::{CF_IDX_GTIN, CF_STATE, len_prefixed};
use crate::state::records::{RefList, SuspensionList};
use crate::state::{decode_record, keys, seal};
use crate::{Ledger, LedgerError};

/// Which parties a list returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartyFilter {
    /// Only parties holding this role (`Unspecified`: any).
    pub role: pb::PartyRole,
    /// Include suspended parties.
    pub include_suspended: bool,
}

impl<E: KvEngine> Ledger<E> {
    /// The ACTIVE party whose validator node has PeerId `peer_id` (base58
    /// text), as the genesis or a k-of-n `ChangeValidators` decision
    /// assigned it; `None` for a peer no active party operates. Membership
    /// changes follow this: a node joins or is promoted only while listed,
    /// and is removed only once it is not.
    pub fn validator_party(&self, peer_id: &str) -> Result<Option<pb::Party>, LedgerError> {
        self.with_view(|view| {
            let Some(owner) = view.get(CF_STATE, &keys::validator_peer(peer_id))? else {
                return Ok(None);
            };
            let party_id = std::str::from_utf8(&owner)
                .map_err(|_| LedgerError::Corrupt { what: format!("validator peer {peer_id}'s party id") })?;
            let party = view.party(party_id)?;
            Ok(party.filter(|p| p.validator_peer_id == peer_id && p.status == pb::PartyStatus::Active as i32))
        })
    }

    /// What the ledger says about a party, or `None` if it does not exist.
    pub fn party_profile(
        &self,
        party_id: &str,
        now_ms: i64,
    ) -> Result<Option<pb::GetPartyProfileResponse>, LedgerError> {
        self.with_view(|view| {
            let Some(party) = view.party(party_id)? else {
                return Ok(None);
            };
            let about: RefList =
                view.record(CF_STATE, &keys::attestations_on_party(party_id), "attestation list")?.unwrap_or_default();
            let mut attestations = Vec::new();
            for reference in &about.refs {
                let Some(r) = super::attestation_by_ref(view, reference)? else { continue };
                let by = view.party(&r.signer)?;
                attestations.push(certificate(&r, by.as_ref(), now_ms, now_ms));
            }
            let suspensions: SuspensionList =
                view.record(CF_STATE, &keys::suspensions(party_id), "suspensions")?.unwrap_or_default();
            Ok(Some(pb::GetPartyProfileResponse {
                party: Some(party_summary(&party)),
                joined_at: party.joined_at,
                validator_operator: !party.validator_peer_id.is_empty(),
                attestations,
                suspensions: suspensions.entries,
            }))
        })
    }

    /// Parties in id order after `after` (exclusive), at most `limit`;
    /// returns the page and the id to continue after, if more may follow.
    pub fn list_parties(
        &self,
        filter: PartyFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<pb::Party>, Option<String>), LedgerError> {
        let start = match after {
            Some(id) => {
                let mut k = keys::party(id);
                k.push(0);
                k
            }
            None => keys::PARTY_PREFIX.to_vec(),
        };
        let end = prefix_end(keys::PARTY_PREFIX);
        let mut out = Vec::new();
        for kv in self.engine.scan(CF_STATE, &start, end.as_deref())? {
            let (k, v) = kv?;
            let p: pb::Party = decode_record(seal::open(&k, &v).map_err(|e| self.noted(e))?, "party")?;
            if filter.role != pb::PartyRole::Unspecified && !p.roles.contains(&(filter.role as i32)) {
                continue;
            }
            if !filter.include_suspended && p.status == pb::PartyStatus::Suspended as i32 {
                continue;
            }
            if out.len() == limit {
                let next = out.last().map(|p: &pb::Party| p.party_id.clone());
                return Ok((out, next));
            }
            out.push(p);
        }
        Ok((out, None))
    }

    /// Governance proposals, newest first, skipping `offset`, at most
    /// `limit`; EXPIRED is reported for open proposals past their expiry at
    /// `now_ms`. Returns the page and the offset of the next page.
    pub fn list_proposals(
        &self,
        status: pb::ProposalStatus,
        offset: usize,
        limit: usize,
        now_ms: i64,
    ) -> Result<(Vec<pb::GovernanceProposal>, Option<usize>), LedgerError> {
        let end = prefix_end(keys::PROPOSAL_PREFIX);
        let mut all = Vec::new();
        for kv in self.engine.scan(CF_STATE, keys::PROPOSAL_PREFIX, end.as_deref())? {
            let (k, v) = kv?;
            let mut p: pb::GovernanceProposal =
                decode_record(seal::open(&k, &v).map_err(|e| self.noted(e))?, "proposal")?;
            let expired = p.expires_at.is_some_and(|t| t.seconds.saturating_mul(1000) < now_ms);
            if p.status == pb::ProposalStatus::Open as i32 && expired {
                p.status = pb::ProposalStatus::Expired as i32;
            }
            if status == pb::ProposalStatus::Unspecified || p.status == status as i32 {
                all.push(p);
            }
        }
        all.sort_by(|a, b| {
            let key = |p: &pb::GovernanceProposal| p.proposed_at.map(|t| (t.seconds, t.nanos)).unwrap_or_default();
            key(b).cmp(&key(a)).then_with(|| a.proposal_id.cmp(&b.proposal_id))
        });
        let page: Vec<_> = all.iter().skip(offset).take(limit).cloned().collect();
        let next = (offset + page.len() < all.len()).then_some(offset + page.len());
        Ok((page, next))
    }

    /// Leaf indexes of envelopes that name a GTIN, after `after`, at most
    /// `limit`, in log order.
    pub fn leaves_by_gtin(&self, gtin: &str, after: Option<u64>, limit: usize) -> Result<Vec<u64>, LedgerError> {
        self.index_page(CF_IDX_GTIN, len_prefixed(gtin.as_bytes()), after, limit)
    }
}
