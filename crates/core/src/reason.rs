//! Machine-readable reasons for refusing input.
//!
//! Each reason has a stable SCREAMING_SNAKE_CASE code, carried in receipts
//! (`Receipt.reason`) and, at the gRPC edge, in `google.rpc.ErrorInfo`.
//! Codes are part of the API: add new ones, never rename or reuse.

use crate::envelope::EnvelopeError;
use crate::keys::KeyError;

/// Why an envelope or request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The envelope bytes are not a `SignedEnvelope`.
    MalformedEnvelope,
    /// The envelope is valid protobuf but not its canonical encoding.
    NonCanonicalEnvelope,
    /// The envelope or its payload exceeds the size limit.
    TooLarge,
    /// The payload is empty.
    EmptyPayload,
    /// The signer key is not a valid ed25519 public key.
    BadSignerKey,
    /// The signature does not verify.
    BadSignature,
    /// The payload is not a `Transaction`.
    MalformedTransaction,
    /// The transaction has no action.
    MissingAction,
    /// The transaction names another network.
    WrongNetwork,
    /// The transaction names no party, or one the ledger does not know.
    UnknownParty,
    /// The signer key does not belong to the named party (or was revoked).
    KeyNotAuthorized,
    /// The named party is suspended.
    PartySuspended,
    /// The party already used this nonce for a different transaction.
    NonceReused,
    /// The action is not supported by this version of the ledger.
    UnsupportedAction,
    /// The role policy does not allow the signer's party this action.
    NotPermitted,
    /// A field of the action is missing or malformed (the message names it).
    InvalidAction,
    /// `client_time` lies outside the replay window around the commit time.
    ClientTimeOutOfWindow,
    /// An id the action creates (proposal, authorization, recall, attestation, complaint, party, event id) is taken.
    AlreadyExists,
    /// Something the action refers to (proposal, recall, attestation, authorization, party) does not exist.
    NotFound,
    /// The governance proposal is executed, failed or expired.
    ProposalNotOpen,
    /// The party already approved this proposal.
    AlreadyApproved,
    /// The change would leave fewer active admin parties than the governance threshold.
    GovernanceQuorumAtRisk,
    /// The party would be left without an active signing key.
    LastActiveKey,
    /// The GTIN has not been registered with `RegisterProduct`.
    ProductNotRegistered,
    /// The GTIN is not under the brand's GS1 Company Prefixes, or belongs to another brand.
    GtinNotOwned,
    /// No brand authorization in force covers this manufacturer for the GTIN.
    ManufacturerNotAuthorized,
    /// The commissioning digest scheme or salt does not fit the product's code policy.
    CodePolicyMismatch,
    /// A serial was commissioned before (serials are never reused).
    ItemAlreadyCommissioned,
    /// An event names an item that was never commissioned.
    ItemNotCommissioned,
    /// The item was destroyed, decommissioned, seized or reported stolen, so it cannot move or be sold.
    ItemOutOfCirculation,
    /// The item is under a recall in force, so it cannot move or be sold.
    ItemRecalled,
    /// Only the item's current custodian may hand it on, pack it or sell it.
    NotCustodian,
    /// Pickup, delivery or receiving of an item nobody shipped.
    NotInTransit,
    /// The shipment was addressed to another party.
    WrongRecipient,
    /// Pickup or delivery by a logistics party other than the carrier the
    /// shipment names (its tracking number) or the one that picked it up.
    WrongCarrier,
    /// A seizure by a party without the customs role, of goods neither in
    /// its custody nor declared to it, or a `seized` disposition outside
    /// the customs seizing step.
    SeizureNotPermitted,
    /// An item or container is already packed in another container.
    AlreadyAggregated,
    /// Unpacking something the container does not hold.
    NotInContainer,
    /// Packing a container into itself or into one of its own contents.
    AggregationCycle,
    /// An error declaration names an event id the ledger does not hold.
    UnknownEvent,
    /// Only the party that recorded an event may declare it erroneous.
    NotEventOwner,
    /// Only the party that issued a recall, attestation or authorization may end it.
    NotIssuer,
    /// The item's label carries a token and none was presented.
    LabelTokenRequired,
    /// The presented label token is not the item's.
    LabelTokenMismatch,
    /// The item's guess budget for the current window is spent.
    CodeAttemptsExhausted,
    /// The request id's scan is already recorded (one scan per verification).
    ScanAlreadyRecorded,
    /// A consumer scan's verdict is not the one the ledger derives at its position.
    VerdictMismatch,
    /// Fewer validators than the code key's threshold helped check a code
    /// (threshold-OPRF codes); nothing was decided, the consumer may retry.
    CodeCheckUnavailable,
    /// A validator helping with a code check has used up what it grants the
    /// asking node for this item in the current window.
    CodeHelpExhausted,
    /// A marketplace case's step came after its deadline (counted from
    /// commit times).
    DeadlinePassed,
    /// The marketplace case is closed, or not waiting for this step.
    CaseNotOpen,
    /// Only a party of the case (the accused, the seller, the buyer, the
    /// product's brand) may take this step.
    NotCaseParty,
    /// A party of a case may not rule on it.
    ConflictOfInterest,
    /// A false-delivery complaint names a tracking number its carrier
    /// confirmed.
    TrackingConfirmed,
}

