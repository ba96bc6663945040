//! `veritrace demo`: a single-node walk through the ledger.
//!
//! A cosmetics brand commissions coded items, an inspection bureau attests
//! a certificate, customs clears the shipment, a carrier ships it with a
//! tracking number, a platform sells one item and records a consumer scan.
//! Every statement is an ed25519-signed envelope applied to a RocksDB
//! ledger; the demo then checks a signed tree head, an inclusion proof and
//! a consistency proof offline, and audits the store. Keys are derived from
//! fixed labels: demo only, never for a real party.

use std::path::PathBuf;
use veritrace_node::now_ms;

use anyhow::Context;
use veritrace_core::code::{CodePolicy, CodeSalt, code_digest, generate_code, normalize_code};
use veritrace_core::gs1::{Gtin, Serial, Sgtin};
use veritrace_core::{Envelope, SecretKey, merkle, vocab};
use veritrace_ledger::{BatchHeader, Ledger, LedgerOptions, Outcome, Receipt, sgtin_key};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use crate::store::open_engine;

/// Arguments of `veritrace demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the demo keeps its ledger. Re-running appends to it.
    #[arg(long, env = "VERITRACE_DATA_DIR", default_value = ".veritrace/demo")]
    data_dir: PathBuf,
    /// Delete the data directory first and start a new ledger.
    #[arg(long)]
    fresh: bool,
    /// Run the demo against a running local cluster made by `veritrace
    /// init` (its directory) instead of a local single-node ledger.
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
        return crate::demo_cluster::run(dir);
    }
    if args.fresh && args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir).with_context(|| format!("removing {}", args.data_dir.display()))?;
    }
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let parties = parties();
    let [brand, inspection, customs, carrier, platform] = &parties[..] else {
        anyhow::bail!("the demo needs exactly five parties");
    };
    let engine = open_engine(&args.data_dir)?;
    let ledger = match Ledger::open(engine, LedgerOptions::default()) {
        Ok(l) => l,
        Err(veritrace_ledger::LedgerError::NotInitialised) => {
            let engine = open_engine(&args.data_dir)?;
            println!("Creating network {NETWORK:?} with {} founding parties", parties.len());
            Ledger::create(engine, &genesis(&parties), LedgerOptions::default())?
        }
        Err(e) => return Err(e).context("opening the demo ledger"),
    };
    let before = ledger.applied();
    println!("Ledger at {}: {} leaves, root {}\n", args.data_dir.display(), before.tree_size, before.root);

    // Serials unique to this run so re-running appends a new journey.
    let run_no = before.applied_index / 2 + 1;
    let nonce = |i: u64| run_no * 1000 + i;
    let gtin = Gtin::from_body(&format!("0{GTIN_BODY}12345")).context("demo GTIN")?;
    let policy = CodePolicy::default();
    let salt = CodeSalt::generate(&mut rand::rng());
    let mut items = Vec::new();
    for i in 0..3 {
        let serial = Serial::parse(&format!("R{run_no}-{i:04}")).context("demo serial")?;
        let sgtin = Sgtin::new(gtin, serial);
        let code = generate_code(&policy, &mut rand::rng())?;
        let digest = code_digest(&salt, &sgtin.key_bytes(), &normalize_code(&policy, &code)?);
        items.push((sgtin, code, digest));
    }
    let epcs: Vec<String> = items.iter().map(|(s, _, _)| s.to_digital_link()).collect();
    println!(
        "Commissioning {} items of GTIN {gtin} (codes stay on the labels, only digests go to the ledger):",
        items.len()
    );
    for (sgtin, code, _) in &items {
        println!("  {}  code {code}", sgtin.to_digital_link());
    }
    println!();

    let tracking = format!("SF{run_no:010}");
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
                    .map(|(s, _, d)| pb::CommissionedItem {
                        serial: s.serial.to_string(),
                        code_digest: d.as_bytes().to_vec(),
                        salt: vec![],
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
        sign(customs, nonce(4), object_event(vocab::CUSTOMS_DECLARING, "in_progress", epcs.clone(), None, None)),
        sign(customs, nonce(9), object_event(vocab::CUSTOMS_CLEARING, "in_progress", epcs.clone(), None, None)),
    ];
    let second_batch = [
        sign(
            brand,
            nonce(5),
            object_event("shipping", "in_transit", epcs.clone(), Some((carrier.id, &tracking)), Some(platform.id)),
        ),
        sign(
            carrier,
            nonce(10),
            object_event("departing", "in_transit", epcs.clone(), Some((carrier.id, &tracking)), None),
        ),
        sign(
            carrier,
            nonce(11),
            object_event("arriving", "in_transit", epcs.clone(), Some((carrier.id, &tracking)), None),
        ),
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
    // Bad input the ledger must refuse without changing anything else: a
    // resubmission (idempotent), a forged signature, garbage bytes.
    let mut forged = second_batch[1].to_proto();
    forged.payload[4] ^= 0x20;
    let forged = Envelope::from_proto(forged)?;
    let third = vec![second_batch[0].bytes().to_vec(), forged.bytes().to_vec(), b"not an envelope".to_vec()];

    let batches = [
        ("brand, inspection, customs", first_batch.iter().map(|e| e.bytes().to_vec()).collect::<Vec<_>>()),
        ("carrier, platform, consumer", second_batch.iter().map(|e| e.bytes().to_vec()).collect()),
        ("resubmission, forgery, garbage", third),
    ];
    let mut scan_receipt = None;
    for (label, batch) in batches {
        let header = BatchHeader { log_index: ledger.applied().applied_index + 1, commit_time_ms: now_ms() };
        let receipts = ledger.apply(&header, &batch)?;
        println!("Batch {} ({label}):", header.log_index);
        for r in &receipts {
            print_receipt(r);
        }
        if label.starts_with("carrier") {
            scan_receipt = receipts.last().cloned();
        }
        println!();
    }

    // A node signs the tree head; a client checks everything offline.
    let node_key = SecretKey::from_seed_label("demo/node1");
    let head = ledger.tree_head().sign(&node_key);
    head.verify().context("tree head signature")?;
    println!("Signed tree head: size {}, root {}, signed by node {}", head.head.tree_size, head.head.root, head.signer);

    let scan = scan_receipt.context("the consumer scan has a receipt")?;
    let leaf_index = scan.leaf_index.context("the consumer scan was applied")?;
    let leaf = ledger.leaf(leaf_index)?;
    let proof = ledger.inclusion_proof(leaf_index, head.head.tree_size)?;
    merkle::verify_inclusion(&leaf.hash(), leaf_index, head.head.tree_size, &proof, &head.head.root)
        .context("inclusion proof")?;
    println!("Inclusion proof of the consumer scan (leaf {leaf_index}, {} hashes): verified offline", proof.len());
    if before.tree_size > 0 {
        let proof = ledger.consistency_proof(before.tree_size, head.head.tree_size)?;
        merkle::verify_consistency(before.tree_size, head.head.tree_size, &before.root, &head.head.root, &proof)
            .context("consistency proof")?;
        println!(
            "Consistency proof from the previous run (size {} -> {}): verified, history was only appended",
            before.tree_size, head.head.tree_size
        );
    }

    let key = sgtin_key(gtin.as_str(), items[0].0.serial.as_str()).context("item key")?;
    let journey = ledger.leaves_by_item(&key, None, 100)?;
    println!("\nJourney of {} ({} events):", items[0].0.to_digital_link(), journey.len());
    for leaf_index in journey {
        let record = ledger.leaf(leaf_index)?;
        let tx = Envelope::decode(&record.envelope)?.transaction()?;
        println!("  leaf {leaf_index:>4}  {:<22} {}", tx.party_id, describe(tx.action.as_ref()));
    }

    let report = ledger.audit(true)?;
    println!(
        "\nAudit: {} leaves re-hashed and signatures re-checked, root {} ({})",
        report.leaves_checked,
        report.recomputed_root,
        if report.is_clean() { "clean" } else { "PROBLEM" }
    );
    if let Some(p) = report.first_problem {
        anyhow::bail!("audit found a problem at leaf {}: {}", p.leaf_index, p.what);
    }
    Ok(())
}

fn print_receipt(r: &Receipt) {
    let id = r.envelope_id.map(|h| h.to_hex()[..16].to_string()).unwrap_or_else(|| "-".repeat(16));
    match &r.outcome {
        Outcome::Applied => println!("  {id}  APPLIED    leaf {}", r.leaf_index.unwrap_or_default()),
        Outcome::Duplicate => {
            println!(
                "  {id}  DUPLICATE  first receipt: leaf {} in batch {}",
                r.leaf_index.unwrap_or_default(),
                r.log_index
            )
        }
        Outcome::Rejected { reason, message } => println!("  {id}  REJECTED   {reason}: {message}"),
    }
}

fn describe(action: Option<&Action>) -> String {
    match action {
        Some(Action::CommissionItems(c)) => format!("commissioned {} items, lot {}", c.items.len(), c.lot),
        Some(Action::Attestation(a)) => format!("attested certificate {}", a.certificate_number),
        Some(Action::EpcisEvent(e)) => {
            let tracking = e.biz_transaction_list.first().map(|b| format!(" (tracking {})", b.biz_transaction));
            format!("{} -> {}{}", e.biz_step, e.disposition, tracking.unwrap_or_default())
        }
        Some(Action::ConsumerScan(s)) => {
            format!("consumer scan in {}", s.place.as_ref().map(|p| p.city.as_str()).unwrap_or("unknown place"))
        }
        Some(other) => format!("{other:?}").chars().take(60).collect(),
        None => "no action".into(),
    }
}
