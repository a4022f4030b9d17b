//! The queue on a real SQLite file: fan-out, order per target, leases,
//! retries, dead jobs, status.

use std::time::Duration;

use forge_core::event::{self, NewEvent};
use forge_core::Store;
use serde_json::json;

use crate::queue::{self, Schedule, State};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("forge.db")).expect("store");
    (dir, store)
}

fn append(store: &Store, kind: &str, project: &str) -> i64 {
    event::append(
        store.conn(),
        &NewEvent {
            kind,
            project,
            actor: "alice",
            issue: Some(1),
            fields: json!({}),
        },
    )
    .expect("event")
}

/// Routes each event to its project (one target per project), skipping
/// `git.push`.
fn by_project(
    e: &forge_core::event::Event,
) -> forge_core::Result<Vec<(String, serde_json::Value)>> {
    Ok(match e.kind.as_str() {
        "git.push" => Vec::new(),
        _ => vec![(e.project.clone(), json!({"kind": e.kind}))],
    })
}

const LEASE: Duration = Duration::from_secs(30);

#[test]
fn events_become_jobs_once_and_keep_their_order_per_target() {
    let (_d, store) = store();
    for (kind, project) in [
        ("issue.new", "a"),
        ("issue.new", "b"),
        ("git.push", "a"),
        ("issue.comment.added", "a"),
    ] {
        append(&store, kind, project);
    }
    let read = queue::fan_out(&store, "hooks", 100, 0, &mut by_project).expect("fan out");
    assert_eq!(read, 4);
    assert_eq!(queue::cursor(&store, "hooks").expect("cursor"), 4);
    // Nothing new: nothing read, nothing doubled.
    assert_eq!(
        queue::fan_out(&store, "hooks", 100, 0, &mut by_project).expect("again"),
        0
    );
    assert_eq!(queue::list(&store, None, 100).expect("list").len(), 3);

    // One job per target at a time: a's second waits for its first.
    let first = queue::claim(&store, "hooks", "w1", 10, LEASE, 1).expect("claim");
    let targets: Vec<(&str, i64)> = first
        .iter()
        .map(|j| (j.target.as_str(), j.event_id))
        .collect();
    assert_eq!(targets, [("a", 1), ("b", 2)]);
    assert!(queue::claim(&store, "hooks", "w2", 10, LEASE, 2)
        .expect("claim")
        .is_empty());
    assert!(queue::complete(&store, &first[0], "w1", 3).expect("done"));
    let next = queue::claim(&store, "hooks", "w2", 10, LEASE, 4).expect("claim");
    assert_eq!(next.len(), 1);
    assert_eq!((next[0].target.as_str(), next[0].event_id), ("a", 4));
    assert_eq!(next[0].payload["kind"], "issue.comment.added");
}

#[test]
fn a_dead_workers_jobs_are_claimed_again_when_its_lease_ends() {
    let (_d, store) = store();
    append(&store, "issue.new", "a");
    queue::fan_out(&store, "hooks", 100, 0, &mut by_project).expect("fan out");
    let taken = queue::claim(&store, "hooks", "dies", 10, LEASE, 0).expect("claim");
    assert_eq!(taken.len(), 1);
    // The worker is gone; before the lease ends nobody may take the job.
    assert!(queue::claim(&store, "hooks", "w2", 10, LEASE, 29_999)
        .expect("claim")
        .is_empty());
    let again = queue::claim(&store, "hooks", "w2", 10, LEASE, 30_001).expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    // The dead worker's late answer changes nothing; the new owner's does.
    assert!(!queue::complete(&store, &taken[0], "dies", 30_002).expect("late"));
    assert!(queue::complete(&store, &again[0], "w2", 30_003).expect("done"));
    assert_eq!(
        queue::list(&store, Some(State::Done), 10)
            .expect("done")
            .len(),
        1
    );
}

#[test]
fn failures_follow_the_schedule_then_the_job_is_dead_until_retried() {
    let (_d, store) = store();
    append(&store, "issue.new", "a");
    queue::fan_out(&store, "hooks", 100, 0, &mut by_project).expect("fan out");
    let schedule = Schedule(vec![Duration::from_secs(10), Duration::from_secs(100)]);
    assert_eq!(schedule.attempts(), 3);

    let mut now = 0;
    let job = &queue::claim(&store, "hooks", "w", 1, LEASE, now).expect("claim")[0];
    assert_eq!(
        queue::fail(&store, job, "w", "500 from the target", &schedule, now).expect("fail"),
        State::Pending
    );
    let waiting = &queue::list(&store, Some(State::Pending), 1).expect("list")[0];
    // 10 s, and at most a tenth more of jitter.
    assert!(
        (10_000..=11_000).contains(&(waiting.run_at - now)),
        "{}",
        waiting.run_at
    );
    assert_eq!(waiting.last_error.as_deref(), Some("500 from the target"));
    assert!(queue::claim(&store, "hooks", "w", 1, LEASE, now + 9_999)
        .expect("early")
        .is_empty());

    now = waiting.run_at;
    let job = &queue::claim(&store, "hooks", "w", 1, LEASE, now).expect("claim")[0];
    queue::fail(&store, job, "w", "timeout", &schedule, now).expect("fail");
    now += 111_000;
    let job = &queue::claim(&store, "hooks", "w", 1, LEASE, now).expect("claim")[0];
    assert_eq!(job.attempts, 3);
    assert_eq!(
        queue::fail(&store, job, "w", "refused", &schedule, now).expect("fail"),
        State::Dead
    );

    let status = queue::status(&store, now).expect("status");
    assert_eq!(
        (
            status[0].consumer.as_str(),
            status[0].dead,
            status[0].pending
        ),
        ("hooks", 1, 0)
    );
    assert_eq!(
        queue::retry(&store, Some("hooks"), None, now).expect("retry"),
        1
    );
    let status = queue::status(&store, now).expect("status");
    assert_eq!(
        (status[0].dead, status[0].pending, status[0].retrying),
        (0, 1, 0)
    );
    let job = &queue::claim(&store, "hooks", "w", 1, LEASE, now).expect("claim")[0];
    queue::fail(
        &store,
        job,
        "w",
        "still refused",
        &Schedule(Vec::new()),
        now,
    )
    .expect("fail");
    assert_eq!(queue::purge_dead(&store, None).expect("purge"), 1);
    assert!(queue::list(&store, None, 10).expect("list").is_empty());
}

