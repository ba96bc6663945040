//! CBV 2.0 vocabulary values and the Veritrace extensions to them.
//!
//! EPCIS events carry vocabulary values (bizStep, disposition,
//! bizTransaction and source / destination types, error reasons) either as
//! a CBV short name (`receiving`), a compact CBV term (`cbv:BizStep-receiving`),
//! a GS1 web URI (`https://ref.gs1.org/cbv/BizStep-receiving`) or an EPCIS
//! 1.x URN (`urn:epcglobal:cbv:bizstep:receiving`). The ledger stores the
//! value as sent and compares through [`short_name`], so all four forms
//! mean the same thing. Values outside the CBV (URIs of other
//! vocabularies, such as Veritrace's own `urn:veritrace:...` terms) compare
//! verbatim.

/// bizStep: goods declared to customs.
pub const CUSTOMS_DECLARING: &str = "urn:veritrace:bizstep:customs_declaring";
/// bizStep: goods released by customs.
pub const CUSTOMS_CLEARING: &str = "urn:veritrace:bizstep:customs_clearing";
/// bizStep: goods seized by customs.
pub const CUSTOMS_SEIZING: &str = "urn:veritrace:bizstep:customs_seizing";
/// disposition: seized by an authority.
pub const DISP_SEIZED: &str = "urn:veritrace:disp:seized";
/// bizTransaction type: customs declaration number.
pub const BTT_CUSTOMS_DECLARATION: &str = "urn:veritrace:btt:customs_declaration";
/// bizTransaction type: carrier tracking number; the value is
/// `urn:veritrace:tracking:{carrier}:{number}` (see [`parse_tracking`]).
pub const BTT_TRACKING_NUMBER: &str = "urn:veritrace:btt:tracking_number";
/// Prefix of a tracking-number bizTransaction value.
pub const TRACKING_PREFIX: &str = "urn:veritrace:tracking:";

/// The CBV short name of a vocabulary value, or the value itself when it
/// is not a CBV term.
///
/// ```
/// use veritrace_core::vocab::short_name;
/// assert_eq!(short_name("https://ref.gs1.org/cbv/BizStep-receiving"), "receiving");
/// assert_eq!(short_name("urn:epcglobal:cbv:bizstep:receiving"), "receiving");
/// assert_eq!(short_name("cbv:Disp-in_transit"), "in_transit");
/// assert_eq!(short_name("receiving"), "receiving");
/// assert_eq!(short_name("urn:veritrace:bizstep:customs_clearing"), "urn:veritrace:bizstep:customs_clearing");
/// ```
pub fn short_name(value: &str) -> &str {
    // GS1 web vocabulary and its compact form: `{Type}-{name}`.
    for prefix in ["https://ref.gs1.org/cbv/", "http://ref.gs1.org/cbv/", "cbv:", "gs1:"] {
        if let Some(rest) = value.strip_prefix(prefix) {
            return rest.split_once('-').map_or(rest, |(_, name)| name);
        }
    }
    // EPCIS 1.x URNs: `urn:epcglobal:cbv:{type}:{name}`.
    if let Some(rest) = value.strip_prefix("urn:epcglobal:cbv:") {
        return rest.split_once(':').map_or(rest, |(_, name)| name);
    }
    value
}

/// Whether two vocabulary values mean the same term.
pub fn same_term(a: &str, b: &str) -> bool {
    short_name(a) == short_name(b)
}

/// A carrier tracking number from a bizTransaction value
/// `urn:veritrace:tracking:{carrier}:{number}`: `(carrier, number)`, or
/// `None` when the value is not one (or either part is empty).
pub fn parse_tracking(value: &str) -> Option<(&str, &str)> {
    let rest = value.strip_prefix(TRACKING_PREFIX)?;
    let (carrier, number) = rest.split_once(':')?;
    (!carrier.is_empty() && !number.is_empty()).then_some((carrier, number))
}

