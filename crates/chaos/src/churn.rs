//! Membership churn on real processes, the way operators replace a member
//! (operator guide §5.3), under the clients' load:
//!
//! 1. a spare node (listed as its party's validator in the genesis) starts
//!    empty, is added as a learner, catches up from a Raft snapshot and is
//!    promoted to voter;
//! 2. the founding admins de-list the victim's node by a k-of-n
//!    `ChangeValidators` decision on the ledger (governance, not an
//!    operator, decides who validates);
//! 3. the victim (the leader half the time) is removed and its process
//!    killed for good.
//!
//! Every step goes through `ClusterService` with the operators' admin token
//! and retries while the cluster is busy (no leader, `NOT_CAUGHT_UP`, a
//! leader that has not applied the decision yet). The clients switch to
//! the new member list as soon as the harness knows it.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use veritrace_client::{Client, ConnectOptions};
use veritrace_core::Envelope;
use veritrace_proto::v1 as pb;

use crate::cluster::{Cluster, Party};

/// How long one step may keep retrying before the fault fails the run.
const STEP_DEADLINE: Duration = Duration::from_secs(90);

/// Replaces member `victim` by the next spare node. Returns `[spare,
/// victim]`; `Err` when no spare is left or a step did not finish within
/// [`STEP_DEADLINE`] (a stuck membership change is a finding).
pub async fn replace(cluster: &mut Cluster, victim: u64, round: usize) -> anyhow::Result<Vec<u64>> {
    let spare = cluster.take_spare().context("no spare node left for membership churn (RunConfig counts them)")?;
    cluster.start(spare)?;
    let config = cluster.config(spare)?;
    let peer_id = cluster.peer_id(spare)?;
    let api = cluster.api(spare).to_owned();
    let options = cluster.admin_options()?;
    let members = cluster.member_apis();
    let admin = |k: usize| connect(&members, &options, k);

    retry("add the spare as a learner", |k| {
        let (addr, peer_id, api) = (config.network.listen.clone(), peer_id.clone(), api.clone());
        let admin = admin(k);
        async move {
            let c = admin.await?;
            // Asked again after an unknown outcome, the change may be in.
            if kind_of(&c, spare).await?.is_some() {
                return Ok(());
            }
            c.add_learner(spare, &peer_id, vec![addr], &api).await?;
            Ok(())
        }
    })
    .await?;
    tracing::info!(node = spare, "churn: learner added");
    retry("promote the learner", |k| {
        let admin = admin(k);
        async move {
            let c = admin.await?;
            if kind_of(&c, spare).await? == Some(pb::MemberKind::Voter) {
                return Ok(());
            }
            c.promote_member(spare).await?;
            Ok(())
        }
    })
    .await?;
    cluster.set_member(spare, true);
    tracing::info!(node = spare, "churn: promoted to voter");

    delist(cluster, victim, round).await?;
    retry("remove the de-listed victim", |k| {
        let admin = admin(k);
        async move {
            let c = admin.await?;
            if kind_of(&c, victim).await?.is_none() {
                return Ok(());
            }
            match c.remove_member(victim).await {
                Ok(_) => Ok(()),
                // A leader does not remove itself: hand over first, as an
                // operator would.
                Err(e) if e.reason() == Some("LEADER_REMOVAL") => {
                    c.transfer_leader(0).await?;
                    tracing::info!(node = victim, "churn: the victim led; leadership handed over");
                    bail!("the victim led; leadership handed over")
                }
                Err(e) => Err(e.into()),
            }
        }
    })
    .await?;
    cluster.set_member(victim, false);
    cluster.kill(victim)?;
    tracing::info!(node = victim, "churn: removed and stopped");
    Ok(vec![spare, victim])
}

/// A client of the `k`-th of `urls`, round robin: each retry asks the
/// next node.
async fn connect(urls: &[String], options: &ConnectOptions, k: usize) -> anyhow::Result<Client> {
    let url = urls.get(k % urls.len().max(1)).context("no member to ask")?;
    Ok(Client::connect_with(url, options).await?)
}

