//! The fault harness's short profile (the long ones: `scripts/chaos.sh`):
//! real node processes behind per-link proxies, clients recording every
//! operation, one fault of each kind (membership churn included: a spare
//! node joins, a member is de-listed by governance and removed), and the
//! checker's verdict. Every
//! acknowledged event is on every replica exactly once, in real-time
//! order; reads saw every earlier acknowledgement; replicas agree.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use veritrace_chaos::nemesis::FaultKind;
use veritrace_chaos::run::{RunConfig, run};

const BIN: &str = env!("CARGO_BIN_EXE_veritrace");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_under_kill_pause_partitions_skew_and_churn_lose_nothing() {
    let config = RunConfig {
        binary: BIN.into(),
        nodes: 3,
        clients: 3,
        faults: vec![
            FaultKind::Kill,
            FaultKind::Pause,
            FaultKind::Isolate,
            FaultKind::Partition,
            FaultKind::Skew,
            FaultKind::Member,
        ],
        rounds: 6,
        hold: Duration::from_secs(3),
        gap: Duration::from_secs(2),
        dir: None,
    };
    let report = run(&config).await.expect("the run completes");
    let json = serde_json::to_string_pretty(&report).unwrap();
    eprintln!("{json}");
    assert!(report.check.ok(), "{json}");
    assert!(report.check.acks >= 20, "too little got through to mean anything: {json}");
    assert_eq!(report.applied.len(), 6, "{json}");
    // The churn round replaced a founding member by the spare node 4.
    let churn = report.applied.iter().find(|a| a.kind == FaultKind::Member).expect("a churn round");
    assert_eq!(churn.nodes[0], 4, "{json}");
    assert!(report.members.contains(&4) && !report.members.contains(&churn.nodes[1]), "{json}");
}