#[test]
fn a_new_consumer_may_start_at_the_end_and_status_counts_the_lag() {
    let (_d, store) = store();
    append(&store, "issue.new", "a");
    queue::start_at_end(&store, "late", 0).expect("start");
    assert_eq!(queue::cursor(&store, "late").expect("cursor"), 1);
    append(&store, "issue.new", "a");
    append(&store, "issue.new", "b");
    let now = forge_core::time::now_epoch() * 1000 + 5_000;
    let status = queue::status(&store, now).expect("status");
    assert_eq!(status[0].lag_events, 2);
    assert!(
        (4..=6).contains(&status[0].lag_seconds),
        "{}",
        status[0].lag_seconds
    );
    queue::fan_out(&store, "late", 1, now, &mut by_project).expect("fan out");
    assert_eq!(queue::status(&store, now).expect("status")[0].lag_events, 1);
}

#[test]
fn the_standard_schedule_has_eight_attempts() {
    let s = Schedule::standard();
    assert_eq!(s.attempts(), 8);
    let first = s.delay_before(2).expect("a first retry");
    assert!((Duration::from_secs(5)..=Duration::from_millis(5_500)).contains(&first));
    assert!(s.delay_before(8).expect("the last") >= Duration::from_secs(36_000));
    assert_eq!(s.delay_before(9), None);
    assert_eq!(s.delay_before(1), None);
}

#[test]
fn runs_behind_a_head_are_claimed_in_order_and_given_back_and_old_done_jobs_pruned() {
    let (_d, store) = store();
    for _ in 0..5 {
        append(&store, "issue.new", "a");
    }
    queue::fan_out(&store, "hooks", 100, 0, &mut by_project).expect("fan out");
    let heads = queue::claim(&store, "hooks", "w1", 10, LEASE, 1).expect("claim");
    assert_eq!(heads.len(), 1, "one head per target");
    let run = queue::claim_runs(&store, heads, "w1", 3, LEASE, 1).expect("run");
    let events: Vec<i64> = run.iter().map(|j| j.event_id).collect();
    assert_eq!(
        events,
        [1, 2, 3],
        "the head and the two ready jobs behind it"
    );
    // Nobody else takes a job of the target while the run is held.
    assert!(queue::claim(&store, "hooks", "w2", 10, LEASE, 2)
        .expect("claim")
        .is_empty());
    // The first is delivered; the rest are given back, unattempted.
    assert!(queue::complete(&store, &run[0], "w1", 5).expect("done"));
    assert_eq!(
        queue::release(&store, &run[1..], "w1").expect("released"),
        2
    );
    let next = queue::claim(&store, "hooks", "w2", 10, LEASE, 6).expect("claim");
    assert_eq!((next[0].event_id, next[0].attempts), (2, 1));

    // Done jobs stay until they are older than the cut.
    assert_eq!(queue::prune_done(&store, 5).expect("prune"), 0);
    assert_eq!(queue::prune_done(&store, 6).expect("prune"), 1);
    assert!(queue::list(&store, Some(State::Done), 10)
        .expect("done")
        .is_empty());
}

#[test]
fn parallel_work_keeps_each_targets_order_and_holds_back_behind_a_failure() {
    let (dir, store) = store();
    for i in 0..30 {
        append(&store, "issue.new", ["a", "b", "c"][i % 3]);
    }
    queue::fan_out(&store, "hooks", 100, 0, &mut by_project).expect("fan out");
    let stores = queue::Stores::new(&dir.path().join("forge.db"));
    let seen = std::sync::Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let attempted = queue::work_parallel::<(), forge_core::Error>(
        &store,
        &stores,
        "hooks",
        "w",
        10,
        LEASE,
        &stop,
        3,
        &|own: &Store, _: &mut (), job: &queue::Job| {
            seen.lock()
                .expect("lock")
                .push((job.target.clone(), job.event_id));
            // Target b fails at its third job: the rest of its run waits.
            if job.target == "b" && job.event_id == 8 {
                queue::fail(
                    own,
                    job,
                    "w",
                    "down",
                    &Schedule(vec![Duration::from_secs(60)]),
                    queue::now_ms(),
                )?;
                return Ok(false);
            }
            queue::complete(own, job, "w", queue::now_ms())?;
            Ok(true)
        },
    )
    .expect("work");
    let seen = seen.into_inner().expect("lock");
    assert_eq!(attempted, seen.len());
    for target in ["a", "b", "c"] {
        let ids: Vec<i64> = seen
            .iter()
            .filter(|(t, _)| t == target)
            .map(|(_, id)| *id)
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{target} in order: {ids:?}"
        );
    }
    let b: Vec<i64> = seen
        .iter()
        .filter(|(t, _)| t == "b")
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(b, [2, 5, 8], "b stops at its failure");
    assert_eq!(seen.iter().filter(|(t, _)| t == "a").count(), 10);
    // b's later jobs were given back, not lost: pending behind the retry.
    let pending = queue::list(&store, Some(State::Pending), 100).expect("list");
    assert_eq!(pending.iter().filter(|j| j.target == "b").count(), 8);
}
