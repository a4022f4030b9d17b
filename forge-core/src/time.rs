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
