//! The API shapes of parties, products, certificates and recalls, built
//! from ledger records.

use veritrace_proto::timestamp_from_ms;
use veritrace_proto::v1 as pb;

use crate::state::records::{AttestationRecord, ProductRecord, RecallRecord, ScanRecord};

/// A party as shown to consumers.
pub fn party_summary(p: &pb::Party) -> pb::PartySummary {
    pb::PartySummary {
        party_id: p.party_id.clone(),
        display_name: p.display_name.clone(),
        roles: p.roles.clone(),
        country: p.country.clone(),
        status: p.status,
    }
}

/// A product as shown to consumers.
pub fn product_summary(gtin: &str, r: &ProductRecord, brand: Option<&pb::Party>) -> pb::ProductSummary {
    let p = r.product.clone().unwrap_or_default();
    pb::ProductSummary {
        gtin: gtin.to_owned(),
        name: p.name,
        brand_name: p.brand_name,
        brand: brand.map(party_summary),
        category: p.category,
        origin_country: p.origin_country,
        description: p.description,
        image_uri: p.image_uri,
        label_host: p.label_host,
    }
}

fn ms(t: Option<&prost_types::Timestamp>) -> Option<i64> {
    t.map(veritrace_proto::ms_from_timestamp)
}

/// Validity of an attestation at `at_ms`.
pub fn validity(r: &AttestationRecord, at_ms: i64) -> pb::AttestationValidity {
    let a = r.attestation.clone().unwrap_or_default();
    if r.revoked_ms != 0 && r.revoked_ms <= at_ms {
        pb::AttestationValidity::Revoked
    } else if ms(a.valid_from.as_ref()).is_some_and(|f| at_ms < f) {
        pb::AttestationValidity::NotYetValid
    } else if ms(a.valid_until.as_ref()).is_some_and(|u| at_ms >= u) {
        pb::AttestationValidity::Expired
    } else {
        pb::AttestationValidity::Valid
    }
}

/// A certificate reference, with validity now and at a step's time.
pub fn certificate(r: &AttestationRecord, by: Option<&pb::Party>, now_ms: i64, step_ms: i64) -> pb::CertificateRef {
    let a = r.attestation.clone().unwrap_or_default();
    pb::CertificateRef {
        attested_by: by.map(party_summary),
        attestation_id: a.attestation_id,
        scheme: a.scheme,
        scheme_detail: a.scheme_detail,
        certificate_number: a.certificate_number,
        issuer: a.issuer,
        result: a.result,
        valid_from: a.valid_from,
        valid_until: a.valid_until,
        validity: validity(r, now_ms) as i32,
        validity_at_step: validity(r, step_ms) as i32,
        document_digest: a.document_digest,
        document_uri: a.document_uri,
        envelope_id: r.envelope_id.clone(),
    }
}

/// A recall notice.
pub fn recall_notice(r: &RecallRecord, issuer: Option<&pb::Party>) -> pb::RecallNotice {
    pb::RecallNotice {
        recall: r.recall.clone(),
        issued_by: issuer.map(party_summary),
        record_time: Some(timestamp_from_ms(r.record_ms)),
        envelope_id: r.envelope_id.clone(),
    }
}

/// Scan counts as shown to consumers (no other consumers' details beyond
/// the first and previous place).
pub fn scan_stats(s: &ScanRecord, previous: Option<(i64, pb::Place)>) -> pb::ScanStats {
    pb::ScanStats {
        count: s.count,
        first_scan_time: (s.count > 0).then(|| timestamp_from_ms(s.first_ms)),
        first_scan_place: s.first_place.clone(),
        previous_scan_time: previous.as_ref().map(|(t, _)| timestamp_from_ms(*t)),
        previous_scan_place: previous.map(|(_, p)| p),
        distinct_countries: u32::try_from(s.countries.len()).unwrap_or(u32::MAX),
        invalid_code_count: s.invalid_count,
        party_reported_count: s.party_reported,
    }
}
