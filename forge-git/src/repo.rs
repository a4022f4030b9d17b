//! The repository handle.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;

use git2::{
    ErrorCode, ObjectType, Oid, Repository, RepositoryInitOptions, Signature, TreeWalkMode,
    TreeWalkResult,
};

use crate::Error;

/// A commit id (hex SHA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(Oid);

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for CommitId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Oid::from_str(s)
            .map(CommitId)
            .map_err(|_| Error::UnknownCommit(s.chars().take(80).collect()))
    }
}

/// The author of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Name (forge writes the username here).
    pub name: String,
    /// Email address.
    pub email: String,
}

impl Identity {
    /// An identity from a name and an email.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Identity {
            name: name.into(),
            email: email.into(),
        }
    }
}

/// One file change of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Write `content` at `path` (creating folders as needed).
    Put {
        /// Slash-separated relative path.
        path: String,
        /// New content.
        content: Vec<u8>,
    },
    /// Remove the file at `path` (empty folders vanish).
    Delete {
        /// Slash-separated relative path.
        path: String,
    },
}

impl Change {
    /// Shorthand for [`Change::Put`].
    pub fn put(path: impl Into<String>, content: Vec<u8>) -> Self {
        Change::Put {
            path: path.into(),
            content,
        }
    }

    /// Shorthand for [`Change::Delete`].
    pub fn delete(path: impl Into<String>) -> Self {
        Change::Delete { path: path.into() }
    }

    fn path(&self) -> &str {
        match self {
            Change::Put { path, .. } | Change::Delete { path } => path,
        }
    }
}

/// A commit with the facts sync needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// Its id.
    pub id: CommitId,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// Author time, epoch seconds.
    pub time: i64,
    /// Paths it changed against its first parent (all paths for a root commit).
    pub paths: Vec<String>,
}

/// A git repository, bare (forge home) or with a working tree (an offline clone).
pub struct Repo {
    repo: Repository,
    path: PathBuf,
    /// Set on a repository opened by [`Repo::with_staged_commits`]: the
    /// branches its commits moved, kept in memory until the batch ends.
    staged: Option<std::cell::RefCell<Staged>>,
}

/// What a staged batch has written so far.
#[derive(Debug, Default)]
struct Staged {
    /// The branches it moved.
    tips: BTreeMap<String, StagedTip>,
    /// The objects it may have created (commits, and the trees and blobs
    /// along the paths they changed), to be packed at the end.
    objects: Vec<Oid>,
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
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("forge-maintenance")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
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
const SMALL_PACKS: usize = 8;

/// Change sets at least this large are written as one pack, not loose objects.
const BULK_CHANGES: usize = 256;

impl CommitId {
    pub(crate) fn from_oid(oid: Oid) -> Self {
        CommitId(oid)
    }

    pub(crate) fn oid(self) -> Oid {
        self.0
    }
}

impl Repo {
    fn err(&self, e: git2::Error) -> Error {
        git_err(&self.path, e)
    }

    pub(crate) fn error(&self, e: git2::Error) -> Error {
        self.err(e)
    }

    pub(crate) fn git(&self) -> &Repository {
        &self.repo
    }

    /// Creates a bare repository whose HEAD names `main` (or opens an existing one).
    pub fn init_bare(path: &Path) -> Result<Repo, Error> {
        relax_object_checks();
        let mut opts = RepositoryInitOptions::new();
        opts.bare(true).initial_head("main").mkpath(true);
        let repo = Repository::init_opts(path, &opts).map_err(|e| git_err(path, e))?;
        Ok(Repo {
            repo,
            path: path.to_path_buf(),
            staged: None,
        })
    }

    /// Makes a fork at `path`: a bare repository that borrows this one's
    /// objects through git alternates (so it costs almost no disk) and starts
    /// with the same branches, tags and default branch.
    pub fn fork_to(&self, path: &Path) -> Result<Repo, Error> {
        if path.exists() {
            return Err(Error::Git {
                path: path.display().to_string(),
                message: "a repository already exists there".into(),
            });
        }
        let fork = Repo::init_bare(path)?;
        let objects = self.repo.path().join("objects");
        let objects = objects.canonicalize().unwrap_or(objects);
        let info = fork.repo.path().join("objects").join("info");
        let io = |e: std::io::Error| Error::Git {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&info).map_err(io)?;
        std::fs::write(info.join("alternates"), format!("{}\n", objects.display())).map_err(io)?;
        // Reopen so libgit2 sees the alternates.
        let fork = Repo::open(path)?;
        let refs = self.repo.references().map_err(|e| self.err(e))?;
        for reference in refs {
            let reference = reference.map_err(|e| self.err(e))?;
            let (Ok(name), Some(target)) = (reference.name(), reference.target()) else {
                continue;
            };
            if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
                fork.repo
                    .reference(name, target, true, "fork")
                    .map_err(|e| fork.err(e))?;
            }
        }
        if let Ok(branch) = self.head_branch() {
            fork.repo
                .set_head(&format!("refs/heads/{branch}"))
                .map_err(|e| fork.err(e))?;
        }
        Ok(fork)
    }

