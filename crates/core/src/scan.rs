//! Consumer scans: clone signals, wrong-code lock-out and the verdict.
//!
//! These rules run inside the ledger's deterministic apply (clone signals
//! and lock-out are derived from committed scans in log order) and at the
//! verification edge (the verdict). So they use only integer and basic
//! IEEE-754 arithmetic (`+ - * /` and `sqrt`, which are correctly rounded
//! on every platform), never `sin`/`cos`/`atan2` from the platform's libm,
//! whose last bits may differ between machines.

use veritrace_proto::v1 as pb;

/// Clone signal: the code was scanned in more distinct places than
/// [`MAX_PLAUSIBLE_PLACES`].
pub const MANY_PLACES: &str = "MANY_PLACES";
/// Clone signal: two consecutive scans too far apart for the time between
/// them (faster than [`MAX_TRAVEL_KMH`]).
pub const IMPOSSIBLE_TRAVEL: &str = "IMPOSSIBLE_TRAVEL";
/// Clone signal: scanned by a consumer before the item reached retail
/// (still with the brand, a wholesaler, a carrier, or in customs).
pub const SCANNED_BEFORE_RETAIL: &str = "SCANNED_BEFORE_RETAIL";
/// Weak signal: scanned from more than [`MANY_DEVICES_THRESHOLD`] devices.
pub const MANY_DEVICES: &str = "MANY_DEVICES";
/// Weak signal: a complaint reported the item as counterfeit.
pub const REPORTED_COUNTERFEIT: &str = "REPORTED_COUNTERFEIT";

/// Distinct scan places a genuine item plausibly sees (bought in one city,
/// scanned again at home in another); a third distinct place is a clone
/// signal. The seed systems' story: one label copied onto fakes sold in
/// three cities.
pub const MAX_PLAUSIBLE_PLACES: usize = 2;
/// Faster than an airliner between two scans is not one item travelling.
pub const MAX_TRAVEL_KMH: f64 = 1000.0;
/// Distances below this are within positioning error, never "travel".
pub const MIN_TRAVEL_KM: f64 = 50.0;
/// Distinct scanner devices above which a weak signal is raised.
pub const MANY_DEVICES_THRESHOLD: usize = 5;
/// Code attempts per item that have not matched (wrong codes, and ones
/// still being checked) within [`LOCKOUT_WINDOW_MS`] after which the item
/// takes no further guess until the oldest leaves the window.
pub const LOCKOUT_FAILURES: usize = 5;
/// The guess-budget window: 15 minutes. Five wrong guesses per 15 minutes
/// make walking the 10^6 six-digit codes take about 5.7 years.
pub const LOCKOUT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Code attempts per item in all (matched or not) within
/// [`LOCKOUT_WINDOW_MS`]: bounds the scans one label's holder can record.
pub const MAX_ATTEMPTS_PER_WINDOW: usize = 20;

/// An item's guess budget at some time, from the commit times of its
/// code attempts and whether each matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessBudget {
    /// Attempts that may still be spent now (0: none until `open_at_ms`).
    pub left: u32,
    /// When the budget is spent: when the next attempt is possible (unix ms).
    pub open_at_ms: Option<i64>,
}

impl GuessBudget {
    /// The budget at `now_ms` given `attempts` as (commit time, matched).
    /// Attempts older than the window do not count.
    pub fn at(attempts: impl IntoIterator<Item = (i64, bool)>, now_ms: i64) -> GuessBudget {
        let (mut unmatched, mut all) = (Vec::new(), Vec::new());
        for (t, matched) in attempts {
            if now_ms - t < LOCKOUT_WINDOW_MS {
                all.push(t);
                if !matched {
                    unmatched.push(t);
                }
            }
        }
        // Open again when the oldest attempt of the newest `limit` leaves the window.
        let reopen = |mut times: Vec<i64>, limit: usize| -> (u32, Option<i64>) {
            if times.len() < limit {
                return ((limit - times.len()) as u32, None);
            }
            times.sort_unstable();
            (0, Some(times[times.len() - limit] + LOCKOUT_WINDOW_MS))
        };
        let (left_unmatched, open_unmatched) = reopen(unmatched, LOCKOUT_FAILURES);
        let (left_all, open_all) = reopen(all, MAX_ATTEMPTS_PER_WINDOW);
        GuessBudget { left: left_unmatched.min(left_all), open_at_ms: open_unmatched.max(open_all) }
    }
}

/// Whether a signal alone makes the verdict SUSPECTED_CLONE.
pub fn is_strong_signal(signal: &str) -> bool {
    matches!(signal, MANY_PLACES | IMPOSSIBLE_TRAVEL | SCANNED_BEFORE_RETAIL)
}

