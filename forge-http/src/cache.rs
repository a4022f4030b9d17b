//! What the server keeps between requests: issue counts and issues already
//! rendered as JSON, both tied to the tickets commit the index reflected.
//!
//! Everything in the index of a project is a function of its indexed commit,
//! so an entry read back under the same commit cannot be stale; a write makes
//! a new commit and the project's entries are simply no longer used (they are
//! replaced as pages are asked for again). Full names of users live outside
//! the tickets, so a rendered issue also records the ones it shows and is
//! used only while they still match.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Past this many bytes of rendered JSON, the cache starts over.
const MAX_RENDERED_BYTES: usize = 64 << 20;
/// Past this many counts, the cache starts over.
const MAX_COUNTS: usize = 16_384;
/// Past this many issue numbers in kept listings, the cache starts over.
const MAX_LISTED_NUMBERS: usize = 4 << 20;
/// Past this many bytes of whole pages, the cache starts over.
const MAX_PAGE_BYTES: usize = 128 << 20;

/// One issue in Pagure's JSON shape.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// The indexed commit it was rendered from.
    pub commit: Arc<str>,
    /// The (username, full name) pairs it shows.
    pub users: Arc<[(String, String)]>,
    /// The JSON object.
    pub json: Arc<[u8]>,
}

#[derive(Debug, Default)]
struct RenderedIssues {
    by_issue: HashMap<(String, u64), Rendered>,
    bytes: usize,
}

/// A whole answer of a listing: its bytes, and the (username, full name)
/// pairs it shows (it is used only while they still match).
#[derive(Debug, Clone)]
pub(crate) struct Page {
    /// The full names shown.
    pub users: Arc<[(String, String)]>,
    /// The answer.
    pub body: bytes::Bytes,
}

#[derive(Debug, Default)]
struct Pages {
    by_key: HashMap<String, Page>,
    bytes: usize,
}

/// The server's caches (shared by its worker threads).
#[derive(Debug, Default)]
pub(crate) struct Caches {
    /// Whole answers by listing key, page and the request's query and host.
    pages: Mutex<Pages>,
    counts: Mutex<HashMap<String, u64>>,
    issues: Mutex<RenderedIssues>,
    /// Whole listings (issue numbers, newest first) and how many numbers
    /// they hold in all.
    listings: Mutex<Listings>,
}

/// Whole listings by key, and how many numbers they hold in all.
type Listings = (HashMap<String, Arc<[u64]>>, usize);

