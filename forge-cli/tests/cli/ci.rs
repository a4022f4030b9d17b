//! CI through Jenkins' protocol, end to end: `forge ci set`, a pull request
//! opened with the CLI, `forge serve` asking a loopback server that answers
//! as Jenkins does for a build with Pagure's parameters, the callback with
//! its token (wrong tokens, unknown projects and bad bodies refused), the
//! build read from Jenkins' JSON API while it runs and when it ends, and
//! the pull request's flag; then a Jenkins that is down, retried with the
//! reason shown and the token nowhere.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::http::Server;
use crate::wait_for;
use crate::{git, Forge};

const P: &str = "tools/hammer";

/// A loopback server speaking as Jenkins: `buildWithParameters` answered
/// 201, each read of build 5's JSON answered with the next of `reads`
/// (the last one again once they run out), anything else 404. Sends each
/// request line it gets.
fn jenkins(reads: Vec<&'static str>) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/jenkins", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    let reads = Arc::new(Mutex::new(reads));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let mut length = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let line = line.trim_end().to_string();
            let (status, answer) =
                if line.starts_with("POST /jenkins/job/hammer/buildWithParameters?") {
                    (201, String::new())
                } else if line.starts_with("GET /jenkins/job/hammer/5/api/json?") {
                    let mut reads = reads.lock().expect("reads");
                    let next = if reads.len() > 1 {
                        reads.remove(0)
                    } else {
                        reads[0]
                    };
                    (200, next.to_string())
                } else {
                    (404, "<html>Not found</html>".to_string())
                };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = tx.send(line);
        }
    });
    (url, rx)
}

fn build(result: &str, building: bool) -> &'static str {
    Box::leak(
        format!(
            r#"{{"_class": "hudson.model.FreeStyleBuild", "number": 5, "result": {result}, "building": {building},
               "url": "http://ci.example/job/hammer/5/",
               "actions": [{{"_class": "hudson.model.CauseAction"}}, {{"_class": "hudson.model.ParametersAction",
                 "parameters": [{{"name": "REPO", "value": "x"}}, {{"name": "cause", "value": "1"}}]}}]}}"#
        )
        .into_boxed_str(),
    )
}

