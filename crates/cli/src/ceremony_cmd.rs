//! `veritrace keys generate` and `veritrace genesis ...`: a network founded
//! by several organisations from their public parts, each keeping its
//! secret keys on its own host (see `veritrace_node::ceremony`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use veritrace_node::ceremony::{self, Listen, NETWORK_FILE, NetworkFile, PUBLIC_FILE, PublicParts};
use veritrace_node::init::{GENESIS_FILE, PARTY_KEY_FILE};
use veritrace_node::seal::{GENESIS_SEAL_FILE, SealFile, read_validated_genesis};

/// `veritrace keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// On an organisation's own host: makes its node key, party key and
    /// admin token (0600, never to leave the host) and `public.json`, the
    /// public parts to send to the network's coordinator.
    Generate(GenerateArgs),
}

/// Arguments of `keys generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory for the keys (created; must not hold keys already).
    #[arg(long)]
    out: PathBuf,
    /// Party id, e.g. acme-shoes.
    #[arg(long)]
    party: String,
    /// Name shown to people.
    #[arg(long)]
    name: String,
    /// Country of registration, ISO 3166-1 alpha-2 (e.g. FR).
    #[arg(long)]
    country: String,
    /// Role (repeatable): admin, brand-owner, manufacturer, inspection,
    /// customs, logistics, retailer, platform, regulator.
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
    /// GS1 Company Prefix licensed to the party (repeatable).
    #[arg(long = "gs1-prefix")]
    gs1_prefixes: Vec<String>,
    /// The node's gRPC endpoint as others reach it, e.g. https://n1.acme.example:7401.
    #[arg(long)]
    api_advertise: String,
    /// The node's peer address as others dial it, e.g. /dns4/n1.acme.example/tcp/7501.
    #[arg(long)]
    p2p_advertise: String,
    /// A DNS name or IP address clients reach the node's gRPC API by
    /// (repeatable): also makes the node's TLS key (node-tls.key, 0600)
    /// and a certificate request (node-tls.csr) for the CA
    /// (`veritrace cert sign-request`).
    #[arg(long = "tls-host")]
    tls_hosts: Vec<String>,
}

/// `veritrace genesis ...`.
#[derive(Debug, Subcommand)]
pub enum GenesisCommand {
    /// Coordinator: assembles the genesis from the founders' public.json
    /// files (node ids in the order given) into DIR/genesis.pb and
    /// DIR/network.json; prints the genesis id the founders sign.
    Assemble {
        /// Network id, e.g. veritrace-eu-1.
        #[arg(long)]
        network_id: String,
        /// Governance approvals needed (default: a majority of the admins).
        #[arg(long)]
        threshold: Option<u32>,
        /// Free text about the network.
        #[arg(long, default_value = "")]
        description: String,
        /// The network's GS1 Digital Link host, printed in labels' QR codes
        /// (e.g. https://verify.example.net); default: none (GS1's resolver).
        #[arg(long, value_name = "ORIGIN")]
        label_host: Option<String>,
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
        /// The founders' public.json files.
        #[arg(required = true)]
        public: Vec<PathBuf>,
    },
    /// Founder, on its own host: shows the genesis in DIR to check and
    /// signs its id with the party key in KEYS; writes KEYS/genesis-<party>.sig.
    Sign {
        /// Directory holding the assembled genesis.pb and network.json.
        #[arg(long)]
        network: PathBuf,
        /// The founder's key directory (`keys generate --out`).
        #[arg(long)]
        keys: PathBuf,
    },
    /// Coordinator: gathers the founders' signatures into DIR/genesis.sig;
    /// fails naming any founder that has not signed.
    Seal {
        /// Directory holding the assembled genesis.pb.
        #[arg(long)]
        network: PathBuf,
        /// The founders' genesis-<party>.sig files.
        #[arg(required = true)]
        signatures: Vec<PathBuf>,
    },
    /// Founder: writes KEYS/veritrace.toml for its node from network.json
    /// and copies the sealed genesis into KEYS; then `node start --config`.
    Configure {
        /// Directory holding genesis.pb, genesis.sig and network.json.
        #[arg(long)]
        network: PathBuf,
        /// The founder's key directory.
        #[arg(long)]
        keys: PathBuf,
        /// gRPC listen address (default: the advertised endpoint's).
        #[arg(long)]
        api_listen: Option<SocketAddr>,
        /// Peer listen multiaddr (default: the advertised one).
        #[arg(long)]
        p2p_listen: Option<String>,
        /// Ops HTTP listen address (default: none).
        #[arg(long)]
        ops_listen: Option<SocketAddr>,
        /// Public web listen address (Digital Link resolver, consumer page; default: none).
        #[arg(long)]
        web_listen: Option<SocketAddr>,
        /// The node's TLS certificate (PEM) the network's CA signed for
        /// KEYS/node-tls.csr: copied to KEYS/node-tls.crt and served with
        /// KEYS/node-tls.key as [api.tls] (gRPC over TLS).
        #[arg(long)]
        tls_cert: Option<PathBuf>,
        /// A CA (PEM) whose client certificates may call the admin plane
        /// (with --tls-cert): copied to KEYS/client-ca.crt; admin calls
        /// then need such a certificate as well as the admin token.
        #[arg(long, requires = "tls_cert")]
        client_ca: Option<PathBuf>,
    },
}

