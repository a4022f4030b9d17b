//! One writer at a time per repository within a process.
//!
//! Writers of a branch move it by compare-and-swap and retry when another
//! writer got in first; that is what keeps separate processes safe. Inside
//! one process (a server's worker threads) such retries are wasted work that
//! grows with the number of writers, so they queue here instead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

/// Repositories being written: by whom, and how many guards that thread holds.
type Busy = Option<HashMap<PathBuf, (ThreadId, usize)>>;

static BUSY: Mutex<Busy> = Mutex::new(None);
static FREED: Condvar = Condvar::new();

fn busy() -> MutexGuard<'static, Busy> {
    // A panic while holding this lock cannot leave the set half-changed.
    BUSY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The right to write a repository, held until dropped.
#[derive(Debug)]
#[must_use = "the repository is only reserved while the guard lives"]
pub struct WriteGuard {
    path: PathBuf,
}

impl WriteGuard {
    /// Waits until no other thread of this process writes `path`. A thread
    /// that already holds it gets it again at once.
    pub(crate) fn acquire(path: &Path) -> WriteGuard {
        let me = std::thread::current().id();
        let mut guard = busy();
        loop {
            let holders = guard.get_or_insert_with(HashMap::new);
            match holders.get_mut(path) {
                None => {
                    holders.insert(path.to_path_buf(), (me, 1));
                    break;
                }
                Some((owner, depth)) if *owner == me => {
                    *depth += 1;
                    break;
                }
                Some(_) => guard = FREED.wait(guard).unwrap_or_else(|e| e.into_inner()),
            }
        }
        WriteGuard {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        let mut guard = busy();
        if let Some(holders) = guard.as_mut() {
            if let Some((_, depth)) = holders.get_mut(&self.path) {
                *depth -= 1;
                if *depth == 0 {
                    holders.remove(&self.path);
                    drop(guard);
                    FREED.notify_all();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn writers_of_one_path_take_turns_and_other_paths_do_not_wait() {
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (inside, most) = (inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _g = WriteGuard::acquire(Path::new("/repo/a.git"));
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("writer thread");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        let _a = WriteGuard::acquire(Path::new("/repo/a.git"));
        let _b = WriteGuard::acquire(Path::new("/repo/b.git"));
        // The holder may take it again (a write that syncs).
        let _again = WriteGuard::acquire(Path::new("/repo/a.git"));
    }

    #[test]
    fn a_path_is_free_again_once_its_last_guard_drops() {
        let path = Path::new("/repo/nested.git");
        let outer = WriteGuard::acquire(path);
        let inner = WriteGuard::acquire(path);
        drop(inner);
        let other = std::thread::spawn(move || {
            let _g = WriteGuard::acquire(Path::new("/repo/nested.git"));
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!other.is_finished(), "still held by the outer guard");
        drop(outer);
        other.join().expect("the other thread gets it");
    }
}
