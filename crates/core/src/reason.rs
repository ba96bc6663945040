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