/// `veritrace keys ...`.
pub fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
    let KeysCommand::Generate(a) = cmd;
    let parts = PublicParts {
        party_id: a.party,
        display_name: a.name,
        country: a.country,
        roles: a.roles,
        gs1_company_prefixes: a.gs1_prefixes,
        party_key: String::new(),
        peer_id: String::new(),
        api_advertise: a.api_advertise,
        p2p_advertise: a.p2p_advertise,
    };
    let parts = ceremony::generate_keys(&a.out, parts)?;
    println!("wrote node.key, party.key and admin.token (secret: keep them on this host) to {}", a.out.display());
    if !a.tls_hosts.is_empty() {
        let (csr, key) = veritrace_certs::node_request(&parts.party_id, &a.tls_hosts)?;
        veritrace_node::write_secret_file(&a.out.join("node-tls.key"), &key)?;
        std::fs::write(a.out.join("node-tls.csr"), csr).context("writing node-tls.csr")?;
        println!("wrote node-tls.key (secret) and node-tls.csr: send the request to the network's CA");
    }
    println!(
        "send {} to the coordinator: party {} peer {}",
        a.out.join(PUBLIC_FILE).display(),
        parts.party_id,
        parts.peer_id
    );
    Ok(())
}

/// `veritrace genesis ...`.
pub fn genesis(cmd: GenesisCommand) -> anyhow::Result<()> {
    match cmd {
        GenesisCommand::Assemble { network_id, threshold, description, label_host, out, public } => {
            let founders = public.iter().map(|p| ceremony::read_json(p)).collect::<Result<Vec<PublicParts>, _>>()?;
            let (genesis, network) =
                ceremony::assemble(&network_id, threshold, &description, label_host.as_deref(), &founders)?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let path = out.join(GENESIS_FILE);
            std::fs::write(&path, genesis.bytes()).with_context(|| format!("writing {}", path.display()))?;
            ceremony::write_json(&out.join(NETWORK_FILE), &network)?;
            println!("genesis {} of network {network_id} with {} founders", genesis.id(), founders.len());
            println!("each founder checks it and runs: veritrace genesis sign --network DIR --keys KEYS");
            Ok(())
        }
        GenesisCommand::Sign { network, keys } => sign(&network, &keys),
        GenesisCommand::Seal { network, signatures } => {
            let genesis = read_validated_genesis(&network.join(GENESIS_FILE))?;
            let mut seal = SealFile::new(&genesis);
            for path in &signatures {
                let one = SealFile::load(path)?;
                if one.genesis_id != seal.genesis_id {
                    bail!("{} signs genesis {}, not {}", path.display(), one.genesis_id, seal.genesis_id);
                }
                for sig in one.founder_signatures().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))? {
                    seal.add(&sig);
                }
            }
            let path = network.join(GENESIS_SEAL_FILE);
            seal.check(&genesis, &path)?;
            seal.save(&path)?;
            println!("sealed genesis {} by {} founders: {}", genesis.id(), seal.signatures.len(), path.display());
            Ok(())
        }
        GenesisCommand::Configure {
            network,
            keys,
            api_listen,
            p2p_listen,
            ops_listen,
            web_listen,
            tls_cert,
            client_ca,
        } => {
            let file: NetworkFile = ceremony::read_json(&network.join(NETWORK_FILE))?;
            let me: PublicParts = ceremony::read_json(&keys.join(PUBLIC_FILE))?;
            let genesis = read_validated_genesis(&network.join(GENESIS_FILE))?;
            SealFile::load(&network.join(GENESIS_SEAL_FILE))?.check(&genesis, &network.join(GENESIS_SEAL_FILE))?;
            if file.genesis_id != genesis.id().to_string() {
                bail!("{} is for genesis {}, not {}", NETWORK_FILE, file.genesis_id, genesis.id());
            }
            ceremony::check_network(&file, &genesis)?;
            let hash = ceremony::admin_token_hash(&keys)?;
            let listen = Listen { api: api_listen, p2p: p2p_listen, ops: ops_listen, web: web_listen };
            let tls = match &tls_cert {
                None => None,
                Some(cert) => {
                    if !keys.join("node-tls.key").is_file() {
                        bail!("--tls-cert: no node-tls.key in {} (keys generate --tls-host makes it)", keys.display());
                    }
                    copy(cert, &keys.join("node-tls.crt"))?;
                    if let Some(ca) = &client_ca {
                        copy(ca, &keys.join("client-ca.crt"))?;
                    }
                    Some(veritrace_node::TlsSection {
                        cert_file: "node-tls.crt".into(),
                        key_file: "node-tls.key".into(),
                        client_ca_file: client_ca.as_ref().map(|_| "client-ca.crt".into()),
                        admin_requires_client_cert: client_ca.is_some(),
                    })
                }
            };
            let config = ceremony::configure(&file, &me.party_id, &listen, &hash, tls)?;
            for name in [GENESIS_FILE, GENESIS_SEAL_FILE] {
                copy(&network.join(name), &keys.join(name))?;
            }
            let path = keys.join(veritrace_node::CONFIG_FILE_NAME);
            std::fs::write(&path, config.to_toml()?).with_context(|| format!("writing {}", path.display()))?;
            println!(
                "wrote {}: node {} of {}; start it with veritrace node start --config {}",
                path.display(),
                config.node.id,
                file.network_id,
                path.display()
            );
            Ok(())
        }
    }
}

