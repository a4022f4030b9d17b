//! Arbitrary refs (`refs/pull/<id>/head`), merge bases, and fetching a
//! branch of another repository of the same forge home (a fork).

use std::path::Path;
use std::process::{Command, Stdio};

use git2::ErrorCode;

use crate::repo::{CommitId, Repo};
use crate::Error;

impl Repo {
    /// The commit a full ref name (`refs/pull/7/head`) points at, if it exists.
    pub fn ref_target(&self, name: &str) -> Result<Option<CommitId>, Error> {
        match self.git().refname_to_id(name) {
            Ok(oid) => Ok(Some(CommitId::from_oid(oid))),
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Points a full ref name at `target`, creating or moving it.
    pub fn set_ref(&self, name: &str, target: CommitId, log: &str) -> Result<(), Error> {
        self.git()
            .reference(name, target.oid(), true, log)
            .map(drop)
            .map_err(|e| self.error(e))
    }

    /// Deletes a full ref name; a missing ref is not an error.
    pub fn delete_ref(&self, name: &str) -> Result<(), Error> {
        match self.git().find_reference(name) {
            Ok(mut r) => r.delete().map_err(|e| self.error(e)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    /// The best common ancestor of two commits, `None` when they share no history.
    pub fn merge_base(&self, a: CommitId, b: CommitId) -> Result<Option<CommitId>, Error> {
        match self.git().merge_base(a.oid(), b.oid()) {
            Ok(oid) => Ok(Some(CommitId::from_oid(oid))),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Whether `branch` is a name git accepts for a branch.
    pub fn valid_branch_name(branch: &str) -> bool {
        !branch.starts_with('-')
            && !branch.contains("..")
            && !branch.contains("@{")
            && !branch
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
            && git2::Branch::name_is_valid(branch).unwrap_or(false)
    }

    /// Copies `branch` of another repository on this machine (a fork in the
    /// same forge home, which the caller located itself) into the ref `into`
    /// of this one, with the objects it needs; returns the commit.
    pub fn fetch_local_branch(
        &self,
        from: &Path,
        branch: &str,
        into: &str,
    ) -> Result<CommitId, Error> {
        if !Self::valid_branch_name(branch) {
            return Err(Error::UnknownRevision(branch.into()));
        }
        let source = Repo::open(from)?;
        let Some(tip) = source.branch_tip(branch)? else {
            return Err(Error::UnknownRevision(format!(
                "{branch} (no such branch in {})",
                from.display()
            )));
        };
        if !self.has_commit(tip) {
            let out = Command::new("git")
                .arg("--git-dir")
                .arg(self.git_dir())
                .args(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"])
                .arg("--end-of-options")
                .arg(source.git_dir())
                .arg(format!("+refs/heads/{branch}:{into}"))
                .env("GIT_TERMINAL_PROMPT", "0")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| Error::Git {
                    path: self.path().display().to_string(),
                    message: format!("running git fetch: {e}"),
                })?;
            if !out.status.success() {
                return Err(Error::Git {
                    path: self.path().display().to_string(),
                    message: format!(
                        "fetching {branch} from {}: {}",
                        from.display(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                });
            }
            // The branch may have moved between our read and git's fetch.
            if let Some(fetched) = self.ref_target(into)? {
                return Ok(fetched);
            }
        }
        self.set_ref(into, tip, "fetch from fork")?;
        Ok(tip)
    }

    /// Line `line` (1-based) of `path` at `commit`, without its newline;
    /// `None` when the file or the line does not exist or is not text.
    pub fn line_at(
        &self,
        commit: CommitId,
        path: &str,
        line: u32,
    ) -> Result<Option<String>, Error> {
        let Some(bytes) = self.read_file(commit, path)? else {
            return Ok(None);
        };
        if line == 0 || crate::browse::looks_binary(&bytes) {
            return Ok(None);
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        // a final newline does not start one more line
        let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        Ok(text
            .split(|b| *b == b'\n')
            .nth(line as usize - 1)
            .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, Identity};

    #[test]
    fn refs_bases_lines_and_fork_fetch() -> Result<(), Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git"))?;
        let who = Identity::new("alice", "alice@example.org");
        let base = repo.commit_with("main", &who, "one", |_| {
            Ok(vec![Change::put("a.txt", b"x\ny\n".to_vec())])
        })?;
        assert_eq!(repo.line_at(base, "a.txt", 2)?.as_deref(), Some("y"));
        assert_eq!(repo.line_at(base, "a.txt", 3)?, None);
        assert_eq!(repo.line_at(base, "nope", 1)?, None);
        assert_eq!(repo.ref_target("refs/pull/1/head")?, None);
        repo.set_ref("refs/pull/1/head", base, "test")?;
        assert_eq!(repo.ref_target("refs/pull/1/head")?, Some(base));
        repo.delete_ref("refs/pull/1/head")?;
        repo.delete_ref("refs/pull/1/head")?;
        assert_eq!(repo.ref_target("refs/pull/1/head")?, None);

        let fork = repo.fork_to(&dir.path().join("fork.git"))?;
        let topic = fork.commit_with("main", &who, "two", |_| {
            Ok(vec![Change::put("b.txt", b"z\n".to_vec())])
        })?;
        assert!(!repo.has_commit(topic));
        let fetched = repo.fetch_local_branch(fork.path(), "main", "refs/pull/2/head")?;
        assert_eq!(fetched, topic);
        assert!(repo.has_commit(topic));
        assert_eq!(repo.merge_base(base, topic)?, Some(base));
        assert!(repo
            .fetch_local_branch(fork.path(), "missing", "refs/pull/3/head")
            .is_err());
        assert!(!Repo::valid_branch_name("-x"));
        assert!(!Repo::valid_branch_name("a..b"));
        Ok(())
    }
}
