//! Consumer scans: the ledger's count of correct-code verifications per
//! item, and the clone signals derived from them in log order.
//!
//! A scan with a request id is a consumer scan a node recorded for
//! VerifyItem: it spends its own guess of the item's budget (see
//! `attempts`), is recorded once per request id, and must state the
//! verdict the ledger derives at its position, so its receipt proves what
//! the consumer was shown. A scan without one is a party's own report
//! (e.g. a platform's app): attributed to its signer by the signature,
//! counted apart, and never raises clone signals, so a rival cannot make
//! a genuine item look cloned by reporting scans of it.

use veritrace_core::Reason;
use veritrace_core::scan::{self, ScanFix};
use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

use super::{Ctx, Rule, attempts, refuse, require, validate};
use crate::schema::CF_STATE;
use crate::state::keys;
use crate::state::records::{ItemRecord, ScanRecord};

/// Distinct places, countries and devices remembered per item.
const MAX_DISTINCT: usize = 16;

fn check_place(p: &pb::Place) -> Rule {
    if !p.country.is_empty() {
        validate::country("place.country", &p.country)?;
    }
    validate::text("place.city", &p.city, 200, false)?;
    for (field, v, limit) in [("place.latitude", p.latitude, 90.0), ("place.longitude", p.longitude, 180.0)] {
        if let Some(v) = v {
            require(scan::is_rounded_coordinate(v) && v.abs() <= limit, || {
                format!("{field}: {v} must be within ±{limit} and rounded to 2 decimals (privacy)")
            })?;
        }
    }
    require(p.latitude.is_some() == p.longitude.is_some(), || {
        "place: give both latitude and longitude, or neither".into()
    })
}

/// Checks a consumer-stated place as apply will (ISO country, city length,
/// coordinates rounded to 2 decimals, both or neither), so that a node
/// refuses a bad one before it compares any code.
pub fn check_consumer_place(p: &pb::Place) -> Result<(), String> {
    check_place(p).map_err(|f| match f {
        super::Fail::Refused(r) => r.message,
        super::Fail::Storage(e) => e.to_string(),
    })
}

pub(super) fn record<E: KvEngine>(ctx: &mut Ctx<'_, E>, a: &pb::ConsumerScan) -> Rule {
    let Some(item) = &a.item else { return refuse(Reason::InvalidAction, "item is required") };
    let (_, key) = validate::item_key("item", &item.gtin, &item.serial)?;
    let check: pb::CodeCheck = validate::enum_set("code_check", a.code_check)?;
    let stated: pb::Verdict = validate::enum_set("verdict", a.verdict)?;
    let place = a.place.clone().unwrap_or_default();
    check_place(&place)?;
    validate::text("channel", &a.channel, 100, false)?;
    validate::digest("scanner_digest", &a.scanner_digest, true)?;
    require(a.clone_signals.len() <= 8, || "clone_signals: at most 8".into())?;
    if !a.request_id.is_empty() {
        attempts::check_request_id("request_id", &a.request_id)?;
    }
    let record_key = keys::item(&key);
    let Some(mut rec) = ctx.view.record::<ItemRecord>(CF_STATE, &record_key, "item")? else {
        return refuse(
            Reason::ItemNotCommissioned,
            format!("item {}/{} was never commissioned", item.gtin, item.serial),
        );
    };
    if a.request_id.is_empty() {
        // A party's own report: its signature attributes it; counted apart.
        let mut stats = rec.scans.take().unwrap_or_default();
        stats.party_reported += 1;
        rec.scans = Some(stats);
    } else {
        require(check == pb::CodeCheck::Matched, || {
            "code_check: a consumer scan records a matched code (wrong codes are counted by code_attempt)".into()
        })?;
        // The scan spends its own guess, at its own position: it cannot
        // ride on another request's guess, and is refused with it.
        attempts::count(ctx, &mut rec, &a.request_id, &a.label_token, Some(ctx.leaf))?;
        count_consumer_match(&mut rec, &place, &a.scanner_digest, ctx.time_ms, ctx.leaf);
        let inputs = crate::query::verdict_inputs(&ctx.view, &rec, true, ctx.time_ms)?;
        let derived = scan::verdict(&inputs);
        if derived != stated || a.clone_signals != crate::query::recorded_signals(&inputs.clone_signals) {
            return refuse(
                Reason::VerdictMismatch,
                format!("verdict {} and signals {:?} are not the ledger's here", stated.as_str_name(), a.clone_signals),
            );
        }
    }
    ctx.view.put_record(CF_STATE, record_key, &rec);
    ctx.index_object(&key, "");
    Ok(())
}

/// Counts a consumer scan with a matching code on `item` at `now` (leaf
/// `leaf`) and raises the clone signals it implies.
pub(crate) fn count_consumer_match(item: &mut ItemRecord, place: &pb::Place, device: &[u8], now: i64, leaf: u64) {
    let mut stats = item.scans.take().unwrap_or_default();
    count_match(&mut stats, item, place, device, now, leaf);
    item.scans = Some(stats);
}

fn push_distinct<T: PartialEq>(list: &mut Vec<T>, v: T) {
    if !list.contains(&v) && list.len() < MAX_DISTINCT {
        list.push(v);
    }
}

fn raise(stats: &mut ScanRecord, signal: &str) {
    if !stats.signals.iter().any(|s| s == signal) {
        stats.signals.push(signal.to_owned());
    }
}

/// Counts a correct-code scan and raises the clone signals it implies.
fn count_match(stats: &mut ScanRecord, item: &ItemRecord, place: &pb::Place, device: &[u8], now: i64, leaf: u64) {
    stats.count += 1;
    if stats.count == 1 {
        stats.first_ms = now;
        stats.first_place = Some(place.clone());
    } else {
        stats.previous_ms = stats.last_ms;
        stats.previous_place = stats.last_place.take();
    }
    stats.last_ms = now;
    stats.last_place = Some(place.clone());
    stats.last_leaf = leaf;
    if !place.country.is_empty() {
        push_distinct(&mut stats.countries, place.country.clone());
    }
    if let Some(k) = scan::place_key(place) {
        push_distinct(&mut stats.places, k);
    }
    if !device.is_empty() {
        push_distinct(&mut stats.devices, device.to_vec());
    }
    if stats.places.len() > scan::MAX_PLAUSIBLE_PLACES {
        raise(stats, scan::MANY_PLACES);
    }
    if stats.devices.len() > scan::MANY_DEVICES_THRESHOLD {
        raise(stats, scan::MANY_DEVICES);
    }
    if let (Some(lat), Some(lon)) = (place.latitude, place.longitude) {
        let here = ScanFix { time_ms: now, latitude: lat, longitude: lon };
        if let (Some(plat), Some(plon)) = (stats.fix_lat, stats.fix_lon) {
            let before = ScanFix { time_ms: stats.fix_ms, latitude: plat, longitude: plon };
            if scan::impossible_travel(&before, &here) {
                raise(stats, scan::IMPOSSIBLE_TRAVEL);
            }
        }
        stats.fix_ms = now;
        stats.fix_lat = Some(lat);
        stats.fix_lon = Some(lon);
    }
    let state = item.state.clone().unwrap_or_default();
    if !state.reached_retail || state.in_customs {
        raise(stats, scan::SCANNED_BEFORE_RETAIL);
    }
    if item.reported_counterfeit {
        raise(stats, scan::REPORTED_COUNTERFEIT);
    }
}
