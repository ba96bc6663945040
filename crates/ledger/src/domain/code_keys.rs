//! Brands' threshold code keys (CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1): the
//! public parts of a key split among validator nodes, checked once when a
//! product names them and stored by public key, so that an item keeps the
//! key it was commissioned under whatever the product's policy says later.

use veritrace_core::Reason;
use veritrace_core::code::code_key_possession_context;
use veritrace_core::oprf::{PossessionProof, PublicKey, PublicShare, check_shares};
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::{Ctx, Rule, refuse, require};
use crate::schema::CF_STATE;
use crate::state::keys;
use crate::state::records::CodeKeyRecord;

/// Most shares one code key may list. Checking that the shares lie on one
/// polynomial costs about (shares - threshold) x threshold^2 field
/// operations at apply, on every replica: 16 keeps a worst-case key under
/// a few milliseconds, and is more validators than a network of rival
/// organisations runs.
pub const MAX_CODE_KEY_SHARES: usize = 16;

/// A code key's public parts, decoded.
#[derive(Debug, Clone)]
pub struct CodeKeyParts {
    /// `K`.
    pub public_key: PublicKey,
    /// How many partial evaluations a check needs.
    pub threshold: u8,
    /// Each holder's node id and public share.
    pub shares: Vec<(u64, PublicShare)>,
}

/// Checks a code key's public parts: [`parse`], then that the shares lie
/// on one polynomial through the public key. Returns why not, for the
/// refusal.
pub fn check(key: &pb::ThresholdCodeKey) -> Result<CodeKeyParts, String> {
    let parts = parse(key)?;
    let publics: Vec<PublicShare> = parts.shares.iter().map(|(_, s)| *s).collect();
    check_shares(&parts.public_key, &publics, parts.threshold).map_err(|e| format!("code_key: {e}"))?;
    Ok(parts)
}

/// Decodes a code key's public parts without the polynomial check (for a
/// key the ledger checked when it stored it): a valid public key, 2 to
/// [`MAX_CODE_KEY_SHARES`] shares with distinct nonzero node ids, a
/// threshold of 2 to the number of shares.
pub fn parse(key: &pb::ThresholdCodeKey) -> Result<CodeKeyParts, String> {
    let public_key = <&[u8; PublicKey::LEN]>::try_from(key.public_key.as_slice())
        .map_err(|_| format!("code_key.public_key: {} bytes, want {}", key.public_key.len(), PublicKey::LEN))
        .and_then(|b| PublicKey::from_bytes(b).map_err(|e| format!("code_key.public_key: {e}")))?;
    let n = key.shares.len();
    if !(2..=MAX_CODE_KEY_SHARES).contains(&n) {
        return Err(format!("code_key.shares: {n} given, 2 to {MAX_CODE_KEY_SHARES} allowed"));
    }
    let threshold = u8::try_from(key.threshold).ok().filter(|t| *t >= 2 && usize::from(*t) <= n).ok_or_else(|| {
        format!("code_key.threshold: {} with {n} shares; 2 to {n} allowed (1 protects nothing)", key.threshold)
    })?;
    let mut shares = Vec::with_capacity(n);
    let mut nodes = std::collections::BTreeSet::new();
    for (i, s) in key.shares.iter().enumerate() {
        let bytes = <&[u8; PublicShare::LEN]>::try_from(s.public_share.as_slice()).map_err(|_| {
            format!("code_key.shares[{i}].public_share: {} bytes, want {}", s.public_share.len(), PublicShare::LEN)
        })?;
        let share = PublicShare::from_bytes(bytes).map_err(|e| format!("code_key.shares[{i}].public_share: {e}"))?;
        if s.node_id == 0 || !nodes.insert(s.node_id) {
            return Err(format!("code_key.shares[{i}].node_id: {} is zero or listed twice", s.node_id));
        }
        shares.push((s.node_id, share));
    }
    Ok(CodeKeyParts { public_key, threshold, shares })
}

/// Checks a product's code key (parts, polynomial, and the brand's proof
/// of possession for this network) and stores it under its public key, or
/// refuses one whose public key is stored for another brand or with other
/// parts.
pub(super) fn register<E: KvEngine>(ctx: &mut Ctx<'_, E>, key: &pb::ThresholdCodeKey, brand: &str) -> Rule {
    let parts = match check(key) {
        Ok(parts) => parts,
        Err(why) => return refuse(Reason::InvalidAction, why),
    };
    let proof = <&[u8; PossessionProof::LEN]>::try_from(key.possession_proof.as_slice())
        .ok()
        .and_then(|b| PossessionProof::from_bytes(b).ok());
    let context = code_key_possession_context(ctx.genesis.network_id(), brand);
    if proof.is_none_or(|p| parts.public_key.verify_possession(&context, &p).is_err()) {
        return refuse(
            Reason::InvalidAction,
            format!("code_key.possession_proof: not a proof that brand {brand} holds this key on this network"),
        );
    }
    let record_key = keys::code_key(&key.public_key);
    let stored: Option<CodeKeyRecord> = ctx.view.record(CF_STATE, &record_key, "code key")?;
    match stored {
        Some(stored) => {
            require(stored.brand_party_id == brand, || {
                format!("code_key: this key is registered to brand {}", stored.brand_party_id)
            })?;
            let same = stored.key.as_ref().is_some_and(|s| {
                s.public_key == key.public_key && s.threshold == key.threshold && s.shares == key.shares
            });
            require(same, || {
                "code_key: this public key is registered with other shares or threshold; a key is registered once"
                    .into()
            })
        }
        None => {
            let record = CodeKeyRecord { key: Some(key.clone()), brand_party_id: brand.to_owned() };
            ctx.view.put_record(CF_STATE, record_key, &record);
            Ok(())
        }
    }
}
