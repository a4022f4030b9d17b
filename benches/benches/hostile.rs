//! Hostile sizes: the JSON merge of big sets and magic words in a huge
//! commit message must stay linear.
//!
//! Run with `cargo bench -p forge-benches --bench hostile`.

use criterion::{criterion_group, criterion_main, Criterion};
use forge_tickets::magic::issue_references;
use forge_tickets::merge::merge_documents;
use serde_json::{json, Value};

/// Base, ours and theirs of a document whose tags both sides grew to `n`.
fn tag_sets(n: usize) -> (Value, Value, Value) {
    let tags = |prefix: &str| -> Vec<String> { (0..n).map(|i| format!("{prefix}{i}")).collect() };
    let base = json!({"uid": "u", "tags": tags("b"), "updated_at": "2026-01-01T00:00:00Z"});
    let mut ours = base.clone();
    ours["tags"] = json!(tags("o"));
    ours["updated_at"] = json!("2026-01-02T00:00:00Z");
    let mut theirs = base.clone();
    theirs["tags"] = json!(tags("t"));
    (base, ours, theirs)
}

/// A commit message of about `bytes` naming issue after issue.
fn references(bytes: usize) -> String {
    let mut text = String::from("Fixes ");
    let mut n = 1;
    while text.len() < bytes {
        text.push_str(&format!("#{n}, "));
        n += 1;
    }
    text
}

fn hostile(c: &mut Criterion) {
    let (b, o, t) = tag_sets(32_000);
    let size = serde_json::to_string(&o).map(|s| s.len()).unwrap_or(0);
    c.bench_function(
        &format!("merge 32,000 tags per side ({size} bytes a side)"),
        |bench| bench.iter(|| merge_documents(&b, &o, &t).expect("merge")),
    );
    let (b, o, t) = tag_sets(10_000);
    c.bench_function(
        "merge 10,000 tags per side (about 300 KB in all)",
        |bench| bench.iter(|| merge_documents(&b, &o, &t).expect("merge")),
    );
    for bytes in [300_000, 1_300_000] {
        let text = references(bytes);
        let found = issue_references(&text).len();
        c.bench_function(
            &format!("magic words in {} KB ({found} references)", bytes / 1000),
            |bench| bench.iter(|| issue_references(&text)),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = hostile
}
criterion_main!(benches);
