//! [`Veritrace`]: a connection to a node that submits signed envelopes and checks every receipt
//! offline before returning it.

use veritrace_client::{Client, ClientError, ConnectOptions};
use veritrace_core::{Envelope, PublicKey};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use crate::offline::{Submitted, VerifiedItem};
use crate::{PartySigner, SdkError};

/// Channel recorded in the consumer scan by [`Veritrace::verify_item`]
/// (`ConsumerScan.channel`).
pub const SDK_CHANNEL: &str = "sdk";

/// A fresh request id for a verification: 32 random hex digits.
fn new_request_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A session with one node: a [`Client`] plus the network's id (read from the node's genesis at
/// connect time) and, optionally, the tree head signers you trust.
///
/// Every method that returns a receipt checks it offline first (envelope signature and id,
/// Merkle inclusion proof, tree head signature and, if set, the signer): a node that lies about
/// what it committed is an error ([`SdkError::ReceiptCheck`], [`SdkError::UntrustedSigner`]),
/// never a success.
///
/// Cheap to clone: clones share the connection.
#[derive(Debug, Clone)]
pub struct Veritrace {
    client: Client,
    genesis: pb::GetGenesisResponse,
    network_id: String,
    trusted_signers: Vec<PublicKey>,
}

impl Veritrace {
    /// Connects to `endpoint` ("http://host:port", or "host:port" meaning http) with the default
    /// [`ConnectOptions`] and reads the network's genesis.
    pub async fn connect(endpoint: &str) -> Result<Self, SdkError> {
        Self::from_client(Client::connect(endpoint).await?).await
    }

    /// Connects to `endpoint` with `options` (TLS, timeouts) and reads the network's genesis.
    pub async fn connect_with(endpoint: &str, options: &ConnectOptions) -> Result<Self, SdkError> {
        Self::from_client(Client::connect_with(endpoint, options).await?).await
    }

    /// A session over an existing client; reads the network's genesis (LedgerService.GetGenesis).
    pub async fn from_client(client: Client) -> Result<Self, SdkError> {
        let genesis = client.genesis().await?;
        let network_id = genesis.genesis.as_ref().map(|g| g.network_id.clone()).unwrap_or_default();
        if network_id.is_empty() {
            return Err(ClientError::InvalidResponse { rpc: "GetGenesis", detail: "no network id".into() }.into());
        }
        Ok(Self { client, genesis, network_id, trusted_signers: Vec::new() })
    }

    /// Accepts receipts only when their tree head is signed by one of `signers` (the node keys of
    /// the validators you trust); replaces any earlier list. An empty list (the default) accepts
    /// any correctly signed tree head.
    pub fn trust_tree_head_signers(mut self, signers: impl IntoIterator<Item = PublicKey>) -> Self {
        self.trusted_signers = signers.into_iter().collect();
        self
    }

    /// The tree head signers receipts must be signed by; empty means any.
    pub fn trusted_signers(&self) -> &[PublicKey] {
        &self.trusted_signers
    }

    /// The underlying client, for calls the SDK does not wrap (cluster status, parties, proofs).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The network id of the node's genesis (`Genesis.network_id`): give it to
    /// [`PartySigner::new`] and friends.
    pub fn network_id(&self) -> &str {
        &self.network_id
    }

    /// The node's genesis as read at connect time: the exact bytes, the decoded message and its
    /// id (blake3 of the bytes). Compare the id with the one you expect to be sure of the network.
    pub fn genesis(&self) -> &pb::GetGenesisResponse {
        &self.genesis
    }

    /// Signs `action` as `signer` (random nonce, client time now) and submits it; returns once it
    /// is committed and applied, with its receipt checked offline.
    ///
    /// Fails with [`SdkError::WrongNetwork`] (nothing sent) when the signer is for another
    /// network, [`SdkError::Rejected`] when the ledger refuses the transaction, and
    /// [`SdkError::Client`] when the call fails. After a call failure (timeout, lost connection)
    /// the transaction may or may not have been committed: sign once with
    /// [`PartySigner::sign_action`] and retry with [`submit_envelope`](Self::submit_envelope)
    /// and the same envelope, which is idempotent.
    ///
    /// The call itself is signed as `signer` too (the party plane wants a party credential).
    pub async fn submit(&self, signer: &PartySigner, action: Action) -> Result<Submitted, SdkError> {
        self.check_network(signer)?;
        let envelope = signer.sign_action(action);
        let mut results = self.submit_with(&self.client.with_party(signer.credential()), &[envelope]).await?;
        match results.pop() {
            Some(result) if results.is_empty() => result,
            _ => Err(ClientError::InvalidResponse { rpc: "SubmitEnvelopes", detail: "not one receipt".into() }.into()),
        }
    }

    /// Submits an already signed envelope and checks its receipt offline. The call is signed with
    /// the connection's party credential ([`ConnectOptions::party`]).
    ///
    /// Idempotent: the node answers an envelope already in the ledger with its first receipt and
    /// outcome DUPLICATE ([`Submitted::is_duplicate`]), so resubmitting the same envelope after
    /// an uncertain failure never records it twice and returns the original leaf index and
    /// commit time. (Signing the same action again makes a new envelope with a new nonce: that
    /// would be a second record.)
    pub async fn submit_envelope(&self, envelope: &Envelope) -> Result<Submitted, SdkError> {
        let mut results = self.submit_envelopes(std::slice::from_ref(envelope)).await?;
        match results.pop() {
            Some(result) if results.is_empty() => result,
            _ => Err(ClientError::InvalidResponse { rpc: "SubmitEnvelopes", detail: "not one receipt".into() }.into()),
        }
    }

