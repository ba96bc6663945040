//! What `veritrace-bench` sends, prepared before the timed window: signed
//! events padded to a payload size, and for the read and verify paths the
//! product, coded items and journeys they need.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use prost::Message as _;
use veritrace_client::Client;
use veritrace_core::Envelope;
use veritrace_core::code::{CodePolicy, CodeSalt, code_digest, generate_code};
use veritrace_core::gs1::{Gtin, Serial, Sgtin};
use veritrace_core::label_token::LabelToken;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use veritrace_node::PartySigner as Signer;

/// A run-unique number: nonces, serials and asset ids never repeat across runs.
pub fn run_id() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

fn observe(epcs: Vec<String>, pad: usize) -> Action {
    let extensions = if pad == 0 {
        Vec::new()
    } else {
        vec![pb::Extension {
            namespace_uri: "https://veritrace.example/bench/".into(),
            name: "pad".into(),
            json_value: format!("\"{}\"", "x".repeat(pad)),
        }]
    };
    Action::EpcisEvent(pb::EpcisEvent {
        event_time: Some(veritrace_proto::timestamp_from_ms(veritrace_service::now_ms())),
        event_time_zone_offset: "+00:00".into(),
        extensions,
        event: Some(pb::epcis_event::Event::ObjectEvent(pb::ObjectEvent {
            action: pb::EpcisAction::Observe as i32,
            epc_list: epcs,
            ..Default::default()
        })),
        ..Default::default()
    })
}

/// Signs `action` as `signer` with `nonce`.
pub fn sign(signer: &Signer, network_id: &str, nonce: u64, action: Action) -> pb::SignedEnvelope {
    let tx = pb::Transaction {
        party_id: signer.party_id.clone(),
        nonce,
        client_time: Some(veritrace_proto::timestamp_from_ms(veritrace_service::now_ms())),
        network_id: network_id.to_string(),
        action: Some(action),
        ..Default::default()
    };
    let env = Envelope::sign_transaction(&tx, &signer.key);
    pb::SignedEnvelope::decode(env.bytes()).unwrap_or_default()
}

/// Pre-signs `n` EPCIS observations of returnable assets (GIAI, no
/// bizStep: allowed to the brand owner, the first founding party of a
/// generated cluster, and free of custody rules), each envelope padded to
/// about `payload` bytes.
pub fn sign_events(signer: &Signer, network_id: &str, n: usize, payload: usize) -> Vec<pb::SignedEnvelope> {
    let base = run_id() * 1000;
    let bare = sign(signer, network_id, base, observe(vec![format!("urn:epc:id:giai:0614141.B{base}-0")], 0));
    // The pad's own framing (extension fields, quotes) costs about 60 bytes.
    let pad = payload.saturating_sub(bare.encoded_len() + 60);
    (0..n)
        .map(|i| {
            let epc = format!("urn:epc:id:giai:0614141.B{base}-{i}");
            sign(signer, network_id, base + i as u64, observe(vec![epc], pad))
        })
        .collect()
}

/// Coded items on the ledger, for the verify and history paths.
pub struct Items {
    /// Each item's Digital Link and its code.
    pub items: Vec<(String, String)>,
}

async fn submit_all(client: &Client, envelopes: Vec<pb::SignedEnvelope>, what: &str) -> anyhow::Result<()> {
    for chunk in envelopes.chunks(500) {
        let receipts = client.submit(chunk.to_vec()).await.with_context(|| format!("bench setup: {what}"))?;
        if let Some(r) = receipts.iter().find(|r| r.outcome == pb::Outcome::Rejected as i32) {
            bail!("bench setup: {what} refused: {}: {}", r.reason, r.message);
        }
    }
    Ok(())
}

/// Registers product `gtin` of `brand` as `name`.
/// A brand's threshold code key as `veritrace codes deal-key` wrote it:
/// the whole key (code-key.secret) and its public parts
/// (code-key.public.pb).
pub struct BenchCodeKey {
    /// `k`.
    pub key: veritrace_core::oprf::OprfKey,
    /// What the product's policy names.
    pub public: pb::ThresholdCodeKey,
}