    /// Opens an existing repository, bare or not.
    pub fn open(path: &Path) -> Result<Repo, Error> {
        relax_object_checks();
        let repo = Repository::open(path).map_err(|e| git_err(path, e))?;
        Ok(Repo {
            repo,
            path: path.to_path_buf(),
            staged: None,
        })
    }

    /// Waits until no other thread of this process is writing this
    /// repository through [`write_lock`](Self::write_lock), and keeps others
    /// out until the guard drops. Branch updates stay compare-and-swap (other
    /// processes are not covered); this only spares threads of one process
    /// from retrying against each other.
    pub fn write_lock(&self) -> crate::WriteGuard {
        crate::WriteGuard::acquire(self.repo.path())
    }

    /// The path the repository was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `.git` folder (the repository itself when bare).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The branch HEAD names (`main` for new repositories), even if unborn.
    pub fn head_branch(&self) -> Result<String, Error> {
        let head = self.repo.find_reference("HEAD").map_err(|e| self.err(e))?;
        match head.symbolic_target().ok().flatten() {
            Some(target) => Ok(target
                .strip_prefix("refs/heads/")
                .unwrap_or(target)
                .to_string()),
            None => Err(Error::Git {
                path: self.path.display().to_string(),
                message: "HEAD is detached; check out a branch".into(),
            }),
        }
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
        let odb = repo.repo.odb().map_err(|e| repo.err(e))?;
        // Above the loose (1) and pack (2) backends: every write lands here.
        let _memory = odb.add_new_mempack_backend(1000).map_err(|e| repo.err(e))?;
        let out = f(&repo);
        let Staged { tips, mut objects } = repo
            .staged
            .as_ref()
            .map(|s| std::mem::take(&mut *s.borrow_mut()))
            .unwrap_or_default();
        if tips.is_empty() {
            return Ok(out);
        }
        // One undeltified pack of the new objects (libgit2's own dump of a
        // mempack would pack each commit's whole tree, with delta search).
        objects.sort_unstable();
        objects.dedup();
        let mut pack = crate::pack::PackBuf::new();
        for oid in objects {
            let object = odb.read(oid).map_err(|e| repo.err(e))?;
            pack.add(object.kind(), object.data());
        }
        let mut writer = odb.packwriter().map_err(|e| repo.err(e))?;
        std::io::Write::write_all(&mut writer, &pack.finish()).map_err(|e| Error::Git {
            path: repo.path.display().to_string(),
            message: format!("writing a pack: {e}"),
        })?;
        writer.commit().map_err(|e| repo.err(e))?;
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

    /// The commit a branch points at, `None` while it is unborn.
    pub fn branch_tip(&self, branch: &str) -> Result<Option<CommitId>, Error> {
        if let Some(tip) = self
            .staged
            .as_ref()
            .and_then(|s| s.borrow().tips.get(branch).copied())
        {
            return Ok(Some(tip.to));
        }
        match self.repo.refname_to_id(&format!("refs/heads/{branch}")) {
            Ok(oid) => Ok(Some(CommitId(oid))),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Whether a commit exists in this repository.
    pub fn has_commit(&self, id: CommitId) -> bool {
        self.repo.find_commit(id.0).is_ok()
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
            let commit = self.write_commit(&self.repo, tip, &changes, &sig, message)?;
            let written = self.written_objects(commit, &changes)?;
            let commit = CommitId(commit);
            let mut staged = staged.borrow_mut();
            staged.objects.extend(written);
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
        for _ in 0..ATTEMPTS {
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
                self.write_commit(&self.repo, tip, &changes, &sig, message)?
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

    /// The objects a commit may have added over its parent: itself, its
    /// tree, and each tree and blob along the paths `changes` touched.
    fn written_objects(&self, commit: Oid, changes: &[Change]) -> Result<Vec<Oid>, Error> {
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(|e| self.err(e))?;
        let mut out = vec![commit, tree.id()];
        for change in changes {
            let path = change.path();
            let mut prefix = String::new();
            for part in path.split('/') {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
                match tree.get_path(Path::new(&prefix)) {
                    Ok(entry) => out.push(entry.id()),
                    Err(_) => break, // deleted from here down
                }
            }
        }
        Ok(out)
    }

    /// Writes the trees and the commit of a change set with `repo`'s object
    /// database; returns the commit (no ref moves).
    fn write_commit(
        &self,
        repo: &Repository,
        tip: Option<CommitId>,
        changes: &[Change],
        sig: &Signature<'_>,
        message: &str,
    ) -> Result<Oid, Error> {
        let (parent, base_tree) = self.parent_and_tree(repo, tip)?;
        let tree_id = self.apply(repo, base_tree.as_ref(), changes)?;
        let tree = repo.find_tree(tree_id).map_err(|e| self.err(e))?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let commit = repo
            .commit(None, sig, sig, message, &tree, &parents)
            .map_err(|e| self.err(e))?;
        Ok(commit)
    }

    /// The commit at `tip` and its tree, both `None` on an unborn branch.
    #[allow(clippy::type_complexity)]
    fn parent_and_tree<'r>(
        &self,
        repo: &'r Repository,
        tip: Option<CommitId>,
    ) -> Result<(Option<git2::Commit<'r>>, Option<git2::Tree<'r>>), Error> {
        let parent = tip
            .map(|t| repo.find_commit(t.0))
            .transpose()
            .map_err(|e| self.err(e))?;
        let tree = parent
            .as_ref()
            .map(|c| c.tree())
            .transpose()
            .map_err(|e| self.err(e))?;
        Ok((parent, tree))
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
        let (_, base) = self.parent_and_tree(&self.repo, tip)?;
        let mut pack = crate::pack::PackBuf::new();
        let nested = nest(changes)?;
        let root = match self.tree_inline(base.as_ref(), &nested, &mut pack)? {
            Some(root) => root,
            None => {
                let empty = crate::pack::tree_bytes(&[]);
                let id = Oid::hash_object(ObjectType::Tree, &empty).map_err(|e| self.err(e))?;
                pack.add(ObjectType::Tree, &empty);
                id
            }
        };
        let commit_bytes = crate::pack::commit_bytes(root, tip.map(|t| t.0), sig, message);
        let commit =
            Oid::hash_object(ObjectType::Commit, &commit_bytes).map_err(|e| self.err(e))?;
        pack.add(ObjectType::Commit, &commit_bytes);
        let disk = self.repo.odb().map_err(|e| self.err(e))?;
        let mut writer = disk.packwriter().map_err(|e| self.err(e))?;
        std::io::Write::write_all(&mut writer, &pack.finish()).map_err(|e| Error::Git {
            path: self.path.display().to_string(),
            message: format!("writing a pack: {e}"),
        })?;
        writer.commit().map_err(|e| self.err(e))?;
        disk.refresh().map_err(|e| self.err(e))?;
        if !disk.exists(commit) {
            return Err(Error::Git {
                path: self.path.display().to_string(),
                message: format!("the pack written for commit {commit} cannot be read back"),
            });
        }
        Ok(commit)
    }

    /// One tree level of the bulk path, serialized and hashed here and added
    /// to `pack` with its blobs; returns `None` when it ends up empty.
    fn tree_inline(
        &self,
        base: Option<&git2::Tree<'_>>,
        changes: &Nested<'_>,
        pack: &mut crate::pack::PackBuf,
    ) -> Result<Option<Oid>, Error> {
        let mut entries: BTreeMap<String, (i32, Oid)> = BTreeMap::new();
        if let Some(base) = base {
            for entry in base.iter() {
                if let Ok(name) = entry.name() {
                    entries.insert(name.to_string(), (entry.filemode(), entry.id()));
                }
            }
        }
        for (dir, items) in changes {
            if dir.is_empty() {
                for (name, content) in items {
                    match content {
                        Some(bytes) => {
                            let id = Oid::hash_object(ObjectType::Blob, bytes)
                                .map_err(|e| self.err(e))?;
                            pack.add(ObjectType::Blob, bytes);
                            entries.insert(name.to_string(), (0o100644, id));
                        }
                        None => {
                            entries.remove(*name);
                        }
                    }
                }
                continue;
            }
            let sub_base = match entries.get(*dir) {
                Some((mode, id)) if *mode == 0o040000 => {
                    Some(self.repo.find_tree(*id).map_err(|e| self.err(e))?)
                }
                _ => None,
            };
            match self.tree_inline(sub_base.as_ref(), &nest_level(items), pack)? {
                Some(id) => {
                    entries.insert(dir.to_string(), (0o040000, id));
                }
                None => {
                    entries.remove(*dir);
                }
            }
        }
        if entries.is_empty() {
            return Ok(None);
        }
        let list: Vec<(&str, i32, Oid)> = entries
            .iter()
            .map(|(n, (m, id))| (n.as_str(), *m, *id))
            .collect();
        let bytes = crate::pack::tree_bytes(&list);
        let id = Oid::hash_object(ObjectType::Tree, &bytes).map_err(|e| self.err(e))?;
        pack.add(ObjectType::Tree, &bytes);
        Ok(Some(id))
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

    fn apply(
        &self,
        repo: &Repository,
        base: Option<&git2::Tree<'_>>,
        changes: &[Change],
    ) -> Result<Oid, Error> {
        let nested = nest(changes)?;
        self.build_tree(repo, base, &nested)?.map_or_else(
            || {
                repo.treebuilder(None)
                    .and_then(|b| b.write())
                    .map_err(|e| self.err(e))
            },
            Ok,
        )
    }

    /// Rebuilds one tree level; returns `None` when it ends up empty.
    fn build_tree(
        &self,
        repo: &Repository,
        base: Option<&git2::Tree<'_>>,
        changes: &Nested<'_>,
    ) -> Result<Option<Oid>, Error> {
        let mut builder = repo.treebuilder(base).map_err(|e| self.err(e))?;
        for (dir, items) in changes {
            if dir.is_empty() {
                for (name, content) in items {
                    match content {
                        Some(bytes) => {
                            let blob = repo.blob(bytes).map_err(|e| self.err(e))?;
                            builder
                                .insert(name, blob, 0o100644)
                                .map_err(|e| self.err(e))?;
                        }
                        None => {
                            if builder.get(name).map_err(|e| self.err(e))?.is_some() {
                                builder.remove(name).map_err(|e| self.err(e))?;
                            }
                        }
                    }
                }
                continue;
            }
            let sub_base = match builder.get(dir).map_err(|e| self.err(e))? {
                Some(entry) if entry.kind() == Some(ObjectType::Tree) => {
                    Some(repo.find_tree(entry.id()).map_err(|e| self.err(e))?)
                }
                _ => None,
            };
            match self.build_tree(repo, sub_base.as_ref(), &nest_level(items))? {
                Some(oid) => {
                    builder
                        .insert(dir, oid, 0o040000)
                        .map_err(|e| self.err(e))?;
                }
                None => {
                    if builder.get(dir).map_err(|e| self.err(e))?.is_some() {
                        builder.remove(dir).map_err(|e| self.err(e))?;
                    }
                }
            }
        }
        if builder.is_empty() {
            return Ok(None);
        }
        let tree = builder.write().map_err(|e| self.err(e))?;
        Ok(Some(tree))
    }

    /// The content of `path` at `commit`, `None` if there is no such file.
    pub fn read_file(&self, commit: CommitId, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let tree = self.commit_tree(commit)?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) => entry,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(None);
        }
        let blob = self.repo.find_blob(entry.id()).map_err(|e| self.err(e))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// Whether `path` names a file at `commit` (reads trees only).
    pub fn has_file(&self, commit: CommitId, path: &str) -> Result<bool, Error> {
        let tree = self.commit_tree(commit)?;
        match tree.get_path(Path::new(path)) {
            Ok(entry) => Ok(entry.kind() == Some(ObjectType::Blob)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(false),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Calls `visit(path, content)` for every file of `commit` whose path
    /// starts with `prefix` (use `""` for all files), in tree order.
    pub fn for_each_file<F>(&self, commit: CommitId, mut visit: F) -> Result<(), Error>
    where
        F: FnMut(&str, &[u8]) -> Result<(), Error>,
    {
        let tree = self.commit_tree(commit)?;
        // Read through the object database directly: the object cache would
        // only hold blobs we never look at again.
        let odb = self.repo.odb().map_err(|e| self.err(e))?;
        let mut failure = None;
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() != Some(ObjectType::Blob) {
                return TreeWalkResult::Ok;
            }
            let Ok(name) = entry.name() else {
                return TreeWalkResult::Skip;
            };
            let path = format!("{dir}{name}");
            let result = odb
                .read(entry.id())
                .map_err(|e| self.err(e))
                .and_then(|object| visit(&path, object.data()));
            match result {
                Ok(()) => TreeWalkResult::Ok,
                Err(e) => {
                    failure = Some(e);
                    TreeWalkResult::Abort
                }
            }
        })
        .or_else(|e| {
            if failure.is_some() {
                Ok(())
            } else {
                Err(self.err(e))
            }
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// The files directly in folder `dir` at `commit`, with their contents
    /// (none when the folder does not exist).
    pub fn files_under(
        &self,
        commit: CommitId,
        dir: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let tree = self.commit_tree(commit)?;
        let entry = match tree.get_path(Path::new(dir)) {
            Ok(e) => e,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.err(e)),
        };
        let Ok(sub) = self.repo.find_tree(entry.id()) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for item in sub.iter() {
            if item.kind() != Some(ObjectType::Blob) {
                continue;
            }
            let Ok(name) = item.name() else { continue };
            let blob = self.repo.find_blob(item.id()).map_err(|e| self.err(e))?;
            out.push((format!("{dir}/{name}"), blob.content().to_vec()));
        }
        Ok(out)
    }

    /// How many entries the root folder of `commit` has.
    pub fn top_level_entries(&self, commit: CommitId) -> Result<u64, Error> {
        Ok(self.commit_tree(commit)?.len() as u64)
    }

    /// How many files `commit` holds (walks trees only, reads no blob).
    pub fn count_files(&self, commit: CommitId) -> Result<u64, Error> {
        let tree = self.commit_tree(commit)?;
        let mut n = 0;
        tree.walk(TreeWalkMode::PreOrder, |_, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                n += 1;
            }
            TreeWalkResult::Ok
        })
        .map_err(|e| self.err(e))?;
        Ok(n)
    }

    fn commit_tree(&self, commit: CommitId) -> Result<git2::Tree<'_>, Error> {
        self.repo
            .find_commit(commit.0)
            .and_then(|c| c.tree())
            .map_err(|_| Error::UnknownCommit(commit.to_string()))
    }

    /// Paths that differ between two commits (`from = None`: every path of `to`).
    pub fn changed_paths(
        &self,
        from: Option<CommitId>,
        to: CommitId,
    ) -> Result<Vec<String>, Error> {
        let old = from.map(|f| self.commit_tree(f)).transpose()?;
        let new = self.commit_tree(to)?;
        self.diff_paths(old.as_ref(), &new)
    }

    /// Paths of the files that differ between two trees. Subtrees with the
    /// same id are skipped without being read, so the cost follows the size
    /// of the change, not of the repository (libgit2's diff walks every entry
    /// of each tree it enters and builds its path).
    fn diff_paths(
        &self,
        old: Option<&git2::Tree<'_>>,
        new: &git2::Tree<'_>,
    ) -> Result<Vec<String>, Error> {
        let mut paths = Vec::new();
        self.diff_trees(old, Some(new), "", &mut paths)?;
        paths.sort();
        Ok(paths)
    }

    fn diff_trees(
        &self,
        old: Option<&git2::Tree<'_>>,
        new: Option<&git2::Tree<'_>>,
        prefix: &str,
        out: &mut Vec<String>,
    ) -> Result<(), Error> {
        type Entries = BTreeMap<String, (Oid, bool)>;
        let entries = |tree: Option<&git2::Tree<'_>>| -> Entries {
            tree.map(|t| {
                t.iter()
                    .filter_map(|e| {
                        let name = e.name().ok()?.to_string();
                        Some((name, (e.id(), e.kind() == Some(ObjectType::Tree))))
                    })
                    .collect()
            })
            .unwrap_or_default()
        };
        let (old, new) = (entries(old), entries(new));
        let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let (o, n) = (old.get(name), new.get(name));
            if o.map(|e| e.0) == n.map(|e| e.0) {
                continue;
            }
            let path = format!("{prefix}{name}");
            let subtree = |e: Option<&(Oid, bool)>| -> Result<Option<git2::Tree<'_>>, Error> {
                match e {
                    Some((id, true)) => self.repo.find_tree(*id).map(Some).map_err(|e| self.err(e)),
                    _ => Ok(None),
                }
            };
            let (old_tree, new_tree) = (subtree(o)?, subtree(n)?);
            // A file on either side is a changed path; a folder on either side is walked.
            if o.is_some_and(|e| !e.1) || n.is_some_and(|e| !e.1) {
                out.push(path.clone());
            }
            if old_tree.is_some() || new_tree.is_some() {
                self.diff_trees(
                    old_tree.as_ref(),
                    new_tree.as_ref(),
                    &format!("{path}/"),
                    out,
                )?;
            }
        }
        Ok(())
    }

    /// Commits reachable from `to` but not from `from`, newest first, with
    /// the paths each changed against its first parent. Merge commits are
    /// listed with the paths they brought relative to their first parent.
    pub fn commits_between(
        &self,
        from: Option<CommitId>,
        to: CommitId,
        limit: usize,
    ) -> Result<Vec<CommitInfo>, Error> {
        let mut walk = self.repo.revwalk().map_err(|e| self.err(e))?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)
            .map_err(|e| self.err(e))?;
        walk.push(to.0).map_err(|e| self.err(e))?;
        if let Some(from) = from {
            walk.hide(from.0).map_err(|e| self.err(e))?;
        }
        let mut out = Vec::new();
        for oid in walk.take(limit) {
            let oid = oid.map_err(|e| self.err(e))?;
            let commit = self.repo.find_commit(oid).map_err(|e| self.err(e))?;
            let tree = commit.tree().map_err(|e| self.err(e))?;
            let parent_tree = match commit.parent(0) {
                Ok(p) => Some(p.tree().map_err(|e| self.err(e))?),
                Err(_) => None,
            };
            let author = commit.author();
            out.push(CommitInfo {
                id: CommitId(oid),
                author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
                author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
                time: author.when().seconds(),
                paths: self.diff_paths(parent_tree.as_ref(), &tree)?,
            });
        }
        Ok(out)
    }

