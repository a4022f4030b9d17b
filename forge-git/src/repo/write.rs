//! Writing: commits by compare-and-swap, staged batches packed at once,
//! and the background packing that keeps a busy repository small.

use super::*;
use crate::tree::{self, Edit};

/// Stores one object and gives its id: into the object database, or into
/// a pack being built.
type Put<'a> = dyn FnMut(ObjectType, &[u8]) -> Result<Oid, Error> + 'a;

/// An object's kind and content.
pub(super) type Object = (ObjectType, std::rc::Rc<[u8]>);

/// What a staged batch has written so far.
#[derive(Debug, Default)]
pub(super) struct Staged {
    /// The branches it moved.
    tips: BTreeMap<String, StagedTip>,
    /// The objects it created (commits, and the trees and blobs along the
    /// paths they changed), kept here, not in libgit2's object database:
    /// writing there rescans the pack folder for every new object. They are
    /// packed at the end; until then [`Repo::object`] finds them.
    pub(super) objects: std::collections::HashMap<Oid, Object>,
}

/// Where a branch stood when a staged batch first wrote it, and where the
/// batch has taken it.
#[derive(Debug, Clone, Copy)]
struct StagedTip {
    from: Option<CommitId>,
    to: CommitId,
}

/// Loose objects (estimated) past which a background `git gc --auto` is started.
const AUTO_PACK_LOOSE_OBJECTS: usize = 2_560;

/// Changes grouped by their first path component: `(rest of path, new content or None to delete)`.
type Nested<'a> = BTreeMap<&'a str, Vec<(&'a str, Option<&'a [u8]>)>>;

/// Seconds without a write after which the background pack may run.
const IDLE_SECONDS: u64 = 5;

/// Whether a background job holds `lock`; one older than `stale_seconds`
/// died, and its lock is removed.
fn maintenance_running(lock: &Path, stale_seconds: u64) -> bool {
    if let Ok(meta) = std::fs::metadata(lock) {
        let age = meta.modified().ok().and_then(|t| t.elapsed().ok());
        if age.is_none_or(|age| age.as_secs() <= stale_seconds) {
            return true;
        }
        let _ = std::fs::remove_file(lock);
    }
    false
}

/// Runs the shell `script` (`args` as `$1`...) in the background, holding
/// `lock`, which the script removes when done. Nothing runs when another
/// job took the lock first.
fn spawn_maintenance(lock: &Path, script: &str, args: &[&std::ffi::OsStr]) {
    if std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(lock)
        .is_err()
    {
        return;
    }
    // At the lowest CPU priority where `nice` exists: requests come first.
    let spawn = |program: &str, pre: &[&str]| {
        Command::new(program)
            .args(pre)
            .arg("-c")
            .arg(script)
            .arg("forge-maintenance")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    };
    let child = spawn("nice", &["-n", "19", "sh"]).or_else(|_| spawn("sh", &[]));
    match child {
        // Reap it from a thread so a long-running process leaves no zombie;
        // a short-lived one exits first and the waiter is re-parented.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(_) => {
            let _ = std::fs::remove_file(lock);
        }
    }
}

/// Packs past which the background maintenance runs `git gc --auto` (git's
/// default `gc.autoPackLimit`).
const AUTO_PACK_LIMIT: usize = 50;

/// Packs of at most this many objects count as small (see `merge_small_packs`).
const SMALL_PACK_OBJECTS: u64 = 16_384;

/// Small packs past which a background geometric repack merges them.
pub(super) const SMALL_PACKS: usize = 8;

/// Change sets at least this large are written as one pack, not loose objects.
pub(super) const BULK_CHANGES: usize = 256;

impl Repo {
    /// Where the running staged batch has taken `branch`, if it moved it.
    pub(super) fn staged_tip(&self, branch: &str) -> Option<CommitId> {
        let staged = self.staged.as_ref()?.borrow();
        staged.tips.get(branch).map(|t| t.to)
    }

