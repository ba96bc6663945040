//! `veritrace market`: supplier profiles and marketplace cases. Reads
//! (`profile`, `cases`, `case`) are party calls (`--as-party`); actions
//! are signed by `--party` with `--key` and submitted like `tx submit`.
//! Every action here can also be written as proto3 JSON for `tx submit`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use veritrace_client::render::{OutputFormat, render_message};
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

use crate::cluster_cmd::{EndpointArgs, connect, runtime};
use crate::market_actions::{self, ActionArgs as _};
use crate::tx_cmd::{SignerArgs, connect_signer, network_id, report, sign_and_submit};

/// `veritrace market ...`.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // Parsed once per process.
pub enum MarketCommand {
    /// A supplier's trust profile: time on the network, licence,
    /// certificates, audits, bond, confirmed deliveries, complaints, IP
    /// strikes, blacklist; every signal with its leaf.
    Profile {
        #[command(flatten)]
        target: EndpointArgs,
        /// The party.
        party: String,
    },
    /// The cases a party filed or answers, newest first.
    Cases {
        #[command(flatten)]
        target: EndpointArgs,
        /// The party.
        party: String,
        /// Only cases still waiting for a step.
        #[arg(long)]
        open: bool,
    },
    /// One case, with its steps.
    Case {
        #[command(flatten)]
        target: EndpointArgs,
        /// IP or trade.
        kind: CaseKindArg,
        /// The filer (the right holder, or the buyer).
        filer: String,
        /// The filer's complaint id.
        complaint_id: String,
    },
    /// Signs and submits a marketplace action.
    #[command(flatten)]
    Act(ActionCommand),
}

/// Which kind of case.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CaseKindArg {
    /// An intellectual-property complaint.
    Ip,
    /// A trade complaint.
    Trade,
}

/// The marketplace actions.
#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// Attests a party's business licence (a registry authority: REGULATOR).
    Licence(Act<market_actions::LicenceArgs>),
    /// Records a factory audit, claimed figures next to attested ones (INSPECTION).
    Audit(Act<market_actions::AuditArgs>),
    /// Records a delivery-guarantee bond held for a supplier (PLATFORM).
    Bond(Act<market_actions::BondArgs>),
    /// Registers an intellectual-property right (BRAND_OWNER).
    RegisterRight(Act<market_actions::RightArgs>),
    /// Confirms a registered right (REGULATOR).
    AttestRight(Act<market_actions::AttestRightArgs>),
    /// Files an IP complaint under one of the signer's rights.
    FileIp(Act<market_actions::FileIpArgs>),
    /// The accused's answer to an IP complaint: counter-notice or acceptance.
    AnswerIp(Act<market_actions::AnswerIpArgs>),
    /// Rules on a counter-notified IP complaint (PLATFORM; not a party of the case).
    RuleIp(Act<market_actions::RuleArgs>),
    /// Files a trade complaint about an order with a seller.
    FileTrade(Act<market_actions::FileTradeArgs>),
    /// The seller's answer: re-deliver, refund, partial refund or dispute.
    AnswerTrade(Act<market_actions::AnswerTradeArgs>),
    /// The buyer's reply to the answer: accept it or escalate.
    ReplyTrade(Act<market_actions::ReplyTradeArgs>),
    /// Rules on an escalated trade complaint (PLATFORM; not a party of the case).
    RuleTrade(Act<market_actions::RuleArgs>),
    /// The brand acknowledges a complaint about its product (a consumer's report).
    Acknowledge(Act<market_actions::AckArgs>),
}

/// An action's own arguments and its signer.
#[derive(Debug, Args)]
pub struct Act<T: Args> {
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    args: T,
}

