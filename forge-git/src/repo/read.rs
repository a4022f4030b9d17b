//! Reading: files at a commit, folders, changed paths, commit ranges.

use super::*;

impl Repo {
    /// The content of `path` at `commit`, `None` if there is no such file.
    pub fn read_file(&self, commit: CommitId, path: &str) -> Result<Option<Vec<u8>>, Error> {
        match self.entry_at(commit, path)? {
            Some((mode, id)) if is_file(mode) => Ok(Some(self.object(id)?.1.to_vec())),
            _ => Ok(None),
        }
    }

    /// Whether `path` names a file at `commit` (reads trees only).
    pub fn has_file(&self, commit: CommitId, path: &str) -> Result<bool, Error> {
        Ok(self
            .entry_at(commit, path)?
            .is_some_and(|(mode, _)| is_file(mode)))
    }

    /// The mode and id of the entry at `path` in `commit`'s tree. The
    /// trees a staged batch made (which libgit2 does not see) are read from
    /// the batch; the others through libgit2's cache of parsed trees (its
    /// cache of raw objects misses any object it holds parsed).
    fn entry_at(&self, commit: CommitId, path: &str) -> Result<Option<(u32, Oid)>, Error> {
        if path.contains('\0') {
            return Ok(None);
        }
        let mut tree = self.commit_tree_id(commit)?;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            let found = if self.is_staged(tree) {
                let (_, raw) = self.object(tree)?;
                crate::tree::find(&raw, part)?
            } else {
                let parsed = self.repo.find_tree(tree).map_err(|e| self.err(e))?;
                parsed.get_name(part).map(|e| (e.filemode() as u32, e.id()))
            };
            let Some((mode, id)) = found else {
                return Ok(None);
            };
            if parts.peek().is_none() {
                return Ok(Some((mode, id)));
            }
            if mode != crate::tree::FOLDER {
                return Ok(None);
            }
            tree = id;
        }
        Ok(None)
    }

    /// An object's kind and content: one a staged batch made, or one in
    /// the object database.
    pub(super) fn object(&self, id: Oid) -> Result<write::Object, Error> {
        if let Some(staged) = &self.staged {
            if let Some(object) = staged.borrow().objects.get(&id) {
                return Ok(object.clone());
            }
        }
        let odb = self.repo.odb().map_err(|e| self.err(e))?;
        let object = odb.read(id).map_err(|e| self.err(e))?;
        Ok((object.kind(), object.data().into()))
    }

    /// The id of a commit's tree (a staged commit's read from its bytes).
    pub(super) fn commit_tree_id(&self, commit: CommitId) -> Result<Oid, Error> {
        let unknown = || Error::UnknownCommit(commit.to_string());
        if !self.is_staged(commit.0) {
            return self
                .repo
                .find_commit(commit.0)
                .map(|c| c.tree_id())
                .map_err(|_| unknown());
        }
        let (kind, data) = self.object(commit.0).map_err(|_| unknown())?;
        if kind != ObjectType::Commit {
            return Err(unknown());
        }
        data.strip_prefix(b"tree ")
            .and_then(|rest| rest.get(..40))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| Oid::from_str(hex).ok())
            .ok_or_else(unknown)
    }

    /// Whether `id` is an object of the staged batch not yet on disk.
    pub(super) fn is_staged(&self, id: Oid) -> bool {
        self.staged
            .as_ref()
            .is_some_and(|s| s.borrow().objects.contains_key(&id))
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
        if self.is_staged(commit.0) {
            return Err(Error::Git {
                path: self.path.display().to_string(),
                message: format!(
                    "commit {commit} is in a batch not yet on disk: only read_file and has_file read it"
                ),
            });
        }
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
}

/// Whether a tree entry's mode is a file's (regular, executable or link).
fn is_file(mode: u32) -> bool {
    matches!(mode & 0o170000, 0o100000 | 0o120000)
}
