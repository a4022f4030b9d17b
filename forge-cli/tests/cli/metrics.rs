//! `/healthz`, `/readyz` and `/metrics` of `forge serve`: on the main
//! listener the first two only, on the admin listener (`FORGE_ADMIN_BIND`)
//! all three; the exposition read by Prometheus' own Python parser
//! (`prometheus_client`, installed by `.ci/run`).

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::http::Server;
use crate::ssh::SshForge;
use crate::wait_for;

/// Parses the exposition with `prometheus_client` into
/// `{family: {"type": T, "samples": [[name, labels, value]...]}}`.
fn parse_with_prometheus_client(text: &str) -> Value {
    let python = std::env::var("FORGE_LIBPAGURE_PYTHON").unwrap_or_else(|_| {
        panic!(
            "FORGE_LIBPAGURE_PYTHON names no Python with prometheus_client: run the tests \
             with `bash .ci/run`, or `pip install prometheus_client==0.21.1` and set it"
        )
    });
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    out[family.name] = {"type": family.type,
                        "samples": [[s.name, s.labels, s.value] for s in family.samples]}
print(json.dumps(out))
"#;
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python runs");
    assert!(
        out.status.success(),
        "prometheus_client refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The value of the sample `name` whose labels include all of `labels`.
fn sample(families: &Value, family: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    families[family]["samples"]
        .as_array()?
        .iter()
        .find(|s| s[0] == name && labels.iter().all(|(k, v)| s[1][*k].as_str() == Some(*v)))
        .and_then(|s| s[2].as_f64())
}

#[test]
fn health_readiness_and_metrics_for_prometheus() {
    let ssh = SshForge::new();
    let forge = &ssh.forge;
    forge.ok_line("--as alice issue new -p tools/hammer --title one --body one");
    let admin_addr = format!("127.0.0.1:{}", crate::free_port());
    let mut command = forge.command(&["serve", "--bind", "127.0.0.1:0"]);
    command.env("FORGE_ADMIN_BIND", &admin_addr);
    let server = Server::from(command);
    let admin = Server::at(&admin_addr);

    // The main listener: health and readiness, not the metrics.
    assert_eq!(
        server.raw("GET", "/healthz", None, None),
        (200, "ok\n".into())
    );
    let (status, said) = server.raw("GET", "/readyz", None, None);
    assert_eq!(status, 200, "{said}");
    assert_eq!(server.raw("GET", "/metrics", None, None).0, 404);

    // Some traffic: API reads, a 404, a clone over HTTP.
    for _ in 0..3 {
        let (status, _) = server.raw("GET", "/api/0/tools/hammer/issues", None, None);
        assert_eq!(status, 200);
    }
    assert_eq!(server.raw("GET", "/api/0/nope/issues", None, None).0, 404);
    let clone = forge.dir.path().join("clone");
    let out = Command::new("git")
        .args([
            "clone",
            "-q",
            &format!("http://{}/tickets/tools/hammer.git", server.addr),
        ])
        .arg(&clone)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Git over SSH (the stand-in ssh runs sshd's forced command): a read
    // that works and a push bob may not make.
    let url = "ssh://forge.example/tools/hammer.git";
    ssh.ok("alice", &clone, &["ls-remote", url]);
    ssh.refused("bob", &clone, &["push", url, "HEAD:refs/heads/bob"]);

    // The delivery worker registers its consumers once it has started.
    let text = wait_for("the admin listener and the worker's consumers", || {
        std::net::TcpStream::connect(&admin_addr).ok()?;
        let got = admin.raw("GET", "/metrics", None, None);
        got.1.contains("consumer=\"webhooks\"").then_some(got)
    });
    assert_eq!(text.0, 200, "{}", text.1);
    let text = text.1;
    // No project, user or issue becomes a label.
    assert!(!text.contains("hammer"), "{text}");
    let families = parse_with_prometheus_client(&text);
    let requests = |route: &str, status: &str| {
        sample(
            &families,
            "forge_http_requests",
            "forge_http_requests_total",
            &[("route", route), ("method", "GET"), ("status", status)],
        )
    };
    assert_eq!(families["forge_http_requests"]["type"], "counter");
    assert!(
        requests("/api/0/:name/:name/issues", "200") >= Some(3.0),
        "{text}"
    );
    assert_eq!(requests("/api/0/:name/issues", "404"), Some(1.0), "{text}");
    assert!(requests("/healthz", "200") >= Some(1.0), "{text}");
    let histogram = &families["forge_http_request_duration_seconds"];
    assert_eq!(histogram["type"], "histogram");
    let labels = [("route", "/api/0/:name/:name/issues"), ("method", "GET")];
    let count = sample(
        &families,
        "forge_http_request_duration_seconds",
        "forge_http_request_duration_seconds_count",
        &labels,
    );
    let mut inf = labels.to_vec();
    inf.push(("le", "+Inf"));
    let all = sample(
        &families,
        "forge_http_request_duration_seconds",
        "forge_http_request_duration_seconds_bucket",
        &inf,
    );
    assert_eq!(count, all);
    assert!(count >= Some(3.0));
    let git = |service: &str| {
        sample(
            &families,
            "forge_git_operations",
            "forge_git_operations_total",
            &[("service", service), ("status", "200")],
        )
    };
    assert!(git("advertise") >= Some(1.0), "{text}");
    assert!(git("upload-pack") >= Some(1.0), "{text}");
    let ssh = |service: &str, outcome: &str| {
        sample(
            &families,
            "forge_ssh_git_operations",
            "forge_ssh_git_operations_total",
            &[("service", service), ("outcome", outcome)],
        )
    };
    assert_eq!(families["forge_ssh_git_operations"]["type"], "counter");
    assert_eq!(ssh("upload-pack", "ok"), Some(1.0), "{text}");
    assert_eq!(ssh("receive-pack", "refused"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &families,
            "forge_sse_streams_open",
            "forge_sse_streams_open",
            &[]
        ),
        Some(0.0)
    );
    for family in [
        "forge_queue_lag_events",
        "forge_queue_lag_seconds",
        "forge_queue_jobs",
    ] {
        assert_eq!(families[family]["type"], "gauge", "{family}: {text}");
    }
    assert!(
        sample(
            &families,
            "forge_queue_jobs",
            "forge_queue_jobs",
            &[("consumer", "webhooks"), ("state", "dead")]
        )
        .is_some(),
        "{text}"
    );
    // The admin listener serves nothing else.
    assert_eq!(admin.raw("GET", "/api/0/version", None, None).0, 404);

    // Storage gone: not ready (and says why); back: ready again.
    let home = forge.home();
    let away = forge.dir.path().join("away");
    std::fs::rename(&home, &away).expect("move the home");
    let (status, said) = admin.raw("GET", "/readyz", None, None);
    std::fs::rename(&away, &home).expect("move it back");
    assert_eq!(status, 503, "{said}");
    assert!(said.contains("storage"), "{said}");
    assert_eq!(admin.raw("GET", "/readyz", None, None).0, 200);
    drop(server);
}
