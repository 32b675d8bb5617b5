//! Timestamps as they appear in usage files, parsed to UTC seconds since the Unix epoch.

use chrono::{DateTime, Datelike, NaiveDate};

/// Seconds in one day.
pub const DAY: i64 = 86_400;

/// Parses a usage timestamp to UTC seconds. Accepts ISO 8601 (`2026-10-01`, `2026-10-01T00:00Z`,
/// `2026-10-01T00:00:00.000+02:00`, space instead of `T`) and US dates as PowerShell and the EA portal write
/// them (`10/1/2026`, `10/1/2026 12:00:00 AM`, `10/01/2026 13:00:00`). Dates without an offset are UTC.
///
/// ```
/// use meterlens_engine::time::parse_timestamp;
/// assert_eq!(parse_timestamp("2026-10-01T00:00:00+00:00"), Ok(1_790_812_800));
/// assert_eq!(parse_timestamp("10/1/2026 12:00:00 AM"), Ok(1_790_812_800));
/// assert_eq!(parse_timestamp("2026-10-01T02:00:00+02:00"), Ok(1_790_812_800));
/// ```
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    parse_timestamp_in_order(text, DateOrder::MonthFirst).map(|(t, _)| t)
}

/// Order of day and month in slash dates (`01/02/2026`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DateOrder {
    /// `MM/DD/YYYY`, as US portals and PowerShell en-US write.
    MonthFirst,
    /// `DD/MM/YYYY`, as many other locales write.
    DayFirst,
}

impl DateOrder {
    /// For people: `MM/DD/YYYY` or `DD/MM/YYYY`.
    pub fn as_str(self) -> &'static str {
        match self {
            DateOrder::MonthFirst => "MM/DD/YYYY",
            DateOrder::DayFirst => "DD/MM/YYYY",
        }
    }
}

/// What a parsed text says about the order of day and month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderEvidence {
    /// Not a slash date.
    None,
    /// Both numbers are 12 or less and differ: read in the order asked for, could be the other.
    Ambiguous,
    /// Only month-first makes sense (the second number is over 12).
    MonthFirst,
    /// Only day-first makes sense (the first number is over 12).
    DayFirst,
}

/// Like [`parse_timestamp`], reading ambiguous slash dates in `order`, and saying what the text proves about
/// the order (a column's order is decided from all its values, never from the first few).
pub fn parse_timestamp_in_order(text: &str, order: DateOrder) -> Result<(i64, OrderEvidence), String> {
    let s = text.trim();
    let b = s.as_bytes();
    let parsed = if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        parse_iso(s).map(|t| (t, OrderEvidence::None))
    } else if s.contains('/') {
        parse_slash(s, order)
    } else {
        None
    };
    parsed.ok_or_else(|| {
        if s.is_empty() {
            "empty date".to_string()
        } else {
            format!("cannot read date {s:?} (expected ISO 8601 like 2026-10-01T00:00:00Z or MM/DD/YYYY)")
        }
    })
}

fn parse_iso(s: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(midnight(date));
    }
    let rest = rest.strip_prefix(['T', ' '])?;
    if let Ok(dt) = DateTime::parse_from_rfc3339(&format!("{}T{rest}", &s[..10])) {
        return Some(dt.timestamp());
    }
    let (clock, offset_secs) = split_offset(rest)?;
    let seconds = parse_clock(clock)?;
    Some(midnight(date) + seconds - offset_secs)
}

/// Splits `HH:MM[:SS[.f]][Z|±HH:MM|±HHMM]` into the clock and the offset in seconds.
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    match rest.rfind(['+', '-']) {
        Some(i) if i >= 4 => {
            let sign = if rest.as_bytes()[i] == b'-' { -1 } else { 1 };
            let digits: String = rest[i + 1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok().filter(|h| *h <= 23)?;
            let minutes: i64 = digits[2..].parse().ok().filter(|m| *m <= 59)?;
            Some((&rest[..i], sign * (hours * 3600 + minutes * 60)))
        }
        _ => Some((rest, 0)),
    }
}