impl Reason {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MalformedEnvelope => "MALFORMED_ENVELOPE",
            Reason::NonCanonicalEnvelope => "NON_CANONICAL_ENVELOPE",
            Reason::TooLarge => "TOO_LARGE",
            Reason::EmptyPayload => "EMPTY_PAYLOAD",
            Reason::BadSignerKey => "BAD_SIGNER_KEY",
            Reason::BadSignature => "BAD_SIGNATURE",
            Reason::MalformedTransaction => "MALFORMED_TRANSACTION",
            Reason::MissingAction => "MISSING_ACTION",
            Reason::WrongNetwork => "WRONG_NETWORK",
            Reason::UnknownParty => "UNKNOWN_PARTY",
            Reason::KeyNotAuthorized => "KEY_NOT_AUTHORIZED",
            Reason::PartySuspended => "PARTY_SUSPENDED",
            Reason::NonceReused => "NONCE_REUSED",
            Reason::UnsupportedAction => "UNSUPPORTED_ACTION",
            Reason::NotPermitted => "ROLE_NOT_PERMITTED",
            Reason::InvalidAction => "INVALID_ACTION",
            Reason::ClientTimeOutOfWindow => "CLIENT_TIME_OUT_OF_WINDOW",
            Reason::AlreadyExists => "ALREADY_EXISTS",
            Reason::NotFound => "NOT_FOUND",
            Reason::ProposalNotOpen => "PROPOSAL_NOT_OPEN",
            Reason::AlreadyApproved => "ALREADY_APPROVED",
            Reason::GovernanceQuorumAtRisk => "GOVERNANCE_QUORUM_AT_RISK",
            Reason::LastActiveKey => "LAST_ACTIVE_KEY",
            Reason::ProductNotRegistered => "PRODUCT_NOT_REGISTERED",
            Reason::GtinNotOwned => "GTIN_NOT_OWNED",
            Reason::ManufacturerNotAuthorized => "MANUFACTURER_NOT_AUTHORIZED",
            Reason::CodePolicyMismatch => "CODE_POLICY_MISMATCH",
            Reason::ItemAlreadyCommissioned => "ITEM_ALREADY_COMMISSIONED",
            Reason::ItemNotCommissioned => "ITEM_NOT_COMMISSIONED",
            Reason::ItemOutOfCirculation => "ITEM_OUT_OF_CIRCULATION",
            Reason::ItemRecalled => "ITEM_RECALLED",
            Reason::NotCustodian => "NOT_CUSTODIAN",
            Reason::NotInTransit => "NOT_IN_TRANSIT",
            Reason::WrongRecipient => "WRONG_RECIPIENT",
            Reason::WrongCarrier => "WRONG_CARRIER",
            Reason::SeizureNotPermitted => "SEIZURE_NOT_PERMITTED",
            Reason::AlreadyAggregated => "ALREADY_AGGREGATED",
            Reason::NotInContainer => "NOT_IN_CONTAINER",
            Reason::AggregationCycle => "AGGREGATION_CYCLE",
            Reason::UnknownEvent => "UNKNOWN_EVENT",
            Reason::NotEventOwner => "NOT_EVENT_OWNER",
            Reason::NotIssuer => "NOT_ISSUER",
            Reason::LabelTokenRequired => "LABEL_TOKEN_REQUIRED",
            Reason::LabelTokenMismatch => "LABEL_TOKEN_MISMATCH",
            Reason::CodeAttemptsExhausted => "CODE_ATTEMPTS_EXHAUSTED",
            Reason::ScanAlreadyRecorded => "SCAN_ALREADY_RECORDED",
            Reason::VerdictMismatch => "VERDICT_MISMATCH",
            Reason::CodeCheckUnavailable => "CODE_CHECK_UNAVAILABLE",
            Reason::CodeHelpExhausted => "CODE_HELP_EXHAUSTED",
            Reason::DeadlinePassed => "DEADLINE_PASSED",
            Reason::CaseNotOpen => "CASE_NOT_OPEN",
            Reason::NotCaseParty => "NOT_CASE_PARTY",
            Reason::ConflictOfInterest => "CONFLICT_OF_INTEREST",
            Reason::TrackingConfirmed => "TRACKING_CONFIRMED",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl From<&EnvelopeError> for Reason {
    fn from(e: &EnvelopeError) -> Self {
        match e {
            EnvelopeError::Malformed { .. } => Reason::MalformedEnvelope,
            EnvelopeError::NonCanonical => Reason::NonCanonicalEnvelope,
            EnvelopeError::TooLarge { .. } => Reason::TooLarge,
            EnvelopeError::EmptyPayload => Reason::EmptyPayload,
            EnvelopeError::Signature(KeyError::BadSignature) => Reason::BadSignature,
            EnvelopeError::Signature(KeyError::SignatureLength { .. }) => Reason::BadSignature,
            EnvelopeError::Signature(_) => Reason::BadSignerKey,
            EnvelopeError::MalformedTransaction { .. } => Reason::MalformedTransaction,
        }
    }
}
