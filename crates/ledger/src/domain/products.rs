//! Product classes (GTINs) and brands' authorizations of manufacturers.

use veritrace_core::Reason;
use veritrace_core::code::{CodeAlphabet, CodePolicy};
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::code_keys;
use super::validate::{self, MAX_TEXT};
use super::{Ctx, Rule, refuse, require};
use crate::schema::CF_STATE;
use crate::state::keys;
use crate::state::records::{AuthorizationList, AuthorizationRecord, ProductRecord};

/// Whether `gtin` (14 digits) lies under `prefix`: GS1 Company Prefixes are
/// matched from the second digit on, so every indicator digit (packaging
/// level) is covered.
pub(crate) fn under_prefix(gtin: &str, prefix: &str) -> bool {
    gtin.get(1..).is_some_and(|rest| rest.starts_with(prefix))
}

/// The product record of a GTIN.
pub(crate) fn product<E: KvEngine>(ctx: &Ctx<'_, E>, gtin: &str) -> Rule<Option<ProductRecord>> {
    Ok(ctx.view.record(CF_STATE, &keys::product(gtin), "product")?)
}

/// The product of a GTIN, refusing PRODUCT_NOT_REGISTERED when absent.
pub(crate) fn registered<E: KvEngine>(ctx: &Ctx<'_, E>, gtin: &str) -> Rule<pb::RegisterProduct> {
    match product(ctx, gtin)?.and_then(|r| r.product) {
        Some(p) => Ok(p),
        None => refuse(Reason::ProductNotRegistered, format!("GTIN {gtin} is not registered")),
    }
}

/// The brand whose authorization in force lets `manufacturer` act on `gtin`.
pub(crate) fn authorizing_brand<E: KvEngine>(ctx: &Ctx<'_, E>, manufacturer: &str, gtin: &str) -> Rule<Option<String>> {
    let list: AuthorizationList =
        ctx.view.record(CF_STATE, &keys::authorizations(manufacturer), "authorizations")?.unwrap_or_default();
    let now = ctx.time_ms;
    Ok(list
        .entries
        .iter()
        .filter(|a| a.revoked_ms == 0 && a.valid_from_ms <= now && (a.valid_until_ms == 0 || now < a.valid_until_ms))
        .find(|a| {
            let g = a.grant.clone().unwrap_or_default();
            g.gtins.iter().any(|x| x == gtin) || g.company_prefixes.iter().any(|p| under_prefix(gtin, p))
        })
        .map(|a| a.brand.clone()))
}

/// Refuses unless the signer is `brand`, or a manufacturer `brand`
/// authorised for `gtin`.
pub(crate) fn acts_for_brand<E: KvEngine>(ctx: &Ctx<'_, E>, brand: &str, gtin: &str) -> Rule {
    if ctx.signer_id() == brand {
        return Ok(());
    }
    if authorizing_brand(ctx, ctx.signer_id(), gtin)?.as_deref() == Some(brand) {
        return Ok(());
    }
    refuse(
        Reason::GtinNotOwned,
        format!("GTIN {gtin} belongs to brand {brand}, and {} does not act for it", ctx.signer_id()),
    )
}

/// The effective code policy of a product: its own fields, else the
/// genesis default, else 6 digits.
pub(crate) fn code_policy(product: &pb::RegisterProduct, genesis_default: Option<&pb::CodePolicy>) -> pb::CodePolicy {
    let own = product.code_policy.clone().unwrap_or_default();
    let base = genesis_default.cloned().unwrap_or_default();
    pb::CodePolicy {
        length: if own.length != 0 {
            own.length
        } else if base.length != 0 {
            base.length
        } else {
            6
        },
        alphabet: if !own.alphabet.is_empty() {
            own.alphabet
        } else if !base.alphabet.is_empty() {
            base.alphabet
        } else {
            "0123456789".into()
        },
        // The scheme and key are the product's own: a genesis default
        // cannot name a brand's key.
        digest_scheme: if own.digest_scheme == 0 { pb::CodeDigestScheme::Blake3V1 as i32 } else { own.digest_scheme },
        code_key: own.code_key,
    }
}

