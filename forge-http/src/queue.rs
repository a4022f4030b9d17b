//! Group commit for ticket writes.
//!
//! Requests that write one project's tickets line up here. The first of
//! them leads: it takes every write queued so far and runs them as one batch
//! ([`forge_git::Repo::with_staged_commits`]): each write is still its own
//! commit, but the batch costs one pack file and one ref update. The others
//! wait for their result; when the batch is done, the leader hands the lead
//! to the first write that queued meanwhile, so no request waits behind more
//! than one batch besides its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};

use forge_tickets::Tracker;

use crate::api::ApiError;

/// One write: runs on the leader's thread with the batch's tracker (again
/// if the batch has to be redone); gives the number it made or touched.
pub(crate) type Write = Box<dyn FnMut(&Tracker<'_>) -> Result<u64, ApiError> + Send>;

enum Reply {
    Done(Result<u64, ApiError>),
    Lead,
}

struct Job {
    write: Write,
    reply: mpsc::Sender<Reply>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    leading: bool,
}

/// The queues of the tickets repositories being written.
#[derive(Default)]
pub(crate) struct WriteQueues {
    queues: Mutex<HashMap<PathBuf, Queue>>,
}

impl std::fmt::Debug for WriteQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteQueues").finish_non_exhaustive()
    }
}

/// Clears the lead when the leader stops, also by a panic: the next queued
/// write leads (or the queue goes idle), so a failed batch never stalls it.
struct Leading<'q> {
    queues: &'q WriteQueues,
    path: &'q Path,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let mut queues = self.queues.lock();
        if let Some(q) = queues.get_mut(self.path) {
            match q.jobs.first() {
                Some(next) => {
                    // Its thread waits on this channel; it leads from here.
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

impl WriteQueues {
    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, Queue>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `write` in a batch on the tickets repository at `path`.
    /// `batch` runs a batch on this thread when it leads: it gets the
    /// writes and returns their results in order.
    pub fn submit(
        &self,
        path: &Path,
        write: Write,
        batch: impl FnOnce(Vec<Write>) -> Vec<Result<u64, ApiError>>,
    ) -> Result<u64, ApiError> {
        let (reply, answer) = mpsc::channel();
        let lead = {
            let mut queues = self.lock();
            let q = queues.entry(path.to_path_buf()).or_default();
            q.jobs.push(Job { write, reply });
            !std::mem::replace(&mut q.leading, true)
        };
        let gone = || ApiError::new(500, "EINVALIDREQ", "the write was lost with its batch");
        if !lead {
            match answer.recv() {
                Ok(Reply::Done(result)) => return result,
                Ok(Reply::Lead) => {}
                Err(_) => return Err(gone()),
            }
        }
        {
            let _leading = Leading { queues: self, path };
            let jobs = self
                .lock()
                .get_mut(path)
                .map(|q| std::mem::take(&mut q.jobs))
                .unwrap_or_default();
            let (writes, replies): (Vec<Write>, Vec<mpsc::Sender<Reply>>) =
                jobs.into_iter().map(|j| (j.write, j.reply)).unzip();
            let count = writes.len();
            let mut results = batch(writes);
            results.resize_with(count, || Err(gone()));
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Reply::Done(result));
            }
        }
        match answer.recv() {
            Ok(Reply::Done(result)) => result,
            _ => Err(gone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Queues one write through a batch function that only counts.
    fn run(queues: &WriteQueues, n: u64, batches: &AtomicUsize, most: &AtomicUsize) -> u64 {
        let write: Write = Box::new(move |_| Ok(n));
        queues
            .submit(Path::new("/t.git"), write, |writes| {
                batches.fetch_add(1, Ordering::SeqCst);
                most.fetch_max(writes.len(), Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                // Running the writes needs a tracker; answering each is
                // what this test is about.
                (0..writes.len())
                    .map(|_| Err(ApiError::new(500, "X", "answered")))
                    .collect()
            })
            .unwrap_or(u64::MAX)
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
            assert_eq!(t.join().expect("writer"), u64::MAX);
        }
        let batches = batches.load(Ordering::SeqCst);
        assert!(batches < 16, "{batches} batches for 16 queued writes");
        assert!(most.load(Ordering::SeqCst) > 1);
        assert!(queues.lock().is_empty(), "the queue is idle again");
    }

    #[test]
    fn a_panicking_batch_leaves_the_queue_usable() {
        let queues = WriteQueues::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            queues.submit(Path::new("/p.git"), Box::new(|_| Ok(1)), |_| panic!("boom"))
        }));
        assert!(caught.is_err());
        let n = queues.submit(Path::new("/p.git"), Box::new(|_| Ok(2)), |writes| {
            vec![Ok(writes.len() as u64 + 6)]
        });
        assert_eq!(n.ok(), Some(7));
    }
}
