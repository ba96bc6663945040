//! EPCIS 2.0 events and the life-cycle rules they must obey.
//!
//! Checked at apply, in log order, against the state left by every earlier
//! envelope:
//! - every SGTIN an event names was commissioned;
//! - nothing moves or is sold once out of circulation (decommissioned,
//!   destroyed, stolen, seized) or under a recall in force;
//! - only the custodian ships, packs, stores or sells; only shipped goods
//!   are picked up, delivered or received, and only by the addressee;
//! - an item is in at most one container, containers do not contain
//!   themselves, and an event on a container applies to everything in it;
//! - an error declaration comes from the party that recorded the event and
//!   marks it retracted; nothing is deleted;
//! - a tracking number is confirmed once the carrier it names signs a
//!   pickup or delivery for it.

use std::collections::HashSet;

use veritrace_core::Reason;
use veritrace_core::gs1::Gln;
use veritrace_core::vocab::{self, StepClass, same_term, short_name};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::epcis_event::Event;
use veritrace_storage::KvEngine;

use super::lifecycle::{self, Kind, Object};
use super::validate;
use super::{Ctx, Rule, refuse, require};
use crate::schema::CF_STATE;
use crate::state::keys;
use crate::state::records::{ContainerRecord, EventRecord, TrackingRecord};

/// Most identifiers one event may list.
const MAX_EPCS: usize = 100_000;

/// The URIs an event names, and its EPCIS action.
fn named(e: &Event) -> (Vec<&str>, i32) {
    let nonempty = |s: &String| !s.is_empty();
    match e {
        Event::ObjectEvent(o) => (o.epc_list.iter().map(String::as_str).collect(), o.action),
        Event::AggregationEvent(a) => (
            std::iter::once(&a.parent_id).filter(|s| nonempty(s)).chain(&a.child_epcs).map(String::as_str).collect(),
            a.action,
        ),
        Event::TransactionEvent(t) => (
            std::iter::once(&t.parent_id).filter(|s| nonempty(s)).chain(&t.epc_list).map(String::as_str).collect(),
            t.action,
        ),
        Event::TransformationEvent(t) => (
            t.input_epc_list.iter().chain(&t.output_epc_list).map(String::as_str).collect(),
            pb::EpcisAction::Observe as i32,
        ),
        Event::AssociationEvent(a) => (
            std::iter::once(&a.parent_id).filter(|s| nonempty(s)).chain(&a.child_epcs).map(String::as_str).collect(),
            a.action,
        ),
    }
}

fn check_shape(e: &pb::EpcisEvent) -> Rule<&Event> {
    let Some(event) = &e.event else { return refuse(Reason::InvalidAction, "event: no event type (ObjectEvent, ...)") };
    let Some(t) = &e.event_time else { return refuse(Reason::InvalidAction, "event_time is required") };
    validate::time_ms("event_time", t)?;
    let o = e.event_time_zone_offset.as_bytes();
    require(
        o.len() == 6
            && (o[0] == b'+' || o[0] == b'-')
            && o[3] == b':'
            && [1, 2, 4, 5].iter().all(|&i| o[i].is_ascii_digit()),
        || format!("event_time_zone_offset: {:?} is not +hh:mm or -hh:mm", e.event_time_zone_offset),
    )?;
    validate::text("event_id", &e.event_id, 512, false)?;
    for (field, v) in [("biz_step", &e.biz_step), ("disposition", &e.disposition)] {
        validate::text(field, v, 512, false)?;
    }
    let (uris, action) = named(event);
    require(uris.len() <= MAX_EPCS, || format!("the event lists {} identifiers, at most {MAX_EPCS}", uris.len()))?;
    let needs_action = !matches!(event, Event::TransformationEvent(_));
    if needs_action {
        validate::enum_set::<pb::EpcisAction>("action", action)?;
    }
    match event {
        Event::AggregationEvent(a) if a.action != pb::EpcisAction::Observe as i32 => {
            require(!a.parent_id.is_empty(), || "parent_id is required unless action is OBSERVE".into())?
        }
        Event::AssociationEvent(a) => require(!a.parent_id.is_empty(), || "parent_id is required".into())?,
        Event::TransactionEvent(_) => {
            require(!e.biz_transaction_list.is_empty(), || "a TransactionEvent needs a biz_transaction_list".into())?
        }
        _ => {}
    }
    if let Some(read_point) = &e.read_point {
        validate::text("read_point.id", &read_point.id, 512, false)?;
    }
    Ok(event)
}

