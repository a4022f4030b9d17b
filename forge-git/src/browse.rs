//! Reading a repository the way a forge shows it: branches and tags with
//! their head commits, tree listings, file contents and the commit log.

use std::path::Path;

use git2::{ObjectType, Oid, Sort};

use crate::repo::{CommitId, Repo};
use crate::Error;

/// A branch or tag and the commit it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefInfo {
    /// Short name (`main`, `v1.0`).
    pub name: String,
    /// The commit (a tag is peeled to its commit).
    pub commit: CommitId,
    /// First line of that commit's message.
    pub title: String,
}

/// What a tree entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular or executable file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A submodule (a commit of another repository).
    Submodule,
}

/// One entry of a tree listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeItem {
    /// Name within its folder.
    pub name: String,
    /// Path from the repository root.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// git file mode (`0o100644`, `0o100755`, `0o040000`, ...).
    pub mode: i32,
    /// Size in bytes, for files and links.
    pub size: Option<u64>,
}

/// The content of a file, as far as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// UTF-8 text.
    Text(String),
    /// Binary data (a NUL byte in the first 8 KiB, or not UTF-8).
    Binary {
        /// Size in bytes.
        size: u64,
    },
    /// Larger than the limit the caller gave.
    TooLarge {
        /// Size in bytes.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

/// One commit of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSummary {
    /// Its id.
    pub id: CommitId,
    /// Parent ids.
    pub parents: Vec<CommitId>,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// Author time, epoch seconds.
    pub time: i64,
    /// First line of the message.
    pub title: String,
    /// The whole message.
    pub message: String,
}

fn title_of(message: &str) -> String {
    message.lines().next().unwrap_or_default().to_string()
}

