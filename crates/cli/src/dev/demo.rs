//! `veritrace demo`: a walk through the ledger on a real single node.
//!
//! The demo starts its own one-node network in this process (see
//! [`super::demo_node`]: RocksDB, Raft, libp2p and gRPC on loopback ports
//! the system picks) and does everything as a client would, over gRPC: a
//! cosmetics brand commissions coded items, an inspection bureau attests a
//! certificate, customs clears the shipment, a carrier ships it with a
//! tracking number, a platform sells one item and records a consumer scan.
//! Every statement is an ed25519-signed envelope; the node refuses a
//! forgery and a payload that is no transaction. The demo then checks the
//! scan's receipt (inclusion proof, signed tree head) and a consistency
//! proof from the previous run offline, shows the item's journey and has
//! the node audit its store, and stops the node. Keys are derived from
//! fixed labels: demo only, never for a real party.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use veritrace_client::Client;
use veritrace_core::code::{CodePolicy, CodeSalt, code_digest, generate_code, normalize_code};
use veritrace_core::gs1::{Gtin, Serial, Sgtin};
use veritrace_core::label_token::LabelToken;
use veritrace_core::{Envelope, SecretKey, vocab};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;
use veritrace_service::now_ms;

use super::demo_checks as checks;
use super::demo_node::{self, DemoNode};

/// Arguments of `veritrace demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The demo node's data directory (genesis, node key, store).
    /// Re-running restarts the node on it and appends to its ledger.
    #[arg(long, env = "VERITRACE_DATA_DIR", default_value = ".veritrace/demo")]
    data_dir: PathBuf,
    /// Delete the data directory first and start a new network.
    #[arg(long)]
    fresh: bool,
    /// Run the demo against a running local cluster made by `veritrace
    /// init` (its directory) instead of the demo's own single node.
    #[arg(long, conflicts_with_all = ["data_dir", "fresh"])]
    cluster: Option<PathBuf>,
}

const NETWORK: &str = "veritrace-demo";
const GTIN_BODY: &str = "0614141" /* company prefix */;

struct Party {
    id: &'static str,
    name: &'static str,
    country: &'static str,
    role: pb::PartyRole,
    key: SecretKey,
}

fn parties() -> Vec<Party> {
    let p = |id, name, country, role| Party {
        id,
        name,
        country,
        role,
        key: SecretKey::from_seed_label(&format!("demo/{id}")),
    };
    vec![
        p("lumiere-cosmetics", "Lumière Cosmetics SA", "FR", pb::PartyRole::BrandOwner),
        p("qualitest-inspection", "QualiTest Inspection Bureau", "CN", pb::PartyRole::Inspection),
        p("shanghai-customs", "Shanghai Customs District", "CN", pb::PartyRole::Customs),
        p("swift-logistics", "Swift Logistics Ltd", "CN", pb::PartyRole::Logistics),
        p("shopnow-platform", "ShopNow Marketplace", "CN", pb::PartyRole::Platform),
    ]
}

fn genesis(parties: &[Party]) -> pb::Genesis {
    pb::Genesis {
        network_id: NETWORK.into(),
        founding_parties: parties
            .iter()
            .map(|p| pb::Party {
                party_id: p.id.into(),
                display_name: p.name.into(),
                country: p.country.into(),
                roles: vec![p.role as i32],
                gs1_company_prefixes: if p.role == pb::PartyRole::BrandOwner {
                    vec![GTIN_BODY.into()]
                } else {
                    Vec::new()
                },
                signing_keys: vec![pb::SigningKey {
                    public_key: p.key.public().to_bytes().to_vec(),
                    status: pb::KeyStatus::Active as i32,
                    label: "demo".into(),
                    ..Default::default()
                }],
                status: pb::PartyStatus::Active as i32,
                ..Default::default()
            })
            .collect(),
        description: "Veritrace single-node demo network".into(),
        ..Default::default()
    }
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    veritrace_proto::timestamp_from_ms(ms)
}

/// Signs `action` as `party` with a nonce unique to this run.
fn sign(party: &Party, nonce: u64, action: Action) -> Envelope {
    let tx = pb::Transaction {
        party_id: party.id.into(),
        nonce,
        client_time: Some(timestamp(now_ms())),
        network_id: NETWORK.into(),
        action: Some(action),
        ..Default::default()
    };
    Envelope::sign_transaction(&tx, &party.key)
}

