//! Group commit: writes queued by several threads run as one batch.
//!
//! Writers of one repository line up in a queue. The first of them leads:
//! it takes every write queued so far and runs them in one batch through
//! [`Repo::with_staged_commits`]: each write is still its own commit (its
//! author, its message, on top of the previous one), but the batch costs one
//! pack and one ref update. The batch's index updates are one SQLite
//! transaction committed only once the branch moved, so no other connection
//! sees the index ahead of git, and a failed batch leaves no index change.
//! A batch whose branch another process moved meanwhile lands nothing and
//! runs again on the new tip. The others wait for their result; when the
//! batch is done, the leader hands the lead to the first write that queued
//! meanwhile, so no writer waits behind more than one batch besides its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex, MutexGuard};

use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use forge_git::Repo;

use crate::tx::IndexTx;
use crate::{Error, PullRequests, Result, Tracker};

/// How many times a batch runs again when another process moved its branch.
const ATTEMPTS: u32 = 8;

enum Reply {
    Done(Result<()>),
    Lead,
}

struct Job<J> {
    write: J,
    reply: mpsc::Sender<Reply>,
}

struct Queue<J> {
    jobs: Vec<Job<J>>,
    leading: bool,
}

/// The queues of the repositories being written, for one type of job.
pub(crate) struct WriteQueues<J> {
    queues: Mutex<HashMap<PathBuf, Queue<J>>>,
}

impl<J> Default for WriteQueues<J> {
    fn default() -> Self {
        WriteQueues {
            queues: Mutex::new(HashMap::new()),
        }
    }
}

/// Clears the lead when the leader stops, also by a panic: the next queued
/// write leads (or the queue goes idle), so a failed batch never stalls it.
struct Leading<'q, J> {
    queues: &'q WriteQueues<J>,
    path: &'q Path,
}

impl<J> Drop for Leading<'_, J> {
    fn drop(&mut self) {
        let mut queues = self.queues.lock();
        if let Some(q) = queues.get_mut(self.path) {
            match q.jobs.first() {
                // Its thread waits on this channel; it leads from here.
                Some(next) => {
                    let _ = next.reply.send(Reply::Lead);
                }
                None => {
                    q.leading = false;
                    queues.remove(self.path);
                }
            }
        }
    }
}

fn lost() -> Error {
    Error::Batch("the write was lost with its batch".into())
}

impl<J> WriteQueues<J> {
    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, Queue<J>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `write` in a batch on the repository at `path`. `batch` runs a
    /// batch on this thread when it leads: it gets the writes and returns
    /// their results in order.
    pub(crate) fn submit(
        &self,
        path: &Path,
        write: J,
        batch: impl FnOnce(Vec<J>) -> Vec<Result<()>>,
    ) -> Result<()> {
        let (reply, answer) = mpsc::channel();
        let lead = {
            let mut queues = self.lock();
            let q = queues.entry(path.to_path_buf()).or_insert_with(|| Queue {
                jobs: Vec::new(),
                leading: false,
            });
            q.jobs.push(Job { write, reply });
            !std::mem::replace(&mut q.leading, true)
        };
        if !lead {
            match answer.recv() {
                Ok(Reply::Done(result)) => return result,
                Ok(Reply::Lead) => {}
                Err(_) => return Err(lost()),
            }
        }
        {
            let _leading = Leading { queues: self, path };
            let jobs = self
                .lock()
                .get_mut(path)
                .map(|q| std::mem::take(&mut q.jobs))
                .unwrap_or_default();
            let (writes, replies): (Vec<J>, Vec<mpsc::Sender<Reply>>) =
                jobs.into_iter().map(|j| (j.write, j.reply)).unzip();
            let count = writes.len();
            let mut results = batch(writes);
            results.resize_with(count, || Err(lost()));
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Reply::Done(result));
            }
        }
        match answer.recv() {
            Ok(Reply::Done(result)) => result,
            _ => Err(lost()),
        }
    }
}

/// Runs `count` writes as one batch on the repository at `path` (see the
/// module docs); `run` makes them with the staged repository and gives each
/// one's result.
pub(crate) fn run_batch(
    store: &Store,
    path: &Path,
    count: usize,
    mut run: impl FnMut(&Rc<Repo>) -> Result<Vec<Result<()>>>,
) -> Vec<Result<()>> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut index = None;
        let landed = Repo::with_staged_commits(path, |repo| {
            index = Some(IndexTx::begin(store.conn())?);
            run(repo)
        });
        let fail_all = |e: Error| -> Vec<Result<()>> {
            let shared = Arc::new(e);
            (0..count)
                .map(|_| Err(Error::Shared(shared.clone())))
                .collect()
        };
        match landed {
            Ok(Ok(results)) => {
                if let Some(tx) = index {
                    // Should this fail, the commits are on the branch all
                    // the same and the next read indexes them.
                    let _ = tx.commit();
                }
                return results;
            }
            Ok(Err(e)) => return fail_all(e),
            Err(forge_git::Error::Contended { .. }) if attempts < ATTEMPTS => continue,
            Err(e) => return fail_all(e.into()),
        }
    }
}

