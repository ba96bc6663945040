//! The credential of a party-plane gRPC call: which party calls, signed
//! with one of its active keys over what the call is.
//!
//! The party plane (submissions; reads of envelopes, proposals and the
//! watch stream) answers only calls that carry five metadata entries:
//!
//! | entry | value |
//! |---|---|
//! | `veritrace-party` | the party id |
//! | `veritrace-key` | the signing key, 64 hex digits (the key's id in envelopes) |
//! | `veritrace-time` | the caller's clock, milliseconds since the Unix epoch |
//! | `veritrace-nonce` | 16 random bytes, 32 hex digits |
//! | `veritrace-signature` | ed25519, 128 hex digits, over [`SigningContext::PartyCall`]'s prefix and [`PartyCall::message`] |
//!
//! The signed message binds the network id, the PeerId of the node called,
//! the full gRPC method path (`/veritrace.v1.LedgerService/GetEnvelope`),
//! the party id, the time and the nonce, each length-prefixed so that no
//! two calls share a message.
//!
//! What it proves, and what it does not (threat model): a node that checks
//! a credential knows the caller held an active key of that party within
//! [`MAX_SKEW_MS`] of the stated time, for this network, this node and this
//! method. Nodes keep the nonces they accepted for the window, so a
//! credential is good for one call, at one node: the operator of the node
//! called cannot replay it elsewhere. It does not cover the request body:
//! over TLS (the default off loopback) no one else sees the credential;
//! over plaintext (`--insecure`) an eavesdropper who captures one before it
//! arrives could use it first, for a call of the same method at that node.

use crate::keys::{KeyError, PublicKey, SIGNATURE_LEN, SecretKey, SigningContext};

/// Metadata entry: the calling party's id.
pub const HEADER_PARTY: &str = "veritrace-party";
/// Metadata entry: the public key that signed, 64 hex digits.
pub const HEADER_KEY: &str = "veritrace-key";
/// Metadata entry: the caller's time, decimal milliseconds since the epoch.
pub const HEADER_TIME: &str = "veritrace-time";
/// Metadata entry: the call's nonce, 32 hex digits.
pub const HEADER_NONCE: &str = "veritrace-nonce";
/// Metadata entry: the signature, 128 hex digits.
pub const HEADER_SIGNATURE: &str = "veritrace-signature";
/// Every entry of a credential, in the order they are written.
pub const HEADER_NAMES: [&str; 5] = [HEADER_PARTY, HEADER_KEY, HEADER_TIME, HEADER_NONCE, HEADER_SIGNATURE];

/// The party-plane methods, by full path: the calls a node answers only
/// with a credential. Everything else of `LedgerService` and
/// `VerificationService` is public; `ClusterService` is the admin plane.
pub mod methods {
    /// `LedgerService.SubmitEnvelopes`.
    pub const SUBMIT_ENVELOPES: &str = "/veritrace.v1.LedgerService/SubmitEnvelopes";
    /// `LedgerService.GetEnvelope`.
    pub const GET_ENVELOPE: &str = "/veritrace.v1.LedgerService/GetEnvelope";
    /// `LedgerService.ListEnvelopes`.
    pub const LIST_ENVELOPES: &str = "/veritrace.v1.LedgerService/ListEnvelopes";
    /// `LedgerService.Watch`.
    pub const WATCH: &str = "/veritrace.v1.LedgerService/Watch";
    /// `LedgerService.ListProposals`.
    pub const LIST_PROPOSALS: &str = "/veritrace.v1.LedgerService/ListProposals";
    /// `LedgerService.PutPrivateData`.
    pub const PUT_PRIVATE_DATA: &str = "/veritrace.v1.LedgerService/PutPrivateData";
    /// `LedgerService.GetPrivateData`.
    pub const GET_PRIVATE_DATA: &str = "/veritrace.v1.LedgerService/GetPrivateData";
    /// `MarketplaceService.GetSupplierProfile`.
    pub const GET_SUPPLIER_PROFILE: &str = "/veritrace.v1.MarketplaceService/GetSupplierProfile";
    /// `MarketplaceService.GetIpCase`.
    pub const GET_IP_CASE: &str = "/veritrace.v1.MarketplaceService/GetIpCase";
    /// `MarketplaceService.GetTradeCase`.
    pub const GET_TRADE_CASE: &str = "/veritrace.v1.MarketplaceService/GetTradeCase";
    /// `MarketplaceService.ListCases`.
    pub const LIST_CASES: &str = "/veritrace.v1.MarketplaceService/ListCases";
    /// All of them.
    pub const ALL: [&str; 11] = [
        SUBMIT_ENVELOPES,
        GET_ENVELOPE,
        LIST_ENVELOPES,
        WATCH,
        LIST_PROPOSALS,
        PUT_PRIVATE_DATA,
        GET_PRIVATE_DATA,
        GET_SUPPLIER_PROFILE,
        GET_IP_CASE,
        GET_TRADE_CASE,
        LIST_CASES,
    ];
}

/// Bytes of a call nonce.
pub const NONCE_LEN: usize = 16;

