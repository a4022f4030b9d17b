//! Git hooks: installing forge's next to the user's own, and reading a
//! repository from inside a hook (where a push's objects are still in
//! quarantine).

use std::path::{Path, PathBuf};

use git2::Sort;

use crate::repo::{CommitId, Repo};
use crate::{browse::CommitSummary, Error};

/// The line that marks a hook as forge's own (so reinstalling replaces it,
/// and anything else found in its place is kept as a user hook).
pub const HOOK_MARKER: &str = "# forge-managed hook";

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Git {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl Repo {
    /// Installs `script` as hook `name`. A hook already there that forge did
    /// not write is moved to `hooks/<name>.d/<name>` first (forge's hook runs
    /// the executables of that folder). Writes nothing when the script is
    /// already in place.
    pub fn install_hook(&self, name: &str, script: &str) -> Result<(), Error> {
        let dir = self.git_dir().join("hooks");
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(current) if current == script => return Ok(()),
            Ok(current) if !current.contains(HOOK_MARKER) => {
                let keep = dir.join(format!("{name}.d"));
                std::fs::create_dir_all(&keep).map_err(|e| io_error(&keep, e))?;
                let mut target = keep.join(name);
                let mut n = 1;
                while target.exists() {
                    target = keep.join(format!("{name}-{n}"));
                    n += 1;
                }
                std::fs::rename(&path, &target).map_err(|e| io_error(&path, e))?;
            }
            _ => {}
        }
        let tmp = dir.join(format!(".{name}.forge-tmp"));
        std::fs::write(&tmp, script).map_err(|e| io_error(&tmp, e))?;
        set_executable(&tmp)?;
        std::fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))
    }

    /// The executables of `hooks/<name>.d/`, by name: the user's own hooks
    /// that forge's hook runs after its own work.
    pub fn user_hooks(&self, name: &str) -> Vec<PathBuf> {
        let dir = self.git_dir().join("hooks").join(format!("{name}.d"));
        let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| is_executable(p))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Opens the repository a hook runs in, seeing the objects of the push
    /// being received (git keeps them in a quarantine folder, named by
    /// `GIT_QUARANTINE_PATH` / `GIT_OBJECT_DIRECTORY`, until pre-receive accepts).
    pub fn open_in_hook(path: &Path) -> Result<Repo, Error> {
        let repo = Repo::open(path)?;
        for var in ["GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY"] {
            if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
                let dir = PathBuf::from(dir);
                let dir = if dir.is_absolute() {
                    dir
                } else {
                    path.join(dir)
                };
                if dir.is_dir() {
                    let odb = repo.git().odb().map_err(|e| repo.error(e))?;
                    odb.add_disk_alternate(&dir.display().to_string())
                        .map_err(|e| repo.error(e))?;
                }
            }
        }
        Ok(repo)
    }

    /// Commits reachable from `new` but from none of `known` (the commits a
    /// push brings), oldest first, at most `limit`.
    pub fn new_commits(
        &self,
        new: CommitId,
        known: &[CommitId],
        limit: usize,
    ) -> Result<Vec<CommitSummary>, Error> {
        let repo = self.git();
        let mut walk = repo.revwalk().map_err(|e| self.error(e))?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
            .map_err(|e| self.error(e))?;
        walk.push(new.oid()).map_err(|e| self.error(e))?;
        for k in known {
            // A ref may point at a commit this repository lost; skip it.
            let _ = walk.hide(k.oid());
        }
        let mut out = Vec::new();
        for oid in walk.take(limit) {
            let oid = oid.map_err(|e| self.error(e))?;
            let c = repo.find_commit(oid).map_err(|e| self.error(e))?;
            out.push(crate::browse::summary(&c));
        }
        Ok(out)
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: CommitId, descendant: CommitId) -> Result<bool, Error> {
        if ancestor == descendant {
            return Ok(true);
        }
        self.git()
            .graph_descendant_of(descendant.oid(), ancestor.oid())
            .map_err(|e| self.error(e))
    }

    /// The commits every branch and tag points at.
    pub fn ref_tips(&self) -> Result<Vec<CommitId>, Error> {
        let mut out = Vec::new();
        for r in self.git().references().map_err(|e| self.error(e))? {
            let r = r.map_err(|e| self.error(e))?;
            if let Ok(c) = r.peel_to_commit() {
                out.push(CommitId::from_oid(c.id()));
            }
        }
        out.sort_by_key(|c| c.to_string());
        out.dedup();
        Ok(out)
    }
}

fn set_executable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut perms = std::fs::metadata(path)
        .map_err(|e| io_error(path, e))?
        .permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).map_err(|e| io_error(path, e))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, Identity};

    #[test]
    fn install_keeps_user_hooks_and_is_idempotent() -> Result<(), Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git"))?;
        let hooks = repo.git_dir().join("hooks");
        std::fs::create_dir_all(&hooks).expect("mkdir");
        std::fs::write(hooks.join("post-receive"), "#!/bin/sh\necho mine\n").expect("write");
        set_executable(&hooks.join("post-receive"))?;
        let script = format!("#!/bin/sh\n{HOOK_MARKER}\nexit 0\n");
        repo.install_hook("post-receive", &script)?;
        repo.install_hook("post-receive", &script)?;
        let updated = format!("{script}# v2\n");
        repo.install_hook("post-receive", &updated)?;
        assert_eq!(
            std::fs::read_to_string(hooks.join("post-receive")).expect("read"),
            updated
        );
        let kept = repo.user_hooks("post-receive");
        assert_eq!(kept, vec![hooks.join("post-receive.d/post-receive")]);
        assert_eq!(
            std::fs::read_to_string(&kept[0]).expect("read"),
            "#!/bin/sh\necho mine\n"
        );
        Ok(())
    }

    #[test]
    fn new_commits_and_ancestry() -> Result<(), Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git"))?;
        let who = Identity::new("alice", "alice@example.org");
        let put = |n: u8| {
            repo.commit_with("main", &who, &format!("c{n}"), |_| {
                Ok(vec![Change::put("f", vec![n])])
            })
        };
        let (a, b, c) = (put(1)?, put(2)?, put(3)?);
        let titles: Vec<String> = repo
            .new_commits(c, &[a], 10)?
            .into_iter()
            .map(|s| s.title)
            .collect();
        assert_eq!(titles, ["c2", "c3"], "oldest first, without the known");
        assert!(repo.is_ancestor(a, c)? && !repo.is_ancestor(c, b)?);
        assert_eq!(repo.ref_tips()?, vec![c]);
        Ok(())
    }
}
