//! Copying a bare repository that others go on writing to, for backups:
//! the refs are read first, then the object files are copied until a pass
//! finds nothing new, so every ref in the copy names objects the copy has.
//! Objects are never changed once written (git writes each to a temporary
//! name and renames it), so a file seen is a file complete; a pack that a
//! repack removes before it is copied is replaced by the pack the repack
//! wrote, which the next pass finds.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use git2::Repository;

use crate::Error;

/// What [`copy_repository`] copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    /// Refs written to the copy (symbolic ones included).
    pub refs: usize,
    /// Files copied.
    pub files: usize,
    /// Bytes copied.
    pub bytes: u64,
    /// Passes over the object folder it took.
    pub passes: u32,
}

/// Passes over the objects before giving up on a repository repacked
/// under every one of them.
const MAX_PASSES: u32 = 8;

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Git {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Copies the bare repository at `src` to `dst` (a folder that must not
/// exist yet) while other processes may be writing to `src`. `borrow_from`
/// is the copy of the repository whose objects this one borrows (a fork's
/// parent): the copy's alternates name it by a relative path, so the copy
/// stays whole wherever its folder is moved.
pub fn copy_repository(
    src: &Path,
    dst: &Path,
    borrow_from: Option<&Path>,
    pace: &mut Pace,
) -> Result<Copied, Error> {
    if dst.exists() {
        return Err(io(
            dst,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
        ));
    }
    let refs = read_refs(src)?;
    std::fs::create_dir_all(dst.join("refs/heads")).map_err(|e| io(dst, e))?;
    std::fs::create_dir_all(dst.join("refs/tags")).map_err(|e| io(dst, e))?;
    std::fs::create_dir_all(dst.join("objects/pack")).map_err(|e| io(dst, e))?;
    std::fs::create_dir_all(dst.join("objects/info")).map_err(|e| io(dst, e))?;
    let mut copied = Copied::default();
    copy_metadata(src, dst, &mut copied, pace)?;
    if let Some(parent) = borrow_from {
        write_relative_alternates(dst, parent)?;
    }
    // A file gone before it was copied was removed by a repack, after the
    // pack that replaces it was written: the next listing finds that one.
    let mut seen = HashSet::new();
    loop {
        copied.passes += 1;
        let vanished = copy_objects_pass(src, dst, &mut seen, &mut copied, pace)?;
        if vanished == 0 {
            break;
        }
        if copied.passes >= MAX_PASSES {
            return Err(Error::Git {
                path: src.display().to_string(),
                message: format!(
                    "it was repacked under each of {MAX_PASSES} copies of its objects; try again"
                ),
            });
        }
    }
    let missing = missing_tips(dst, &refs)?;
    if !missing.is_empty() {
        return Err(Error::Git {
            path: src.display().to_string(),
            message: format!("the copy lacks the objects of {}", missing.join(", ")),
        });
    }
    write_refs(dst, &refs)?;
    copied.refs = refs.len();
    Ok(copied)
}

/// A ref as read: a commit (or tag) id, or the name of another ref.
#[derive(Debug, Clone)]
enum Target {
    Direct(git2::Oid),
    Symbolic(String),
}

fn read_refs(src: &Path) -> Result<BTreeMap<String, Target>, Error> {
    let git = |e: git2::Error| Error::Git {
        path: src.display().to_string(),
        message: e.message().to_string(),
    };
    let repo = Repository::open_bare(src).map_err(git)?;
    let mut out = BTreeMap::new();
    for reference in repo.references().map_err(git)? {
        let reference = reference.map_err(git)?;
        let Ok(name) = reference.name() else { continue };
        let target = match (reference.target(), reference.symbolic_target()) {
            (Some(id), _) => Target::Direct(id),
            (None, Ok(Some(to))) => Target::Symbolic(to.to_string()),
            (None, _) => continue,
        };
        out.insert(name.to_string(), target);
    }
    Ok(out)
}

/// The ids of refs whose object the copy lacks.
fn missing_tips(dst: &Path, refs: &BTreeMap<String, Target>) -> Result<Vec<String>, Error> {
    let git = |e: git2::Error| Error::Git {
        path: dst.display().to_string(),
        message: e.message().to_string(),
    };
    let repo = Repository::open_bare(dst).map_err(git)?;
    let odb = repo.odb().map_err(git)?;
    Ok(refs
        .iter()
        .filter_map(|(name, target)| match target {
            Target::Direct(id) if !odb.exists(*id) => Some(format!("{name} ({id})")),
            _ => None,
        })
        .collect())
}

/// `packed-refs` with every direct ref, and loose files for symbolic ones.
fn write_refs(dst: &Path, refs: &BTreeMap<String, Target>) -> Result<(), Error> {
    let mut packed = String::from("# pack-refs with: sorted \n");
    for (name, target) in refs {
        match target {
            Target::Direct(id) => packed.push_str(&format!("{id} {name}\n")),
            Target::Symbolic(to) => {
                let path = dst.join(name);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
                }
                std::fs::write(&path, format!("ref: {to}\n")).map_err(|e| io(&path, e))?;
            }
        }
    }
    let path = dst.join("packed-refs");
    std::fs::write(&path, packed).map_err(|e| io(&path, e))
}

/// Everything of the repository but its refs and objects: HEAD, config,
/// description, info/, hooks/ (lock files and logs left out).
fn copy_metadata(
    src: &Path,
    dst: &Path,
    copied: &mut Copied,
    pace: &mut Pace,
) -> Result<(), Error> {
    let entries = std::fs::read_dir(src).map_err(|e| io(src, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io(src, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if matches!(
            name.as_ref(),
            "objects" | "refs" | "packed-refs" | "logs" | "FETCH_HEAD" | "ORIG_HEAD"
        ) || name.ends_with(".lock")
        {
            continue;
        }
        copy_tree(&entry.path(), &dst.join(name.as_ref()), copied, pace)?;
    }
    Ok(())
}

/// Copies a file, or a folder with what it holds (symbolic links kept as
/// links, lock files left out). Something removed meanwhile is skipped.
pub fn copy_tree(
    src: &Path,
    dst: &Path,
    copied: &mut Copied,
    pace: &mut Pace,
) -> Result<(), Error> {
    let meta = match std::fs::symlink_metadata(src) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(src, e)),
    };
    if meta.is_dir() {
        std::fs::create_dir_all(dst).map_err(|e| io(dst, e))?;
        for entry in std::fs::read_dir(src).map_err(|e| io(src, e))? {
            let entry = entry.map_err(|e| io(src, e))?;
            if entry.file_name().to_string_lossy().ends_with(".lock") {
                continue;
            }
            copy_tree(&entry.path(), &dst.join(entry.file_name()), copied, pace)?;
        }
        Ok(())
    } else if meta.file_type().is_symlink() {
        let to = std::fs::read_link(src).map_err(|e| io(src, e))?;
        symlink(&to, dst)
    } else if meta.is_file() {
        copy_file(src, dst, copied, pace).map(|_| ())
    } else {
        Ok(()) // sockets, fifos: nothing a backup can hold
    }
}

#[cfg(unix)]
fn symlink(to: &Path, dst: &Path) -> Result<(), Error> {
    std::os::unix::fs::symlink(to, dst).map_err(|e| io(dst, e))
}

#[cfg(not(unix))]
fn symlink(_to: &Path, _dst: &Path) -> Result<(), Error> {
    Ok(())
}

/// How fast copies go: at most `bytes_per_second` on average (none: as
/// fast as the disk goes), so that a backup leaves the machine's memory
/// bandwidth and disk to the server it copies.
#[derive(Debug)]
pub struct Pace {
    bytes_per_second: Option<u64>,
    start: Instant,
    done: u64,
}

impl Pace {
    /// A pace of `bytes_per_second` (`None`: unlimited).
    pub fn new(bytes_per_second: Option<u64>) -> Pace {
        Pace {
            bytes_per_second: bytes_per_second.filter(|&r| r > 0),
            start: Instant::now(),
            done: 0,
        }
    }

    /// Counts `bytes` copied, sleeping as long as the copy is ahead of its
    /// pace, else yielding the processor: a copy at `SCHED_IDLE` that stays
    /// in user space keeps a woken server thread waiting until the next
    /// scheduler tick on a kernel that preempts lazily (4 ms here; the
    /// server's p99 under back-to-back backups went from 3.1 ms to 1.4 ms
    /// with the yields, BENCHMARKS.md "Backups").
    pub fn account(&mut self, bytes: u64) {
        self.done += bytes;
        let ahead = self.bytes_per_second.and_then(|rate| {
            Duration::from_secs_f64(self.done as f64 / rate as f64)
                .checked_sub(self.start.elapsed())
        });
        match ahead {
            Some(ahead) => std::thread::sleep(ahead),
            None => std::thread::yield_now(),
        }
    }
}

/// Bytes copied by one system call, between two looks at the pace (and a
/// yield of the processor, as in `Store::backup_to`). Under a server's
/// load, 256 KB steps disturbed its p99 less than 1 MB steps, and 64 KB
/// no less than 256 KB (BENCHMARKS.md, "Backups").
const CHUNK: u64 = 256 << 10;

/// Copies one file, at the pace; `false` when it was gone before it could
/// be read.
fn copy_file(src: &Path, dst: &Path, copied: &mut Copied, pace: &mut Pace) -> Result<bool, Error> {
    let from = match File::open(src) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(src, e)),
    };
    let mut to = File::create(dst).map_err(|e| io(dst, e))?;
    loop {
        let n = std::io::copy(&mut (&from).take(CHUNK), &mut to).map_err(|e| io(dst, e))?;
        copied.bytes += n;
        pace.account(n);
        if n < CHUNK {
            break;
        }
    }
    let mode = from.metadata().map_err(|e| io(src, e))?.permissions();
    to.set_permissions(mode).map_err(|e| io(dst, e))?;
    copied.files += 1;
    Ok(true)
}

