//! The README's walk-through runs as pasted: every `sh` block between its
//! markers, in order, in one shell, in an empty folder.

use std::process::Command;

/// The `sh` blocks of the walk-through, with the line each starts on.
fn walk_through() -> Vec<(usize, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let mut blocks = Vec::new();
    let mut inside = false;
    let mut current: Option<(usize, String)> = None;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("<!-- walk-through") {
            inside = true;
        } else if line.starts_with("<!-- /walk-through") {
            inside = false;
        } else if !inside {
            continue;
        } else if let Some((start, text)) = current.as_mut() {
            if line.trim_start() == "```" {
                blocks.push((*start, std::mem::take(text)));
                current = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
        } else if line.trim_start() == "```sh" {
            current = Some((i + 1, String::new()));
        }
    }
    blocks
}

#[test]
fn the_readme_walk_through_runs_as_pasted() {
    let blocks = walk_through();
    assert!(
        blocks.len() >= 10,
        "the walk-through has its blocks: {}",
        blocks.len()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&work).expect("mkdir");
    std::fs::create_dir_all(&home).expect("mkdir");
    let mut script = String::from(
        "set -euo pipefail\nSERVE_PID=\ntrap '[ -z \"$SERVE_PID\" ] || kill $SERVE_PID 2>/dev/null || true' EXIT\n",
    );
    for (line, block) in &blocks {
        script.push_str(&format!(
            "echo '=== README.md block at line {line}' >&2\n{block}"
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let forge_dir = std::path::Path::new(env!("CARGO_BIN_EXE_forge"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        forge_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("timeout")
        .args(["300", "bash", "-c", &script])
        .current_dir(&work)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("FORGE_BIND", format!("127.0.0.1:{port}"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walk-through stopped: {}\n--- stdout (last part)\n{}",
        stderr,
        &stdout[stdout.len().saturating_sub(3000)..]
    );
    // What the walk-through promises, seen in what it printed.
    for promise in [
        "opened issue #1 in tools/hammer: Loose handle",
        "#~1",
        "Found on the plane",
        "Cracks on a Mac",
    ] {
        assert!(stdout.contains(promise), "{promise:?} not in:\n{stdout}");
    }
}
