//! Merge analysis: what merging a source commit into a target would do,
//! computed in memory (no working tree, no clone).

use git2::MergeOptions;

use crate::repo::{CommitId, Repo};
use crate::Error;

/// What a merge of a source into a target would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeStatus {
    /// The target already contains the source.
    UpToDate,
    /// The target can move forward to the source.
    FastForward,
    /// A merge commit is needed and merges cleanly.
    Merge,
    /// A merge would conflict in these paths (sorted).
    Conflicts(Vec<String>),
}

impl MergeStatus {
    /// `up-to-date`, `fast-forward`, `merge` or `conflicts`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MergeStatus::UpToDate => "up-to-date",
            MergeStatus::FastForward => "fast-forward",
            MergeStatus::Merge => "merge",
            MergeStatus::Conflicts(_) => "conflicts",
        }
    }
}

/// git's file mode of a folder.
const TREE_MODE: i32 = 0o040000;

/// A tree entry as the tree-level merge compares it.
#[derive(Clone)]
struct TreeKey {
    name: Vec<u8>,
    id: git2::Oid,
    mode: i32,
}

impl TreeKey {
    fn of(e: &git2::TreeEntry<'_>) -> TreeKey {
        TreeKey {
            name: e.name_bytes().to_vec(),
            id: e.id(),
            mode: e.filemode(),
        }
    }

    /// git's tree order: names compared bytewise, a folder as if followed by `/`.
    fn order(&self, other: &TreeKey) -> std::cmp::Ordering {
        fn key(k: &TreeKey) -> impl Iterator<Item = u8> + '_ {
            k.name
                .iter()
                .copied()
                .chain((k.mode == TREE_MODE).then_some(b'/'))
        }
        key(self).cmp(key(other))
    }
}

impl Repo {
    /// Analyzes merging `source` into `target`; both commits must be in this
    /// repository (a fork's commits are fetched in first).
    pub fn merge_analysis(&self, target: CommitId, source: CommitId) -> Result<MergeStatus, Error> {
        Ok(self.analyze(target, source)?.0)
    }

    /// [`merge_analysis`](Self::merge_analysis), with the merge base it used
    /// (`None` when the two share no history): callers that need both
    /// compute the base, the costly part on a long history, once.
    pub fn merge_analysis_and_base(
        &self,
        target: CommitId,
        source: CommitId,
    ) -> Result<(MergeStatus, Option<CommitId>), Error> {
        let (status, _, base) = self.analyze(target, source)?;
        Ok((status, base))
    }

    /// The analysis, with the merged index when a merge commit is needed and
    /// merges cleanly (so a merge does not compute it a second time).
    ///
    /// The merge bases are computed once: they decide up-to-date and
    /// fast-forward, and with a single base the trees are merged against it
    /// directly (libgit2's commit merge would walk the history again). Only
    /// criss-cross histories with several bases go through the recursive
    /// commit merge.
    fn analyze(
        &self,
        target: CommitId,
        source: CommitId,
    ) -> Result<(MergeStatus, Option<git2::Index>, Option<CommitId>), Error> {
        let repo = self.git();
        if target == source {
            return Ok((MergeStatus::UpToDate, None, Some(target)));
        }
        let bases: Vec<git2::Oid> = match repo.merge_bases(target.oid(), source.oid()) {
            Ok(bases) => bases.iter().copied().collect(),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Vec::new(),
            Err(e) => return Err(self.error(e)),
        };
        if bases.contains(&source.oid()) {
            return Ok((MergeStatus::UpToDate, None, Some(source)));
        }
        if bases.contains(&target.oid()) {
            return Ok((MergeStatus::FastForward, None, Some(target)));
        }
        let base = bases.first().map(|b| CommitId::from_oid(*b));
        if let [single] = bases.as_slice() {
            if self.merges_trivially(*single, target, source)? {
                return Ok((MergeStatus::Merge, None, base));
            }
        }
        let index = match bases.as_slice() {
            [] => self.merged_trees(None, target, source)?,
            [base] => self.merged_trees(Some(*base), target, source)?,
            _ => self.merged_index(target, source)?,
        };
        if index.has_conflicts() {
            return Ok((
                MergeStatus::Conflicts(self.conflict_paths(&index)?),
                None,
                base,
            ));
        }
        Ok((MergeStatus::Merge, Some(index), base))
    }

