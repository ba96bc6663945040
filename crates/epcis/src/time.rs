//! `xsd:dateTimeStamp` text <-> `google.protobuf.Timestamp`, and
//! `eventTimeZoneOffset` checks.
//!
//! Hand-written rather than a date-time crate: EPCIS needs one format
//! (`[-]YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm)`), and the conversion is a few
//! lines of civil-calendar arithmetic (proleptic Gregorian, the algorithms of
//! <https://howardhinnant.github.io/date_algorithms.html>).

use prost_types::Timestamp;

const SECONDS_PER_DAY: i64 = 86_400;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range
/// `google.protobuf.Timestamp` is defined for (other protobuf runtimes
/// refuse instants outside it).
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Years longer than this cannot be converted to i64 seconds anyway; the
/// bound keeps the digit parsing itself from overflowing.
const MAX_YEAR_DIGITS: usize = 11;

/// Parses an `xsd:dateTimeStamp` (an RFC 3339 date-time; xsd also allows
/// years beyond 9999, negative years and `24:00:00`) into the instant it
/// names, which must lie in years 0001..=9999 UTC. The offset is required;
/// digits of the fraction beyond nanoseconds are truncated. On failure,
/// returns what is wrong.
pub(crate) fn parse_timestamp(text: &str) -> Result<Timestamp, &'static str> {
    let mut cursor = Cursor { rest: text.as_bytes() };
    let negative_year = cursor.eat(b'-');
    let year_digits = cursor.digits();
    if year_digits.len() < 4 {
        return Err("year must have at least 4 digits");
    }
    if year_digits.len() > MAX_YEAR_DIGITS {
        return Err("year out of range");
    }
    let year = digits_value(year_digits);
    let year = if negative_year { -year } else { year };
    let month = cursor.field(b'-', 2, "expected '-MM'")?;
    let day = cursor.field(b'-', 2, "expected '-DD'")?;
    if !(cursor.eat(b'T') || cursor.eat(b't')) {
        return Err("expected 'T' between date and time");
    }
    let hour = cursor.number(2, "expected hh")?;
    let minute = cursor.field(b':', 2, "expected ':mm'")?;
    let second = cursor.field(b':', 2, "expected ':ss'")?;
    let mut nanos = 0;
    if cursor.eat(b'.') {
        let fraction = cursor.digits();
        if fraction.is_empty() {
            return Err("expected digits after '.'");
        }
        // Keep nanosecond precision; further digits are truncated.
        for position in 0..9 {
            nanos = nanos * 10 + fraction.get(position).map_or(0, |digit| i64::from(digit - b'0'));
        }
    }
    let offset_seconds = cursor.offset()?;
    if !cursor.rest.is_empty() {
        return Err("unexpected text after the offset");
    }

    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("day out of range for the month");
    }
    let end_of_day = hour == 24 && minute == 0 && second == 0 && nanos == 0;
    if (hour > 23 && !end_of_day) || minute > 59 || second > 59 {
        return Err("time of day out of range");
    }
    let seconds = days_from_civil(year, month, day)
        .checked_mul(SECONDS_PER_DAY)
        .and_then(|s| s.checked_add(hour * 3600 + minute * 60 + second))
        .and_then(|s| s.checked_sub(offset_seconds))
        .filter(|seconds| (MIN_SECONDS..=MAX_SECONDS).contains(seconds))
        .ok_or("outside 0001-01-01T00:00:00Z..=9999-12-31T23:59:59Z, the range of a protobuf Timestamp")?;
    // nanos < 1e9 by construction: nine digits at most.
    Ok(Timestamp { seconds, nanos: nanos as i32 })
}

