//! Aligned text for people.

use veritrace_proto::v1::{GetStatusResponse, Member, Outcome, Receipt};

use super::{member_kind_name, outcome_name, role_name};

/// Shown for an empty or meaningless value.
const NONE: &str = "-";

pub(super) fn status(s: &GetStatusResponse) -> String {
    let leader = match s.leader_id {
        0 => "none".to_owned(),
        id if id == s.node_id => format!("{id} (this node)"),
        id => id.to_string(),
    };
    let pairs = [
        ("node id", s.node_id.to_string()),
        ("peer id", or_none(&s.peer_id)),
        ("party", or_none(&s.party_id)),
        ("network", or_none(&s.network_id)),
        ("role", role_name(s.role()).to_owned()),
        ("leader", leader),
        ("term", s.term.to_string()),
        ("commit index", s.commit_index.to_string()),
        ("applied index", s.applied_index.to_string()),
        ("snapshot index", s.snapshot_index.to_string()),
        ("tree size", s.tree_size.to_string()),
        ("root", or_none(&hex::encode(&s.root_hash))),
        ("version", or_none(&s.version)),
        ("revision", or_none(&s.revision)),
    ];
    let mut out = key_values(&pairs);
    out.push('\n');
    out.push_str(&members(&s.members));
    out
}

pub(super) fn members(members: &[Member]) -> String {
    if members.is_empty() {
        return "no members\n".to_owned();
    }
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            vec![
                m.node_id.to_string(),
                member_kind_name(m.kind()).to_owned(),
                or_none(&m.peer_id),
                // 0 means "not known here": only the leader tracks replication.
                nonzero(m.match_index),
                if m.reachable { "yes" } else { "no" }.to_owned(),
                or_none(&m.addresses.join(",")),
            ]
        })
        .collect();
    table(&["ID", "KIND", "PEER", "MATCH", "REACHABLE", "ADDRESSES"], &rows)
}

pub(super) fn receipts(receipts: &[Receipt]) -> String {
    if receipts.is_empty() {
        return "no receipts\n".to_owned();
    }
    let rows: Vec<Vec<String>> = receipts
        .iter()
        .map(|r| {
            let outcome = r.outcome();
            let leaf = match outcome {
                Outcome::Applied | Outcome::Duplicate => r.leaf_index.to_string(),
                Outcome::Rejected | Outcome::Counted | Outcome::Unspecified => NONE.to_owned(),
            };
            let reason = match (r.reason.is_empty(), r.message.is_empty()) {
                (true, true) => NONE.to_owned(),
                (false, true) => r.reason.clone(),
                (true, false) => r.message.clone(),
                (false, false) => format!("{}: {}", r.reason, r.message),
            };
            vec![
                or_none(&hex::encode(&r.envelope_id)),
                outcome_name(outcome).to_owned(),
                leaf,
                nonzero(r.log_index),
                reason,
            ]
        })
        .collect();
    table(&["ENVELOPE", "OUTCOME", "LEAF", "LOG", "REASON"], &rows)
}

fn or_none(value: &str) -> String {
    if value.is_empty() { NONE.to_owned() } else { value.to_owned() }
}

fn nonzero(value: u64) -> String {
    if value == 0 { NONE.to_owned() } else { value.to_string() }
}

/// "key:" padded to the longest key, then the value; one pair a line.
fn key_values(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (key, value) in pairs {
        let label = format!("{key}:");
        out.push_str(&format!("{label:<width$} {value}\n"));
    }
    out
}

/// Columns padded to their widest cell, two spaces apart, no trailing spaces.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_trims_lines() {
        let rows = vec![vec!["1".to_owned(), "long cell".to_owned()], vec!["22".to_owned(), "x".to_owned()]];
        assert_eq!(table(&["A", "B"], &rows), "A   B\n1   long cell\n22  x\n");
    }

    #[test]
    fn key_values_align_values() {
        let pairs = [("a", "1".to_owned()), ("long key", "2".to_owned())];
        assert_eq!(key_values(&pairs), "a:        1\nlong key: 2\n");
    }
}
