//! The fault harness's short profile (the long ones: `scripts/chaos.sh`):
//! real node processes behind per-link proxies, clients recording every
//! operation, one fault of each kind, and the checker's verdict. Every
//! acknowledged event is on every replica exactly once, in real-time
//! order; reads saw every earlier acknowledgement; replicas agree.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use veritrace_chaos::nemesis::FaultKind;
use veritrace_chaos::run::{RunConfig, run};

const BIN: &str = env!("CARGO_BIN_EXE_veritrace");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_under_kill_pause_partitions_and_skew_lose_nothing() {
    let config = RunConfig {
        binary: BIN.into(),
        nodes: 3,
        clients: 3,
        faults: vec![FaultKind::Kill, FaultKind::Pause, FaultKind::Isolate, FaultKind::Partition, FaultKind::Skew],
        rounds: 5,
        hold: Duration::from_secs(3),
        gap: Duration::from_secs(2),
        dir: None,
    };
    let report = run(&config).await.expect("the run completes");
    let json = serde_json::to_string_pretty(&report).unwrap();
    eprintln!("{json}");
    assert!(report.check.ok(), "{json}");
    assert!(report.check.acks >= 20, "too little got through to mean anything: {json}");
    assert_eq!(report.applied.len(), 5, "{json}");
}
