//! Read and verify commands: `verify` (the consumer check, with the
//! receipt checked offline), `history`, `party show|list`.

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use veritrace_client::render::{OutputFormat, render_message};
use veritrace_core::receipt::verify_receipt;
use veritrace_proto::ms_from_timestamp;
use veritrace_proto::v1 as pb;

use crate::cluster_cmd::{EndpointArgs, runtime};

/// Arguments of `veritrace verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    target: EndpointArgs,
    /// The item: SGTIN EPC URI or GS1 Digital Link (as in the QR code,
    /// whose `?t=` parameter is the label token).
    #[arg(long)]
    item: String,
    /// The label token (32 hex digits), when --item does not carry it.
    #[arg(long)]
    token: Option<String>,
    /// This verification's id (16 to 64 printable characters, e.g. a
    /// UUID): repeating the command with the same id records no second
    /// scan and answers as the first time.
    #[arg(long)]
    request_id: Option<String>,
    /// The code under the scratch label.
    #[arg(long)]
    code: String,
    /// Country of the scan (ISO 3166-1 alpha-2).
    #[arg(long, default_value = "")]
    country: String,
    /// City of the scan.
    #[arg(long, default_value = "")]
    city: String,
    /// Latitude (rounded to 2 decimals before it is recorded).
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    lat: Option<f64>,
    /// Longitude.
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    lon: Option<f64>,
    /// Channel the scan came through.
    #[arg(long, default_value = "cli")]
    channel: String,
}

/// `veritrace party ...`.
#[derive(Debug, Subcommand)]
pub enum PartyCommand {
    /// A party's profile: roles, time on the network, attestations, suspensions.
    Show {
        #[command(flatten)]
        target: EndpointArgs,
        /// Party id.
        party_id: String,
    },
    /// Lists the parties.
    List {
        #[command(flatten)]
        target: EndpointArgs,
        /// Only parties with this role (e.g. BRAND_OWNER).
        #[arg(long)]
        role: Option<String>,
        /// Include suspended parties.
        #[arg(long)]
        include_suspended: bool,
    },
}

fn name<T: TryFrom<i32>>(v: i32, f: impl Fn(&T) -> &'static str) -> String {
    T::try_from(v).map(|t| f(&t)).unwrap_or("?").to_owned()
}

