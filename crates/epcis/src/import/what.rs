//! The "what" of each event type: the properties only that type has, read
//! into the message of its `EpcisEvent.event` oneof case.

use serde_json::Value;
use veritrace_proto::v1::epcis_event::Event;

use super::parts::{action, persistent_disposition, quantity_list};
use crate::context::Context;
use crate::error::JsonPath;
use crate::extensions::read_ilmd;
use crate::read::{Result, string, string_list};

/// An event's type-specific part, being read.
pub(crate) struct What(Event);

impl What {
    /// The empty part for an EPCIS `type` value; `None` for anything but the
    /// five standard event types.
    pub(crate) fn for_type(event_type: &str) -> Option<What> {
        let event = match event_type {
            "ObjectEvent" => Event::ObjectEvent(Default::default()),
            "AggregationEvent" => Event::AggregationEvent(Default::default()),
            "TransactionEvent" => Event::TransactionEvent(Default::default()),
            "TransformationEvent" => Event::TransformationEvent(Default::default()),
            "AssociationEvent" => Event::AssociationEvent(Default::default()),
            _ => return None,
        };
        Some(What(event))
    }

    /// Properties the EPCIS JSON schema requires for this type, besides
    /// `type`, `eventTime` and `eventTimeZoneOffset`.
    pub(crate) fn required(&self) -> &'static [&'static str] {
        match self.0 {
            Event::ObjectEvent(_) | Event::AggregationEvent(_) => &["action"],
            Event::TransactionEvent(_) => &["action", "bizTransactionList"],
            Event::TransformationEvent(_) => &[],
            Event::AssociationEvent(_) => &["action", "parentID"],
        }
    }

    /// Reads `key` if it is a property of this event type; `Ok(false)` if
    /// it is not.
    pub(crate) fn take(&mut self, key: &str, value: &Value, path: &JsonPath<'_>, context: &Context) -> Result<bool> {
        match &mut self.0 {
            Event::ObjectEvent(what) => match key {
                "action" => what.action = action(value, path)?,
                "epcList" => what.epc_list = string_list(value, path)?,
                "quantityList" => what.quantity_list = quantity_list(value, path)?,
                "persistentDisposition" => what.persistent_disposition = Some(persistent_disposition(value, path)?),
                "ilmd" => what.ilmd = read_ilmd(value, path, context)?,
                _ => return Ok(false),
            },
            Event::AggregationEvent(what) => match key {
                "action" => what.action = action(value, path)?,
                "parentID" => what.parent_id = string(value, path)?,
                "childEPCs" => what.child_epcs = string_list(value, path)?,
                "childQuantityList" => what.child_quantity_list = quantity_list(value, path)?,
                _ => return Ok(false),
            },
            Event::TransactionEvent(what) => match key {
                "action" => what.action = action(value, path)?,
                "parentID" => what.parent_id = string(value, path)?,
                "epcList" => what.epc_list = string_list(value, path)?,
                "quantityList" => what.quantity_list = quantity_list(value, path)?,
                _ => return Ok(false),
            },
            Event::TransformationEvent(what) => match key {
                "inputEPCList" => what.input_epc_list = string_list(value, path)?,
                "inputQuantityList" => what.input_quantity_list = quantity_list(value, path)?,
                "outputEPCList" => what.output_epc_list = string_list(value, path)?,
                "outputQuantityList" => what.output_quantity_list = quantity_list(value, path)?,
                "transformationID" => what.transformation_id = string(value, path)?,
                "persistentDisposition" => what.persistent_disposition = Some(persistent_disposition(value, path)?),
                "ilmd" => what.ilmd = read_ilmd(value, path, context)?,
                _ => return Ok(false),
            },
            Event::AssociationEvent(what) => match key {
                "action" => what.action = action(value, path)?,
                "parentID" => what.parent_id = string(value, path)?,
                "childEPCs" => what.child_epcs = string_list(value, path)?,
                "childQuantityList" => what.child_quantity_list = quantity_list(value, path)?,
                _ => return Ok(false),
            },
        }
        Ok(true)
    }

    /// The finished oneof case.
    pub(crate) fn into_event(self) -> Event {
        self.0
    }
}

/// The list properties of an event type's "what": those an empty array of
/// which is kept (`EpcisEvent.empty_lists`).
pub(crate) fn list_keys(event: &Event) -> &'static [&'static str] {
    match event {
        Event::ObjectEvent(_) | Event::TransactionEvent(_) => &["epcList", "quantityList"],
        Event::AggregationEvent(_) | Event::AssociationEvent(_) => &["childEPCs", "childQuantityList"],
        Event::TransformationEvent(_) => &["inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList"],
    }
}

impl What {
    /// Whether `key` holding `value` is an empty list property of this type.
    pub(crate) fn is_empty_list(&self, key: &str, value: &Value) -> bool {
        list_keys(&self.0).contains(&key) && value.as_array().is_some_and(Vec::is_empty)
    }
}
