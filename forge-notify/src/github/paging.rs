//! GitHub's REST paging and rate limits, as its responses state them: the
//! next page in the `Link` header, and how long to wait before the next
//! request (`Retry-After`, `X-RateLimit-Remaining` / `X-RateLimit-Reset`,
//! secondary limits), following GitHub's "Rate limits for the REST API".

use std::time::Duration;

use url::Url;

/// The longest pause a response may ask for: GitHub's primary limits reset
/// within the hour, so anything longer is a broken or hostile server.
pub const MAX_PAUSE: Duration = Duration::from_secs(3600);

/// The pause after a secondary limit that names no time ("at least one
/// minute", GitHub says).
pub const SECONDARY_PAUSE: Duration = Duration::from_secs(60);

/// Why a `Link` header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadLink {
    /// The next page's address does not parse.
    #[error("Link header: the next page `{0}` is not a URL")]
    NotUrl(String),
    /// The next page is elsewhere than the API: following it would send
    /// the token to another server.
    #[error("Link header: the next page is on {found}, not on the API's {expected}")]
    OtherOrigin {
        /// The next page's origin.
        found: String,
        /// The API's.
        expected: String,
    },
}

/// The next page named by a `Link` header (`<URL>; rel="next", <URL>;
/// rel="last"`), which must be on the API's own origin (scheme, host and
/// port); None on the last page or without the header.
pub fn next_page(link: Option<&str>, api: &Url) -> Result<Option<Url>, BadLink> {
    let Some(link) = link else {
        return Ok(None);
    };
    for entry in link.split('<').skip(1) {
        let Some((target, params)) = entry.split_once('>') else {
            continue;
        };
        let next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.get(..4).is_some_and(|k| k.eq_ignore_ascii_case("rel="))
                && p[4..]
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        });
        if !next {
            continue;
        }
        let url = Url::parse(target.trim()).map_err(|_| BadLink::NotUrl(target.to_string()))?;
        if url.origin() != api.origin() {
            return Err(BadLink::OtherOrigin {
                found: url.origin().ascii_serialization(),
                expected: api.origin().ascii_serialization(),
            });
        }
        return Ok(Some(url));
    }
    Ok(None)
}

/// What a response says about rate limits: its status, the headers, and
/// the `message` of its JSON body (empty without one).
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits<'a> {
    /// The HTTP status.
    pub status: u16,
    /// `Retry-After`, seconds.
    pub retry_after: Option<&'a str>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<&'a str>,
    /// `X-RateLimit-Reset`, seconds since the epoch.
    pub reset: Option<&'a str>,
    /// The body's `message`.
    pub message: &'a str,
}