fn time(t: Option<&prost_types::Timestamp>) -> String {
    let ms = t.map_or(0, ms_from_timestamp);
    if ms == 0 {
        return "-".into();
    }
    let secs = ms / 1000;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn place(p: Option<&pb::Place>) -> String {
    let Some(p) = p else { return "-".into() };
    let mut parts: Vec<String> =
        [&p.city, &p.country].iter().filter(|s| !s.is_empty()).map(|s| s.to_string()).collect();
    if let (Some(la), Some(lo)) = (p.latitude, p.longitude) {
        parts.push(format!("({la:.2}, {lo:.2})"));
    }
    if parts.is_empty() { "-".into() } else { parts.join(", ") }
}

fn print_journey(steps: &[pb::JourneyStep]) {
    println!("journey:");
    for s in steps {
        let who = s.party.as_ref().map_or("?".to_owned(), |p| format!("{} ({})", p.display_name, p.party_id));
        let what = if s.biz_step.is_empty() { s.action.clone() } else { s.biz_step.clone() };
        let mut line = format!("  {}  {what:<40} {who}", time(s.event_time.as_ref()));
        if !s.container_id.is_empty() {
            line.push_str(&format!("  in {}", s.container_id));
        }
        if s.retracted {
            line.push_str("  [RETRACTED]");
        }
        for t in &s.tracking_numbers {
            line.push_str(&format!(
                "  tracking {} ({})",
                t.biz_transaction,
                if t.confirmed { "confirmed by carrier" } else { "NOT confirmed by any carrier" }
            ));
        }
        for c in &s.certificates {
            line.push_str(&format!(
                "  cert {} {}",
                c.certificate_number,
                name(c.validity_at_step, pb::AttestationValidity::as_str_name)
            ));
        }
        println!("{line}");
    }
}

/// A verification whose verdict is not genuine: `veritrace verify` prints
/// the answer, then exits with `10 +` the verdict's number in
/// `veritrace.v1.Verdict`, so a script can tell a clone from a recall
/// without parsing: 13 SUSPECTED_CLONE, 14 INVALID_CODE, 15 UNKNOWN_ITEM,
/// 16 RECALLED, 17 WITHDRAWN (10 for an unspecified verdict).
#[derive(Debug, thiserror::Error)]
#[error("the verdict is {verdict}, not genuine")]
pub struct NotGenuine {
    /// The verdict's name (`VERDICT_RECALLED`).
    pub verdict: String,
    /// Its number in `veritrace.v1.Verdict`.
    pub number: i32,
}

impl NotGenuine {
    /// The process exit code: 10 + the verdict's number.
    pub fn exit_code(&self) -> u8 {
        u8::try_from(self.number).ok().and_then(|n| n.checked_add(10)).unwrap_or(10)
    }
}

/// `veritrace verify`.
pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let request = pb::VerifyItemRequest {
        item: Some(pb::verify_item_request::Item::ItemUri(args.item.clone())),
        code: args.code.clone(),
        place: Some(pb::Place {
            country: args.country.clone(),
            city: args.city.clone(),
            latitude: args.lat,
            longitude: args.lon,
            accuracy_meters: 0,
        }),
        channel: args.channel.clone(),
        label_token: args.token.clone().unwrap_or_default(),
        request_id: args.request_id.clone().unwrap_or_default(),
        scanner_digest: Vec::new(),
    };
    let (answer, validators) = runtime()?.block_on(async {
        let client = crate::cluster_cmd::connect(&args.target).await?;
        let answer = client.verify_item(request).await?;
        // The validator set the co-signatures are checked against: the
        // parties' listed validators, as this node reports them.
        let parties = client.list_parties(pb::ListPartiesRequest { page_size: 1000, ..Default::default() }).await?;
        anyhow::Ok((answer, veritrace_core::cosign::ValidatorSet::from_parties(&parties.parties)))
    })?;
    let mut not_cosigned = None;
    let offline = match (&answer.receipt, &answer.scan_envelope) {
        (Some(r), Some(env)) => {
            let bytes = prost::Message::encode_to_vec(env);
            let v = verify_receipt(r, &bytes).context("the receipt does not check out")?;
            let head = r.tree_head.as_ref().context("the receipt has no tree head")?;
            let cosigned = match veritrace_core::cosign::verify_cosigned(head, &validators) {
                Ok(parties) => format!(
                    "co-signed by {} of {} validators (quorum {})",
                    parties.join(", "),
                    validators.validators.len(),
                    validators.quorum
                ),
                Err(e) => {
                    not_cosigned = Some(e.to_string());
                    format!("NOT co-signed by a quorum of validators: {e}")
                }
            };
            Some(format!(
                "receipt verified offline: leaf {} in tree of size {} signed by {}, {cosigned}",
                v.leaf.leaf_index,
                v.tree_head.head.tree_size,
                hex::encode(v.tree_head.signer.to_bytes())
            ))
        }
        _ => None,
    };
    if args.target.output == OutputFormat::Json {
        print!("{}", render_message("veritrace.v1.VerifyItemResponse", &answer)?);
        return verdict_outcome(&answer, not_cosigned);
    }
    println!("verdict: {}", name(answer.verdict, pb::Verdict::as_str_name));
    if let Some(p) = &answer.product {
        let brand = p.brand.as_ref().map(|b| b.display_name.as_str()).unwrap_or("?");
        println!("product: {} ({}), brand {brand}, origin {}", p.name, p.gtin, p.origin_country);
    }
    if let Some(s) = &answer.scan_stats {
        println!(
            "scans: {} with the right code (first {} in {}), {} wrong codes, {} countries",
            s.count,
            time(s.first_scan_time.as_ref()),
            place(s.first_scan_place.as_ref()),
            s.invalid_code_count,
            s.distinct_countries
        );
    }
    if !answer.clone_signals.is_empty() {
        println!("clone signals: {}", answer.clone_signals.join(", "));
    }
    for r in &answer.recalls {
        let recall = r.recall.clone().unwrap_or_default();
        println!("RECALL {}: {} ({})", recall.recall_id, recall.reason, recall.consumer_instructions);
    }
    for c in &answer.certificates {
        println!(
            "certificate: {} {} by {} ({})",
            name(c.scheme, pb::CertificationScheme::as_str_name),
            c.certificate_number,
            c.attested_by.as_ref().map(|p| p.display_name.as_str()).unwrap_or("?"),
            name(c.validity, pb::AttestationValidity::as_str_name)
        );
    }
    if !answer.journey.is_empty() {
        print_journey(&answer.journey);
    }
    if let Some(o) = offline {
        println!("{o}");
    }
    verdict_outcome(&answer, not_cosigned)
}