/// How far a call's time may be from the node's clock, either way (5
/// minutes, as Kerberos allows): wider tolerates worse clocks, narrower
/// keeps the node's nonce memory smaller.
pub const MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// What a credential is about: the call it authorises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyCall<'a> {
    /// The network's id (its genesis names it).
    pub network_id: &'a str,
    /// The PeerId of the node called (its `GetStatus` names it): a
    /// credential is good at that node only.
    pub node: &'a str,
    /// The full gRPC method path, e.g. `/veritrace.v1.LedgerService/Watch`.
    pub method: &'a str,
    /// The calling party.
    pub party_id: &'a str,
    /// The caller's time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Random bytes, fresh for each call.
    pub nonce: [u8; NONCE_LEN],
}

impl PartyCall<'_> {
    /// The bytes signed (after the context prefix): the network id, the
    /// node's PeerId, the method and the party id, each as a 4-byte
    /// big-endian length and its UTF-8, then the time as 8 bytes big-endian,
    /// then the nonce.
    pub fn message(&self) -> Vec<u8> {
        let mut m =
            Vec::with_capacity(64 + self.network_id.len() + self.node.len() + self.method.len() + self.party_id.len());
        for text in [self.network_id, self.node, self.method, self.party_id] {
            m.extend_from_slice(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_be_bytes());
            m.extend_from_slice(text.as_bytes());
        }
        m.extend_from_slice(&self.time_ms.to_be_bytes());
        m.extend_from_slice(&self.nonce);
        m
    }

    /// The credential for this call, signed with `key`.
    pub fn sign(&self, key: &SecretKey) -> Credential {
        Credential {
            party_id: self.party_id.to_owned(),
            key: key.public().to_bytes(),
            time_ms: self.time_ms,
            nonce: self.nonce,
            signature: key.sign(SigningContext::PartyCall, &self.message()),
        }
    }
}

/// Why a credential was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// One entry is there but another is missing.
    #[error(
        "metadata entry {header} is missing (a party call carries all of {HEADER_PARTY}, {HEADER_KEY}, {HEADER_TIME}, {HEADER_NONCE}, {HEADER_SIGNATURE})"
    )]
    Missing {
        /// The missing entry.
        header: &'static str,
    },
    /// An entry does not parse.
    #[error("metadata entry {header}: {why}")]
    Malformed {
        /// The entry.
        header: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// The call's time is too far from the node's clock.
    #[error(
        "the call's time {time_ms} ms is more than {MAX_SKEW_MS} ms from this node's clock ({now_ms} ms): check the caller's clock"
    )]
    Stale {
        /// The time the caller stated.
        time_ms: u64,
        /// The node's time.
        now_ms: u64,
    },
    /// The key or the signature does not check.
    #[error("the signature does not check: {0}")]
    Signature(KeyError),
}

/// A party call's credential, as it travels in metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The calling party.
    pub party_id: String,
    /// The public key that signed.
    pub key: [u8; 32],
    /// The caller's time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The call's nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The signature over [`PartyCall::message`].
    pub signature: [u8; SIGNATURE_LEN],
}

impl Credential {
    /// The five metadata entries, names and values.
    pub fn headers(&self) -> [(&'static str, String); 5] {
        [
            (HEADER_PARTY, self.party_id.clone()),
            (HEADER_KEY, hex::encode(self.key)),
            (HEADER_TIME, self.time_ms.to_string()),
            (HEADER_NONCE, hex::encode(self.nonce)),
            (HEADER_SIGNATURE, hex::encode(self.signature)),
        ]
    }

    /// Reads a credential through `get` (a metadata lookup). `Ok(None)`
    /// when the call carries none of the entries; an error when it carries
    /// some but not all, or one does not parse.
    pub fn from_headers<'m>(get: impl Fn(&str) -> Option<&'m str>) -> Result<Option<Self>, CredentialError> {
        let names = [HEADER_PARTY, HEADER_KEY, HEADER_TIME, HEADER_NONCE, HEADER_SIGNATURE];
        if names.iter().all(|n| get(n).is_none()) {
            return Ok(None);
        }
        let entry = |header: &'static str| get(header).ok_or(CredentialError::Missing { header });
        let malformed = |header: &'static str, why: &str| CredentialError::Malformed { header, why: why.to_owned() };
        let party_id = entry(HEADER_PARTY)?;
        if party_id.is_empty() || party_id.len() > 63 {
            return Err(malformed(HEADER_PARTY, "a party id has 1 to 63 characters"));
        }
        let time_ms = entry(HEADER_TIME)?
            .parse::<u64>()
            .map_err(|_| malformed(HEADER_TIME, "not a decimal number of milliseconds"))?;
        Ok(Some(Credential {
            party_id: party_id.to_owned(),
            key: fixed_hex(entry(HEADER_KEY)?).ok_or_else(|| malformed(HEADER_KEY, "not 64 hex digits"))?,
            time_ms,
            nonce: fixed_hex(entry(HEADER_NONCE)?).ok_or_else(|| malformed(HEADER_NONCE, "not 32 hex digits"))?,
            signature: fixed_hex(entry(HEADER_SIGNATURE)?)
                .ok_or_else(|| malformed(HEADER_SIGNATURE, "not 128 hex digits"))?,
        }))
    }

