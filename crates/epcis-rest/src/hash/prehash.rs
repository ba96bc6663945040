//! The pre-hash string of profile R (spec §2): `eventType=...`, then the
//! fields of the fixed order (PHASE1), then everything else rendered and
//! sorted as whole strings (PHASE2).

use veritrace_proto::v1 as pb;
use veritrace_proto::v1::epcis_event::Event;

use super::HashError;
use super::extensions;
use super::values::{Namespaces, canon, format_number, timestamp};
use super::vocabulary::Vocabulary;

/// The "what" of any event type, borrowed; what a type lacks stays empty.
#[derive(Default)]
struct What<'a> {
    event_type: &'static str,
    action: i32,
    parent_id: &'a str,
    epc_list: &'a [String],
    input_epc_list: &'a [String],
    child_epcs: &'a [String],
    quantity_list: &'a [pb::QuantityElement],
    child_quantity_list: &'a [pb::QuantityElement],
    input_quantity_list: &'a [pb::QuantityElement],
    output_epc_list: &'a [String],
    output_quantity_list: &'a [pb::QuantityElement],
    transformation_id: &'a str,
    persistent_disposition: Option<&'a pb::PersistentDisposition>,
    ilmd: &'a [pb::Extension],
}

impl<'a> What<'a> {
    fn of(event: &'a Event) -> Self {
        match event {
            Event::ObjectEvent(e) => What {
                event_type: "ObjectEvent",
                action: e.action,
                epc_list: &e.epc_list,
                quantity_list: &e.quantity_list,
                persistent_disposition: e.persistent_disposition.as_ref(),
                ilmd: &e.ilmd,
                ..What::default()
            },
            Event::AggregationEvent(e) => What {
                event_type: "AggregationEvent",
                action: e.action,
                parent_id: &e.parent_id,
                child_epcs: &e.child_epcs,
                child_quantity_list: &e.child_quantity_list,
                ..What::default()
            },
            Event::TransactionEvent(e) => What {
                event_type: "TransactionEvent",
                action: e.action,
                parent_id: &e.parent_id,
                epc_list: &e.epc_list,
                quantity_list: &e.quantity_list,
                ..What::default()
            },
            Event::TransformationEvent(e) => What {
                event_type: "TransformationEvent",
                input_epc_list: &e.input_epc_list,
                input_quantity_list: &e.input_quantity_list,
                output_epc_list: &e.output_epc_list,
                output_quantity_list: &e.output_quantity_list,
                transformation_id: &e.transformation_id,
                persistent_disposition: e.persistent_disposition.as_ref(),
                ilmd: &e.ilmd,
                ..What::default()
            },
            Event::AssociationEvent(e) => What {
                event_type: "AssociationEvent",
                action: e.action,
                parent_id: &e.parent_id,
                child_epcs: &e.child_epcs,
                child_quantity_list: &e.child_quantity_list,
                ..What::default()
            },
        }
    }
}

