//! Brands' threshold code keys (CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1): the
//! public parts of a key split among validator nodes, checked once when a
//! product names them and stored by public key, so that an item keeps the
//! key it was commissioned under whatever the product's policy says later.

use veritrace_core::Reason;
use veritrace_core::oprf::{PublicKey, PublicShare, check_shares};
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::{Ctx, Rule, refuse, require};
use crate::schema::CF_STATE;
use crate::state::keys;

/// Most shares one code key may list (share indices are one byte).
pub const MAX_CODE_KEY_SHARES: usize = 255;

/// Checks a code key's public parts: a valid public key, a threshold of 2
/// to the number of shares, distinct nodes and indices, and shares on one
/// polynomial through the public key. Returns why not, for the refusal.
pub fn check(key: &pb::ThresholdCodeKey) -> Result<(PublicKey, Vec<(u64, PublicShare)>), String> {
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
    let publics: Vec<PublicShare> = shares.iter().map(|(_, s)| *s).collect();
    check_shares(&public_key, &publics, threshold).map_err(|e| format!("code_key: {e}"))?;
    Ok((public_key, shares))
}

/// Stores a product's code key under its public key, or refuses one whose
/// public key is stored with different parts.
pub(super) fn register<E: KvEngine>(ctx: &mut Ctx<'_, E>, key: &pb::ThresholdCodeKey) -> Rule {
    if let Err(why) = check(key) {
        return refuse(Reason::InvalidAction, why);
    }
    let record_key = keys::code_key(&key.public_key);
    let stored: Option<pb::ThresholdCodeKey> = ctx.view.record(CF_STATE, &record_key, "code key")?;
    match stored {
        Some(stored) => require(&stored == key, || {
            "code_key: this public key is registered with other shares or threshold; a key is registered once".into()
        }),
        None => {
            ctx.view.put_record(CF_STATE, record_key, key);
            Ok(())
        }
    }
}