/// A poisoned lock only means a request panicked while holding it; the map
/// itself is still whole (entries are inserted in one step).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Caches {
    /// A whole page kept under `key` (which must name the indexed commit,
    /// the viewer, the query and the host).
    pub fn page(&self, key: &str) -> Option<Page> {
        lock(&self.pages).by_key.get(key).cloned()
    }

    /// Keeps a whole page.
    pub fn put_page(&self, key: String, page: Page) {
        let mut pages = lock(&self.pages);
        let size = page.body.len() + key.len();
        if pages.bytes + size > MAX_PAGE_BYTES {
            pages.by_key.clear();
            pages.bytes = 0;
        }
        pages.bytes += size;
        if let Some(old) = pages.by_key.insert(key.clone(), page) {
            pages.bytes -= old.body.len() + key.len();
        }
    }

    /// A count recorded under `key` (which must name the indexed commit).
    pub fn count(&self, key: &str) -> Option<u64> {
        lock(&self.counts).get(key).copied()
    }

    /// Records a count.
    pub fn put_count(&self, key: String, n: u64) {
        let mut counts = lock(&self.counts);
        if counts.len() >= MAX_COUNTS {
            counts.clear();
        }
        counts.insert(key, n);
    }

    /// A whole listing recorded under `key` (which must name the indexed
    /// commit): every matching number, newest first.
    pub fn listing(&self, key: &str) -> Option<Arc<[u64]>> {
        lock(&self.listings).0.get(key).cloned()
    }

    /// Records a whole listing.
    pub fn put_listing(&self, key: String, numbers: Arc<[u64]>) {
        let mut listings = lock(&self.listings);
        if listings.1 + numbers.len() > MAX_LISTED_NUMBERS {
            listings.0.clear();
            listings.1 = 0;
        }
        listings.1 += numbers.len();
        if let Some(old) = listings.0.insert(key, numbers) {
            listings.1 -= old.len();
        }
    }

    /// The rendered issues of `project` among `numbers` that were rendered
    /// from `commit` (in the order of `numbers`; `None` where there is none).
    pub fn rendered(&self, project: &str, commit: &str, numbers: &[u64]) -> Vec<Option<Rendered>> {
        let issues = lock(&self.issues);
        let mut key = (project.to_string(), 0);
        numbers
            .iter()
            .map(|&n| {
                key.1 = n;
                issues
                    .by_issue
                    .get(&key)
                    .filter(|r| &*r.commit == commit)
                    .cloned()
            })
            .collect()
    }

    /// Keeps rendered issues of `project`.
    pub fn put_rendered(&self, project: &str, rendered: Vec<(u64, Rendered)>) {
        let mut issues = lock(&self.issues);
        for (number, r) in rendered {
            let size = r.json.len();
            if issues.bytes + size > MAX_RENDERED_BYTES {
                issues.by_issue.clear();
                issues.bytes = 0;
            }
            issues.bytes += size;
            if let Some(old) = issues.by_issue.insert((project.to_string(), number), r) {
                issues.bytes -= old.json.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(commit: &str, json: &str) -> Rendered {
        Rendered {
            commit: commit.into(),
            users: Arc::new([]),
            json: json.as_bytes().into(),
        }
    }

    #[test]
    fn rendered_issues_are_used_only_under_their_commit() {
        let c = Caches::default();
        c.put_rendered(
            "p",
            vec![(1, rendered("c1", "{}")), (2, rendered("c1", "[]"))],
        );
        let got = c.rendered("p", "c1", &[2, 3, 1]);
        assert_eq!(got.len(), 3);
        assert_eq!(
            &*got[0].as_ref().map(|r| r.json.clone()).unwrap_or_default(),
            b"[]"
        );
        assert!(got[1].is_none());
        assert!(got[2].is_some());
        assert!(c.rendered("p", "c2", &[1, 2]).iter().all(Option::is_none));
        assert!(c.rendered("q", "c1", &[1]).iter().all(Option::is_none));
        // Replacing an entry keeps the byte count exact.
        c.put_rendered("p", vec![(1, rendered("c2", "{\"a\":1}"))]);
        assert_eq!(lock(&c.issues).bytes, "{\"a\":1}".len() + 2);
    }

    #[test]
    fn the_rendered_cache_starts_over_past_its_size() {
        let c = Caches::default();
        let big = "x".repeat(MAX_RENDERED_BYTES / 2 + 1);
        c.put_rendered("p", vec![(1, rendered("c", &big))]);
        c.put_rendered("p", vec![(2, rendered("c", &big))]);
        let got = c.rendered("p", "c", &[1, 2]);
        assert!(got[0].is_none() && got[1].is_some());
        assert_eq!(lock(&c.issues).bytes, big.len());
    }

    #[test]
    fn listings_are_kept_by_key_within_their_bound() {
        let c = Caches::default();
        c.put_listing("a".into(), vec![3, 2, 1].into());
        assert_eq!(c.listing("a").as_deref(), Some(&[3u64, 2, 1][..]));
        c.put_listing("a".into(), vec![4, 3, 2, 1].into());
        assert_eq!(lock(&c.listings).1, 4);
        assert!(c.listing("b").is_none());
        c.put_listing("big".into(), vec![0; MAX_LISTED_NUMBERS].into());
        assert!(c.listing("a").is_none(), "started over");
        assert!(c.listing("big").is_some());
    }

    #[test]
    fn pages_are_kept_by_key_within_their_bound() {
        let c = Caches::default();
        let page = |body: &str| Page {
            users: Arc::new([("alice".to_string(), "Alice".to_string())]),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        };
        c.put_page("k".into(), page("{}"));
        assert_eq!(
            c.page("k").map(|p| p.body),
            Some(bytes::Bytes::from_static(b"{}"))
        );
        c.put_page("k".into(), page("{\"a\":1}"));
        assert_eq!(lock(&c.pages).bytes, "{\"a\":1}".len() + 1);
        c.put_page("big".into(), page(&"x".repeat(MAX_PAGE_BYTES)));
        assert!(c.page("k").is_none(), "started over");
    }

    #[test]
    fn counts_start_over_past_their_number() {
        let c = Caches::default();
        for i in 0..MAX_COUNTS {
            c.put_count(format!("k{i}"), i as u64);
        }
        assert_eq!(c.count("k7"), Some(7));
        c.put_count("last".into(), 1);
        assert_eq!(c.count("k7"), None);
        assert_eq!(c.count("last"), Some(1));
    }
}