fn private_ok(f: &Forge, args: &[&str]) -> String {
    let out = f
        .command(args)
        .env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1")
        .env("FORGE_PUBLIC_URL", "http://forge.test")
        .output()
        .expect("forge runs");
    assert!(
        out.status.success(),
        "forge {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn jenkins_flag(f: &Forge) -> Option<Value> {
    let pr = f.json(&["pr", "show", "-p", P, "1"]);
    pr["flags"]
        .as_array()?
        .iter()
        .find(|fl| fl["name"] == "jenkins")
        .cloned()
}

#[test]
fn jenkins_builds_a_pull_request_and_flags_it() {
    let f = Forge::with_project();
    let (url, got) = jenkins(vec![build("null", true), build("\"SUCCESS\"", false)]);
    let token_file = f.dir.path().join("jenkins-token");
    std::fs::write(&token_file, "s3kr1t&9x\n").expect("token file");
    let set: Value = serde_json::from_str(&private_ok(
        &f,
        &[
            "--as",
            "alice",
            "ci",
            "set",
            "-p",
            P,
            "jenkins",
            "--url",
            &url,
            "--job",
            "hammer",
            "--token-file",
            token_file.to_str().expect("utf-8"),
            "--json",
        ],
    ))
    .expect("json");
    let callback = set["callback_url"]
        .as_str()
        .expect("callback url")
        .to_string();
    let path = callback
        .strip_prefix("http://forge.test")
        .expect("under the public URL")
        .to_string();
    assert!(
        path.starts_with("/api/0/ci/jenkins/tools/hammer/"),
        "{path}"
    );
    let shown = private_ok(&f, &["--as", "alice", "ci", "show", "-p", P]);
    assert!(shown.contains("jenkins job `hammer`"), "{shown}");
    assert!(
        !shown.contains("s3kr1t"),
        "the token is not shown back: {shown}"
    );
    // Only the project's admins set it.
    let e = f.fails(&["--as", "bob", "ci", "show", "-p", P]);
    assert!(e.contains("bob"), "{e}");

    let work = f.work_clone();
    std::fs::write(work.join("a.txt"), "one\n").expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "Start"]);
    git(&work, &["push", "-q", "origin", "main"]);
    git(&work, &["checkout", "-q", "-b", "topic"]);
    std::fs::write(work.join("a.txt"), "ONE\n").expect("write");
    git(&work, &["commit", "-qam", "Shout"]);
    git(&work, &["push", "-q", "origin", "topic"]);

    let mut serve = f.command(&["serve", "--bind", "127.0.0.1:0"]);
    serve
        .env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1")
        .env("FORGE_PUBLIC_URL", "http://forge.test");
    let s = Server::from(serve);
    f.ok(&[
        "--as", "alice", "pr", "new", "-p", P, "--title", "Shout", "--from", "topic",
    ]);

    let trigger = got
        .recv_timeout(Duration::from_secs(60))
        .expect("a build asked for");
    assert!(
        trigger.starts_with(
            "POST /jenkins/job/hammer/buildWithParameters?token=s3kr1t%269x&REPO=http%3A%2F%2Fforge.test%2Ftools%2Fhammer.git&BRANCH=topic&BRANCH_TO=main&cause=1 "
        ),
        "{trigger}"
    );

    // Refusals: one answer for a wrong token and an unknown project.
    let json = Some((
        "application/json",
        r#"{"name": "hammer", "build": {"number": 5, "phase": "FINALIZED"}}"#,
    ));
    let wrong = path.replace("/tools/hammer/", "/tools/hammer/x");
    let (status, text) = s.raw("POST", &wrong, None, json);
    assert_eq!(status, 401, "{text}");
    let (status, unknown) = s.raw(
        "POST",
        &path.replace("/tools/hammer/", "/tools/nails/"),
        None,
        json,
    );
    assert_eq!((status, unknown), (401, text));
    let (status, text) = s.raw("GET", &path, None, None);
    assert_eq!(status, 405, "{text}");
    let (status, text) = s.raw(
        "POST",
        &path,
        None,
        Some(("application/json", "{\"build\": ")),
    );
    assert!(
        status == 400 && text.contains("not JSON"),
        "{status} {text}"
    );
    let (status, text) = s.raw(
        "POST",
        &path,
        None,
        Some(("application/json", "{\"build\": {}}")),
    );
    assert!(
        status == 400 && text.contains("names no build"),
        "{status} {text}"
    );

    // The real call: the build is read while it runs, then when it ends.
    let (status, text) = s.raw("POST", &path, None, json);
    assert_eq!(status, 200, "{text}");
    let pending = wait_for("the pending flag", || {
        jenkins_flag(&f).filter(|fl| fl["status"] == "pending")
    });
    assert_eq!(pending["url"], "http://ci.example/job/hammer/5/");
    let done = wait_for("the success flag", || {
        jenkins_flag(&f).filter(|fl| fl["status"] == "success")
    });
    assert_eq!(done["percent"], 100);
    let reads: Vec<String> = got.try_iter().collect();
    assert!(
        reads
            .iter()
            .filter(|l| l.starts_with("GET /jenkins/job/hammer/5/api/json?tree="))
            .count()
            >= 2,
        "{reads:?}"
    );

    // A build Jenkins does not know: the job dies at once, saying why.
    let (status, _) = s.raw(
        "POST",
        &path,
        None,
        Some(("application/json", r#"{"build": {"number": 77}}"#)),
    );
    assert_eq!(status, 200);
    let dead = wait_for("the unknown build's job to die", || {
        let jobs = f.json(&["queue", "list", "--state", "dead"]);
        jobs.as_array()?
            .iter()
            .find(|j| j["consumer"] == "ci")
            .cloned()
    });
    let why = dead["last_error"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("knows no build 77"), "{why}");

    // Jenkins down: the next build is retried, the reason names the
    // server, and the token shows nowhere.
    let gone = TcpListener::bind("127.0.0.1:0").expect("bind");
    let down = format!("http://{}/", gone.local_addr().expect("addr"));
    drop(gone);
    private_ok(
        &f,
        &[
            "--as",
            "alice",
            "ci",
            "set",
            "-p",
            P,
            "jenkins",
            "--url",
            &down,
            "--job",
            "hammer",
            "--token",
            "s3kr1t&9x",
        ],
    );
    std::fs::write(work.join("b.txt"), "two\n").expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "More"]);
    git(&work, &["push", "-q", "origin", "topic"]);
    let retrying = wait_for("the trigger to fail", || {
        let jobs = f.json(&["queue", "list", "--state", "pending"]);
        jobs.as_array()?
            .iter()
            .find(|j| j["consumer"] == "ci" && !j["last_error"].is_null())
            .cloned()
    });
    let why = retrying["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("could not be reached"), "{why}");
    let everything = f.ok(&["queue", "list", "--json"]);
    assert!(!everything.contains("s3kr1t"), "{everything}");
    drop(s);
}

/// A process of the Buildbot round trip, stopped when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The folder holding `buildbot` and `buildbot-worker` (`.ci/run` installs
/// them from PyPI and sets FORGE_BUILDBOT_BIN).
fn buildbot_bin() -> std::path::PathBuf {
    let dir = std::env::var("FORGE_BUILDBOT_BIN").unwrap_or_else(|_| {
        panic!(
            "FORGE_BUILDBOT_BIN names no folder with buildbot and buildbot-worker: run the tests with \
             `bash .ci/run`, or `pip install buildbot==4.3.0 buildbot-www==4.3.0 buildbot-worker==4.3.0` into a virtual \
             environment and set FORGE_BUILDBOT_BIN to its bin folder"
        )
    });
    std::path::PathBuf::from(dir)
}

