//! `forge backup` and `forge fsck`: a backup taken while a writer process
//! adds issues and comments, a `git push` lands and the tickets repository
//! is repacked, restored into a new home where `forge fsck` is clean and
//! every write acknowledged before the backup started is there; refusals;
//! retention; a lost or damaged forge.db adopted back.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::{clone_as, git, wait_for, Forge};

/// The acknowledged writes the writer script logged so far.
fn acknowledged(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A bash loop of `forge` processes opening issues (as alice) and
/// commenting on #1 (as bob); each line of `log` is written only after
/// its command succeeded.
fn start_writer(forge: &Forge, log: &Path) -> std::process::Child {
    let script = r#"
i=0
while true; do
  i=$((i+1))
  "$FORGE" --as alice issue new -p tools/hammer --title "written $i" --body "body $i" >/dev/null || exit 1
  echo "issue written $i" >> "$ACK"
  "$FORGE" --as bob issue comment -p tools/hammer 1 --body "comment $i" >/dev/null || exit 1
  echo "comment comment $i" >> "$ACK"
done
"#;
    Command::new("bash")
        .args(["-c", script])
        .env("FORGE", env!("CARGO_BIN_EXE_forge"))
        .env("FORGE_HOME", forge.home())
        .env("ACK", log)
        .stdout(Stdio::null())
        .spawn()
        .expect("bash runs")
}

/// A clone of the source repository with `n` new commits on `branch`.
fn commits_to_push(forge: &Forge, name: &str, branch: &str, n: usize) -> PathBuf {
    let clone = forge.dir.path().join(name);
    clone_as(
        &forge.home().join("repos/tools/hammer.git"),
        &clone,
        "alice",
    );
    git(&clone, &["checkout", "-q", "-b", branch]);
    for i in 0..n {
        std::fs::write(clone.join("file.txt"), format!("{branch} {i}\n")).expect("write");
        git(&clone, &["add", "file.txt"]);
        git(&clone, &["commit", "-qm", &format!("{branch} {i}")]);
    }
    clone
}

fn the_backup(dir: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("backups folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("forge-backup-"))
        })
        .collect();
    found.sort();
    found.pop().expect("a backup")
}