impl BenchCodeKey {
    /// Reads the key `deal-key` wrote into `dir`.
    pub fn read(dir: &std::path::Path) -> anyhow::Result<Self> {
        use prost::Message as _;
        let secret = std::fs::read_to_string(dir.join("code-key.secret")).context("reading code-key.secret")?;
        let key = veritrace_core::oprf::files::parse_key_file(&secret)
            .map_err(|e| anyhow::anyhow!("code-key.secret: {e}"))?;
        let public = pb::ThresholdCodeKey::decode(std::fs::read(dir.join("code-key.public.pb"))?.as_slice())
            .context("reading code-key.public.pb")?;
        Ok(BenchCodeKey { key, public })
    }
}

async fn register_product(
    client: &Client,
    brand: &Signer,
    network_id: &str,
    nonce: u64,
    gtin: &Gtin,
    name: &str,
    code_key: Option<&BenchCodeKey>,
) -> anyhow::Result<()> {
    let product = Action::RegisterProduct(pb::RegisterProduct {
        gtin: gtin.to_string(),
        brand_party_id: brand.party_id.clone(),
        name: name.to_owned(),
        brand_name: "Bench".into(),
        category: "cosmetics".into(),
        origin_country: "FR".into(),
        code_policy: code_key.map(|k| pb::CodePolicy {
            digest_scheme: pb::CodeDigestScheme::ThresholdOprfV1 as i32,
            code_key: Some(k.public.clone()),
            ..Default::default()
        }),
        ..Default::default()
    });
    submit_all(client, vec![sign(brand, network_id, nonce, product)], &format!("register product {name}")).await
}

/// Registers a product of `brand` (a fresh GTIN under 0614141), commissions
/// `count` coded items and records `history - 1` observations of each, so
/// an item's history holds `history` steps. Runs before the timed window.
pub async fn prepare_items(
    client: &Client,
    brand: &Signer,
    network_id: &str,
    count: usize,
    history: usize,
    code_key: Option<&BenchCodeKey>,
) -> anyhow::Result<Items> {
    let run = run_id();
    // Item references 00000-49999 (the filler products of --preload take the rest).
    let item_ref = format!("{:05}", run % 50_000);
    let gtin = Gtin::from_body(&format!("0614141{item_ref}")).context("bench GTIN")?;
    let mut nonce = run * 1000;
    let mut next = || {
        nonce += 1;
        nonce
    };
    register_product(client, brand, network_id, next(), &gtin, &format!("Bench product {item_ref}"), code_key).await?;
    let policy = CodePolicy::default();
    let salt = CodeSalt::generate(&mut rand::rng());
    let mut items = Vec::with_capacity(count);
    let mut commissioned = Vec::with_capacity(count);
    for i in 0..count {
        // Serials are at most 20 characters: the run's low digits keep them unique enough.
        let sgtin = Sgtin::new(gtin, Serial::parse(&format!("B{}-{i}", run % 1_000_000_000)).context("bench serial")?);
        let code = generate_code(&policy, &mut rand::rng())?;
        let digest = match code_key {
            Some(k) => veritrace_core::code::oprf_code_digest(&k.key, &sgtin.key_bytes(), &code),
            None => code_digest(&salt, &sgtin.key_bytes(), &code),
        };
        let token = LabelToken::generate(&mut rand::rng());
        commissioned.push(pb::CommissionedItem {
            serial: sgtin.serial.to_string(),
            code_digest: digest.as_bytes().to_vec(),
            salt: vec![],
            label_token_digest: token.digest().as_bytes().to_vec(),
        });
        // As scanned from the label's QR code: with the token.
        items.push((token.in_link(&sgtin.to_digital_link()), code));
    }
    let mut envelopes = Vec::new();
    for chunk in commissioned.chunks(1000) {
        let action = Action::CommissionItems(pb::CommissionItems {
            gtin: gtin.to_string(),
            lot: format!("BENCH-{}", run % 1_000_000_000),
            batch_salt: if code_key.is_some() { Vec::new() } else { salt.as_bytes().to_vec() },
            items: chunk.to_vec(),
            digest_scheme: if code_key.is_some() {
                pb::CodeDigestScheme::ThresholdOprfV1 as i32
            } else {
                pb::CodeDigestScheme::Blake3V1 as i32
            },
            code_key: code_key.map(|k| k.public.public_key.clone()).unwrap_or_default(),
            ..Default::default()
        });
        envelopes.push(sign(brand, network_id, next(), action));
    }
    submit_all(client, envelopes, "commission items").await?;
    let mut observations = Vec::new();
    for _ in 1..history {
        for (uri, _) in &items {
            observations.push(sign(brand, network_id, next(), observe(vec![uri.clone()], 0)));
        }
    }
    submit_all(client, observations, "observations").await?;
    Ok(Items { items })
}

