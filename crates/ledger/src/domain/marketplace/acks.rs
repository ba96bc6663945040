//! Brands' acknowledgements of complaints about their products: a
//! consumer's report of a suspected fake (recorded by a node as a
//! `Complaint`) reaches the brand, which must acknowledge it within the
//! policy's window. Lateness is recorded, not enforced: a late
//! acknowledgement is accepted and counted late, and an unacknowledged
//! complaint past the window counts as overdue in the brand's profile.

use veritrace_core::Reason;
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::super::validate::{self, MAX_TEXT};
use super::super::{Ctx, Rule, refuse};
use crate::schema::{CF_STATE, leading_u64};
use crate::state::keys;
use crate::state::market::{AckRecord, RoutedComplaint};

/// Lists a complaint about `gtin` under the GTIN's brand, so the brand
/// sees it and must acknowledge it. Called by the complaint rule.
pub(crate) fn route_to_brand<E: KvEngine>(ctx: &mut Ctx<'_, E>, brand: &str, filer: &str, id: &str) {
    let routed = RoutedComplaint { filer: filer.to_owned(), complaint_id: id.to_owned(), record_ms: ctx.time_ms };
    ctx.view.put_record(CF_STATE, keys::brand_complaint(brand, ctx.leaf), &routed);
}

pub(crate) fn acknowledge<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::AcknowledgeComplaint) -> Rule {
    validate::text("note", &a.note, MAX_TEXT, false)?;
    let Some(leaf) = ctx.view.get(CF_STATE, &keys::complaint(&a.filer_party_id, &a.complaint_id))? else {
        return refuse(Reason::NotFound, format!("{} filed no complaint {:?}", a.filer_party_id, a.complaint_id));
    };
    let leaf = leading_u64(&leaf).unwrap_or_default();
    let me = ctx.signer_id().to_owned();
    let Some(routed) = ctx.view.record::<RoutedComplaint>(CF_STATE, &keys::brand_complaint(&me, leaf), "routed")?
    else {
        return refuse(Reason::NotCaseParty, format!("complaint {} is not about a product of {me}", a.complaint_id));
    };
    let key = keys::complaint_ack(&a.filer_party_id, &a.complaint_id);
    if ctx.view.exists(CF_STATE, &key)? {
        return refuse(Reason::AlreadyExists, format!("complaint {} is acknowledged already", a.complaint_id));
    }
    let policy = super::policy_in_force(&ctx.view, ctx.genesis)?;
    let late = ctx.time_ms > routed.record_ms.saturating_add(super::Windows(&policy).report_ack_ms());
    let rec = AckRecord { brand: me, leaf: ctx.leaf, record_ms: ctx.time_ms, note: a.note.clone(), late };
    ctx.view.put_record(CF_STATE, key, &rec);
    Ok(())
}