#[test]
fn backup_under_writes_restores_every_acknowledged_write() {
    let forge = Forge::with_project();
    forge.ok_line("--as alice issue new -p tools/hammer --title first --body one");
    forge.ok_line("--as bob project fork tools/hammer");
    // A push acknowledged before the backup starts.
    let before = commits_to_push(&forge, "before", "before", 3);
    git(&before, &["push", "-q", "origin", "before"]);
    let pushed_before = git(&before, &["rev-parse", "HEAD"]).trim().to_string();
    let during = commits_to_push(&forge, "during", "during", 150);

    let log = forge.dir.path().join("acknowledged.txt");
    let mut writer = start_writer(&forge, &log);
    wait_for("the writer's first writes", || {
        (acknowledged(&log).len() >= 6).then_some(())
    });
    let acked_before = acknowledged(&log);

    // While the backup runs: the writer goes on, a push lands, and the
    // tickets repository is repacked again and again (packs replaced
    // under the copy).
    let done = AtomicBool::new(false);
    let backups = forge.dir.path().join("backups");
    let report: Value = std::thread::scope(|s| {
        let pusher = s.spawn(|| git(&during, &["push", "-q", "origin", "during"]));
        let repacker = s.spawn(|| {
            let mut runs = 0;
            while !done.load(Ordering::SeqCst) {
                let _ = Command::new("git")
                    .arg("--git-dir")
                    .arg(forge.tickets_repo())
                    .args(["repack", "-a", "-d", "-q"])
                    .status();
                runs += 1;
            }
            runs
        });
        let report = forge.json(&["backup", "create", "--to", backups.to_str().expect("utf-8")]);
        done.store(true, Ordering::SeqCst);
        pusher.join().expect("push");
        assert!(repacker.join().expect("repacker") >= 1);
        report
    });
    let _ = writer.kill();
    let _ = writer.wait();
    assert!(report["seconds"].as_f64().is_some(), "{report}");
    assert_eq!(report["repositories"], 5, "{report}");
    let backup = the_backup(&backups);
    assert_eq!(Path::new(report["path"].as_str().expect("path")), backup);
    // No partial folder left beside it.
    let names: Vec<String> = std::fs::read_dir(&backups)
        .expect("backups")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    let verified = forge.json(&["backup", "verify", backup.to_str().expect("utf-8")]);
    assert_eq!(verified["sound"], true, "{verified}");
    assert_eq!(verified["repositories"], 5);

    let restored = forge.dir.path().join("restored");
    let out = forge.json(&[
        "--home",
        restored.to_str().expect("utf-8"),
        "backup",
        "restore",
        backup.to_str().expect("utf-8"),
    ]);
    assert_eq!(out["projects"], 1, "{out}");
    let at = |args: &[&str]| {
        let mut all = vec!["--home", restored.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        all.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let run = |args: &[String]| {
        let out = forge
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .output()
            .expect("forge runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (clean, stdout, stderr) = run(&at(&["fsck"]));
    assert!(clean, "fsck of the restored home: {stdout}{stderr}");
    assert!(stdout.contains("0 problem(s)"), "{stdout}");

    // Every write acknowledged before the backup started is there.
    let (_, listed, _) = run(&at(&[
        "issue",
        "list",
        "-p",
        "tools/hammer",
        "--status",
        "all",
        "--limit",
        "100000",
        "--json",
    ]));
    let listed: Value = serde_json::from_str(&listed).expect("JSON");
    let titles: BTreeSet<String> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["title"].as_str().unwrap_or_default().to_string())
        .collect();
    let (_, shown, _) = run(&at(&["issue", "show", "-p", "tools/hammer", "1", "--json"]));
    let shown: Value = serde_json::from_str(&shown).expect("JSON");
    let comments: BTreeSet<String> = shown["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| c["body"].as_str().unwrap_or_default().to_string())
        .collect();
    for line in &acked_before {
        match line.split_once(' ') {
            Some(("issue", title)) => assert!(titles.contains(title), "{title} lost"),
            Some(("comment", body)) => assert!(comments.contains(body), "{body} lost"),
            _ => panic!("log line {line}"),
        }
    }
    // The push acknowledged before, with its objects; the fork borrows
    // from the restored source, not the original home.
    let source = restored.join("repos/tools/hammer.git");
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(&source)
        .args(["rev-parse", "refs/heads/before"])
        .output()
        .expect("git runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pushed_before);
    let alternates = std::fs::read_to_string(
        restored.join("repos/forks/bob/tools/hammer.git/objects/info/alternates"),
    )
    .expect("fork alternates");
    assert!(
        alternates.contains(&restored.display().to_string()),
        "{alternates}"
    );
    // Hooks of the restored home call forge for the restored home.
    let hook = std::fs::read_to_string(source.join("hooks/pre-receive")).expect("hook");
    assert!(
        hook.contains(&restored.canonicalize().expect("path").display().to_string()),
        "{hook}"
    );
}

#[test]
fn backups_refuse_what_they_must() {
    let forge = Forge::with_project();
    forge.ok_line("--as alice issue new -p tools/hammer --title kept --body one");
    let backups = forge.dir.path().join("backups");
    let backups_arg = backups.to_str().expect("utf-8");
    forge.ok(&["backup", "create", "--to", backups_arg]);
    let backup = the_backup(&backups);
    let backup_arg = backup.to_str().expect("utf-8");

    // Restoring onto a home that holds something: refused, then --force
    // moves it aside.
    let occupied = forge.dir.path().join("occupied");
    std::fs::create_dir_all(&occupied).expect("mkdir");
    std::fs::write(occupied.join("precious.txt"), "keep me").expect("write");
    let occupied_arg = occupied.to_str().expect("utf-8");
    let err = forge.fails(&["--home", occupied_arg, "backup", "restore", backup_arg]);
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    assert!(occupied.join("precious.txt").exists());
    let out = forge.ok(&[
        "--home",
        occupied_arg,
        "backup",
        "restore",
        backup_arg,
        "--force",
    ]);
    assert!(out.contains("the home that was there is now at"), "{out}");
    let aside: Vec<PathBuf> = std::fs::read_dir(forge.dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("occupied.replaced-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::read_to_string(aside[0].join("precious.txt")).expect("kept"),
        "keep me"
    );

    // A backup killed half-way never looks finished: verify and restore
    // refuse its folder, prune clears it once its process is gone.
    let partial = backups.join(".forge-backup-20261205T000000Z.partial-4000000000");
    std::fs::create_dir_all(&partial).expect("mkdir");
    let err = forge.fails(&["backup", "verify", partial.to_str().expect("utf-8")]);
    assert!(err.contains("not a finished backup"), "{err}");
    let elsewhere = forge.dir.path().join("elsewhere");
    let err = forge.fails(&[
        "--home",
        elsewhere.to_str().expect("utf-8"),
        "backup",
        "restore",
        partial.to_str().expect("utf-8"),
    ]);
    assert!(err.contains("not a finished backup"), "{err}");
    assert!(!elsewhere.exists());

    // A backup killed with SIGKILL while it copies: what is left is a
    // partial folder or a finished backup, never a folder that looks
    // finished without being whole.
    let mut child = forge
        .command(&["backup", "create", "--to", backups_arg])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("forge runs");
    wait_for("the partial backup folder", || {
        std::fs::read_dir(&backups)
            .ok()?
            .flatten()
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .contains(&format!(".partial-{}", child.id()))
            })
            .then_some(())
            .or_else(|| child.try_wait().ok().flatten().map(|_| ()))
    });
    let _ = child.kill();
    let _ = child.wait();
    for entry in std::fs::read_dir(&backups).expect("dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("forge-backup-") {
            let verified = forge.json(&["backup", "verify", entry.path().to_str().expect("utf-8")]);
            assert_eq!(verified["sound"], true, "{name}: {verified}");
        }
    }

    // Retention: the newest of each of 2 days and of 2 weeks, in a folder
    // of copies named for other times.
    let snapshots = forge.dir.path().join("snapshots");
    std::fs::create_dir_all(&snapshots).expect("mkdir");
    let days = [
        "20261120T100000Z",
        "20261128T100000Z",
        "20261204T090000Z",
        "20261204T100000Z",
        "20261205T100000Z",
    ];
    for day in days {
        let status = Command::new("cp")
            .arg("-r")
            .arg(&backup)
            .arg(snapshots.join(format!("forge-backup-{day}")))
            .status()
            .expect("cp runs");
        assert!(status.success());
    }
    std::fs::create_dir_all(snapshots.join(".forge-backup-20261205T110000Z.partial-4000000000"))
        .expect("mkdir");
    std::fs::create_dir_all(snapshots.join("notes")).expect("mkdir");
    let snapshots_arg = snapshots.to_str().expect("utf-8");
    let prune = |extra: &[&str]| {
        let mut args = vec![
            "backup",
            "prune",
            "--to",
            snapshots_arg,
            "--keep-daily",
            "2",
            "--keep-weekly",
            "2",
        ];
        args.extend_from_slice(extra);
        forge.json(&args)
    };
    let dry = prune(&["--dry-run"]);
    assert_eq!(
        dry["removed"].as_array().expect("removed").len(),
        3,
        "{dry}"
    );
    assert_eq!(std::fs::read_dir(&snapshots).expect("dir").count(), 7);
    let pruned = prune(&[]);
    assert_eq!(pruned["kept"], dry["kept"]);
    let left: BTreeSet<String> = std::fs::read_dir(&snapshots)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // 12-05 and 12-04 (two days; the later one of 12-04), and 11-28 (the
    // ISO week before, which ends Sunday 11-29); folders not forge's stay.
    let want: BTreeSet<String> = [
        "forge-backup-20261205T100000Z",
        "forge-backup-20261204T100000Z",
        "forge-backup-20261128T100000Z",
        "notes",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(left, want);
    let err = forge.fails(&[
        "backup",
        "prune",
        "--to",
        snapshots_arg,
        "--keep-daily",
        "0",
        "--keep-weekly",
        "0",
    ]);
    assert!(err.contains("remove every backup"), "{err}");
}

#[test]
fn a_lost_or_damaged_database_is_named_and_adopted_back() {
    let forge = Forge::with_project();
    forge.ok_line("--as alice issue new -p tools/hammer --title kept --body one");
    forge.ok_line("--as bob issue comment -p tools/hammer 1 --body hello");
    forge.ok_line("--as bob project fork tools/hammer");
    let db = forge.home().join("forge.db");
    std::fs::rename(&db, forge.dir.path().join("lost.db")).expect("lose it");
    for side in ["forge.db-wal", "forge.db-shm"] {
        let _ = std::fs::remove_file(forge.home().join(side));
    }
    let err = forge.fails_line("issue list -p tools/hammer");
    assert!(
        err.contains("is missing") && err.contains("forge fsck --repair"),
        "{err}"
    );
    let err = forge.fails_line("fsck");
    assert!(err.contains("--repair"), "{err}");

    let report = forge.json_line("--as alice fsck --repair");
    assert_eq!(report["unrepaired"], 0, "{report}");
    assert_eq!(report["adopted"], serde_json::json!(["tools/hammer"]));
    assert!(report["backup_only"]
        .as_str()
        .expect("said")
        .contains("API tokens"));
    forge.ok_line("fsck");
    let shown = forge.json_line("--as alice issue show -p tools/hammer 1");
    assert_eq!(shown["title"], "kept");
    assert_eq!(shown["comments"][0]["author"], "bob");
    let project = forge.json_line("--as alice project show tools/hammer");
    assert_eq!(project["private"], true, "{project}");
    let listed = forge.ok_line("user list");
    assert!(listed.contains("bob"), "{listed}");
    // Bob's fork is his again.
    let fork = forge.json_line("--as alice project show tools/hammer --fork bob");
    assert!(fork.to_string().contains("forks/bob"), "{fork}");
    // The next issue takes the next number.
    let out = forge.ok_line("--as alice issue new -p tools/hammer --title next --body two");
    assert!(out.contains("#2"), "{out}");

    // A truncated forge.db: named at once, with what to do; the repair
    // keeps it aside.
    let bytes = std::fs::read(forge.dir.path().join("lost.db")).expect("read");
    std::fs::write(&db, &bytes[..bytes.len() / 3]).expect("truncate");
    for side in ["forge.db-wal", "forge.db-shm"] {
        let _ = std::fs::remove_file(forge.home().join(side));
    }
    let err = forge.fails_line("--as alice issue list -p tools/hammer");
    assert!(
        err.contains("is damaged") && err.contains("forge backup restore"),
        "{err}"
    );
    let err = forge.fails_line("serve --bind 127.0.0.1:0");
    assert!(err.contains("is damaged"), "{err}");
    let report = forge.json_line("--as alice fsck --repair");
    assert_eq!(report["unrepaired"], 0, "{report}");
    let kept_aside = std::fs::read_dir(forge.home())
        .expect("home")
        .flatten()
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("forge.db.damaged-")
        });
    assert!(kept_aside);
    let shown = forge.json_line("--as alice issue show -p tools/hammer 2");
    assert_eq!(shown["title"], "next");
}

#[test]
fn fsck_names_each_problem_and_repairs_the_safe_ones() {
    let forge = Forge::with_project();
    forge.ok_line("--as alice issue new -p tools/hammer --title one --body one");
    let tickets = forge.tickets_repo();
    let first = git(&tickets, &["rev-parse", "HEAD"]).trim().to_string();
    forge.ok_line("--as alice issue new -p tools/hammer --title two --body two");
    forge.ok_line("--as bob project fork tools/hammer");
    forge.ok_line("fsck");
    // The tickets branch taken back (the index is now ahead of its git),
    // the docs repository gone, the fork's alternates pointing nowhere.
    git(&tickets, &["update-ref", "refs/heads/main", &first]);
    std::fs::remove_dir_all(forge.home().join("docs/tools/hammer.git")).expect("rm");
    let fork = forge.home().join("repos/forks/bob/tools/hammer.git");
    std::fs::write(fork.join("objects/info/alternates"), "/nowhere/objects\n").expect("write");

    let out = forge.run(&["fsck"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("docs/tools/hammer.git: missing"), "{said}");
    assert!(
        said.contains("tools/hammer: the issues index reflects commit"),
        "{said}"
    );
    assert!(
        said.contains("repos/forks/bob/tools/hammer.git: its alternates do not name"),
        "{said}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--repair"), "{err}");

    let report = forge.json_line("fsck --repair");
    assert_eq!(report["unrepaired"], 0, "{report}");
    assert_eq!(
        report["problems"].as_array().expect("problems").len(),
        3,
        "{report}"
    );
    forge.ok_line("fsck");
    let listed = forge.json_line("issue list -p tools/hammer --status all");
    let titles: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert_eq!(titles, ["one"]);
}

/// A disk that refuses writes half-way (the file-size limit of the process,
/// `ulimit -f`, with SIGXFSZ ignored: each write past it fails as a full
/// disk's would, without mounting a small filesystem): the backup fails
/// naming the file it was writing, leaves no folder behind, finished or
/// partial, and the home is untouched.
#[test]
fn a_backup_that_cannot_write_leaves_nothing_and_names_the_file() {
    let forge = Forge::with_project();
    forge.ok_line("--as alice issue new -p tools/hammer --title kept --body one");
    let backups = forge.dir.path().join("backups");
    // An object of 8 MB that does not compress, in the source repository:
    // with a 4 MB limit the database goes into the backup and this file
    // does not.
    let blob = forge.dir.path().join("noise.bin");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..8 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&blob, noise).expect("write");
    let source = forge.home().join("repos/tools/hammer.git");
    let hashed = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(&source)
        .args(["hash-object", "-w"])
        .arg(&blob)
        .output()
        .expect("git runs");
    assert!(hashed.status.success());
    let db = std::fs::metadata(forge.home().join("forge.db"))
        .expect("db")
        .len();
    assert!(
        db < 4 << 20,
        "the database ({db} bytes) fits under the limit"
    );
    for (limit_kb, failing) in [
        ("64", "forge.db".to_string()),
        ("4096", "objects/".to_string()),
    ] {
        let done = std::process::Command::new("bash")
            .args([
                "-c",
                r#"trap '' XFSZ; ulimit -f "$LIMIT_KB"; exec "$FORGE_BIN" backup create --to "$TO""#,
            ])
            .env("FORGE_HOME", forge.home())
            .env("FORGE_BIN", env!("CARGO_BIN_EXE_forge"))
            .env("LIMIT_KB", limit_kb)
            .env("TO", &backups)
            .output()
            .expect("bash runs");
        let err = String::from_utf8_lossy(&done.stderr);
        assert!(!done.status.success(), "limit {limit_kb} KB: {err}");
        assert!(err.contains("backup not made"), "{err}");
        assert!(
            err.contains(&backups.display().to_string())
                && err.contains(".partial-")
                && err.contains(&failing),
            "the file being written is named: {err}"
        );
        let cause = err.trim().rsplit(": ").next().unwrap_or_default();
        assert_eq!(err.matches(cause).count(), 1, "the cause said once: {err}");
        let left: Vec<_> = std::fs::read_dir(&backups)
            .expect("backups folder")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "limit {limit_kb} KB left {left:?}");
    }
    assert!(forge.ok(&["fsck"]).contains("0 problem(s)"));
    assert!(forge.ok_line("issue list -p tools/hammer").contains("kept"));
}
