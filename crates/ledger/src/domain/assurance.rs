//! Assurance: attestations (certificates, inspection results), recalls and
//! complaints.

use veritrace_core::Reason;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::products;
use super::validate::{self, MAX_TEXT};
use super::{Ctx, Rule, refuse, require};
use crate::schema::CF_STATE;
use crate::state::keys;
use crate::state::records::{AttestationRecord, ItemRecord, RecallRecord, RefList};

fn push_ref<E: KvEngine>(ctx: &mut Ctx<'_, E>, list_key: Vec<u8>, reference: String) -> Rule {
    let mut list: RefList = ctx.view.record(CF_STATE, &list_key, "reference list")?.unwrap_or_default();
    if !list.refs.contains(&reference) {
        list.refs.push(reference);
    }
    ctx.view.put_record(CF_STATE, list_key, &list);
    Ok(())
}

fn item<E: KvEngine>(ctx: &Ctx<'_, E>, field: &str, gtin: &str, serial: &str) -> Rule<(Vec<u8>, ItemRecord)> {
    let (_, key) = validate::item_key(field, gtin, serial)?;
    match ctx.view.record::<ItemRecord>(CF_STATE, &keys::item(&key), "item")? {
        Some(i) => Ok((key, i)),
        None => refuse(Reason::ItemNotCommissioned, format!("{field}: item {gtin}/{serial} was never commissioned")),
    }
}

pub(super) fn attest<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::Attestation) -> Rule {
    validate::client_id("attestation_id", &a.attestation_id)?;
    let scheme: pb::CertificationScheme = validate::enum_set("scheme", a.scheme)?;
    let detail_required = matches!(
        scheme,
        pb::CertificationScheme::GbT | pb::CertificationScheme::ManagementSystem | pb::CertificationScheme::Other
    );
    validate::text("scheme_detail", &a.scheme_detail, 500, detail_required)?;
    validate::text("certificate_number", &a.certificate_number, 200, true)?;
    validate::text("issuer", &a.issuer, 500, false)?;
    validate::enum_set::<pb::AttestationResult>("result", a.result)?;
    validate::digest("document_digest", &a.document_digest, true)?;
    validate::text("document_uri", &a.document_uri, 2000, false)?;
    require(!a.subject_gtins.is_empty() || !a.subject_items.is_empty() || !a.subject_party_id.is_empty(), || {
        "attestation: name a subject (GTINs, items or a party)".into()
    })?;
    let Some(from) = &a.valid_from else { return refuse(Reason::InvalidAction, "valid_from is required") };
    let from = validate::time_ms("valid_from", from)?;
    if let Some(until) = &a.valid_until {
        require(validate::time_ms("valid_until", until)? > from, || "valid_until must be after valid_from".into())?;
    }
    let me = ctx.signer_id().to_owned();
    let key = keys::attestation(&me, &a.attestation_id);
    if ctx.view.exists(CF_STATE, &key)? {
        return refuse(Reason::AlreadyExists, format!("attestation {} exists already", a.attestation_id));
    }
    let reference = keys::reference(&me, &a.attestation_id);
    let mut gtins: Vec<String> = Vec::new();
    for g in &a.subject_gtins {
        validate::gtin("subject_gtins", g)?;
        products::registered(ctx, g)?;
        gtins.push(g.clone());
    }
    for set in &a.subject_items {
        validate::gtin("subject_items.gtin", &set.gtin)?;
        products::registered(ctx, &set.gtin)?;
        require(!set.lots.is_empty() || !set.serials.is_empty(), || {
            "subject_items: an item set needs lots or serials (use subject_gtins for a whole GTIN)".into()
        })?;
        for lot in &set.lots {
            validate::lot("subject_items.lots", lot)?;
        }
        for serial in &set.serials {
            let (k, _) = item(ctx, "subject_items.serials", &set.gtin, serial)?;
            ctx.index_object(&k, "");
        }
        gtins.push(set.gtin.clone());
    }
    if !a.subject_party_id.is_empty() {
        if ctx.party(&a.subject_party_id)?.is_none() {
            return refuse(Reason::NotFound, format!("no party {:?}", a.subject_party_id));
        }
        push_ref(ctx, keys::attestations_on_party(&a.subject_party_id), reference.clone())?;
    }
    gtins.sort();
    gtins.dedup();
    for g in &gtins {
        push_ref(ctx, keys::attestations_on_gtin(g), reference.clone())?;
        ctx.index_gtin(g);
    }
    let record = AttestationRecord {
        attestation: Some(a.clone()),
        signer: me,
        record_ms: ctx.time_ms,
        envelope_id: ctx.envelope_id.as_bytes().to_vec(),
        ..Default::default()
    };
    ctx.view.put_record(CF_STATE, key, &record);
    Ok(())
}

pub(super) fn revoke_attestation<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::RevokeAttestation) -> Rule {
    validate::text("reason", &a.reason, MAX_TEXT, false)?;
    let key = keys::attestation(ctx.signer_id(), &a.attestation_id);
    let Some(mut rec) = ctx.view.record::<AttestationRecord>(CF_STATE, &key, "attestation")? else {
        return refuse(Reason::NotFound, format!("{} signed no attestation {:?}", ctx.signer_id(), a.attestation_id));
    };
    if rec.revoked_ms != 0 {
        return refuse(Reason::InvalidAction, format!("attestation {} is already revoked", a.attestation_id));
    }
    rec.revoked_ms = ctx.time_ms;
    rec.revoke_reason = a.reason.clone();
    ctx.view.put_record(CF_STATE, key, &rec);
    Ok(())
}

