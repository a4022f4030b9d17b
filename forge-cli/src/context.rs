//! Where a command works: a forge home or an offline clone, and who acts.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use forge_core::{ForgeHome, Store};
use forge_git::Repo;
use forge_tickets::{Actor, PullRequests, Tracker};

/// A forge server to work against.
#[derive(Debug, Clone)]
pub struct Remote {
    /// Base URL (`http://host:port`).
    pub url: String,
    /// API token.
    pub token: Option<String>,
}

/// Global options every command sees.
pub struct Ctx {
    pub json: bool,
    remote: Option<Remote>,
    as_user: Option<String>,
    home: ForgeHome,
    clone: Option<PathBuf>,
}

impl Ctx {
    pub fn new(
        home: Option<PathBuf>,
        clone: Option<PathBuf>,
        as_user: Option<String>,
        json: bool,
    ) -> Self {
        let home = home
            .or_else(|| {
                std::env::var_os("FORGE_HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("forge-data"));
        let as_user =
            as_user.or_else(|| std::env::var("FORGE_USER").ok().filter(|v| !v.is_empty()));
        Ctx {
            json,
            remote: None,
            as_user,
            home: ForgeHome::new(home),
            clone,
        }
    }

    /// Sets the server to work against (`--remote`, `--token`).
    pub fn with_remote(mut self, url: Option<String>, token: Option<String>) -> Self {
        self.remote = url.map(|url| Remote {
            url: url.trim_end_matches('/').to_string(),
            token,
        });
        self
    }

    /// The server given with --remote, if any.
    pub fn remote(&self) -> Option<Remote> {
        self.remote.clone()
    }

    pub fn home(&self) -> Result<&ForgeHome> {
        if self.clone.is_some() {
            bail!("this command needs a forge home, not --repo");
        }
        Ok(&self.home)
    }

    /// The forge home's store; the home must have been initialized.
    pub fn home_store(&self) -> Result<Store> {
        let home = self.home()?;
        let db = home.db_path();
        if !db.exists() {
            if holds_repositories(home) {
                bail!(
                    "{} is missing, but {} holds repositories: the database of this forge home \
                     is lost. Restore it from a backup (`forge backup restore BACKUP --home DIR`), \
                     or run `forge fsck --repair` to adopt the repositories (users come back \
                     without credentials)",
                    db.display(),
                    home.root().display()
                );
            }
            bail!(
                "no forge home at {} (run `forge init` there, or pass --home)",
                home.root().display()
            );
        }
        let store = Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
        store.map_reads()?;
        Ok(store)
    }

    /// The acting user, required.
    pub fn user(&self) -> Result<&str> {
        self.as_user
            .as_deref()
            .ok_or_else(|| anyhow!("no acting user: pass --as USER or set FORGE_USER"))
    }

    /// The acting user as an admin of the project `name` of this forge
    /// home (refused, naming the project, for anyone else).
    pub fn admin<'s>(&'s self, store: &'s Store, name: &str) -> Result<forge_tickets::Admin<'s>> {
        Ok(forge_tickets::Admin::open(
            store,
            self.home()?,
            store.project(name)?,
            self.user()?,
        )?)
    }

    pub fn as_user(&self) -> Option<&str> {
        self.as_user.as_deref()
    }

    /// Runs `f` with the tracker of a project (forge home) or of the clone
    /// given with --repo, and the actor (`None`: anonymous, reads only).
    pub fn with_tracker<T>(
        &self,
        project: Option<&str>,
        f: impl FnOnce(&Tracker<'_>, Actor) -> Result<T>,
    ) -> Result<T> {
        let (result, warnings) = match &self.clone {
            Some(path) => self.in_clone(path, project, f)?,
            None => {
                let store = self.home_store()?;
                let (project, actor) = self.project_and_actor(&store, project)?;
                let tracker = Tracker::open_for_project(&store, self.home()?, &project)?;
                let result = f(&tracker, actor);
                let warnings = tracker.take_warnings();
                // As in `with_pulls`: the process ends with the command.
                std::mem::forget(tracker);
                store.leave();
                (result, warnings)
            }
        };
        for w in warnings {
            eprintln!("forge: warning: {w}");
        }
        result
    }

    /// Runs `f` with the pull requests of a project of the forge home and
    /// the actor (anonymous when no user is given: reads only).
    pub fn with_pulls<T>(
        &self,
        project: Option<&str>,
        f: impl FnOnce(&PullRequests<'_>, Actor) -> Result<T>,
    ) -> Result<T> {
        let store = self.home_store()?;
        let (project, actor) = self.project_and_actor(&store, project)?;
        let pulls = PullRequests::open(&store, self.home()?, &project)?;
        let result = f(&pulls, actor);
        for w in pulls.take_warnings() {
            eprintln!("forge: warning: {w}");
        }
        // The command ends here and the process with it: the system unmaps
        // the repositories' pack windows at exit faster than their
        // destructors do one by one (about 1.5 ms of a `pr refresh`), and
        // takes back SQLite's page cache without freeing it page by page
        // (6% of listing 5,000 requests).
        std::mem::forget(pulls);
        store.leave();
        result
    }

    /// The project named with `-p` and who acts on it (anonymous when no
    /// user is given: reads only).
    fn project_and_actor(
        &self,
        store: &Store,
        project: Option<&str>,
    ) -> Result<(forge_core::project::Project, Actor)> {
        let name = project.ok_or_else(|| anyhow!("which project? pass -p PROJECT"))?;
        let project = store.project(name)?;
        let actor = match self.as_user() {
            Some(user) => Actor::for_user(store, &project, user)?,
            None => Actor::anonymous(project.private),
        };
        Ok((project, actor))
    }

    fn in_clone<T>(
        &self,
        path: &Path,
        project: Option<&str>,
        f: impl FnOnce(&Tracker<'_>, Actor) -> Result<T>,
    ) -> Result<(Result<T>, Vec<String>)> {
        let repo = Repo::open(path)?;
        configure_merge_driver(&repo)?;
        let mut warnings = Vec::new();
        let store = open_clone_index(&repo, &mut warnings)?;
        let label = match project {
            Some(p) => p.to_string(),
            None => clone_label(path),
        };
        let identity = repo.configured_identity();
        let username = match (self.as_user(), &identity) {
            (Some(u), _) => u.to_string(),
            (None, Some(id)) => id.name.clone(),
            (None, None) => String::new(),
        };
        let email = identity.map(|i| i.email).unwrap_or_default();
        let tracker = Tracker::open_clone(&store, repo, &label)?;
        let actor = Actor::clone_owner(&username, &email);
        let result = if username.is_empty() {
            Err(anyhow!(
                "no acting user: pass --as USER, set FORGE_USER or git config user.name"
            ))
        } else {
            f(&tracker, actor)
        };
        warnings.extend(tracker.take_warnings());
        Ok((result, warnings))
    }
}

fn clone_label(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let name = canonical
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("tickets");
    name.strip_suffix(".git").unwrap_or(name).to_string()
}

/// The index of a clone lives in `.git/forge/index.db`; a corrupted one is
/// set aside and rebuilt from git.
fn open_clone_index(repo: &Repo, warnings: &mut Vec<String>) -> Result<Store> {
    let dir = repo.git_dir().join("forge");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = dir.join("index.db");
    match Store::open(&db) {
        Ok(store) => Ok(store),
        Err(e) if db.exists() => {
            let aside = dir.join(format!(
                "index.db.corrupt-{}",
                forge_core::time::now_epoch()
            ));
            std::fs::rename(&db, &aside)
                .with_context(|| format!("moving {} aside", db.display()))?;
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("index.db{suffix}")));
            }
            warnings.push(format!(
                "the index {} could not be opened ({e}); moved it to {} and rebuilt it from git",
                db.display(),
                aside.display()
            ));
            Store::open(&db).with_context(|| format!("opening {}", db.display()))
        }
        Err(e) => Err(e).with_context(|| format!("opening {}", db.display())),
    }
}

/// Makes `git merge` / `git pull` in the clone merge ticket documents with
/// `forge merge-driver`, so concurrent edits never leave conflict markers.
fn configure_merge_driver(repo: &Repo) -> Result<()> {
    let exe = std::env::current_exe().context("locating the forge executable")?;
    let driver = format!(
        "'{}' merge-driver %O %A %B %P",
        exe.display().to_string().replace('\'', "'\\''")
    );
    if repo.config_value("merge.forge-json.driver").as_deref() != Some(driver.as_str()) {
        repo.set_config("merge.forge-json.name", "forge ticket documents")?;
        repo.set_config("merge.forge-json.driver", &driver)?;
    }
    // A plain `git pull` must merge (where the driver runs), not stop at
    // "divergent branches"; a choice the user made is kept.
    if repo.config_value("pull.rebase").is_none() {
        repo.set_config("pull.rebase", "false")?;
    }
    let info = repo.git_dir().join("info");
    let attributes = info.join("attributes");
    let line = "*.json merge=forge-json";
    let current = std::fs::read_to_string(&attributes).unwrap_or_default();
    if !current.lines().any(|l| l.trim() == line) {
        std::fs::create_dir_all(&info).with_context(|| format!("creating {}", info.display()))?;
        let mut text = current;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(line);
        text.push('\n');
        std::fs::write(&attributes, text)
            .with_context(|| format!("writing {}", attributes.display()))?;
    }
    Ok(())
}

/// Whether a home's repository folders hold anything (its database lost).
pub fn holds_repositories(home: &ForgeHome) -> bool {
    ["repos", "tickets"].iter().any(|dir| {
        std::fs::read_dir(home.root().join(dir)).is_ok_and(|mut entries| entries.next().is_some())
    })
}