fn run_ok(command: &mut std::process::Command) {
    let out = command.output().expect("runs");
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn buildbot_builds_a_pull_request_from_forges_webhook_and_flags_it() {
    let bin = buildbot_bin();
    let f = Forge::with_project();
    f.ok(&["user", "add", "robot", "--email", "robot@example.org"]);
    f.member("robot", "commit");
    let robot = f.json(&[
        "--as",
        "robot",
        "token",
        "create",
        "-p",
        P,
        "--acl",
        "pull_request_flag",
    ])["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (www, pb) = (crate::free_port(), crate::free_port());
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private_ok(
        &f,
        &[
            "--as",
            "alice",
            "webhook",
            "add",
            "-p",
            P,
            &format!("http://127.0.0.1:{www}/change_hook/forge"),
            "--events",
            "pr.new,pr.updated,pr.reopened",
            "--secret",
            secret,
        ],
    );
    let mut serve = f.command(&["serve", "--bind", "127.0.0.1:0"]);
    serve.env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1");
    let s = Server::from(serve);
    let forge_url = format!("http://{}", s.addr);

    // The master, from the documented master.cfg, and its worker.
    let master = f.dir.path().join("buildbot-master");
    std::fs::create_dir_all(&master).expect("master dir");
    let cfg =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ci/buildbot/master.cfg");
    std::fs::copy(&cfg, master.join("master.cfg")).expect("master.cfg");
    let env = [
        ("FORGE_URL", forge_url.clone()),
        ("FORGE_TOKEN", robot.clone()),
        ("FORGE_WEBHOOK_SECRET", secret.to_string()),
        ("BUILDBOT_WWW_PORT", www.to_string()),
        ("BUILDBOT_WORKER_PORT", pb.to_string()),
        ("BUILDBOT_WORKER_PASS", "worker-pass".to_string()),
    ];
    run_ok(
        std::process::Command::new(bin.join("buildbot"))
            .args(["create-master", "-r"])
            .arg(&master)
            .envs(env.clone()),
    );
    let quiet = || std::process::Stdio::null();
    let mut master_process = Running(
        std::process::Command::new(bin.join("buildbot"))
            .args(["start", "--nodaemon"])
            .arg(&master)
            .envs(env.clone())
            .stdout(quiet())
            .stderr(quiet())
            .spawn()
            .expect("buildbot starts"),
    );
    let worker_dir = f.dir.path().join("buildbot-worker");
    run_ok(
        std::process::Command::new(bin.join("buildbot-worker"))
            .arg("create-worker")
            .arg(&worker_dir)
            .args([&format!("127.0.0.1:{pb}"), "forge-worker", "worker-pass"]),
    );
    let _worker = Running(
        std::process::Command::new(bin.join("buildbot-worker"))
            .args(["start", "--nodaemon"])
            .arg(&worker_dir)
            .stdout(quiet())
            .stderr(quiet())
            .spawn()
            .expect("buildbot-worker starts"),
    );
    wait_for("the master's web port", || {
        if let Ok(Some(status)) = master_process.0.try_wait() {
            let log = std::fs::read_to_string(master.join("twistd.log")).unwrap_or_default();
            panic!("buildbot's master ended ({status}):\n{log}");
        }
        std::net::TcpStream::connect(("127.0.0.1", www)).ok()
    });

    let work = f.work_clone();
    std::fs::write(work.join("a.txt"), "one\n").expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "Start"]);
    git(&work, &["push", "-q", "origin", "main"]);
    git(&work, &["checkout", "-q", "-b", "topic"]);
    std::fs::write(work.join("a.txt"), "ONE\n").expect("write");
    git(&work, &["commit", "-qam", "Shout"]);
    git(&work, &["push", "-q", "origin", "topic"]);
    f.ok(&[
        "--as", "alice", "pr", "new", "-p", P, "--title", "Shout", "--from", "topic",
    ]);

    let flag = wait_for("buildbot's flag", || {
        let pr = f.json(&["pr", "show", "-p", P, "1"]);
        pr["flags"]
            .as_array()?
            .iter()
            .find(|fl| fl["name"] == "buildbot" && fl["status"] == "success")
            .cloned()
    });
    assert_eq!(flag["percent"], 100, "{flag}");
    assert!(
        flag["comment"]
            .as_str()
            .is_some_and(|c| c.contains("passed")),
        "{flag}"
    );
    assert!(
        flag["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("http://127.0.0.1:{www}/"))),
        "{flag}"
    );
    // The webhook's delivery log shows Buildbot took it.
    let log = f.json(&["--as", "alice", "webhook", "deliveries", "-p", P]);
    assert!(
        log.as_array()
            .is_some_and(|all| all.iter().any(|d| d["status"] == 200)),
        "{log}"
    );
    drop(s);
}
