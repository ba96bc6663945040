//! Integrator commands that sign and submit transactions: `tx submit` (any
//! action, as proto3 JSON) and `items commission` (serials, codes, label
//! sheets, and the CommissionItems actions).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use veritrace_service::now_ms;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use veritrace_client::Client;
use veritrace_client::render::{OutputFormat, render_receipts};
use veritrace_core::gs1::DlHost;
use veritrace_core::{Envelope, SecretKey};
use veritrace_labels::{BatchSpec, SerialScheme, SheetLayout};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use crate::cluster_cmd::runtime;
use crate::proto_json;

/// Who signs, and where to send it.
#[derive(Debug, Args)]
pub struct SignerArgs {
    /// gRPC endpoint of a node.
    #[arg(long, env = "VERITRACE_ENDPOINT", default_value = "http://127.0.0.1:7401")]
    pub endpoint: String,
    /// Party id of the signer.
    #[arg(long, env = "VERITRACE_PARTY")]
    pub party: String,
    /// The party's signing key: a file holding the hex of a 32-byte ed25519
    /// seed (as `veritrace init` writes `party.key`).
    #[arg(long, env = "VERITRACE_PARTY_KEY")]
    pub key: PathBuf,
    /// Network id; read from the node's genesis when omitted.
    #[arg(long)]
    pub network: Option<String>,
    /// Output format: table or json.
    #[arg(short = 'o', long, default_value = "table")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub connect: crate::cluster_cmd::ConnectArgs,
}

/// `veritrace tx ...`.
#[derive(Debug, Subcommand)]
pub enum TxCommand {
    /// Signs and submits one transaction given as proto3 JSON
    /// (`veritrace.v1.Transaction`, usually only its action, e.g.
    /// `{"registerProduct": {...}}`); party, nonce, client time and network
    /// are filled in. With --epcis, the file is a GS1 EPCIS 2.0 document
    /// (JSON-LD) and each of its events is signed and submitted.
    Submit {
        #[command(flatten)]
        signer: SignerArgs,
        /// The file is an `EPCISDocument` or `EPCISQueryDocument`: one
        /// envelope per event, an event without eventID given its CBV
        /// event hash id (as the REST binding's capture does).
        #[arg(long)]
        epcis: bool,
        /// The JSON file, or `-` for stdin.
        file: PathBuf,
    },
}

/// `veritrace items ...`.
#[derive(Debug, Subcommand)]
pub enum ItemsCommand {
    /// Generates serials and secret codes for a batch, writes the label
    /// sheets (SVG, a GS1 Digital Link QR code and the code per item) and a
    /// CSV, and commissions the items (only code digests reach the ledger).
    Commission(CommissionArgs),
}

/// Arguments of `items commission`.
#[derive(Debug, Args)]
pub struct CommissionArgs {
    #[command(flatten)]
    signer: SignerArgs,
    /// GTIN-14 of the (registered) product.
    #[arg(long)]
    gtin: String,
    /// Number of items.
    #[arg(long)]
    count: u32,
    /// Lot number, if lot-managed.
    #[arg(long)]
    lot: Option<String>,
    /// Serials are this prefix followed by a 6-digit counter from 1
    /// (e.g. LOT1-000001).
    #[arg(long, default_value = "", conflicts_with = "random_serials")]
    serial_prefix: String,
    /// Random serials of this many characters (digits 2-9 and letters
    /// without I, L, O) instead of a counter, so a batch's serials cannot
    /// be enumerated from one label.
    #[arg(long, value_name = "LENGTH")]
    random_serials: Option<usize>,
    /// Code length (the product's code policy; 6 digits by default).
    #[arg(long, default_value_t = 6)]
    code_length: u8,
    /// The brand's code key file (`codes deal-key` writes code-key.secret),
    /// for a product whose code policy is CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1:
    /// digests are made with it, and no validator can check them alone.
    #[arg(long, value_name = "FILE")]
    code_key: Option<PathBuf>,
    /// Directory for labels.csv and labels-NNN.svg (created, readable by
    /// its owner only, 0700 / 0600; must not hold a labels.csv already:
    /// the codes are secrets, never overwrite them).
    #[arg(long, default_value = "labels")]
    out: PathBuf,
    /// The Digital Link host printed in the QR codes (e.g.
    /// https://verify.brand.example). Default: the product's own
    /// (`registerProduct.labelHost`), else the network's (genesis
    /// `labelHost`), else GS1's resolver, https://id.gs1.org.
    #[arg(long, value_name = "ORIGIN")]
    label_host: Option<String>,
}

