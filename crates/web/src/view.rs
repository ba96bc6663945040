//! What the page says about an answer, in words anyone understands: the
//! verdict, its details and reasons, journey steps, dates and places.
//! Plain functions over the API's messages, so they are tested without a
//! browser.

use veritrace_core::scan as signals;
use veritrace_core::vocab;
use veritrace_proto::ms_from_timestamp;
use veritrace_proto::v1 as pb;

use crate::lang::{Lang, Texts};

/// How a verdict should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Genuine.
    Good,
    /// Genuine but worth a look, or a wrong code.
    Caution,
    /// Clone, recall, withdrawn, unknown.
    Bad,
    /// Nothing decided (busy, unavailable).
    Neutral,
}

/// A verdict as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictView {
    /// The verdict's machine name (`GENUINE_FIRST_SCAN`, ...), a
    /// `data-verdict` attribute for tests and scripts.
    pub code: &'static str,
    /// Colour and icon.
    pub tone: Tone,
    /// One line.
    pub headline: String,
    /// What it means.
    pub explanation: String,
    /// Further lines (scan history, tries left).
    pub details: Vec<String>,
    /// "Why:" in the page's language.
    pub why: String,
    /// Reasons, for a suspected clone.
    pub reasons: Vec<String>,
}

/// The page's view of a verification answer.
pub fn verdict(t: &Texts, lang: Lang, answer: &pb::VerifyItemResponse) -> VerdictView {
    let verdict = pb::Verdict::try_from(answer.verdict).unwrap_or(pb::Verdict::Unspecified);
    let (code, tone, (headline, explanation)) = match verdict {
        pb::Verdict::GenuineFirstScan => ("GENUINE_FIRST_SCAN", Tone::Good, t.genuine_first),
        pb::Verdict::GenuineSeenBefore => ("GENUINE_SEEN_BEFORE", Tone::Caution, t.genuine_seen),
        pb::Verdict::SuspectedClone => ("SUSPECTED_CLONE", Tone::Bad, t.suspected_clone),
        pb::Verdict::InvalidCode => ("INVALID_CODE", Tone::Caution, t.invalid_code),
        pb::Verdict::UnknownItem => ("UNKNOWN_ITEM", Tone::Bad, t.unknown_item),
        pb::Verdict::Recalled => ("RECALLED", Tone::Bad, t.recalled),
        pb::Verdict::Withdrawn => ("WITHDRAWN", Tone::Bad, t.withdrawn),
        pb::Verdict::Unspecified => ("UNSPECIFIED", Tone::Neutral, t.unavailable),
    };
    let mut details = Vec::new();
    if matches!(verdict, pb::Verdict::GenuineSeenBefore | pb::Verdict::SuspectedClone)
        && let Some(s) = &answer.scan_stats
    {
        let before = s.count.saturating_sub(1);
        details.push(
            t.seen_detail
                .replace("{n}", &before.to_string())
                .replace("{date}", &date_time(s.first_scan_time.as_ref(), lang))
                .replace("{place}", &place(s.first_scan_place.as_ref())),
        );
    }
    if verdict == pb::Verdict::InvalidCode {
        details.push(t.tries_left.replace("{n}", &answer.attempts_left.to_string()));
    }
    if verdict == pb::Verdict::Withdrawn && answer.withdrawal_reason == pb::DecommissionReason::IpInfringement as i32 {
        details.push(t.withdrawn_ip.to_owned());
    }
    // Weak signals (a report, many phones) come with a genuine verdict too:
    // the buyer sees them, and the verdict looks less certain.
    let shows_signals =
        matches!(verdict, pb::Verdict::SuspectedClone | pb::Verdict::GenuineSeenBefore | pb::Verdict::GenuineFirstScan);
    let reasons: Vec<String> =
        if shows_signals { answer.clone_signals.iter().map(|s| signal(t, s)).collect() } else { Vec::new() };
    let tone = if tone == Tone::Good && !reasons.is_empty() { Tone::Caution } else { tone };
    VerdictView {
        code,
        tone,
        headline: headline.to_owned(),
        explanation: explanation.to_owned(),
        details,
        why: t.why.to_owned(),
        reasons,
    }
}