/// Node `id`'s kind in the configuration the node behind `c` has applied
/// (`None`: not a member).
async fn kind_of(c: &Client, id: u64) -> anyhow::Result<Option<pb::MemberKind>> {
    let members = c.list_members().await?;
    Ok(members.iter().find(|m| m.node_id == id).map(|m| m.kind()))
}

/// A governance decision taking `victim`'s node off the validator list:
/// party-1 proposes, the next founding admins approve up to the genesis
/// rule's threshold. Each envelope is signed once and resent as is, so a
/// retry after an unknown outcome is a duplicate. The proposal must end
/// EXECUTED (an approved change that fails is FAILED).
async fn delist(cluster: &Cluster, victim: u64, round: usize) -> anyhow::Result<()> {
    let threshold = u64::from(cluster.governance_threshold());
    let proposal = format!("chaos-delist-node{victim}-round{round}");
    let party_of_victim = format!("party-{victim}");
    let nonce = 1u64 << 60 | round as u64;
    let mut envelopes = Vec::new();
    for k in 1..=threshold {
        let party = cluster.party(k)?;
        let action = if k == 1 {
            veritrace_ledger::testing::propose(
                &proposal,
                veritrace_ledger::testing::assign_validator(&party_of_victim, ""),
            )
        } else {
            veritrace_ledger::testing::approve(&proposal)
        };
        envelopes.push(sign(cluster, &party, nonce, action));
    }
    let urls = cluster.member_apis();
    let options = cluster.options()?;
    for (k, envelope) in envelopes.into_iter().enumerate() {
        retry("a governance envelope", |attempt| {
            let (client, envelope) = (connect(&urls, &options, attempt), envelope.clone());
            async move {
                let receipts = client.await?.submit_bytes(vec![envelope], false).await?;
                match receipts.first() {
                    Some(r)
                        if r.outcome == pb::Outcome::Applied as i32 || r.outcome == pb::Outcome::Duplicate as i32 =>
                    {
                        Ok(())
                    }
                    // A receipt's refusal is final: retrying cannot help.
                    Some(r) => {
                        Err(Final(format!("governance envelope {k} refused: {} {}", r.reason, r.message)).into())
                    }
                    None => bail!("no receipt"),
                }
            }
        })
        .await?;
    }
    let c = connect(&urls, &options, 0).await?;
    let page = c.list_proposals(pb::ListProposalsRequest { page_size: 1000, ..Default::default() }).await?;
    let status = page.proposals.iter().find(|p| p.proposal_id == proposal).map(|p| p.status());
    if status != Some(pb::ProposalStatus::Executed) {
        bail!("churn: proposal {proposal} ended {status:?}, not EXECUTED");
    }
    tracing::info!(node = victim, proposal, "churn: de-listed by governance");
    Ok(())
}

/// An error no retry can mend (a receipt's refusal).
#[derive(Debug)]
struct Final(String);

impl std::fmt::Display for Final {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Final {}

fn sign(cluster: &Cluster, party: &Party, nonce: u64, action: pb::transaction::Action) -> Vec<u8> {
    let signer = veritrace_ledger::testing::TestParty { id: party.id.clone(), key: party.key.clone() };
    let tx = pb::Transaction {
        network_id: cluster.network_id.clone(),
        ..veritrace_ledger::testing::tx(&signer, nonce, action)
    };
    Envelope::sign_transaction(&tx, &party.key).bytes().to_vec()
}

/// Runs `step` (given its attempt number) until it succeeds, for at most
/// [`STEP_DEADLINE`]; the last error names what was stuck.
async fn retry<F, Fut>(what: &str, mut step: F) -> anyhow::Result<()>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let deadline = Instant::now() + STEP_DEADLINE;
    let mut attempt = 0;
    loop {
        let outcome = tokio::time::timeout(Duration::from_secs(15), step(attempt)).await;
        match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if e.is::<Final>() || Instant::now() >= deadline => {
                return Err(e.context(format!("churn: {what}")));
            }
            Err(_) if Instant::now() >= deadline => bail!("churn: {what}: timed out"),
            Ok(Err(e)) => tracing::debug!(what, attempt, error = %format!("{e:#}"), "churn: retrying"),
            Err(_) => tracing::debug!(what, attempt, "churn: attempt timed out; retrying"),
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