/// A write of an issue, queued for a batch.
type IssueJob = Box<dyn FnMut(&Tracker<'_>) -> Result<()> + Send>;
/// A write of a pull request, queued for a batch.
type PullJob = Box<dyn FnMut(&PullRequests<'_>) -> Result<()> + Send>;

/// A server's group commit: writes of issues and of pull requests queued by
/// its threads run in batches (one per repository at a time). Share one
/// between the threads that write.
#[derive(Default)]
pub struct GroupCommit {
    issues: WriteQueues<IssueJob>,
    pulls: WriteQueues<PullJob>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

/// Where a queued write keeps its result for its own thread.
type Kept<T> = Arc<Mutex<Option<T>>>;

fn keep<T>(slot: &Kept<T>, value: T) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
}

fn taken<T>(slot: Kept<T>) -> Result<T> {
    let value = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    value.ok_or_else(lost)
}

impl GroupCommit {
    /// Runs an issue write of `project` in a batch with the issue writes
    /// other threads queued meanwhile; `store` is this thread's connection.
    pub fn issues<T: Send + 'static>(
        &self,
        store: &Store,
        home: &ForgeHome,
        project: &Project,
        write: impl FnMut(&Tracker<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let path = home.project_paths(&project.full_name).tickets;
        let slot: Kept<T> = Arc::default();
        let kept = slot.clone();
        let mut write = write;
        let job: IssueJob = Box::new(move |t: &Tracker<'_>| {
            keep(&kept, write(t)?);
            Ok(())
        });
        self.issues.submit(&path, job, |mut jobs| {
            run_batch(store, &path, jobs.len(), |repo| {
                let branch = repo.head_branch()?;
                let tracker = Tracker::with_repo(store, repo.clone(), branch, project);
                Ok(jobs.iter_mut().map(|j| j(&tracker)).collect())
            })
        })?;
        taken(slot)
    }

    /// Runs a pull-request write of `project` in a batch, as [`issues`](Self::issues).
    pub fn pulls<T: Send + 'static>(
        &self,
        store: &Store,
        home: &ForgeHome,
        project: &Project,
        write: impl FnMut(&PullRequests<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let path = home.project_paths(&project.full_name).requests;
        let slot: Kept<T> = Arc::default();
        let kept = slot.clone();
        let mut write = write;
        let job: PullJob = Box::new(move |p: &PullRequests<'_>| {
            keep(&kept, write(p)?);
            Ok(())
        });
        self.pulls.submit(&path, job, |mut jobs| {
            run_batch(store, &path, jobs.len(), |repo| {
                let pulls = PullRequests::with_repo(store, home, project, repo.clone())?;
                Ok(jobs.iter_mut().map(|j| j(&pulls)).collect())
            })
        })?;
        taken(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Queues one write through a batch function that only counts.
    fn run(queues: &WriteQueues<u64>, n: u64, batches: &AtomicUsize, most: &AtomicUsize) -> bool {
        queues
            .submit(Path::new("/t.git"), n, |writes| {
                batches.fetch_add(1, Ordering::SeqCst);
                most.fetch_max(writes.len(), Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                writes.iter().map(|_| Ok(())).collect()
            })
            .is_ok()
    }

    #[test]
    fn writes_queued_behind_a_batch_form_the_next_one_and_all_are_answered() {
        let queues = Arc::new(WriteQueues::default());
        let batches = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..16)
            .map(|n| {
                let (q, b, m) = (queues.clone(), batches.clone(), most.clone());
                std::thread::spawn(move || run(&q, n, &b, &m))
            })
            .collect();
        for t in threads {
            assert!(t.join().expect("writer"));
        }
        let batches = batches.load(Ordering::SeqCst);
        assert!(batches < 16, "{batches} batches for 16 queued writes");
        assert!(most.load(Ordering::SeqCst) > 1);
        assert!(queues.lock().is_empty(), "the queue is idle again");
    }

    #[test]
    fn a_panicking_batch_leaves_the_queue_usable() {
        let queues = WriteQueues::<u64>::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            queues.submit(Path::new("/p.git"), 1, |_| panic!("boom"))
        }));
        assert!(caught.is_err());
        let seen = std::cell::Cell::new(0);
        let done = queues.submit(Path::new("/p.git"), 2, |writes| {
            seen.set(writes.iter().sum::<u64>());
            vec![Ok(())]
        });
        assert!(done.is_ok());
        assert_eq!(seen.get(), 2);
    }
}