/// A clone signal in words.
pub fn signal(t: &Texts, code: &str) -> String {
    match code {
        signals::MANY_PLACES => t.signal_many_places,
        signals::IMPOSSIBLE_TRAVEL => t.signal_impossible_travel,
        signals::SCANNED_BEFORE_RETAIL => t.signal_before_retail,
        signals::MANY_DEVICES => t.signal_many_devices,
        signals::REPORTED_COUNTERFEIT => t.signal_reported,
        other => other,
    }
    .to_owned()
}

/// A place as "City, CC" (or "?" when nothing is known).
pub fn place(p: Option<&pb::Place>) -> String {
    let Some(p) = p else { return "?".into() };
    match (p.city.is_empty(), p.country.is_empty()) {
        (false, false) => format!("{}, {}", p.city, p.country),
        (false, true) => p.city.clone(),
        (true, false) => p.country.clone(),
        (true, true) => "?".into(),
    }
}

/// A timestamp as `2026-12-07 18:42 UTC` (`2026年12月7日 18:42 UTC`).
pub fn date_time(t: Option<&prost_types::Timestamp>, lang: Lang) -> String {
    match civil(t) {
        None => "?".into(),
        Some((y, m, d, hh, mm)) => match lang {
            Lang::En => format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC"),
            Lang::Zh => format!("{y}年{m}月{d}日 {hh:02}:{mm:02} UTC"),
        },
    }
}

/// A timestamp's date only.
pub fn date(t: Option<&prost_types::Timestamp>, lang: Lang) -> String {
    match civil(t) {
        None => "?".into(),
        Some((y, m, d, _, _)) => match lang {
            Lang::En => format!("{y:04}-{m:02}-{d:02}"),
            Lang::Zh => format!("{y}年{m}月{d}日"),
        },
    }
}

fn civil(t: Option<&prost_types::Timestamp>) -> Option<(i32, u8, u8, u8, u8)> {
    let ms = ms_from_timestamp(t?);
    let at = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()?;
    Some((at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute()))
}

/// What happened at a journey step, in words.
pub fn step_title(s: &pb::JourneyStep, lang: Lang) -> String {
    let step = vocab::short_name(&s.biz_step);
    let words: Option<(&str, &str)> = match step {
        "commissioning" => Some(("Made and labelled", "生产并贴标")),
        "inspecting" => Some(("Inspected", "检验")),
        "packing" => Some(("Packed", "装箱")),
        "unpacking" => Some(("Unpacked", "拆箱")),
        "shipping" | "departing" => Some(("Shipped", "发货")),
        "receiving" | "arriving" | "accepting" => Some(("Received", "收货")),
        "storing" => Some(("Stored", "入库")),
        "retail_selling" => Some(("Sold in a shop", "零售售出")),
        "loading" => Some(("Loaded", "装载")),
        "transporting" => Some(("In transit", "运输中")),
        vocab::CUSTOMS_DECLARING => Some(("Declared to customs", "向海关申报")),
        vocab::CUSTOMS_CLEARING => Some(("Released by customs", "海关放行")),
        vocab::CUSTOMS_SEIZING => Some(("Seized by customs", "被海关扣押")),
        _ => None,
    };
    let fallback = match s.action.as_str() {
        "commission_items" => ("Made and labelled", "生产并贴标"),
        "decommission_items" => ("Taken out of circulation", "撤出流通"),
        "attestation" => ("Certified", "认证"),
        "recall" => ("Recalled", "召回"),
        "complaint" => ("Reported", "被举报"),
        _ => ("Recorded", "记录"),
    };
    let (en, zh) = words.unwrap_or(fallback);
    match lang {
        Lang::En => en.to_owned(),
        Lang::Zh => zh.to_owned(),
    }
}

/// Where a step happened: its place, else nothing (location ids are for
/// systems, not shoppers).
pub fn step_place(s: &pb::JourneyStep) -> String {
    match &s.place {
        Some(p) if !(p.city.is_empty() && p.country.is_empty()) => place(Some(p)),
        _ => String::new(),
    }
}