/// One pass over `src/objects`: copies the object files not copied yet;
/// returns how many were gone before they could be copied. Quarantined pushes, temporary files and the
/// indexes that describe a set of packs (multi-pack-index, commit-graph:
/// optional, and wrong for a set copied across a repack) are left out, as
/// are alternates (written by the copy for its own place).
fn copy_objects_pass(
    src: &Path,
    dst: &Path,
    seen: &mut HashSet<PathBuf>,
    copied: &mut Copied,
    pace: &mut Pace,
) -> Result<usize, Error> {
    let objects = src.join("objects");
    let mut files = Vec::new();
    list_objects(&objects, Path::new(""), &mut files)?;
    // Pack data before its index: an index copied without its pack would
    // name objects the copy lacks.
    files.sort_by_key(|p| !p.to_string_lossy().ends_with(".pack"));
    let mut vanished = 0;
    for rel in files {
        if seen.contains(&rel) {
            continue;
        }
        let to = dst.join("objects").join(&rel);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        if copy_file(&objects.join(&rel), &to, copied, pace)? {
            seen.insert(rel);
        } else {
            vanished += 1;
        }
    }
    Ok(vanished)
}

fn list_objects(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let dir = root.join(rel);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(&dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = rel.join(&name);
        let kind = entry.file_type().map_err(|e| io(&dir, e))?;
        if kind.is_dir() {
            let wanted = rel.as_os_str().is_empty()
                && (name == "pack"
                    || name == "info"
                    || (name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit())));
            if wanted {
                list_objects(root, &path, out)?;
            }
        } else if kind.is_file() && !skipped_object_file(rel, &name) {
            out.push(path);
        }
    }
    Ok(())
}