    /// Whether the two sides' changes against `base` touch no common file,
    /// decided from tree entries alone: a folder (or file) that only one side
    /// changed is taken whole without being read, as git's own merge does,
    /// so the cost follows the size of the changes, not of the repository.
    /// `false` means "not sure" (both sides changed one file, or a file is
    /// gone on both sides, which rename detection could turn into a
    /// conflict); the caller then runs the full merge.
    fn merges_trivially(
        &self,
        base: git2::Oid,
        target: CommitId,
        source: CommitId,
    ) -> Result<bool, Error> {
        let repo = self.git();
        let tree_id = |oid: git2::Oid| {
            repo.find_commit(oid)
                .map(|c| c.tree_id())
                .map_err(|_| Error::UnknownCommit(oid.to_string()))
        };
        let (b, o, t) = (
            tree_id(base)?,
            tree_id(target.oid())?,
            tree_id(source.oid())?,
        );
        self.trees_merge_trivially(Some(b), Some(o), Some(t))
    }

    fn trees_merge_trivially(
        &self,
        base: Option<git2::Oid>,
        ours: Option<git2::Oid>,
        theirs: Option<git2::Oid>,
    ) -> Result<bool, Error> {
        let repo = self.git();
        let read = |id: Option<git2::Oid>| -> Result<Option<git2::Tree<'_>>, Error> {
            id.map(|id| repo.find_tree(id).map_err(|e| self.error(e)))
                .transpose()
        };
        let (bt, ot, tt) = (read(base)?, read(ours)?, read(theirs)?);
        // Entries in git's tree order (by name, a folder sorting as if its
        // name ended in `/`), walked side by side without collecting them.
        let entries = |t: &Option<git2::Tree<'_>>| -> Vec<TreeKey> {
            t.as_ref()
                .map(|t| t.iter().map(|e| TreeKey::of(&e)).collect())
                .unwrap_or_default()
        };
        let (b, o, t) = (entries(&bt), entries(&ot), entries(&tt));
        // A name that is a folder on one side and a file on another is a
        // file/folder conflict the entry-by-entry walk below would miss.
        for folder in [&b, &o, &t]
            .into_iter()
            .flatten()
            .filter(|e| e.mode == TREE_MODE)
        {
            let file = TreeKey {
                mode: 0o100644,
                ..folder.clone()
            };
            if [&b, &o, &t]
                .into_iter()
                .any(|list| list.binary_search_by(|e| e.order(&file)).is_ok())
            {
                return Ok(false);
            }
        }
        let (mut i, mut j, mut k) = (0, 0, 0);
        loop {
            let next = [b.get(i), o.get(j), t.get(k)]
                .into_iter()
                .flatten()
                .min_by(|x, y| x.order(y))
                .cloned();
            let Some(next) = next else { break };
            let take = |list: &[TreeKey], at: &mut usize| match list.get(*at) {
                Some(e) if e.order(&next).is_eq() => {
                    *at += 1;
                    Some((e.id, e.mode))
                }
                _ => None,
            };
            let (be, oe, te) = (take(&b, &mut i), take(&o, &mut j), take(&t, &mut k));
            if be == oe || be == te {
                continue; // one side left it alone: the other side's version wins
            }
            let is_tree = |e: Option<(git2::Oid, i32)>| e.is_some_and(|e| e.1 == TREE_MODE);
            if oe == te {
                // Both sides made the same change. Harmless unless something
                // was deleted on both sides (a rename on each side would be a
                // rename/rename conflict for git).
                if oe.is_none()
                    || (is_tree(be) && self.deletes_something(be.as_ref(), oe.as_ref())?)
                {
                    return Ok(false);
                }
                continue;
            }
            let trees = is_tree(oe) && is_tree(te) && (be.is_none() || is_tree(be));
            if !trees
                || !self.trees_merge_trivially(be.map(|e| e.0), oe.map(|e| e.0), te.map(|e| e.0))?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether any file of tree `from` is missing from tree `to`.
    fn deletes_something(
        &self,
        from: Option<&(git2::Oid, i32)>,
        to: Option<&(git2::Oid, i32)>,
    ) -> Result<bool, Error> {
        let (Some(from), Some(to)) = (from, to) else {
            return Ok(from.is_some());
        };
        if from.0 == to.0 {
            return Ok(false);
        }
        if from.1 != TREE_MODE || to.1 != TREE_MODE {
            return Ok(false);
        }
        let repo = self.git();
        let (a, b) = (
            repo.find_tree(from.0).map_err(|e| self.error(e))?,
            repo.find_tree(to.0).map_err(|e| self.error(e))?,
        );
        for entry in a.iter() {
            let here = (entry.id(), entry.filemode());
            match b.get_name_bytes(entry.name_bytes()) {
                None => return Ok(true),
                Some(other) => {
                    let there = (other.id(), other.filemode());
                    if here.1 == TREE_MODE && self.deletes_something(Some(&here), Some(&there))? {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// The trees of `target` and `source` merged against `base`'s (an empty
    /// tree when `None`), renames detected.
    fn merged_trees(
        &self,
        base: Option<git2::Oid>,
        target: CommitId,
        source: CommitId,
    ) -> Result<git2::Index, Error> {
        let repo = self.git();
        let tree = |oid: git2::Oid| {
            repo.find_commit(oid)
                .and_then(|c| c.tree())
                .map_err(|_| Error::UnknownCommit(oid.to_string()))
        };
        let ancestor = match base {
            Some(b) => tree(b)?,
            None => {
                let empty = repo
                    .treebuilder(None)
                    .and_then(|b| b.write())
                    .map_err(|e| self.error(e))?;
                repo.find_tree(empty).map_err(|e| self.error(e))?
            }
        };
        let (ours, theirs) = (tree(target.oid())?, tree(source.oid())?);
        let mut opts = MergeOptions::new();
        opts.find_renames(true);
        repo.merge_trees(&ancestor, &ours, &theirs, Some(&opts))
            .map_err(|e| self.error(e))
    }

    /// `source` merged into `target` in memory, renames detected.
    fn merged_index(&self, target: CommitId, source: CommitId) -> Result<git2::Index, Error> {
        let repo = self.git();
        let ours = repo
            .find_commit(target.oid())
            .map_err(|_| Error::UnknownCommit(target.to_string()))?;
        let theirs = repo
            .find_commit(source.oid())
            .map_err(|_| Error::UnknownCommit(source.to_string()))?;
        let mut opts = MergeOptions::new();
        opts.find_renames(true);
        repo.merge_commits(&ours, &theirs, Some(&opts))
            .map_err(|e| self.error(e))
    }

    /// The paths in conflict in a merged index, sorted, each once.
    fn conflict_paths(&self, index: &git2::Index) -> Result<Vec<String>, Error> {
        let mut paths = Vec::new();
        for conflict in index.conflicts().map_err(|e| self.error(e))? {
            let conflict = conflict.map_err(|e| self.error(e))?;
            for entry in [conflict.our, conflict.their, conflict.ancestor]
                .into_iter()
                .flatten()
            {
                paths.push(String::from_utf8_lossy(&entry.path).into_owned());
            }
        }
        paths.sort();
        paths.dedup();
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, Identity};

    /// The tree-level shortcut must agree with libgit2's full merge (renames
    /// detected) on every kind of history, including the rename cases it
    /// cannot decide alone.
    #[test]
    fn the_tree_level_shortcut_agrees_with_the_full_merge() -> Result<(), Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git"))?;
        let who = Identity::new("alice", "alice@example.org");
        let text = |n: usize| {
            (0..20)
                .map(|i| format!("line {i} of file {n}\n"))
                .collect::<String>()
        };
        let mut files: Vec<Change> = (0..6)
            .map(|n| Change::put(format!("d{}/f{n}.txt", n % 3), text(n).into_bytes()))
            .collect();
        files.push(Change::put("top.txt", b"top\n".to_vec()));
        let base = repo.commit_with("main", &who, "base", |_| Ok(files.clone()))?;
        type Side = Vec<Change>;
        let edit = |path: &str, from: usize, line: &str| {
            Change::put(path, text(from).replacen("line 3", line, 1).into_bytes())
        };
        let cases: Vec<(&str, Side, Side)> = vec![
            (
                "disjoint folders",
                vec![edit("d0/f0.txt", 0, "X")],
                vec![edit("d1/f1.txt", 1, "Y")],
            ),
            (
                "one folder, two files",
                vec![edit("d0/f0.txt", 0, "X")],
                vec![edit("d0/f3.txt", 3, "Y")],
            ),
            (
                "one file, far apart",
                vec![edit("d0/f0.txt", 0, "X")],
                vec![Change::put(
                    "d0/f0.txt",
                    text(0).replacen("line 17", "Z", 1).into_bytes(),
                )],
            ),
            (
                "one line",
                vec![edit("d0/f0.txt", 0, "X")],
                vec![edit("d0/f0.txt", 0, "Y")],
            ),
            (
                "same change",
                vec![edit("d0/f0.txt", 0, "X")],
                vec![edit("d0/f0.txt", 0, "X")],
            ),
            (
                "rename and delete",
                vec![
                    Change::delete("d0/f0.txt"),
                    Change::put("d2/moved.txt", text(0).into_bytes()),
                ],
                vec![Change::delete("d0/f0.txt")],
            ),
            (
                "rename both ways",
                vec![
                    Change::delete("d0/f0.txt"),
                    Change::put("d1/a.txt", text(0).into_bytes()),
                ],
                vec![
                    Change::delete("d0/f0.txt"),
                    Change::put("d2/b.txt", text(0).into_bytes()),
                ],
            ),
            (
                "rename and modify",
                vec![
                    Change::delete("d0/f0.txt"),
                    Change::put("d1/a.txt", text(0).into_bytes()),
                ],
                vec![edit("d0/f0.txt", 0, "Y")],
            ),
            (
                "add and add",
                vec![Change::put("new.txt", b"one\n".to_vec())],
                vec![Change::put("new.txt", b"two\n".to_vec())],
            ),
            (
                "file and folder",
                vec![Change::put("x", b"file\n".to_vec())],
                vec![Change::put("x/y", b"nested\n".to_vec())],
            ),
            (
                "delete and modify",
                vec![Change::delete("top.txt")],
                vec![Change::put("top.txt", b"TOP\n".to_vec())],
            ),
        ];
        for (i, (name, ours, theirs)) in cases.into_iter().enumerate() {
            let (a, b) = (format!("ours{i}"), format!("theirs{i}"));
            for branch in [&a, &b] {
                repo.git()
                    .reference(&format!("refs/heads/{branch}"), base.oid(), false, "test")
                    .map_err(|e| repo.error(e))?;
            }
            let o = repo.commit_with(&a, &who, &a, |_| Ok(ours.clone()))?;
            let t = repo.commit_with(&b, &who, &b, |_| Ok(theirs.clone()))?;
            let full = repo.merged_trees(Some(base.oid()), o, t)?;
            let expected = if full.has_conflicts() {
                MergeStatus::Conflicts(repo.conflict_paths(&full)?)
            } else {
                MergeStatus::Merge
            };
            let got = repo.merge_analysis(o, t)?;
            assert_eq!(got, expected, "{name}");
            if name == "disjoint folders" || name == "one folder, two files" {
                assert!(
                    repo.merges_trivially(base.oid(), o, t)?,
                    "{name} needs no full merge"
                );
            }
            if name.starts_with("rename") {
                assert!(
                    !repo.merges_trivially(base.oid(), o, t)?,
                    "{name} goes to the full merge"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn the_four_outcomes() -> Result<(), Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git"))?;
        let who = Identity::new("alice", "alice@example.org");
        let put = |branch: &str, path: &str, text: &str| {
            let (path, text) = (path.to_string(), text.as_bytes().to_vec());
            repo.commit_with(branch, &who, "change", move |_| {
                Ok(vec![Change::put(path.clone(), text.clone())])
            })
        };
        let base = put("main", "a.txt", "one\ntwo\nthree\n")?;
        repo.git()
            .reference("refs/heads/topic", base.oid(), false, "branch")
            .map_err(|e| repo.error(e))?;
        repo.git()
            .reference("refs/heads/clash", base.oid(), false, "branch")
            .map_err(|e| repo.error(e))?;
        let topic = put("topic", "b.txt", "new file\n")?;
        assert_eq!(repo.merge_analysis(base, base)?, MergeStatus::UpToDate);
        assert_eq!(repo.merge_analysis(base, topic)?, MergeStatus::FastForward);
        assert_eq!(repo.merge_analysis(topic, base)?, MergeStatus::UpToDate);
        let main = put("main", "a.txt", "one\nTWO\nthree\n")?;
        assert_eq!(repo.merge_analysis(main, topic)?, MergeStatus::Merge);
        let clash = put("clash", "a.txt", "one\n2\nthree\n")?;
        assert_eq!(
            repo.merge_analysis(main, clash)?,
            MergeStatus::Conflicts(vec!["a.txt".into()])
        );
        assert_eq!(MergeStatus::Conflicts(vec![]).as_str(), "conflicts");
        Ok(())
    }
}

/// How a source is merged into a target branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeStrategy {
    /// Move the target to the source; refused unless that is a fast-forward.
    FastForward,
    /// A merge commit with both heads as parents, even when a fast-forward was possible.
    MergeCommit,
    /// One new commit with the merged tree and the target as only parent.
    Squash,
    /// The source's commits replayed one by one on the target.
    Rebase,
}

impl Repo {
    /// Merges `source` into `branch` with `strategy`, committing as `merger`
    /// (rebased commits keep their authors). The branch moves by
    /// compare-and-swap from `expected`: if it moved meanwhile, nothing changes
    /// and an error says so. Conflicts are refused naming the paths.
    pub fn merge_into(
        &self,
        branch: &str,
        expected: CommitId,
        source: CommitId,
        strategy: MergeStrategy,
        merger: &crate::Identity,
        message: &str,
    ) -> Result<CommitId, Error> {
        self.merge_into_as(branch, expected, source, strategy, merger, merger, message)
    }

    /// Like [`merge_into`](Self::merge_into), with `author` as the author of
    /// a squashed commit (the merger is its committer).
    #[allow(clippy::too_many_arguments)]
    pub fn merge_into_as(
        &self,
        branch: &str,
        expected: CommitId,
        source: CommitId,
        strategy: MergeStrategy,
        merger: &crate::Identity,
        author: &crate::Identity,
        message: &str,
    ) -> Result<CommitId, Error> {
        let repo = self.git();
        let (status, merged, _) = self.analyze(expected, source)?;
        let conflict = |paths: &[String]| Error::MergeConflict(paths.join(", "));
        let sig = git2::Signature::now(&merger.name, &merger.email).map_err(|e| self.error(e))?;
        let author_sig = if strategy == MergeStrategy::Squash {
            git2::Signature::now(&author.name, &author.email).map_err(|e| self.error(e))?
        } else {
            sig.clone()
        };
        let target = repo
            .find_commit(expected.oid())
            .map_err(|e| self.error(e))?;
        let new_tip = match (&status, strategy) {
            (MergeStatus::UpToDate, _) => return Err(Error::NothingToMerge),
            (MergeStatus::Conflicts(paths), _) => return Err(conflict(paths)),
            (MergeStatus::FastForward, MergeStrategy::FastForward) => source.oid(),
            (MergeStatus::Merge, MergeStrategy::FastForward) => return Err(Error::NotFastForward),
            (_, MergeStrategy::MergeCommit | MergeStrategy::Squash) => {
                let theirs = repo.find_commit(source.oid()).map_err(|e| self.error(e))?;
                let mut index = match merged {
                    Some(index) => index,
                    None => self.merged_index(expected, source)?,
                };
                let tree_id = index.write_tree_to(repo).map_err(|e| self.error(e))?;
                let tree = repo.find_tree(tree_id).map_err(|e| self.error(e))?;
                let parents: Vec<&git2::Commit<'_>> = if strategy == MergeStrategy::Squash {
                    vec![&target]
                } else {
                    vec![&target, &theirs]
                };
                repo.commit(None, &author_sig, &sig, message, &tree, &parents)
                    .map_err(|e| self.error(e))?
            }
            (_, MergeStrategy::Rebase) => {
                let mut onto = target.clone();
                let mut picks = self.log_range(expected, source, usize::MAX)?;
                picks.reverse();
                for pick in picks {
                    let commit = repo.find_commit(pick.id.oid()).map_err(|e| self.error(e))?;
                    if commit.parent_count() > 1 {
                        return Err(Error::MergeConflict(format!(
                            "cannot rebase merge commit {}",
                            pick.id
                        )));
                    }
                    let mut index = repo
                        .cherrypick_commit(&commit, &onto, 0, None)
                        .map_err(|e| self.error(e))?;
                    if index.has_conflicts() {
                        return Err(conflict(&self.conflict_paths(&index)?));
                    }
                    let tree_id = index.write_tree_to(repo).map_err(|e| self.error(e))?;
                    let tree = repo.find_tree(tree_id).map_err(|e| self.error(e))?;
                    let author = commit.author();
                    let msg = String::from_utf8_lossy(commit.message_bytes()).into_owned();
                    let id = repo
                        .commit(None, &author, &sig, &msg, &tree, &[&onto])
                        .map_err(|e| self.error(e))?;
                    onto = repo.find_commit(id).map_err(|e| self.error(e))?;
                }
                onto.id()
            }
        };
        let refname = format!("refs/heads/{branch}");
        repo.reference_matching(&refname, new_tip, true, expected.oid(), message)
            .map_err(|e| {
                if matches!(
                    e.code(),
                    git2::ErrorCode::Modified | git2::ErrorCode::Locked
                ) {
                    Error::Contended {
                        path: self.path().display().to_string(),
                        branch: branch.into(),
                        attempts: 1,
                    }
                } else {
                    self.error(e)
                }
            })?;
        Ok(CommitId::from_oid(new_tip))
    }
}

#[cfg(test)]
mod strategy_tests {
    use super::*;
    use crate::{Change, Identity};

    struct Setup {
        _dir: tempfile::TempDir,
        repo: Repo,
        main: CommitId,
        topic: CommitId,
    }

    /// main and topic diverge from a base; topic has two commits by bob.
    fn setup() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git")).expect("init");
        let alice = Identity::new("alice", "alice@example.org");
        let bob = Identity::new("bob", "bob@example.org");
        let put = |branch: &str, who: &Identity, path: &str, text: &str, msg: &str| {
            let (path, text) = (path.to_string(), text.as_bytes().to_vec());
            repo.commit_with(branch, who, msg, move |_| {
                Ok(vec![Change::put(path.clone(), text.clone())])
            })
            .expect("commit")
        };
        let base = put("main", &alice, "a.txt", "a\n", "base");
        repo.git()
            .reference("refs/heads/topic", base.oid(), false, "b")
            .expect("branch");
        put("topic", &bob, "b.txt", "b\n", "add b");
        let topic = put("topic", &bob, "c.txt", "c\n", "add c");
        let main = put("main", &alice, "a.txt", "A\n", "edit a");
        Setup {
            _dir: dir,
            repo,
            main,
            topic,
        }
    }

    fn merger() -> Identity {
        Identity::new("carol", "carol@example.org")
    }

    #[test]
    fn merge_commit_has_both_parents() -> Result<(), Error> {
        let s = setup();
        let id = s.repo.merge_into(
            "main",
            s.main,
            s.topic,
            MergeStrategy::MergeCommit,
            &merger(),
            "Merge topic",
        )?;
        let c = s.repo.commit(id)?;
        assert_eq!(c.parents, [s.main, s.topic]);
        assert_eq!(s.repo.branch_tip("main")?, Some(id));
        assert_eq!(s.repo.read_file(id, "c.txt")?, Some(b"c\n".to_vec()));
        assert_eq!(s.repo.read_file(id, "a.txt")?, Some(b"A\n".to_vec()));
        Ok(())
    }

    #[test]
    fn squash_makes_one_commit() -> Result<(), Error> {
        let s = setup();
        let id = s.repo.merge_into(
            "main",
            s.main,
            s.topic,
            MergeStrategy::Squash,
            &merger(),
            "Squashed topic",
        )?;
        let c = s.repo.commit(id)?;
        assert_eq!(c.parents, [s.main]);
        assert_eq!(c.title, "Squashed topic");
        assert_eq!(s.repo.read_file(id, "b.txt")?, Some(b"b\n".to_vec()));
        Ok(())
    }

    #[test]
    fn rebase_replays_each_commit_keeping_authors() -> Result<(), Error> {
        let s = setup();
        let id = s.repo.merge_into(
            "main",
            s.main,
            s.topic,
            MergeStrategy::Rebase,
            &merger(),
            "rebase",
        )?;
        let log = s.repo.log(id, None, 0, 10)?;
        let titles: Vec<(&str, &str)> = log
            .iter()
            .map(|c| (c.title.as_str(), c.author_name.as_str()))
            .collect();
        assert_eq!(
            titles,
            [
                ("add c", "bob"),
                ("add b", "bob"),
                ("edit a", "alice"),
                ("base", "alice")
            ]
        );
        assert_eq!(log[1].parents, [s.main]);
        Ok(())
    }

    #[test]
    fn fast_forward_only_when_possible_and_stale_tips_are_refused() -> Result<(), Error> {
        let s = setup();
        let err = s
            .repo
            .merge_into(
                "main",
                s.main,
                s.topic,
                MergeStrategy::FastForward,
                &merger(),
                "ff",
            )
            .expect_err("diverged");
        assert!(matches!(err, Error::NotFastForward));
        let merged = s.repo.merge_into(
            "main",
            s.main,
            s.topic,
            MergeStrategy::MergeCommit,
            &merger(),
            "m",
        )?;
        // A merger that still believes main is at its old tip changes nothing.
        let err = s
            .repo
            .merge_into(
                "main",
                s.main,
                s.topic,
                MergeStrategy::Squash,
                &merger(),
                "late",
            )
            .expect_err("stale");
        assert!(matches!(err, Error::Contended { .. }), "{err}");
        assert_eq!(s.repo.branch_tip("main")?, Some(merged), "nothing moved");
        let err = s
            .repo
            .merge_into(
                "main",
                merged,
                s.topic,
                MergeStrategy::MergeCommit,
                &merger(),
                "again",
            )
            .expect_err("done");
        assert!(matches!(err, Error::NothingToMerge));
        // topic is behind main now: it fast-forwards to it.
        assert_eq!(
            s.repo.merge_into(
                "topic",
                s.topic,
                merged,
                MergeStrategy::FastForward,
                &merger(),
                "ff"
            )?,
            merged
        );
        assert_eq!(s.repo.branch_tip("topic")?, Some(merged));
        Ok(())
    }

    #[test]
    fn conflicts_are_refused_naming_the_files() -> Result<(), Error> {
        let s = setup();
        let clash = s.repo.commit_with("topic", &merger(), "clash", |_| {
            Ok(vec![Change::put("a.txt", b"X\n".to_vec())])
        })?;
        for strategy in [
            MergeStrategy::MergeCommit,
            MergeStrategy::Squash,
            MergeStrategy::Rebase,
        ] {
            let err = s
                .repo
                .merge_into("main", s.main, clash, strategy, &merger(), "m")
                .expect_err("conflict");
            assert_eq!(err.to_string(), "merge conflicts in: a.txt", "{strategy:?}");
        }
        assert_eq!(s.repo.branch_tip("main")?, Some(s.main));
        Ok(())
    }
}
