//! `veritrace demo --cluster DIR`: a product's journey submitted to a
//! running local cluster over gRPC, through a follower (forwarded to the
//! leader), then checked offline and compared across every node.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use prost::Message as _;
use veritrace_client::Client;
use veritrace_client::render::{OutputFormat, render_receipts};
use veritrace_core::gs1::{Gtin, Serial, Sgtin};
use veritrace_core::{Envelope, Hash, PublicKey, TreeHead, merkle};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use crate::bench::{Signer, load};
use crate::demo::object_event;

fn sign(signer: &Signer, network_id: &str, nonce: u64, action: Action) -> (pb::SignedEnvelope, [u8; 32]) {
    let tx = pb::Transaction {
        party_id: signer.party_id.clone(),
        nonce,
        network_id: network_id.to_string(),
        action: Some(action),
        ..Default::default()
    };
    let env = Envelope::sign_transaction(&tx, &signer.key);
    (pb::SignedEnvelope::decode(env.bytes()).unwrap_or_default(), *env.id().as_bytes())
}

async fn wait_for_leader(clients: &[(String, Client)]) -> anyhow::Result<usize> {
    for _ in 0..100 {
        for (i, (_, c)) in clients.iter().enumerate() {
            if let Ok(s) = c.status().await
                && s.role == pb::RaftRole::Leader as i32
            {
                return Ok(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("no leader elected within 20 s; are the nodes running?")
}

/// Runs the cluster demo against the nodes listed in `DIR/cluster.json`.
pub fn run(dir: &Path) -> anyhow::Result<()> {
    let (file, signers) = load(dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let mut clients = Vec::new();
        for n in &file.nodes {
            clients.push((n.name.clone(), Client::connect(&n.api).await.with_context(|| format!("{} at {}", n.name, n.api))?));
        }
        let leader = wait_for_leader(&clients).await?;
        let via = (leader + 1) % clients.len();
        println!("Cluster {:?}: {} nodes, leader {}; submitting through {} (a follower forwards to the leader)\n", file.network_id, clients.len(), clients[leader].0, clients[via].0);
        let client = &clients[via].1;

        let run = client.status().await?.tree_size + 1;
        let gtin = Gtin::from_body("061414112345").context("demo GTIN")?;
        let epcs: Vec<String> = (0..3)
            .map(|i| Serial::parse(&format!("C{run}-{i:04}")).map(|s| Sgtin::new(gtin, s).to_digital_link()))
            .collect::<Result<_, _>>()
            .context("demo serials")?;
        let party = |i: usize| &signers[i % signers.len()];
        let nonce = |i: u64| run * 1000 + i;
        let net = &file.network_id;
        let journey = [
            sign(party(0), net, nonce(1), object_event("cbv:BizStep-commissioning", "cbv:Disp-active", epcs.clone(), None)),
            sign(party(1), net, nonce(2), object_event("cbv:BizStep-inspecting", "cbv:Disp-conformant", epcs.clone(), None)),
            sign(party(2), net, nonce(3), object_event("cbv:BizStep-shipping", "cbv:Disp-in_transit", epcs.clone(), Some("SF1234567890"))),
            sign(party(3), net, nonce(4), object_event("cbv:BizStep-receiving", "cbv:Disp-in_progress", epcs.clone(), None)),
            sign(party(4), net, nonce(5), object_event("cbv:BizStep-retail_selling", "cbv:Disp-retail_sold", vec![epcs[0].clone()], None)),
        ];
        println!("Journey of {} items of GTIN {gtin}, five signed EPCIS events:", epcs.len());
        let receipts = client.submit(journey.iter().map(|(e, _)| e.clone()).collect()).await?;
        print!("{}", render_receipts(&receipts, OutputFormat::Table));

        let mut forged = journey[1].0.clone();
        if let Some(b) = forged.payload.get_mut(4) {
            *b ^= 0x20;
        }
        println!("\nA resubmission and a forged signature:");
        let refused = client.submit(vec![journey[0].0.clone(), forged]).await?;
        print!("{}", render_receipts(&refused, OutputFormat::Table));

        // Offline: the tree head's signature and the inclusion proof.
        let (_, last_id) = journey[journey.len() - 1];
        let proof = client.inclusion_proof(last_id).await?;
        let (Some(p), Some(sth)) = (proof.proof, proof.tree_head) else { bail!("the node sent no proof") };
        let root = Hash::from_slice(&sth.root_hash).context("root")?;
        let ms = sth.timestamp.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000).unwrap_or(0);
        let head = TreeHead { shard_id: sth.shard_id, tree_size: sth.tree_size, root, timestamp_ms: ms };
        let signer = PublicKey::from_slice(&sth.signer_key_id).context("tree head signer")?;
        let signature: [u8; 64] = sth.signature.as_slice().try_into().context("tree head signature length")?;
        veritrace_core::SignedTreeHead { head, signer, signature }.verify().context("tree head signature")?;
        let hashes = p.hashes.iter().map(|h| Hash::from_slice(h)).collect::<Result<Vec<_>, _>>().context("proof")?;
        let leaf = Hash::from_slice(&proof.leaf_hash).context("leaf hash")?;
        merkle::verify_inclusion(&leaf, p.leaf_index, p.tree_size, &hashes, &root).context("inclusion proof")?;
        println!("\nSigned tree head (size {}, root {root}) and the retail sale's inclusion proof ({} hashes): verified offline", sth.tree_size, hashes.len());

        // Every node applied the same log.
        println!("\nEvery node's view:");
        let target = client.status().await?.tree_size;
        for (name, c) in &clients {
            let mut s = c.status().await?;
            for _ in 0..50 {
                if s.tree_size >= target {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                s = c.status().await?;
            }
            let role = veritrace_client::render::role_name(s.role());
            println!("  {name:<6} {role:<9} term {:<3} applied {:<5} tree {:<5} root {}", s.term, s.applied_index, s.tree_size, hex::encode(&s.root_hash));
        }
        Ok(())
    })
}
