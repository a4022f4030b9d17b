//! The repository handle's writes: packs, batches, races, bad paths.

use super::write::{BULK_CHANGES, SMALL_PACKS};
use super::*;

fn repo() -> (tempfile::TempDir, Repo) {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = Repo::init_bare(&dir.path().join("r.git")).expect("init");
    (dir, repo)
}

fn who() -> Identity {
    Identity::new("alice", "alice@example.org")
}

fn assert_fsck(path: &Path) {
    let fsck = Command::new("git")
        .args(["--git-dir", &path.to_string_lossy(), "fsck", "--strict"])
        .output()
        .expect("git runs");
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
}

fn loose_and_packs(dir: &Path) -> (usize, usize) {
    let objects = dir.join("objects");
    let mut loose = 0;
    for entry in std::fs::read_dir(&objects).expect("objects").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.len() == 2 {
            loose += std::fs::read_dir(entry.path()).expect("fan-out").count();
        }
    }
    let packs = std::fs::read_dir(objects.join("pack"))
        .expect("packs")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".pack"))
        .count();
    (loose, packs)
}

#[test]
fn staged_commits_land_as_one_pack_and_one_ref_update() -> Result<(), Error> {
    let (d, repo) = repo();
    let path = d.path().join("r.git");
    let first = repo.commit_with("main", &who(), "first", |_| {
        Ok(vec![Change::put("a.json", b"1".to_vec())])
    })?;
    let before = loose_and_packs(&path);
    let ids = Repo::with_staged_commits(&path, |staged| -> Result<Vec<CommitId>, Error> {
        let mut ids = Vec::new();
        for n in 0..3 {
            let id = staged.commit_with("main", &who(), &format!("staged {n}"), |tip| {
                assert_eq!(tip, ids.last().copied().or(Some(first)));
                Ok(vec![Change::put(
                    format!("{n}/doc.json"),
                    n.to_string().into_bytes(),
                )])
            })?;
            // Readable through the staged handle, not yet on the branch.
            assert_eq!(
                staged.read_file(id, &format!("{n}/doc.json"))?,
                Some(n.to_string().into_bytes())
            );
            assert_eq!(staged.branch_tip("main")?, Some(id));
            assert!(staged.has_commit(id) && staged.has_file(id, "a.json")?);
            assert!(
                !staged.has_file(id, &format!("{n}"))?,
                "a folder is no file"
            );
            // What reads through libgit2 says plainly it cannot see it yet.
            let refused = staged.changed_paths(Some(first), id);
            assert!(
                matches!(&refused, Err(Error::Git { message, .. }) if message.contains("not yet on disk")),
                "{refused:?}"
            );
            assert_eq!(Repo::open(&path)?.branch_tip("main")?, Some(first));
            assert!(!Repo::open(&path)?.has_commit(id));
            ids.push(id);
        }
        Ok(ids)
    })??;
    let fresh = Repo::open(&path)?;
    assert_eq!(fresh.branch_tip("main")?, ids.last().copied());
    assert_eq!(fresh.read_file(ids[2], "0/doc.json")?, Some(b"0".to_vec()));
    let log = fresh.log_range(first, ids[2], 10)?;
    assert_eq!(log.len(), 3, "one commit per change");
    let after = loose_and_packs(&path);
    assert_eq!(after.0, before.0, "no loose object written");
    assert_eq!(after.1, before.1 + 1, "one pack");
    assert_fsck(&path);
    Ok(())
}