pub(super) fn record<E: KvEngine>(ctx: &mut Ctx<'_, E>, e: &pb::EpcisEvent) -> Rule {
    let event = check_shape(e)?;
    if let Some(decl) = &e.error_declaration {
        return declare_error(ctx, e, decl);
    }
    if !e.event_id.is_empty() {
        if ctx.view.exists(CF_STATE, &keys::event(&e.event_id))? {
            return refuse(
                Reason::AlreadyExists,
                format!("event {} is recorded already; correct it with an error declaration", e.event_id),
            );
        }
        let rec = EventRecord { party: ctx.signer_id().to_owned(), leaf: ctx.leaf, retracted_leaf: 0 };
        ctx.view.put_record(CF_STATE, keys::event(&e.event_id), &rec);
    }
    let class = StepClass::of(&e.biz_step);
    let (uris, action) = named(event);
    // Sets for membership, vectors for order: an event lists up to
    // MAX_EPCS identifiers and reaches up to MAX_REACHED objects, and every
    // replica runs this on its Raft loop (a linear scan per identifier took
    // tens of seconds at 100,000).
    let mut seen: HashSet<Vec<u8>> = HashSet::with_capacity(uris.len());
    let mut direct: Vec<Object> = Vec::new();
    for uri in uris {
        let obj = lifecycle::load(&ctx.view, "epc", uri)?;
        if seen.insert(obj.key.clone()) {
            direct.push(obj);
        }
    }
    let mut reached: Vec<(Object, String)> = Vec::new();
    for d in &direct {
        let mut inside = Vec::new();
        lifecycle::contents(&ctx.view, d, &mut inside)?;
        for o in inside {
            if seen.insert(o.key.clone()) {
                reached.push((o, d.uri.clone()));
            }
        }
    }
    let packing = matches!(event, Event::AggregationEvent(a) if a.action == pb::EpcisAction::Add as i32);
    if class.moves_goods() || packing {
        for o in direct.iter().chain(reached.iter().map(|(o, _)| o)) {
            check_in_circulation(ctx, o)?;
        }
    }
    check_seizure(ctx, e, class)?;
    check_custody(ctx, class, &direct)?;
    if let Event::AggregationEvent(a) = event {
        aggregate(ctx, a, &mut direct, &mut reached)?;
    }
    // DELETE ends the objects' existence only in an ObjectEvent: in the
    // other event types it removes them from a parent or a transaction.
    let destroy = class == StepClass::Destroy
        || action == pb::EpcisAction::Delete as i32 && matches!(event, Event::ObjectEvent(_));
    let shippers = direct.iter().chain(reached.iter().map(|(o, _)| o)).map(|o| o.state.shipped_by.clone()).collect();
    let step = Transition::new(ctx, e, class, destroy, shippers)?;
    if step.destroy.is_some() {
        // Destroying or reporting stolen takes the objects out of
        // circulation: only their holder may (the brand has DecommissionItems).
        check_custody(ctx, StepClass::Handle, &direct)?;
    }
    for o in direct.iter_mut().chain(reached.iter_mut().map(|(o, _)| o)) {
        step.apply(o);
    }
    record_tracking(ctx, e, class)?;
    for o in &direct {
        o.save(ctx);
        ctx.index_object(&o.key, "");
        if let Some(item) = o.item() {
            ctx.index_gtin(&item.gtin.clone());
        }
    }
    for (o, via) in &reached {
        o.save(ctx);
        ctx.index_object(&o.key, via);
    }
    Ok(())
}

