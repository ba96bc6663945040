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
//!
//! A second test sweeps seeds: each seed draws its own schedule of cuts
//! and of network faults (loss, duplication, delay) over the simulated
//! network. A failure names its seed; `VERITRACE_SEED=N` replays that
//! schedule (the same cuts, faults and writes; not the same thread
//! interleaving: the runtime is multi-threaded and the edge is real TCP).

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

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_power_cuts_at_every_kind_of_write() {
    let cuts = env_u64("VERITRACE_POWER_CUTS").unwrap_or(24);
    let (acked, size, at_a_write) = run(61, cuts, false).await;
    eprintln!("{cuts} power cuts ({at_a_write} at an exact write), {acked} acknowledged envelopes, {size} leaves");
    assert!(at_a_write > 0 && acked > 0);
}

/// Seeds 1..=VERITRACE_SEEDS (default 6), or only VERITRACE_SEED: each a
/// schedule of 6 cuts with network faults drawn from the seed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_of_seeds_with_network_faults_loses_nothing() {
    let seeds: Vec<u64> = match env_u64("VERITRACE_SEED") {
        Some(seed) => vec![seed],
        None => (1..=env_u64("VERITRACE_SEEDS").unwrap_or(6)).collect(),
    };
    for seed in seeds {
        let (acked, size, _) = run(seed, 6, true).await;
        eprintln!("seed {seed}: {acked} acknowledged envelopes, {size} leaves (replay: VERITRACE_SEED={seed})");
        assert!(acked > 0, "seed {seed}: nothing acknowledged");
    }
}

/// One schedule: `cuts` power cuts drawn from `seed`, with network faults
/// when `faulty_network`. Panics naming the seed on a lost envelope or a
/// replica that does not restart; returns (acknowledged, leaves, cuts at
/// an exact write).
async fn run(seed: u64, cuts: u64, faulty_network: bool) -> (usize, u64, u64) {
    let mut cluster = TestCluster::builder(3).seed(seed).snapshot_interval(8).start().await;
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut next = 1u32;
    let mut acked: Vec<pb::SignedEnvelope> = Vec::new();
    let mut at_a_write = 0;
    for cut in 0..cuts {
        if faulty_network {
            cluster.set_faults(veritrace_consensus::sim::Faults {
                drop_rate: rng.below(10) as f64 / 100.0,
                duplicate_rate: rng.below(10) as f64 / 100.0,
                max_delay: Duration::from_millis(rng.below(20)),
                partitions: Vec::new(),
            });
        }
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
            if faulty_network {
                cluster.set_faults(veritrace_consensus::sim::Faults {
                    drop_rate: 0.02,
                    duplicate_rate: 0.02,
                    max_delay: Duration::from_millis(5),
                    partitions: Vec::new(),
                });
            }
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
    cluster.heal();
    let size = cluster.converge().await;
    assert!(size as usize >= acked.len(), "seed {seed}: {size} leaves for {} acknowledged envelopes", acked.len());
    for id in cluster.running() {
        let ledger = cluster.service(id).ledger();
        for envelope in &acked {
            let hash = veritrace_core::Hash::digest(&envelope.encode_to_vec());
            assert!(
                ledger.find_envelope(&hash).expect("index").is_some(),
                "seed {seed}: replica {id} lost acknowledged envelope {hash} (replay: VERITRACE_SEED={seed})"
            );
        }
    }
    (acked.len(), size, at_a_write)
}
