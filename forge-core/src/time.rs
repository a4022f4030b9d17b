//! Timestamps: RFC 3339 UTC strings in documents, epoch seconds in SQLite.

use chrono::{DateTime, SecondsFormat, Utc};

/// The current time in RFC 3339 UTC with second precision (`2026-11-23T19:00:00Z`).
pub fn now_rfc3339() -> String {
    format_rfc3339(Utc::now())
}

/// Formats a time as RFC 3339 UTC, seconds precision.
pub fn format_rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an RFC 3339 timestamp into epoch seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp())
}

/// Formats epoch seconds as RFC 3339 UTC.
pub fn epoch_to_rfc3339(secs: i64) -> Option<String> {
    DateTime::from_timestamp(secs, 0).map(format_rfc3339)
}

/// Current epoch seconds.
pub fn now_epoch() -> i64 {
    Utc::now().timestamp()
}

/// Formats epoch seconds written as a decimal (`1796160142.012728`, what
/// Pagure writes) as RFC 3339 UTC, keeping the fraction to the microsecond
/// (`2026-12-01T21:25:42.012728Z`; whole seconds as `...:42Z`). `None`
/// for anything else: signs, exponents, no whole part, out of range.
pub fn epoch_decimal_to_rfc3339(text: &str) -> Option<String> {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // An empty fraction (`1.`) is whole seconds, as Python reads it.
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    // Microseconds: the first six digits, padded; finer ones are dropped.
    let micros: u32 = format!("{:0<6}", &fraction[..fraction.len().min(6)])
        .parse()
        .ok()?;
    let t = DateTime::from_timestamp(secs, micros * 1000)?;
    Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// An RFC 3339 time as epoch seconds the way Pagure writes them (Python's
/// `str` of arrow's `float_timestamp`): the seconds, a point, the
/// microseconds without trailing zeros (`1796160142.012728`,
/// `1796160142.5`), at least one digit (`1796160142.0`).
pub fn rfc3339_to_epoch_decimal(rfc3339: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(rfc3339).ok()?;
    let micros = format!("{:06}", t.timestamp_subsec_micros());
    let fraction = micros.trim_end_matches('0');
    Some(format!(
        "{}.{}",
        t.timestamp(),
        if fraction.is_empty() { "0" } else { fraction }
    ))
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` in UTC (how Pagure shows a
/// comment's date).
pub fn utc_date_time(rfc3339: &str) -> Option<String> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_epochs_keep_their_microseconds() {
        let cases = [
            ("1796160142.012728", Some("2026-12-01T21:22:22.012728Z")),
            ("1796160142.5", Some("2026-12-01T21:22:22.500Z")),
            ("1796160142", Some("2026-12-01T21:22:22Z")),
            ("1796160142.0", Some("2026-12-01T21:22:22Z")),
            ("1796160142.0127289999", Some("2026-12-01T21:22:22.012728Z")),
            ("0", Some("1970-01-01T00:00:00Z")),
            ("-1", None),
            ("1e9", None),
            ("1.", Some("1970-01-01T00:00:01Z")),
            (".5", None),
            ("", None),
            ("99999999999999999999", None),
        ];
        for (text, want) in cases {
            assert_eq!(epoch_decimal_to_rfc3339(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn times_are_written_as_pagure_writes_them() {
        let cases = [
            ("2026-12-01T21:22:22.012728Z", "1796160142.012728"),
            ("2026-12-01T21:22:22.500Z", "1796160142.5"),
            ("2026-12-01T21:22:22Z", "1796160142.0"),
            ("2026-12-01T22:22:22+01:00", "1796160142.0"),
        ];
        for (time, want) in cases {
            let text = rfc3339_to_epoch_decimal(time);
            assert_eq!(text.as_deref(), Some(want), "{time}");
            // And back, to the same instant.
            let back = text.as_deref().and_then(epoch_decimal_to_rfc3339);
            assert_eq!(back.as_deref().and_then(parse_rfc3339), parse_rfc3339(time));
        }
        assert_eq!(rfc3339_to_epoch_decimal("yesterday"), None);
    }
}
