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

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
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
    pub fn start() -> Postfix {
        Postfix::start_on(free_port())
    }

    /// A postfix listening on `port` (chosen by the caller beforehand).
    pub fn start_on(port: u16) -> Postfix {
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
                 myorigin = forge.test\nmydestination =\nmynetworks = 127.0.0.0/8\nrelay_domains =\n\
                 alias_maps =\nalias_database =\nmaillog_file = /dev/stdout\nsmtputf8_enable = no\nbiff = no\n\
                 virtual_mailbox_domains = example.org\nvirtual_mailbox_base = {r}/mail\n\
                 virtual_mailbox_maps = static:inbox/\nvirtual_uid_maps = static:65534\n\
                 virtual_gid_maps = static:65534\n"
            ),
        )
        .expect("main.cf");
        std::fs::write(
            root.join("conf/master.cf"),
            format!("127.0.0.1:{port} inet n - n - - smtpd\n{SERVICES}"),
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
                std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
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
