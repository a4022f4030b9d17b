//! Rounds of work on a consumer's jobs: a round claims each ready
//! target's run and hands its jobs to the consumer in order, on one thread
//! ([`work`]) or several ([`work_parallel`], with connections kept in
//! [`Stores`]). Claiming and the jobs' states are the parent module's.

use std::time::Duration;

use forge_core::{Result, Store};

use super::{claim, claim_runs, now_ms, release, Job};

/// Jobs a worker leases behind each target's first ready job in a round.
const RUN: usize = 32;

/// One round of work for `consumer`: the ready jobs of up to `batch`
/// targets claimed (each target's ready run behind its first job) and
/// handed to `handle` in order, which says whether each is finished (a
/// failed one's target waits for its retry: the rest of its run is given
/// back). Once `stop` is set, the jobs not yet attempted are given back.
/// Returns how many jobs were attempted. The errors of `handle` end the
/// round (its jobs come back when their lease ends).
pub fn work<E: From<forge_core::Error>>(
    store: &Store,
    consumer: &str,
    owner: &str,
    batch: usize,
    lease: Duration,
    stop: &std::sync::atomic::AtomicBool,
    handle: &mut dyn FnMut(&Job) -> std::result::Result<bool, E>,
) -> std::result::Result<usize, E> {
    let runs = claimed_runs(store, consumer, owner, batch, lease)?;
    work_runs(store, &runs, owner, stop, handle)
}

/// One round of a consumer whose targets are set up by people (webhooks,
/// CI servers, mirrors): when it has none (`has_targets` false) and owes
/// nothing, its cursor moves to the end of the log (what happened before a
/// target existed is not sent to it later); else new events are routed
/// into jobs and a round of [`work`] runs. Returns how many jobs were
/// attempted.
#[allow(clippy::too_many_arguments)]
pub fn round<E: From<forge_core::Error>>(
    store: &Store,
    consumer: &str,
    has_targets: bool,
    owner: &str,
    batch: usize,
    lease: Duration,
    stop: &std::sync::atomic::AtomicBool,
    route: &mut dyn FnMut(&forge_core::event::Event) -> std::result::Result<super::Routes, E>,
    handle: &mut dyn FnMut(&Job) -> std::result::Result<bool, E>,
) -> std::result::Result<usize, E> {
    let owed: bool = store
        .conn()
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE consumer = ?1 AND state IN ('pending', 'running'))",
            [consumer],
            |r| r.get(0),
        )
        .map_err(|e| E::from(e.into()))?;
    if !has_targets && !owed {
        super::skip_to_end(store, consumer, now_ms())?;
        return Ok(0);
    }
    super::fan_out(store, consumer, 1000, now_ms(), route)?;
    work(store, consumer, owner, batch, lease, stop, handle)
}

/// One round's claim: each target's ready run (its first ready job and
/// those behind it), together and in order.
fn claimed_runs(
    store: &Store,
    consumer: &str,
    owner: &str,
    batch: usize,
    lease: Duration,
) -> Result<Vec<Vec<Job>>> {
    let now = now_ms();
    let heads = claim(store, consumer, owner, batch, lease, now)?;
    let mut runs: Vec<Vec<Job>> = Vec::new();
    for job in claim_runs(store, heads, owner, RUN, lease, now)? {
        match runs.last_mut() {
            Some(run) if run[0].target == job.target => run.push(job),
            _ => runs.push(vec![job]),
        }
    }
    Ok(runs)
}

/// Hands each run's jobs to `handle` in order: a failure gives back the
/// rest of its run (they wait for its retry), `stop` gives back what is
/// left. Returns how many jobs were attempted.
fn work_runs<E: From<forge_core::Error>>(
    store: &Store,
    runs: &[Vec<Job>],
    owner: &str,
    stop: &std::sync::atomic::AtomicBool,
    handle: &mut dyn FnMut(&Job) -> std::result::Result<bool, E>,
) -> std::result::Result<usize, E> {
    let mut attempted = 0;
    for run in runs {
        for (i, job) in run.iter().enumerate() {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                release(store, &run[i..], owner)?;
                break;
            }
            attempted += 1;
            if !handle(job)? {
                release(store, &run[i + 1..], owner)?;
                break;
            }
        }
    }
    Ok(attempted)
}

/// Connections to one database kept for the threads of [`work_parallel`]
/// from one round to the next: a connection opened for each thread of each
/// round prepared every statement again (a twentieth of the CPU of a mail
/// burst, under `perf`).
pub struct Stores {
    path: std::path::PathBuf,
    idle: std::sync::Mutex<Vec<Store>>,
}

impl Stores {
    /// Connections to the database at `path`, opened when first needed.
    pub fn new(path: &std::path::Path) -> Stores {
        Stores {
            path: path.to_path_buf(),
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Result<Store> {
        let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match kept {
            Some(store) => Ok(store),
            None => Store::open(&self.path),
        }
    }

    fn keep(&self, store: Store) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(store);
        }
    }
}

/// [`work`] on up to `threads` threads at once: each target's jobs on one
/// thread, in order (a failure holds back the rest of its target's run),
/// different targets side by side — for consumers whose jobs mostly wait
/// on another server. Each thread takes a connection of its own from
/// `stores` and keeps a `T` of its own for the round (a cache, say). The
/// first error ends the round.
#[allow(clippy::too_many_arguments)]
pub fn work_parallel<T: Default, E: From<forge_core::Error> + Send>(
    store: &Store,
    stores: &Stores,
    consumer: &str,
    owner: &str,
    batch: usize,
    lease: Duration,
    stop: &std::sync::atomic::AtomicBool,
    threads: usize,
    handle: &(dyn Fn(&Store, &mut T, &Job) -> std::result::Result<bool, E> + Sync),
) -> std::result::Result<usize, E> {
    let runs = claimed_runs(store, consumer, owner, batch, lease)?;
    let threads = threads.clamp(1, runs.len().max(1));
    let mut shares: Vec<Vec<Vec<Job>>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, run) in runs.into_iter().enumerate() {
        shares[i % threads].push(run);
    }
    let results: Vec<std::result::Result<usize, E>> = std::thread::scope(|scope| {
        let workers: Vec<_> = shares
            .into_iter()
            .map(|share| {
                scope.spawn(move || -> std::result::Result<usize, E> {
                    let own = stores.take()?;
                    let mut state = T::default();
                    let done = work_runs(&own, &share, owner, stop, &mut |job| {
                        handle(&own, &mut state, job)
                    });
                    stores.keep(own);
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(forge_core::Error::invalid("worker", "a sending thread panicked").into())
                })
            })
            .collect()
    });
    let mut attempted = 0;
    for r in results {
        attempted += r?;
    }
    Ok(attempted)
}