    /// The identity git would use here (`user.name` / `user.email` of the repository's config).
    pub fn configured_identity(&self) -> Option<Identity> {
        let sig = self.repo.signature().ok()?;
        Some(Identity::new(sig.name().ok()?, sig.email().unwrap_or("")))
    }

    /// Sets a key in the repository's own config file.
    pub fn set_config(&self, key: &str, value: &str) -> Result<(), Error> {
        let config = self.repo.config().map_err(|e| self.err(e))?;
        let mut local = config
            .open_level(git2::ConfigLevel::Local)
            .map_err(|e| self.err(e))?;
        local.set_str(key, value).map_err(|e| self.err(e))?;
        // keep the `config` handle alive until the write is done
        drop(config);
        Ok(())
    }

    /// Reads a key of the repository's config.
    pub fn config_value(&self, key: &str) -> Option<String> {
        self.repo.config().ok()?.get_string(key).ok()
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
                .any(|c| c.is_empty() || c == "." || c == ".." || c == ".git")
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

/// forge writes every object before the tree or ref that names it, so
/// libgit2's existence check on each tree entry and ref target (one file read
/// each) only costs time; and reads are not re-hashed. Process-wide, set once.
fn relax_object_checks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_object_creation(false);
        // Hashing every object read again doubles the cost of a reindex; git
        // itself leaves that check to `git fsck`.
        git2::opts::strict_hash_verification(false);
    });
}

