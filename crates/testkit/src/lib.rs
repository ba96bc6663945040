//! In-process Veritrace clusters for tests.
//!
//! A [`TestCluster`] runs N replicas in one process, each with the real
//! ledger, the real application layer (`veritrace-service`) and the real
//! gRPC server (`veritrace-server`) on a loopback TCP port, over the
//! in-memory engine and the simulated network of `veritrace-consensus`.
//! Only the process wiring differs from a node: no RocksDB, no libp2p.
//!
//! The simulated network is seeded ([`ClusterBuilder::seed`]): its drops,
//! duplicates and delays replay for the same seed, so a failing run can be
//! repeated (the Raft timers and the gRPC clients still run on the real
//! clock, so interleavings are not bit-for-bit; the reliability issue's
//! deterministic simulation builds on this kit).
//!
//! Hooks: [`TestCluster::crash`] and [`TestCluster::restart`] (a replica's
//! engine survives whole: the in-memory engine has no unsynced writes to
//! lose, so recovery from a torn write is tested on RocksDB, not here), [`TestCluster::partition`],
//! [`TestCluster::isolate`], [`TestCluster::heal`],
//! [`TestCluster::set_faults`] for message loss and delay, and
//! [`TestCluster::inject`] for calls slowed or answers lost at the gRPC edge.
//! [`ClusterBuilder::lying_head_signer`] makes a replica sign tree heads
//! that do not verify, for tests that clients catch it.
//! [`ClusterBuilder::tls`] serves the gRPC API over TLS.
//!
//! The genesis is the ledger's fixture network
//! (`veritrace_ledger::testing::network_genesis`), so tests sign with the
//! fixture parties' keys; every replica records consumer scans as the
//! fixture's platform party `app`.

mod cluster;
mod faults;
pub mod http;
mod peers;

pub use cluster::{ClusterBuilder, TestCluster, node_key};
pub use faults::{Faults, ForkingHeadSigner, LyingHeadSigner};
pub use peers::SimPeers;
/// The ledger's fixture network the clusters run (parties, keys, actions).
pub use veritrace_ledger::testing as fixture;
/// The `[api.tls]` section [`ClusterBuilder::tls`] takes.
pub use veritrace_server::TlsSection;
/// The server's statuses with machine-readable reasons, for faults that
/// look exactly like the node's own refusals.
pub use veritrace_server::status;

use veritrace_proto::v1 as pb;

/// An envelope of fixture party `party` (e.g. `"brand"`) with `nonce` and
/// `action`, stamped now and signed with the party's fixture key.
pub fn signed(party: &str, nonce: u64, action: pb::transaction::Action) -> pb::SignedEnvelope {
    signed_at(party, nonce, action, veritrace_service::now_ms())
}

/// [`signed`], stamped at `time_ms` (a deterministic run's
/// [`TestCluster::now_ms`]).
pub fn signed_at(party: &str, nonce: u64, action: pb::transaction::Action, time_ms: i64) -> pb::SignedEnvelope {
    let tx = pb::Transaction {
        party_id: party.to_owned(),
        nonce,
        client_time: Some(veritrace_proto::timestamp_from_ms(time_ms)),
        network_id: fixture::NETWORK.into(),
        action: Some(action),
        ..Default::default()
    };
    veritrace_core::Envelope::sign_transaction(&tx, &fixture::party_key(party)).to_proto()
}

/// Registration of the `n`th fixture product by `brand`: an envelope
/// every replica applies, new for each `n`.
pub fn product(n: u32) -> pb::SignedEnvelope {
    product_at(n, veritrace_service::now_ms())
}

/// [`product`], stamped at `time_ms`.
pub fn product_at(n: u32, time_ms: i64) -> pb::SignedEnvelope {
    signed_at("brand", u64::from(n), fixture::register_product(&fixture::gtin(n), "brand"), time_ms)
}