/// The pre-hash string of `event`.
pub(super) fn build(event: &pb::EpcisEvent) -> Result<String, HashError> {
    let ns = Namespaces::of_event(event);
    let what = What::of(event.event.as_ref().ok_or_else(|| HashError::new("the event has no type"))?);
    let event_time = event.event_time.as_ref().ok_or_else(|| HashError::new("the event has no eventTime"))?;

    let mut out = format!("eventType={}", what.event_type);
    // PHASE1, R's PROP_ORDER (spec §2.1).
    out.push_str(&format!("eventTime={}", timestamp(event_time)?));
    scalar(&mut out, "eventTimeZoneOffset", event.event_time_zone_offset.trim());
    out.push_str(&sorted(event.certification_info.iter().map(|uri| format!("certificationInfo={}", id(uri, &ns)))));
    scalar(&mut out, "parentID", &id(what.parent_id, &ns));
    epcs(&mut out, "epcList", what.epc_list, &ns);
    epcs(&mut out, "inputEPCList", what.input_epc_list, &ns);
    epcs(&mut out, "childEPCs", what.child_epcs, &ns);
    quantities(&mut out, "quantityList", what.quantity_list, &ns)?;
    quantities(&mut out, "childQuantityList", what.child_quantity_list, &ns)?;
    quantities(&mut out, "inputQuantityList", what.input_quantity_list, &ns)?;
    epcs(&mut out, "outputEPCList", what.output_epc_list, &ns);
    quantities(&mut out, "outputQuantityList", what.output_quantity_list, &ns)?;
    scalar(&mut out, "action", action(what.action)?);
    scalar(&mut out, "transformationID", &id(what.transformation_id, &ns));
    scalar(&mut out, "bizStep", &vocabulary(Vocabulary::BizStep, &event.biz_step, &ns));
    scalar(&mut out, "disposition", &vocabulary(Vocabulary::Disposition, &event.disposition, &ns));
    if let Some(persistent) = what.persistent_disposition {
        let set = sorted(persistent.set.iter().map(|v| format!("set={}", vocabulary(Vocabulary::Disposition, v, &ns))));
        let unset =
            sorted(persistent.unset.iter().map(|v| format!("unset={}", vocabulary(Vocabulary::Disposition, v, &ns))));
        nested(&mut out, "persistentDisposition", format!("{set}{unset}"));
    }
    if let Some(read_point) = &event.read_point {
        nested(&mut out, "readPoint", location(&read_point.id, &read_point.extensions, &ns)?);
    }
    if let Some(biz_location) = &event.biz_location {
        nested(&mut out, "bizLocation", location(&biz_location.id, &biz_location.extensions, &ns)?);
    }
    let elements =
        event.sensor_element_list.iter().map(|e| super::sensors::element(e, &ns)).collect::<Result<Vec<_>, _>>()?;
    nested(&mut out, "sensorElementList", sorted(elements.into_iter()));

    // PHASE2: everything else, each rendered whole, sorted (spec §2.2).
    let mut rest = Vec::new();
    let transactions = event
        .biz_transaction_list
        .iter()
        .map(|t| typed(Vocabulary::BizTransactionType, &t.r#type, "bizTransaction", &t.biz_transaction, &ns));
    rest.push(prefixed("bizTransactionList", sorted(transactions)));
    let sources =
        event.source_list.iter().map(|s| typed(Vocabulary::SourceDestinationType, &s.r#type, "source", &s.source, &ns));
    rest.push(prefixed("sourceList", sorted(sources)));
    let destinations = event
        .destination_list
        .iter()
        .map(|d| typed(Vocabulary::SourceDestinationType, &d.r#type, "destination", &d.destination, &ns));
    rest.push(prefixed("destinationList", sorted(destinations)));
    // An empty `ilmd` is omitted (R writes the bare word for `"ilmd": {}`).
    rest.push(prefixed("ilmd", sorted(extensions::render_all(what.ilmd, &ns)?.into_iter())));
    rest.extend(extensions::render_all(&event.extensions, &ns)?);
    rest.retain(|part| !part.is_empty());
    rest.sort();
    out.push_str(&rest.concat());
    Ok(out)
}

/// An identifier or other URI value: CURIEs expanded, then `canon`.
pub(super) fn id(value: &str, ns: &Namespaces) -> String {
    canon(&ns.expand_value(value.trim()))
}

/// A vocabulary value: bare terms and CURIEs expanded, then `canon`.
pub(super) fn vocabulary(vocabulary: Vocabulary, value: &str, ns: &Namespaces) -> String {
    canon(&vocabulary.expand(value, ns))
}

/// `name=value`, unless the value is empty (absent in the proto).
pub(super) fn scalar(out: &mut String, name: &str, value: &str) {
    if !value.is_empty() {
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
}

/// `name` + its rendered content, unless the content is empty (an absent
/// or empty list or object contributes nothing).
pub(super) fn nested(out: &mut String, name: &str, content: String) {
    out.push_str(&prefixed(name, content));
}

fn prefixed(name: &str, content: String) -> String {
    if content.is_empty() { content } else { format!("{name}{content}") }
}

/// Sibling strings sorted by code point and concatenated (spec §5).
pub(super) fn sorted(parts: impl Iterator<Item = String>) -> String {
    let mut parts: Vec<String> = parts.collect();
    parts.sort();
    parts.concat()
}

fn epcs(out: &mut String, name: &str, epcs: &[String], ns: &Namespaces) {
    nested(out, name, sorted(epcs.iter().map(|epc| format!("epc={}", id(epc, ns)))));
}

/// `quantityElement` + `epcClass=` + `quantity=` + `uom=`, each if present.
fn quantities(
    out: &mut String,
    name: &str,
    elements: &[pb::QuantityElement],
    ns: &Namespaces,
) -> Result<(), HashError> {
    let mut rendered = Vec::new();
    for element in elements {
        let mut text = String::from("quantityElement");
        scalar(&mut text, "epcClass", &id(&element.epc_class, ns));
        if let Some(quantity) = element.quantity {
            scalar(&mut text, "quantity", &format_number(quantity)?);
        }
        scalar(&mut text, "uom", element.uom.trim());
        rendered.push(text);
    }
    nested(out, name, sorted(rendered.into_iter()));
    Ok(())
}

fn action(action: i32) -> Result<&'static str, HashError> {
    match pb::EpcisAction::try_from(action) {
        Ok(pb::EpcisAction::Unspecified) => Ok(""),
        Ok(pb::EpcisAction::Add) => Ok("ADD"),
        Ok(pb::EpcisAction::Observe) => Ok("OBSERVE"),
        Ok(pb::EpcisAction::Delete) => Ok("DELETE"),
        Err(_) => Err(HashError::new(format!("unknown action {action}"))),
    }
}

/// `readPoint` / `bizLocation` content: `id=...` and its extensions.
fn location(location_id: &str, extensions: &[pb::Extension], ns: &Namespaces) -> Result<String, HashError> {
    let mut text = String::new();
    scalar(&mut text, "id", &id(location_id, ns));
    text.push_str(&extensions::inline(extensions, ns)?);
    Ok(text)
}

/// A bizTransaction / source / destination entry: `type=` first, then the
/// id (R's order since its issue #80; an entry without type has the id only).
fn typed(vocab: Vocabulary, kind: &str, name: &str, value: &str, ns: &Namespaces) -> String {
    let mut text = String::new();
    scalar(&mut text, "type", &vocabulary(vocab, kind, ns));
    scalar(&mut text, name, &id(value, ns));
    text
}