#[test]
fn many_staged_batches_leave_few_packs_and_every_object() -> Result<(), Error> {
    let (d, repo) = repo();
    let path = d.path().join("r.git");
    let first = repo.commit_with("main", &who(), "first", |_| {
        Ok(vec![Change::put("a", b"1".to_vec())])
    })?;
    for n in 0..30 {
        Repo::with_staged_commits(&path, |staged| {
            staged.commit_with("main", &who(), &format!("batch {n}"), |_| {
                Ok(vec![Change::put(
                    format!("{}/{n}.json", n % 4),
                    n.to_string().into_bytes(),
                )])
            })
        })??;
    }
    // The background repack runs one at a time; batches written while
    // it ran wait for the next one, which the next batch starts. Wait
    // for each, and write one more batch while packs are still many.
    let wait = || {
        for _ in 0..400 {
            if !path.join("forge-repack.lock").exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    for extra in 0..5 {
        wait();
        if loose_and_packs(&path).1 <= SMALL_PACKS + 1 {
            break;
        }
        Repo::with_staged_commits(&path, |staged| {
            staged.commit_with("main", &who(), &format!("extra {extra}"), |_| {
                Ok(vec![Change::put(
                    format!("extra/{extra}.json"),
                    b"x".to_vec(),
                )])
            })
        })??;
    }
    wait();
    let (loose, packs) = loose_and_packs(&path);
    assert!(
        packs <= SMALL_PACKS + 1,
        "{packs} packs: the small ones were merged"
    );
    let fresh = Repo::open(&path)?;
    let tip = fresh.branch_tip("main")?.expect("tip");
    for n in 0..30 {
        assert_eq!(
            fresh.read_file(tip, &format!("{}/{n}.json", n % 4))?,
            Some(n.to_string().into_bytes())
        );
    }
    let batches = fresh.log_range(first, tip, 100)?;
    assert_eq!(
        batches
            .iter()
            .filter(|c| c.title.starts_with("batch "))
            .count(),
        30,
        "one commit per write"
    );
    assert_fsck(&path);
    assert!(loose <= 4, "the first commit's objects only: {loose}");
    Ok(())
}

#[test]
fn a_staged_batch_whose_branch_moved_elsewhere_lands_nothing() -> Result<(), Error> {
    let (d, repo) = repo();
    let path = d.path().join("r.git");
    repo.commit_with("main", &who(), "first", |_| {
        Ok(vec![Change::put("a", b"1".to_vec())])
    })?;
    let result = Repo::with_staged_commits(&path, |staged| {
        staged.commit_with("main", &who(), "staged", |_| {
            Ok(vec![Change::put("b", b"2".to_vec())])
        })?;
        // Another process's writer (no shared lock: its own handle, its
        // own thread) moves the branch first.
        std::thread::spawn({
            let path = path.clone();
            move || -> Result<CommitId, Error> {
                let r = Repo::open(&path)?;
                // commit_with itself takes no in-process lock, as a
                // separate process would not.
                r.commit_with("main", &who(), "elsewhere", |_| {
                    Ok(vec![Change::put("c", b"3".to_vec())])
                })
            }
        })
        .join()
        .expect("thread")
    });
    let elsewhere = match result {
        Err(Error::Contended { .. }) => Repo::open(&path)?.branch_tip("main")?,
        other => panic!("expected a contended batch, got {other:?}"),
    };
    let fresh = Repo::open(&path)?;
    assert_eq!(
        fresh.read_file(elsewhere.expect("tip"), "c")?,
        Some(b"3".to_vec())
    );
    assert_eq!(fresh.read_file(elsewhere.expect("tip"), "b")?, None);
    Ok(())
}

#[test]
fn changes_nest_and_delete_empty_folders() -> Result<(), Error> {
    let (_d, repo) = repo();
    let a = repo.commit_with("main", &who(), "one", |_| {
        Ok(vec![
            Change::put("a/b/c.json", b"1".to_vec()),
            Change::put("a/d.json", b"2".to_vec()),
        ])
    })?;
    let b = repo.commit_with("main", &who(), "two", |tip| {
        assert_eq!(tip, Some(a));
        Ok(vec![
            Change::Delete {
                path: "a/b/c.json".into(),
            },
            Change::put("e.json", b"3".to_vec()),
        ])
    })?;
    assert_eq!(repo.read_file(b, "a/b/c.json")?, None);
    assert_eq!(repo.read_file(b, "a/d.json")?, Some(b"2".to_vec()));
    let mut changed = repo.changed_paths(Some(a), b)?;
    changed.sort();
    assert_eq!(changed, ["a/b/c.json", "e.json"]);
    let mut files = Vec::new();
    repo.for_each_file(b, |p, _| {
        files.push(p.to_string());
        Ok(())
    })?;
    assert_eq!(files, ["a/d.json", "e.json"]);
    Ok(())
}

#[test]
fn a_loser_of_the_race_rebuilds_on_the_new_tip() -> Result<(), Error> {
    let (dir, repo) = repo();
    repo.commit_with("main", &who(), "base", |_| {
        Ok(vec![Change::put("x", b"0".to_vec())])
    })?;
    let other = Repo::open(&dir.path().join("r.git"))?;
    let mut calls = 0;
    let id = repo.commit_with("main", &who(), "mine", |tip| {
        calls += 1;
        if calls == 1 {
            // Someone else moves the branch between our read and our ref update.
            other.commit_with("main", &who(), "theirs", |_| {
                Ok(vec![Change::put("y", b"1".to_vec())])
            })?;
        }
        let _ = tip;
        Ok(vec![Change::put("z", b"2".to_vec())])
    })?;
    assert_eq!(calls, 2);
    assert_eq!(
        repo.read_file(id, "y")?,
        Some(b"1".to_vec()),
        "their change is kept"
    );
    assert_eq!(repo.read_file(id, "z")?, Some(b"2".to_vec()));
    assert_eq!(repo.commits_between(None, id, 10)?.len(), 3);
    Ok(())
}

#[test]
fn large_change_sets_land_as_one_pack() -> Result<(), Error> {
    let (dir, repo) = repo();
    let id = repo.commit_with("main", &who(), "bulk", |_| {
        Ok((0..BULK_CHANGES as u64 + 10)
            .map(|n| {
                Change::put(
                    format!("{:02}/{n}/issue.json", n % 100),
                    n.to_string().into_bytes(),
                )
            })
            .collect())
    })?;
    assert_eq!(repo.count_files(id)?, BULK_CHANGES as u64 + 10);
    assert_eq!(
        repo.read_file(id, "07/107/issue.json")?,
        Some(b"107".to_vec())
    );
    let packs = std::fs::read_dir(dir.path().join("r.git/objects/pack"))
        .expect("pack dir")
        .count();
    assert!(packs >= 2, "a .pack and its .idx were written");
    // A later small commit builds on the packed objects.
    let next = repo.commit_with("main", &who(), "small", |_| {
        Ok(vec![Change::put("07/107/issue.json", b"x".to_vec())])
    })?;
    assert_eq!(
        repo.read_file(next, "08/108/issue.json")?,
        Some(b"108".to_vec())
    );
    Ok(())
}

#[test]
fn bad_paths_are_refused() {
    let (_d, repo) = repo();
    for path in ["", "/abs", "a/../b", "a//b", ".git/config"] {
        let r = repo.commit_with("main", &who(), "bad", |_| {
            Ok(vec![Change::put(path, vec![])])
        });
        assert!(matches!(r, Err(Error::InvalidPath(_))), "{path:?}");
    }
}
