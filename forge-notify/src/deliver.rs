//! One HTTP delivery to a checked target: the connection goes to the
//! addresses [`crate::ssrf::check`] accepted (the name is not resolved
//! again, so DNS rebinding gets nothing), redirects are not followed, the
//! whole exchange is bounded in time, and at most [`RESPONSE_LIMIT`] bytes
//! of the answer are read.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::ssrf::Target;

/// Most bytes of an answer kept (the rest is not read).
pub const RESPONSE_LIMIT: u64 = 4096;
/// The longest a delivery may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A resolver that answers with the addresses already checked.
#[derive(Debug)]
struct Pinned(Vec<SocketAddr>);

impl Resolver for Pinned {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let mut out: ResolvedSocketAddrs = self.empty();
        for a in self.0.iter().take(16) {
            out.push(*a);
        }
        if out.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(out)
    }
}

/// What one attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// The first bytes of the answer.
    pub response: String,
    /// Why it failed before an answer (connection, timeout).
    pub error: Option<String>,
    /// How long it took.
    pub duration: Duration,
    /// The answer's headers, names in lower case (the first 100).
    pub headers: Vec<(String, String)>,
}

impl Attempt {
    /// The value of the answer's header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the target took it (a 2xx).
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// POSTs `body` with `headers` to `target`, within `timeout`; the first
/// [`RESPONSE_LIMIT`] bytes of the answer are kept.
pub fn post(
    target: &Target,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> Attempt {
    exchange(target, headers, Some(body), timeout, RESPONSE_LIMIT)
}

/// GETs `target` with `headers`, within `timeout`, keeping the first
/// `limit` bytes of the answer (a CI server's JSON about a build, say).
pub fn get(
    target: &Target,
    headers: &[(String, String)],
    timeout: Duration,
    limit: u64,
) -> Attempt {
    exchange(target, headers, None, timeout, limit)
}

/// One request to the checked addresses of `target`: a POST of `body`, or
/// a GET without one.
fn exchange(
    target: &Target,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    timeout: Duration,
    limit: u64,
) -> Attempt {
    let start = Instant::now();
    if target.addrs.is_empty() {
        return Attempt {
            status: None,
            response: String::new(),
            error: Some("no address to connect to".into()),
            duration: start.elapsed(),
            headers: Vec::new(),
        };
    }
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .user_agent("forge-webhooks")
        .build();
    let agent = ureq::Agent::with_parts(
        config,
        DefaultConnector::new(),
        Pinned(target.addrs.clone()),
    );
    let sent = match body {
        Some(body) => {
            let mut request = agent.post(target.url.as_str());
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            request.send(body)
        }
        None => {
            let mut request = agent.get(target.url.as_str());
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            request.call()
        }
    };
    match sent {
        Ok(mut answer) => {
            let status = answer.status().as_u16();
            let headers = answer
                .headers()
                .iter()
                .take(100)
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            // The first bytes only, whatever length the answer claims; an
            // answer cut short or too slow keeps what came, and says so.
            let mut bytes = Vec::new();
            let read = std::io::Read::read_to_end(
                &mut std::io::Read::take(answer.body_mut().as_reader(), limit),
                &mut bytes,
            );
            Attempt {
                status: Some(status),
                response: String::from_utf8_lossy(&bytes).into_owned(),
                error: read
                    .err()
                    .map(|e| format!("the answer was cut short after {} bytes ({e})", bytes.len())),
                duration: start.elapsed(),
                headers,
            }
        }
        Err(e) => Attempt {
            status: None,
            response: String::new(),
            error: Some(e.to_string()),
            duration: start.elapsed(),
            headers: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpListener;

    use super::*;
    use crate::ssrf;

    /// Reads one request from `stream`: its head and its body.
    fn read_request(stream: &std::net::TcpStream) -> (String, Vec<u8>) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        (head, body)
    }

    /// A receiver on a loopback port answering one request with `answer`;
    /// returns its port and what it received.
    fn receiver(answer: &'static str) -> (u16, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let got = read_request(&stream);
            let _ = stream.write_all(answer.as_bytes());
            let _ = tx.send(got);
        });
        (port, rx)
    }

    #[test]
    fn a_delivery_reaches_the_checked_address_with_its_headers() {
        let (port, got) = receiver("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        // The name resolves (for this test) to the receiver; the delivery
        // connects there without resolving again.
        let resolve = |_: &str, p: u16| Ok(vec![SocketAddr::from(([127, 0, 0, 1], p))]);
        let target =
            ssrf::check(&format!("http://hooks.test:{port}/in"), true, &resolve).expect("target");
        let attempt = post(
            &target,
            &[
                ("webhook-id".into(), "msg_1".into()),
                ("content-type".into(), "application/json".into()),
            ],
            br#"{"a":1}"#,
            TIMEOUT,
        );
        assert!(attempt.delivered(), "{attempt:?}");
        let (head, body) = got.recv_timeout(Duration::from_secs(5)).expect("received");
        assert!(head.starts_with("POST /in HTTP/1.1"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("host: hooks.test"),
            "{head}"
        );
        assert!(head.contains("webhook-id: msg_1"), "{head}");
        assert_eq!(body, br#"{"a":1}"#);
    }

    #[test]
    fn redirects_are_not_followed_and_silence_times_out() {
        let (port, _got) = receiver(
            "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n",
        );
        let target = ssrf::check(
            &format!("http://127.0.0.1:{port}/"),
            true,
            &ssrf::system_resolve,
        )
        .expect("target");
        let attempt = post(&target, &[], b"{}", TIMEOUT);
        assert_eq!(attempt.status, Some(302), "{attempt:?}");
        assert!(!attempt.delivered());

        // A target that accepts and never answers.
        let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = silent.local_addr().expect("addr").port();
        let target = ssrf::check(
            &format!("http://127.0.0.1:{port}/"),
            true,
            &ssrf::system_resolve,
        )
        .expect("target");
        let attempt = post(&target, &[], b"{}", Duration::from_millis(300));
        assert_eq!(attempt.status, None);
        assert!(attempt.error.is_some(), "{attempt:?}");
        assert!(attempt.duration < Duration::from_secs(5), "{attempt:?}");
        drop(silent);
    }

    /// A target that reads the request, then runs `answer` on the socket.
    fn target(answer: impl FnOnce(std::net::TcpStream) + Send + 'static) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            read_request(&stream);
            answer(stream);
        });
        ssrf::check(
            &format!("http://127.0.0.1:{port}/"),
            true,
            &ssrf::system_resolve,
        )
        .expect("target")
    }

    #[test]
    fn a_huge_answer_is_cut_and_a_reset_is_an_error() {
        // A gigabyte announced and sent for as long as anyone reads.
        let huge = target(|mut s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n");
            let chunk = vec![b'x'; 64 << 10];
            for _ in 0..(1 << 14) {
                if s.write_all(&chunk).is_err() {
                    return;
                }
            }
        });
        let attempt = post(&huge, &[], b"{}", Duration::from_secs(5));
        assert_eq!(attempt.status, Some(200), "{attempt:?}");
        assert!(attempt.delivered());
        assert_eq!(attempt.response.len(), RESPONSE_LIMIT as usize);

        // A body that trickles and never ends: bounded by the timeout.
        let trickle = target(|mut s| {
            let _ = s.write_all(b"HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\nx");
            std::thread::sleep(Duration::from_secs(5));
        });
        let attempt = post(&trickle, &[], b"{}", Duration::from_millis(500));
        assert_eq!(attempt.status, Some(500), "{attempt:?}");
        assert!(attempt.duration < Duration::from_secs(4), "{attempt:?}");

        // The connection closed without an answer.
        let reset = target(drop);
        let attempt = post(&reset, &[], b"{}", TIMEOUT);
        assert_eq!(attempt.status, None, "{attempt:?}");
        assert!(attempt.error.is_some(), "{attempt:?}");
    }
}