/// An EPCIS ObjectEvent (OBSERVE) on `epcs`, now, optionally with a
/// carrier tracking number (`carrier`, `number`) and an addressee party.
pub(crate) fn object_event(
    biz_step: &str,
    disposition: &str,
    epcs: Vec<String>,
    tracking: Option<(&str, &str)>,
    ship_to: Option<&str>,
) -> Action {
    Action::EpcisEvent(pb::EpcisEvent {
        event_time: Some(timestamp(now_ms())),
        event_time_zone_offset: "+08:00".into(),
        biz_step: biz_step.into(),
        disposition: disposition.into(),
        biz_transaction_list: tracking
            .map(|(carrier, number)| {
                vec![pb::BizTransaction {
                    r#type: veritrace_core::vocab::BTT_TRACKING_NUMBER.into(),
                    biz_transaction: format!("{}{carrier}:{number}", veritrace_core::vocab::TRACKING_PREFIX),
                }]
            })
            .unwrap_or_default(),
        destination_list: ship_to
            .map(|p| {
                vec![pb::Destination { r#type: "owning_party".into(), destination: format!("urn:veritrace:party:{p}") }]
            })
            .unwrap_or_default(),
        event: Some(pb::epcis_event::Event::ObjectEvent(pb::ObjectEvent {
            action: pb::EpcisAction::Observe as i32,
            epc_list: epcs,
            ..Default::default()
        })),
        ..Default::default()
    })
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.cluster {
        return super::journey::run(dir);
    }
    let parties = parties();
    let founders: Vec<(&str, &SecretKey)> = parties.iter().map(|p| (p.id, &p.key)).collect();
    if demo_node::prepare(&args.data_dir, &genesis(&parties), &founders, args.fresh)? {
        println!("Creating network {NETWORK:?} with {} founding parties in {}", parties.len(), args.data_dir.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        // The brand's key signs the demo's party-plane calls (submissions).
        let brand = &parties[0];
        let node = DemoNode::start(&args.data_dir, veritrace_client::PartyCredential::new(brand.id, brand.key.clone()))
            .await?;
        let walked = walk(&node, &parties, &args.data_dir).await;
        let stopped = node.stop().await;
        walked.and(stopped)?;
        println!("\nNode stopped. `veritrace demo` again restarts it on this ledger; --fresh starts over.");
        Ok(())
    })
}

/// The demo proper, as a client of the running `node`.
async fn walk(node: &DemoNode, parties: &[Party], data_dir: &Path) -> anyhow::Result<()> {
    let client = &node.client;
    let [brand, inspection, customs, carrier, platform] = parties else {
        bail!("the demo needs exactly five parties");
    };
    let before = checks::tree_head(&client.tree_head().await?, &node.head_signer).context("the node's tree head")?;
    println!(
        "Node 1 leads its one-node network, gRPC on {}, data in {}\nLedger: {} leaves, root {}\n",
        client.endpoint(),
        data_dir.display(),
        before.head.tree_size,
        before.head.root
    );

    // Serials unique to this run so re-running appends a new journey.
    let run_no = before.head.tree_size + 1;
    let nonce = |i: u64| run_no * 1000 + i;
    let gtin = Gtin::from_body(&format!("0{GTIN_BODY}12345")).context("demo GTIN")?;
    let policy = CodePolicy::default();
    let salt = CodeSalt::generate(&mut rand::rng());
    let mut items = Vec::new();
    // Printed in each label's QR code; a verification must present it.
    let mut tokens = Vec::new();
    for i in 0..3 {
        let serial = Serial::parse(&format!("R{run_no}-{i:04}")).context("demo serial")?;
        let sgtin = Sgtin::new(gtin, serial);
        let code = generate_code(&policy, &mut rand::rng())?;
        let digest = code_digest(&salt, &sgtin.key_bytes(), &normalize_code(&policy, &code)?);
        items.push((sgtin, code, digest));
        tokens.push(LabelToken::generate(&mut rand::rng()));
    }
    let epcs: Vec<String> = items.iter().map(|(s, _, _)| s.to_digital_link()).collect();
    println!(
        "Commissioning {} items of GTIN {gtin} (codes stay on the labels, only digests go to the ledger):",
        items.len()
    );
    for ((sgtin, code, _), token) in items.iter().zip(&tokens) {
        println!("  {}  code {code}", token.in_link(&sgtin.to_digital_link()));
    }
    println!();

    let first_batch = [
        sign(
            brand,
            nonce(1),
            Action::RegisterProduct(pb::RegisterProduct {
                gtin: gtin.to_string(),
                brand_party_id: brand.id.into(),
                name: "Rose Night Cream 50 ml".into(),
                brand_name: "Lumière".into(),
                category: "cosmetics".into(),
                origin_country: "FR".into(),
                ..Default::default()
            }),
        ),
        sign(
            brand,
            nonce(2),
            Action::CommissionItems(pb::CommissionItems {
                gtin: gtin.to_string(),
                lot: format!("LOT-{run_no}"),
                batch_salt: salt.as_bytes().to_vec(),
                items: items
                    .iter()
                    .zip(&tokens)
                    .map(|((s, _, d), t)| pb::CommissionedItem {
                        serial: s.serial.to_string(),
                        code_digest: d.as_bytes().to_vec(),
                        salt: vec![],
                        label_token_digest: t.digest().as_bytes().to_vec(),
                    })
                    .collect(),
                digest_scheme: pb::CodeDigestScheme::Blake3V1 as i32,
                ..Default::default()
            }),
        ),
        sign(
            inspection,
            nonce(3),
            Action::Attestation(pb::Attestation {
                attestation_id: format!("QT-{run_no}-0001"),
                scheme: pb::CertificationScheme::TestReport as i32,
                certificate_number: format!("QT/2026/{run_no:05}"),
                issuer: inspection.name.into(),
                result: pb::AttestationResult::Conformant as i32,
                valid_from: Some(timestamp(now_ms())),
                subject_gtins: vec![gtin.to_string()],
                subject_items: vec![pb::ItemSet {
                    gtin: gtin.to_string(),
                    lots: vec![format!("LOT-{run_no}")],
                    serials: items.iter().map(|(s, _, _)| s.serial.to_string()).collect(),
                }],
                ..Default::default()
            }),
        ),
    ];
    submit(client, "brand, inspection", &first_batch, true).await?;

    // Signed once the first batch is committed: the journey is in event
    // time order, and commissioning and attestation are dated by their
    // commit.
    let tracking = format!("SF{run_no:010}");
    let shipped = Some((carrier.id, tracking.as_str()));
    let second_batch = [
        sign(customs, nonce(4), object_event(vocab::CUSTOMS_DECLARING, "in_progress", epcs.clone(), None, None)),
        sign(customs, nonce(9), object_event(vocab::CUSTOMS_CLEARING, "in_progress", epcs.clone(), None, None)),
        sign(brand, nonce(5), object_event("shipping", "in_transit", epcs.clone(), shipped, Some(platform.id))),
        sign(carrier, nonce(10), object_event("departing", "in_transit", epcs.clone(), shipped, None)),
        sign(carrier, nonce(11), object_event("arriving", "in_transit", epcs.clone(), shipped, None)),
        sign(platform, nonce(6), object_event("receiving", "in_progress", epcs.clone(), None, None)),
        sign(platform, nonce(7), object_event("retail_selling", "retail_sold", vec![epcs[0].clone()], None, None)),
        sign(
            platform,
            nonce(8),
            Action::ConsumerScan(pb::ConsumerScan {
                item: Some(pb::GtinSerial { gtin: gtin.to_string(), serial: items[0].0.serial.to_string() }),
                code_check: pb::CodeCheck::Matched as i32,
                verdict: pb::Verdict::GenuineFirstScan as i32,
                place: Some(pb::Place { country: "CN".into(), city: "Hangzhou".into(), ..Default::default() }),
                channel: "demo-app".into(),
                scan_time: Some(timestamp(now_ms())),
                ..Default::default()
            }),
        ),
    ];
    let receipts = submit(client, "customs, carrier, platform, consumer", &second_batch, true).await?;
    let (scan, scan_receipt) = (&second_batch[7], receipts.last().context("no receipt for the consumer scan")?);

    // Bad input the ledger must refuse without changing anything else: a
    // resubmission (idempotent), a forged signature, and a payload that is
    // correctly signed but no transaction.
    let mut forged = second_batch[3].to_proto();
    forged.payload[4] ^= 0x20;
    let third = [
        second_batch[2].clone(),
        Envelope::from_proto(forged)?,
        Envelope::sign(b"not a transaction".to_vec(), &platform.key),
    ];
    submit(client, "resubmission, forgery, garbage payload", &third, false).await?;

    // The scan's receipt, checked as the consumer's app would, offline.
    let checked = checks::receipt(scan_receipt, scan, &node.head_signer).context("the consumer scan's receipt")?;
    let (head, leaf) = (&checked.tree_head.head, checked.leaf.leaf_index);
    println!(
        "Signed tree head: size {}, root {}, signed by node 1 ({})",
        head.tree_size, head.root, checked.tree_head.signer
    );
    let hashes = scan_receipt.inclusion.as_ref().map_or(0, |p| p.hashes.len());
    let plural = if hashes == 1 { "" } else { "es" };
    println!("Inclusion proof of the consumer scan (leaf {leaf}, {hashes} hash{plural}): verified offline");

    if before.head.tree_size > 0 {
        let after = checks::consistency(client, &before, &node.head_signer).await?;
        println!(
            "Consistency proof from the previous run (size {} -> {}): verified, history was only appended",
            before.head.tree_size, after.head.tree_size
        );
    }

    let uri = items[0].0.to_digital_link();
    let history = client.item_history(&uri).await.context("the item's history")?;
    let state = pb::ItemState::try_from(history.state).map_or("?", |s| s.as_str_name());
    println!(
        "\nJourney of {uri} ({} steps, {}):",
        history.steps.len(),
        state.trim_start_matches("ITEM_STATE_").to_lowercase()
    );
    for step in &history.steps {
        let who = step.party.as_ref().map_or("?", |p| p.party_id.as_str());
        println!("  leaf {:>4}  {who:<22} {}", step.leaf_index, describe(step));
    }

    let audit = client.audit(false, 0).await.context("the node's audit")?;
    println!(
        "\nAudit: {} leaves re-hashed and signatures re-checked, root {} ({})",
        audit.leaves_checked,
        hex::encode(&audit.recomputed_root),
        if audit.clean { "clean" } else { "PROBLEM" }
    );
    if !audit.clean {
        bail!("audit found a problem at leaf {}: {}", audit.first_bad_leaf, audit.problem);
    }
    Ok(())
}

/// Submits one batch (one Raft entry) with proofs and prints its receipts;
/// with `must_apply`, fails if the node refused any of it.
async fn submit(
    client: &Client,
    label: &str,
    batch: &[Envelope],
    must_apply: bool,
) -> anyhow::Result<Vec<pb::Receipt>> {
    let envelopes = batch.iter().map(Envelope::to_proto).collect();
    let receipts = client.submit_with_proofs(envelopes).await.with_context(|| format!("submitting {label}"))?;
    let log_index = receipts.iter().map(|r| r.log_index).max().unwrap_or_default();
    println!("Batch {log_index} ({label}):");
    receipts.iter().for_each(print_receipt);
    println!();
    if must_apply && receipts.iter().any(|r| r.outcome == pb::Outcome::Rejected as i32) {
        bail!("the node refused part of the demo's journey ({label})");
    }
    Ok(receipts)
}

/// Prints one receipt as a line.
fn print_receipt(r: &pb::Receipt) {
    let id =
        if r.envelope_id.is_empty() { "-".repeat(16) } else { hex::encode(&r.envelope_id).chars().take(16).collect() };
    match pb::Outcome::try_from(r.outcome) {
        Ok(pb::Outcome::Applied) => println!("  {id}  APPLIED    leaf {}", r.leaf_index),
        Ok(pb::Outcome::Duplicate) => {
            println!("  {id}  DUPLICATE  first receipt: leaf {} in batch {}", r.leaf_index, r.log_index)
        }
        Ok(pb::Outcome::Rejected) => println!("  {id}  REJECTED   {}: {}", r.reason, r.message),
        _ => println!("  {id}  outcome {}", r.outcome),
    }
}

/// One journey step in a line: what happened (the last part of a bizStep
/// URI) and the carrier tracking numbers it carries.
fn describe(step: &pb::JourneyStep) -> String {
    let biz_step = step.biz_step.rsplit(':').next().unwrap_or_default();
    let mut text = match (biz_step, step.disposition.as_str()) {
        ("", _) => step.action.replace('_', " "),
        (biz_step, "") => biz_step.to_owned(),
        (biz_step, disposition) => format!("{biz_step} -> {disposition}"),
    };
    for t in &step.tracking_numbers {
        let number = t.biz_transaction.rsplit(':').next().unwrap_or_default();
        let confirmed = if t.confirmed { "confirmed" } else { "NOT confirmed" };
        text.push_str(&format!(" (tracking {number}, {confirmed} by {})", t.carrier));
    }
    text
}
