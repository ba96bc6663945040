//! Tables of `veritrace market` reads, for people (scripts use `-o json`).

use veritrace_client::render::text_table;
use veritrace_proto::v1 as pb;

fn date(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map(veritrace_epcis::format_time).map(|s| s.chars().take(10).collect()).unwrap_or_else(|| "-".into())
}

fn when(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map(veritrace_epcis::format_time).unwrap_or_else(|| "-".into())
}

fn standing(valid: bool, expired: bool) -> &'static str {
    match (valid, expired) {
        (true, _) => "valid",
        (false, true) => "EXPIRED",
        (false, false) => "not valid",
    }
}

fn leaf(s: &Option<pb::SignalSource>) -> String {
    s.as_ref().map(|s| format!("{} by {}", s.leaf_index, s.signer_party_id)).unwrap_or_default()
}

fn money(m: &Option<pb::Money>) -> String {
    m.as_ref().map(|m| format!("{} {}", m.amount, m.currency)).unwrap_or_else(|| "-".into())
}

/// The name of an enum value without its type's prefix, lower case.
fn short(name: Option<&str>, prefix: &str) -> String {
    name.map(|n| n.trim_start_matches(prefix).to_ascii_lowercase()).unwrap_or_else(|| "?".into())
}

fn status_name(status: i32) -> String {
    short(pb::CaseStatus::try_from(status).ok().map(|s| s.as_str_name()), "CASE_STATUS_")
}

