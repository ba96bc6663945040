//! Records of the marketplace rules (`domain::marketplace`), stored in the
//! `state` column family like every other record (versioned, sealed).
//! Tags are part of the storage format: add fields, never renumber.

use veritrace_proto::v1 as pb;

/// Which kind of case a [`CaseRecord`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum CaseKind {
    /// Never stored.
    Unspecified = 0,
    /// An intellectual-property complaint.
    Ip = 1,
    /// A trade complaint.
    Trade = 2,
}

impl CaseKind {
    /// The one-byte tag of the kind in keys.
    pub fn tag(self) -> u8 {
        match self {
            CaseKind::Unspecified => b'?',
            CaseKind::Ip => b'i',
            CaseKind::Trade => b't',
        }
    }
}

/// A registered IP right (`ipright/{holder}\0{id}`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct IpRightRecord {
    /// The right as registered.
    #[prost(message, optional, tag = "1")]
    pub right: Option<pb::RegisterIpRight>,
    /// Its holder (the registering party).
    #[prost(string, tag = "2")]
    pub holder: String,
    /// Leaf of the registration.
    #[prost(uint64, tag = "3")]
    pub leaf: u64,
    /// The authority that attested it; empty while self-declared.
    #[prost(string, tag = "4")]
    pub attested_by: String,
    /// Leaf of that attestation.
    #[prost(uint64, tag = "5")]
    pub attested_leaf: u64,
}

/// An IP or trade case (`case/{kind tag}{filer}\0{id}`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CaseRecord {
    /// IP or trade.
    #[prost(enumeration = "CaseKind", tag = "1")]
    pub kind: i32,
    /// The filer (right holder or buyer).
    #[prost(string, tag = "2")]
    pub filer: String,
    /// The accused or the seller.
    #[prost(string, tag = "3")]
    pub respondent: String,
    /// The IP complaint as filed.
    #[prost(message, optional, tag = "4")]
    pub ip: Option<pb::FileIpComplaint>,
    /// The trade complaint as filed.
    #[prost(message, optional, tag = "5")]
    pub trade: Option<pb::FileTradeComplaint>,
    /// `CaseStatus`.
    #[prost(int32, tag = "6")]
    pub status: i32,
    /// `ClosedBy`.
    #[prost(int32, tag = "7")]
    pub closed_by: i32,
    /// Deadline of the step awaited, unix ms (0 once closed).
    #[prost(int64, tag = "8")]
    pub deadline_ms: i64,
    /// `LapseOutcome` applied if that deadline passes (fixed when the
    /// deadline was set: a policy change does not move running cases).
    #[prost(int32, tag = "9")]
    pub lapse_outcome: i32,
    /// The steps so far, oldest first.
    #[prost(message, repeated, tag = "10")]
    pub steps: Vec<pb::CaseStep>,
    /// The seller's answer (trade).
    #[prost(message, optional, tag = "11")]
    pub trade_answer: Option<pb::AnswerTradeComplaint>,
    /// Items an upholding decision withdrew.
    #[prost(uint32, tag = "12")]
    pub items_withdrawn: u32,
    /// Leaf of the filing.
    #[prost(uint64, tag = "13")]
    pub filed_leaf: u64,
    /// Leaf of the step the running deadline counts from.
    #[prost(uint64, tag = "14")]
    pub awaited_since_leaf: u64,
    /// The complaint kind counted in the respondent's profile ("ip" or a
    /// `TradeComplaintKind` name).
    #[prost(string, tag = "15")]
    pub count_kind: String,
}

/// A licence, audit or bond about a party, with where it comes from.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignalEntry {
    /// The signer.
    #[prost(string, tag = "1")]
    pub signer: String,
    /// Leaf of the statement.
    #[prost(uint64, tag = "2")]
    pub leaf: u64,
    /// Its commit time, unix ms.
    #[prost(int64, tag = "3")]
    pub record_ms: i64,
    /// A business licence.
    #[prost(message, optional, tag = "4")]
    pub licence: Option<pb::BusinessLicence>,
    /// A factory audit.
    #[prost(message, optional, tag = "5")]
    pub audit: Option<pb::FactoryAudit>,
    /// A delivery bond.
    #[prost(message, optional, tag = "6")]
    pub bond: Option<pb::DeliveryBond>,
}

/// What the marketplace rules count about one party (`supplier/{party}`;
/// its licences, audits and bonds are `supplier-signal/` entries of their
/// own).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SupplierRecord {
    /// Complaints against it (IP and trade), by kind, sorted by kind.
    #[prost(message, repeated, tag = "2")]
    pub complaints: Vec<pb::ComplaintCounts>,
    /// Upheld or accepted IP complaints.
    #[prost(uint32, tag = "3")]
    pub ip_strikes: u32,
    /// Its blacklist status, once governance decided one.
    #[prost(message, optional, tag = "4")]
    pub blacklist: Option<pb::BlacklistSignal>,
}

/// A complaint routed to the brand of its product
/// (`brand-complaint/{brand}\0{leaf}`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RoutedComplaint {
    /// The filer.
    #[prost(string, tag = "1")]
    pub filer: String,
    /// The filer's complaint id.
    #[prost(string, tag = "2")]
    pub complaint_id: String,
    /// Commit time of the complaint, unix ms (the acknowledgement window
    /// runs from it).
    #[prost(int64, tag = "3")]
    pub record_ms: i64,
}

/// A brand's acknowledgement of a complaint (`complaint-ack/{filer}\0{id}`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AckRecord {
    /// The brand.
    #[prost(string, tag = "1")]
    pub brand: String,
    /// Leaf of the acknowledgement.
    #[prost(uint64, tag = "2")]
    pub leaf: u64,
    /// Its commit time, unix ms.
    #[prost(int64, tag = "3")]
    pub record_ms: i64,
    /// The brand's note.
    #[prost(string, tag = "4")]
    pub note: String,
    /// It came after the acknowledgement window (the policy's in force at
    /// the acknowledgement).
    #[prost(bool, tag = "5")]
    pub late: bool,
}
