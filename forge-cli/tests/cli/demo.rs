//! The README's quick start command runs to the end.

use std::process::Command;

#[test]
fn the_quick_start_demo_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo.sh");
    let out = Command::new("bash")
        .arg(script)
        .current_dir(dir.path())
        .env("FORGE", env!("CARGO_BIN_EXE_forge"))
        .env_remove("FORGE_HOME")
        .env_remove("FORGE_USER")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("opened issue #1 in demo/hammer"),
        "{stdout}"
    );
    assert!(stdout.contains("issue.closed"), "{stdout}");
    assert!(
        stdout.contains("merged pull request #2 into main") && stdout.contains("closed issue #1"),
        "the pull request fixes the issue: {stdout}"
    );
    assert!(stdout.contains("pr.merged"), "{stdout}");
    assert!(
        dir.path().join("forge-data/forge.db").exists(),
        "the demo uses ./forge-data"
    );
}