    /// Runs `f` on the repository at `path` opened so that the commits made
    /// through it with [`commit_with`](Self::commit_with) stay in memory, then
    /// writes them all as one pack and moves each branch they moved once, by
    /// compare-and-swap from where it stood when the batch first wrote it.
    ///
    /// Each commit is still its own commit (its own author and message, on
    /// top of the previous one); only the files on disk are shared. This is a
    /// server's group commit: writers that queued up while another wrote
    /// cost one pack file and one ref update instead of a loose file per
    /// object and a ref update each. Other threads of this process that use
    /// [`write_lock`](Self::write_lock) wait until the batch is on disk.
    /// When another process moved a branch meanwhile, nothing of the batch
    /// lands and the error is [`Error::Contended`].
    pub fn with_staged_commits<T>(
        path: &Path,
        f: impl FnOnce(&std::rc::Rc<Repo>) -> T,
    ) -> Result<T, Error> {
        relax_object_checks();
        let repo = std::rc::Rc::new(Repo {
            repo: Repository::open(path).map_err(|e| git_err(path, e))?,
            path: path.to_path_buf(),
            staged: Some(std::cell::RefCell::default()),
        });
        let _writing = repo.write_lock();
        let out = f(&repo);
        let Staged { tips, objects } = repo
            .staged
            .as_ref()
            .map(|s| std::mem::take(&mut *s.borrow_mut()))
            .unwrap_or_default();
        if tips.is_empty() {
            return Ok(out);
        }
        // One undeltified pack of the new objects, in id order.
        let mut objects: Vec<(Oid, Object)> = objects.into_iter().collect();
        objects.sort_unstable_by_key(|(id, _)| *id);
        let mut pack = crate::pack::PackBuf::new();
        for (_, (kind, data)) in &objects {
            pack.add(*kind, data);
        }
        repo.write_pack(pack)?;
        repo.merge_small_packs();
        for (branch, tip) in tips {
            let refname = format!("refs/heads/{branch}");
            // A lock held by someone else (git's own pack-refs, say) is
            // waited out; a branch that moved is a lost race.
            let mut attempts = 0;
            loop {
                attempts += 1;
                let moved = match tip.from {
                    Some(from) => repo.repo.reference_matching(
                        &refname,
                        tip.to.0,
                        true,
                        from.0,
                        "forge: staged commits",
                    ),
                    None => repo
                        .repo
                        .reference(&refname, tip.to.0, false, "forge: staged commits"),
                };
                match moved {
                    Ok(_) => break,
                    Err(e) if e.code() == ErrorCode::Locked && attempts < 100 => {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(e)
                        if matches!(
                            e.code(),
                            ErrorCode::Modified | ErrorCode::Exists | ErrorCode::Locked
                        ) =>
                    {
                        return Err(Error::Contended {
                            path: repo.path.display().to_string(),
                            branch,
                            attempts,
                        })
                    }
                    Err(e) => return Err(repo.err(e)),
                }
            }
        }
        repo.maybe_pack();
        Ok(out)
    }

    /// Commits a set of changes on `branch` as one commit authored by `who`.
    ///
    /// `changes` gets the current tip and returns the changes to make on top
    /// of it. The branch moves by compare-and-swap: when another writer moved
    /// it first, `changes` is called again with the new tip and the commit is
    /// rebuilt on it. An empty change list makes no commit and returns the tip.
    pub fn commit_with<F>(
        &self,
        branch: &str,
        who: &Identity,
        message: &str,
        mut changes: F,
    ) -> Result<CommitId, Error>
    where
        F: FnMut(Option<CommitId>) -> Result<Vec<Change>, Error>,
    {
        let refname = format!("refs/heads/{branch}");
        let sig = Signature::now(&who.name, &who.email).map_err(|e| self.err(e))?;
        if let Some(staged) = &self.staged {
            // The objects go to memory and the branch moves there too; see
            // `with_staged_commits`.
            let tip = self.branch_tip(branch)?;
            let changes = changes(tip)?;
            if changes.is_empty() {
                if let Some(tip) = tip {
                    return Ok(tip);
                }
            }
            let mut put = |kind: ObjectType, bytes: &[u8]| {
                let id = Oid::hash_object(kind, bytes).map_err(|e| self.err(e))?;
                staged
                    .borrow_mut()
                    .objects
                    .entry(id)
                    .or_insert_with(|| (kind, bytes.into()));
                Ok(id)
            };
            let commit = self.commit_objects(tip, &changes, &sig, message, &mut put)?;
            let commit = CommitId(commit);
            let mut staged = staged.borrow_mut();
            staged
                .tips
                .entry(branch.to_string())
                .and_modify(|t| t.to = commit)
                .or_insert(StagedTip {
                    from: tip,
                    to: commit,
                });
            return Ok(commit);
        }
        const ATTEMPTS: u32 = 64;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                lost_race_pause(attempt);
            }
            let tip = self.branch_tip(branch)?;
            let changes = changes(tip)?;
            if changes.is_empty() {
                if let Some(tip) = tip {
                    return Ok(tip);
                }
            }
            let commit = if changes.len() >= BULK_CHANGES {
                self.write_commit_packed(tip, &changes, &sig, message)?
            } else {
                self.write_commit(tip, &changes, &sig, message)?
            };
            let moved = match tip {
                Some(tip) => self
                    .repo
                    .reference_matching(&refname, commit, true, tip.0, message),
                None => self.repo.reference(&refname, commit, false, message),
            };
            match moved {
                Ok(_) => {
                    self.after_write(branch, &changes)?;
                    return Ok(CommitId(commit));
                }
                Err(e)
                    if matches!(
                        e.code(),
                        ErrorCode::Modified | ErrorCode::Exists | ErrorCode::Locked
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(self.err(e)),
            }
        }
        Err(Error::Contended {
            path: self.path.display().to_string(),
            branch: branch.into(),
            attempts: ATTEMPTS,
        })
    }