/// A certificate's scheme in words (`CE`, `ISO 22716`, ...).
pub fn scheme_name(c: &pb::CertificateRef) -> String {
    let scheme = pb::CertificationScheme::try_from(c.scheme)
        .map(|s| s.as_str_name().trim_start_matches("CERTIFICATION_SCHEME_").replace('_', " "))
        .unwrap_or_default();
    match (scheme.as_str(), c.scheme_detail.is_empty()) {
        ("OTHER" | "UNSPECIFIED" | "", false) => c.scheme_detail.clone(),
        (_, false) => format!("{scheme} {}", c.scheme_detail),
        (_, true) => scheme,
    }
}

/// Whether `uri` may be shown as a link: `https://` only (no `javascript:`
/// or `data:` from a ledger record).
pub fn is_web_link(uri: &str) -> bool {
    uri.len() <= 2000
        && uri.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        && !uri.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(ms: i64) -> Option<prost_types::Timestamp> {
        Some(veritrace_proto::timestamp_from_ms(ms))
    }

    #[test]
    fn seen_before_names_the_first_scan_and_clones_say_why() {
        let answer = pb::VerifyItemResponse {
            verdict: pb::Verdict::GenuineSeenBefore as i32,
            scan_stats: Some(pb::ScanStats {
                count: 3,
                first_scan_time: ts(1_765_000_000_000),
                first_scan_place: Some(pb::Place { city: "Lyon".into(), country: "FR".into(), ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = verdict(Lang::En.texts(), Lang::En, &answer);
        assert_eq!((v.code, v.tone), ("GENUINE_SEEN_BEFORE", Tone::Caution));
        assert_eq!(v.details, vec![
            "Checks of this code before yours: 2. The first was on 2025-12-06 05:46 UTC in Lyon, FR. If that was not you, the item may have been opened or sold before."
                .to_owned()
        ]);
        let zh = verdict(Lang::Zh.texts(), Lang::Zh, &answer);
        assert!(zh.details[0].contains("2025年12月6日 05:46 UTC") && zh.details[0].contains("Lyon, FR"), "{zh:?}");

        let clone = pb::VerifyItemResponse {
            verdict: pb::Verdict::SuspectedClone as i32,
            clone_signals: vec!["MANY_PLACES".into(), "SOMETHING_NEW".into()],
            ..answer
        };
        let v = verdict(Lang::En.texts(), Lang::En, &clone);
        assert_eq!(v.tone, Tone::Bad);
        assert_eq!(v.reasons, vec![EN_MANY_PLACES.to_owned(), "SOMETHING_NEW".to_owned()]);
    }

    const EN_MANY_PLACES: &str = "the code was checked in more places than one item can be";

    #[test]
    fn wrong_codes_tell_the_tries_left() {
        let answer =
            pb::VerifyItemResponse { verdict: pb::Verdict::InvalidCode as i32, attempts_left: 4, ..Default::default() };
        let v = verdict(Lang::En.texts(), Lang::En, &answer);
        assert_eq!((v.code, v.details.clone()), ("INVALID_CODE", vec!["Tries left for now: 4.".to_owned()]));
        assert_eq!(verdict(Lang::Zh.texts(), Lang::Zh, &answer).details, vec!["目前还可尝试 4 次。".to_owned()]);
    }

    #[test]
    fn an_item_withdrawn_by_an_ip_ruling_says_so() {
        let mut answer = pb::VerifyItemResponse {
            verdict: pb::Verdict::Withdrawn as i32,
            withdrawal_reason: pb::DecommissionReason::IpInfringement as i32,
            ..Default::default()
        };
        let v = verdict(Lang::En.texts(), Lang::En, &answer);
        assert_eq!(v.code, "WITHDRAWN");
        assert!(v.details.iter().any(|d| d.contains("trademark, patent or copyright")), "{v:?}");
        assert!(verdict(Lang::Zh.texts(), Lang::Zh, &answer).details[0].contains("侵犯"));
        answer.withdrawal_reason = pb::DecommissionReason::Damaged as i32;
        assert!(verdict(Lang::En.texts(), Lang::En, &answer).details.is_empty());
    }

    #[test]
    fn only_https_links_are_links() {
        assert!(is_web_link("https://brand.example/recall/7"));
        assert!(!is_web_link("javascript:alert(1)"));
        assert!(!is_web_link("data:text/html,x"));
        assert!(!is_web_link("http://brand.example"));
        assert!(!is_web_link("https://a b"));
    }
}
