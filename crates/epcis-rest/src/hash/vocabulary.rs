//! CBV 2.0 and GS1 vocabulary terms, for the bare strings of EPCIS JSON-LD
//! (`"bizStep": "shipping"`), and their expansion to Web URIs (spec §4.5,
//! §4.6). The term lists are those of the scoped contexts the standard
//! EPCIS 2.0 context gives each field (gs1/EPCIS `JSON-LD-Context/*.jsonld`).
//!
//! Field-scoped, unlike R, which replaces any string anywhere in the document
//! that ends one expanded vocabulary value (so an extension value `"po"`
//! would become `https://ref.gs1.org/cbv/BTT-po` there when a bizTransaction
//! of type po is in the same document).

use super::values::Namespaces;

/// The vocabulary a field's value is taken from.
#[derive(Debug, Clone, Copy)]
pub(super) enum Vocabulary {
    /// `bizStep`.
    BizStep,
    /// `disposition`, `persistentDisposition.set/unset`.
    Disposition,
    /// `bizTransactionList[].type`.
    BizTransactionType,
    /// `sourceList[].type`, `destinationList[].type`.
    SourceDestinationType,
    /// `sensorReport.type`.
    MeasurementType,
    /// `sensorReport.exception`.
    SensorAlert,
    /// `sensorReport.component`.
    Component,
}

impl Vocabulary {
    /// The Web URI prefix of the vocabulary's terms and the terms.
    fn terms(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Vocabulary::BizStep => ("https://ref.gs1.org/cbv/BizStep-", &BIZ_STEPS),
            Vocabulary::Disposition => ("https://ref.gs1.org/cbv/Disp-", &DISPOSITIONS),
            Vocabulary::BizTransactionType => ("https://ref.gs1.org/cbv/BTT-", &BIZ_TRANSACTION_TYPES),
            Vocabulary::SourceDestinationType => ("https://ref.gs1.org/cbv/SDT-", &SOURCE_DESTINATION_TYPES),
            // R and openepcis' CBV 2.0 mode use https://gs1.org/voc/, not
            // https://ref.gs1.org/voc/ as the README example says (spec §4.6).
            Vocabulary::MeasurementType => ("https://gs1.org/voc/", &MEASUREMENT_TYPES),
            Vocabulary::SensorAlert => ("https://gs1.org/voc/", &SENSOR_ALERTS),
            Vocabulary::Component => ("https://ref.gs1.org/cbv/Comp-", &COMPONENTS),
        }
    }

    /// Whether `word` is a bare term of this vocabulary (`shipping`).
    pub(super) fn has_term(self, word: &str) -> bool {
        self.terms().1.contains(&word)
    }

    /// A value of this vocabulary before `canon`: a bare term as its Web
    /// URI, a CURIE (`cbv:BizStep-shipping`, `gs1:Temperature`) expanded,
    /// anything else (URNs, Web URIs, unknown words) as it is.
    pub(super) fn expand(self, value: &str, namespaces: &Namespaces) -> String {
        let (prefix, terms) = self.terms();
        let trimmed = value.trim();
        if terms.contains(&trimmed) {
            return format!("{prefix}{trimmed}");
        }
        namespaces.expand_value(trimmed)
    }
}

/// CBV 2.0 business steps.
const BIZ_STEPS: [&str; 41] = [
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "sampling",
    "sensor_reporting",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
];

/// CBV 2.0 dispositions.
const DISPOSITIONS: [&str; 33] = [
    "active",
    "available",
    "completeness_inferred",
    "completeness_verified",
    "conformant",
    "container_closed",
    "container_open",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "mismatch_class",
    "mismatch_instance",
    "mismatch_quantity",
    "needs_replacement",
    "no_pedigree_match",
    "non_conformant",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unavailable",
    "unknown",
];

/// CBV 2.0 business transaction types.
const BIZ_TRANSACTION_TYPES: [&str; 13] = [
    "bol",
    "cert",
    "desadv",
    "inv",
    "pedigree",
    "po",
    "poc",
    "prodorder",
    "recadv",
    "rma",
    "testprd",
    "testres",
    "upevt",
];

/// CBV 2.0 source / destination types.
const SOURCE_DESTINATION_TYPES: [&str; 3] = ["location", "owning_party", "possessing_party"];

/// GS1 Web Vocabulary measurement types.
const MEASUREMENT_TYPES: [&str; 72] = [
    "AbsoluteHumidity",
    "AbsorbedDose",
    "AbsorbedDoseRate",
    "Acceleration",
    "Altitude",
    "AmountOfSubstance",
    "AmountOfSubstancePerUnitVolume",
    "Angle",
    "AngularAcceleration",
    "AngularMomentum",
    "AngularVelocity",
    "Area",
    "Capacitance",
    "Conductance",
    "Conductivity",
    "Count",
    "Density",
    "Dimensionless",
    "DoseEquivalent",
    "DoseEquivalentRate",
    "DynamicViscosity",
    "ElectricCharge",
    "ElectricCurrent",
    "ElectricCurrentDensity",
    "ElectricFieldStrength",
    "Energy",
    "Exposure",
    "Force",
    "Frequency",
    "Illuminance",
    "Inductance",
    "Irradiance",
    "KinematicViscosity",
    "Length",
    "LinearMomentum",
    "Luminance",
    "LuminousFlux",
    "LuminousIntensity",
    "MagneticFlux",
    "MagneticFluxDensity",
    "MagneticVectorPotential",
    "Mass",
    "MassConcentration",
    "MassFlowRate",
    "MassPerAreaTime",
    "MemoryCapacity",
    "MolalityOfSolute",
    "MolarEnergy",
    "MolarMass",
    "MolarVolume",
    "Power",
    "Pressure",
    "RadiantFlux",
    "RadiantIntensity",
    "Radioactivity",
    "RelativeHumidity",
    "Resistance",
    "Resistivity",
    "SolidAngle",
    "SpecificVolume",
    "Speed",
    "SurfaceDensity",
    "SurfaceTension",
    "Temperature",
    "Time",
    "Torque",
    "Voltage",
    "Volume",
    "VolumeFlowRate",
    "VolumeFraction",
    "VolumetricFlux",
    "Wavenumber",
];

/// GS1 Web Vocabulary sensor alert types.
const SENSOR_ALERTS: [&str; 2] = ["ALARM_CONDITION", "ERROR_CONDITION"];

/// CBV 2.0 components of vector measurements.
const COMPONENTS: [&str; 14] = [
    "altitude",
    "axial_distance",
    "azimuth",
    "easting",
    "elevation_angle",
    "height",
    "latitude",
    "longitude",
    "northing",
    "polar_angle",
    "spherical_radius",
    "x",
    "y",
    "z",
];
