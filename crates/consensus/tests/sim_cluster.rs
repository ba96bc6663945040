//! Drivers over the simulated network: elections, replication, leader
//! loss, partitions, message loss and duplication, forwarding, ReadIndex,
//! snapshot catch-up, learners, joint consensus and refused changes.
//! After every run all replicas hold the same state.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::{Cluster, item};
use veritrace_consensus::sim::Faults;
use veritrace_consensus::{DriverConfig, DriverError, MembershipChange};

fn no_tweak(_: &mut DriverConfig) {}

fn small_snapshots(cfg: &mut DriverConfig) {
    cfg.snapshot_interval = 40;
    cfg.snapshot_keep_entries = 5;
}

fn reason(e: DriverError) -> String {
    match e {
        DriverError::Refused { reason, .. } => reason,
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elect_replicate_forward_and_survive_leader_isolation() {
    let c = Cluster::start(3, 11, no_tweak);
    let mut want = Vec::new();
    for i in 0..20 {
        c.propose(&item(i), None, &[]).await;
        want.push(item(i));
    }
    // A follower forwards to the leader and gets the state machine's answer.
    let l = c.leader(&[]).await;
    let follower = (1..=3).find(|id| *id != l).unwrap();
    assert_eq!(c.propose(&item(20), Some(follower), &[]).await, 21u64.to_be_bytes().to_vec());
    want.push(item(20));
    // Re-proposing is answered as a duplicate, not applied twice.
    assert_eq!(c.propose(&item(20), None, &[]).await, b"dup".to_vec());
    c.converge(&[1, 2, 3], &want).await;

    c.net.isolate(l);
    for i in 21..30 {
        c.propose(&item(i), None, &[l]).await;
        want.push(item(i));
    }
    c.net.heal();
    c.converge(&[1, 2, 3], &want).await;
    c.settle(&[1, 2, 3]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minority_side_commits_nothing_and_majority_goes_on() {
    let c = Cluster::start(5, 12, no_tweak);
    c.propose(&item(0), None, &[]).await;
    let l = c.leader(&[]).await;
    let buddy = (1..=5).find(|id| *id != l).unwrap();
    let minority: BTreeSet<u64> = [l, buddy].into();
    let majority: BTreeSet<u64> = (1..=5).filter(|id| !minority.contains(id)).collect();
    c.net.set_faults(Faults { partitions: vec![minority.clone(), majority.clone()], ..Faults::default() });

    // The old leader cannot commit: its proposal never succeeds.
    let stuck = tokio::time::timeout(Duration::from_secs(2), c.handle(l).propose(b"lost".to_vec())).await;
    assert!(!matches!(stuck, Ok(Ok(_))), "a minority leader committed: {stuck:?}");

    let except: Vec<u64> = minority.iter().copied().collect();
    let mut want = vec![item(0)];
    for i in 1..10 {
        c.propose(&item(i), None, &except).await;
        want.push(item(i));
    }
    c.net.heal();
    c.converge(&[1, 2, 3, 4, 5], &want).await;
    assert!(!c.nodes[&l].log.items().contains(&b"lost".to_vec()), "an uncommitted entry survived");
    c.settle(&[1, 2, 3, 4, 5]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_loss_duplication_and_reordering() {
    let c = Cluster::start(3, 13, no_tweak);
    c.net.set_faults(Faults {
        drop_rate: 0.15,
        duplicate_rate: 0.15,
        max_delay: Duration::from_millis(15),
        partitions: vec![],
    });
    let mut want = Vec::new();
    for i in 0..40 {
        c.propose(&item(i), None, &[]).await;
        want.push(item(i));
    }
    c.net.set_faults(Faults::default());
    c.converge(&[1, 2, 3], &want).await;
    let (delivered, dropped) = c.net.counters();
    assert!(dropped > 0 && delivered > 0, "faults were injected ({delivered} delivered, {dropped} dropped)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_read_index_sees_acknowledged_writes() {
    let c = Cluster::start(3, 14, no_tweak);
    let l = c.leader(&[]).await;
    let f = (1..=3).find(|id| *id != l).unwrap();
    for i in 0..10 {
        c.propose(&item(i), Some(l), &[]).await;
        let index = c.handle(f).read_index().await.unwrap();
        assert!(index > 0);
        assert!(c.nodes[&f].log.items().contains(&item(i)), "read on {f} after write {i} missed it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_read_index_on_every_node_all_complete() {
    // Regression: read contexts were per-node counters; the leader drops a
    // context it already holds, so equal counters on two nodes lost a read.
    let c = Cluster::start(3, 16, no_tweak);
    c.leader(&[]).await;
    c.propose(&item(0), None, &[]).await;
    let mut reads = tokio::task::JoinSet::new();
    for round in 0..20 {
        for id in 1..=3u64 {
            let handle = c.handle(id).clone();
            reads.spawn(async move { (id, round, handle.read_index().await) });
        }
    }
    while let Some(done) = reads.join_next().await {
        let (id, round, result) = done.unwrap();
        assert!(result.is_ok_and(|i| i > 0), "read {round} on node {id} failed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_reads_share_read_index_requests_and_all_complete() {
    let c = Cluster::start(3, 17, no_tweak);
    let l = c.leader(&[]).await;
    c.propose(&item(0), None, &[]).await;
    let f = (1..=3).find(|id| *id != l).unwrap();
    let (before, _) = c.net.counters();
    // All 200 reads are asked in one poll pass of this task (a join of
    // their futures), so they reach the driver together whatever the load
    // on the machine; tasks spawned one by one could each meet a turn of
    // the loop of their own on a busy machine.
    let handle = c.handle(f).clone();
    let mut reads: Vec<_> = (0..200).map(|_| Some(Box::pin(handle.read_index()))).collect();
    let mut results = Vec::new();
    std::future::poll_fn(|cx| {
        for slot in reads.iter_mut() {
            if let Some(read) = slot
                && let std::task::Poll::Ready(result) = read.as_mut().poll(cx)
            {
                results.push(result);
                *slot = None;
            }
        }
        if results.len() == 200 { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    for result in results {
        assert!(result.is_ok_and(|i| i > 0), "a read on follower {f} failed");
    }
    // Each ReadIndex costs a forward, a heartbeat round to both followers
    // and an answer: 200 uncoalesced reads need at least 1,200 messages.
    let (after, _) = c.net.counters();
    assert!(after - before < 600, "{} messages for 200 reads: reads were not coalesced", after - before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_prepares_an_entry_before_applying_it() {
    let c = Cluster::start(3, 18, no_tweak);
    c.leader(&[]).await;
    for i in 0..30 {
        let via = 1 + u64::from(i) % 3;
        c.propose(&item(i), Some(via), &[]).await;
    }
    let want: Vec<Vec<u8>> = (0..30).map(item).collect();
    c.converge(&[1, 2, 3], &want).await;
    for id in 1..=3u64 {
        let (seen, unseen) = c.nodes[&id].log.prepared();
        assert!(unseen.is_empty(), "node {id} applied {} proposals it never prepared", unseen.len());
        assert!((0..30).all(|i| seen.contains(&item(i))), "node {id} did not prepare every proposal");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolated_follower_catches_up_through_a_snapshot() {
    let c = Cluster::start(3, 15, small_snapshots);
    let (_, lagging) = c.isolate_a_follower().await;
    let mut want = vec![item(0)];
    for i in 1..150 {
        c.propose(&item(i), None, &[lagging]).await;
        want.push(item(i));
    }
    // Snapshot files are written off the loop: wait for one to be recorded.
    let leader = c.leader(&[lagging]).await;
    let leader_status = c.wait_status(leader, "a recorded snapshot", |s| s.snapshot_index >= 40).await;
    assert!(leader_status.snapshot_index >= 40, "the leader snapshotted: {leader_status:?}");
    c.net.heal();
    c.converge(&[1, 2, 3], &want).await;
    let s = c.handle(lagging).status().await.unwrap();
    assert!(s.snapshot_index >= 40, "node {lagging} caught up by snapshot: {s:?}");
    assert_eq!(s.membership.metadata.len(), 3, "members' metadata came with the snapshot");
}

/// A snapshot's file is written on a thread of its own: while the leader's
/// writer is held, the cluster goes on committing and applying, and the
/// unfinished snapshot is not recorded; once released, it is recorded and
/// a lagging follower installs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applies_go_on_while_a_snapshot_is_written() {
    use std::sync::atomic::Ordering::SeqCst;
    let c = Cluster::start(3, 17, small_snapshots);
    let (l, lagging) = c.isolate_a_follower().await;
    let gate = c.nodes[&l].log.snapshot_gate();
    gate.close();
    let mut want = vec![item(0)];
    let mut next = 1;
    while gate.waited.load(SeqCst) == 0 {
        assert!(next < 200, "the leader never started a snapshot");
        c.propose(&item(next), Some(l), &[lagging]).await;
        want.push(item(next));
        next += 1;
    }
    let held = c.handle(l).status().await.unwrap();
    for i in next..next + 60 {
        c.propose(&item(i), Some(l), &[lagging]).await;
        want.push(item(i));
    }
    let up = [l, (1..=3).find(|id| *id != l && *id != lagging).unwrap()];
    c.converge(&up, &want).await;
    let s = c.handle(l).status().await.unwrap();
    assert_eq!(s.leader, l, "the leader stayed: {s:?}");
    assert!(s.applied >= held.applied + 60, "applies went on while the writer was held: {s:?}");
    assert_eq!(s.snapshot_index, held.snapshot_index, "an unfinished snapshot is not recorded: {s:?}");
    // Asked for now, a snapshot must cover what is applied now, not only
    // what the held one covers.
    let asked = tokio::spawn({
        let handle = c.handle(l).clone();
        async move { handle.create_snapshot().await }
    });
    // Give the request time to reach the driver while the writer is held
    // (if it came later it would start a fresh snapshot: same assertion).
    tokio::time::sleep(Duration::from_millis(100)).await;

    gate.open();
    let covered = asked.await.unwrap().unwrap();
    assert!(covered.index >= s.applied, "create_snapshot covers {} < applied {}", covered.index, s.applied);
    let s = c.wait_status(l, "the written snapshot", |s| s.snapshot_index > held.snapshot_index).await;
    assert!(s.snapshot_index > held.snapshot_index, "the written snapshot was recorded: {s:?}");
    c.net.heal();
    c.converge(&[1, 2, 3], &want).await;
    let f = c.handle(lagging).status().await.unwrap();
    assert!(f.snapshot_index > held.snapshot_index, "node {lagging} caught up by snapshot: {f:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_joins_by_snapshot_is_promoted_and_a_voter_is_replaced_jointly() {
    let mut c = Cluster::start(3, 16, small_snapshots);
    let mut want = Vec::new();
    for i in 0..60 {
        c.propose(&item(i), None, &[]).await;
        want.push(item(i));
    }
    c.add_empty_node(4);
    let l = c.leader(&[]).await;
    let f = (1..=3).find(|id| *id != l).unwrap();
    // A follower does not forward it: it names the leader.
    let add = MembershipChange::AddLearner { node: 4, metadata: b"node-4".to_vec() };
    let err = c.handle(f).change_membership(vec![add.clone()]).await.unwrap_err();
    assert!(matches!(err, DriverError::NotLeader { leader: Some(x) } if x == l), "{err:?}");
    c.handle(l).change_membership(vec![add.clone()]).await.unwrap();
    c.converge(&[1, 2, 3, 4], &want).await;
    let s4 = c.handle(4).status().await.unwrap();
    assert_eq!(s4.role, "learner");
    assert!(s4.snapshot_index > 0, "the learner started from a snapshot: {s4:?}");
    assert_eq!(reason(c.handle(l).change_membership(vec![add]).await.unwrap_err()), "ALREADY_MEMBER");

    c.handle(l).change_membership(vec![MembershipChange::Promote { node: 4 }]).await.unwrap();
    c.settle(&[1, 2, 3, 4]).await;
    let m = c.handle(4).status().await.unwrap().membership;
    assert_eq!(m.voters, [1, 2, 3, 4].into());
    assert_eq!(m.metadata.get(&4), Some(&b"node-4".to_vec()));

    // Replace a follower by a new learner in one joint change.
    c.add_empty_node(5);
    let l = c.leader(&[]).await;
    c.handle(l).change_membership(vec![MembershipChange::AddLearner { node: 5, metadata: vec![5] }]).await.unwrap();
    c.converge(&[5], &want).await;
    let gone = (1..=4).find(|id| *id != l).unwrap();
    let swap = vec![MembershipChange::Promote { node: 5 }, MembershipChange::Remove { node: gone }];
    c.handle(l).change_membership(swap).await.unwrap();
    let rest: Vec<u64> = (1..=5).filter(|id| *id != gone).collect();
    c.settle(&rest).await;
    let m = c.handle(rest[0]).status().await.unwrap().membership;
    assert!(m.voters_outgoing.is_empty(), "joint configuration was left: {m:?}");
    assert_eq!(m.voters, rest.iter().copied().collect());
    assert!(!m.metadata.contains_key(&gone));
    c.propose(&item(99), None, &[gone]).await;
    want.push(item(99));
    c.converge(&rest, &want).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_membership_changes_are_refused_and_change_nothing() {
    let c = Cluster::start(3, 17, no_tweak);
    c.propose(&item(0), None, &[]).await;
    let l = c.leader(&[]).await;
    let others: Vec<u64> = (1..=3).filter(|id| *id != l).collect();
    let h = c.handle(l);
    assert_eq!(
        reason(h.change_membership(vec![MembershipChange::Promote { node: others[0] }]).await.unwrap_err()),
        "NOT_A_LEARNER"
    );
    assert_eq!(
        reason(h.change_membership(vec![MembershipChange::Remove { node: 9 }]).await.unwrap_err()),
        "NOT_A_MEMBER"
    );
    assert_eq!(
        reason(h.change_membership(vec![MembershipChange::Remove { node: l }]).await.unwrap_err()),
        "LEADER_REMOVAL"
    );
    assert_eq!(
        reason(
            h.change_membership(vec![MembershipChange::AddLearner { node: 0, metadata: vec![] }]).await.unwrap_err()
        ),
        "INVALID_NODE"
    );

    // With one follower unreachable, removing the other would leave the
    // leader alone with a dead voter: refused.
    c.net.isolate(others[1]);
    // check-quorum refreshes `recent_active` once per election timeout.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut refused = None;
    for _ in 0..100 {
        match h.change_membership(vec![MembershipChange::Remove { node: others[0] }]).await {
            Err(DriverError::Refused { reason, .. }) if reason == "QUORUM_AT_RISK" => {
                refused = Some(reason);
                break;
            }
            Err(DriverError::Refused { .. }) | Err(DriverError::NotLeader { .. }) => {}
            other => panic!("unexpected answer while a voter is unreachable: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refused.as_deref(), Some("QUORUM_AT_RISK"));
    c.net.heal();
    c.settle(&[1, 2, 3]).await;
    assert_eq!(c.handle(l).status().await.unwrap().membership.voters, [1, 2, 3].into());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_transfers_to_the_named_voter() {
    let c = Cluster::start(3, 18, no_tweak);
    c.propose(&item(0), None, &[]).await;
    let l = c.leader(&[]).await;
    let target = (1..=3).find(|id| *id != l).unwrap();
    // Asked of a follower: it names the leader, which does it.
    let other = (1..=3).find(|id| *id != l && *id != target).unwrap();
    let err = c.handle(other).transfer_leader(target).await.unwrap_err();
    assert!(matches!(err, DriverError::NotLeader { leader: Some(x) } if x == l), "{err:?}");
    // A peer forwarding one itself is refused: no peer is an admin.
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let rogue = c.net.attach(9, tx);
    let mut forwarded = vec![3u8];
    forwarded.extend_from_slice(&other.to_be_bytes());
    let answer = veritrace_consensus::Transport::forward(&rogue, l, forwarded).await.unwrap();
    assert_eq!(answer.first(), Some(&1), "an error answer");
    assert!(String::from_utf8_lossy(&answer).contains("ADMIN_NOT_FORWARDED"), "{answer:?}");
    assert_eq!(c.handle(l).transfer_leader(target).await.unwrap(), target);
    assert_eq!(c.leader(&[]).await, target);
    c.propose(&item(1), None, &[]).await;
    c.converge(&[1, 2, 3], &[item(0), item(1)]).await;
}

/// A raw Raft message of `kind` from `from` to `to` at `term`.
fn forged(kind: raft::eraftpb::MessageType, from: u64, to: u64, term: u64) -> Vec<u8> {
    use protobuf::Message as _;
    let mut m = raft::eraftpb::Message::default();
    m.set_msg_type(kind);
    (m.from, m.to, m.term) = (from, to, term);
    m.write_to_bytes().unwrap()
}

/// Only voters lead or campaign: a learner (a node governance admitted,
/// running other code) and a stranger send heartbeats, appends and votes
/// of a higher term to a follower; its term and leader do not move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learners_and_strangers_cannot_move_terms() {
    use raft::eraftpb::MessageType::*;
    use veritrace_consensus::Transport as _;
    let c = Cluster::start(3, 21, no_tweak);
    let l = c.leader(&[]).await;
    let f = (1..=3).find(|id| *id != l).unwrap();
    // Node 4 is a forger that the cluster takes in as a learner; 9 is a stranger on the network.
    let (tx4, _rx4) = tokio::sync::mpsc::channel(1024);
    let learner = c.net.attach(4, tx4);
    let (tx9, _rx9) = tokio::sync::mpsc::channel(1024);
    let stranger = c.net.attach(9, tx9);
    c.handle(l)
        .change_membership(vec![MembershipChange::AddLearner { node: 4, metadata: b"node-4".to_vec() }])
        .await
        .unwrap();
    let before = c.wait_status(f, "the follower knows the learner", |s| s.membership.learners.contains(&4)).await;
    for round in 0..20u64 {
        let term = before.term + 5 + round;
        for kind in [MsgHeartbeat, MsgAppend, MsgRequestVote, MsgRequestPreVote, MsgTimeoutNow] {
            learner.send(f, forged(kind, 4, f, term));
            stranger.send(f, forged(kind, 9, f, term));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = c.handle(f).status().await.unwrap();
    assert_eq!((after.term, after.leader), (before.term, l), "the follower's term or leader moved: {after:?}");
    // At the leader: answers of a higher term, proposals and malformed
    // read-index requests (raft-rs panics on an empty proposal or read
    // index), a transfer request from a stranger.
    for round in 0..10u64 {
        let term = before.term + 5 + round;
        for kind in [MsgHeartbeatResponse, MsgAppendResponse, MsgPropose, MsgReadIndex, MsgTransferLeader, MsgHeartbeat]
        {
            learner.send(l, forged(kind, 4, l, term));
            stranger.send(l, forged(kind, 9, l, term));
        }
        learner.send(l, forged(MsgPropose, 4, l, 0));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let at_leader = c.handle(l).status().await.unwrap();
    assert_eq!((at_leader.term, at_leader.leader), (before.term, l), "the leader moved: {at_leader:?}");
    c.propose(&item(1), None, &[]).await;
    c.converge(&[1, 2, 3], &[item(1)]).await;
}

fn large_batches(cfg: &mut DriverConfig) {
    // Below the frame with the Raft message around it, but large enough
    // that two concurrent 2 MiB proposals would have shared one entry.
    cfg.max_batch_bytes = 3 * 1024 * 1024;
}

/// Two concurrent proposals that fit the batch limit alone but not
/// together go into two entries: before the fix the batcher added the
/// second before checking the limit, built a 4 MiB entry the 4 MiB frame
/// could not carry, and every later write stalled behind it while
/// heartbeats kept the leader in office.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_that_together_exceed_the_frame_go_into_separate_entries() {
    let c = Cluster::start(3, 23, large_batches);
    c.propose(&item(0), None, &[]).await;
    let leader = c.leader(&[]).await;
    let big = |tag: u8| {
        let mut v = vec![tag; 2 * 1024 * 1024];
        v[0] = b'B';
        v
    };
    let (a, b) = (big(1), big(2));
    let (ha, hb) = (c.handle(leader).clone(), c.handle(leader).clone());
    let (ra, rb) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(20), ha.propose(a.clone())),
        tokio::time::timeout(Duration::from_secs(20), hb.propose(b.clone())),
    );
    ra.expect("first large proposal committed in time").unwrap();
    rb.expect("second large proposal committed in time").unwrap();
    c.propose(&item(1), None, &[]).await;
    let items = c.nodes[&leader].log.items();
    let mut want = vec![item(0)];
    want.extend(items[1..3].iter().cloned());
    want.push(item(1));
    assert!(items[1..3].contains(&a) && items[1..3].contains(&b));
    c.converge(&[1, 2, 3], &want).await;
    let (_, dropped) = c.net.counters();
    assert_eq!(dropped, 0, "no Raft message was too long for the frame");
}

/// A configuration whose entries could outgrow the transport's frame is
/// refused at start, naming the setting to lower.
#[tokio::test]
async fn a_batch_limit_beyond_the_frame_is_refused_at_start() {
    use veritrace_consensus::{RAFT_CFS, RaftLogStore, StartError, sim::SimNetwork};
    use veritrace_storage::MemEngine;
    let dir = tempfile::tempdir().unwrap();
    let net = SimNetwork::new(1);
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let transport = std::sync::Arc::new(net.attach(1, tx));
    let store = RaftLogStore::bootstrap(MemEngine::new(RAFT_CFS), &[1], &[]).unwrap();
    let mut cfg = DriverConfig::new(1, dir.path().join("snap"));
    cfg.max_batch_bytes = 4 * 1024 * 1024;
    let err = veritrace_consensus::driver::start(cfg, store, support::Log::default(), transport, rx).unwrap_err();
    assert!(matches!(&err, StartError::Config(m) if m.contains("max_batch_bytes")), "{err}");
}

fn slow_elections(cfg: &mut DriverConfig) {
    cfg.election_ticks = 200;
}

/// Load shedding: a leader cut off from its quorum holds at most
/// `MAX_UNCOMMITTED_BYTES` of proposals it cannot commit, and drops the
/// rest at once (retryable), instead of growing its log without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_commit_sheds_proposals_beyond_its_uncommitted_limit() {
    let c = Cluster::start(3, 29, slow_elections);
    c.propose(&item(0), None, &[]).await;
    let leader = c.leader(&[]).await;
    c.net.isolate(leader);
    let mut waiting = Vec::new();
    let n = veritrace_consensus::driver::MAX_UNCOMMITTED_BYTES / (1024 * 1024) + 20;
    for i in 0..n as u32 {
        let mut data = vec![0u8; 1024 * 1024];
        data[..4].copy_from_slice(&i.to_be_bytes());
        let h = c.handle(leader).clone();
        waiting.push(tokio::spawn(async move { h.propose(data).await }));
    }
    let mut dropped = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    for w in waiting {
        match tokio::time::timeout_at(deadline, w).await {
            Ok(Ok(Err(DriverError::Dropped(_)))) => dropped += 1,
            Ok(Ok(other)) => panic!("an uncommittable proposal answered {other:?}"),
            Ok(Err(e)) => panic!("join: {e}"),
            Err(_) => {} // held, waiting for a quorum
        }
    }
    assert!(dropped >= 10, "only {dropped} of {n} proposals beyond the limit were shed");
    c.net.heal();
}

/// Proposes a membership change at the leader of the moment, retrying what
/// a busy cluster answers (a new leader, a change still in flight, a
/// learner not yet caught up) until `deadline`.
async fn change_until_done(c: &Cluster, changes: Vec<MembershipChange>, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let l = c.leader(&[]).await;
        match tokio::time::timeout(Duration::from_secs(3), c.handle(l).change_membership(changes.clone())).await {
            Ok(Ok(_)) => return,
            // An earlier try whose answer was lost did it.
            Ok(Err(DriverError::Refused { reason, .. }))
                if matches!(reason.as_str(), "ALREADY_MEMBER" | "NOT_A_LEARNER" | "NOT_A_MEMBER") =>
            {
                return;
            }
            Ok(Err(DriverError::Refused { reason, .. }))
                if matches!(reason.as_str(), "CHANGE_IN_PROGRESS" | "NOT_CAUGHT_UP" | "QUORUM_AT_RISK") => {}
            Ok(Err(DriverError::NotLeader { .. } | DriverError::Dropped(_) | DriverError::Timeout(_))) | Err(_) => {}
            Ok(Err(e)) => panic!("{what}: {e}"),
        }
        assert!(std::time::Instant::now() < deadline, "{what}: not done in 30 s (a stuck learner?)");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Membership churn: 1,000 changes (a learner added, caught up and
/// promoted, an old voter removed, over and over) while writes go on.
/// No learner stays stuck, no acknowledged write is lost, and the last
/// members hold exactly the acknowledged writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_membership_changes_lose_nothing_and_strand_no_learner() {
    let changes: u64 = std::env::var("VERITRACE_MEMBERSHIP_CHANGES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let mut c = Cluster::start(3, 71, small_snapshots);
    let mut want = Vec::new();
    let mut voters: Vec<u64> = vec![1, 2, 3];
    let mut next_id = 4;
    let mut done = 0;
    let mut i = 0;
    while done < changes {
        // A write between changes, acknowledged before the next one.
        c.propose(&item(i), None, &[]).await;
        want.push(item(i));
        i += 1;
        let new = next_id;
        next_id += 1;
        c.add_empty_node(new);
        change_until_done(&c, vec![MembershipChange::AddLearner { node: new, metadata: vec![1] }], "add").await;
        change_until_done(&c, vec![MembershipChange::Promote { node: new }], "promote").await;
        // Remove the oldest voter that is not leading.
        let leader = c.leader(&[]).await;
        let old = *voters.iter().find(|v| **v != leader).expect("a voter that does not lead");
        change_until_done(&c, vec![MembershipChange::Remove { node: old }], "remove").await;
        voters.retain(|v| *v != old);
        voters.push(new);
        c.nodes.remove(&old);
        c.net.detach(old);
        done += 3;
    }
    c.propose(&item(i), None, &[]).await;
    want.push(item(i));
    c.converge(&voters, &want).await;
    c.settle(&voters).await;
    let m = c.handle(voters[0]).status().await.unwrap().membership;
    assert_eq!(m.voters, voters.iter().copied().collect(), "{done} changes");
    assert!(m.learners.is_empty(), "no learner left behind: {m:?}");
}