    /// Keeps the packs of staged batches few: past [`SMALL_PACKS`] packs of
    /// at most [`SMALL_PACK_OBJECTS`] objects, a background `git repack
    /// --geometric=2` merges the small ones so that pack sizes double from
    /// one to the next (their number stays logarithmic, an object is
    /// rewritten a few times at most). It runs beside the writers, not in
    /// their way; one at a time per repository, guarded by a lock file.
    /// Git's object lookups, and libgit2's rescans of the pack folder on
    /// each write, grow with the number of packs.
    fn merge_small_packs(&self) {
        let git_dir = self.repo.path();
        let dir = git_dir.join("objects").join("pack");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        // Object counts from the index sizes (header, fan-out, and per
        // object an id, a CRC and an offset; trailer of two checksums).
        let small = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".idx"))
            .filter(|e| {
                e.metadata()
                    .is_ok_and(|m| m.len().saturating_sub(8 + 1024 + 40) / 28 <= SMALL_PACK_OBJECTS)
            })
            .count();
        if small <= SMALL_PACKS {
            return;
        }
        let lock = git_dir.join("forge-repack.lock");
        if maintenance_running(&lock, 600) {
            return;
        }
        // No delta search, no compression, no bitmaps: this runs often, on
        // small packs; `git gc` does the thorough job later.
        spawn_maintenance(
            &lock,
            r#"git --git-dir="$1" -c pack.compression=0 -c pack.writeReverseIndex=false repack -d -q --geometric=2 --window=0 --no-write-bitmap-index; rm -f "$2""#,
            &[git_dir.as_os_str(), lock.as_os_str()],
        );
    }

    /// Writes the trees and the commit of a change set to the object
    /// database; returns the commit (no ref moves).
    fn write_commit(
        &self,
        tip: Option<CommitId>,
        changes: &[Change],
        sig: &Signature<'_>,
        message: &str,
    ) -> Result<Oid, Error> {
        let odb = self.repo.odb().map_err(|e| self.err(e))?;
        let mut put =
            |kind: ObjectType, bytes: &[u8]| odb.write(kind, bytes).map_err(|e| self.err(e));
        self.commit_objects(tip, changes, sig, message, &mut put)
    }

    /// The trees and the commit of a change set on top of `tip`, each
    /// handed to `put` (which stores it and gives its id) before anything
    /// that names it; returns the commit.
    fn commit_objects(
        &self,
        tip: Option<CommitId>,
        changes: &[Change],
        sig: &Signature<'_>,
        message: &str,
        put: &mut Put<'_>,
    ) -> Result<Oid, Error> {
        let base = tip.map(|t| self.commit_tree_id(t)).transpose()?;
        let root = match self.edit_tree(base, &nest(changes)?, put)? {
            Some(root) => root,
            None => put(ObjectType::Tree, &[])?,
        };
        let commit = crate::pack::commit_bytes(root, tip.map(|t| t.0), sig, message);
        put(ObjectType::Commit, &commit)
    }

    /// Like [`Repo::write_commit`], but for large change sets: the objects are
    /// built in memory and land on disk as one pack instead of thousands of
    /// loose files.
    fn write_commit_packed(
        &self,
        tip: Option<CommitId>,
        changes: &[Change],
        sig: &Signature<'_>,
        message: &str,
    ) -> Result<Oid, Error> {
        let mut pack = crate::pack::PackBuf::new();
        let mut put = |kind: ObjectType, bytes: &[u8]| {
            let id = Oid::hash_object(kind, bytes).map_err(|e| self.err(e))?;
            pack.add(kind, bytes);
            Ok(id)
        };
        let commit = self.commit_objects(tip, changes, sig, message, &mut put)?;
        let disk = self.write_pack(pack)?;
        disk.refresh().map_err(|e| self.err(e))?;
        if !disk.exists(commit) {
            return Err(Error::Git {
                path: self.path.display().to_string(),
                message: format!("the pack written for commit {commit} cannot be read back"),
            });
        }
        Ok(commit)
    }

    /// Hands a finished pack to libgit2, which indexes it into the object
    /// folder; returns the object database it went to.
    fn write_pack(&self, pack: crate::pack::PackBuf) -> Result<git2::Odb<'_>, Error> {
        let odb = self.repo.odb().map_err(|e| self.err(e))?;
        let mut writer = odb.packwriter().map_err(|e| self.err(e))?;
        std::io::Write::write_all(&mut writer, &pack.finish()).map_err(|e| Error::Git {
            path: self.path.display().to_string(),
            message: format!("writing a pack: {e}"),
        })?;
        writer.commit().map_err(|e| self.err(e))?;
        drop(writer);
        Ok(odb)
    }

    /// Rewrites one tree level (`base`, `None` for a new folder) with
    /// `changes`, the folders below first; returns `None` when it ends up
    /// empty. Unchanged entries are copied as bytes (see `tree.rs`).
    fn edit_tree(
        &self,
        base: Option<Oid>,
        changes: &Nested<'_>,
        put: &mut Put<'_>,
    ) -> Result<Option<Oid>, Error> {
        let base = base.map(|id| self.object(id)).transpose()?;
        let raw = base.as_ref().map_or(&[][..], |(_, data)| data);
        let mut edits = Vec::new();
        for (dir, items) in changes {
            if dir.is_empty() {
                for (name, content) in items {
                    let to = match content {
                        Some(bytes) => Some((tree::FILE, put(ObjectType::Blob, bytes)?)),
                        None => None,
                    };
                    edits.push(Edit { name, to });
                }
                continue;
            }
            let sub_base = match tree::find(raw, dir)? {
                Some((tree::FOLDER, id)) => Some(id),
                _ => None,
            };
            let sub = self.edit_tree(sub_base, &nest_level(items), put)?;
            edits.push(Edit {
                name: dir,
                to: sub.map(|id| (tree::FOLDER, id)),
            });
        }
        let bytes = tree::splice(raw, edits)?;
        if bytes.is_empty() {
            return Ok(None);
        }
        put(ObjectType::Tree, &bytes).map(Some)
    }

    /// Keeps a clone's index and files in step with a branch we moved, and
    /// keeps the object store packed.
    fn after_write(&self, branch: &str, changes: &[Change]) -> Result<(), Error> {
        if !self.repo.is_bare() && self.head_branch().ok().as_deref() == Some(branch) {
            let mut checkout = git2::build::CheckoutBuilder::new();
            checkout.force();
            for c in changes {
                checkout.path(c.path());
            }
            self.repo
                .checkout_head(Some(&mut checkout))
                .map_err(|e| self.err(e))?;
        }
        self.maybe_pack();
        Ok(())
    }

    /// Keeps the object store packed without slowing writers down.
    ///
    /// Packing deletes thousands of loose object files, and on some file
    /// systems (ext4 without a journal) creating files right after a mass
    /// deletion is several times slower for minutes. So the pack runs in the
    /// background once writes pause: a small shell loop waits until the
    /// repository has seen no write for [`IDLE_SECONDS`] (or gives up waiting
    /// after ten minutes), then runs `git gc --auto`. One such waiter at a
    /// time per repository, guarded by a lock file.
    fn maybe_pack(&self) {
        let git_dir = self.repo.path();
        let marker = git_dir.join("forge-last-write");
        let touched = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&marker)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        if touched.is_err() {
            return;
        }
        // A waiter is already there (checked before the costlier count below);
        // one whose lock is over an hour old died and is replaced.
        let lock = git_dir.join("forge-maintenance.lock");
        if maintenance_running(&lock, 3600) {
            return;
        }
        // Like git itself: estimate the loose count from one of the 256 fan-out folders.
        let loose = std::fs::read_dir(git_dir.join("objects").join("17"))
            .map(|d| d.count())
            .unwrap_or(0);
        if loose * 256 < AUTO_PACK_LOOSE_OBJECTS {
            // Staged batches write packs, not loose objects: past git's own
            // limit of packs (`gc.autoPackLimit`), `gc --auto` repacks them.
            let packs = std::fs::read_dir(git_dir.join("objects").join("pack"))
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".pack"))
                        .count()
                })
                .unwrap_or(0);
            if packs <= AUTO_PACK_LIMIT {
                return;
            }
        }
        let script = r#"
            i=0
            while [ "$i" -lt 600 ]; do
                last=$(stat -c %Y "$2" 2>/dev/null || echo 0)
                [ $(( $(date +%s) - last )) -ge "$4" ] && break
                sleep 1
                i=$((i + 1))
            done
            git --git-dir="$1" -c gc.auto="$5" -c gc.autoDetach=false gc --auto --quiet
            rm -f "$3"
        "#;
        spawn_maintenance(
            &lock,
            script,
            &[
                git_dir.as_os_str(),
                marker.as_os_str(),
                lock.as_os_str(),
                IDLE_SECONDS.to_string().as_ref(),
                AUTO_PACK_LOOSE_OBJECTS.to_string().as_ref(),
            ],
        );
    }

    /// Whether a background pack is waiting or running.
    pub fn maintenance_pending(&self) -> bool {
        self.repo.path().join("forge-maintenance.lock").exists()
    }
}

