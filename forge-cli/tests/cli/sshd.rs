//! A real OpenSSH server on a loopback port, with forge as its
//! AuthorizedKeysCommand (as docs/ssh.md sets it up), and the real ssh
//! client under git. Needs `openssh-server` (installed by .ci/run) and root,
//! which sshd needs to switch to the logged-in user.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{git, Forge};

struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn keygen(path: &Path) -> String {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path));
    std::fs::read_to_string(path.with_extension("pub")).expect("public key")
}

fn chmod(path: &Path, mode: &str) {
    run(Command::new("chmod").arg(mode).arg(path));
}

/// sshd checks that the AuthorizedKeysCommand and every folder above it
/// belong to root and are writable by no one else: so not under /tmp (where
/// a checkout, and so the target folder, may be), but under /run.
fn private_dir() -> PathBuf {
    let dir = PathBuf::from(format!("/run/forge-sshd-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir under /run");
    chmod(&dir, "755");
    dir
}

#[test]
fn git_over_a_real_openssh_server() {
    let uid = run(Command::new("id").arg("-u"));
    assert_eq!(uid.trim(), "0", "this test starts sshd, which needs root");
    let sshd_bin = ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sshd is installed (apt-get install openssh-server; .ci/run does)");
    std::fs::create_dir_all("/run/sshd").expect("privilege separation folder");

    let f = Forge::with_project();
    let dir = private_dir();
    let cleanup = DirGuard(dir.clone());
    keygen(&dir.join("host_key"));
    let alice_key = keygen(&f.dir.path().join("alice"));
    let bob_key = keygen(&f.dir.path().join("bob"));
    keygen(&f.dir.path().join("stranger"));
    f.ok(&["user", "key", "add", "alice", "--key", alice_key.trim()]);
    f.ok(&["user", "key", "add", "bob", "--key", bob_key.trim()]);

    let akc = dir.join("authorized-keys");
    std::fs::write(
        &akc,
        format!(
            "#!/bin/sh\nexec '{}' --home '{}' ssh authorized-keys \"$1\" \"$2\"\n",
            env!("CARGO_BIN_EXE_forge"),
            f.home().display()
        ),
    )
    .expect("write");
    chmod(&akc, "755");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
             AuthorizedKeysFile none\nAuthorizedKeysCommand {akc} %t %k\nAuthorizedKeysCommandUser root\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
             UsePAM no\nPermitTTY no\nX11Forwarding no\nAllowTcpForwarding no\n",
            host = dir.join("host_key").display(),
            pid = dir.join("sshd.pid").display(),
            akc = akc.display(),
        ),
    )
    .expect("config");
    let log = std::fs::File::create(dir.join("sshd.log")).expect("log");
    let _sshd = Sshd(
        Command::new(sshd_bin)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd starts"),
    );
    let mut up = false;
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        up,
        "sshd did not listen: {}",
        std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
    );

    let url = format!("ssh://root@127.0.0.1:{port}/tools/hammer.git");
    let as_key = |key: &str, cwd: &Path, args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(cwd)
            .env(
                "GIT_SSH_COMMAND",
                format!(
                    "ssh -i {} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
                    f.dir.path().join(key).display()
                ),
            )
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", cwd)
            .env_remove("FORGE_USER")
            .output()
            .expect("git runs")
    };
    let top = f.dir.path().to_path_buf();
    let out = as_key("alice", &top, &["clone", "-q", &url, "work"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
    );
    let work = top.join("work");
    std::fs::write(work.join("a.txt"), "over ssh\n").expect("write");
    git(&work, &["add", "a.txt"]);
    git(
        &work,
        &[
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.org",
            "commit",
            "-qm",
            "Over SSH",
        ],
    );
    let out = as_key("alice", &work, &["push", "-q", "origin", "HEAD:main"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = f.json(&["events", "-p", "tools/hammer"]);
    let push = events
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "git.push"))
        .expect("a git.push event");
    assert_eq!(push["actor"], "alice", "FORGE_USER came from the key");

    let out = as_key("bob", &work, &["push", "-q", "origin", "HEAD:bob"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("bob may not push"),
        "{err}"
    );
    let out = as_key("stranger", &top, &["ls-remote", &url]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
    drop(cleanup);
}

struct DirGuard(PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