impl Repo {
    fn refs_matching(&self, glob: &str, prefix: &str) -> Result<Vec<RefInfo>, Error> {
        let refs = self
            .git()
            .references_glob(glob)
            .map_err(|e| self.error(e))?;
        let mut out = Vec::new();
        for reference in refs {
            let reference = reference.map_err(|e| self.error(e))?;
            let Some(name) = reference.name().ok().and_then(|n| n.strip_prefix(prefix)) else {
                continue;
            };
            let name = name.to_string();
            // A tag may name something other than a commit; such tags are skipped.
            let Ok(commit) = reference.peel_to_commit() else {
                continue;
            };
            out.push(RefInfo {
                name,
                commit: CommitId::from_oid(commit.id()),
                title: title_of(&String::from_utf8_lossy(commit.message_bytes())),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Branches with their head commits, by name.
    pub fn branches(&self) -> Result<Vec<RefInfo>, Error> {
        self.refs_matching("refs/heads/*", "refs/heads/")
    }

    /// Tags with the commits they name, by name.
    pub fn tags(&self) -> Result<Vec<RefInfo>, Error> {
        self.refs_matching("refs/tags/*", "refs/tags/")
    }

    /// The commit a revision names: a branch, a tag, or a full or abbreviated commit id.
    pub fn resolve(&self, rev: &str) -> Result<CommitId, Error> {
        let bad = || Error::UnknownRevision(rev.chars().take(200).collect());
        if rev.is_empty()
            || rev.starts_with('-')
            || rev.contains("..")
            || rev.chars().any(char::is_control)
        {
            return Err(bad());
        }
        for name in [format!("refs/heads/{rev}"), format!("refs/tags/{rev}")] {
            if let Ok(reference) = self.git().find_reference(&name) {
                if let Ok(commit) = reference.peel_to_commit() {
                    return Ok(CommitId::from_oid(commit.id()));
                }
            }
        }
        if rev.len() >= 4 && rev.len() <= 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Ok(object) = self.git().revparse_single(rev) {
                if let Ok(commit) = object.peel_to_commit() {
                    return Ok(CommitId::from_oid(commit.id()));
                }
            }
        }
        Err(bad())
    }

    fn tree_at(&self, commit: CommitId, path: &str) -> Result<git2::Tree<'_>, Error> {
        let root = self
            .git()
            .find_commit(commit.oid())
            .and_then(|c| c.tree())
            .map_err(|e| self.error(e))?;
        let path = path.trim_matches('/');
        if path.is_empty() {
            return Ok(root);
        }
        let entry = root
            .get_path(Path::new(path))
            .map_err(|_| Error::NoSuchPath(path.to_string()))?;
        if entry.kind() != Some(ObjectType::Tree) {
            return Err(Error::NotADirectory(path.to_string()));
        }
        self.git().find_tree(entry.id()).map_err(|e| self.error(e))
    }

    /// The entries of the folder `path` (`""` for the root) at `commit`:
    /// folders first, then files, each by name.
    pub fn list_tree(&self, commit: CommitId, path: &str) -> Result<Vec<TreeItem>, Error> {
        let tree = self.tree_at(commit, path)?;
        let odb = self.git().odb().map_err(|e| self.error(e))?;
        let prefix = path.trim_matches('/');
        let mut items = Vec::with_capacity(tree.len());
        for entry in tree.iter() {
            let name = String::from_utf8_lossy(entry.name_bytes()).into_owned();
            let mode = entry.filemode();
            let kind = match (entry.kind(), mode) {
                (Some(ObjectType::Tree), _) => EntryKind::Dir,
                (Some(ObjectType::Commit), _) => EntryKind::Submodule,
                (_, 0o120000) => EntryKind::Symlink,
                _ => EntryKind::File,
            };
            let size = match kind {
                EntryKind::File | EntryKind::Symlink => {
                    odb.read_header(entry.id()).ok().map(|(len, _)| len as u64)
                }
                _ => None,
            };
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            items.push(TreeItem {
                name,
                path,
                kind,
                mode,
                size,
            });
        }
        items.sort_by(|a, b| {
            (a.kind != EntryKind::Dir, &a.name).cmp(&(b.kind != EntryKind::Dir, &b.name))
        });
        Ok(items)
    }

    /// The blob at `path` in `commit`, and its size.
    fn blob_at(&self, commit: CommitId, path: &str) -> Result<(git2::Oid, u64), Error> {
        let path = path.trim_matches('/');
        let root = self
            .git()
            .find_commit(commit.oid())
            .and_then(|c| c.tree())
            .map_err(|e| self.error(e))?;
        let entry = root
            .get_path(Path::new(path))
            .map_err(|_| Error::NoSuchPath(path.to_string()))?;
        if entry.kind() != Some(ObjectType::Blob) {
            return Err(Error::NotAFile(path.to_string()));
        }
        let odb = self.git().odb().map_err(|e| self.error(e))?;
        let (size, _) = odb.read_header(entry.id()).map_err(|e| self.error(e))?;
        Ok((entry.id(), size as u64))
    }

    /// The bytes of the file at `path` in `commit`, whatever they are;
    /// `None` when it is over `limit` bytes.
    pub fn file_bytes(
        &self,
        commit: CommitId,
        path: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, Error> {
        let (id, size) = self.blob_at(commit, path)?;
        if size > limit {
            return Ok(None);
        }
        let odb = self.git().odb().map_err(|e| self.error(e))?;
        let object = odb.read(id).map_err(|e| self.error(e))?;
        Ok(Some(object.data().to_vec()))
    }

    /// The content of the file at `path` in `commit`, refusing files over `limit` bytes.
    pub fn file_content(
        &self,
        commit: CommitId,
        path: &str,
        limit: u64,
    ) -> Result<FileContent, Error> {
        let (id, size) = self.blob_at(commit, path)?;
        if size > limit {
            return Ok(FileContent::TooLarge { size, limit });
        }
        let odb = self.git().odb().map_err(|e| self.error(e))?;
        let object = odb.read(id).map_err(|e| self.error(e))?;
        let data = object.data();
        if looks_binary(data) {
            return Ok(FileContent::Binary { size });
        }
        match std::str::from_utf8(data) {
            Ok(text) => Ok(FileContent::Text(text.to_string())),
            Err(_) => Ok(FileContent::Binary { size }),
        }
    }

    /// Commits reachable from `commit`, newest first, skipping `skip` and
    /// returning at most `limit`; with `path`, only commits that changed it
    /// (against their first parent).
    pub fn log(
        &self,
        commit: CommitId,
        path: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<CommitSummary>, Error> {
        let repo = self.git();
        let walk = self.walk(commit, None)?;
        let path = path.map(|p| p.trim_matches('/')).filter(|p| !p.is_empty());
        let mut out = Vec::new();
        let mut skipped = 0;
        for oid in walk {
            if out.len() >= limit {
                break;
            }
            let oid = oid.map_err(|e| self.error(e))?;
            let c = repo.find_commit(oid).map_err(|e| self.error(e))?;
            if let Some(path) = path {
                let here = entry_id(&c, path);
                let before = c.parent(0).ok().and_then(|p| entry_id(&p, path));
                if here == before {
                    continue;
                }
            }
            if skipped < skip {
                skipped += 1;
                continue;
            }
            out.push(summary(&c));
        }
        Ok(out)
    }
}

impl Repo {
    /// Walks commits from `head` (newest first, parents after children),
    /// leaving out those reachable from `hide`.
    fn walk(&self, head: CommitId, hide: Option<CommitId>) -> Result<git2::Revwalk<'_>, Error> {
        let mut walk = self.git().revwalk().map_err(|e| self.error(e))?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
            .map_err(|e| self.error(e))?;
        walk.push(head.oid()).map_err(|e| self.error(e))?;
        if let Some(hide) = hide {
            walk.hide(hide.oid()).map_err(|e| self.error(e))?;
        }
        Ok(walk)
    }

    /// Commits reachable from `head` but not from `base` (what a compare or a
    /// pull request shows), newest first, at most `limit`.
    pub fn log_range(
        &self,
        base: CommitId,
        head: CommitId,
        limit: usize,
    ) -> Result<Vec<CommitSummary>, Error> {
        let repo = self.git();
        let walk = self.walk(head, Some(base))?;
        let mut out = Vec::new();
        for oid in walk.take(limit) {
            let oid = oid.map_err(|e| self.error(e))?;
            out.push(summary(&repo.find_commit(oid).map_err(|e| self.error(e))?));
        }
        Ok(out)
    }
}

pub(crate) fn summary(c: &git2::Commit<'_>) -> CommitSummary {
    let message = String::from_utf8_lossy(c.message_bytes()).into_owned();
    let author = c.author();
    CommitSummary {
        id: CommitId::from_oid(c.id()),
        parents: c.parent_ids().map(CommitId::from_oid).collect(),
        author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        time: author.when().seconds(),
        title: title_of(&message),
        message,
    }
}

fn entry_id(commit: &git2::Commit<'_>, path: &str) -> Option<Oid> {
    commit
        .tree()
        .ok()?
        .get_path(Path::new(path))
        .ok()
        .map(|e| e.id())
}

/// Whether a file's bytes are binary: a NUL in its first 8,000 bytes, as
/// git itself decides.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|b| *b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, Identity};

    fn repo_with_history() -> (tempfile::TempDir, Repo, Vec<CommitId>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("src.git")).expect("init");
        let who = Identity::new("alice", "alice@example.org");
        let mut ids = Vec::new();
        for (message, changes) in [
            (
                "Add readme\n\nLonger text.",
                vec![Change::put("README.md", b"# hammer\n".to_vec())],
            ),
            (
                "Add code",
                vec![
                    Change::put("src/main.rs", b"fn main() {}\n".to_vec()),
                    Change::put("logo.png", vec![0x89, b'P', 0, 1]),
                ],
            ),
            (
                "Edit readme",
                vec![Change::put("README.md", b"# hammer\nA hammer.\n".to_vec())],
            ),
        ] {
            ids.push(
                repo.commit_with("main", &who, message, |_| Ok(changes.clone()))
                    .expect("commit"),
            );
        }
        (dir, repo, ids)
    }

    #[test]
    fn branches_tags_and_revisions() -> Result<(), Error> {
        let (_d, repo, ids) = repo_with_history();
        repo.git()
            .reference("refs/heads/feature", ids[1].oid(), false, "branch")
            .map_err(|e| repo.error(e))?;
        repo.git()
            .reference("refs/tags/v1.0", ids[0].oid(), false, "tag")
            .map_err(|e| repo.error(e))?;
        let branches: Vec<(String, CommitId, String)> = repo
            .branches()?
            .into_iter()
            .map(|r| (r.name, r.commit, r.title))
            .collect();
        assert_eq!(
            branches,
            [
                ("feature".into(), ids[1], "Add code".into()),
                ("main".into(), ids[2], "Edit readme".into())
            ]
        );
        assert_eq!(repo.tags()?[0].name, "v1.0");
        assert_eq!(repo.resolve("main")?, ids[2]);
        assert_eq!(repo.resolve("v1.0")?, ids[0]);
        assert_eq!(repo.resolve(&ids[1].to_string()[..10])?, ids[1]);
        for bad in ["nope", "", "--all", "main..feature", "HEAD~1"] {
            assert!(
                matches!(repo.resolve(bad), Err(Error::UnknownRevision(_))),
                "{bad:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn trees_and_files() -> Result<(), Error> {
        let (_d, repo, ids) = repo_with_history();
        let root = repo.list_tree(ids[2], "")?;
        let names: Vec<(&str, EntryKind)> =
            root.iter().map(|i| (i.name.as_str(), i.kind)).collect();
        assert_eq!(
            names,
            [
                ("src", EntryKind::Dir),
                ("README.md", EntryKind::File),
                ("logo.png", EntryKind::File)
            ]
        );
        assert_eq!(root[1].size, Some(19));
        assert_eq!(repo.list_tree(ids[2], "src/")?[0].path, "src/main.rs");
        assert!(matches!(
            repo.list_tree(ids[2], "README.md"),
            Err(Error::NotADirectory(_))
        ));
        assert!(matches!(
            repo.list_tree(ids[2], "nope"),
            Err(Error::NoSuchPath(_))
        ));
        assert_eq!(
            repo.file_content(ids[2], "README.md", 1000)?,
            FileContent::Text("# hammer\nA hammer.\n".into())
        );
        assert_eq!(
            repo.file_content(ids[2], "logo.png", 1000)?,
            FileContent::Binary { size: 4 }
        );
        assert_eq!(
            repo.file_content(ids[2], "README.md", 5)?,
            FileContent::TooLarge { size: 19, limit: 5 }
        );
        assert!(matches!(
            repo.file_content(ids[2], "src", 1000),
            Err(Error::NotAFile(_))
        ));
        Ok(())
    }

    #[test]
    fn log_pages_and_follows_a_path() -> Result<(), Error> {
        let (_d, repo, ids) = repo_with_history();
        let titles = |log: Vec<CommitSummary>| log.into_iter().map(|c| c.title).collect::<Vec<_>>();
        assert_eq!(
            titles(repo.log(ids[2], None, 0, 10)?),
            ["Edit readme", "Add code", "Add readme"]
        );
        assert_eq!(titles(repo.log(ids[2], None, 1, 1)?), ["Add code"]);
        assert_eq!(
            titles(repo.log(ids[2], Some("README.md"), 0, 10)?),
            ["Edit readme", "Add readme"]
        );
        assert_eq!(titles(repo.log(ids[2], Some("src"), 0, 10)?), ["Add code"]);
        let first = repo.log(ids[0], None, 0, 10)?;
        assert_eq!(first[0].message, "Add readme\n\nLonger text.");
        assert!(first[0].parents.is_empty());
        assert_eq!(
            titles(repo.log_range(ids[0], ids[2], 10)?),
            ["Edit readme", "Add code"]
        );
        assert!(repo.log_range(ids[2], ids[0], 10)?.is_empty());
        Ok(())
    }
}

/// One line of a blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlameLine {
    /// Line number, from 1.
    pub line: usize,
    /// The commit that last changed the line.
    pub commit: CommitId,
    /// That commit's author.
    pub author: String,
    /// That commit's author time, epoch seconds.
    pub time: i64,
    /// The line's text, without its end of line.
    pub text: String,
}

impl Repo {
    /// Which commit last changed each line of the text file `path` at `commit`.
    pub fn blame(&self, commit: CommitId, path: &str, limit: u64) -> Result<Vec<BlameLine>, Error> {
        let path = path.trim_matches('/');
        let text = match self.file_content(commit, path, limit)? {
            FileContent::Text(text) => text,
            FileContent::Binary { .. } => return Err(Error::NotText(path.to_string())),
            FileContent::TooLarge { size, limit } => {
                return Err(Error::TooLarge {
                    path: path.to_string(),
                    size,
                    limit,
                })
            }
        };
        let mut opts = git2::BlameOptions::new();
        opts.newest_commit(commit.oid());
        let blame = self
            .git()
            .blame_file(Path::new(path), Some(&mut opts))
            .map_err(|e| self.error(e))?;
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let Some(hunk) = blame.get_line(i + 1) else {
                continue;
            };
            let sig = hunk.final_signature();
            out.push(BlameLine {
                line: i + 1,
                commit: CommitId::from_oid(hunk.final_commit_id()),
                author: sig
                    .as_ref()
                    .map(|s| String::from_utf8_lossy(s.name_bytes()).into_owned())
                    .unwrap_or_default(),
                time: sig.as_ref().map(|s| s.when().seconds()).unwrap_or_default(),
                text: line.to_string(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod blame_tests {
    use super::*;
    use crate::{Change, Identity};

    #[test]
    fn blame_names_the_last_change_of_each_line() -> Result<(), Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git"))?;
        let a = repo.commit_with(
            "main",
            &Identity::new("alice", "a@example.org"),
            "one",
            |_| {
                Ok(vec![
                    Change::put("f.txt", b"one\ntwo\nthree\n".to_vec()),
                    Change::put("b.bin", vec![0, 1]),
                ])
            },
        )?;
        let b = repo.commit_with(
            "main",
            &Identity::new("bob", "b@example.org"),
            "two",
            |_| Ok(vec![Change::put("f.txt", b"one\nTWO\nthree\n".to_vec())]),
        )?;
        let lines: Vec<(usize, CommitId, String, String)> = repo
            .blame(b, "f.txt", 1 << 20)?
            .into_iter()
            .map(|l| (l.line, l.commit, l.author, l.text))
            .collect();
        assert_eq!(
            lines,
            [
                (1, a, "alice".into(), "one".into()),
                (2, b, "bob".into(), "TWO".into()),
                (3, a, "alice".into(), "three".into())
            ]
        );
        assert_eq!(
            repo.blame(a, "f.txt", 1 << 20)?[1].text,
            "two",
            "blame at an older commit"
        );
        assert!(matches!(
            repo.blame(b, "b.bin", 1 << 20),
            Err(Error::NotText(_))
        ));
        assert!(matches!(
            repo.blame(b, "f.txt", 3),
            Err(Error::TooLarge { .. })
        ));
        Ok(())
    }
}
