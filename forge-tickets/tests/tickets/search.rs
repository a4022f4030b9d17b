//! Search against a brute-force scan of generated issues: for each query,
//! the numbers found are exactly those a plain reading of every issue and
//! comment finds; private issues are found only by those who may read
//! them; a push straight to git is found on the next search.

use std::collections::BTreeSet;

use forge_core::Store;
use forge_tickets::search::{query, run};
use forge_tickets::{Actor, NewIssue, Tracker};

use crate::{setup, Home};

const WORDS: [&str; 12] = [
    "hammer", "handle", "loose", "paint", "nail", "crack", "wobble", "heavy", "steel", "grip",
    "rust", "spark",
];
const TAGS: [&str; 3] = ["bug", "feature", "docs"];

/// What the generator made of one issue: the plain facts a scan reads.
#[derive(Debug, Clone)]
struct Made {
    number: u64,
    title: String,
    body: String,
    comments: Vec<(String, String)>,
    author: String,
    assignee: Option<String>,
    tags: BTreeSet<String>,
    closed: bool,
    private: bool,
}

/// A small deterministic generator (xorshift), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
    fn words(&mut self, n: u64) -> String {
        (0..1 + self.next() % n)
            .map(|_| self.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn words_of(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn generate(h: &Home, store: &Store) -> Vec<Made> {
    let project = store.project("hammer").expect("project");
    store
        .add_user("carol", "", &["carol@example.org"])
        .expect("carol");
    store
        .set_member(&project, "bob", forge_core::role::Role::Commit, "")
        .expect("bob");
    let tracker = Tracker::open_for_project(store, &h.home, &project).expect("tracker");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut made = Vec::new();
    for _ in 0..60 {
        let author = rng.pick(&["alice", "bob"]).to_string();
        let actor = Actor::for_user(store, &project, &author).expect("actor");
        let tags: BTreeSet<String> = TAGS
            .iter()
            .filter(|_| rng.next() % 3 == 0)
            .map(|t| t.to_string())
            .collect();
        let assignee = (rng.next() % 2 == 0).then(|| rng.pick(&["alice", "bob"]).to_string());
        let private = rng.next() % 5 == 0;
        let new = NewIssue {
            title: rng.words(4),
            body: rng.words(8),
            tags: tags.iter().cloned().collect(),
            assignee: assignee.clone(),
            private,
            ..Default::default()
        };
        let doc = tracker.create_issue(&actor, new.clone()).expect("issue");
        let mut comments = Vec::new();
        for _ in 0..rng.next() % 4 {
            let who = rng.pick(&["alice", "bob"]).to_string();
            let by = Actor::for_user(store, &project, &who).expect("actor");
            let body = rng.words(6);
            tracker.comment(&by, doc.number, &body).expect("comment");
            comments.push((who, body));
        }
        let closed = rng.next() % 3 == 0;
        if closed {
            let admin = Actor::for_user(store, &project, "alice").expect("alice");
            tracker.close(&admin, doc.number, None).expect("close");
        }
        made.push(Made {
            number: doc.number,
            title: new.title,
            body: new.body,
            comments,
            author,
            assignee,
            tags,
            closed,
            private,
        });
    }
    made
}

/// What a plain scan finds for `q` as `viewer` (a member sees all).
fn scan(made: &[Made], q: &query::Query, viewer: &str, member: bool) -> BTreeSet<u64> {
    made.iter()
        .filter(|m| {
            if m.private && !member && m.author != viewer && m.assignee.as_deref() != Some(viewer) {
                return false;
            }
            let doc_words: BTreeSet<String> = {
                let mut w = BTreeSet::new();
                if q.scope.title {
                    w.extend(words_of(&m.title));
                }
                if q.scope.body {
                    w.extend(words_of(&m.body));
                }
                w
            };
            let rows: Vec<BTreeSet<String>> = std::iter::once(doc_words)
                .chain(
                    m.comments
                        .iter()
                        .filter(|_| q.scope.comments)
                        .map(|(_, b)| words_of(b)),
                )
                .collect();
            // Every word in one row (the document's own, or one comment).
            let wanted: Vec<String> = q.words.iter().map(|w| w.to_lowercase()).collect();
            if !wanted.is_empty() && !rows.iter().any(|r| wanted.iter().all(|w| r.contains(w))) {
                return false;
            }
            let everything: BTreeSet<String> = words_of(&m.title)
                .into_iter()
                .chain(words_of(&m.body))
                .chain(m.comments.iter().flat_map(|(_, b)| words_of(b)))
                .collect();
            if q.without
                .iter()
                .any(|w| everything.contains(&w.to_lowercase()))
            {
                return false;
            }
            q.conditions.iter().all(|c| {
                let holds = match &c.filter {
                    query::Filter::Kind(query::Kind::Issue) => true,
                    query::Filter::Kind(query::Kind::Pull) => false,
                    query::Filter::Status(s) => (s == "closed") == m.closed && s != "merged",
                    query::Filter::Label(l) => m.tags.contains(l),
                    query::Filter::Author(a) => &m.author == a,
                    query::Filter::Assignee(a) => m.assignee.as_deref() == Some(a.as_str()),
                    query::Filter::Commenter(a) => m.comments.iter().any(|(w, _)| w == a),
                    query::Filter::No(query::Missing::Assignee) => m.assignee.is_none(),
                    query::Filter::No(query::Missing::Label) => m.tags.is_empty(),
                    other => panic!("the scan does not know {other:?}"),
                };
                holds != c.negated
            })
        })
        .map(|m| m.number)
        .collect()
}

#[test]
fn search_finds_what_a_scan_finds_and_keeps_private_issues_private() {
    let h = setup();
    let store = Store::open(&h.home.db_path()).expect("store");
    let made = generate(&h, &store);
    let queries = [
        "hammer",
        "loose handle",
        "paint -rust",
        "spark is:open",
        "is:closed label:bug",
        "-label:docs wobble",
        "author:bob no:assignee",
        "assignee:alice steel",
        "commenter:bob grip",
        "hammer in:title",
        "nail in:comments",
        "heavy in:body",
        "no:label is:issue",
        "is:pr hammer",
        "crack -author:alice",
    ];
    let mut compared = 0;
    for (viewer, member) in [("alice", true), ("carol", false), ("bob", true)] {
        let searched = run::projects(&store, &h.home, Some(viewer), &[]).expect("projects");
        assert_eq!(searched.len(), 1);
        assert_eq!(searched[0].member, member, "{viewer}");
        for text in queries {
            let q = query::parse(text).expect(text);
            let found: BTreeSet<u64> = run::run(&store, Some(viewer), &searched, &q, 1000, 0)
                .expect(text)
                .into_iter()
                .map(|h| h.id)
                .collect();
            let expected = scan(&made, &q, viewer, member);
            assert_eq!(found, expected, "{text} as {viewer}");
            compared += expected.len();
        }
    }
    assert!(
        compared > 100,
        "the queries found something to compare ({compared})"
    );
    // Carol (no role) finds no private issue; alice (admin) finds them all.
    let private: BTreeSet<u64> = made
        .iter()
        .filter(|m| m.private)
        .map(|m| m.number)
        .collect();
    assert!(!private.is_empty());
    let everything = query::parse("is:issue").expect("q");
    let carol = run::projects(&store, &h.home, Some("carol"), &[]).expect("projects");
    let seen: BTreeSet<u64> = run::run(&store, Some("carol"), &carol, &everything, 1000, 0)
        .expect("run")
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert!(seen.is_disjoint(&private), "carol sees no private issue");
    let anonymous = run::projects(&store, &h.home, None, &[]).expect("projects");
    let seen_anonymously = run::run(&store, None, &anonymous, &everything, 1000, 0).expect("run");
    assert_eq!(seen_anonymously.len(), made.len() - private.len());
    // Results come in the order asked, with snippets that mark the words.
    let q = query::parse("hammer sort:created-asc").expect("q");
    let alice = run::projects(&store, &h.home, Some("alice"), &[]).expect("projects");
    let hits = run::run(&store, Some("alice"), &alice, &q, 1000, 0).expect("run");
    assert!(
        hits.windows(2).all(|w| w[0].id < w[1].id),
        "created ascending"
    );
    assert!(
        hits.iter()
            .all(|h| h.snippet.to_lowercase().contains("\u{2}hammer\u{3}")),
        "{hits:?}"
    );
    let by_comments = run::run(
        &store,
        Some("alice"),
        &alice,
        &query::parse("is:issue sort:comments-desc").expect("q"),
        1000,
        0,
    )
    .expect("run");
    assert!(by_comments
        .windows(2)
        .all(|w| w[0].comments >= w[1].comments));
    // A reindex rebuilds the search rows at once: the same results after.
    let both = query::parse("hammer nail").expect("q");
    let before = run::run(&store, Some("alice"), &alice, &both, 1000, 0).expect("run");
    let project = store.project("hammer").expect("project");
    Tracker::open_for_project(&store, &h.home, &project)
        .expect("tracker")
        .reindex(&mut |_, _| {})
        .expect("reindex");
    let rows: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM search_text", [], |r| r.get(0))
        .expect("rows");
    // One per issue and comment the index holds (the notes that record
    // closings among them).
    let indexed: i64 = store
        .conn()
        .query_row(
            "SELECT (SELECT count(*) FROM issues) + (SELECT count(*) FROM issue_comments)",
            [],
            |r| r.get(0),
        )
        .expect("indexed");
    assert_eq!(rows, indexed, "one search row per issue and comment");
    let after = run::run(&store, Some("alice"), &alice, &both, 1000, 0).expect("run");
    assert_eq!(before, after);
    let suspended: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM search_suspended", [], |r| r.get(0))
        .expect("suspended");
    assert_eq!(suspended, 0, "the triggers are back at work");
}

#[test]
fn pages_of_a_ranked_search_are_slices_of_one_order() {
    let h = setup();
    let store = Store::open(&h.home.db_path()).expect("store");
    let project = store.project("hammer").expect("project");
    let tracker = Tracker::open_for_project(&store, &h.home, &project).expect("tracker");
    let alice = Actor::for_user(&store, &project, "alice").expect("alice");
    // 150 issues that match `anvil` equally well; a third of them also
    // through a comment that matches better; every 25th tagged.
    let mut commented = Vec::new();
    let mut plain = Vec::new();
    for i in 0..150 {
        let new = NewIssue {
            title: format!("anvil {i}"),
            body: "a heavy anvil on the bench".into(),
            tags: if i % 25 == 0 {
                vec!["rare".into()]
            } else {
                Vec::new()
            },
            ..Default::default()
        };
        let doc = tracker.create_issue(&alice, new).expect("issue");
        if i % 3 == 0 {
            tracker
                .comment(&alice, doc.number, "anvil anvil anvil")
                .expect("comment");
            commented.push(doc.number);
        } else {
            plain.push(doc.number);
        }
    }
    // A rebuild writes the rows in the repository's order, not the order
    // the issues were made in: the order of results does not follow it.
    tracker.reindex(&mut |_, _| {}).expect("reindex");
    let searched = run::projects(&store, &h.home, Some("alice"), &[]).expect("projects");
    let ids = |text: &str, limit: usize, offset: usize| -> Vec<u64> {
        let q = query::parse(text).expect(text);
        run::run(&store, Some("alice"), &searched, &q, limit, offset)
            .expect(text)
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    // Best first: the issues a comment matches better, then the rest; equal
    // matches the most recent first.
    let all = ids("anvil", 1000, 0);
    let expected: Vec<u64> = commented
        .iter()
        .rev()
        .chain(plain.iter().rev())
        .copied()
        .collect();
    assert_eq!(all, expected);
    for text in [
        "anvil",
        "anvil label:rare",
        "anvil -label:rare",
        "anvil sort:created-asc",
    ] {
        let all = ids(text, 1000, 0);
        let unique: BTreeSet<u64> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len(), "{text}: each issue once");
        let mut paged = Vec::new();
        for offset in (0..all.len() + 7).step_by(7) {
            paged.extend(ids(text, 7, offset));
        }
        assert_eq!(paged, all, "{text}: pages of 7 make the whole");
    }
    assert_eq!(ids("anvil label:rare", 1000, 0).len(), 6);
}