/// Items per commissioning envelope when preloading (~280 KB). Apply runs
/// on the Raft loop: entries of tens of thousands of items would hold up
/// its heartbeats.
const PRELOAD_PER_ENVELOPE: usize = 5_000;
/// Preload submissions in flight.
const PRELOAD_IN_FLIGHT: usize = 4;

/// Commissions `count` filler items of a fresh product (random digests:
/// nobody will verify them), so a run measures a store of that size.
/// Returns the items per second the cluster committed.
pub async fn preload_items(clients: &[Client], brand: &Signer, network_id: &str, count: usize) -> anyhow::Result<f64> {
    use rand::Rng as _;
    let run = run_id();
    // Under the brand's company prefix, apart from `prepare_items`' products.
    let item_ref = format!("{:05}", 50_000 + run % 50_000);
    let gtin = Gtin::from_body(&format!("0614141{item_ref}")).context("preload GTIN")?;
    let mut nonce = run * 1000 + 500;
    let client = clients.first().context("no connection")?;
    register_product(client, brand, network_id, nonce, &gtin, &format!("Bench filler {item_ref}"), None).await?;
    let started = std::time::Instant::now();
    // Seeded once from the thread's generator; unlike it, Send across awaits.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_rng(&mut rand::rng());
    // One envelope per submission, signed just before it is sent: at 10^7
    // items, signing them all first held ~560 MB in this process.
    let mut in_flight = tokio::task::JoinSet::new();
    // Items committed so far (drawn only when stderr is a terminal).
    let bar = indicatif::ProgressBar::new(count as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "preloading [{bar:30}] {human_pos}/{human_len} items {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for (i, first) in (0..count).step_by(PRELOAD_PER_ENVELOPE).enumerate() {
        let items = (first..count.min(first + PRELOAD_PER_ENVELOPE))
            .map(|i| {
                let mut digest = vec![0u8; 32];
                rng.fill_bytes(&mut digest);
                pb::CommissionedItem {
                    serial: format!("F{}-{i}", run % 1_000_000_000),
                    code_digest: digest,
                    salt: vec![],
                    label_token_digest: vec![],
                }
            })
            .collect();
        let mut salt = vec![0u8; 16];
        rng.fill_bytes(&mut salt);
        nonce += 1;
        let action = Action::CommissionItems(pb::CommissionItems {
            gtin: gtin.to_string(),
            lot: format!("FILL-{}", run % 1_000_000_000),
            batch_salt: salt,
            items,
            digest_scheme: pb::CodeDigestScheme::Blake3V1 as i32,
            ..Default::default()
        });
        let envelope = sign(brand, network_id, nonce, action);
        // A few submissions in flight, spread over the connections.
        if in_flight.len() >= PRELOAD_IN_FLIGHT {
            bar.inc(in_flight.join_next().await.context("preload task")???);
        }
        let client = clients[i % clients.len()].clone();
        let n = (count.min(first + PRELOAD_PER_ENVELOPE) - first) as u64;
        in_flight.spawn(async move { submit_all(&client, vec![envelope], "preload items").await.map(|()| n) });
    }
    while let Some(r) = in_flight.join_next().await {
        bar.inc(r.context("preload task")??);
    }
    bar.finish_and_clear();
    Ok(count as f64 / started.elapsed().as_secs_f64().max(1e-9))
}