/// `veritrace market ...`.
pub fn market(cmd: MarketCommand) -> anyhow::Result<()> {
    match cmd {
        MarketCommand::Profile { target, party } => runtime()?.block_on(async {
            let client = connect(&target).await?;
            let profile = client.supplier_profile(&party).await.with_context(|| format!("profile of {party}"))?;
            match target.output {
                OutputFormat::Json => print!("{}", render_message("veritrace.v1.SupplierProfile", &profile)?),
                OutputFormat::Table => print!("{}", crate::market_view::profile_table(&profile)),
            }
            Ok(())
        }),
        MarketCommand::Cases { target, party, open } => runtime()?.block_on(async {
            let client = connect(&target).await?;
            let mut all = pb::ListCasesResponse::default();
            let mut token = String::new();
            loop {
                let request = pb::ListCasesRequest {
                    parent: format!("parties/{party}"),
                    open_only: open,
                    page_size: 500,
                    page_token: token.clone(),
                };
                let page = client.list_cases(request).await.with_context(|| format!("cases of {party}"))?;
                all.cases.extend(page.cases);
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            match target.output {
                OutputFormat::Json => print!("{}", render_message("veritrace.v1.ListCasesResponse", &all)?),
                OutputFormat::Table => print!("{}", crate::market_view::cases_table(&all.cases)),
            }
            Ok(())
        }),
        MarketCommand::Case { target, kind, filer, complaint_id } => runtime()?.block_on(async {
            let client = connect(&target).await?;
            let (json, steps, head) = match kind {
                CaseKindArg::Ip => {
                    let c = client.ip_case(&filer, &complaint_id).await?;
                    (render_message("veritrace.v1.IpCase", &c)?, c.steps.clone(), crate::market_view::ip_head(&c))
                }
                CaseKindArg::Trade => {
                    let c = client.trade_case(&filer, &complaint_id).await?;
                    (render_message("veritrace.v1.TradeCase", &c)?, c.steps.clone(), crate::market_view::trade_head(&c))
                }
            };
            match target.output {
                OutputFormat::Json => print!("{json}"),
                OutputFormat::Table => {
                    print!("{head}");
                    print!("{}", crate::market_view::steps_table(&steps));
                }
            }
            Ok(())
        }),
        MarketCommand::Act(action) => act(action),
    }
}

fn act(cmd: ActionCommand) -> anyhow::Result<()> {
    use ActionCommand as C;
    let (signer, action): (SignerArgs, anyhow::Result<Action>) = match cmd {
        C::Licence(a) => (a.signer, a.args.action()),
        C::Audit(a) => (a.signer, a.args.action()),
        C::Bond(a) => (a.signer, a.args.action()),
        C::RegisterRight(a) => (a.signer, a.args.action()),
        C::AttestRight(a) => (a.signer, a.args.action()),
        C::FileIp(a) => (a.signer, a.args.action()),
        C::AnswerIp(a) => (a.signer, a.args.action()),
        C::RuleIp(a) => (a.signer, a.args.ip_action()),
        C::FileTrade(a) => (a.signer, a.args.action()),
        C::AnswerTrade(a) => (a.signer, a.args.action()),
        C::ReplyTrade(a) => (a.signer, a.args.action()),
        C::RuleTrade(a) => (a.signer, a.args.trade_action()),
        C::Acknowledge(a) => (a.signer, a.args.action()),
    };
    let action = action?;
    runtime()?.block_on(async {
        let client = connect_signer(&signer).await?;
        let network = network_id(&client, &signer.network).await?;
        let receipts = sign_and_submit(&client, &signer, &network, vec![action]).await?;
        report(&receipts, signer.output)
    })
}

/// blake3 digests of evidence files, read here: only the digests reach the
/// ledger, the files stay with their owner.
pub(crate) fn evidence_digests(files: &[PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).with_context(|| format!("reading evidence {}", f.display()))?;
            Ok(blake3::hash(&bytes).as_bytes().to_vec())
        })
        .collect()
}

/// A time given as RFC 3339 (`2026-01-31T00:00:00Z`) or a date
/// (`2026-01-31`, midnight UTC).
pub(crate) fn time_arg(field: &str, text: &str) -> anyhow::Result<prost_types::Timestamp> {
    let full = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.to_owned() };
    veritrace_epcis::parse_time(&full).map_err(|e| anyhow::anyhow!("--{field}: {e}"))
}

/// Money given as "AMOUNT CURRENCY" (e.g. "5000000 CNY").
pub(crate) fn money_arg(field: &str, text: &str) -> anyhow::Result<pb::Money> {
    let Some((amount, currency)) = text.trim().split_once(' ') else {
        bail!("--{field}: {text:?} is not \"AMOUNT CURRENCY\" (e.g. \"5000 CNY\")");
    };
    Ok(pb::Money { amount: amount.trim().to_owned(), currency: currency.trim().to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_money_parse_or_name_the_flag() {
        assert_eq!(time_arg("valid-from", "2026-01-31").expect("parses").seconds, 1_769_817_600);
        assert!(time_arg("valid-from", "2026-01-31T00:00:00Z").is_ok());
        let e = time_arg("valid-from", "31/01/2026").expect_err("refused").to_string();
        assert!(e.starts_with("--valid-from"), "{e}");
        assert_eq!(money_arg("amount", "5000 CNY").expect("parses").currency, "CNY");
        assert!(money_arg("amount", "5000").expect_err("refused").to_string().contains("--amount"));
    }
}