/// How `verify` ends: exit 3 when the receipt's head is not co-signed,
/// else [`NotGenuine`] for a verdict other than the two genuine ones.
fn verdict_outcome(answer: &pb::VerifyItemResponse, not_cosigned: Option<String>) -> anyhow::Result<()> {
    // The validator set came from the node's own party list: a check a
    // lying node could pass, but one an honest node never fails.
    if let Some(e) = not_cosigned {
        return Err(crate::admin_cmd::CheckFailed(format!("the receipt's tree head is not co-signed: {e}")).into());
    }
    match answer.verdict() {
        pb::Verdict::GenuineFirstScan | pb::Verdict::GenuineSeenBefore => Ok(()),
        other => Err(NotGenuine { verdict: other.as_str_name().to_owned(), number: answer.verdict }.into()),
    }
}

/// How `veritrace history` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    /// The journey, aligned for people.
    Table,
    /// `GetItemHistoryResponse` as JSON.
    Json,
    /// The recorded EPCIS events of the journey as an `EPCISQueryDocument`
    /// (JSON-LD), each with its eventID (the CBV event hash id when it was
    /// recorded without one): a party call (--as-party, --party-key).
    Epcis,
}

/// Arguments of `veritrace history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// gRPC endpoint of a node, e.g. http://127.0.0.1:7401 (https:// with --cacert).
    #[arg(long, env = "VERITRACE_ENDPOINT", default_value = "http://127.0.0.1:7401")]
    endpoint: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: HistoryFormat,
    #[command(flatten)]
    connect: crate::cluster_cmd::ConnectArgs,
    /// The item: SGTIN EPC URI or GS1 Digital Link.
    #[arg(long)]
    item: String,
}