/// Shows what the founder signs, and signs it.
fn sign(network: &Path, keys: &Path) -> anyhow::Result<()> {
    let genesis = read_validated_genesis(&network.join(GENESIS_FILE))?;
    let me: PublicParts = ceremony::read_json(&keys.join(PUBLIC_FILE))?;
    let key = veritrace_node::party_key(&veritrace_node::read_seed_file(&keys.join(PARTY_KEY_FILE))?)?;
    let g = genesis.proto();
    let Some(own) = g.founding_parties.iter().find(|p| p.party_id == me.party_id) else {
        bail!("party {} is not a founding party of this genesis: do not sign it", me.party_id);
    };
    // The founder's own entry must be exactly what it published: one key
    // (its own), its roles, prefixes, name, country and validator.
    if me.party_key != key.public().to_string() {
        bail!("{PUBLIC_FILE} does not carry the key in {PARTY_KEY_FILE}");
    }
    let (expected, _) = ceremony::assemble(&g.network_id, None, "", None, std::slice::from_ref(&me))?;
    let mut want = expected.proto().founding_parties[0].clone();
    want.joined_at = own.joined_at;
    if *own != want {
        bail!(
            "the genesis entry of {} differs from its {PUBLIC_FILE} (keys, roles, prefixes, name or validator): do not sign it",
            me.party_id
        );
    }
    let policies = [
        g.role_policy.is_some(),
        g.default_code_policy.is_some(),
        g.replay_window.is_some(),
        g.max_clock_skew.is_some(),
    ];
    if policies.contains(&true) {
        bail!("the genesis sets policies `veritrace genesis assemble` does not: do not sign it");
    }
    println!("genesis {} of network {}", genesis.id(), g.network_id);
    for p in &g.founding_parties {
        let roles: Vec<&str> = p
            .roles
            .iter()
            .map(|r| veritrace_proto::v1::PartyRole::try_from(*r).map_or("?", |r| r.as_str_name()))
            .collect();
        let keys: Vec<String> = p.signing_keys.iter().map(|k| hex::encode(&k.public_key)).collect();
        println!(
            "  {:<24} {} ({}) roles {} keys {} prefixes {:?} validator {}",
            p.party_id,
            p.display_name,
            p.country,
            roles.join(","),
            keys.join(","),
            p.gs1_company_prefixes,
            p.validator_peer_id
        );
    }
    println!("  governance threshold {}", g.governance.as_ref().map_or(1, |r| r.threshold));
    // Printed on every label for years: each founder sees it before signing.
    let label_host =
        if g.label_host.is_empty() { "https://id.gs1.org (GS1's resolver)" } else { g.label_host.as_str() };
    println!("  labels' QR codes point at {label_host}");
    let mut seal = SealFile::new(&genesis);
    seal.add(&veritrace_core::founders::FounderSignature::sign(&genesis.id(), &me.party_id, &key));
    let path = keys.join(format!("genesis-{}.sig", me.party_id));
    seal.save(&path)?;
    println!("signed as {}: send {} to the coordinator", me.party_id, path.display());
    Ok(())
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    if from == to {
        return Ok(());
    }
    std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}
