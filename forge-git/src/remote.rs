//! Fetching a branch from a remote git URL, with the guards a forge needs:
//! only network transports, never a local path or `file://`, and no
//! loopback or private address unless the caller allows it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::process::{Command, Stdio};

use crate::repo::{CommitId, Repo};
use crate::Error;

/// Whether an address belongs to this machine or a network a forge must
/// not reach ([`forbidden_address`]).
pub fn is_local_address(ip: IpAddr) -> bool {
    forbidden_address(ip).is_some()
}

/// What is wrong with connecting to `ip` from a forge, if anything: this
/// machine, its private networks, link-local addresses (cloud metadata),
/// multicast, unspecified, reserved and documentation ranges, and IPv6
/// addresses carrying an IPv4 one. The one classifier for every outgoing
/// connection (remote pull requests, webhooks).
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() || a == 0 => "an unspecified address (0.0.0.0/8)",
        _ if ip.is_loopback() => "a loopback address (127.0.0.0/8)",
        _ if ip.is_private() => "a private address (10/8, 172.16/12, 192.168/16)",
        (169, 254, _) => {
            "a link-local address (169.254/16, where clouds keep their metadata service)"
        }
        (100, 64..=127, _) => "a shared address (100.64/10, carrier-grade NAT)",
        (192, 0, 0) => "an IETF protocol address (192.0.0/24)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (198, 18..=19, _) => "a benchmarking address (198.18/15)",
        _ if ip.is_multicast() => "a multicast address (224/4)",
        _ if ip.is_broadcast() || a >= 240 => "a reserved address (240/4)",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.to_ipv4_mapped().is_some() {
        return Some("an IPv4-mapped IPv6 address (::ffff:0:0/96)");
    }
    Some(match s {
        _ if ip.is_unspecified() => "an unspecified address (::)",
        _ if ip.is_loopback() => "a loopback address (::1)",
        [0, 0, 0, 0, 0, 0, _, _] => "an IPv4-compatible IPv6 address (::/96)",
        [0x64, 0xff9b, ..] => "a NAT64 address (64:ff9b::/96) carrying an IPv4 one",
        [0xfd00, 0x0ec2, ..] => "a cloud metadata address (fd00:ec2::/32)",
        [x, ..] if x & 0xfe00 == 0xfc00 => "a unique local address (fc00::/7)",
        [x, ..] if x & 0xffc0 == 0xfe80 => "a link-local address (fe80::/10)",
        [x, ..] if x & 0xff00 == 0xff00 => "a multicast address (ff00::/8)",
        [0x2001, 0x0db8, ..] => "a documentation address (2001:db8::/32)",
        [0x2002, ..] => "a 6to4 address (2002::/16) carrying an IPv4 one",
        [0x2001, 0, ..] => "a Teredo address (2001::/32) carrying an IPv4 one",
        _ => return None,
    })
}

/// The host (and port) a remote URL would connect to; refuses anything but
/// `https://`, `http://`, `git://` and `ssh://` (or scp-like `user@host:path`).
pub fn remote_host(url: &str) -> Result<(String, u16), Error> {
    let bad = |why: &str| Error::BadRemote {
        url: url.chars().take(200).collect(),
        reason: why.to_string(),
    };
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) || url.starts_with('-') {
        return Err(bad(
            "it contains spaces, control characters or starts with `-`",
        ));
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => match url.split_once(':') {
            // scp-like syntax: user@host:path (a `/` before the `:` means a local path)
            Some((host, _)) if !host.contains('/') && host.contains('@') => {
                ("ssh".to_string(), url)
            }
            _ => {
                return Err(bad(
                    "local paths are not allowed; use an https://, git:// or ssh:// URL",
                ))
            }
        },
    };
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        "git" => 9418,
        "ssh" => 22,
        _ => return Err(bad("only https, http, git and ssh URLs are allowed")),
    };
    let authority = rest.split(['/', ':']).next().unwrap_or_default();
    let authority = if url.contains("://") {
        rest.split('/').next().unwrap_or_default()
    } else {
        authority
    };
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed `[` in the host"))?;
        (h.to_string(), after.strip_prefix(':').map(str::to_string))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) if url.contains("://") => (h.to_string(), Some(p.to_string())),
            _ => (host_port.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("it names no host"));
    }
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
        None => default_port,
    };
    Ok((host, port))
}

/// Checks a remote URL: scheme, and (unless `allow_local`) that no address
/// its host resolves to is loopback or private.
pub fn check_remote_url(url: &str, allow_local: bool) -> Result<(), Error> {
    let (host, port) = remote_host(url)?;
    if allow_local {
        return Ok(());
    }
    let addrs: Vec<_> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| Error::BadRemote {
            url: url.into(),
            reason: format!("cannot resolve `{host}`: {e}"),
        })?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| is_local_address(a.ip())) {
        return Err(Error::BadRemote {
            url: url.into(),
            reason: format!("`{host}` is this machine or a private network"),
        });
    }
    Ok(())
}