fn load_key(path: &Path) -> anyhow::Result<SecretKey> {
    let seed = veritrace_node::read_seed_file(path)?;
    Ok(veritrace_node::party_key(&seed)?)
}

/// Connects for `s`: its party-plane calls are signed as `--as-party`
/// when given, as the signer otherwise.
pub(crate) async fn connect_signer(s: &SignerArgs) -> anyhow::Result<Client> {
    let mut options = s.connect.options()?;
    if options.party.is_none() {
        options.party = Some(crate::cluster_cmd::party_credential(&s.party, &s.key)?);
    }
    Ok(Client::connect_with(&s.endpoint, &options).await?)
}

pub(crate) async fn network_id(client: &Client, given: &Option<String>) -> anyhow::Result<String> {
    if let Some(n) = given {
        return Ok(n.clone());
    }
    let g = client.genesis().await.context("reading the network id from the node's genesis")?;
    Ok(g.genesis.map(|g| g.network_id).unwrap_or_default())
}

/// The labels' Digital Link host: `given`, else the product's, else the
/// network's, else GS1's. A product the node does not know is an error:
/// commissioning it would be refused anyway, after the labels were written.
async fn label_host(client: &Client, given: Option<&str>, gtin: &str) -> anyhow::Result<DlHost> {
    if let Some(text) = given {
        return DlHost::parse(text).map_err(|e| anyhow::anyhow!("--label-host: {e}"));
    }
    let product = client.product(gtin).await.with_context(|| format!("reading product {gtin} from the node"))?;
    let chosen = if product.label_host.is_empty() {
        let genesis = client.genesis().await.context("reading the network's label host from the genesis")?;
        genesis.genesis.map(|g| g.label_host).unwrap_or_default()
    } else {
        product.label_host
    };
    if chosen.is_empty() {
        return Ok(DlHost::gs1());
    }
    DlHost::parse(&chosen).map_err(|e| anyhow::anyhow!("the ledger's label host: {e}"))
}

/// Signs `action` as the signer's party and submits it; fails when refused.
pub(crate) async fn sign_and_submit(
    client: &Client,
    s: &SignerArgs,
    network: &str,
    actions: Vec<Action>,
) -> anyhow::Result<Vec<pb::Receipt>> {
    let key = load_key(&s.key)?;
    let base = (now_ms() as u64).wrapping_mul(1000).wrapping_add(rand::random::<u16>() as u64 % 1000);
    let envelopes = actions
        .into_iter()
        .enumerate()
        .map(|(i, action)| {
            let tx = pb::Transaction {
                party_id: s.party.clone(),
                nonce: base.wrapping_add(i as u64),
                client_time: Some(veritrace_proto::timestamp_from_ms(now_ms())),
                network_id: network.to_owned(),
                action: Some(action),
                ..Default::default()
            };
            Envelope::sign_transaction(&tx, &key).to_proto()
        })
        .collect();
    Ok(client.submit(envelopes).await?)
}

pub(crate) fn report(receipts: &[pb::Receipt], output: OutputFormat) -> anyhow::Result<()> {
    print!("{}", render_receipts(receipts, output));
    if let Some(r) = receipts.iter().find(|r| r.outcome == pb::Outcome::Rejected as i32) {
        bail!("refused: {}: {}", r.reason, r.message);
    }
    Ok(())
}

