//! The repositories a forge home holds on disk, by what they are.

use std::path::{Path, PathBuf};

use forge_core::ForgeHome;

/// A repository found on disk, by the layout of a forge home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OnDisk {
    /// One of a project's four (`repos/`, `docs/`, `tickets/`, `requests/`).
    Project(String),
    /// A user's fork (`repos/forks/<user>/<project>.git`).
    Fork { user: String, project: String },
}

/// Whether the fork's alternates name the objects of `source`.
pub(super) fn borrows_from(fork: &Path, source: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(fork.join("objects/info/alternates")) else {
        return false;
    };
    let want = source
        .join("objects")
        .canonicalize()
        .unwrap_or_else(|_| source.join("objects"));
    text.lines().any(|line| {
        let named = Path::new(line.trim());
        let named = if named.is_absolute() {
            named.to_path_buf()
        } else {
            fork.join("objects").join(named)
        };
        named.canonicalize().is_ok_and(|p| p == want)
    })
}

/// Every bare repository under the home's repository folders, with what
/// the layout makes it; paths that fit no project name are left out.
pub(super) fn repositories(home: &ForgeHome) -> Vec<(PathBuf, OnDisk)> {
    let mut out = Vec::new();
    for root in ["repos", "docs", "tickets", "requests"] {
        let base = home.root().join(root);
        let mut found = Vec::new();
        walk(&base, &mut found);
        for path in found {
            let Ok(rel) = path.strip_prefix(&base) else {
                continue;
            };
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let Some(what) = classify(root, &parts) else {
                continue;
            };
            out.push((path, what));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn classify(root: &str, parts: &[String]) -> Option<OnDisk> {
    let strip = |name: &str| name.strip_suffix(".git").map(str::to_string);
    match parts {
        [forks, user, rest @ ..] if root == "repos" && forks == "forks" && !rest.is_empty() => {
            let mut project = rest[..rest.len() - 1].to_vec();
            project.push(strip(&rest[rest.len() - 1])?);
            Some(OnDisk::Fork {
                user: user.clone(),
                project: project.join("/"),
            })
        }
        [name] => Some(OnDisk::Project(strip(name)?)),
        [ns, name] => Some(OnDisk::Project(format!("{ns}/{}", strip(name)?))),
        _ => None,
    }
}

/// Folders named `*.git` holding `HEAD`, not looking inside them.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        if entry.file_name().to_string_lossy().ends_with(".git") && path.join("HEAD").is_file() {
            out.push(path);
        } else {
            walk(&path, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &str) -> Vec<String> {
        p.split('/').map(str::to_string).collect()
    }

    #[test]
    fn layout_names_projects_and_forks() {
        assert_eq!(
            classify("tickets", &parts("p.git")),
            Some(OnDisk::Project("p".into()))
        );
        assert_eq!(
            classify("repos", &parts("ns/p.git")),
            Some(OnDisk::Project("ns/p".into()))
        );
        assert_eq!(
            classify("repos", &parts("forks/ann/ns/p.git")),
            Some(OnDisk::Fork {
                user: "ann".into(),
                project: "ns/p".into()
            })
        );
        assert_eq!(classify("docs", &parts("a/b/c.git")), None);
        assert_eq!(classify("docs", &parts("p")), None);
    }
}