fn check_in_circulation<E: KvEngine>(ctx: &Ctx<'_, E>, o: &Object) -> Rule {
    if let Some(why) = lifecycle::out_of_circulation(&ctx.view, o)? {
        return refuse(Reason::ItemOutOfCirculation, format!("{} is out of circulation ({why})", o.uri));
    }
    if let Some(item) = o.item()
        && let Some(r) = lifecycle::recalls_in_force(&ctx.view, item, ctx.time_ms)?.first()
    {
        let id = r.recall.as_ref().map(|x| x.recall_id.as_str()).unwrap_or_default();
        return refuse(Reason::ItemRecalled, format!("{} is under recall {id} by {}", o.uri, r.issuer));
    }
    Ok(())
}

/// Seizure is customs' alone, whatever the role policy says: only the
/// customs seizing step seizes, only a party with the customs role signs
/// it (custody or declaration is checked per object in [`check_custody`]).
/// Taking genuine goods out of circulation for good is not a right a
/// policy change should be able to hand a rival.
fn check_seizure<E: KvEngine>(ctx: &Ctx<'_, E>, e: &pb::EpcisEvent, class: StepClass) -> Rule {
    let seizing_disposition = same_term(&e.disposition, vocab::DISP_SEIZED);
    if seizing_disposition && class != StepClass::CustomsSeize {
        return refuse(
            Reason::SeizureNotPermitted,
            format!("disposition {} only with bizStep {}", vocab::DISP_SEIZED, vocab::CUSTOMS_SEIZING),
        );
    }
    if class == StepClass::CustomsSeize && !ctx.signer.roles.contains(&(pb::PartyRole::Customs as i32)) {
        return refuse(Reason::SeizureNotPermitted, format!("{} does not hold the customs role", ctx.signer_id()));
    }
    Ok(())
}

