//! `veritrace cert`: a CA, node and client certificates for a test or
//! small network's gRPC edge (veritrace-certs). Keys are written mode 0600;
//! existing files are never overwritten unless `--overwrite` is given.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use veritrace_certs::{CertificateAuthority, Existing};

/// `veritrace cert ...`.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Makes the network's CA: DIR/ca.crt (give it to every node and
    /// client) and DIR/ca.key (keep it off the nodes).
    #[command(name = "create-ca")]
    Ca {
        /// Directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The CA's common name.
        #[arg(long, default_value = "Veritrace CA")]
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Issues a node certificate (server and client auth): OUT/NAME.crt and
    /// OUT/NAME.key. List every host name and IP clients dial it by.
    #[command(name = "create-node")]
    Node {
        #[command(flatten)]
        ca: CaArgs,
        /// The node's name (common name and file stem), e.g. node1.
        #[arg(long)]
        name: String,
        /// A DNS name or IP address of the node (repeatable; at least one).
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Signs a node's certificate request (`keys generate --tls-host` makes
    /// one on the node's host, whose TLS key never leaves it) as
    /// `create-node` would; prints what it asks for and writes OUT.
    #[command(name = "sign-request")]
    SignRequest {
        /// Directory holding ca.crt and ca.key.
        #[arg(long)]
        ca_dir: PathBuf,
        /// The request (PEM), e.g. node-tls.csr.
        #[arg(long)]
        csr: PathBuf,
        /// The certificate to write (PEM); refused if it exists.
        #[arg(long)]
        out: PathBuf,
    },
    /// Issues a client certificate (client auth only), e.g. for an operator
    /// calling ClusterService: OUT/NAME.crt and OUT/NAME.key.
    #[command(name = "create-client")]
    Client {
        #[command(flatten)]
        ca: CaArgs,
        /// The client's name (common name and file stem), e.g. admin.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        common: Common,
    },
}

/// Where the CA is.
#[derive(Debug, Args)]
pub struct CaArgs {
    /// Directory holding ca.crt and ca.key (from `cert create-ca`).
    #[arg(long)]
    pub ca_dir: PathBuf,
    /// Directory to write the new pair into; default: --ca-dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Options of every `cert` command.
#[derive(Debug, Args)]
pub struct Common {
    /// Replace existing files.
    #[arg(long)]
    pub overwrite: bool,
}

impl Common {
    fn existing(&self) -> Existing {
        if self.overwrite { Existing::Overwrite } else { Existing::Refuse }
    }
}

fn load_ca(ca: &CaArgs) -> anyhow::Result<CertificateAuthority> {
    Ok(CertificateAuthority::load(&ca.ca_dir.join("ca.crt"), &ca.ca_dir.join("ca.key"))?)
}

/// Runs a `cert` subcommand.
pub fn run(cmd: CertCommand) -> anyhow::Result<()> {
    let written = match cmd {
        CertCommand::SignRequest { ca_dir, csr, out } => {
            use anyhow::Context as _;
            let authority = CertificateAuthority::load(&ca_dir.join("ca.crt"), &ca_dir.join("ca.key"))?;
            let pem = std::fs::read_to_string(&csr).with_context(|| format!("reading {}", csr.display()))?;
            let asked = veritrace_certs::read_request(&pem)?;
            println!("request for node {:?}, hosts {}", asked.common_name, asked.hosts.join(", "));
            let cert = authority.sign_node_request(&pem)?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            std::io::Write::write_all(&mut file, cert.as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}: send it back with ca.crt", out.display());
            return Ok(());
        }
        CertCommand::Ca { out, name, common } => {
            CertificateAuthority::generate(&name)?.write_pem_pair(&out, "ca", common.existing())?
        }
        CertCommand::Node { ca, name, hosts, common } => {
            let authority = load_ca(&ca)?;
            let out = ca.out.clone().unwrap_or_else(|| ca.ca_dir.clone());
            authority.issue_node(&name, &hosts)?.write_pem_pair(&out, &name, common.existing())?
        }
        CertCommand::Client { ca, name, common } => {
            let authority = load_ca(&ca)?;
            let out = ca.out.clone().unwrap_or_else(|| ca.ca_dir.clone());
            authority.issue_client(&name)?.write_pem_pair(&out, &name, common.existing())?
        }
    };
    println!("wrote {} and {} (key mode 0600)", written.cert.display(), written.key.display());
    Ok(())
}
