//! `veritrace demo --cluster DIR`: the cosmetics journey on a running local
//! cluster over gRPC, through a follower (forwarded to the leader):
//! governance admits a carrier and a shop, the brand commissions coded
//! items, inspection, customs, shipping with a confirmed tracking number,
//! retail; then a consumer verification checked offline, a cloned label
//! caught, and every node's root compared.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use prost::Message as _;
use veritrace_client::Client;
use veritrace_client::render::{OutputFormat, render_receipts};
use veritrace_core::code::{CodePolicy, CodeSalt, code_digest, generate_code, oprf_code_digest};
use veritrace_core::gs1::{DlHost, Gtin, Serial, Sgtin};
use veritrace_core::label_token::LabelToken;
use veritrace_core::receipt::verify_receipt;
use veritrace_core::{Envelope, SecretKey, vocab};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use veritrace_node::{ClusterFile, PartySigner as Signer};

use super::demo::object_event;

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

fn verdict_name(v: i32) -> &'static str {
    pb::Verdict::try_from(v).map(|v| v.as_str_name()).unwrap_or("?")
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
    let file = ClusterFile::load(dir)?;
    let signers = file.party_signers(dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // The first founding party signs the demo's party-plane calls.
        let first = signers.first().context("cluster.json names no party with a key")?;
        let options = veritrace_client::ConnectOptions {
            party: Some(veritrace_client::PartyCredential::new(first.party_id.clone(), first.key.clone())),
            ..Default::default()
        };
        let mut clients = Vec::new();
        for n in &file.nodes {
            let client = Client::connect_with(&n.api, &options).await.with_context(|| format!("{} at {}", n.name, n.api))?;
            clients.push((n.name.clone(), client));
        }
        let leader = wait_for_leader(&clients).await?;
        let via = (leader + 1) % clients.len();
        println!("Cluster {:?}: {} nodes, leader {}; submitting through {} (a follower forwards to the leader)\n", file.network_id, clients.len(), clients[leader].0, clients[via].0);
        let client = &clients[via].1;

        if signers.len() < 3 {
            bail!("the cluster demo needs at least the 3 founding parties of `veritrace init --nodes 3` (brand, inspection, customs)");
        }
        let (brand, lab, customs) = (&signers[0], &signers[1], &signers[2]);
        let net = file.network_id.clone();
        let run = client.status().await?.tree_size + 1;
        let mut nonce = run * 1000;
        let mut step = |label: &str, who: &Signer, action: Action| {
            nonce += 1;
            (label.to_owned(), sign(who, &net, nonce, action))
        };

        // 1. Governance: the founding admins admit a carrier and a shop (2 of 3 approve).
        let carrier = Signer { party_id: format!("swift-logistics-{run}"), key: SecretKey::from_seed_label(&format!("demo/carrier/{run}")) };
        let shop = Signer { party_id: format!("shopnow-{run}"), key: SecretKey::from_seed_label(&format!("demo/shop/{run}")) };
        let admit = |p: &Signer, name: &str, role: pb::PartyRole| {
            Action::ProposeGovernance(pb::ProposeGovernance {
                proposal_id: format!("admit-{}", p.party_id),
                rationale: format!("admit {name}"),
                action: Some(pb::GovernanceAction {
                    action: Some(pb::governance_action::Action::RegisterParty(pb::RegisterParty {
                        party: Some(pb::Party {
                            party_id: p.party_id.clone(),
                            display_name: name.into(),
                            country: "CN".into(),
                            roles: vec![role as i32],
                            signing_keys: vec![pb::SigningKey { public_key: p.key.public().to_bytes().to_vec(), label: "demo".into(), ..Default::default() }],
                            ..Default::default()
                        }),
                    })),
                }),
            })
        };
        let approve = |p: &Signer| Action::ApproveGovernance(pb::ApproveGovernance { proposal_id: format!("admit-{}", p.party_id) });
        // The generated genesis needs a majority of the founding admins; the proposer's vote counts.
        let threshold = signers.len() / 2 + 1;
        let mut governance = vec![
            step("propose: admit carrier", brand, admit(&carrier, "Swift Logistics", pb::PartyRole::Logistics)),
            step("propose: admit shop", brand, admit(&shop, "ShopNow Marketplace", pb::PartyRole::Platform)),
        ];
        for admin in &signers[1..threshold] {
            governance.push(step(&format!("{}: approve carrier", admin.party_id), admin, approve(&carrier)));
            governance.push(step(&format!("{}: approve shop", admin.party_id), admin, approve(&shop)));
        }
        let governance_title = format!("Governance: {threshold} of {} admins admit a carrier and a shop", signers.len());

        // 2. The brand registers the product and commissions coded items.
        let gtin = Gtin::from_body("061414112345").context("demo GTIN")?;
        let policy = CodePolicy::default();
        let salt = CodeSalt::generate(&mut rand::rng());
        // The brand's threshold code key, when `dev` dealt one: no
        // validator can check these codes alone.
        let code_key = super::code_key::load(dir)?;
        let mut items = Vec::new();
        // Printed in each label's QR code; a verification must present it.
        let mut tokens = Vec::new();
        for i in 0..3 {
            let sgtin = Sgtin::new(gtin, Serial::parse(&format!("C{run}-{i:04}")).context("demo serial")?);
            let code = generate_code(&policy, &mut rand::rng())?;
            let digest = match &code_key {
                Some((key, _)) => oprf_code_digest(key, &sgtin.key_bytes(), &code),
                None => code_digest(&salt, &sgtin.key_bytes(), &code),
            };
            items.push((sgtin, code, digest));
            tokens.push(LabelToken::generate(&mut rand::rng()));
        }
        let epcs: Vec<String> = items.iter().map(|(s, _, _)| s.to_digital_link()).collect();
        let lot = format!("LOT-{run}");
        let tracking = format!("SF{run:010}");
        let carried = Some((carrier.party_id.as_str(), tracking.as_str()));
        let journey = vec![
            step("register product", brand, Action::RegisterProduct(pb::RegisterProduct {
                gtin: gtin.to_string(), brand_party_id: brand.party_id.clone(), name: "Rose Night Cream 50 ml".into(),
                brand_name: "Lumière".into(), category: "cosmetics".into(), origin_country: "FR".into(),
                code_policy: code_key.as_ref().map(|(_, public)| pb::CodePolicy {
                    digest_scheme: pb::CodeDigestScheme::ThresholdOprfV1 as i32, code_key: Some(public.clone()), ..Default::default()
                }),
                ..Default::default()
            })),
            step("commission 3 items", brand, Action::CommissionItems(pb::CommissionItems {
                gtin: gtin.to_string(), lot: lot.clone(), batch_salt: if code_key.is_some() { vec![] } else { salt.as_bytes().to_vec() },
                items: items.iter().zip(&tokens).map(|((s, _, d), t)| pb::CommissionedItem { serial: s.serial.to_string(), code_digest: d.as_bytes().to_vec(), salt: vec![], label_token_digest: t.digest().as_bytes().to_vec() }).collect(),
                digest_scheme: if code_key.is_some() { pb::CodeDigestScheme::ThresholdOprfV1 } else { pb::CodeDigestScheme::Blake3V1 } as i32,
                code_key: code_key.as_ref().map(|(_, public)| public.public_key.clone()).unwrap_or_default(),
                ..Default::default()
            })),
            step("certificate (GB/T)", lab, Action::Attestation(pb::Attestation {
                attestation_id: format!("QT-{run}"), scheme: pb::CertificationScheme::GbT as i32,
                scheme_detail: "GB/T 29665-2013 skin care creams".into(), certificate_number: format!("QT/2026/{run:05}"),
                result: pb::AttestationResult::Conformant as i32, valid_from: Some(veritrace_proto::timestamp_from_ms(0)),
                subject_items: vec![pb::ItemSet { gtin: gtin.to_string(), lots: vec![lot.clone()], serials: vec![] }], ..Default::default()
            })),
            step("inspection", lab, object_event("inspecting", "conformant", epcs.clone(), None, None)),
            step("customs declaration", customs, object_event(vocab::CUSTOMS_DECLARING, "in_progress", epcs.clone(), None, None)),
            step("customs clearance", customs, object_event(vocab::CUSTOMS_CLEARING, "in_progress", epcs.clone(), None, None)),
            step("brand ships to the shop", brand, object_event("shipping", "in_transit", epcs.clone(), carried, Some(&shop.party_id))),
            step("carrier picks up", &carrier, object_event("departing", "in_transit", epcs.clone(), carried, None)),
            step("carrier delivers", &carrier, object_event("arriving", "in_transit", epcs.clone(), carried, None)),
            step("shop receives", &shop, object_event("receiving", "in_progress", epcs.clone(), None, None)),
            step("shop sells item 1", &shop, object_event("retail_selling", "retail_sold", vec![epcs[0].clone()], None, None)),
        ];
        // The labels' QR codes point at the network's resolver (genesis label_host).
        let label_host = client.genesis().await?.genesis.map(|g| g.label_host).unwrap_or_default();
        let label_host = DlHost::parse(&label_host).unwrap_or_else(|_| DlHost::gs1());
        let links: Vec<String> = items.iter().zip(&tokens).map(|((s, _, _), t)| t.in_link(&s.to_digital_link_on(&label_host))).collect();
        println!("Commissioning {} items of GTIN {gtin}; their QR codes and codes (printed under the scratch labels, never on the ledger):", items.len());
        for ((_, code, _), link) in items.iter().zip(&links) {
            println!("  {link}  code {code}");
        }
        for (title, batch) in [(governance_title.as_str(), governance), ("The journey, each step signed by the party that did it", journey.clone())] {
            println!("\n{title}:");
            for (label, (env, _)) in &batch {
                let r = client.submit(vec![env.clone()]).await?;
                let outcome = r.first().map(|r| if r.reason.is_empty() { format!("leaf {}", r.leaf_index) } else { format!("REJECTED {}: {}", r.reason, r.message) }).unwrap_or_default();
                println!("  {label:<28} {outcome}");
                if r.iter().any(|r| r.outcome == pb::Outcome::Rejected as i32) {
                    bail!("the demo journey was refused at {label:?}");
                }
            }
        }

        // 3. What the network refuses.
        let mut forged = journey[1].1.0.clone();
        if let Some(b) = forged.payload.get_mut(4) {
            *b ^= 0x20;
        }
        let (_, (selling_carrier, _)) = step("carrier tries to sell", &carrier, object_event("retail_selling", "retail_sold", vec![epcs[1].clone()], None, None));
        println!("\nRefused: a resubmission (idempotent), a forged signature, a carrier selling goods:");
        let refused = client.submit(vec![journey[0].1.0.clone(), forged, selling_carrier]).await?;
        print!("{}", render_receipts(&refused, OutputFormat::Table));

        // 4. A consumer scans item 1 and checks the answer offline.
        let verify = |i: usize, city: &str, country: &str| pb::VerifyItemRequest {
            item: Some(pb::verify_item_request::Item::ItemUri(tokens[i].in_link(&items[i].0.to_digital_link()))),
            code: items[i].1.clone(),
            place: Some(pb::Place { country: country.into(), city: city.into(), ..Default::default() }),
            channel: "demo-app".into(),
            ..Default::default()
        };
        let answer = client.verify_item(verify(0, "Hangzhou", "CN")).await?;
        println!("\nConsumer in Hangzhou scans item 1: {}", verdict_name(answer.verdict));
        for s in &answer.journey {
            let who = s.party.as_ref().map(|p| p.party_id.as_str()).unwrap_or("?");
            let what = if s.biz_step.is_empty() { s.action.as_str() } else { s.biz_step.as_str() };
            let extra: Vec<String> = s.tracking_numbers.iter().map(|t| format!("tracking {} {}", t.carrier, if t.confirmed { "confirmed" } else { "UNCONFIRMED" })).chain(s.certificates.iter().map(|c| format!("cert {}", c.certificate_number))).collect();
            println!("    {what:<40} {who:<22} {}", extra.join(", "));
        }
        let (Some(receipt), Some(env)) = (&answer.receipt, &answer.scan_envelope) else { bail!("the node sent no receipt") };
        let checked = verify_receipt(receipt, &env.encode_to_vec()).context("scan receipt")?;
        println!("  scan receipt verified offline: leaf {} in a tree of {} signed by node key {}", checked.leaf.leaf_index, checked.tree_head.head.tree_size, hex::encode(&checked.tree_head.signer.to_bytes()[..8]));

        // 5. The same label copied onto fakes: item 2 scanned in three cities.
        println!("\nItem 2's label copied onto fakes and scanned in three cities:");
        for (city, country) in [("Shanghai", "CN"), ("Paris", "FR"), ("New York", "US")] {
            let a = client.verify_item(verify(1, city, country)).await?;
            println!("  {city:<10} {} {}", verdict_name(a.verdict), a.clone_signals.join(","));
        }

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
        println!("\nItem 3 was never scanned: open its label in a browser and type its code.");
        println!("  {}\n  code {}", links[2], items[2].1);
        Ok(())
    })
}