/// What a bizStep does to the custody and life cycle of the objects it
/// names. The ledger's life-cycle rules are written against these classes,
/// not against individual bizSteps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepClass {
    /// `shipping`: the custodian hands the objects on.
    Ship,
    /// `departing`, `loading`, `transporting`: a carrier picks up or moves
    /// shipped objects.
    Carry,
    /// `arriving`, `unloading`: a carrier delivers shipped objects.
    Deliver,
    /// `receiving`, `accepting`: the recipient takes custody.
    Receive,
    /// `retail_selling`, `dispensing`: sold to a consumer.
    Sell,
    /// Veritrace `customs_declaring`: declared to customs.
    CustomsDeclare,
    /// Veritrace `customs_clearing`: released by customs.
    CustomsClear,
    /// Veritrace `customs_seizing`: seized.
    CustomsSeize,
    /// `destroying`, `decommissioning`: the objects cease to exist.
    Destroy,
    /// `packing`, `unpacking`, `staging_outbound`, `picking`, `storing`,
    /// `stocking`: moves within the custodian's premises.
    Handle,
    /// `returning`: goods on their way back (allowed for recalled items).
    Return,
    /// Anything else (inspecting, sensor reporting, other vocabularies):
    /// an observation that moves nothing.
    Observe,
}

impl StepClass {
    /// The class of a bizStep value (any form).
    pub fn of(biz_step: &str) -> StepClass {
        match short_name(biz_step) {
            "shipping" => StepClass::Ship,
            "departing" | "loading" | "transporting" => StepClass::Carry,
            "arriving" | "unloading" => StepClass::Deliver,
            "receiving" | "accepting" => StepClass::Receive,
            "retail_selling" | "dispensing" => StepClass::Sell,
            CUSTOMS_DECLARING => StepClass::CustomsDeclare,
            CUSTOMS_CLEARING => StepClass::CustomsClear,
            CUSTOMS_SEIZING => StepClass::CustomsSeize,
            "destroying" | "decommissioning" => StepClass::Destroy,
            "packing" | "unpacking" | "staging_outbound" | "picking" | "storing" | "stocking" => StepClass::Handle,
            "returning" => StepClass::Return,
            _ => StepClass::Observe,
        }
    }

    /// Whether the step moves or sells the objects: refused for items out
    /// of circulation or under a recall.
    pub fn moves_goods(self) -> bool {
        matches!(
            self,
            StepClass::Ship
                | StepClass::Carry
                | StepClass::Deliver
                | StepClass::Receive
                | StepClass::Sell
                | StepClass::Handle
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_cbv_forms_compare_equal() {
        for v in [
            "retail_selling",
            "cbv:BizStep-retail_selling",
            "https://ref.gs1.org/cbv/BizStep-retail_selling",
            "urn:epcglobal:cbv:bizstep:retail_selling",
        ] {
            assert_eq!(short_name(v), "retail_selling", "{v}");
            assert_eq!(StepClass::of(v), StepClass::Sell);
        }
        assert!(same_term("urn:epcglobal:cbv:disp:in_transit", "https://ref.gs1.org/cbv/Disp-in_transit"));
        assert!(!same_term("receiving", "shipping"));
    }

    #[test]
    fn veritrace_terms_are_verbatim() {
        assert_eq!(StepClass::of(CUSTOMS_CLEARING), StepClass::CustomsClear);
        assert_eq!(StepClass::of("urn:veritrace:bizstep:customs_other"), StepClass::Observe);
        assert_eq!(StepClass::of(""), StepClass::Observe);
    }

    #[test]
    fn tracking_numbers_parse() {
        assert_eq!(parse_tracking("urn:veritrace:tracking:fast-freight:1Z999"), Some(("fast-freight", "1Z999")));
        assert_eq!(parse_tracking("urn:veritrace:tracking:fast-freight:"), None);
        assert_eq!(parse_tracking("urn:veritrace:tracking::1"), None);
        assert_eq!(parse_tracking("urn:other:1"), None);
    }

    #[test]
    fn observations_do_not_move_goods() {
        assert!(!StepClass::of("inspecting").moves_goods());
        assert!(!StepClass::Return.moves_goods());
        assert!(StepClass::of("shipping").moves_goods());
    }
}
