//! The issue tracker under load, against a bare libgit2 loop in the same run.
//!
//! Run with `cargo bench -p forge-benches --bench tickets_load`.
//! Environment: FORGE_BENCH_ISSUES (default 10000), FORGE_BENCH_COMMENTS
//! (default 50000), FORGE_BENCH_BULK (issues for the bulk path, default
//! 10000), FORGE_BENCH_REUSE (only reindex and sync, on the home a previous
//! run left in FORGE_BENCH_HOME), FORGE_BENCH_HOME (keep the forge home there, for
//! benches/cli.py; default: a temporary folder).

use std::time::{Duration, Instant};

use forge_benches::{
    bare_libgit2_loop, generated_issues, home_with_project, median, push_hundred_edits,
};
use forge_git::Repo;
use forge_tickets::{Actor, NewIssue, Tracker};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let issues = env_u64("FORGE_BENCH_ISSUES", 10_000);
    let comments = env_u64("FORGE_BENCH_COMMENTS", 50_000);
    let bulk_issues = env_u64("FORGE_BENCH_BULK", 10_000);
    let bulk_comments = env_u64("FORGE_BENCH_BULK_COMMENTS", 0);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = std::env::var_os("FORGE_BENCH_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("home"));
    // FORGE_BENCH_REUSE: measure reindex and sync on the home a previous run left.
    let reuse = std::env::var_os("FORGE_BENCH_REUSE").is_some();
    let verbose = std::env::var_os("FORGE_BENCH_VERBOSE").is_some();
    if root.exists() && !reuse {
        std::fs::remove_dir_all(&root).expect("clear FORGE_BENCH_HOME");
    }
    let baseline = tmp.path().join("baseline.git");
    let (home, store) = if reuse {
        let home = forge_core::ForgeHome::new(&root);
        let store = forge_core::Store::open(&home.db_path()).expect("store");
        (home, store)
    } else {
        home_with_project(&root, "bench")
    };
    let project = store.project("bench").expect("project");
    let tracker = Tracker::open_for_project(&store, &home, &project).expect("tracker");
    let alice = Actor::for_user(&store, &project, "alice").expect("alice");
    let bob = Actor::for_user(&store, &project, "bob").expect("bob");
    const CHUNK: u64 = 1000;

    if !reuse {
        println!(
            "# forge tickets load: {issues} issues, {comments} comments, one commit per change"
        );
        let (mut git_t, mut forge_t) = (Duration::ZERO, Duration::ZERO);
        let mut done = 0;
        while done < issues {
            let n = CHUNK.min(issues - done);
            git_t += bare_libgit2_loop(&baseline, done, n, "issue.json");
            let start = Instant::now();
            for i in done..done + n {
                let new = NewIssue {
                    tags: vec![format!("tag{}", i % 20)],
                    body: "Steps to reproduce: hit the nail.".into(),
                    ..NewIssue::titled(format!("Issue {i}"))
                };
                tracker.create_issue(&alice, new).expect("create");
            }
            forge_t += start.elapsed();
            done += n;
        }
        println!(
            "open issues:  bare libgit2 loop {:>7.0}/s   forge {:>7.0}/s   forge/loop = {:.0}%",
            rate(issues, git_t),
            rate(issues, forge_t),
            100.0 * rate(issues, forge_t) / rate(issues, git_t)
        );

        let (mut git_t, mut forge_t) = (Duration::ZERO, Duration::ZERO);
        let mut done = 0;
        while done < comments {
            let n = CHUNK.min(comments - done);
            git_t += bare_libgit2_loop(&baseline, issues + done, n, "comment-{n}.json");
            let start = Instant::now();
            for i in done..done + n {
                tracker
                    .comment(&bob, i % issues + 1, "I can reproduce this on my bench.")
                    .expect("comment");
            }
            forge_t += start.elapsed();
            done += n;
            if verbose && done % 10_000 == 0 {
                println!(
                    "  after {done} comments: loop {:.0}/s, forge {:.0}/s",
                    rate(done, git_t),
                    rate(done, forge_t)
                );
            }
        }
        println!(
            "add comments: bare libgit2 loop {:>7.0}/s   forge {:>7.0}/s   forge/loop = {:.0}%",
            rate(comments, git_t),
            rate(comments, forge_t),
            100.0 * rate(comments, forge_t) / rate(comments, git_t)
        );

        // The bulk path: many issues per commit, in another project.
        let new = forge_tickets::NewProject {
            full_name: "bulk".into(),
            owner: "alice".into(),
            ..Default::default()
        };
        let bulk_project =
            forge_tickets::create_project(&store, &home, &new, None).expect("bulk project");
        let bulk = Tracker::open_for_project(&store, &home, &bulk_project).expect("tracker");
        let bulk_alice = Actor::for_user(&store, &bulk_project, "alice").expect("alice");
        let start = Instant::now();
        let mut first = 1;
        while first <= bulk_issues {
            let n = CHUNK.min(bulk_issues - first + 1);
            bulk.import_issues(
                &bulk_alice,
                generated_issues(first, n, bulk_comments),
                "bulk",
            )
            .expect("import");
            first += n;
        }
        let bulk_t = start.elapsed();
        println!(
            "bulk path:    {:>7.0} issues/s ({bulk_issues} issues with {bulk_comments} comments each, {CHUNK} per commit, {:.2} s)",
            rate(bulk_issues, bulk_t),
            bulk_t.as_secs_f64()
        );

        let start = Instant::now();
        let report = bulk.reindex(&mut |_, _| {}).expect("reindex");
        println!(
            "reindex of the bulk project (library, warm): {} issues + {} comments in {:.3} s",
            report.issues,
            report.comments,
            start.elapsed().as_secs_f64()
        );
    }

    // Reindex, warm, once the background pack (which starts when writes
    // pause) is done.
    let tickets = home.project_paths("bench").tickets;
    let waited = Instant::now();
    let repo = Repo::open(&tickets).expect("repo");
    while repo.maintenance_pending() {
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "background pack finished {:.1} s after the last write",
        waited.elapsed().as_secs_f64()
    );
    let loose = count_loose(&tickets.join("objects"));
    let start = Instant::now();
    let report = tracker.reindex(&mut |_, _| {}).expect("reindex");
    println!(
        "reindex (library, warm): {} issues + {} comments in {:.3} s ({loose} loose objects left)",
        report.issues,
        report.comments,
        start.elapsed().as_secs_f64()
    );

    // Sync after a push that changed 100 issues.
    let mut samples = Vec::new();
    for round in 0..if issues >= 700 { 7u64 } else { 0 } {
        let pushed = push_hundred_edits(&repo, round, issues);
        let start = Instant::now();
        let report = tracker.sync().expect("sync");
        samples.push(start.elapsed());
        assert_eq!(report.issues, 100, "{pushed}");
    }
    if !samples.is_empty() {
        println!(
            "sync after a push changing 100 issues: median {:.1} ms over 7 rounds",
            median(samples).as_secs_f64() * 1000.0
        );
    }
    println!("forge home: {}", root.display());
}

fn count_loose(objects: &std::path::Path) -> usize {
    std::fs::read_dir(objects)
        .map(|dirs| {
            dirs.flatten()
                .filter(|d| d.file_name().len() == 2)
                .map(|d| std::fs::read_dir(d.path()).map(|f| f.count()).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}