fn skipped_object_file(rel: &Path, name: &str) -> bool {
    name.starts_with("tmp_")
        || name.starts_with(".tmp")
        || name.ends_with(".lock")
        || name.ends_with(".keep")
        || name.starts_with("multi-pack-index")
        || (rel == Path::new("info") && (name == "alternates" || name.starts_with("commit-graph")))
}

/// Alternates naming `parent`'s objects relative to `dst`'s objects folder.
fn write_relative_alternates(dst: &Path, parent: &Path) -> Result<(), Error> {
    let from = dst.join("objects");
    let to = parent.join("objects");
    let relative = relative_path(&from, &to).ok_or_else(|| Error::Git {
        path: dst.display().to_string(),
        message: format!("cannot name {} relative to it", to.display()),
    })?;
    let info = from.join("info");
    std::fs::create_dir_all(&info).map_err(|e| io(&info, e))?;
    let file = info.join("alternates");
    std::fs::write(&file, format!("{}\n", relative.display())).map_err(|e| io(&file, e))
}

/// `to` relative to the folder `from`, both plain paths under one root
/// (no `..` in them).
fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    let plain = |p: &Path| p.components().all(|c| !matches!(c, Component::ParentDir));
    if !plain(from) || !plain(to) {
        return None;
    }
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part.as_os_str());
    }
    Some(out)
}

/// `git fsck` of a repository (objects connected and sound, refs naming
/// objects that exist): the problems it reports, none when it is whole.
pub fn fsck(path: &Path) -> Result<Vec<String>, Error> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(path)
        .args(["fsck", "--no-progress", "--no-dangling", "--strict"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .map_err(|e| io(path, e))?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let problems: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Checking") && !l.starts_with("warning in tag"))
        .map(str::to_string)
        .collect();
    if out.status.success() {
        Ok(problems
            .into_iter()
            .filter(|l| l.starts_with("error"))
            .collect())
    } else if problems.is_empty() {
        Ok(vec![format!("git fsck failed ({})", out.status)])
    } else {
        Ok(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_between_copies() {
        let from = Path::new("/b/repos/forks/ann/ns/p.git/objects");
        let to = Path::new("/b/repos/ns/p.git/objects");
        assert_eq!(
            relative_path(from, to),
            Some(PathBuf::from("../../../../../ns/p.git/objects"))
        );
        assert_eq!(relative_path(Path::new("a/../b"), to), None);
    }
}
