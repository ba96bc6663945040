//! Keys of the `state` column family: a text prefix naming the record
//! kind, then the record's id. Ids that are not the last component are
//! followed by a 0 byte (ids never contain one: they are validated slugs,
//! GTINs and URIs), so no id's keys run into another's.

use super::market::CaseKind;

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

/// The marketplace policy in force (absent: the genesis's).
pub const MARKETPLACE_POLICY: &[u8] = b"policy/marketplace";
/// `ipright/{holder}\0{id}`: `IpRightRecord`.
pub fn ip_right(holder: &str, id: &str) -> Vec<u8> {
    key("ipright/", &[holder.as_bytes(), id.as_bytes()])
}
/// `case/{kind tag}{filer}\0{id}`: `CaseRecord`.
pub fn case(kind: CaseKind, filer: &str, id: &str) -> Vec<u8> {
    let mut k = b"case/".to_vec();
    k.push(kind.tag());
    k.extend_from_slice(&key("", &[filer.as_bytes(), id.as_bytes()]));
    k
}
/// `party-case/{party}\0{u64::MAX - filed leaf}{kind tag}`: the case's
/// `case/` key, listed under each of its two parties, newest first.
pub fn party_case(party: &str, kind: CaseKind, filed_leaf: u64) -> Vec<u8> {
    let mut k = party_cases(party);
    k.extend_from_slice(&(u64::MAX - filed_leaf).to_be_bytes());
    k.push(kind.tag());
    k
}
/// Prefix of a party's `party-case/` entries.
pub fn party_cases(party: &str) -> Vec<u8> {
    let mut k = key("party-case/", &[party.as_bytes()]);
    k.push(0);
    k
}
/// `deadline/{ms u64 BE}{case key}`: a running case deadline (empty value),
/// removed when the step comes or the deadline lapses.
pub fn deadline(deadline_ms: i64, case_key: &[u8]) -> Vec<u8> {
    let mut k = DEADLINE_PREFIX.to_vec();
    k.extend_from_slice(&(deadline_ms.max(0) as u64).to_be_bytes());
    k.extend_from_slice(case_key);
    k
}
/// Prefix of every `deadline/` entry.
pub const DEADLINE_PREFIX: &[u8] = b"deadline/";
/// `supplier/{party}`: `SupplierRecord`.
pub fn supplier(party: &str) -> Vec<u8> {
    key("supplier/", &[party.as_bytes()])
}
/// `supplier-signal/{party}\0{leaf BE}`: a licence, audit or bond about the
/// party (`SignalEntry`), one key per statement so none grows with the
/// others.
pub fn supplier_signal(party: &str, leaf: u64) -> Vec<u8> {
    let mut k = supplier_signals(party);
    k.extend_from_slice(&leaf.to_be_bytes());
    k
}
/// Prefix of a party's `supplier-signal/` entries.
pub fn supplier_signals(party: &str) -> Vec<u8> {
    let mut k = key("supplier-signal/", &[party.as_bytes()]);
    k.push(0);
    k
}
/// `trade-order/{buyer}\0{seller}\0{order}`: the buyer's complaint id about
/// that order.
pub fn trade_order(buyer: &str, seller: &str, order: &str) -> Vec<u8> {
    key("trade-order/", &[buyer.as_bytes(), seller.as_bytes(), order.as_bytes()])
}
/// `mkt-id/{kind}\0{signer}\0{id}`: marks a licence, audit or bond id used.
pub fn market_id(kind: &str, signer: &str, id: &str) -> Vec<u8> {
    key("mkt-id/", &[kind.as_bytes(), signer.as_bytes(), id.as_bytes()])
}
/// `delivered/{shipper}\0{leaf BE}{tracking number}`: a shipment whose
/// tracking number its carrier confirmed at that leaf (empty value). One
/// event may confirm several numbers: each has its key.
pub fn delivered(shipper: &str, leaf: u64, tracking: &str) -> Vec<u8> {
    let mut k = delivered_prefix(shipper);
    k.extend_from_slice(&leaf.to_be_bytes());
    k.extend_from_slice(tracking.as_bytes());
    k
}
/// Prefix of a shipper's `delivered/` entries.
pub fn delivered_prefix(shipper: &str) -> Vec<u8> {
    let mut k = key("delivered/", &[shipper.as_bytes()]);
    k.push(0);
    k
}
/// `brand-complaint/{brand}\0{leaf BE}`: a complaint about one of the
/// brand's products (`RoutedComplaint`).
pub fn brand_complaint(brand: &str, leaf: u64) -> Vec<u8> {
    let mut k = brand_complaints(brand);
    k.extend_from_slice(&leaf.to_be_bytes());
    k
}
/// Prefix of a brand's `brand-complaint/` entries.
pub fn brand_complaints(brand: &str) -> Vec<u8> {
    let mut k = key("brand-complaint/", &[brand.as_bytes()]);
    k.push(0);
    k
}
/// `complaint-ack/{filer}\0{id}`: `AckRecord`.
pub fn complaint_ack(filer: &str, id: &str) -> Vec<u8> {
    key("complaint-ack/", &[filer.as_bytes(), id.as_bytes()])
}

/// `party \0 id`, the form of `RefList` entries.
pub fn reference(party: &str, id: &str) -> String {
    format!("{party}\0{id}")
}

/// Splits a `RefList` entry.
pub fn split_reference(r: &str) -> Option<(&str, &str)> {
    r.split_once('\0')
}