/// `veritrace history`.
pub fn history(args: HistoryArgs) -> anyhow::Result<()> {
    let target = EndpointArgs { endpoint: args.endpoint, output: OutputFormat::Table, connect: args.connect };
    let item = args.item;
    let rt = runtime()?;
    let client = rt.block_on(crate::cluster_cmd::connect(&target))?;
    let h = rt.block_on(client.item_history(&item))?;
    if args.output == HistoryFormat::Epcis {
        if target.connect.as_party.is_none() {
            bail!("-o epcis reads the recorded envelopes, a party call: give --as-party and --party-key");
        }
        let events = rt.block_on(recorded_events(&client, &h.steps))?;
        let query = veritrace_epcis::QueryResults { query_name: "SimpleEventQuery".into(), subscription_id: None };
        let now = veritrace_proto::timestamp_from_ms(veritrace_service::now_ms());
        let doc = veritrace_epcis::query_document_to_json(&events, &query, &now);
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    if args.output == HistoryFormat::Json {
        print!("{}", render_message("veritrace.v1.GetItemHistoryResponse", &h)?);
        return Ok(());
    }
    println!("state: {}", name(h.state, pb::ItemState::as_str_name));
    if let Some(p) = &h.product {
        println!("product: {} ({})", p.name, p.gtin);
    }
    print_journey(&h.steps);
    Ok(())
}

/// The EPCIS events the journey's steps were recorded by, in journey
/// order, each once, with its eventID (its hash id if it had none).
async fn recorded_events(
    client: &veritrace_client::Client,
    steps: &[pb::JourneyStep],
) -> anyhow::Result<Vec<pb::EpcisEvent>> {
    let mut seen = std::collections::HashSet::new();
    let mut events = Vec::new();
    for step in steps {
        let Ok(id) = <[u8; 32]>::try_from(step.envelope_id.as_slice()) else { continue };
        if !seen.insert(id) {
            continue;
        }
        let Some(entry) = client.get_envelope(id).await? else { continue };
        let Some(envelope) = entry.envelope else { continue };
        let tx = veritrace_core::Envelope::from_proto(envelope)
            .and_then(|e| e.transaction())
            .with_context(|| format!("envelope {}", hex::encode(id)))?;
        if let Some(pb::transaction::Action::EpcisEvent(mut event)) = tx.action {
            veritrace_epcis_rest::hash::with_event_id(&mut event)?;
            events.push(event);
        }
    }
    Ok(events)
}

/// `veritrace party ...`.
pub fn party(cmd: PartyCommand) -> anyhow::Result<()> {
    match cmd {
        PartyCommand::Show { target, party_id } => {
            let p = runtime()?.block_on(async {
                let client = crate::cluster_cmd::connect(&target).await?;
                anyhow::Ok(client.party_profile(&party_id).await?)
            })?;
            match target.output {
                OutputFormat::Json => print!("{}", render_message("veritrace.v1.GetPartyProfileResponse", &p)?),
                OutputFormat::Table => print!("{}", profile_table(&p)),
            }
            Ok(())
        }
        PartyCommand::List { target, role, include_suspended } => {
            let role = match role {
                None => pb::PartyRole::Unspecified,
                Some(r) => {
                    let full = if r.starts_with("PARTY_ROLE_") {
                        r.clone()
                    } else {
                        format!("PARTY_ROLE_{}", r.to_uppercase())
                    };
                    match pb::PartyRole::from_str_name(&full) {
                        Some(x) => x,
                        None => bail!("--role {r:?} is not a role (e.g. BRAND_OWNER, INSPECTION, ADMIN)"),
                    }
                }
            };
            let list = runtime()?.block_on(async {
                let client = crate::cluster_cmd::connect(&target).await?;
                let req = pb::ListPartiesRequest {
                    role: role as i32,
                    include_suspended,
                    page_size: 1000,
                    page_token: String::new(),
                };
                anyhow::Ok(client.list_parties(req).await?)
            })?;
            if target.output == OutputFormat::Json {
                print!("{}", render_message("veritrace.v1.ListPartiesResponse", &list)?);
                return Ok(());
            }
            for p in &list.parties {
                let roles: Vec<String> =
                    p.roles.iter().map(|r| name(*r, pb::PartyRole::as_str_name).replace("PARTY_ROLE_", "")).collect();
                println!(
                    "{:<20} {:<30} {} {}  {}",
                    p.party_id,
                    p.display_name,
                    p.country,
                    name(p.status, pb::PartyStatus::as_str_name).replace("PARTY_STATUS_", ""),
                    roles.join(",")
                );
            }
            Ok(())
        }
    }
}

/// A party's profile for people: who, since when, attestations, suspensions.
fn profile_table(p: &pb::GetPartyProfileResponse) -> String {
    let party = p.party.clone().unwrap_or_default();
    let roles: Vec<String> =
        party.roles.iter().map(|r| name(*r, pb::PartyRole::as_str_name).replace("PARTY_ROLE_", "")).collect();
    let mut out = format!(
        "party:      {} ({})\ncountry:    {}\nstatus:     {}\nroles:      {}\njoined:     {}\nvalidator:  {}\n",
        party.party_id,
        party.display_name,
        party.country,
        name(party.status, pb::PartyStatus::as_str_name).replace("PARTY_STATUS_", ""),
        roles.join(", "),
        time(p.joined_at.as_ref()),
        if p.validator_operator { "yes (operates a validator node)" } else { "no" },
    );
    if p.attestations.is_empty() {
        out.push_str("attestations: none\n");
    } else {
        out.push_str("attestations:\n");
        for c in &p.attestations {
            out.push_str(&format!(
                "  {} {} by {}, {} (valid {} to {})\n",
                name(c.scheme, pb::CertificationScheme::as_str_name),
                c.certificate_number,
                c.attested_by.as_ref().map_or("?", |b| b.party_id.as_str()),
                name(c.validity, pb::AttestationValidity::as_str_name),
                time(c.valid_from.as_ref()),
                time(c.valid_until.as_ref()),
            ));
        }
    }
    if p.suspensions.is_empty() {
        out.push_str("suspensions: none\n");
    } else {
        out.push_str("suspensions:\n");
        for s in &p.suspensions {
            let reinstated = match s.reinstated_at {
                Some(ref t) => format!(", reinstated {} ({})", time(Some(t)), s.reinstate_reason),
                None => String::new(),
            };
            out.push_str(&format!("  {} {}{reinstated}\n", time(s.suspended_at.as_ref()), s.reason));
        }
    }
    out
}