    /// Checks the time against `now_ms` and the signature over the call
    /// (`network_id`, this `node`'s PeerId, `method`); returns the key
    /// that signed. Whether that
    /// key is an active key of [`Self::party_id`], and whether the nonce is
    /// fresh, are the caller's to check (they need the ledger and memory).
    pub fn verify(
        &self,
        network_id: &str,
        node: &str,
        method: &str,
        now_ms: u64,
    ) -> Result<PublicKey, CredentialError> {
        if self.time_ms.abs_diff(now_ms) > MAX_SKEW_MS {
            return Err(CredentialError::Stale { time_ms: self.time_ms, now_ms });
        }
        let key = PublicKey::from_slice(&self.key).map_err(CredentialError::Signature)?;
        let call =
            PartyCall { network_id, node, method, party_id: &self.party_id, time_ms: self.time_ms, nonce: self.nonce };
        key.verify(SigningContext::PartyCall, &call.message(), &self.signature).map_err(CredentialError::Signature)?;
        Ok(key)
    }
}

fn fixed_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const NOW: u64 = 1_800_000_000_000;
    const METHOD: &str = "/veritrace.v1.LedgerService/GetEnvelope";

    fn signed(key: &SecretKey) -> Credential {
        let call =
            PartyCall { network_id: "net", node: "n1", method: METHOD, party_id: "acme", time_ms: NOW, nonce: [7; 16] };
        call.sign(key)
    }

    fn round_trip(c: &Credential) -> Result<Option<Credential>, CredentialError> {
        let map: HashMap<&str, String> = c.headers().into_iter().collect();
        Credential::from_headers(|n| map.get(n).map(String::as_str))
    }

    #[test]
    fn a_signed_call_verifies_only_for_its_network_method_and_time() {
        let key = SecretKey::from_seed_label("acme");
        let c = round_trip(&signed(&key)).unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("no credential"));
        assert_eq!(c.verify("net", "n1", METHOD, NOW + 1000), Ok(key.public()));
        let bad = Err(CredentialError::Signature(KeyError::BadSignature));
        assert_eq!(c.verify("net", "n2", METHOD, NOW), bad, "another node");
        assert_eq!(c.verify("other-net", "n1", METHOD, NOW), bad);
        assert_eq!(c.verify("net", "n1", "/veritrace.v1.LedgerService/Watch", NOW), bad);
        assert_eq!(
            c.verify("net", "n1", METHOD, NOW + MAX_SKEW_MS + 1),
            Err(CredentialError::Stale { time_ms: NOW, now_ms: NOW + MAX_SKEW_MS + 1 })
        );
        let mut other_party = c.clone();
        other_party.party_id = "rival".into();
        assert_eq!(other_party.verify("net", "n1", METHOD, NOW), bad);
        let mut other_nonce = c;
        other_nonce.nonce[0] ^= 1;
        assert_eq!(other_nonce.verify("net", "n1", METHOD, NOW), bad);
    }

    #[test]
    fn the_context_separates_call_signatures_from_transactions() {
        let key = SecretKey::from_seed_label("acme");
        let call = PartyCall { network_id: "n", node: "x", method: "m", party_id: "p", time_ms: 1, nonce: [0; 16] };
        let sig = key.sign(SigningContext::Transaction, &call.message());
        let forged = Credential { signature: sig, ..call.sign(&key) };
        assert!(forged.verify("n", "x", "m", 1).is_err());
    }

    #[test]
    fn missing_and_malformed_entries_are_named() {
        assert_eq!(Credential::from_headers(|_| None), Ok(None));
        let c = signed(&SecretKey::from_seed_label("acme"));
        let full: HashMap<&str, String> = c.headers().into_iter().collect();
        for (drop, _) in c.headers() {
            let map: HashMap<&str, String> =
                full.iter().filter(|(k, _)| **k != drop).map(|(k, v)| (*k, v.clone())).collect();
            assert_eq!(
                Credential::from_headers(|n| map.get(n).map(String::as_str)),
                Err(CredentialError::Missing { header: drop })
            );
        }
        for (header, value) in
            [(HEADER_KEY, "zz"), (HEADER_TIME, "-1"), (HEADER_NONCE, "00"), (HEADER_SIGNATURE, ""), (HEADER_PARTY, "")]
        {
            let mut map = full.clone();
            map.insert(header, value.to_owned());
            let got = Credential::from_headers(|n| map.get(n).map(String::as_str));
            assert!(
                matches!(got, Err(CredentialError::Malformed { header: h, .. }) if h == header),
                "{header}: {got:?}"
            );
        }
    }

    #[test]
    fn lengths_keep_fields_apart() {
        let a = PartyCall { network_id: "ab", node: "x", method: "c", party_id: "p", time_ms: 0, nonce: [0; 16] };
        let b = PartyCall { network_id: "a", method: "bc", ..a.clone() };
        assert_ne!(a.message(), b.message());
    }
}