/// The core code policy of a stored length and alphabet (empty: digits),
/// or why there is none.
pub fn core_policy_or_why(length: u32, alphabet: &str) -> Result<CodePolicy, String> {
    let alphabet = if alphabet.is_empty() {
        CodeAlphabet::DIGITS
    } else {
        CodeAlphabet::new(alphabet).map_err(|e| e.to_string())?
    };
    let length = u8::try_from(length).map_err(|_| format!("code length {length} is outside 4..=32"))?;
    let policy = CodePolicy { length, alphabet };
    policy.validate().map_err(|e| e.to_string())?;
    Ok(policy)
}

/// The core code policy of a stored length and alphabet, when valid.
pub fn core_policy(length: u32, alphabet: &str) -> Option<CodePolicy> {
    core_policy_or_why(length, alphabet).ok()
}

fn check_code_policy(p: &pb::CodePolicy) -> Rule {
    if p.length != 0 || !p.alphabet.is_empty() {
        let length = if p.length == 0 { 6 } else { p.length };
        if let Err(why) = core_policy_or_why(length, &p.alphabet) {
            return refuse(Reason::InvalidAction, format!("code_policy: {why}"));
        }
    }
    match pb::CodeDigestScheme::try_from(p.digest_scheme) {
        Ok(pb::CodeDigestScheme::Unspecified | pb::CodeDigestScheme::Blake3V1) => require(p.code_key.is_none(), || {
            "code_policy.code_key: only CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1 takes a key".into()
        }),
        // The key itself is checked and stored once the signer is known
        // to act for the brand (`register`): its check costs more.
        Ok(pb::CodeDigestScheme::ThresholdOprfV1) => require(p.code_key.is_some(), || {
            "code_policy.code_key: CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1 needs the brand's code key".into()
        }),
        Err(_) => refuse(Reason::InvalidAction, format!("code_policy.digest_scheme {} is unknown", p.digest_scheme)),
    }
}

pub(super) fn register<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::RegisterProduct) -> Rule {
    validate::gtin("gtin", &a.gtin)?;
    validate::party_id("brand_party_id", &a.brand_party_id)?;
    validate::text("name", &a.name, 300, true)?;
    validate::text("brand_name", &a.brand_name, 200, false)?;
    validate::text("category", &a.category, 200, false)?;
    if !a.origin_country.is_empty() {
        validate::country("origin_country", &a.origin_country)?;
    }
    validate::text("description", &a.description, MAX_TEXT, false)?;
    validate::text("image_uri", &a.image_uri, 2000, false)?;
    if !a.label_host.is_empty()
        && let Err(e) = veritrace_core::gs1::DlHost::parse_normalized(&a.label_host)
    {
        return refuse(Reason::InvalidAction, format!("label_host: {e}"));
    }
    if let Some(p) = &a.code_policy {
        check_code_policy(p)?;
    }
    let Some(brand) = ctx.party(&a.brand_party_id)? else {
        return refuse(Reason::NotFound, format!("no party {:?}", a.brand_party_id));
    };
    if !brand.roles.contains(&(pb::PartyRole::BrandOwner as i32)) {
        return refuse(Reason::InvalidAction, format!("brand_party_id: {} is not a BRAND_OWNER", brand.party_id));
    }
    if !brand.gs1_company_prefixes.iter().any(|p| under_prefix(&a.gtin, p)) {
        return refuse(
            Reason::GtinNotOwned,
            format!(
                "GTIN {} is not under a GS1 Company Prefix of {} ({:?})",
                a.gtin, brand.party_id, brand.gs1_company_prefixes
            ),
        );
    }
    acts_for_brand(ctx, &brand.party_id, &a.gtin)?;
    if let Some(key) = a.code_policy.as_ref().and_then(|p| p.code_key.as_ref()) {
        code_keys::register(ctx, key, &brand.party_id)?;
    }
    let mut record = product(ctx, &a.gtin)?.unwrap_or_default();
    match &record.product {
        Some(existing) if existing.brand_party_id != a.brand_party_id => {
            return refuse(
                Reason::GtinNotOwned,
                format!("GTIN {} is registered by brand {}", a.gtin, existing.brand_party_id),
            );
        }
        Some(_) => {}
        None => {
            record.registered_by = ctx.signer_id().to_owned();
            record.registered_ms = ctx.time_ms;
        }
    }
    record.product = Some(a.clone());
    ctx.view.put_record(CF_STATE, keys::product(&a.gtin), &record);
    ctx.index_gtin(&a.gtin);
    Ok(())
}

