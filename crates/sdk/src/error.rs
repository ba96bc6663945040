//! [`SdkError`]: everything an SDK call can fail with.

use std::path::PathBuf;

use veritrace_client::ClientError;
use veritrace_core::Hash;
use veritrace_core::keys::KeyError;
use veritrace_core::receipt::ReceiptError;

/// An error of the SDK. Variants are structured so a program can act on them without parsing
/// messages; [`SdkError::reason`] gives the node's machine-readable reason when there is one.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The call to the node failed: connection, gRPC status (e.g. reason "NOT_LEADER", see
    /// [`ClientError::leader_api`]) or a response that breaks the API's contract. Boxed: a client
    /// error is large and rare.
    #[error(transparent)]
    Client(Box<ClientError>),
    /// A key file could not be read (missing, permissions, other I/O).
    #[error("cannot read key file {}: {source}", .path.display())]
    KeyFileRead {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key file was read but does not hold a key. The reason never quotes the file's contents.
    #[error("key file {} is not valid: {reason}", .path.display())]
    KeyFileInvalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong (e.g. "not hexadecimal", "holds 16 bytes, expected 32").
        reason: String,
    },
    /// Raw key bytes are not an ed25519 seed (wrong length).
    #[error("invalid signing key: {0}")]
    InvalidKey(#[source] KeyError),
    /// The signer was made for another network than the node's: the node would refuse every
    /// transaction (reason "WRONG_NETWORK"), so nothing was sent.
    #[error("signer is for network {signer:?}, the node serves network {node:?}")]
    WrongNetwork {
        /// `network_id` of the [`PartySigner`](crate::PartySigner).
        signer: String,
        /// `network_id` of the node's genesis.
        node: String,
    },
    /// The ledger refused the envelope (receipt outcome REJECTED); nothing was stored.
    #[error("envelope {envelope_id} refused: {reason}: {message}")]
    Rejected {
        /// Id of the refused envelope.
        envelope_id: Hash,
        /// Machine-readable reason (e.g. "NONCE_REUSED", "NOT_AUTHORIZED"), as in
        /// `veritrace_core::Reason`.
        reason: String,
        /// Human-readable detail.
        message: String,
    },
    /// A receipt the node returned does not check out offline: wrong envelope, missing or bad
    /// inclusion proof, or a tree head whose signature does not verify. The node's answer cannot
    /// be trusted.
    #[error("receipt does not check out: {source}")]
    ReceiptCheck {
        /// Id of the envelope the receipt should be for; `None` when neither the envelope nor the
        /// receipt names one (a malformed scan envelope without a well-formed receipt id).
        envelope_id: Option<Hash>,
        /// Why the check failed.
        #[source]
        source: ReceiptError,
    },
    /// The receipt checks out, but its tree head is signed by a key that is not one of the
    /// trusted signers (see [`Veritrace::trust_tree_head_signers`](crate::Veritrace::trust_tree_head_signers)).
    #[error(
        "receipt of envelope {envelope_id} is proven under a tree head signed by untrusted key {}",
        hex::encode(.signer)
    )]
    UntrustedSigner {
        /// Id of the envelope.
        envelope_id: Hash,
        /// The tree head signer's raw 32-byte ed25519 public key (compare with
        /// [`PublicKey::to_bytes`](crate::PublicKey::to_bytes)).
        signer: [u8; 32],
    },
    /// The answer's recorded scan is not this request's (another request id or item): an answer
    /// copied from another verification.
    #[error("the answer is not for this request: {detail}")]
    AnswerNotForRequest {
        /// What differs.
        detail: String,
    },
    /// The receipt checks out, but the recorded scan states another verdict than the answer:
    /// the node answered something it did not record.
    #[error("the node answered verdict {answered} but recorded {recorded} (envelope {envelope_id})")]
    VerdictNotRecorded {
        /// Id of the scan envelope.
        envelope_id: Hash,
        /// The verdict answered.
        answered: String,
        /// The verdict in the recorded scan.
        recorded: String,
    },
}

impl From<ClientError> for SdkError {
    fn from(e: ClientError) -> Self {
        Self::Client(Box::new(e))
    }
}

impl SdkError {
    /// The machine-readable reason: the refusal reason of [`Rejected`](Self::Rejected), or the
    /// `google.rpc.ErrorInfo` reason of a gRPC error (e.g. "NOT_LEADER").
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Rejected { reason, .. } => Some(reason),
            Self::Client(e) => e.reason(),
            _ => None,
        }
    }
}
