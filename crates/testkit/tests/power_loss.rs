//! Power cuts at many crash points (issue 19, part 3). Each replica's
//! store is a `CrashEngine`: a cut keeps the synced writes and a random
//! prefix of the unsynced ones, as RocksDB's write-ahead log would after a
//! power loss. A cut lands either at a random moment or, armed with
//! `die_after(n)`, exactly at the replica's n-th next write: inside an
//! append, an apply, a snapshot export or, every third round (the victim
//! first falls more than a snapshot behind), inside a snapshot install.
//!
//! Every replica must start again on what is left, and every acknowledged
//! envelope must be on every replica, roots equal. The CI run cuts 24
//! times; `VERITRACE_POWER_CUTS=250` (scripts/chaos.sh --power) runs the
//! long one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use prost::Message as _;
use veritrace_proto::v1 as pb;
use veritrace_testkit::{TestCluster, product};

/// xorshift64*: the run replays from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// Submits `envelope` through `via`; returns whether it was acknowledged.
async fn submit(cluster: &TestCluster, via: u64, envelope: &pb::SignedEnvelope) -> bool {
    let client = cluster.client(via).await;
    match tokio::time::timeout(Duration::from_secs(5), client.submit(vec![envelope.clone()])).await {
        Ok(Ok(receipts)) => receipts
            .iter()
            .all(|r| r.outcome == pb::Outcome::Applied as i32 || r.outcome == pb::Outcome::Duplicate as i32),
        _ => false, // unknown: not counted as acknowledged
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_power_cuts_at_every_kind_of_write() {
    let cuts: u64 = std::env::var("VERITRACE_POWER_CUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(24);
    let mut cluster = TestCluster::builder(3).seed(61).snapshot_interval(8).start().await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut next = 1u32;
    let mut acked: Vec<pb::SignedEnvelope> = Vec::new();
    let mut at_a_write = 0;
    for cut in 0..cuts {
        let victim = 1 + rng.below(3);
        let others: Vec<u64> = (1..=3).filter(|id| *id != victim).collect();
        if cut % 3 == 0 {
            // Fall behind by more than a snapshot's worth of log.
            cluster.isolate(victim);
            for _ in 0..10 {
                let envelope = product(next);
                next += 1;
                if submit(&cluster, others[(next as usize) % 2], &envelope).await {
                    acked.push(envelope);
                }
            }
            cluster.heal();
        }
        let engine = std::sync::Arc::clone(cluster.crash_engine(victim));
        engine.die_after(1 + rng.below(40));
        for _ in 0..20 {
            if engine.is_dead() {
                break;
            }
            let envelope = product(next);
            next += 1;
            let via = 1 + rng.below(3);
            let via = if via == victim { others[0] } else { via };
            if submit(&cluster, via, &envelope).await {
                acked.push(envelope);
            }
        }
        if engine.is_dead() {
            at_a_write += 1;
        }
        let keep = rng.below(engine.unsynced() as u64 + 1) as usize;
        cluster.power_cut(victim, keep).await;
        // Must start on what the cut left (a panic here fails the test).
        cluster.restart(victim).await;
    }
    let size = cluster.converge().await;
    assert!(size as usize >= acked.len(), "{size} leaves for {} acknowledged envelopes", acked.len());
    for id in cluster.running() {
        let ledger = cluster.service(id).ledger();
        for envelope in &acked {
            let hash = veritrace_core::Hash::digest(&envelope.encode_to_vec());
            assert!(
                ledger.find_envelope(&hash).expect("index").is_some(),
                "replica {id} lost acknowledged envelope {hash}"
            );
        }
    }
    eprintln!(
        "{cuts} power cuts ({at_a_write} at an exact write), {} acknowledged envelopes, {size} leaves",
        acked.len()
    );
    assert!(at_a_write > 0 && !acked.is_empty());
}
