//! Rust SDK for Veritrace integrators.
//!
//! A Veritrace network is a permissioned ledger of signed statements about products and items
//! (commissioning, EPCIS supply-chain events, attestations, recalls, consumer scans). A member
//! system (an ERP, a warehouse system, a consumer app's back end) talks to it by signing
//! transactions as its party and submitting them to a node; every answer comes with a receipt it
//! can check without trusting the node.
//!
//! This crate packages that in two types:
//!
//! * [`PartySigner`]: a party id, one of its ed25519 signing keys and the network id. It turns an
//!   action into a complete, signed [`Envelope`] (party id, random nonce, client time and network
//!   id filled in). No I/O: it signs offline.
//! * [`Veritrace`]: a session with a node. It submits envelopes and returns only once each
//!   receipt has been checked offline: the envelope's signature and id, the Merkle inclusion
//!   proof up to a signed tree head, and the tree head's signature (and signer, if you said which
//!   signers you trust).
//!
//! Offline checks are also available on their own in [`offline`], for receipts stored earlier.
//! Errors are one structured enum, [`SdkError`].
//!
//! # Connecting
//!
//! [`Veritrace::connect`] opens the connection and reads the network's genesis, whose
//! [`network_id`](Veritrace::network_id) every transaction must carry:
//!
//! ```no_run
//! # async fn run() -> Result<(), veritrace_sdk::SdkError> {
//! use veritrace_sdk::Veritrace;
//!
//! let node = Veritrace::connect("http://127.0.0.1:7401").await?;
//! println!("connected to network {}", node.network_id());
//! # Ok(())
//! # }
//! ```
//!
//! Any node of the cluster answers; a call that must run on the leader fails on a follower with
//! reason "NOT_LEADER", and [`ClientError::leader_api`] names where to retry. Submissions the
//! cluster refuses as briefly unavailable (no leader reachable, leadership changing) are retried
//! for you, 3 times with backoff ([`ConnectOptions::submit_retries`]). Timeouts and retries are
//! set with [`Veritrace::connect_with`] and [`ConnectOptions`].
//!
//! Submissions and reads of envelopes are the party plane: a node answers them only when the call
//! is signed with an active key of a registered party. [`Veritrace::submit`] and
//! [`Veritrace::submit_batch`] sign the call as their [`PartySigner`]; for other party calls set
//! [`ConnectOptions::party`] to a [`PartyCredential`] (e.g. [`PartySigner::credential`]).
//!
//! # Signing
//!
//! A party's key lives in a key file holding the hex of a 32-byte ed25519 seed, as `veritrace
//! init` writes `party.key` and the CLI's `--key` reads. Load it with
//! [`PartySigner::from_key_file`] (or build the key yourself and use [`PartySigner::new`] or
//! [`PartySigner::from_seed`]). Signing needs no node; here with a throw-away key:
//!
//! ```
//! use veritrace_sdk::{Action, PartySigner, SecretKey, proto};
//!
//! let key = SecretKey::from_seed_label("example only");
//! let signer = PartySigner::new("brand", key, "veritrace-demo");
//! let envelope = signer.sign_action(Action::RegisterProduct(proto::RegisterProduct {
//!     gtin: "00614141000012".into(),
//!     brand_party_id: "brand".into(),
//!     name: "Olive oil 1 l".into(),
//!     ..Default::default()
//! }));
//!
//! // The envelope is canonical: its id is blake3 of these bytes, and its signature verifies.
//! assert_eq!(envelope.verify().ok(), Some(signer.public_key()));
//! let tx = envelope.transaction().expect("a Transaction");
//! assert_eq!((tx.party_id.as_str(), tx.network_id.as_str()), ("brand", "veritrace-demo"));
//! println!("envelope {} ({} bytes)", envelope.id(), envelope.bytes().len());
//! ```
//!
//! # Submitting
//!
//! [`Veritrace::submit`] signs and submits in one step and returns a [`Submitted`] once the
//! transaction is committed on a quorum and applied, with its receipt checked. A refusal by the
//! ledger is [`SdkError::Rejected`] with a machine-readable reason:
//!
//! ```no_run
//! # async fn run() -> Result<(), veritrace_sdk::SdkError> {
//! use veritrace_sdk::{Action, PartySigner, SdkError, Veritrace, proto};
//!
//! let node = Veritrace::connect("http://127.0.0.1:7401").await?;
//! let brand = PartySigner::from_key_file("brand", "brand/party.key", node.network_id())?;
//! let action = Action::RegisterProduct(proto::RegisterProduct {
//!     gtin: "00614141000012".into(),
//!     brand_party_id: "brand".into(),
//!     name: "Olive oil 1 l".into(),
//!     ..Default::default()
//! });
//! match node.submit(&brand, action).await {
//!     Ok(done) => println!("leaf {} under tree size {}", done.leaf_index(), done.tree_head().head.tree_size),
//!     Err(SdkError::Rejected { reason, message, .. }) => eprintln!("refused: {reason}: {message}"),
//!     Err(other) => return Err(other),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Submitting is idempotent per envelope: the node answers an envelope it already holds with the
//! first receipt (outcome DUPLICATE, [`Submitted::is_duplicate`]). When a call fails without an
//! answer (timeout, lost connection), the transaction may have been committed anyway, so sign
//! once and retry with the same envelope; signing the action again would make a second record:
//!
//! ```no_run
//! # async fn run(node: veritrace_sdk::Veritrace, brand: veritrace_sdk::PartySigner, action: veritrace_sdk::Action) -> Result<(), veritrace_sdk::SdkError> {
//! let envelope = brand.sign_action(action);
//! let done = match node.submit_envelope(&envelope).await {
//!     Err(veritrace_sdk::SdkError::Client(_)) => node.submit_envelope(&envelope).await?,
//!     other => other?,
//! };
//! assert_eq!(done.envelope_id(), envelope.id());
//! # Ok(())
//! # }
//! ```
//!
//! [`Veritrace::submit_batch`] sends up to 1,000 actions in one request; each envelope is judged
//! on its own, so it returns one result per action.
//!
//! # Verifying
//!
//! [`Veritrace::verify_item`] is the consumer check: the item (SGTIN EPC URI or GS1 Digital
//! Link, as in the QR code) and the code from under its scratch label. The node records the scan
//! and returns a verdict, the item's journey and the receipt of the recorded scan, which the SDK
//! checks before returning:
//!
//! ```no_run
//! # async fn run(node: veritrace_sdk::Veritrace) -> Result<(), veritrace_sdk::SdkError> {
//! let answer = node.verify_item("https://id.gs1.org/01/00614141000012/21/LOT1-000001", "483920", None).await?;
//! println!("verdict: {:?}", answer.verdict());
//! if let Some(scan) = &answer.scan {
//!     println!("scan recorded at leaf {}", scan.leaf.leaf_index);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! To know that a tree head was signed by a validator you know, and not only by the node you
//! asked, list the validators' keys with [`Veritrace::trust_tree_head_signers`].

mod error;
pub mod offline;
mod session;
mod signer;

pub use error::SdkError;
pub use offline::{Submitted, VerifiedItem, check_receipt};
pub use session::{SDK_CHANNEL, Veritrace};
pub use signer::{PartySigner, SEED_LEN};

/// The `google.protobuf` well-known types (`Timestamp`, `Duration`) the messages use.
pub use prost_types;
pub use veritrace_client::{Client, ClientError, ConnectOptions, PartyCredential};
pub use veritrace_core::receipt::{ReceiptError, VerifiedReceipt};
pub use veritrace_core::{Envelope, Hash, PublicKey, SecretKey, SignedTreeHead};
/// The `veritrace.v1` protobuf messages the SDK sends and returns.
pub use veritrace_proto::v1 as proto;
/// What a transaction states: one case per kind of statement (`Transaction.action`).
pub use veritrace_proto::v1::transaction::Action;
pub use veritrace_proto::{ms_from_timestamp, timestamp_from_ms};
