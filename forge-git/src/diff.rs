//! Differences between commits: per-file status, line counts and unified patches.

use git2::{Delta, DiffFindOptions, DiffOptions, Patch};

use crate::browse::CommitSummary;
use crate::repo::{CommitId, Repo};
use crate::Error;

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// New file.
    Added,
    /// Removed file.
    Deleted,
    /// Content or mode changed.
    Modified,
    /// Moved (possibly with changes).
    Renamed,
    /// Copied from another file.
    Copied,
    /// Became a link, a file or a submodule.
    TypeChanged,
}

impl FileStatus {
    /// Lower-case name (`added`, `renamed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Added => "added",
            FileStatus::Deleted => "deleted",
            FileStatus::Modified => "modified",
            FileStatus::Renamed => "renamed",
            FileStatus::Copied => "copied",
            FileStatus::TypeChanged => "type-changed",
        }
    }

    /// The status named by [`as_str`](Self::as_str).
    pub fn parse(name: &str) -> Option<FileStatus> {
        [
            FileStatus::Added,
            FileStatus::Deleted,
            FileStatus::Modified,
            FileStatus::Renamed,
            FileStatus::Copied,
            FileStatus::TypeChanged,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// Path before (absent for added files).
    pub old_path: Option<String>,
    /// Path after (absent for deleted files).
    pub new_path: Option<String>,
    /// How it changed.
    pub status: FileStatus,
    /// Mode before, as git writes it (`0o100644`...); 0 when absent.
    pub old_mode: u32,
    /// Mode after.
    pub new_mode: u32,
    /// The blob before, 40 hex digits (zeros when absent).
    pub old_id: String,
    /// The blob after (zeros when absent).
    pub new_id: String,
    /// Whether git sees binary content.
    pub binary: bool,
    /// Lines added.
    pub additions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// Unified patch text; `None` for binary files or past the size limit.
    pub patch: Option<String>,
}

impl Repo {
    /// The files that differ from `from` (`None`: an empty tree) to `to`,
    /// renames detected, with a unified patch for each text file whose patch
    /// fits in `max_patch_bytes`.
    pub fn diff(
        &self,
        from: Option<CommitId>,
        to: CommitId,
        max_patch_bytes: usize,
    ) -> Result<Vec<FileDiff>, Error> {
        let repo = self.git();
        let tree_of = |c: CommitId| {
            repo.find_commit(c.oid())
                .and_then(|c| c.tree())
                .map_err(|_| Error::UnknownCommit(c.to_string()))
        };
        let old = from.map(tree_of).transpose()?;
        let new = tree_of(to)?;
        let mut opts = DiffOptions::new();
        opts.context_lines(3);
        let mut diff = repo
            .diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut opts))
            .map_err(|e| self.error(e))?;
        let mut find = DiffFindOptions::new();
        find.renames(true).copies(false);
        diff.find_similar(Some(&mut find))
            .map_err(|e| self.error(e))?;
        let mut files = Vec::with_capacity(diff.deltas().len());
        for (i, delta) in diff.deltas().enumerate() {
            let status = match delta.status() {
                Delta::Added => FileStatus::Added,
                Delta::Deleted => FileStatus::Deleted,
                Delta::Renamed => FileStatus::Renamed,
                Delta::Copied => FileStatus::Copied,
                Delta::Typechange => FileStatus::TypeChanged,
                _ => FileStatus::Modified,
            };
            let path = |f: &git2::DiffFile<'_>| f.path().map(|p| p.to_string_lossy().into_owned());
            let (old_file, new_file) = (delta.old_file(), delta.new_file());
            let mut file = FileDiff {
                old_path: if status == FileStatus::Added {
                    None
                } else {
                    path(&old_file)
                },
                new_path: if status == FileStatus::Deleted {
                    None
                } else {
                    path(&new_file)
                },
                status,
                old_mode: u32::from(old_file.mode()),
                new_mode: u32::from(new_file.mode()),
                old_id: old_file.id().to_string(),
                new_id: new_file.id().to_string(),
                binary: delta.flags().is_binary(),
                additions: 0,
                deletions: 0,
                patch: None,
            };
            if let Some(mut patch) = Patch::from_diff(&diff, i).map_err(|e| self.error(e))? {
                let (_, additions, deletions) = patch.line_stats().map_err(|e| self.error(e))?;
                file.additions = additions;
                file.deletions = deletions;
                file.binary |= patch.delta().flags().is_binary();
                if !file.binary {
                    let text = patch.to_buf().map_err(|e| self.error(e))?;
                    if text.len() <= max_patch_bytes {
                        file.patch = Some(String::from_utf8_lossy(&text).into_owned());
                    }
                }
            }
            files.push(file);
        }
        Ok(files)
    }

    /// One commit's metadata.
    pub fn commit(&self, id: CommitId) -> Result<CommitSummary, Error> {
        self.log(id, None, 0, 1)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::UnknownCommit(id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, Identity};

    #[test]
    fn statuses_counts_renames_binary_and_limits() -> Result<(), Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git"))?;
        let who = Identity::new("alice", "alice@example.org");
        let long: String = (0..40)
            .map(|i| format!("line {i} of a file that will move\n"))
            .collect();
        let a = repo.commit_with("main", &who, "one", |_| {
            Ok(vec![
                Change::put("keep.txt", b"a\nb\nc\n".to_vec()),
                Change::put("old/name.txt", long.clone().into_bytes()),
                Change::put("gone.txt", b"bye\n".to_vec()),
                Change::put("img.bin", vec![0, 1, 2, 3]),
            ])
        })?;
        let b = repo.commit_with("main", &who, "two", |_| {
            Ok(vec![
                Change::put("keep.txt", b"a\nB\nc\nd\n".to_vec()),
                Change::Delete {
                    path: "old/name.txt".into(),
                },
                Change::put("new/name.txt", long.clone().into_bytes()),
                Change::Delete {
                    path: "gone.txt".into(),
                },
                Change::put("img.bin", vec![0, 9, 9, 9]),
                Change::put("added.txt", b"hello\n".to_vec()),
            ])
        })?;
        let files = repo.diff(Some(a), b, 1 << 20)?;
        let by_status: Vec<(&str, Option<&str>, Option<&str>)> = files
            .iter()
            .map(|f| {
                (
                    f.status.as_str(),
                    f.old_path.as_deref(),
                    f.new_path.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            by_status,
            [
                ("added", None, Some("added.txt")),
                ("deleted", Some("gone.txt"), None),
                ("modified", Some("img.bin"), Some("img.bin")),
                ("modified", Some("keep.txt"), Some("keep.txt")),
                ("renamed", Some("old/name.txt"), Some("new/name.txt")),
            ]
        );
        let keep = &files[3];
        assert_eq!((keep.additions, keep.deletions), (2, 1));
        let patch = keep.patch.as_deref().expect("text patch");
        assert!(
            patch.contains("-b\n+B\n") && patch.contains("+d\n"),
            "{patch}"
        );
        assert!(files[2].binary && files[2].patch.is_none());
        assert_eq!(files[0].new_mode, 0o100644);
        let tiny = repo.diff(Some(a), b, 10)?;
        assert!(
            tiny[3].patch.is_none() && tiny[3].additions == 2,
            "counts are kept past the limit"
        );
        assert_eq!(
            repo.diff(None, a, 1 << 20)?.len(),
            4,
            "a root commit diffs against nothing"
        );
        assert_eq!(repo.commit(b)?.title, "two");
        Ok(())
    }
}
