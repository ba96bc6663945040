//! The clients: each submits one signed EPCIS observation at a time to a
//! random node, records the outcome, and after an acknowledgement reads the
//! tree size linearizably at a random node.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::RngExt as _;
use veritrace_client::{Client, ClientError, ConnectOptions};
use veritrace_core::Envelope;
use veritrace_proto::v1 as pb;

use crate::cluster::{Endpoints, Party};
use crate::history::{History, Op, WriteOutcome};

/// What one worker needs.
#[derive(Debug, Clone)]
pub struct Worker {
    /// Its number (nonces and history).
    pub process: usize,
    /// The members' gRPC endpoints, by id (membership churn changes them).
    pub endpoints: Endpoints,
    /// Connection options (party credential, deadlines).
    pub options: ConnectOptions,
    /// Who signs the events.
    pub party: Party,
    /// The genesis network id.
    pub network_id: String,
    /// Where outcomes go.
    pub history: History,
    /// Set when the run ends.
    pub stop: Arc<AtomicBool>,
}

/// Reasons that prove a submission was not proposed (and so can never
/// commit). Anything else (a timeout, a lost connection, `NOT_LEADER` from
/// a leader that stepped down with the entry in its log) is unknown.
/// The checker verifies the claim: a write it classed as failed must be on
/// no replica.
const DEFINITE_REFUSALS: &[&str] = &["PROPOSAL_DROPPED", "RATE_LIMITED", "DISK_FULL", "TOO_LARGE", "MESSAGE_TOO_LARGE"];

impl Worker {
    /// Runs until `stop` is set.
    pub async fn run(self) {
        let mut clients: HashMap<u64, Client> = HashMap::new();
        let mut nonce = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            nonce += 1;
            let (envelope, id) = self.event(nonce);
            let Some((node, url)) = self.pick() else { break };
            let invoked_us = self.history.now_us();
            let outcome = match self.client(&mut clients, node, &url).await {
                None => WriteOutcome::Fail("cannot connect".into()),
                Some(c) => {
                    classify(tokio::time::timeout(Duration::from_secs(10), c.submit_bytes(vec![envelope], false)).await)
                }
            };
            if matches!(outcome, WriteOutcome::Unknown(_)) {
                clients.remove(&node); // reconnect: the connection may be wedged
            }
            let acked = matches!(outcome, WriteOutcome::Ok { .. });
            self.history.record(Op::Write {
                process: self.process,
                node,
                envelope: id,
                invoked_us,
                completed_us: self.history.now_us(),
                outcome,
            });
            if acked {
                self.read(&mut clients).await;
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// A linearizable read of the tree size at a random node.
    async fn read(&self, clients: &mut HashMap<u64, Client>) {
        let Some((node, url)) = self.pick() else { return };
        let invoked_us = self.history.now_us();
        let request = pb::GetTreeHeadRequest { linearizable: true, ..Default::default() };
        let size = match self.client(clients, node, &url).await {
            Some(c) => match tokio::time::timeout(Duration::from_secs(5), c.tree_head_with(request)).await {
                Ok(Ok(head)) => Some(head.tree_size),
                _ => None,
            },
            None => None,
        };
        self.history.record(Op::Read {
            process: self.process,
            node,
            invoked_us,
            completed_us: self.history.now_us(),
            size,
        });
    }

    /// A random member: id and endpoint.
    fn pick(&self) -> Option<(u64, String)> {
        let endpoints = self.endpoints.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if endpoints.is_empty() {
            return None;
        }
        Some(endpoints[rand::rng().random_range(0..endpoints.len())].clone())
    }

    async fn client<'a>(&self, clients: &'a mut HashMap<u64, Client>, node: u64, url: &str) -> Option<&'a Client> {
        if let std::collections::hash_map::Entry::Vacant(slot) = clients.entry(node) {
            let connect = Client::connect_with(url, &self.options);
            slot.insert(tokio::time::timeout(Duration::from_secs(2), connect).await.ok().and_then(Result::ok)?);
        }
        clients.get(&node)
    }

    /// A signed observation of an asset unique to this worker and nonce.
    fn event(&self, nonce: u64) -> (Vec<u8>, String) {
        let asset = format!("urn:epc:id:giai:0614141.W{}N{nonce}", self.process);
        let action = veritrace_ledger::testing::observe(&[&asset], 0);
        let party = veritrace_ledger::testing::TestParty { id: self.party.id.clone(), key: self.party.key.clone() };
        let nonce = (self.process as u64) << 40 | nonce;
        let tx = pb::Transaction {
            network_id: self.network_id.clone(),
            ..veritrace_ledger::testing::tx(&party, nonce, action)
        };
        let env = Envelope::sign_transaction(&tx, &self.party.key);
        (env.bytes().to_vec(), env.id().to_string())
    }
}

fn classify(answer: Result<Result<Vec<pb::Receipt>, ClientError>, tokio::time::error::Elapsed>) -> WriteOutcome {
    match answer {
        Err(_) => WriteOutcome::Unknown("client deadline".into()),
        Ok(Ok(receipts)) => match receipts.first() {
            Some(r) if r.outcome == pb::Outcome::Applied as i32 || r.outcome == pb::Outcome::Duplicate as i32 => {
                WriteOutcome::Ok { leaf: r.leaf_index }
            }
            Some(r) => WriteOutcome::Fail(format!("rejected: {}", r.reason)),
            None => WriteOutcome::Unknown("no receipt".into()),
        },
        Ok(Err(e)) => match e.reason() {
            Some(reason) if DEFINITE_REFUSALS.contains(&reason) => WriteOutcome::Fail(reason.to_owned()),
            Some(reason) => WriteOutcome::Unknown(reason.to_owned()),
            None => WriteOutcome::Unknown(e.to_string()),
        },
    }
}