impl Limits<'_> {
    /// Whether the response refused the request for a rate limit (429, or
    /// a 403 that says so), as opposed to for want of permission.
    pub fn refused(&self) -> bool {
        self.status == 429
            || (self.status == 403
                && (self.retry_after.is_some()
                    || self.exhausted()
                    || self.message.to_ascii_lowercase().contains("rate limit")))
    }

    fn exhausted(&self) -> bool {
        self.remaining.map(str::trim) == Some("0")
    }

    /// How long to wait before the next request, `now` being seconds since
    /// the epoch: `Retry-After` if given; else, with no requests left, until
    /// the reset (and a second, for clocks that differ); else, after a
    /// refusal, [`SECONDARY_PAUSE`]. None when the next request may go at
    /// once. Never more than [`MAX_PAUSE`].
    pub fn pause(&self, now: i64) -> Option<Duration> {
        let seconds = |text: Option<&str>| text.and_then(|t| t.trim().parse::<i64>().ok());
        let pause = if let Some(after) = seconds(self.retry_after).filter(|_| self.refused()) {
            Duration::from_secs(after.max(0) as u64)
        } else if self.exhausted() {
            match seconds(self.reset) {
                Some(reset) => Duration::from_secs((reset - now).max(0) as u64 + 1),
                None => SECONDARY_PAUSE,
            }
        } else if self.refused() {
            SECONDARY_PAUSE
        } else {
            return None;
        };
        Some(pause.min(MAX_PAUSE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> Url {
        Url::parse("https://api.github.com").expect("url")
    }

    #[test]
    fn the_next_page_is_read_from_githubs_link_header() {
        let link = r#"<https://api.github.com/repositories/1300192/issues?page=2>; rel="prev", <https://api.github.com/repositories/1300192/issues?page=4>; rel="next", <https://api.github.com/repositories/1300192/issues?page=515>; rel="last", <https://api.github.com/repositories/1300192/issues?page=1>; rel="first""#;
        let next = next_page(Some(link), &api()).expect("link").expect("next");
        assert_eq!(next.query(), Some("page=4"));
        let last = r#"<https://api.github.com/x?page=1>; rel="first", <https://api.github.com/x?page=2>; rel="prev""#;
        assert_eq!(next_page(Some(last), &api()), Ok(None));
        assert_eq!(next_page(None, &api()), Ok(None));
        // Commas inside the address, several relations in one, other case.
        let odd = r#"<https://api.github.com/x?labels=a,b&page=2>; REL="next last""#;
        let next = next_page(Some(odd), &api()).expect("link").expect("next");
        assert_eq!(next.query(), Some("labels=a,b&page=2"));
        assert_eq!(next_page(Some("garbage, ; <"), &api()), Ok(None));
    }

    #[test]
    fn a_next_page_elsewhere_is_refused() {
        for (link, why) in [
            (
                r#"<https://evil.example/x?page=2>; rel="next""#,
                "https://evil.example",
            ),
            (
                r#"<http://api.github.com/x?page=2>; rel="next""#,
                "http://api.github.com",
            ),
            (
                r#"<https://api.github.com:8443/x>; rel="next""#,
                "https://api.github.com:8443",
            ),
        ] {
            let e = next_page(Some(link), &api()).expect_err(link);
            assert!(e.to_string().contains(why), "{e}");
            assert!(e.to_string().contains("https://api.github.com"), "{e}");
        }
        let e = next_page(Some(r#"<not a url>; rel="next""#), &api()).expect_err("bad");
        assert_eq!(e, BadLink::NotUrl("not a url".into()));
    }

    #[test]
    fn pauses_follow_githubs_rules() {
        let now = 1_700_000_000;
        let reset = (now + 120).to_string();
        let ok = Limits {
            status: 200,
            remaining: Some("4999"),
            reset: Some(&reset),
            ..Limits::default()
        };
        assert_eq!(ok.pause(now), None);
        let last = Limits {
            remaining: Some("0"),
            ..ok
        };
        assert_eq!(last.pause(now), Some(Duration::from_secs(121)));
        let primary = Limits {
            status: 403,
            message: "API rate limit exceeded for 1.2.3.4.",
            ..last
        };
        assert!(primary.refused());
        assert_eq!(primary.pause(now), Some(Duration::from_secs(121)));
        let secondary = Limits {
            status: 403,
            retry_after: Some("30"),
            remaining: Some("4000"),
            message: "You have exceeded a secondary rate limit.",
            ..Limits::default()
        };
        assert_eq!(secondary.pause(now), Some(Duration::from_secs(30)));
        let unnamed = Limits {
            status: 429,
            ..Limits::default()
        };
        assert_eq!(unnamed.pause(now), Some(SECONDARY_PAUSE));
        let forbidden = Limits {
            status: 403,
            message: "Resource not accessible by integration",
            ..Limits::default()
        };
        assert!(!forbidden.refused());
        assert_eq!(forbidden.pause(now), None);
        let hostile = Limits {
            status: 429,
            retry_after: Some("99999999999"),
            ..Limits::default()
        };
        assert_eq!(hostile.pause(now), Some(MAX_PAUSE));
        let past = Limits {
            status: 200,
            remaining: Some("0"),
            reset: Some("12"),
            ..Limits::default()
        };
        assert_eq!(past.pause(now), Some(Duration::from_secs(1)));
    }
}