fn git_err(path: &Path, e: git2::Error) -> Error {
    Error::Git {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git")).expect("init");
        (dir, repo)
    }

    fn who() -> Identity {
        Identity::new("alice", "alice@example.org")
    }

    fn assert_fsck(path: &Path) {
        let fsck = Command::new("git")
            .args(["--git-dir", &path.to_string_lossy(), "fsck", "--strict"])
            .output()
            .expect("git runs");
        assert!(
            fsck.status.success(),
            "{}",
            String::from_utf8_lossy(&fsck.stderr)
        );
    }

    fn loose_and_packs(dir: &Path) -> (usize, usize) {
        let objects = dir.join("objects");
        let mut loose = 0;
        for entry in std::fs::read_dir(&objects).expect("objects").flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.len() == 2 {
                loose += std::fs::read_dir(entry.path()).expect("fan-out").count();
            }
        }
        let packs = std::fs::read_dir(objects.join("pack"))
            .expect("packs")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".pack"))
            .count();
        (loose, packs)
    }

    #[test]
    fn staged_commits_land_as_one_pack_and_one_ref_update() -> Result<(), Error> {
        let (d, repo) = repo();
        let path = d.path().join("r.git");
        let first = repo.commit_with("main", &who(), "first", |_| {
            Ok(vec![Change::put("a.json", b"1".to_vec())])
        })?;
        let before = loose_and_packs(&path);
        let ids = Repo::with_staged_commits(&path, |staged| -> Result<Vec<CommitId>, Error> {
            let mut ids = Vec::new();
            for n in 0..3 {
                let id = staged.commit_with("main", &who(), &format!("staged {n}"), |tip| {
                    assert_eq!(tip, ids.last().copied().or(Some(first)));
                    Ok(vec![Change::put(
                        format!("{n}/doc.json"),
                        n.to_string().into_bytes(),
                    )])
                })?;
                // Readable through the staged handle, not yet on the branch.
                assert_eq!(
                    staged.read_file(id, &format!("{n}/doc.json"))?,
                    Some(n.to_string().into_bytes())
                );
                assert_eq!(staged.branch_tip("main")?, Some(id));
                assert_eq!(Repo::open(&path)?.branch_tip("main")?, Some(first));
                ids.push(id);
            }
            Ok(ids)
        })??;
        let fresh = Repo::open(&path)?;
        assert_eq!(fresh.branch_tip("main")?, ids.last().copied());
        assert_eq!(fresh.read_file(ids[2], "0/doc.json")?, Some(b"0".to_vec()));
        let log = fresh.log_range(first, ids[2], 10)?;
        assert_eq!(log.len(), 3, "one commit per change");
        let after = loose_and_packs(&path);
        assert_eq!(after.0, before.0, "no loose object written");
        assert_eq!(after.1, before.1 + 1, "one pack");
        assert_fsck(&path);
        Ok(())
    }

    #[test]
    fn many_staged_batches_leave_few_packs_and_every_object() -> Result<(), Error> {
        let (d, repo) = repo();
        let path = d.path().join("r.git");
        let first = repo.commit_with("main", &who(), "first", |_| {
            Ok(vec![Change::put("a", b"1".to_vec())])
        })?;
        for n in 0..30 {
            Repo::with_staged_commits(&path, |staged| {
                staged.commit_with("main", &who(), &format!("batch {n}"), |_| {
                    Ok(vec![Change::put(
                        format!("{}/{n}.json", n % 4),
                        n.to_string().into_bytes(),
                    )])
                })
            })??;
        }
        // The background repack runs one at a time; batches written while
        // it ran wait for the next one, which the next batch starts. Wait
        // for each, and write one more batch while packs are still many.
        let wait = || {
            for _ in 0..400 {
                if !path.join("forge-repack.lock").exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        };
        for extra in 0..5 {
            wait();
            if loose_and_packs(&path).1 <= SMALL_PACKS + 1 {
                break;
            }
            Repo::with_staged_commits(&path, |staged| {
                staged.commit_with("main", &who(), &format!("extra {extra}"), |_| {
                    Ok(vec![Change::put(
                        format!("extra/{extra}.json"),
                        b"x".to_vec(),
                    )])
                })
            })??;
        }
        wait();
        let (loose, packs) = loose_and_packs(&path);
        assert!(
            packs <= SMALL_PACKS + 1,
            "{packs} packs: the small ones were merged"
        );
        let fresh = Repo::open(&path)?;
        let tip = fresh.branch_tip("main")?.expect("tip");
        for n in 0..30 {
            assert_eq!(
                fresh.read_file(tip, &format!("{}/{n}.json", n % 4))?,
                Some(n.to_string().into_bytes())
            );
        }
        let batches = fresh.log_range(first, tip, 100)?;
        assert_eq!(
            batches
                .iter()
                .filter(|c| c.title.starts_with("batch "))
                .count(),
            30,
            "one commit per write"
        );
        assert_fsck(&path);
        assert!(loose <= 4, "the first commit's objects only: {loose}");
        Ok(())
    }

    #[test]
    fn a_staged_batch_whose_branch_moved_elsewhere_lands_nothing() -> Result<(), Error> {
        let (d, repo) = repo();
        let path = d.path().join("r.git");
        repo.commit_with("main", &who(), "first", |_| {
            Ok(vec![Change::put("a", b"1".to_vec())])
        })?;
        let result = Repo::with_staged_commits(&path, |staged| {
            staged.commit_with("main", &who(), "staged", |_| {
                Ok(vec![Change::put("b", b"2".to_vec())])
            })?;
            // Another process's writer (no shared lock: its own handle, its
            // own thread) moves the branch first.
            std::thread::spawn({
                let path = path.clone();
                move || -> Result<CommitId, Error> {
                    let r = Repo::open(&path)?;
                    // commit_with itself takes no in-process lock, as a
                    // separate process would not.
                    r.commit_with("main", &who(), "elsewhere", |_| {
                        Ok(vec![Change::put("c", b"3".to_vec())])
                    })
                }
            })
            .join()
            .expect("thread")
        });
        let elsewhere = match result {
            Err(Error::Contended { .. }) => Repo::open(&path)?.branch_tip("main")?,
            other => panic!("expected a contended batch, got {other:?}"),
        };
        let fresh = Repo::open(&path)?;
        assert_eq!(
            fresh.read_file(elsewhere.expect("tip"), "c")?,
            Some(b"3".to_vec())
        );
        assert_eq!(fresh.read_file(elsewhere.expect("tip"), "b")?, None);
        Ok(())
    }

    #[test]
    fn changes_nest_and_delete_empty_folders() -> Result<(), Error> {
        let (_d, repo) = repo();
        let a = repo.commit_with("main", &who(), "one", |_| {
            Ok(vec![
                Change::put("a/b/c.json", b"1".to_vec()),
                Change::put("a/d.json", b"2".to_vec()),
            ])
        })?;
        let b = repo.commit_with("main", &who(), "two", |tip| {
            assert_eq!(tip, Some(a));
            Ok(vec![
                Change::Delete {
                    path: "a/b/c.json".into(),
                },
                Change::put("e.json", b"3".to_vec()),
            ])
        })?;
        assert_eq!(repo.read_file(b, "a/b/c.json")?, None);
        assert_eq!(repo.read_file(b, "a/d.json")?, Some(b"2".to_vec()));
        let mut changed = repo.changed_paths(Some(a), b)?;
        changed.sort();
        assert_eq!(changed, ["a/b/c.json", "e.json"]);
        let mut files = Vec::new();
        repo.for_each_file(b, |p, _| {
            files.push(p.to_string());
            Ok(())
        })?;
        assert_eq!(files, ["a/d.json", "e.json"]);
        Ok(())
    }

    #[test]
    fn a_loser_of_the_race_rebuilds_on_the_new_tip() -> Result<(), Error> {
        let (dir, repo) = repo();
        repo.commit_with("main", &who(), "base", |_| {
            Ok(vec![Change::put("x", b"0".to_vec())])
        })?;
        let other = Repo::open(&dir.path().join("r.git"))?;
        let mut calls = 0;
        let id = repo.commit_with("main", &who(), "mine", |tip| {
            calls += 1;
            if calls == 1 {
                // Someone else moves the branch between our read and our ref update.
                other.commit_with("main", &who(), "theirs", |_| {
                    Ok(vec![Change::put("y", b"1".to_vec())])
                })?;
            }
            let _ = tip;
            Ok(vec![Change::put("z", b"2".to_vec())])
        })?;
        assert_eq!(calls, 2);
        assert_eq!(
            repo.read_file(id, "y")?,
            Some(b"1".to_vec()),
            "their change is kept"
        );
        assert_eq!(repo.read_file(id, "z")?, Some(b"2".to_vec()));
        assert_eq!(repo.commits_between(None, id, 10)?.len(), 3);
        Ok(())
    }

    #[test]
    fn large_change_sets_land_as_one_pack() -> Result<(), Error> {
        let (dir, repo) = repo();
        let id = repo.commit_with("main", &who(), "bulk", |_| {
            Ok((0..BULK_CHANGES as u64 + 10)
                .map(|n| {
                    Change::put(
                        format!("{:02}/{n}/issue.json", n % 100),
                        n.to_string().into_bytes(),
                    )
                })
                .collect())
        })?;
        assert_eq!(repo.count_files(id)?, BULK_CHANGES as u64 + 10);
        assert_eq!(
            repo.read_file(id, "07/107/issue.json")?,
            Some(b"107".to_vec())
        );
        let packs = std::fs::read_dir(dir.path().join("r.git/objects/pack"))
            .expect("pack dir")
            .count();
        assert!(packs >= 2, "a .pack and its .idx were written");
        // A later small commit builds on the packed objects.
        let next = repo.commit_with("main", &who(), "small", |_| {
            Ok(vec![Change::put("07/107/issue.json", b"x".to_vec())])
        })?;
        assert_eq!(
            repo.read_file(next, "08/108/issue.json")?,
            Some(b"108".to_vec())
        );
        Ok(())
    }

    #[test]
    fn bad_paths_are_refused() {
        let (_d, repo) = repo();
        for path in ["", "/abs", "a/../b", "a//b", ".git/config"] {
            let r = repo.commit_with("main", &who(), "bad", |_| {
                Ok(vec![Change::put(path, vec![])])
            });
            assert!(matches!(r, Err(Error::InvalidPath(_))), "{path:?}");
        }
    }
}
