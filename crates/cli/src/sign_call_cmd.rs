//! `veritrace sign-call`: the party credential of one HTTP call of the
//! EPCIS REST binding, printed for curl or any HTTP client.

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use crate::cluster_cmd::{EndpointArgs, runtime};

/// How the headers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeaderFormat {
    /// `-H name:value` words for a curl command line (`curl $(veritrace sign-call ...) URL`).
    Curl,
    /// One `name: value` line per header.
    Lines,
}

/// Arguments of `veritrace sign-call`.
#[derive(Debug, Args)]
pub struct SignCallArgs {
    #[command(flatten)]
    target: EndpointArgs,
    /// The call, as the binding signs it: the HTTP method and the path below
    /// `/epcis`, e.g. "POST /capture" or "GET /events".
    call: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "curl")]
    format: HeaderFormat,
}

/// Prints the credential headers of one call at the node of `--endpoint`
/// (its gRPC port names the node and the network the credential is for).
/// Each set is good for one call, within 5 minutes.
pub fn sign_call(args: SignCallArgs) -> anyhow::Result<()> {
    let (method, path) = args.call.split_once(' ').context("the call is \"METHOD /path\", e.g. \"POST /capture\"")?;
    if !path.starts_with('/') || method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        anyhow::bail!("the call is \"METHOD /path\" (method in capitals, path below /epcis), not {:?}", args.call);
    }
    if args.target.connect.as_party.is_none() {
        anyhow::bail!("give the party that signs: --as-party and --party-key");
    }
    let headers = runtime()?.block_on(async {
        let client = crate::cluster_cmd::connect(&args.target).await?;
        anyhow::Ok(client.party_call_headers(&args.call).await?)
    })?;
    match args.format {
        HeaderFormat::Curl => {
            let words: Vec<String> = headers.iter().map(|(k, v)| format!("-H {k}:{v}")).collect();
            println!("{}", words.join(" "));
        }
        HeaderFormat::Lines => {
            for (k, v) in headers {
                println!("{k}: {v}");
            }
        }
    }
    Ok(())
}