/// `H:MM[:SS[.fff]]` to seconds after midnight (fractions dropped).
fn parse_clock(clock: &str) -> Option<i64> {
    if !clock.trim().bytes().all(|b| b.is_ascii_digit() || b == b':' || b == b'.') {
        return None;
    }
    let mut parts = clock.trim().splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: i64 = match parts.next() {
        Some(p) => p.split('.').next()?.parse().ok()?,
        None => 0,
    };
    ((0..24).contains(&h) && (0..60).contains(&m) && (0..61).contains(&sec)).then_some(h * 3600 + m * 60 + sec)
}

fn parse_slash(s: &str, order: DateOrder) -> Option<(i64, OrderEvidence)> {
    let (date_part, time_part) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let mut fields = date_part.split('/');
    let first: u32 = fields.next()?.parse().ok()?;
    let second: u32 = fields.next()?.parse().ok()?;
    let year: i32 = fields.next()?.parse().ok()?;
    if fields.next().is_some() || !(1000..=9999).contains(&year) {
        return None;
    }
    let (evidence, month, day) = match (first > 12, second > 12) {
        (true, true) => return None,
        (true, false) => (OrderEvidence::DayFirst, second, first),
        (false, true) => (OrderEvidence::MonthFirst, first, second),
        (false, false) => {
            let evidence = if first == second { OrderEvidence::None } else { OrderEvidence::Ambiguous };
            match order {
                DateOrder::MonthFirst => (evidence, first, second),
                DateOrder::DayFirst => (evidence, second, first),
            }
        }
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let seconds = match time_part {
        None | Some("") => 0,
        Some(t) => {
            let upper = t.to_ascii_uppercase();
            let (clock, meridiem) = if let Some(c) = upper.strip_suffix("AM") {
                (c.trim().to_string(), Some(false))
            } else if let Some(c) = upper.strip_suffix("PM") {
                (c.trim().to_string(), Some(true))
            } else {
                (upper, None)
            };
            let secs = parse_clock(&clock)?;
            match meridiem {
                None => secs,
                Some(pm) => {
                    let hour = secs / 3600;
                    if !(1..=12).contains(&hour) {
                        return None;
                    }
                    let hour24 = (hour % 12) + if pm { 12 } else { 0 };
                    hour24 * 3600 + secs % 3600
                }
            }
        }
    };
    Some((midnight(date) + seconds, evidence))
}

/// The same instant with day and month swapped (for re-reading an ambiguous slash date in the other order).
pub fn swap_day_and_month(seconds: i64) -> Option<i64> {
    let t = DateTime::from_timestamp(seconds, 0)?;
    let date = NaiveDate::from_ymd_opt(t.year(), t.day(), t.month())?;
    Some(midnight(date) + seconds.rem_euclid(DAY))
}

fn midnight(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0).map_or(0, |dt| dt.and_utc().timestamp())
}

/// The UTC day (days since 1970-01-01) that contains `seconds`.
pub fn day_of(seconds: i64) -> i64 {
    seconds.div_euclid(DAY)
}

