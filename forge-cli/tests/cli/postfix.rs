//! A real postfix on a loopback port, in a temporary directory, for the
//! mail tests: it takes mail by SMTP and delivers everything for
//! example.org into one maildir the test reads. Debian's `postfix`
//! (installed by `.ci/run`), run as root (postfix's own daemons drop to its
//! `postfix` user); stopped and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Postfix {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

/// The daemons of a small postfix, none chrooted (shared with
/// benches/scripts/mail.py).
const SERVICES: &str = include_str!("../postfix-services.cf");

fn chown(path: &Path, owner: &str) {
    let status = Command::new("chown")
        .arg(owner)
        .arg(path)
        .status()
        .expect("chown");
    assert!(status.success(), "chown {owner} {}", path.display());
}

impl Postfix {
    /// A postfix listening on `port` (chosen by the caller beforehand).
    pub fn start_on(port: u16) -> Postfix {
        Postfix::start_with(port, "", "")
    }

    /// A postfix on `port` with more lines for its main.cf and master.cf
    /// (what a forge adds: its pipe transport and milter).
    pub fn start_with(port: u16, main_extra: &str, master_extra: &str) -> Postfix {
        assert!(
            Path::new("/usr/sbin/postfix").exists(),
            "/usr/sbin/postfix is missing: apt-get install postfix (.ci/run does)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        Command::new("chmod")
            .arg("755")
            .arg(root)
            .status()
            .expect("chmod");
        for sub in ["conf", "queue", "data", "mail"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        chown(&root.join("data"), "postfix:postfix");
        chown(&root.join("mail"), "65534:65534");
        let r = root.display();
        std::fs::write(
            root.join("conf/main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {r}/queue\ndata_directory = {r}/data\n\
                 mail_owner = postfix\nsetgid_group = postdrop\ninet_interfaces = 127.0.0.1\n\
                 inet_protocols = ipv4\nmyhostname = mx.forge.test\nmydomain = forge.test\n\
                 myorigin = forge.test\nmydestination =\nmynetworks = 127.0.0.0/8\n\
                 alias_maps =\nalias_database =\nmaillog_file = /dev/stdout\nsmtputf8_enable = no\nbiff = no\n\
                 virtual_mailbox_domains = example.org\nvirtual_mailbox_base = {r}/mail\n\
                 virtual_mailbox_maps = static:inbox/\nvirtual_uid_maps = static:65534\n\
                 virtual_gid_maps = static:65534\n{main_extra}"
            ),
        )
        .expect("main.cf");
        std::fs::write(
            root.join("conf/master.cf"),
            format!("127.0.0.1:{port} inet n - n - - smtpd\n{SERVICES}{master_extra}"),
        )
        .expect("master.cf");
        let child = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(root.join("conf"))
            .arg("start-fg")
            .stdout(std::fs::File::create(root.join("maillog")).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("postfix starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "postfix did not listen: {}",
                std::fs::read_to_string(root.join("maillog")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Postfix { dir, child, port }
    }

    /// What postfix logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// The mails delivered so far, oldest first.
    pub fn mails(&self) -> Vec<Vec<u8>> {
        let new = self.dir.path().join("mail/inbox/new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    }

    /// Waits until `n` mails have been delivered.
    pub fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        let started = Instant::now();
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} of {n} mails delivered; postfix said:\n{}",
                mails.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.dir.path().join("conf"))
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// `forge milter` on a free loopback port, stopped when dropped.
pub struct Milter {
    child: Child,
    pub port: u16,
}

impl Milter {
    pub fn start(forge: &crate::Forge) -> Milter {
        let port = crate::free_port();
        let child = forge
            .command(&["milter", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("forge milter starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "forge milter did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Milter { child, port }
    }
}

impl Drop for Milter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines a forge adds to postfix's main.cf and master.cf, as
/// docs/email.md gives them: mail for the reply domain goes to the `forge`
/// pipe transport, which runs `forge mail ingest` as `user` (the owner of
/// the forge home) once per recipient; the milter checks every message
/// while the sender is connected.
pub fn forge_lines(reply_domain: &str, home: &Path, user: &str, milter: u16) -> (String, String) {
    let main = format!(
        "relay_domains = {reply_domain}\n\
         transport_maps = inline:{{ {reply_domain}=forge }}\n\
         forge_destination_recipient_limit = 1\n\
         smtpd_milters = inet:127.0.0.1:{milter}\n\
         milter_default_action = tempfail\n"
    );
    let master = format!(
        "forge unix - n n - - pipe\n  flags=DR user={user} argv={} --home {} mail ingest --recipient ${{recipient}}\n",
        env!("CARGO_BIN_EXE_forge"),
        home.display()
    );
    (main, master)
}

/// Sends `data` (a whole message) from `from` to `to` through postfix on
/// `port` with swaks; its exit status and its SMTP transcript.
pub fn swaks(port: u16, from: &str, to: &str, data: &str) -> (Option<i32>, String) {
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{port}")])
        .args(["--from", from, "--to", to, "--helo", "mua.example.org"])
        .args(["--data", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(data.as_bytes())?;
            child.wait_with_output()
        })
        .expect("swaks runs (apt-get install swaks; .ci/run does)");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