/// `market profile`.
pub fn profile_table(p: &pb::SupplierProfile) -> String {
    let mut out = format!(
        "{} ({}), {}: {} days on the network (since {}), as of {}\n",
        p.display_name,
        p.party_id,
        p.country,
        p.days_on_network,
        date(&p.joined_at),
        when(&p.as_of)
    );
    let flags = [
        (p.suspended, "SUSPENDED".to_owned()),
        (
            p.blacklist.as_ref().is_some_and(|b| b.listed),
            format!(
                "BLACKLISTED: {} (leaf {})",
                p.blacklist.as_ref().map(|b| b.reason.as_str()).unwrap_or_default(),
                p.blacklist.as_ref().map(|b| b.leaf_index).unwrap_or_default()
            ),
        ),
    ];
    for (on, text) in flags {
        if on {
            out.push_str(&format!("{text}\n"));
        }
    }
    out.push_str(&format!(
        "confirmed deliveries: {}   IP strikes: {}   acknowledgements overdue: {}, late: {}\n\n",
        p.confirmed_deliveries, p.ip_strikes, p.overdue_acknowledgements, p.late_acknowledgements
    ));
    let mut rows = Vec::new();
    for l in &p.licences {
        let x = l.licence.clone().unwrap_or_default();
        let detail = format!("{} capital {}", x.licence_number, money(&x.registered_capital));
        let span = format!("{}..{}", date(&x.valid_from), date(&x.valid_until));
        rows.push(vec!["licence".into(), detail, span, standing(l.valid, l.expired).into(), leaf(&l.source)]);
    }
    for c in &p.certificates {
        let status = if c.revoked { "REVOKED" } else { standing(c.valid, c.expired) };
        let detail = format!("{} {} by {}", c.scheme, c.certificate_number, c.issuer);
        let span = format!("{}..{}", date(&c.valid_from), date(&c.valid_until));
        rows.push(vec!["certificate".into(), detail, span, status.into(), leaf(&c.source)]);
    }
    for a in &p.audits {
        let x = a.audit.clone().unwrap_or_default();
        let (c, t) = (x.claimed.unwrap_or_default(), x.attested.unwrap_or_default());
        let detail = format!(
            "{}: staff {} (claimed {}), {} m2 (claimed {}){}",
            x.site_address,
            t.staff_count,
            c.staff_count,
            t.floor_area_m2,
            c.floor_area_m2,
            if x.passed { "" } else { ", FAILED" }
        );
        let span = format!("{}..{}", date(&x.audited_at), date(&x.valid_until));
        rows.push(vec!["audit".into(), detail, span, standing(a.valid, a.expired).into(), leaf(&a.source)]);
    }
    for b in &p.bonds {
        let x = b.bond.clone().unwrap_or_default();
        let span = format!("{}..{}", date(&x.valid_from), date(&x.valid_until));
        rows.push(vec!["bond".into(), money(&x.amount), span, standing(b.valid, b.expired).into(), leaf(&b.source)]);
    }
    if !rows.is_empty() {
        out.push_str(&text_table(&["SIGNAL", "DETAIL", "VALIDITY", "NOW", "LEAF"], &rows));
        out.push('\n');
    }
    let rows: Vec<Vec<String>> = p
        .complaints
        .iter()
        .map(|c| {
            vec![
                c.kind.to_ascii_lowercase(),
                c.filed.to_string(),
                c.open.to_string(),
                c.upheld.to_string(),
                c.rejected.to_string(),
                c.settled.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("no complaints\n");
    } else {
        out.push_str(&text_table(&["COMPLAINTS", "FILED", "OPEN", "UPHELD", "REJECTED", "SETTLED"], &rows));
    }
    out
}

/// `market cases`.
pub fn cases_table(cases: &[pb::CaseEntry]) -> String {
    use pb::case_entry::Case;
    let rows: Vec<Vec<String>> = cases
        .iter()
        .filter_map(|c| c.case.as_ref())
        .map(|c| match c {
            Case::IpCase(c) => {
                let accused = c.complaint.as_ref().map(|x| x.accused_party_id.clone()).unwrap_or_default();
                vec!["ip".into(), c.name.clone(), accused, status_name(c.status), when(&c.deadline)]
            }
            Case::TradeCase(c) => {
                let seller = c.complaint.as_ref().map(|x| x.seller_party_id.clone()).unwrap_or_default();
                vec!["trade".into(), c.name.clone(), seller, status_name(c.status), when(&c.deadline)]
            }
        })
        .collect();
    if rows.is_empty() {
        return "no cases\n".into();
    }
    text_table(&["KIND", "CASE", "AGAINST", "STATUS", "DEADLINE"], &rows)
}

/// The head lines of `market case ip`.
pub fn ip_head(c: &pb::IpCase) -> String {
    let x = c.complaint.clone().unwrap_or_default();
    let right = c.right.as_ref().map(|r| {
        let by = if r.attested_by.is_empty() {
            "self-declared".to_owned()
        } else {
            format!("attested by {}", r.attested_by)
        };
        let number = r.right.as_ref().map(|x| x.number.as_str()).unwrap_or_default();
        format!("{number} ({by})")
    });
    format!(
        "{}: {} against {} under right {}\nstatus {}, deadline {}, items withdrawn {}\n\n",
        c.name,
        c.complainant_party_id,
        x.accused_party_id,
        right.unwrap_or_else(|| x.right_id.clone()),
        status_name(c.status),
        when(&c.deadline),
        c.items_withdrawn
    )
}

/// The head lines of `market case trade`.
pub fn trade_head(c: &pb::TradeCase) -> String {
    let x = c.complaint.clone().unwrap_or_default();
    let kind = short(pb::TradeComplaintKind::try_from(x.kind).ok().map(|k| k.as_str_name()), "TRADE_COMPLAINT_KIND_");
    format!(
        "{}: {} against {} about order {} ({kind})\nstatus {}, deadline {}\n\n",
        c.name,
        c.buyer_party_id,
        x.seller_party_id,
        x.order,
        status_name(c.status),
        when(&c.deadline)
    )
}

/// The steps of a case.
pub fn steps_table(steps: &[pb::CaseStep]) -> String {
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|s| {
            let by = if s.party_id.is_empty() { "(ledger)".to_owned() } else { s.party_id.clone() };
            vec![when(&s.time), s.step.clone(), by, s.leaf_index.to_string(), s.text.clone()]
        })
        .collect();
    text_table(&["TIME", "STEP", "BY", "LEAF", "TEXT"], &rows)
}