/// A key that names a place for counting distinct places: `CC/city`
/// (lower-cased, trimmed) when a city is given, else the position rounded
/// to a 0.5° grid (about 50 km), else `None` (a country alone is too coarse
/// to tell places apart).
pub fn place_key(place: &pb::Place) -> Option<String> {
    let city = place.city.trim().to_lowercase();
    if !city.is_empty() {
        return Some(format!("{}/{}", place.country.trim().to_uppercase(), city));
    }
    match (place.latitude, place.longitude) {
        (Some(lat), Some(lon)) if lat.is_finite() && lon.is_finite() => {
            Some(format!("@{},{}", (lat * 2.0).round() as i64, (lon * 2.0).round() as i64))
        }
        _ => None,
    }
}

/// Rounds a coordinate to 2 decimals (about 1 km), as recorded scans must be.
pub fn round_coordinate(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Whether `x` is already rounded to 2 decimals (within float noise).
pub fn is_rounded_coordinate(x: f64) -> bool {
    x.is_finite() && (x - round_coordinate(x)).abs() < 1e-9
}

/// cos(x) for |x| <= pi/2 by a Taylor polynomial (error < 1e-6, deterministic).
fn cos_poly(x: f64) -> f64 {
    let x2 = x * x;
    1.0 - x2 / 2.0 + x2 * x2 / 24.0 - x2 * x2 * x2 / 720.0 + x2 * x2 * x2 * x2 / 40320.0
}

/// Great-circle distance in km by the equirectangular approximation (good
/// to a few percent up to thousands of km; plenty for a plausibility
/// check), with deterministic arithmetic only.
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let to_rad = std::f64::consts::PI / 180.0;
    let mean_lat = ((lat1 + lat2) / 2.0).clamp(-90.0, 90.0) * to_rad;
    let mut dlon = (lon2 - lon1).abs();
    if dlon > 180.0 {
        dlon = 360.0 - dlon;
    }
    let x = dlon * to_rad * cos_poly(mean_lat);
    let y = (lat2 - lat1) * to_rad;
    (x * x + y * y).sqrt() * EARTH_RADIUS_KM
}

/// A scan's time and position, for the travel check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanFix {
    /// Commit time, unix ms.
    pub time_ms: i64,
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
}

/// Whether going from `a` to `b` needs more than [`MAX_TRAVEL_KMH`].
pub fn impossible_travel(a: &ScanFix, b: &ScanFix) -> bool {
    let km = distance_km(a.latitude, a.longitude, b.latitude, b.longitude);
    if km < MIN_TRAVEL_KM {
        return false;
    }
    let hours = (b.time_ms - a.time_ms).unsigned_abs() as f64 / 3_600_000.0;
    // A minute's grace so two near-simultaneous scans of one item on either
    // side of a city boundary do not divide by ~0.
    km / hours.max(1.0 / 60.0) > MAX_TRAVEL_KMH
}

/// What is known about an item when deciding a verdict.
#[derive(Debug, Clone, Default)]
pub struct VerdictInputs {
    /// The item was commissioned.
    pub known: bool,
    /// The presented code matched the item's digest.
    pub code_matched: bool,
    /// The item was decommissioned (destroyed, withdrawn, stolen, ...).
    pub withdrawn: bool,
    /// A recall is in force on the item.
    pub recalled: bool,
    /// Clone signals raised for the item (see the constants).
    pub clone_signals: Vec<String>,
    /// Correct-code scans recorded, this one included.
    pub scan_count: u64,
}