/// `veritrace tx ...`.
pub fn tx(cmd: TxCommand) -> anyhow::Result<()> {
    let TxCommand::Submit { signer, epcis, file } = cmd;
    let mut json = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut json).context("reading stdin")?;
    } else {
        json = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    }
    if epcis {
        let document = veritrace_epcis::parse_epcis_document(&json).with_context(|| format!("{}", file.display()))?;
        if document.events.is_empty() {
            bail!("{}: the document holds no events", file.display());
        }
        let mut actions = Vec::with_capacity(document.events.len());
        for mut event in document.events {
            veritrace_epcis_rest::hash::with_event_id(&mut event)?;
            actions.push(Action::EpcisEvent(event));
        }
        return runtime()?.block_on(async {
            let client = connect_signer(&signer).await?;
            let network = network_id(&client, &signer.network).await?;
            let mut receipts = Vec::new();
            for chunk in actions.chunks(veritrace_service::MAX_ENVELOPES_PER_PROPOSAL) {
                receipts.extend(sign_and_submit(&client, &signer, &network, chunk.to_vec()).await?);
            }
            report(&receipts, signer.output)
        });
    }
    let tx: pb::Transaction =
        proto_json::from_json("veritrace.v1.Transaction", &json).with_context(|| format!("{}", file.display()))?;
    let Some(action) = tx.action else { bail!("{}: the transaction has no action", file.display()) };
    runtime()?.block_on(async {
        let client = connect_signer(&signer).await?;
        let network = network_id(&client, &signer.network).await?;
        let receipts = sign_and_submit(&client, &signer, &network, vec![action]).await?;
        report(&receipts, signer.output)
    })
}

/// Creates `dir` (and missing parents) readable by its owner only (0700):
/// it will hold clear codes. An existing directory keeps its mode; the
/// files in it are private anyway.
pub(crate) fn private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// A new file readable and writable by its owner only (0600); fails if it
/// exists.
pub(crate) fn private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// `veritrace items ...`.
pub fn items(cmd: ItemsCommand) -> anyhow::Result<()> {
    let ItemsCommand::Commission(args) = cmd;
    let serials = match args.random_serials {
        Some(length) => SerialScheme::Random { length },
        None => SerialScheme::Sequential { prefix: args.serial_prefix.clone(), start: 1, width: 6 },
    };
    let mut spec = BatchSpec::new(&args.gtin, args.count, serials)?;
    spec.lot = args.lot.clone();
    spec.policy.length = args.code_length;
    if let Some(path) = &args.code_key {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let key = veritrace_core::oprf::files::parse_key_file(&text)
            .map_err(|e| anyhow::anyhow!("--code-key {}: {e}", path.display()))?;
        spec.code_key = Some(veritrace_labels::BrandCodeKey(key));
    }
    let csv = args.out.join("labels.csv");
    if csv.exists() {
        bail!("{} exists; refusing to overwrite printed codes (choose another --out)", csv.display());
    }
    let rt = runtime()?;
    let client = rt.block_on(connect_signer(&args.signer))?;
    spec.label_host = rt.block_on(label_host(&client, args.label_host.as_deref(), spec.gtin.as_str()))?;
    let batch = veritrace_labels::generate(&spec, &mut rand::rng())?;
    private_dir(&args.out)?;
    let file = private_file(&csv)?;
    veritrace_labels::write_csv(&batch.labels, std::io::BufWriter::new(file))?;
    // One sheet at a time, each to its own file: a batch of 100,000 labels
    // never holds its sheets in memory.
    let layout = SheetLayout::default();
    let sheets: Vec<&[veritrace_labels::Label]> = batch.labels.chunks(layout.labels_per_sheet()).collect();
    let bar = crate::progress::count(sheets.len() as u64, "label sheets");
    for (i, sheet) in sheets.iter().enumerate() {
        let path = args.out.join(format!("labels-{:03}.svg", i + 1));
        let out = std::io::BufWriter::new(private_file(&path)?);
        veritrace_labels::write_svg_sheet(sheet, out, &layout)
            .with_context(|| format!("writing {}", path.display()))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let wrote = format!("wrote {} and {} label sheet(s) to {}", csv.display(), sheets.len(), args.out.display());
    match args.signer.output {
        // stdout is the receipts' JSON document alone.
        OutputFormat::Json => eprintln!("{wrote}"),
        OutputFormat::Table => println!("{wrote}"),
    }
    let actions: Vec<Action> = batch.actions.into_iter().map(Action::CommissionItems).collect();
    rt.block_on(async {
        let network = network_id(&client, &args.signer.network).await?;
        let mut receipts = Vec::new();
        let bar = crate::progress::count(actions.len() as u64, "commissioning");
        for action in actions {
            receipts.extend(sign_and_submit(&client, &args.signer, &network, vec![action]).await?);
            bar.inc(1);
        }
        bar.finish_and_clear();
        report(&receipts, args.signer.output)
    })
}
