//! Commissioning serialised items with their code digests, and taking
//! items out of circulation.

use veritrace_core::Reason;
use veritrace_core::code::CodeSalt;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::products::{self, acts_for_brand};
use super::validate::{self, MAX_TEXT};
use super::{Ctx, Rule, refuse, require};
use crate::schema::CF_STATE;
use crate::state::keys;
use crate::state::records::{ItemRecord, LotRecord, ObjectState};

/// Most items one CommissionItems may carry.
pub const MAX_ITEMS_PER_COMMISSION: usize = 100_000;

pub(super) fn commission<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::CommissionItems) -> Rule {
    validate::gtin("gtin", &a.gtin)?;
    if !a.lot.is_empty() {
        validate::lot("lot", &a.lot)?;
    }
    require(!a.items.is_empty() && a.items.len() <= MAX_ITEMS_PER_COMMISSION, || {
        format!("items: {} given, 1 to {MAX_ITEMS_PER_COMMISSION} allowed per action", a.items.len())
    })?;
    require(a.expiry_date.is_empty() || is_date(&a.expiry_date), || {
        format!("expiry_date: {:?} is not YYYY-MM-DD", a.expiry_date)
    })?;
    if !a.biz_location.is_empty() {
        validate::epc("biz_location", &a.biz_location)?;
    }
    if let Some(t) = &a.production_time {
        // Journeys and pages compute with it: refuse what no clock shows.
        validate::time_ms("production_time", t)?;
    }
    let product = products::registered(ctx, &a.gtin)?;
    acts_for_brand(ctx, &product.brand_party_id, &a.gtin)?;
    let policy = products::code_policy(&product, ctx.genesis.proto().default_code_policy.as_ref());
    if a.digest_scheme != policy.digest_scheme && a.digest_scheme != 0 {
        return refuse(Reason::CodePolicyMismatch, format!("digest_scheme {} is not the product's", a.digest_scheme));
    }
    // Under the threshold OPRF the item key is in the input and the
    // brand's key is the secret: no salt, and the record names the key.
    let code_key = match (&policy.code_key, pb::CodeDigestScheme::try_from(policy.digest_scheme)) {
        (Some(key), Ok(pb::CodeDigestScheme::ThresholdOprfV1)) => {
            require(a.batch_salt.is_empty() && a.items.iter().all(|i| i.salt.is_empty()), || {
                "items under CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1 carry no salt".into()
            })?;
            if a.code_key != key.public_key {
                return refuse(
                    Reason::CodePolicyMismatch,
                    "code_key: the digests were not made with the product's code key",
                );
            }
            Some(key.public_key.clone())
        }
        _ => {
            require(a.code_key.is_empty(), || "code_key: only for CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1".into())?;
            None
        }
    };
    let batch_salt = if a.batch_salt.is_empty() || code_key.is_some() {
        None
    } else {
        Some(
            CodeSalt::from_slice(&a.batch_salt)
                .or_else(|e| refuse(Reason::CodePolicyMismatch, format!("batch_salt: {e}")))?,
        )
    };
    let mut seen = std::collections::BTreeSet::new();
    for (i, item) in a.items.iter().enumerate() {
        let field = format!("items[{i}]");
        let (_, key) = validate::item_key(&field, &a.gtin, &item.serial)?;
        validate::digest(&format!("{field}.code_digest"), &item.code_digest, false)?;
        validate::digest(&format!("{field}.label_token_digest"), &item.label_token_digest, true)?;
        let salt = if code_key.is_some() {
            Vec::new()
        } else if item.salt.is_empty() {
            match batch_salt {
                Some(s) => s.as_bytes().to_vec(),
                None => return refuse(Reason::CodePolicyMismatch, format!("{field}: no salt and no batch_salt")),
            }
        } else {
            CodeSalt::from_slice(&item.salt)
                .or_else(|e| refuse(Reason::CodePolicyMismatch, format!("{field}.salt: {e}")))?
                .as_bytes()
                .to_vec()
        };
        if !seen.insert(item.serial.as_str()) {
            return refuse(Reason::InvalidAction, format!("{field}: serial {:?} is listed twice", item.serial));
        }
        let record_key = keys::item(&key);
        if ctx.view.exists(CF_STATE, &record_key)? {
            return refuse(
                Reason::ItemAlreadyCommissioned,
                format!("item {}/{} was commissioned before; serials are never reused", a.gtin, item.serial),
            );
        }
        let record = ItemRecord {
            gtin: a.gtin.clone(),
            serial: item.serial.clone(),
            lot: a.lot.clone(),
            salt,
            code_key: code_key.clone().unwrap_or_default(),
            code_digest: item.code_digest.clone(),
            code_length: policy.length,
            code_alphabet: policy.alphabet.clone(),
            commissioned_by: ctx.signer_id().to_owned(),
            commissioned_leaf: ctx.leaf,
            state: Some(ObjectState { custodian: ctx.signer_id().to_owned(), ..Default::default() }),
            expiry_date: a.expiry_date.clone(),
            label_token_digest: item.label_token_digest.clone(),
            ..Default::default()
        };
        ctx.view.put_record(CF_STATE, record_key, &record);
        ctx.index_object(&key, "");
    }
    ctx.index_gtin(&a.gtin);
    Ok(())
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u8>().unwrap_or(0))
}

pub(super) fn decommission<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::DecommissionItems) -> Rule {
    let Some(set) = &a.items else { return refuse(Reason::InvalidAction, "items is required") };
    validate::gtin("items.gtin", &set.gtin)?;
    require(!set.lots.is_empty() || !set.serials.is_empty(), || {
        "items: list lots or serials (a whole GTIN is withdrawn lot by lot, or recalled)".into()
    })?;
    let reason: pb::DecommissionReason = validate::enum_set("reason", a.reason)?;
    validate::text("note", &a.note, MAX_TEXT, reason == pb::DecommissionReason::Other)?;
    let product = products::registered(ctx, &set.gtin)?;
    acts_for_brand(ctx, &product.brand_party_id, &set.gtin)?;
    for lot in &set.lots {
        validate::lot("items.lots", lot)?;
        let record = LotRecord { decommission_reason: a.reason, leaf: ctx.leaf };
        ctx.view.put_record(CF_STATE, keys::lot(&set.gtin, lot), &record);
    }
    for serial in &set.serials {
        let (_, key) = validate::item_key("items.serials", &set.gtin, serial)?;
        let record_key = keys::item(&key);
        let Some(mut item) = ctx.view.record::<ItemRecord>(CF_STATE, &record_key, "item")? else {
            return refuse(Reason::ItemNotCommissioned, format!("item {}/{serial} was never commissioned", set.gtin));
        };
        if item.decommission_reason == 0 {
            item.decommission_reason = a.reason;
            item.decommissioned_leaf = ctx.leaf;
            ctx.view.put_record(CF_STATE, record_key, &item);
        }
        ctx.index_object(&key, "");
    }
    ctx.index_gtin(&set.gtin);
    Ok(())
}
