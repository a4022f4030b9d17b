#![allow(missing_docs)]
//! The query parser, data-driven: each line of tests/search/queries.txt is
//! a query and what it must give (what it asks, or the error and where).

use forge_tickets::search::query::{parse, MAX_QUERY, MAX_TERMS};

#[test]
fn every_query_of_the_table_gives_what_it_says() {
    let table = include_str!("search/queries.txt");
    let mut cases = 0;
    let mut wrong = Vec::new();
    for line in table.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (query, expected) = line.split_once(" => ").unwrap_or_else(|| {
            let q = line.strip_suffix("=>").expect("a `=>` on each line");
            (q.trim_end(), "")
        });
        let query = if query.trim().is_empty() {
            &query[..query.len()]
        } else {
            query
        };
        cases += 1;
        let got = match parse(query) {
            Ok(q) => q.describe(),
            Err(e) => format!("error at {}: {}", e.at + 1, e.message),
        };
        let ok = if let Some(prefix) = expected.strip_prefix("error at ") {
            got.starts_with(&format!(
                "error at {}",
                prefix.split(':').next().unwrap_or("")
            )) && got.contains(prefix.split_once(": ").map_or("", |(_, m)| m))
        } else {
            got == expected
        };
        if !ok {
            wrong.push(format!(
                "{query:?}\n  expected: {expected}\n  got:      {got}"
            ));
        }
    }
    assert!(cases > 50, "{cases} cases read");
    assert!(
        wrong.is_empty(),
        "{} of {cases} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn huge_and_hostile_queries_are_refused_or_read_literally() {
    let long = "a".repeat(MAX_QUERY + 1);
    let e = parse(&long).expect_err("too long");
    assert!(e.message.contains("longer than"), "{e}");
    let many = vec!["w"; MAX_TERMS + 1].join(" ");
    assert!(parse(&many)
        .expect_err("too many")
        .message
        .contains("more than"));
    assert!(parse("a\u{7}b").is_err());
    // FTS5's own syntax reaches the index as text.
    let q = parse("NEAR(a b) OR c* ^d \"e\"\"").expect_err("an odd quote count");
    assert!(q.message.contains("quote"), "{q}");
    let q = parse("NEAR(a b) OR c* ^d col:e").expect_err("col: is a qualifier");
    assert!(q.message.contains("unknown qualifier"), "{q}");
    let q = parse("NEAR(a b) OR c* ^d \"col:e\"").expect("literal");
    assert_eq!(
        q.fts().as_deref(),
        Some("\"NEAR(a\" \"b)\" \"OR\" \"c*\" \"^d\" \"col:e\"")
    );
}