/// `YYYY-MM-DD` of a UTC day number.
pub fn day_label(day: i64) -> String {
    DateTime::from_timestamp(day * DAY, 0).map_or_else(|| day.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

/// The first instant (UTC) of the calendar month holding `seconds`.
pub fn month_start(seconds: i64) -> i64 {
    use chrono::Datelike;
    DateTime::from_timestamp(seconds, 0)
        .and_then(|d| chrono::NaiveDate::from_ymd_opt(d.year(), d.month(), 1))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(seconds, |d| d.and_utc().timestamp())
}

/// `YYYY-MM` of a UTC timestamp.
pub fn month_label(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).map_or_else(|| seconds.to_string(), |d| d.format("%Y-%m").to_string())
}

/// Months since year 0 of a UTC timestamp (a sortable month key).
pub fn month_index(seconds: i64) -> i64 {
    DateTime::from_timestamp(seconds, 0).map_or(0, |d| d.year() as i64 * 12 + d.month0() as i64)
}

/// `YYYY-MM` of a [`month_index`].
pub fn month_index_label(index: i64) -> String {
    format!("{:04}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

/// `YYYY-MM-DDTHH:00Z` of a UTC timestamp.
pub fn hour_label(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .map_or_else(|| seconds.to_string(), |d| d.format("%Y-%m-%dT%H:00Z").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OCT1: i64 = 1_790_812_800;

    #[test]
    fn accepted_spellings_of_one_instant() {
        for s in [
            "2026-10-01",
            "2026-10-01T00:00Z",
            "2026-10-01T00:00:00Z",
            "2026-10-01T00:00:00.0000000Z",
            "2026-10-01T00:00:00+00:00",
            "2026-10-01 00:00:00",
            "2026-09-30T17:00:00-07:00",
            "2026-10-01T05:30:00+0530",
            "10/1/2026",
            "10/01/2026",
            "10/1/2026 12:00:00 AM",
            "10/01/2026 00:00:00",
            " 10/1/2026 12:00 am ",
        ] {
            assert_eq!(parse_timestamp(s), Ok(OCT1), "{s}");
        }
    }

    #[test]
    fn afternoon_and_noon() {
        assert_eq!(parse_timestamp("10/1/2026 1:30:00 PM"), Ok(OCT1 + 13 * 3600 + 1800));
        assert_eq!(parse_timestamp("10/1/2026 12:00:00 PM"), Ok(OCT1 + 12 * 3600));
        assert_eq!(parse_timestamp("2026-10-01T23:59:59Z"), Ok(OCT1 + DAY - 1));
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for s in [
            "2026-10-01T00:00:00+99:99",
            "2026-10-01T+1:00:00",
            "",
            "yesterday",
            "13/45/2026",
            "2026-02-30",
            "10/1/26",
            "2026-10-01T25:00:00Z",
            "10/1/2026 13:00 PM",
        ] {
            assert!(parse_timestamp(s).is_err(), "{s}");
        }
    }

    #[test]
    fn slash_dates_say_what_they_prove_about_the_order() {
        let read = |s, order| parse_timestamp_in_order(s, order).unwrap();
        assert_eq!(read("13/10/2026", DateOrder::MonthFirst), (OCT1 + 12 * DAY, OrderEvidence::DayFirst));
        assert_eq!(read("10/13/2026", DateOrder::DayFirst), (OCT1 + 12 * DAY, OrderEvidence::MonthFirst));
        assert_eq!(read("01/10/2026", DateOrder::DayFirst), (OCT1, OrderEvidence::Ambiguous));
        assert_eq!(read("10/10/2026", DateOrder::DayFirst), (OCT1 + 9 * DAY, OrderEvidence::None));
        assert_eq!(read("2026-10-01", DateOrder::DayFirst), (OCT1, OrderEvidence::None));
        assert_eq!(
            swap_day_and_month(read("10/1/2026 6:00:00 AM", DateOrder::MonthFirst).0),
            Some(read("1/10/2026 6:00:00 AM", DateOrder::MonthFirst).0)
        );
        assert_eq!(swap_day_and_month(read("2026-01-31", DateOrder::MonthFirst).0), None);
    }

    #[test]
    fn labels() {
        assert_eq!(day_label(day_of(OCT1 + 5)), "2026-10-01");
        assert_eq!(month_label(OCT1), "2026-10");
        assert_eq!(month_index_label(month_index(OCT1 + 40 * DAY)), "2026-11");
        assert_eq!(hour_label(OCT1 + 3 * 3600 + 5), "2026-10-01T03:00Z");
        assert_eq!(day_of(-1), -1);
    }
}
