//! Veritrace's fault harness on real processes (Jepsen's shape, in Rust).
//!
//! A run ([`run::run`]) starts N real `veritrace node start` processes made
//! by `veritrace init`, each peer link behind a TCP proxy on loopback
//! ([`proxy`]); clients ([`workload`]) submit signed events and read the
//! tree linearizably, recording every operation ([`history`]); a nemesis
//! ([`nemesis`]) kills (SIGKILL), pauses (SIGSTOP), partitions nodes,
//! skews their clocks and replaces members through governance ([`churn`]);
//! at the end every fault is healed, the replicas must converge, and the
//! checker ([`checker`]) compares the history with every replica's ledger:
//! no acknowledged event lost or duplicated, real-time order kept, reads
//! see acknowledged writes, replicas equal.
//!
//! `veritrace-chaos` is the command line; `scripts/chaos.sh` runs the long
//! profiles; CI runs a short one (`crates/cli/tests/chaos.rs`).

pub mod checker;
pub mod churn;
pub mod cluster;
pub mod history;
pub mod nemesis;
pub mod proxy;
pub mod run;
pub mod workload;