/// The party a destination names: a party GLN (`urn:epc:id:pgln:...`) one
/// party declared, or `urn:veritrace:party:{id}`.
fn destination_party<E: KvEngine>(ctx: &Ctx<'_, E>, e: &pb::EpcisEvent) -> Rule<Option<String>> {
    for d in &e.destination_list {
        if !matches!(short_name(&d.r#type), "owning_party" | "possessing_party") {
            continue;
        }
        if let Some(id) = d.destination.strip_prefix("urn:veritrace:party:") {
            return Ok(Some(id.to_owned()));
        }
        if let Some(gln) = d.destination.strip_prefix("urn:epc:id:pgln:")
            && let Ok(gln) = Gln::from_body(&gln.replace('.', ""))
            && let Some(owner) = ctx.view.get(CF_STATE, &keys::party_gln(gln.as_str()))?
        {
            return Ok(Some(String::from_utf8_lossy(&owner).into_owned()));
        }
    }
    Ok(None)
}

fn check_custody<E: KvEngine>(ctx: &Ctx<'_, E>, class: StepClass, direct: &[Object]) -> Rule {
    let me = ctx.signer_id();
    for o in direct.iter().filter(|o| o.tracked()) {
        let s = &o.state;
        match class {
            StepClass::Ship | StepClass::Handle | StepClass::Sell if s.custodian != me || s.in_transit => {
                let holder =
                    if s.in_transit { format!("in transit from {}", s.shipped_by) } else { s.custodian.clone() };
                return refuse(Reason::NotCustodian, format!("{} is held by {holder}, not {me}", o.uri));
            }
            StepClass::Carry | StepClass::Deliver if !s.in_transit => {
                return refuse(Reason::NotInTransit, format!("{} was not shipped", o.uri));
            }
            StepClass::Carry | StepClass::Deliver => {
                // The carrier the shipment names, else the one that picked
                // it up; the first pickup of a shipment that names none
                // makes its signer the carrier.
                let named = vocab::parse_tracking(&s.tracking).map(|(carrier, _)| carrier).unwrap_or_default();
                let carrier = if named.is_empty() { s.carrier.as_str() } else { named };
                if !carrier.is_empty() && carrier != me {
                    return refuse(Reason::WrongCarrier, format!("{} is carried by {carrier}, not {me}", o.uri));
                }
            }
            StepClass::CustomsSeize => {
                let declared_to_me = s.in_customs && (s.customs_party.is_empty() || s.customs_party == me);
                if s.custodian != me && !declared_to_me {
                    return refuse(
                        Reason::SeizureNotPermitted,
                        format!("{} is neither held by {me} nor declared to it", o.uri),
                    );
                }
            }
            StepClass::CustomsClear if s.in_customs && !s.customs_party.is_empty() && s.customs_party != me => {
                return refuse(
                    Reason::SeizureNotPermitted,
                    format!("{} was declared to {}, not {me}", o.uri, s.customs_party),
                );
            }
            StepClass::Receive if s.custodian != me || s.in_transit => {
                if !s.in_transit {
                    return refuse(Reason::NotInTransit, format!("{} was not shipped", o.uri));
                }
                if !s.ship_to.is_empty() && s.ship_to != me {
                    return refuse(Reason::WrongRecipient, format!("{} was shipped to {}, not {me}", o.uri, s.ship_to));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Packs (ADD) or unpacks (DELETE) children of a container. `reached` are
/// the objects inside the named containers (saved by the caller).
fn aggregate<E: KvEngine>(
    ctx: &mut Ctx<'_, E>,
    a: &pb::AggregationEvent,
    direct: &mut [Object],
    reached: &mut [(Object, String)],
) -> Rule {
    let me = ctx.signer_id().to_owned();
    let add = a.action == pb::EpcisAction::Add as i32;
    let delete = a.action == pb::EpcisAction::Delete as i32;
    if !(add || delete) {
        return Ok(());
    }
    let Some(pi) = direct.iter().position(|o| o.uri == a.parent_id) else { return Ok(()) };
    let parent_key = direct[pi].key.clone();
    let parent_uri = direct[pi].uri.clone();
    if direct[pi].tracked() && direct[pi].state.custodian != me {
        return refuse(
            Reason::NotCustodian,
            format!("{} is held by {}, not {me}", parent_uri, direct[pi].state.custodian),
        );
    }
    let mut children: Vec<Vec<u8>> = match &direct[pi].kind {
        Kind::Container(Some(c)) => c.children.clone(),
        _ => Vec::new(),
    };
    // Membership in a set: a container may hold up to MAX_REACHED children.
    let mut in_parent: HashSet<Vec<u8>> = children.iter().cloned().collect();
    if add {
        // Ancestors of the parent: packing one of them into it would close a loop.
        let mut ancestors = Vec::new();
        let mut up = direct[pi].state.parent.clone();
        while !up.is_empty() && ancestors.len() <= lifecycle::MAX_NESTING {
            ancestors.push(up.clone());
            up = ctx
                .view
                .record::<ContainerRecord>(CF_STATE, &keys::container(&up), "container")?
                .and_then(|c| c.state)
                .map(|s| s.parent)
                .unwrap_or_default();
        }
        for child in direct.iter_mut().filter(|o| o.key != parent_key) {
            if ancestors.contains(&child.key) {
                return refuse(Reason::AggregationCycle, format!("{} contains {}", child.uri, parent_uri));
            }
            if !child.state.parent.is_empty() && child.state.parent != parent_key {
                return refuse(
                    Reason::AlreadyAggregated,
                    format!("{} is packed in {}", child.uri, child.state.parent_uri),
                );
            }
            if child.tracked() && child.state.custodian != me {
                return refuse(
                    Reason::NotCustodian,
                    format!("{} is held by {}, not {me}", child.uri, child.state.custodian),
                );
            }
            child.state.parent = parent_key.clone();
            child.state.parent_uri = parent_uri.clone();
            if let Kind::Container(None) = child.kind {
                // A container packed for the first time is held by the packer.
                child.state.custodian = me.clone();
                child.kind = Kind::Container(Some(ContainerRecord { uri: child.uri.clone(), ..Default::default() }));
            }
            if in_parent.insert(child.key.clone()) {
                children.push(child.key.clone());
            }
        }
        if a.child_epcs.iter().any(|c| c == &a.parent_id) {
            return refuse(Reason::AggregationCycle, format!("{} cannot contain itself", a.parent_id));
        }
    } else {
        let unpack_all = a.child_epcs.is_empty();
        let mut removed: HashSet<Vec<u8>> = HashSet::new();
        for child in direct.iter_mut().filter(|o| o.key != parent_key) {
            if !in_parent.contains(&child.key) {
                return refuse(Reason::NotInContainer, format!("{} is not in {parent_uri}", child.uri));
            }
            child.state.parent.clear();
            child.state.parent_uri.clear();
            removed.insert(child.key.clone());
        }
        children.retain(|k| !removed.contains(k));
        if unpack_all {
            // The children are among the reached objects, which the caller
            // saves after this: clear their link there, or the save would
            // restore it.
            children.clear();
            for (o, _) in reached.iter_mut().filter(|(o, _)| o.state.parent == parent_key) {
                o.state.parent.clear();
                o.state.parent_uri.clear();
            }
        }
    }
    let parent = &mut direct[pi];
    if !parent.tracked() {
        parent.state.custodian = me;
    }
    let mut record = match &parent.kind {
        Kind::Container(Some(c)) => c.clone(),
        _ => ContainerRecord { uri: parent_uri, ..Default::default() },
    };
    record.children = children;
    if let Kind::Container(_) = parent.kind {
        parent.kind = Kind::Container(Some(record));
    }
    Ok(())
}

/// What an event does to the state of every object it reaches.
struct Transition {
    class: StepClass,
    signer: String,
    ship_to: Option<String>,
    tracking: String,
    destroy: Option<pb::DecommissionReason>,
    seize: bool,
    signer_sells: bool,
    /// Shippers of the objects (for a delivery) that sell to consumers.
    retail_shippers: Vec<String>,
    leaf: u64,
}

/// Whether a party sells to consumers: goods it receives, or parcels it
/// ships that are delivered, have reached retail.
fn sells_to_consumers(p: &pb::Party) -> bool {
    p.roles.iter().any(|r| *r == pb::PartyRole::Retailer as i32 || *r == pb::PartyRole::Platform as i32)
}

impl Transition {
    fn new<E: KvEngine>(
        ctx: &Ctx<'_, E>,
        e: &pb::EpcisEvent,
        class: StepClass,
        destroy: bool,
        mut shippers: Vec<String>,
    ) -> Rule<Self> {
        let disposition = short_name(&e.disposition);
        let destroy = if destroy || disposition == "destroyed" {
            Some(pb::DecommissionReason::Destroyed)
        } else if disposition == "stolen" {
            Some(pb::DecommissionReason::Stolen)
        } else {
            None
        };
        let tracking = e
            .biz_transaction_list
            .iter()
            .find(|b| vocab::parse_tracking(&b.biz_transaction).is_some())
            .map(|b| b.biz_transaction.clone())
            .unwrap_or_default();
        // Each distinct shipper is looked up once, however many objects it sent.
        let mut retail_shippers = Vec::new();
        if class == StepClass::Deliver {
            shippers.sort();
            shippers.dedup();
            for shipper in shippers.into_iter().filter(|s| !s.is_empty()) {
                if ctx.party(&shipper)?.is_some_and(|p| sells_to_consumers(&p)) {
                    retail_shippers.push(shipper);
                }
            }
        }
        Ok(Transition {
            class,
            signer: ctx.signer_id().to_owned(),
            ship_to: if class == StepClass::Ship { destination_party(ctx, e)? } else { None },
            tracking,
            destroy,
            seize: class == StepClass::CustomsSeize,
            signer_sells: sells_to_consumers(&ctx.signer),
            retail_shippers,
            leaf: ctx.leaf,
        })
    }

    fn apply(&self, o: &mut Object) {
        let s = &mut o.state;
        match self.class {
            StepClass::Ship => {
                s.in_transit = true;
                s.shipped_by = self.signer.clone();
                s.ship_to = self.ship_to.clone().unwrap_or_default();
                s.carrier.clear();
                s.tracking = self.tracking.clone();
            }
            StepClass::Carry => s.carrier = self.signer.clone(),
            StepClass::Deliver => {
                s.carrier = self.signer.clone();
                // A seller's parcel delivered to its buyer has reached retail.
                if self.retail_shippers.contains(&s.shipped_by) {
                    s.reached_retail = true;
                }
            }
            StepClass::Receive => {
                s.custodian = self.signer.clone();
                s.in_transit = false;
                s.shipped_by.clear();
                s.ship_to.clear();
                s.carrier.clear();
                s.tracking.clear();
                s.reached_retail |= self.signer_sells;
            }
            StepClass::Sell => {
                s.sold = true;
                s.reached_retail = true;
            }
            StepClass::CustomsDeclare => {
                s.in_customs = true;
                s.customs_party = self.signer.clone();
            }
            StepClass::CustomsClear => {
                s.in_customs = false;
                s.customs_party.clear();
            }
            _ => {}
        }
        if self.seize {
            s.seized = true;
            s.in_customs = true;
        }
        if let Some(reason) = self.destroy {
            match &mut o.kind {
                Kind::Item(item) if item.decommission_reason == 0 => {
                    item.decommission_reason = reason as i32;
                    item.decommissioned_leaf = self.leaf;
                }
                Kind::Container(Some(c)) if c.decommission_reason == 0 => c.decommission_reason = reason as i32,
                _ => {}
            }
        }
    }
}

fn record_tracking<E: KvEngine>(ctx: &mut Ctx<'_, E>, e: &pb::EpcisEvent, class: StepClass) -> Rule {
    for b in &e.biz_transaction_list {
        let Some((carrier, _)) = vocab::parse_tracking(&b.biz_transaction) else { continue };
        validate::text("biz_transaction", &b.biz_transaction, 512, true)?;
        let key = keys::tracking(&b.biz_transaction);
        let mut rec = ctx.view.record::<TrackingRecord>(CF_STATE, &key, "tracking")?.unwrap_or_default();
        match class {
            StepClass::Ship if rec.shipper.is_empty() => {
                rec.carrier = carrier.to_owned();
                rec.shipper = ctx.signer_id().to_owned();
                rec.shipped_leaf = ctx.leaf;
            }
            StepClass::Carry | StepClass::Deliver if carrier == ctx.signer_id() && !rec.confirmed => {
                rec.carrier = carrier.to_owned();
                rec.confirmed = true;
                rec.confirmed_leaf = ctx.leaf;
                if super::marketplace::supplier::counts_as_delivery(&rec) {
                    let shipper = rec.shipper.clone();
                    super::marketplace::supplier::record_delivery(
                        &mut ctx.view,
                        &shipper,
                        ctx.leaf,
                        &b.biz_transaction,
                    );
                }
            }
            _ => continue,
        }
        ctx.view.put_record(CF_STATE, key, &rec);
    }
    Ok(())
}

/// An EPCIS error declaration: marks the party's own earlier event retracted.
fn declare_error<E: KvEngine>(ctx: &mut Ctx<'_, E>, e: &pb::EpcisEvent, decl: &pb::ErrorDeclaration) -> Rule {
    require(!e.event_id.is_empty(), || "an error declaration must carry the event_id of the event it declares".into())?;
    let Some(t) = &decl.declaration_time else {
        return refuse(Reason::InvalidAction, "error_declaration.declaration_time is required");
    };
    validate::time_ms("error_declaration.declaration_time", t)?;
    validate::text("error_declaration.reason", &decl.reason, 512, false)?;
    let key = keys::event(&e.event_id);
    let Some(mut rec) = ctx.view.record::<EventRecord>(CF_STATE, &key, "event")? else {
        return refuse(Reason::UnknownEvent, format!("no event {} in the ledger", e.event_id));
    };
    if rec.party != ctx.signer_id() {
        return refuse(Reason::NotEventOwner, format!("event {} was recorded by {}", e.event_id, rec.party));
    }
    if rec.retracted_leaf != 0 {
        return refuse(Reason::AlreadyExists, format!("event {} is already declared erroneous", e.event_id));
    }
    rec.retracted_leaf = ctx.leaf;
    ctx.view.put_record(CF_STATE, key, &rec);
    // List the declaration next to the event in the histories of what it names.
    if let Some(event) = &e.event {
        for uri in named(event).0 {
            if let Ok(id) = validate::epc("epc", uri) {
                ctx.index_object(&id.key_bytes(), "");
            }
        }
    }
    Ok(())
}