/// Checks the paths of a change set and groups them by first component
/// (`""` holds the files of this level).
fn nest(changes: &[Change]) -> Result<Nested<'_>, Error> {
    let mut nested: Nested<'_> = BTreeMap::new();
    for change in changes {
        let path = change.path();
        if path.is_empty()
            || path.starts_with('/')
            || path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == ".." || c == ".git" || c.contains('\0'))
        {
            return Err(Error::InvalidPath(path.chars().take(200).collect()));
        }
        let content = match change {
            Change::Put { content, .. } => Some(content.as_slice()),
            Change::Delete { .. } => None,
        };
        let (head, rest) = path.split_once('/').unwrap_or(("", path));
        nested.entry(head).or_default().push((rest, content));
    }
    Ok(nested)
}

/// Groups the rest-paths of one folder by their next component.
fn nest_level<'a>(items: &[(&'a str, Option<&'a [u8]>)]) -> Nested<'a> {
    let mut nested: Nested<'a> = BTreeMap::new();
    for (path, content) in items {
        let (head, rest) = path.split_once('/').unwrap_or(("", *path));
        nested.entry(head).or_default().push((rest, *content));
    }
    nested
}

/// A pause after losing the race for a ref to another writer (often
/// another process, a server's batch): growing with each loss up to
/// 32 ms, spread by the clock's low bits so that racers fall out of step.
fn lost_race_pause(lost: u32) {
    let ceiling_us = 500u64 << lost.min(6);
    let spread = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let pause = ceiling_us / 2 + spread % (ceiling_us / 2 + 1);
    std::thread::sleep(std::time::Duration::from_micros(pause));
}
