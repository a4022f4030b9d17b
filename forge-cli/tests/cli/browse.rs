//! `forge repo`: browsing a source repository filled by a real `git push`.

use crate::{git, Forge};

fn pushed(f: &Forge) -> std::path::PathBuf {
    let work = f.dir.path().join("work");
    std::fs::create_dir_all(work.join("src")).expect("mkdir");
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["config", "user.name", "alice"]);
    git(&work, &["config", "user.email", "alice@example.org"]);
    std::fs::write(work.join("README.md"), "# hammer\n").expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "Add readme"]);
    std::fs::write(work.join("src/main.rs"), "fn main() {}\n").expect("write");
    std::fs::write(work.join("logo.png"), [0x89u8, b'P', 0, 1]).expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "Add code"]);
    git(&work, &["tag", "v0.1"]);
    git(&work, &["checkout", "-qb", "feature/x"]);
    std::fs::write(work.join("README.md"), "# hammer\nNow with a handle.\n").expect("write");
    git(&work, &["commit", "-qam", "Describe the handle"]);
    let source = f.home().join("repos/tools/hammer.git");
    git(
        &work,
        &[
            "push",
            "-q",
            source.to_str().expect("utf-8"),
            "main",
            "feature/x",
            "v0.1",
        ],
    );
    work
}

#[test]
fn branches_tags_tree_cat_and_log() {
    let f = Forge::with_project();
    let err = f.fails_line("repo log -p tools/hammer");
    assert!(err.contains("has no commits yet"), "{err}");
    pushed(&f);
    let branches = f.json_line("repo branches -p tools/hammer");
    assert_eq!(branches[0]["name"], "feature/x");
    assert_eq!(branches[1]["name"], "main");
    assert_eq!(branches[1]["default"], true);
    assert_eq!(branches[1]["title"], "Add code");
    assert_eq!(f.json_line("repo tags -p tools/hammer")[0]["name"], "v0.1");

    let tree = f.json_line("repo tree -p tools/hammer");
    let names: Vec<(&str, &str)> = tree
        .as_array()
        .expect("list")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or(""),
                e["type"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        names,
        [("src", "dir"), ("README.md", "file"), ("logo.png", "file")]
    );
    assert_eq!(
        f.json_line("repo tree -p tools/hammer src")[0]["path"],
        "src/main.rs"
    );

    assert_eq!(
        f.ok_line("repo cat -p tools/hammer README.md"),
        "# hammer\n"
    );
    assert_eq!(
        f.ok_line("repo cat -p tools/hammer --ref feature/x README.md"),
        "# hammer\nNow with a handle.\n"
    );
    let err = f.fails_line("repo cat -p tools/hammer logo.png");
    assert!(
        err.contains("`logo.png` is a binary file (4 bytes)"),
        "{err}"
    );
    let err = f.fails_line("repo cat -p tools/hammer --ref nope README.md");
    assert!(err.contains("unknown revision `nope`"), "{err}");
    let err = f.fails_line("repo cat -p tools/hammer missing.txt");
    assert!(err.contains("no file or folder `missing.txt`"), "{err}");

    let log = f.json_line("repo log -p tools/hammer --ref feature/x");
    let titles: Vec<&str> = log
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|c| c["title"].as_str())
        .collect();
    assert_eq!(titles, ["Describe the handle", "Add code", "Add readme"]);
    assert_eq!(log[0]["author"]["name"], "alice");
    let by_path = f.json_line("repo log -p tools/hammer --ref feature/x --path README.md");
    assert_eq!(by_path.as_array().map(Vec::len), Some(2));
    let paged = f.json_line("repo log -p tools/hammer --ref v0.1 --skip 1 --limit 1");
    assert_eq!(paged[0]["title"], "Add readme");
    let text = f.ok_line("repo log -p tools/hammer");
    assert!(
        text.lines().nth(1).is_some_and(|l| l.contains("Add code")),
        "{text}"
    );
}