/// Formats an instant as an `xsd:dateTimeStamp` in UTC (`...Z`), with
/// milli-, micro- or nanosecond precision, whichever is exact.
///
/// Never fails: a hand-built timestamp with nanos outside 0..1e9 is
/// normalised first (saturating at the ends of i64 seconds), and one outside
/// years 0001..=9999 is written with xsd's extended years (`-0001`,
/// `10000`), which [`parse_timestamp`] refuses.
pub(crate) fn format_timestamp(timestamp: &Timestamp) -> String {
    let total = i128::from(timestamp.seconds) * i128::from(NANOS_PER_SECOND) + i128::from(timestamp.nanos);
    let seconds = total.div_euclid(i128::from(NANOS_PER_SECOND));
    let (seconds, nanos) = match i64::try_from(seconds) {
        // rem_euclid is in 0..1e9, so the cast is exact.
        Ok(s) => (s, total.rem_euclid(i128::from(NANOS_PER_SECOND)) as i64),
        Err(_) if seconds < 0 => (i64::MIN, 0),
        Err(_) => (i64::MAX, NANOS_PER_SECOND - 1),
    };
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year = if year < 0 { format!("-{:04}", year.unsigned_abs()) } else { format!("{year:04}") };
    let fraction = if nanos % 1_000_000 == 0 {
        format!("{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!("{:06}", nanos / 1_000)
    } else {
        format!("{nanos:09}")
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Whether `text` is a valid `eventTimeZoneOffset`: `+hh:mm` or `-hh:mm`
/// from -14:00 to +14:00 (the EPCIS JSON schema's pattern).
pub(crate) fn is_time_zone_offset(text: &str) -> bool {
    let mut cursor = Cursor { rest: text.as_bytes() };
    cursor.offset().is_ok() && cursor.rest.is_empty() && !text.starts_with(['Z', 'z'])
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    fn eat(&mut self, byte: u8) -> bool {
        match self.rest.split_first() {
            Some((&first, rest)) if first == byte => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    fn digits(&mut self) -> &[u8] {
        let count = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (digits, rest) = self.rest.split_at(count);
        self.rest = rest;
        digits
    }

    /// Exactly `width` digits.
    fn number(&mut self, width: usize, error: &'static str) -> Result<i64, &'static str> {
        let digits = self.digits();
        if digits.len() != width {
            return Err(error);
        }
        Ok(digits_value(digits))
    }

    /// `separator` then exactly `width` digits.
    fn field(&mut self, separator: u8, width: usize, error: &'static str) -> Result<i64, &'static str> {
        if !self.eat(separator) {
            return Err(error);
        }
        self.number(width, error)
    }

    /// `Z` or `±hh:mm` (at most 14:00), as seconds east of UTC.
    fn offset(&mut self) -> Result<i64, &'static str> {
        if self.eat(b'Z') || self.eat(b'z') {
            return Ok(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return Err("expected an offset: 'Z', '+hh:mm' or '-hh:mm'");
        };
        let hours = self.number(2, "offset: expected hh")?;
        let minutes = self.field(b':', 2, "offset: expected ':mm'")?;
        if minutes > 59 || hours > 14 || (hours == 14 && minutes > 0) {
            return Err("offset out of range (at most 14:00)");
        }
        Ok(sign * (hours * 3600 + minutes * 60))
    }
}

/// The value of ASCII digits (at most MAX_YEAR_DIGITS of them: no overflow).
fn digits_value(digits: &[u8]) -> i64 {
    digits.iter().fold(0, |value, digit| value * 10 + i64::from(digit - b'0'))
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    #[test]
    fn parses_the_forms_epcis_documents_use() {
        // 2005-04-04T02:33:31.116Z
        assert_eq!(parse_timestamp("2005-04-03T20:33:31.116000-06:00"), Ok(ts(1_112_582_011, 116_000_000)));
        assert_eq!(parse_timestamp("2005-04-04T02:33:31.116Z"), Ok(ts(1_112_582_011, 116_000_000)));
        assert_eq!(parse_timestamp("2020-07-03T09:00:00.0Z"), Ok(ts(1_593_766_800, 0)));
        assert_eq!(parse_timestamp("2019-11-01T14:00:00+01:00"), Ok(ts(1_572_613_200, 0)));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.1234567891Z"), Ok(ts(0, 123_456_789)));
        assert_eq!(parse_timestamp("1969-12-31T24:00:00Z"), Ok(ts(0, 0)));
        assert_eq!(parse_timestamp("0001-01-01T00:00:00Z"), Ok(ts(-62_135_596_800, 0)));
        assert_eq!(parse_timestamp("2000-02-29T00:00:00+14:00"), Ok(ts(951_782_400 - 14 * 3600, 0)));
    }

    #[test]
    fn refuses_what_is_not_a_date_time_stamp() {
        for bad in [
            "",
            "2005-04-03",
            "2005-04-03T20:33:31",                // no offset
            "2005-04-03 20:33:31Z",               // space
            "05-04-03T20:33:31Z",                 // short year
            "2005-4-03T20:33:31Z",                // short month
            "2005-13-03T20:33:31Z",               // month
            "2005-02-29T20:33:31Z",               // not a leap year
            "2005-04-03T20:33:60Z",               // leap second
            "2005-04-03T24:00:01Z",               // past end of day
            "2005-04-03T20:33:31.Z",              // empty fraction
            "2005-04-03T20:33:31+15:00",          // offset
            "2005-04-03T20:33:31+14:30",          // offset
            "2005-04-03T20:33:31+0100",           // offset without colon
            "2005-04-03T20:33:31Zjunk",           // trailing text
            "99999999999999-04-03T20:33:31Z",     // year too long
            "10000-01-01T00:00:00Z",              // after 9999
            "0000-12-31T23:59:59Z",               // before 0001
            "0001-01-01T00:30:00+01:00",          // 0000-12-31T23:30Z
            "2005-04-03T20:33:31.116000-06:00\n", // trailing newline
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn formats_in_utc_with_the_exact_precision() {
        assert_eq!(format_timestamp(&ts(1_112_582_011, 116_000_000)), "2005-04-04T02:33:31.116Z");
        assert_eq!(format_timestamp(&ts(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_timestamp(&ts(0, 1_000)), "1970-01-01T00:00:00.000001Z");
        assert_eq!(format_timestamp(&ts(0, 1)), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(format_timestamp(&ts(-1, 0)), "1969-12-31T23:59:59.000Z");
        assert_eq!(format_timestamp(&ts(0, -1)), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(format_timestamp(&ts(-62_135_596_801, 0)), "0000-12-31T23:59:59.000Z");
        assert_eq!(format_timestamp(&ts(-62_198_755_200, 0)), "-0001-01-01T00:00:00.000Z");
        assert_eq!(format_timestamp(&ts(253_402_300_800, 0)), "10000-01-01T00:00:00.000Z");
    }

    #[test]
    fn the_ends_of_the_protobuf_range() {
        assert_eq!(parse_timestamp("0001-01-01T00:00:00Z"), Ok(ts(MIN_SECONDS, 0)));
        assert_eq!(parse_timestamp("9999-12-31T23:59:59.999999999Z"), Ok(ts(MAX_SECONDS, 999_999_999)));
        assert_eq!(format_timestamp(&ts(MAX_SECONDS, 999_999_999)), "9999-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn extreme_timestamps_format_without_panicking() {
        for (seconds, nanos) in [(i64::MIN, i32::MIN), (i64::MAX, i32::MAX), (i64::MIN, 0), (i64::MAX, 0)] {
            let text = format_timestamp(&ts(seconds, nanos));
            assert!(parse_timestamp(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn checks_time_zone_offsets_like_the_schema() {
        for good in ["+00:00", "-06:00", "+13:59", "+14:00", "-14:00"] {
            assert!(is_time_zone_offset(good), "{good}");
        }
        for bad in ["", "Z", "+1:00", "+01", "+0100", "+14:01", "+15:00", "+01:60", "01:00", "+01:00 "] {
            assert!(!is_time_zone_offset(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(
            seconds in MIN_SECONDS..=MAX_SECONDS,
            nanos in 0i32..1_000_000_000,
        ) {
            let timestamp = ts(seconds, nanos);
            prop_assert_eq!(parse_timestamp(&format_timestamp(&timestamp)), Ok(timestamp));
        }

        #[test]
        fn offsets_name_the_same_instant(
            seconds in 0i64..MAX_SECONDS - 14 * 3600,
            offset_minutes in -14 * 60i64..=14 * 60,
        ) {
            // Write the UTC instant as local time at the offset.
            let utc = format_timestamp(&ts(seconds + offset_minutes * 60, 0));
            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let local = format!("{}{sign}{:02}:{:02}", &utc[..utc.len() - 1], offset_minutes.abs() / 60, offset_minutes.abs() % 60);
            prop_assert_eq!(parse_timestamp(&local), Ok(ts(seconds, 0)));
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
            let _ = parse_timestamp(&text);
            let _ = is_time_zone_offset(&text);
        }
    }
}
