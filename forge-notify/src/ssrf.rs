//! The guard between a webhook URL and the network: a target may not be
//! (as `forge_git::forbidden_address` decides for every outgoing connection)
//! this machine, its private networks, link-local addresses (where clouds
//! keep their metadata service), multicast, unspecified or reserved
//! addresses, nor an IPv6 address that carries an IPv4 one. Names are
//! resolved here and every address they give is checked; the delivery then
//! connects to an address that was checked, never resolving again, so that
//! DNS rebinding gets nothing. Host spellings (decimal `2130706433`, hex
//! `0x7f000001`, octal `0177.0.0.1`) are read as browsers read them (the
//! WHATWG URL parser), so they are the addresses they mean.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use forge_git::forbidden_address as forbidden;

use url::{Host, Url};

/// Why a target URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook URL `{url}` refused: {reason}")]
pub struct Refused {
    /// The URL as given (without credentials).
    pub url: String,
    /// Why.
    pub reason: String,
    /// Whether it names an internal address (which
    /// `allow_private_targets` would let through).
    pub internal: bool,
}

impl Refused {
    /// The reason, with how to let an internal address through when that
    /// is why (for servers people set up: a CI server, GitHub Enterprise).
    pub fn explained(&self) -> String {
        if self.internal {
            format!(
                "`{}`: {} (a server on this machine or a private network needs `allow_private_targets = true` under [webhooks] in forge.toml, or FORGE_WEBHOOKS_ALLOW_PRIVATE=1)",
                self.url, self.reason
            )
        } else {
            format!("`{}`: {}", self.url, self.reason)
        }
    }
}

/// A checked target: where to connect, and what to say in `Host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL.
    pub url: Url,
    /// The addresses it resolved to, every one allowed.
    pub addrs: Vec<SocketAddr>,
}

/// Resolves a host name with the system's resolver.
pub fn system_resolve(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    Ok((host, port).to_socket_addrs()?.collect())
}

/// Checks `text` as a webhook target: `http` or `https`, no credentials,
/// and (unless `allow_private`) every address it names or resolves to
/// allowed. `resolve` is the name resolver (the system's in use).
pub fn check(
    text: &str,
    allow_private: bool,
    resolve: &dyn Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>>,
) -> Result<Target, Refused> {
    let refused = |url: &str, reason: String| Refused {
        url: url.chars().take(300).collect(),
        reason,
        internal: false,
    };
    let url = Url::parse(text.trim()).map_err(|e| refused(text, format!("not a URL ({e})")))?;
    let shown = {
        let mut u = url.clone();
        let _ = u.set_password(None);
        let _ = u.set_username("");
        u.to_string()
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused(
            &shown,
            format!(
                "the scheme is `{}`; only http and https are delivered to",
                url.scheme()
            ),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            &shown,
            "it carries a user name or password; use the webhook's secret to authenticate".into(),
        ));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = match url.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => {
            let found = resolve(name, port)
                .map_err(|e| refused(&shown, format!("`{name}` does not resolve ({e})")))?;
            if found.is_empty() {
                return Err(refused(&shown, format!("`{name}` resolves to no address")));
            }
            found
        }
        None => return Err(refused(&shown, "it names no host".into())),
    };
    if !allow_private {
        for a in &addrs {
            if let Some(why) = forbidden(a.ip()) {
                return Err(Refused {
                    internal: true,
                    ..refused(&shown, format!("{} is {why}", a.ip()))
                });
            }
        }
    }
    Ok(Target { url, addrs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let ip: IpAddr = match host {
            "rebind.example" => "127.0.0.1".parse().expect("ip"),
            "metadata.example" => "169.254.169.254".parse().expect("ip"),
            "mixed.example" => {
                return Ok(vec![
                    SocketAddr::new("93.184.216.34".parse().expect("ip"), port),
                    SocketAddr::new("10.0.0.5".parse().expect("ip"), port),
                ])
            }
            "public.example" => "93.184.216.34".parse().expect("ip"),
            _ => return Err(std::io::Error::other("no such host")),
        };
        Ok(vec![SocketAddr::new(ip, port)])
    }

    #[test]
    fn internal_addresses_are_refused_however_they_are_spelled() {
        for url in [
            "http://127.0.0.1/hook",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://0.0.0.0:8080/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://10.1.2.3/",
            "http://172.16.5.4/",
            "http://192.168.0.1/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://[fe80::1]/",
            "http://[fc00::1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://rebind.example/",
            "http://metadata.example/",
            "http://mixed.example/",
        ] {
            let e = check(url, false, &resolver).expect_err(url);
            assert!(e.to_string().contains("refused"), "{url}: {e}");
        }
    }

    #[test]
    fn public_targets_pass_and_keep_the_checked_addresses() {
        let t = check("https://public.example/hooks?x=1", false, &resolver).expect("public");
        assert_eq!(
            t.addrs,
            vec!["93.184.216.34:443".parse::<SocketAddr>().expect("addr")]
        );
        assert!(check("http://93.184.216.34:8080/", false, &resolver).is_ok());
        assert!(check("http://[2606:4700::1111]/", false, &resolver).is_ok());
        // Tests and closed networks may allow private targets.
        assert!(check("http://127.0.0.1:9/", true, &resolver).is_ok());
    }

    #[test]
    fn other_schemes_credentials_and_unknown_names_are_refused_clearly() {
        for (url, words) in [
            ("ftp://public.example/", "only http and https"),
            ("file:///etc/passwd", "only http and https"),
            (
                "http://user:secret@public.example/",
                "user name or password",
            ),
            ("http://nowhere.invalid/", "does not resolve"),
            ("not a url", "not a URL"),
        ] {
            let e = check(url, false, &resolver).expect_err(url);
            assert!(e.to_string().contains(words), "{url}: {e}");
            assert!(
                !e.to_string().contains("secret@"),
                "no password in the message: {e}"
            );
        }
    }
}