impl Repo {
    /// Fetches `branch` of the remote `url` into the ref `into` (for example
    /// `refs/forge/remote/7`) with the git binary, after [`check_remote_url`];
    /// returns the fetched commit.
    pub fn fetch_remote_branch(
        &self,
        url: &str,
        branch: &str,
        into: &str,
        allow_local: bool,
    ) -> Result<CommitId, Error> {
        check_remote_url(url, allow_local)?;
        if branch.is_empty()
            || branch.starts_with('-')
            || branch.contains("..")
            || branch
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == ':')
        {
            return Err(Error::BadRemote {
                url: url.into(),
                reason: format!("invalid branch name `{branch}`"),
            });
        }
        self.git_fetch(url, &[format!("+refs/heads/{branch}:{into}")], false)?;
        let oid = self.git().refname_to_id(into).map_err(|e| self.error(e))?;
        Ok(CommitId::from_oid(oid))
    }

    /// Makes this repository a mirror of the remote `url`'s branches and
    /// pull request heads (`refs/heads/*`, `refs/pull/*/head`), pruning
    /// what the remote no longer has, after [`check_remote_url`].
    pub fn fetch_mirror(&self, url: &str, allow_local: bool) -> Result<(), Error> {
        check_remote_url(url, allow_local)?;
        self.git_fetch(
            url,
            &[
                "+refs/heads/*:refs/heads/*".to_string(),
                "+refs/pull/*/head:refs/pull/*/head".to_string(),
            ],
            true,
        )
    }

    /// `git fetch` of `refspecs` from `url` with no local transport, no
    /// prompt, no tags; the error names the URL and git's first line.
    fn git_fetch(&self, url: &str, refspecs: &[String], prune: bool) -> Result<(), Error> {
        let mut command = Command::new("git");
        command
            .arg("--git-dir")
            .arg(self.git_dir())
            .args([
                "-c",
                "protocol.file.allow=never",
                "-c",
                "protocol.ext.allow=never",
            ])
            .args(["fetch", "--quiet", "--no-tags"]);
        if prune {
            command.arg("--prune");
        }
        let out = command
            .args(["--end-of-options", url])
            .args(refspecs)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::BadRemote {
                url: url.into(),
                reason: format!("running git fetch: {e}"),
            })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("git fetch failed");
            return Err(Error::BadRemote {
                url: url.into(),
                reason: first.trim().to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_network_transports_are_accepted() {
        for (url, ok) in [
            ("https://example.org/repo.git", true),
            ("http://example.org:8080/r", true),
            ("git://example.org/r.git", true),
            ("ssh://git@example.org:2222/r.git", true),
            ("git@example.org:team/r.git", true),
            ("file:///etc/passwd", false),
            ("/srv/git/r.git", false),
            ("../r.git", false),
            ("ext::sh -c touch% /tmp/pwned", false),
            ("--upload-pack=evil", false),
            ("ftp://example.org/r", false),
            ("https:///nohost", false),
            ("https://example.org/a b", false),
        ] {
            assert_eq!(remote_host(url).is_ok(), ok, "{url}");
        }
        assert_eq!(
            remote_host("https://user:pw@example.org:8443/x").ok(),
            Some(("example.org".into(), 8443))
        );
        assert_eq!(
            remote_host("git://[::1]:9999/x").ok(),
            Some(("::1".into(), 9999))
        );
    }

    #[test]
    fn local_and_private_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1/r",
            "http://localhost/r",
            "git://[::1]/r",
            "https://10.1.2.3/r",
            "https://192.168.0.1/r",
            "https://172.16.0.9/r",
            "https://169.254.169.254/latest",
            "https://0.0.0.0/r",
            "https://[::ffff:127.0.0.1]/r",
            "https://[fd00::1]/r",
        ] {
            let err = check_remote_url(url, false).expect_err(url);
            assert!(
                err.to_string()
                    .contains("this machine or a private network"),
                "{url}: {err}"
            );
            assert!(
                check_remote_url(url, true).is_ok(),
                "{url} allowed by the setting"
            );
        }
        assert!(
            check_remote_url("https://93.184.216.34/r", false).is_ok(),
            "a public address"
        );
    }

    #[test]
    fn fetches_a_branch_from_a_git_daemon_on_loopback() -> Result<(), Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let served = Repo::init_bare(&dir.path().join("served.git"))?;
        let who = crate::Identity::new("alice", "alice@example.org");
        let tip = served.commit_with("feature", &who, "remote work", |_| {
            Ok(vec![crate::Change::put("x", b"1".to_vec())])
        })?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let target = Repo::init_bare(&dir.path().join("target.git"))?;
        let mut daemon = Command::new("git")
            .args([
                "daemon",
                "--export-all",
                "--reuseaddr",
                "--listen=127.0.0.1",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", dir.path().display()))
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let url = format!("git://127.0.0.1:{port}/served.git");
        let refused = target.fetch_remote_branch(&url, "feature", "refs/forge/remote/1", false);
        let mut fetched = Err(Error::NothingToMerge);
        for _ in 0..50 {
            fetched = target.fetch_remote_branch(&url, "feature", "refs/forge/remote/1", true);
            if fetched.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = daemon.kill();
        let _ = daemon.wait();
        assert!(
            matches!(refused, Err(Error::BadRemote { .. })),
            "loopback refused by default"
        );
        assert_eq!(fetched?, tip);
        let missing = target.fetch_remote_branch(
            "git://127.0.0.1:1/none.git",
            "x",
            "refs/forge/remote/2",
            true,
        );
        assert!(matches!(missing, Err(Error::BadRemote { .. })));
        Ok(())
    }
}
