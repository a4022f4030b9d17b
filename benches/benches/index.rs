//! Index reads and syncs on a 10,000-issue project, with criterion.
//!
//! Run with `cargo bench -p forge-benches --bench index`.

use criterion::{criterion_group, criterion_main, Criterion};
use forge_benches::{generated_issues, home_with_project, push_hundred_edits};
use forge_git::Repo;
use forge_tickets::{Actor, IssueFilter, Tracker};

fn index(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (home, store) = home_with_project(dir.path(), "bench");
    let project = store.project("bench").expect("project");
    let tracker = Tracker::open_for_project(&store, &home, &project).expect("tracker");
    let alice = Actor::for_user(&store, &project, "alice").expect("alice");
    for first in (1..=10_000).step_by(1000) {
        tracker
            .import_issues(&alice, generated_issues(first, 1000, 5), "bulk")
            .expect("import");
    }
    let filter = IssueFilter {
        tags: vec!["tag7".into()],
        status: Some("open".into()),
        limit: 50,
        ..Default::default()
    };
    c.bench_function("list --tag T --limit 50 (10k issues)", |b| {
        b.iter(|| tracker.list(&alice, &filter).expect("list"))
    });
    c.bench_function("show one issue with 5 comments", |b| {
        b.iter(|| tracker.issue(&alice, 4242).expect("show"))
    });

    let repo = Repo::open(&home.project_paths("bench").tickets).expect("repo");
    let mut round = 0u64;
    c.bench_function("sync after a push changing 100 issues", |b| {
        b.iter_batched(
            || {
                round += 1;
                push_hundred_edits(&repo, round, 10_000)
            },
            |_| tracker.sync().expect("sync"),
            criterion::BatchSize::PerIteration,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = index
}
criterion_main!(benches);