#[test]
fn show_and_diff_give_stats_and_patches() {
    let f = Forge::with_project();
    pushed(&f);
    let shown = f.json_line("repo show -p tools/hammer feature/x");
    assert_eq!(shown["title"], "Describe the handle");
    let files = shown["files"].as_array().expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["status"], "modified");
    assert_eq!(files[0]["additions"], 1);
    assert!(files[0]["patch"]
        .as_str()
        .is_some_and(|p| p.contains("+Now with a handle.")));

    let diff = f.json_line("repo diff -p tools/hammer v0.1..feature/x");
    assert_eq!(diff["files"].as_array().map(Vec::len), Some(1));
    assert_eq!(diff["commits"][0]["title"], "Describe the handle");
    assert_eq!(diff["commits"].as_array().map(Vec::len), Some(1));
    let from_root = f.json_line("repo show -p tools/hammer v0.1");
    let statuses: Vec<(&str, bool)> = from_root["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["new_path"].as_str().unwrap_or(""),
                f["binary"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(statuses, [("logo.png", true), ("src/main.rs", false)]);

    let text = f.ok_line("repo show -p tools/hammer v0.1");
    assert!(
        text.contains("2 files changed, 1 insertions(+), 0 deletions(-)"),
        "{text}"
    );
    assert!(text.contains("Binary file logo.png differs"), "{text}");
    let err = f.fails_line("repo diff -p tools/hammer main");
    assert!(err.contains("expected A..B"), "{err}");
}

#[test]
fn blame_names_who_changed_each_line() {
    let f = Forge::with_project();
    pushed(&f);
    let blame = f.json_line("repo blame -p tools/hammer --ref feature/x README.md");
    let lines: Vec<(&str, &str)> = blame
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["text"].as_str().unwrap_or(""),
                l["author"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [("# hammer", "alice"), ("Now with a handle.", "alice")]
    );
    assert_ne!(
        blame[0]["commit"], blame[1]["commit"],
        "the second line came later"
    );
    let text = f.ok_line("repo blame -p tools/hammer README.md");
    assert!(
        text.contains("(alice ") && text.ends_with("1) # hammer\n"),
        "{text}"
    );
    let err = f.fails_line("repo blame -p tools/hammer logo.png");
    assert!(err.contains("`logo.png` is a binary file"), "{err}");
}

#[test]
fn private_repositories_are_hidden_from_outsiders() {
    let f = Forge::with_project();
    f.ok_line("--as alice project create secret --private");
    let err = f.fails_line("--as bob repo branches -p secret");
    assert_eq!(err.trim(), "forge: project `secret` not found");
    assert_eq!(
        f.json_line("--as alice repo branches -p secret"),
        serde_json::json!([])
    );
}

#[test]
fn a_fork_shares_objects_and_takes_pushes() {
    let f = Forge::with_project();
    let work = pushed(&f);
    let out = f.json_line("--as bob project fork tools/hammer");
    assert_eq!(out["fork"], "forks/bob/tools/hammer");
    let fork = f.home().join("repos/forks/bob/tools/hammer.git");
    let alternates =
        std::fs::read_to_string(fork.join("objects/info/alternates")).expect("alternates");
    assert!(
        alternates
            .trim_end()
            .ends_with("repos/tools/hammer.git/objects"),
        "{alternates}"
    );
    // No object was copied: the fork's own object store is empty.
    let loose = std::fs::read_dir(fork.join("objects"))
        .expect("objects")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().len() == 2)
        .count();
    assert_eq!(loose, 0);
    assert_eq!(
        git(&fork, &["rev-parse", "feature/x"]),
        git(&work, &["rev-parse", "feature/x"])
    );
    assert_eq!(
        git(&fork, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    // Plain git can push a new branch to the fork, as its owner.
    git(&work, &["config", "user.name", "bob"]);
    git(&work, &["checkout", "-qb", "bob-fix"]);
    std::fs::write(work.join("fix.txt"), "fixed\n").expect("write");
    git(&work, &["add", "fix.txt"]);
    git(&work, &["commit", "-qm", "Fix"]);
    git(
        &work,
        &["push", "-q", fork.to_str().expect("utf-8"), "bob-fix"],
    );
    git(&fork, &["fsck", "--no-dangling"]);

    let shown = f.json_line("project show tools/hammer --fork bob");
    assert_eq!(shown["parent"], "tools/hammer");
    assert_eq!(
        f.json_line("project show tools/hammer")["forks"],
        serde_json::json!(["bob"])
    );
    let err = f.fails_line("--as bob project fork tools/hammer");
    assert!(
        err.contains("fork `bob/tools/hammer` already exists"),
        "{err}"
    );
    let err = f.fails_line("project show tools/hammer --fork carol");
    assert!(
        err.contains("fork `forks/carol/tools/hammer` not found"),
        "{err}"
    );
    let err = f.fails_line("project fork tools/hammer");
    assert!(err.contains("no acting user"), "{err}");
}

#[test]
fn a_project_is_renamed_given_away_and_deleted_with_its_repositories() {
    let f = Forge::with_project();
    let work = pushed(&f);
    f.member("bob", "commit");
    f.ok_line("--as alice issue new -p tools/hammer --title Loose");
    f.ok_line("--as bob project fork tools/hammer");

    let refused = f.fails_line("--as bob project rename tools/hammer mallet");
    assert!(refused.contains("permission denied"), "{refused}");
    let taken = f.fails_line("--as alice project rename tools/hammer api");
    assert!(taken.contains("word of forge's web pages"), "{taken}");

    let activity = f.ok_line("activity alice --json");
    let out = f.ok_line("--as alice project rename tools/hammer mallet");
    assert!(out.contains("renamed tools/hammer to mallet"), "{out}");
    assert!(!f.home().join("repos/tools").exists());
    let listed = f.json_line("issue list -p mallet");
    assert_eq!(listed[0]["title"], "Loose", "{listed}");
    // git keeps working at the new place: a push runs forge's hooks, which
    // find the project by its new path; the fork still has its objects.
    let source = f.home().join("repos/mallet.git");
    git(&work, &["checkout", "-q", "main"]);
    std::fs::write(work.join("CHANGES"), "renamed\n").expect("write");
    git(&work, &["add", "CHANGES"]);
    git(&work, &["commit", "-qm", "Note the rename"]);
    git(
        &work,
        &["push", "-q", source.to_str().expect("utf-8"), "main"],
    );
    let events = f.json_line("events -p mallet");
    assert!(events.to_string().contains("project.renamed"), "{events}");
    let log = f.ok_line("repo log -p mallet");
    assert!(log.contains("Note the rename"), "{log}");
    assert_ne!(
        f.ok_line("activity alice --json"),
        activity,
        "the post-receive hook recorded the push under the new name"
    );
    let fork = f.home().join("repos/forks/bob/mallet.git");
    git(&fork, &["fsck", "--no-dangling"]);
    git(&fork, &["log", "-1", "feature/x"]);

    let out = f.ok_line("--as alice project transfer mallet bob --keep-access");
    assert!(out.contains("mallet now belongs to bob"), "{out}");
    let shown = f.json_line("project show mallet");
    assert_eq!(shown["owner"], "bob");
    let not_owner = f.fails_line("--as alice project delete mallet --yes");
    assert!(not_owner.contains("permission denied"), "{not_owner}");
    let no_terminal = f.fails_line("--as bob project delete mallet");
    assert!(no_terminal.contains("pass --yes"), "{no_terminal}");
    assert!(source.exists());
    f.ok_line("--as bob project delete mallet --yes");
    assert!(!source.exists());
    assert!(!f.home().join("tickets/mallet.git").exists());
    assert!(!fork.exists());
    let gone = f.fails_line("project show mallet");
    assert!(gone.contains("not found"), "{gone}");
}
