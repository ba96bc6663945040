//! Signs and submits an EPCIS ObjectEvent observing an item as a party, checks the receipt
//! offline, then (if a code is given) verifies the item as a consumer app would.
//!
//! ```text
//! cargo run -p veritrace-sdk --example submit_and_verify -- \
//!     [ENDPOINT] [PARTY] [KEY_FILE] [ITEM_EPC_URI] [CODE]
//! ```
//!
//! Missing arguments are read from VERITRACE_ENDPOINT (default http://127.0.0.1:7401),
//! VERITRACE_PARTY, VERITRACE_PARTY_KEY, VERITRACE_ITEM and VERITRACE_CODE (optional). The item
//! is an SGTIN EPC URI (urn:epc:id:sgtin:...) the party may observe.

use std::process::ExitCode;

use veritrace_sdk::{Action, PartySigner, SdkError, Veritrace, proto, timestamp_from_ms};

fn arg_or_env(args: &[String], index: usize, var: &str) -> Option<String> {
    args.get(index).cloned().or_else(|| std::env::var(var).ok()).filter(|v| !v.is_empty())
}

/// An EPCIS 2.0 ObjectEvent with action OBSERVE on `epc`, now, without a bizStep.
fn observe(epc: &str) -> Action {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    Action::EpcisEvent(proto::EpcisEvent {
        event_time: Some(timestamp_from_ms(now_ms)),
        event_time_zone_offset: "+00:00".into(),
        event: Some(proto::epcis_event::Event::ObjectEvent(proto::ObjectEvent {
            action: proto::EpcisAction::Observe as i32,
            epc_list: vec![epc.to_owned()],
            ..Default::default()
        })),
        ..Default::default()
    })
}

async fn run(args: &[String]) -> Result<(), SdkError> {
    let endpoint = arg_or_env(args, 1, "VERITRACE_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:7401".into());
    let (Some(party), Some(key_file), Some(item)) = (
        arg_or_env(args, 2, "VERITRACE_PARTY"),
        arg_or_env(args, 3, "VERITRACE_PARTY_KEY"),
        arg_or_env(args, 4, "VERITRACE_ITEM"),
    ) else {
        eprintln!(
            "usage: submit_and_verify [ENDPOINT] PARTY KEY_FILE ITEM_EPC_URI [CODE] (or the VERITRACE_* variables)"
        );
        return Ok(());
    };
    let code = arg_or_env(args, 5, "VERITRACE_CODE");

    let node = Veritrace::connect(&endpoint).await?;
    println!("connected to {} (network {})", node.client().endpoint(), node.network_id());
    let signer = PartySigner::from_key_file(party, &key_file, node.network_id())?;

    let done = node.submit(&signer, observe(&item)).await?;
    println!(
        "envelope {} {} at leaf {}; receipt checked offline under tree size {} signed by {}",
        done.envelope_id(),
        if done.is_duplicate() { "was already recorded" } else { "recorded" },
        done.leaf_index(),
        done.tree_head().head.tree_size,
        done.tree_head().signer,
    );

    if let Some(code) = code {
        let answer = node.verify_item(&item, &code, None).await?;
        println!("verdict: {}", answer.verdict().as_str_name());
        match &answer.scan {
            Some(scan) => println!("scan receipt checked offline: leaf {}", scan.leaf.leaf_index),
            None => println!("no scan recorded"),
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(reason) = e.reason() {
                eprintln!("reason: {reason}");
            }
            ExitCode::FAILURE
        }
    }
}