    /// Signs each action as `signer` and submits them in one request (1 to 1,000 envelopes).
    ///
    /// The outer error is a failure of the whole call (nothing is known of any envelope). Each
    /// envelope is then judged independently, in order: a refusal or a receipt that does not
    /// check out is an error for that envelope only.
    pub async fn submit_batch(
        &self,
        signer: &PartySigner,
        actions: Vec<Action>,
    ) -> Result<Vec<Result<Submitted, SdkError>>, SdkError> {
        self.check_network(signer)?;
        let envelopes: Vec<Envelope> = actions.into_iter().map(|a| signer.sign_action(a)).collect();
        self.submit_with(&self.client.with_party(signer.credential()), &envelopes).await
    }

    /// Submits signed envelopes in one request and checks each receipt offline; idempotent like
    /// [`submit_envelope`](Self::submit_envelope). Results are in the envelopes' order. The call
    /// is signed with the connection's party credential ([`ConnectOptions::party`]).
    pub async fn submit_envelopes(&self, envelopes: &[Envelope]) -> Result<Vec<Result<Submitted, SdkError>>, SdkError> {
        self.submit_with(&self.client, envelopes).await
    }

    async fn submit_with(
        &self,
        client: &Client,
        envelopes: &[Envelope],
    ) -> Result<Vec<Result<Submitted, SdkError>>, SdkError> {
        let receipts = client.submit_with_proofs(envelopes.iter().map(Envelope::to_proto).collect()).await?;
        Ok(envelopes
            .iter()
            .zip(receipts)
            .map(|(envelope, receipt)| Submitted::from_receipt(envelope, receipt, &self.trusted_signers))
            .collect())
    }

    /// Verifies an item and the code from under its label, as a consumer app does
    /// (VerificationService.VerifyItem), recording the scan with channel [`SDK_CHANNEL`]; the
    /// receipt of the recorded scan is checked offline before returning.
    ///
    /// `item_uri` is an SGTIN EPC URI or a GS1 Digital Link; the link scanned from the label's
    /// QR code carries the label token (`?t=`) that items with a token require. `place` is
    /// where the scan happens, if known (coordinates are rounded before recording).
    pub async fn verify_item(
        &self,
        item_uri: &str,
        code: &str,
        place: Option<pb::Place>,
    ) -> Result<VerifiedItem, SdkError> {
        let request = pb::VerifyItemRequest {
            item: Some(pb::verify_item_request::Item::ItemUri(item_uri.to_owned())),
            code: code.to_owned(),
            place,
            channel: SDK_CHANNEL.to_owned(),
            request_id: new_request_id(),
            ..Default::default()
        };
        self.verify_item_request(request).await
    }

    /// [`verify_item`](Self::verify_item) with a request you build (GTIN and serial, channel,
    /// scanner digest, request id). With a `request_id`, the recorded scan must be this
    /// request's ([`SdkError::AnswerNotForRequest`] otherwise): an answer copied from another
    /// verification of the item is refused. To retry after a lost answer, send the same request
    /// again: the node answers the first scan and records nothing twice.
    pub async fn verify_item_request(&self, request: pb::VerifyItemRequest) -> Result<VerifiedItem, SdkError> {
        let response = self.client.verify_item(request.clone()).await?;
        let verified = VerifiedItem::from_response(response, &self.trusted_signers)?;
        verified.check_request(&request)?;
        Ok(verified)
    }

    /// An item's state and journey without a code check and without recording anything
    /// (VerificationService.GetItemHistory, every page). `item_uri` as in
    /// [`verify_item`](Self::verify_item).
    pub async fn item_history(&self, item_uri: &str) -> Result<pb::GetItemHistoryResponse, SdkError> {
        Ok(self.client.item_history(item_uri).await?)
    }

    fn check_network(&self, signer: &PartySigner) -> Result<(), SdkError> {
        check_network(signer, &self.network_id)
    }
}

/// [`SdkError::WrongNetwork`] unless `signer` signs for `network_id`.
pub(crate) fn check_network(signer: &PartySigner, network_id: &str) -> Result<(), SdkError> {
    if signer.network_id() == network_id {
        Ok(())
    } else {
        Err(SdkError::WrongNetwork { signer: signer.network_id().to_owned(), node: network_id.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use veritrace_core::SecretKey;

    use super::*;

    #[test]
    fn a_signer_for_another_network_is_stopped_before_sending() {
        let signer = PartySigner::new("brand", SecretKey::from_seed_label("sdk/brand"), "net-a");
        assert!(check_network(&signer, "net-a").is_ok());
        match check_network(&signer, "net-b") {
            Err(SdkError::WrongNetwork { signer, node }) => {
                assert_eq!((signer.as_str(), node.as_str()), ("net-a", "net-b"))
            }
            other => panic!("expected WrongNetwork, got {other:?}"),
        }
    }
}
