//! Keys of the `state` column family: a text prefix naming the record
//! kind, then the record's id. Ids that are not the last component are
//! followed by a 0 byte (ids never contain one: they are validated slugs,
//! GTINs and URIs), so no id's keys run into another's.

fn key(prefix: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.as_bytes().to_vec();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

/// `party/{id}`: `veritrace.v1.Party`.
pub fn party(id: &str) -> Vec<u8> {
    key("party/", &[id.as_bytes()])
}
/// Prefix of every party record.
pub const PARTY_PREFIX: &[u8] = b"party/";
/// `key/{public key}`: the owning party id (kept after revocation: a key
/// belongs to one party, ever).
pub fn signing_key(public_key: &[u8]) -> Vec<u8> {
    key("key/", &[public_key])
}
/// `pgln/{gln}`: the party that declared the party GLN.
pub fn party_gln(gln: &str) -> Vec<u8> {
    key("pgln/", &[gln.as_bytes()])
}
/// `peer/{peer id}`: the party operating that validator.
pub fn validator_peer(peer_id: &str) -> Vec<u8> {
    key("peer/", &[peer_id.as_bytes()])
}
/// The role policy in force (absent: the genesis's).
pub const ROLE_POLICY: &[u8] = b"policy/roles";
/// The governance rule in force (absent: the genesis's).
pub const GOVERNANCE_RULE: &[u8] = b"policy/governance";
/// `proposal/{id}`: `veritrace.v1.GovernanceProposal`.
pub fn proposal(id: &str) -> Vec<u8> {
    key("proposal/", &[id.as_bytes()])
}
/// Prefix of every proposal record.
pub const PROPOSAL_PREFIX: &[u8] = b"proposal/";
/// `susp/{party}`: `SuspensionList`.
pub fn suspensions(party: &str) -> Vec<u8> {
    key("susp/", &[party.as_bytes()])
}
/// `mfrauth/{manufacturer}`: `AuthorizationList`.
pub fn authorizations(manufacturer: &str) -> Vec<u8> {
    key("mfrauth/", &[manufacturer.as_bytes()])
}
/// `authz/{brand}\0{id}`: the manufacturer the authorization was granted to.
pub fn authorization(brand: &str, id: &str) -> Vec<u8> {
    key("authz/", &[brand.as_bytes(), id.as_bytes()])
}
/// `product/{gtin}`: `ProductRecord`.
pub fn product(gtin: &str) -> Vec<u8> {
    key("product/", &[gtin.as_bytes()])
}
/// `codekey/{public key}`: a brand's `ThresholdCodeKey`.
pub fn code_key(public_key: &[u8]) -> Vec<u8> {
    key("codekey/", &[public_key])
}
/// `item/{EpcId key}`: `ItemRecord`.
pub fn item(item_key: &[u8]) -> Vec<u8> {
    key("item/", &[item_key])
}
/// `container/{EpcId key}`: `ContainerRecord`.
pub fn container(object_key: &[u8]) -> Vec<u8> {
    key("container/", &[object_key])
}
/// `lot/{gtin}\0{lot}`: `LotRecord`.
pub fn lot(gtin: &str, lot: &str) -> Vec<u8> {
    key("lot/", &[gtin.as_bytes(), lot.as_bytes()])
}
/// `recall/{party}\0{id}`: `RecallRecord`.
pub fn recall(party: &str, id: &str) -> Vec<u8> {
    key("recall/", &[party.as_bytes(), id.as_bytes()])
}
/// `recalls/{gtin}`: `RefList` of the recalls on a GTIN.
pub fn recalls_on(gtin: &str) -> Vec<u8> {
    key("recalls/", &[gtin.as_bytes()])
}
/// `attest/{party}\0{id}`: `AttestationRecord`.
pub fn attestation(party: &str, id: &str) -> Vec<u8> {
    key("attest/", &[party.as_bytes(), id.as_bytes()])
}
/// `attest-gtin/{gtin}`: `RefList` of attestations covering a GTIN, its
/// lots or its items.
pub fn attestations_on_gtin(gtin: &str) -> Vec<u8> {
    key("attest-gtin/", &[gtin.as_bytes()])
}
/// `attest-party/{party}`: `RefList` of attestations about a party.
pub fn attestations_on_party(party: &str) -> Vec<u8> {
    key("attest-party/", &[party.as_bytes()])
}
/// `event/{event id}`: `EventRecord`.
pub fn event(event_id: &str) -> Vec<u8> {
    key("event/", &[event_id.as_bytes()])
}
/// `tracking/{bizTransaction value}`: `TrackingRecord`.
pub fn tracking(value: &str) -> Vec<u8> {
    key("tracking/", &[value.as_bytes()])
}
/// `complaint/{party}\0{id}`: the complaint's leaf.
pub fn complaint(party: &str, id: &str) -> Vec<u8> {
    key("complaint/", &[party.as_bytes(), id.as_bytes()])
}

/// `party \0 id`, the form of `RefList` entries.
pub fn reference(party: &str, id: &str) -> String {
    format!("{party}\0{id}")
}

/// Splits a `RefList` entry.
pub fn split_reference(r: &str) -> Option<(&str, &str)> {
    r.split_once('\0')
}