pub(super) fn recall<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::Recall) -> Rule {
    validate::client_id("recall_id", &a.recall_id)?;
    validate::gtin("gtin", &a.gtin)?;
    validate::text("reason", &a.reason, MAX_TEXT, true)?;
    validate::enum_set::<pb::RecallSeverity>("severity", a.severity)?;
    validate::text("consumer_instructions", &a.consumer_instructions, MAX_TEXT, false)?;
    validate::text("notice_uri", &a.notice_uri, 2000, false)?;
    for lot in &a.lots {
        validate::lot("lots", lot)?;
    }
    let product = products::registered(ctx, &a.gtin)?;
    if !ctx.signer_has(pb::PartyRole::Regulator) && product.brand_party_id != ctx.signer_id() {
        return refuse(
            Reason::GtinNotOwned,
            format!(
                "GTIN {} belongs to {}; only its brand or a regulator may recall it",
                a.gtin, product.brand_party_id
            ),
        );
    }
    let me = ctx.signer_id().to_owned();
    let key = keys::recall(&me, &a.recall_id);
    if ctx.view.exists(CF_STATE, &key)? {
        return refuse(Reason::AlreadyExists, format!("recall {} exists already", a.recall_id));
    }
    for serial in &a.serials {
        let (k, _) = item(ctx, "serials", &a.gtin, serial)?;
        ctx.index_object(&k, "");
    }
    let effective = a.effective_time.as_ref().map(|t| validate::time_ms("effective_time", t)).transpose()?;
    let record = RecallRecord {
        recall: Some(a.clone()),
        issuer: me.clone(),
        record_ms: ctx.time_ms,
        effective_ms: effective.unwrap_or(ctx.time_ms).max(ctx.time_ms),
        envelope_id: ctx.envelope_id.as_bytes().to_vec(),
        ..Default::default()
    };
    ctx.view.put_record(CF_STATE, key, &record);
    push_ref(ctx, keys::recalls_on(&a.gtin), keys::reference(&me, &a.recall_id))?;
    ctx.index_gtin(&a.gtin);
    Ok(())
}

pub(super) fn close_recall<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::CloseRecall) -> Rule {
    validate::text("reason", &a.reason, MAX_TEXT, false)?;
    let key = keys::recall(ctx.signer_id(), &a.recall_id);
    let Some(mut rec) = ctx.view.record::<RecallRecord>(CF_STATE, &key, "recall")? else {
        return refuse(Reason::NotIssuer, format!("{} issued no recall {:?}", ctx.signer_id(), a.recall_id));
    };
    if rec.closed_ms != 0 {
        return refuse(Reason::InvalidAction, format!("recall {} is already closed", a.recall_id));
    }
    rec.closed_ms = ctx.time_ms;
    rec.close_reason = a.reason.clone();
    ctx.view.put_record(CF_STATE, key, &rec);
    if let Some(r) = &rec.recall {
        ctx.index_gtin(&r.gtin);
    }
    Ok(())
}

pub(super) fn complaint<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::Complaint) -> Rule {
    use pb::complaint::Subject;
    validate::client_id("complaint_id", &a.complaint_id)?;
    let category: pb::ComplaintCategory = validate::enum_set("category", a.category)?;
    validate::text("text", &a.text, MAX_TEXT, false)?;
    validate::text("seller", &a.seller, 500, false)?;
    validate::text("language", &a.language, 35, false)?;
    validate::digest("reporter_digest", &a.reporter_digest, true)?;
    for d in &a.evidence_digests {
        validate::digest("evidence_digests", d, false)?;
    }
    let me = ctx.signer_id().to_owned();
    let key = keys::complaint(&me, &a.complaint_id);
    if ctx.view.exists(CF_STATE, &key)? {
        return refuse(Reason::AlreadyExists, format!("complaint {} exists already", a.complaint_id));
    }
    let gtin = match &a.subject {
        Some(Subject::Item(i)) => {
            let (k, mut rec) = item(ctx, "item", &i.gtin, &i.serial)?;
            if category == pb::ComplaintCategory::SuspectedCounterfeit && !rec.reported_counterfeit {
                rec.reported_counterfeit = true;
                ctx.view.put_record(CF_STATE, keys::item(&k), &rec);
            }
            ctx.index_object(&k, "");
            ctx.index_gtin(&i.gtin);
            i.gtin.clone()
        }
        Some(Subject::Gtin(g)) => {
            validate::gtin("gtin", g)?;
            ctx.index_gtin(g);
            g.clone()
        }
        None => return refuse(Reason::InvalidAction, "complaint: name an item or a GTIN"),
    };
    // The brand must acknowledge complaints about its products (a brand's
    // own complaint needs no acknowledgement).
    let brand = products::registered(ctx, &gtin)?.brand_party_id;
    if brand != me {
        super::marketplace::acks::route_to_brand(ctx, &brand, &me, &a.complaint_id);
    }
    ctx.view.put(CF_STATE, key, ctx.leaf.to_be_bytes().to_vec());
    Ok(())
}
