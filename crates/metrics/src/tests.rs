#![allow(clippy::unwrap_used)]

use super::*;

/// Every family of the catalogue: (name on the `# TYPE` line, type).
const FAMILIES: &[(&str, &str)] = &[
    ("veritrace_raft_has_leader", "gauge"),
    ("veritrace_raft_is_leader", "gauge"),
    ("veritrace_raft_leader_changes", "counter"),
    ("veritrace_raft_term", "gauge"),
    ("veritrace_raft_commit_index", "gauge"),
    ("veritrace_raft_applied_index", "gauge"),
    ("veritrace_raft_apply_lag_entries", "gauge"),
    ("veritrace_raft_proposals_committed", "counter"),
    ("veritrace_raft_proposals_applied", "counter"),
    ("veritrace_raft_proposals_failed", "counter"),
    ("veritrace_raft_proposals_pending", "gauge"),
    ("veritrace_raft_log_fsync_duration_seconds", "histogram"),
    ("veritrace_raft_apply_duration_seconds", "histogram"),
    ("veritrace_raft_snapshots", "counter"),
    ("veritrace_raft_snapshots_applied", "counter"),
    ("veritrace_raft_snapshot_failures", "counter"),
    ("veritrace_grpc_server_handled", "counter"),
    ("veritrace_grpc_server_handling_seconds", "histogram"),
    ("veritrace_ledger_tree_size", "gauge"),
    ("veritrace_ledger_envelopes", "counter"),
    ("veritrace_ledger_store_size_bytes", "gauge"),
    ("veritrace_storage_free_bytes", "gauge"),
    ("veritrace_p2p_connected_peers", "gauge"),
    ("veritrace_verifications", "counter"),
    ("process_cpu_seconds", "counter"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_virtual_memory_bytes", "gauge"),
    ("process_open_fds", "gauge"),
    ("process_max_fds", "gauge"),
    ("process_threads", "gauge"),
    ("process_start_time_seconds", "gauge"),
    ("veritrace_build_info", "gauge"),
];

const SUBMIT: &str = "/veritrace.v1.LedgerService/SubmitEnvelopes";

#[test]
fn every_family_has_help_and_its_type() {
    let m = Metrics::new();
    // A labelled family without any series is left out of the text.
    assert!(!m.encode().contains("veritrace_grpc_server_handled"));
    m.observe_grpc(SUBMIT, "OK", 0.01);
    let text = m.encode();
    for (name, kind) in FAMILIES {
        let type_line = format!("# TYPE {name} {kind}");
        assert!(text.lines().any(|l| l == type_line), "{name} {kind} missing:\n{text}");
        let help = text.lines().find(|l| l.starts_with(&format!("# HELP {name} "))).unwrap();
        assert!(help.len() > format!("# HELP {name} ").len() + 20, "{name} has a real help text");
    }
    let types = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
    assert_eq!(types, FAMILIES.len(), "no family beyond the catalogue");
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn names_follow_prometheus_conventions() {
    let m = Metrics::new();
    m.observe_grpc(SUBMIT, "OK", 0.01);
    let text = m.encode();
    // Ours are veritrace_*; the process's are the standard process_* names.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.starts_with("veritrace_") || line.starts_with("process_"), "prefix: {line}");
    }
    // Counter samples end in `_total`; nothing else does.
    for (name, kind) in FAMILIES {
        let samples: Vec<&str> = text.lines().filter(|l| l.starts_with(&format!("{name}_total"))).collect();
        if *kind == "counter" {
            assert!(!samples.is_empty(), "{name} counter has a _total sample");
            assert!(!name.ends_with("_total"), "{name}: the family name must not repeat the suffix");
        } else {
            assert!(samples.is_empty(), "{name} is a {kind}, not a counter");
        }
    }
    assert!(!text.contains("_total_total"));
    // Units are base units, named as a suffix and declared.
    for (name, unit) in [
        ("veritrace_raft_log_fsync_duration_seconds", "seconds"),
        ("veritrace_raft_apply_duration_seconds", "seconds"),
        ("veritrace_grpc_server_handling_seconds", "seconds"),
        ("veritrace_ledger_store_size_bytes", "bytes"),
        ("veritrace_storage_free_bytes", "bytes"),
    ] {
        assert!(text.contains(&format!("# UNIT {name} {unit}\n")), "{name} in {unit}");
    }
}

#[test]
fn label_values_appear() {
    let m = Metrics::new();
    m.observe_grpc(SUBMIT, "OK", 0.003);
    m.observe_grpc(SUBMIT, "OK", 0.2);
    m.observe_grpc(SUBMIT, "INVALID_ARGUMENT", 0.001);
    m.ledger().count_envelopes(2, 0, 1);
    m.ledger().count_envelopes(0, 3, 0);
    let text = m.encode();
    let ok = format!("veritrace_grpc_server_handled_total{{method=\"{SUBMIT}\",code=\"OK\"}}");
    let bad = format!("veritrace_grpc_server_handled_total{{method=\"{SUBMIT}\",code=\"INVALID_ARGUMENT\"}}");
    assert_eq!(sample(&text, &ok), Some(2.0));
    assert_eq!(sample(&text, &bad), Some(1.0));
    assert_eq!(m.grpc_handled(SUBMIT, "OK"), 2);
    assert_eq!(m.grpc_handled(SUBMIT, "UNAVAILABLE"), 0);
    assert_eq!(sample(&text, r#"veritrace_ledger_envelopes_total{outcome="accepted"}"#), Some(2.0));
    assert_eq!(sample(&text, r#"veritrace_ledger_envelopes_total{outcome="duplicate"}"#), Some(3.0));
    assert_eq!(sample(&text, r#"veritrace_ledger_envelopes_total{outcome="rejected"}"#), Some(1.0));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        sample(&text, &format!("veritrace_build_info{{version=\"{version}\",revision=\"unknown\"}}")),
        Some(1.0)
    );
    assert!(
        Metrics::with_build("9.9.9-rc1", "0123abcd")
            .encode()
            .contains(r#"veritrace_build_info{version="9.9.9-rc1",revision="0123abcd"} 1"#)
    );
}

#[test]
fn histograms_count_seconds_in_their_buckets() {
    let m = Metrics::new();
    m.observe_grpc(SUBMIT, "OK", 0.003);
    m.observe_grpc(SUBMIT, "OK", 0.2);
    m.raft().log_fsync_duration.observe(0.0007);
    m.raft().apply_duration.observe(3.0);
    let text = m.encode();
    let series = |le: &str| {
        format!("veritrace_grpc_server_handling_seconds_bucket{{le=\"{le}\",method=\"{SUBMIT}\",code=\"OK\"}}")
    };
    assert_eq!(sample(&text, &series("0.001")), Some(0.0));
    assert_eq!(sample(&text, &series("0.005")), Some(1.0));
    assert_eq!(sample(&text, &series("0.25")), Some(2.0));
    assert_eq!(sample(&text, &series("+Inf")), Some(2.0));
    let sum = format!("veritrace_grpc_server_handling_seconds_sum{{method=\"{SUBMIT}\",code=\"OK\"}}");
    assert!((sample(&text, &sum).unwrap() - 0.203).abs() < 1e-9);

    assert_eq!(sample(&text, r#"veritrace_raft_log_fsync_duration_seconds_bucket{le="0.0005"}"#), Some(0.0));
    assert_eq!(sample(&text, r#"veritrace_raft_log_fsync_duration_seconds_bucket{le="0.001"}"#), Some(1.0));
    assert_eq!(sample(&text, "veritrace_raft_log_fsync_duration_seconds_count"), Some(1.0));
    assert_eq!(sample(&text, r#"veritrace_raft_apply_duration_seconds_bucket{le="2.048"}"#), Some(0.0));
    assert_eq!(sample(&text, r#"veritrace_raft_apply_duration_seconds_bucket{le="4.096"}"#), Some(1.0));
    assert_eq!(m.sample("veritrace_raft_apply_duration_seconds_count"), Some(1.0));
    assert_eq!(m.sample("veritrace_raft_apply_duration_seconds"), None, "no such sample");
}

#[test]
fn clones_share_series_and_gauges_read_back() {
    let m = Metrics::new();
    let other = m.clone();
    other.raft().set_state(2, false, 7, 120, 100);
    other.raft().leader_changes.inc();
    other.raft().set_pending(3);
    other.ledger().set_tree_size(42);
    other.ledger().set_store_size_bytes(u64::MAX);
    other.p2p().set_connected_peers(4);
    let rtts = [(2, std::time::Duration::from_millis(3)), (3, std::time::Duration::from_millis(250))].into();
    other.p2p().set_round_trips(&rtts);
    let r = m.raft();
    assert_eq!((r.has_leader.get(), r.is_leader.get(), r.term.get()), (1, 0, 7));
    assert_eq!((r.commit_index.get(), r.applied_index.get(), r.apply_lag_entries.get()), (120, 100, 20));
    assert_eq!((r.leader_changes.get(), r.proposals_pending.get()), (1, 3));
    assert_eq!(m.ledger().tree_size.get(), 42);
    assert_eq!(m.ledger().store_size_bytes.get(), i64::MAX, "saturates");
    let text = m.encode();
    assert_eq!(sample(&text, "veritrace_raft_apply_lag_entries"), Some(20.0));
    assert_eq!(sample(&text, "veritrace_p2p_connected_peers"), Some(4.0));
    assert_eq!(sample(&text, r#"veritrace_p2p_round_trip_seconds{peer="3"}"#), Some(0.25));
    // A peer no longer connected loses its series.
    other.p2p().set_round_trips(&[(2, std::time::Duration::from_millis(3))].into());
    assert_eq!(sample(&m.encode(), r#"veritrace_p2p_round_trip_seconds{peer="3"}"#), None);
    // A separate catalogue is separate.
    assert_eq!(Metrics::new().raft().term.get(), 0);
}

#[test]
fn made_up_grpc_methods_cannot_grow_the_catalogue_without_bound() {
    let m = Metrics::new();
    for i in 0..MAX_GRPC_SERIES + 100 {
        m.observe_grpc(&format!("/x.Y/M{i}"), "UNIMPLEMENTED", 0.0001);
    }
    // Known series keep counting after the cap.
    m.observe_grpc("/x.Y/M0", "UNIMPLEMENTED", 0.0001);
    assert_eq!(m.grpc_handled("/x.Y/M0", "UNIMPLEMENTED"), 2);
    assert_eq!(m.grpc_handled("other", "UNIMPLEMENTED"), 100);
    let text = m.encode();
    let series = text.lines().filter(|l| l.starts_with("veritrace_grpc_server_handled_total{")).count();
    assert_eq!(series, MAX_GRPC_SERIES + 1);
}

#[test]
fn grpc_code_names_follow_the_grpc_spec() {
    assert_eq!(grpc_code_name(0), "OK");
    assert_eq!(grpc_code_name(3), "INVALID_ARGUMENT");
    assert_eq!(grpc_code_name(14), "UNAVAILABLE");
    assert_eq!(grpc_code_name(16), "UNAUTHENTICATED");
    assert_eq!(grpc_code_name(17), "UNKNOWN");
    assert_eq!(grpc_code_name(-1), "UNKNOWN");
    let names: std::collections::BTreeSet<&str> = (0..17).map(grpc_code_name).collect();
    assert_eq!(names.len(), 17, "seventeen distinct names");
}