/// The verdict, by the precedence of `veritrace.v1.Verdict`: UNKNOWN_ITEM,
/// INVALID_CODE, WITHDRAWN, RECALLED, SUSPECTED_CLONE, then
/// GENUINE_SEEN_BEFORE / GENUINE_FIRST_SCAN.
pub fn verdict(inputs: &VerdictInputs) -> pb::Verdict {
    if !inputs.known {
        pb::Verdict::UnknownItem
    } else if !inputs.code_matched {
        pb::Verdict::InvalidCode
    } else if inputs.withdrawn {
        pb::Verdict::Withdrawn
    } else if inputs.recalled {
        pb::Verdict::Recalled
    } else if inputs.clone_signals.iter().any(|s| is_strong_signal(s)) {
        pb::Verdict::SuspectedClone
    } else if inputs.scan_count > 1 {
        pb::Verdict::GenuineSeenBefore
    } else {
        pb::Verdict::GenuineFirstScan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_close_to_the_great_circle() {
        // Paris - Berlin is about 878 km; Shanghai - Beijing about 1068 km.
        let pb = distance_km(48.86, 2.35, 52.52, 13.40);
        assert!((pb - 878.0).abs() < 30.0, "{pb}");
        let sb = distance_km(31.23, 121.47, 39.90, 116.40);
        assert!((sb - 1068.0).abs() < 40.0, "{sb}");
        assert!(distance_km(10.0, 179.5, 10.0, -179.5) < 120.0, "antimeridian");
    }

    #[test]
    fn travel_speed_decides() {
        let paris = ScanFix { time_ms: 0, latitude: 48.86, longitude: 2.35 };
        let berlin_1h = ScanFix { time_ms: 3_600_000, latitude: 52.52, longitude: 13.40 };
        let berlin_2h = ScanFix { time_ms: 7_200_000, ..berlin_1h };
        assert!(!impossible_travel(&paris, &berlin_1h), "878 km in 1 h is a plane");
        let berlin_10min = ScanFix { time_ms: 600_000, ..berlin_1h };
        assert!(impossible_travel(&paris, &berlin_10min));
        assert!(!impossible_travel(&paris, &berlin_2h));
        let near = ScanFix { time_ms: 1, latitude: 48.90, longitude: 2.40 };
        assert!(!impossible_travel(&paris, &near), "within positioning error");
    }

    #[test]
    fn places_are_keyed_by_city_then_grid() {
        let p = |country: &str, city: &str, lat: Option<f64>| pb::Place {
            country: country.into(),
            city: city.into(),
            latitude: lat,
            longitude: lat,
            ..Default::default()
        };
        assert_eq!(place_key(&p("de", " Hamburg ", None)), Some("DE/hamburg".into()));
        assert_eq!(place_key(&p("DE", "hamburg", Some(1.0))), place_key(&p("DE", "HAMBURG", None)));
        assert_eq!(place_key(&p("DE", "", Some(53.55))), Some("@107,107".into()));
        assert_eq!(place_key(&p("DE", "", None)), None);
        assert_eq!(place_key(&p("DE", "", Some(f64::NAN))), None);
    }

    #[test]
    fn five_wrong_or_twenty_in_all_per_fifteen_minutes() {
        let min = 60_000;
        let wrong = |times: &[i64]| times.iter().map(|t| (*t, false)).collect::<Vec<_>>();
        assert_eq!(
            GuessBudget::at(wrong(&[0, min, 2 * min, 3 * min]), 4 * min),
            GuessBudget { left: 1, open_at_ms: None }
        );
        let five = wrong(&[0, min, 2 * min, 3 * min, 4 * min]);
        assert_eq!(
            GuessBudget::at(five.clone(), 4 * min),
            GuessBudget { left: 0, open_at_ms: Some(LOCKOUT_WINDOW_MS) }
        );
        assert_eq!(GuessBudget::at(five, LOCKOUT_WINDOW_MS).left, 1, "the oldest left the window");
        let six = wrong(&[5 * min, 0, min, 2 * min, 3 * min, 4 * min]);
        assert_eq!(GuessBudget::at(six, 5 * min).open_at_ms, Some(min + LOCKOUT_WINDOW_MS), "any order");
        // Matched attempts do not count as wrong, but twenty in all close the window too.
        let matched: Vec<(i64, bool)> = (0..19).map(|i| (i * 1000, true)).collect();
        assert_eq!(GuessBudget::at(matched.clone(), 20_000).left, 1);
        let mut twenty = matched;
        twenty.push((19_000, false));
        assert_eq!(GuessBudget::at(twenty, 20_000), GuessBudget { left: 0, open_at_ms: Some(LOCKOUT_WINDOW_MS) });
    }

    #[test]
    fn verdict_precedence() {
        let genuine = VerdictInputs { known: true, code_matched: true, scan_count: 1, ..Default::default() };
        assert_eq!(verdict(&genuine), pb::Verdict::GenuineFirstScan);
        assert_eq!(verdict(&VerdictInputs { scan_count: 2, ..genuine.clone() }), pb::Verdict::GenuineSeenBefore);
        let weak = VerdictInputs { clone_signals: vec![MANY_DEVICES.into()], ..genuine.clone() };
        assert_eq!(verdict(&weak), pb::Verdict::GenuineFirstScan);
        let clone = VerdictInputs { clone_signals: vec![MANY_PLACES.into()], ..genuine.clone() };
        assert_eq!(verdict(&clone), pb::Verdict::SuspectedClone);
        let recalled = VerdictInputs { recalled: true, ..clone.clone() };
        assert_eq!(verdict(&recalled), pb::Verdict::Recalled);
        let withdrawn = VerdictInputs { withdrawn: true, ..recalled.clone() };
        assert_eq!(verdict(&withdrawn), pb::Verdict::Withdrawn);
        assert_eq!(verdict(&VerdictInputs { code_matched: false, ..withdrawn.clone() }), pb::Verdict::InvalidCode);
        assert_eq!(verdict(&VerdictInputs::default()), pb::Verdict::UnknownItem);
    }

    #[test]
    fn coordinates_must_be_rounded() {
        assert!(is_rounded_coordinate(53.55));
        assert!(!is_rounded_coordinate(53.5512));
        assert!(!is_rounded_coordinate(f64::INFINITY));
        assert_eq!(round_coordinate(53.5512), 53.55);
    }
}
