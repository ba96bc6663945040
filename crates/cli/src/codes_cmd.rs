//! `veritrace codes`: a brand's threshold code key (the key whose shares
//! let validators check codes together that none can check alone).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use veritrace_core::oprf::OprfKey;
use veritrace_core::oprf::files::{encode_key_file, encode_share_file};
use veritrace_proto::v1 as pb;

use crate::tx_cmd::{private_dir, private_file};

/// `veritrace codes ...`.
#[derive(Debug, Subcommand)]
pub enum CodesCommand {
    /// Draws a brand's code key, splits it THRESHOLD-of-N among the
    /// validator nodes named, and writes: the whole key for the brand
    /// (code-key.secret: commission with it, keep it offline), one share
    /// file per node (share-node-ID.codeshare: hand each to that node's
    /// operator, who lists it in `node.code_key_share_files`), and the
    /// product code policy naming the key (code-policy.json, proto3 JSON
    /// for `registerProduct.codePolicy`; code-key.public.pb holds the same
    /// public parts as protobuf, for tools).
    DealKey(DealKeyArgs),
}

/// Arguments of `codes deal-key`.
#[derive(Debug, Args)]
pub struct DealKeyArgs {
    /// How many nodes must help check each code (2 or more; a majority of
    /// the share holders is a good choice: fewer colluding holders can
    /// test codes offline, more failed holders stop verification).
    #[arg(long)]
    threshold: u8,
    /// Raft node id of a validator to hold a share (repeat, or separate
    /// with commas), 2 to 16 nodes.
    #[arg(long = "node", value_delimiter = ',', required = true)]
    nodes: Vec<u64>,
    /// The brand's party id: the key is registered to it (its proof of
    /// possession names it).
    #[arg(long)]
    brand: String,
    /// The network id (the genesis's), which the proof of possession names.
    #[arg(long)]
    network: String,
    /// Directory for the files (created 0700; must not hold them already).
    #[arg(long, default_value = "code-key")]
    out: PathBuf,
}

/// Runs `veritrace codes ...`.
pub fn codes(cmd: CodesCommand) -> anyhow::Result<()> {
    let CodesCommand::DealKey(args) = cmd;
    let mut nodes = args.nodes.clone();
    nodes.sort_unstable();
    nodes.dedup();
    if nodes.len() != args.nodes.len() || nodes.contains(&0) {
        bail!("--node: node ids must be distinct and non-zero, got {:?}", args.nodes);
    }
    let max = veritrace_ledger::MAX_CODE_KEY_SHARES;
    let n = u8::try_from(nodes.len())
        .ok()
        .filter(|n| *n >= 2 && usize::from(*n) <= max)
        .with_context(|| format!("--node: name 2 to {max} nodes"))?;
    if args.threshold < 2 || args.threshold > n {
        bail!(
            "--threshold {}: must be 2 to the number of nodes ({n}); 1 would give every node the whole key",
            args.threshold
        );
    }
    let key_path = args.out.join("code-key.secret");
    if key_path.exists() {
        bail!("{} exists; refusing to overwrite a code key (choose another --out)", key_path.display());
    }
    let rng = &mut rand::rng();
    let key = OprfKey::generate(rng);
    let (share_files, code_key) =
        veritrace_core::code::deal_code_key(&key, args.threshold, &nodes, &args.network, &args.brand, rng)?;
    // What the ledger will check, checked before anything is written.
    veritrace_ledger::check_code_key(&code_key)
        .map_err(|why| anyhow::anyhow!("the dealt key fails its check: {why}"))?;

    private_dir(&args.out)?;
    private_file(&key_path)?.write_all(encode_key_file(&key).as_bytes())?;
    let mut share_paths = Vec::new();
    for (node, file) in share_files {
        let path = args.out.join(format!("share-node-{node}.codeshare"));
        private_file(&path)?.write_all(encode_share_file(&file).as_bytes())?;
        share_paths.push((node, path));
    }
    let public = code_key.clone();
    let policy = pb::CodePolicy {
        digest_scheme: pb::CodeDigestScheme::ThresholdOprfV1 as i32,
        code_key: Some(code_key),
        ..Default::default()
    };
    // The public parts as protobuf, for tools (the load generator).
    let public_path = args.out.join("code-key.public.pb");
    private_file(&public_path)?.write_all(&prost::Message::encode_to_vec(&public))?;
    let policy_path = args.out.join("code-policy.json");
    let json = crate::proto_json::to_json("veritrace.v1.CodePolicy", &policy)?;
    private_file(&policy_path)?.write_all(json.as_bytes())?;

    println!("code key {} ({}-of-{n})", hex::encode(key.public().to_bytes()), args.threshold);
    println!(
        "  {}  the brand's whole key: commission with it (items commission --code-key), keep it offline",
        key_path.display()
    );
    for (node, path) in &share_paths {
        println!("  {}  for node {node}'s operator: node.code_key_share_files", path.display());
    }
    println!("  {}  the product's codePolicy (registerProduct)", policy_path.display());
    println!(
        "Hand each share over a private channel and delete your copy: whoever holds {} shares can test codes offline.",
        args.threshold
    );
    Ok(())
}