pub(super) fn authorize_manufacturer<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::AuthorizeManufacturer) -> Rule {
    validate::client_id("authorization_id", &a.authorization_id)?;
    validate::party_id("manufacturer_party_id", &a.manufacturer_party_id)?;
    validate::text("note", &a.note, MAX_TEXT, false)?;
    require(!a.gtins.is_empty() || !a.company_prefixes.is_empty(), || {
        "authorize_manufacturer: name at least one GTIN or company prefix".into()
    })?;
    let brand = ctx.signer.clone();
    for g in &a.gtins {
        validate::gtin("gtins", g)?;
        if !brand.gs1_company_prefixes.iter().any(|p| under_prefix(g, p)) {
            return refuse(
                Reason::GtinNotOwned,
                format!("GTIN {g} is not under a company prefix of {}", brand.party_id),
            );
        }
    }
    for p in &a.company_prefixes {
        validate::digits("company_prefixes", p, 4, 13)?;
        if !brand.gs1_company_prefixes.iter().any(|own| p.starts_with(own.as_str())) {
            return refuse(
                Reason::GtinNotOwned,
                format!("prefix {p} is not under a company prefix of {}", brand.party_id),
            );
        }
    }
    let owner_key = keys::authorization(&brand.party_id, &a.authorization_id);
    if ctx.view.exists(CF_STATE, &owner_key)? {
        return refuse(Reason::AlreadyExists, format!("authorization {} exists already", a.authorization_id));
    }
    match ctx.party(&a.manufacturer_party_id)? {
        Some(m) if m.roles.contains(&(pb::PartyRole::Manufacturer as i32)) => {}
        Some(m) => return refuse(Reason::InvalidAction, format!("{} is not a MANUFACTURER", m.party_id)),
        None => return refuse(Reason::NotFound, format!("no party {:?}", a.manufacturer_party_id)),
    }
    let from = a.valid_from.as_ref().map(|t| validate::time_ms("valid_from", t)).transpose()?;
    let until = a.valid_until.as_ref().map(|t| validate::time_ms("valid_until", t)).transpose()?;
    let valid_from_ms = from.unwrap_or(ctx.time_ms);
    if let Some(u) = until {
        require(u > valid_from_ms, || "valid_until must be after valid_from".into())?;
    }
    let list_key = keys::authorizations(&a.manufacturer_party_id);
    let mut list: AuthorizationList = ctx.view.record(CF_STATE, &list_key, "authorizations")?.unwrap_or_default();
    list.entries.push(AuthorizationRecord {
        brand: brand.party_id.clone(),
        grant: Some(a.clone()),
        valid_from_ms,
        valid_until_ms: until.unwrap_or(0),
        revoked_ms: 0,
        revoke_reason: String::new(),
    });
    ctx.view.put_record(CF_STATE, list_key, &list);
    ctx.view.put(CF_STATE, owner_key, a.manufacturer_party_id.as_bytes().to_vec());
    Ok(())
}

pub(super) fn revoke_authorization<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::RevokeManufacturerAuthorization) -> Rule {
    validate::text("reason", &a.reason, MAX_TEXT, false)?;
    let brand = ctx.signer_id().to_owned();
    let Some(manufacturer) = ctx.view.get(CF_STATE, &keys::authorization(&brand, &a.authorization_id))? else {
        return refuse(Reason::NotFound, format!("{brand} granted no authorization {:?}", a.authorization_id));
    };
    let manufacturer = String::from_utf8_lossy(&manufacturer).into_owned();
    let list_key = keys::authorizations(&manufacturer);
    let mut list: AuthorizationList = ctx.view.record(CF_STATE, &list_key, "authorizations")?.unwrap_or_default();
    let Some(entry) = list
        .entries
        .iter_mut()
        .find(|e| e.brand == brand && e.grant.as_ref().is_some_and(|g| g.authorization_id == a.authorization_id))
    else {
        return refuse(Reason::NotFound, format!("authorization {:?} is missing", a.authorization_id));
    };
    if entry.revoked_ms != 0 {
        return refuse(Reason::InvalidAction, format!("authorization {} is already revoked", a.authorization_id));
    }
    entry.revoked_ms = ctx.time_ms;
    entry.revoke_reason = a.reason.clone();
    ctx.view.put_record(CF_STATE, list_key, &list);
    Ok(())
}
