//! The relay notification mails are handed to (`[mail] relay`): an SMTP
//! server, or the local `sendmail` command.
//!
//! SMTP goes through lettre's SMTP client over connections forge opens
//! itself, so that they carry `TCP_NODELAY`: lettre writes a message and
//! its end-of-data marker as two small writes, and without it the second
//! waits for the relay's delayed ACK — about 40 ms a mail, which capped a
//! sender at some twenty mails a second. Connections are kept between
//! mails (up to one per sending thread), checked with `NOOP` after a pause
//! and closed after a minute unused.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::transport::sendmail::SendmailTransport;
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, Transport as _};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::notify::SetupError;

/// How long one step with the relay (connecting, one mail) may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// A kept connection unused this long is checked with `NOOP` first.
const CHECK_AFTER: Duration = Duration::from_secs(5);
/// A kept connection unused this long is closed.
const CLOSE_AFTER: Duration = Duration::from_secs(60);

/// Where mails go.
pub enum Mailer {
    /// An SMTP relay.
    Smtp(Box<SmtpRelay>),
    /// The local `sendmail` command.
    Sendmail(SendmailTransport),
}

impl Mailer {
    /// The mailer `[mail] relay` names: `smtp://host:port` (no TLS),
    /// `smtps://host:port` (TLS from the start, port 465 by default),
    /// `smtp+starttls://host:port` (STARTTLS, port 587 by default), or
    /// `sendmail`. `connections` is how many are kept open at most.
    pub fn new(relay: &str, connections: usize) -> Result<Mailer, SetupError> {
        let relay = relay.trim();
        if relay == "sendmail" {
            return Ok(Mailer::Sendmail(SendmailTransport::new()));
        }
        let bad = |why: &str| SetupError::Relay(format!("`{relay}`: {why}"));
        let (scheme, rest) = relay.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let security = match scheme {
            "smtp" => Security::Plain,
            "smtps" => Security::Implicit,
            "smtp+starttls" => Security::StartTls,
            _ => return Err(bad("the scheme is not smtp, smtps or smtp+starttls")),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
            None => (rest, security.default_port()),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("forge-smtp")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| bad(&format!("starting its runtime: {e}")))?;
        Ok(Mailer::Smtp(Box::new(SmtpRelay {
            host: host.to_string(),
            port,
            security,
            hello: ClientId::default(),
            runtime,
            idle: Mutex::new(Vec::new()),
            keep: connections.max(1),
        })))
    }

    /// Hands `message` to the relay.
    pub fn send(&self, message: &Message) -> Result<(), String> {
        match self {
            Mailer::Smtp(relay) => relay.send(message),
            Mailer::Sendmail(t) => t.send(message).map(drop).map_err(|e| e.to_string()),
        }
    }
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Plain,
    Implicit,
    StartTls,
}

impl Security {
    fn default_port(self) -> u16 {
        match self {
            Security::Plain => 25,
            Security::Implicit => 465,
            Security::StartTls => 587,
        }
    }
}

/// An SMTP relay and the connections kept open to it.
pub struct SmtpRelay {
    host: String,
    port: u16,
    security: Security,
    hello: ClientId,
    runtime: tokio::runtime::Runtime,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    keep: usize,
}

impl SmtpRelay {
    fn send(&self, message: &Message) -> Result<(), String> {
        let envelope = message.envelope();
        let bytes = message.formatted();
        self.runtime.block_on(async {
            let mut conn = self.checkout().await?;
            match tokio::time::timeout(TIMEOUT, conn.send(envelope, &bytes)).await {
                Ok(Ok(_)) => {
                    self.checkin(conn);
                    Ok(())
                }
                // lettre has closed the connection already.
                Ok(Err(e)) => Err(format!("the relay {}: {e}", self.name())),
                Err(_) => {
                    conn.abort().await;
                    Err(format!(
                        "the relay {} did not take the mail within {} s",
                        self.name(),
                        TIMEOUT.as_secs()
                    ))
                }
            }
        })
    }

    fn name(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// A kept connection that still answers, else a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, String> {
        loop {
            let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let Some((mut conn, since)) = kept else { break };
            let unused = since.elapsed();
            if unused > CLOSE_AFTER || conn.has_broken() {
                conn.abort().await;
                continue;
            }
            if unused < CHECK_AFTER
                || tokio::time::timeout(TIMEOUT, conn.test_connected())
                    .await
                    .unwrap_or(false)
            {
                return Ok(conn);
            }
            conn.abort().await;
        }
        match tokio::time::timeout(TIMEOUT, self.connect()).await {
            Ok(connected) => connected,
            Err(_) => Err(format!(
                "the relay {} did not answer within {} s",
                self.name(),
                TIMEOUT.as_secs()
            )),
        }
    }

    fn checkin(&self, conn: AsyncSmtpConnection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.keep {
                idle.push((conn, Instant::now()));
            }
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let failed = |e: &dyn std::fmt::Display| format!("the relay {}: {e}", self.name());
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| failed(&e))?;
        tcp.set_nodelay(true).map_err(|e| failed(&e))?;
        let tls = || TlsParameters::new(self.host.clone()).map_err(|e| failed(&e));
        match self.security {
            Security::Plain => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                    .await
                    .map_err(|e| failed(&e))
            }
            Security::StartTls => {
                let mut conn =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                        .await
                        .map_err(|e| failed(&e))?;
                conn.starttls(tls()?, &self.hello)
                    .await
                    .map_err(|e| failed(&e))?;
                Ok(conn)
            }
            Security::Implicit => {
                let name = tokio_rustls::rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| failed(&e))?;
                let stream = tls_connector()
                    .map_err(|e| failed(&e))?
                    .connect(name, tcp)
                    .await
                    .map_err(|e| failed(&e))?;
                AsyncSmtpConnection::connect_with_transport(
                    Box::new(Tls(Box::new(stream))),
                    &self.hello,
                )
                .await
                .map_err(|e| failed(&e))
            }
        }
    }
}

/// A TLS client checking certificates against the Web PKI roots (the
/// roots lettre uses for STARTTLS).
fn tls_connector() -> Result<tokio_rustls::TlsConnector, tokio_rustls::rustls::Error> {
    use tokio_rustls::rustls;
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// A TLS stream as lettre's SMTP client takes one.
#[derive(Debug)]
struct Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>);

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for Tls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(text: &str) -> Result<(String, u16, Security), SetupError> {
        match Mailer::new(text, 1)? {
            Mailer::Smtp(r) => Ok((r.host.clone(), r.port, r.security)),
            Mailer::Sendmail(_) => Ok(("sendmail".into(), 0, Security::Plain)),
        }
    }

    #[test]
    fn relays_are_read_with_their_default_ports() {
        assert_eq!(
            relay("smtp://127.0.0.1:2525").ok(),
            Some(("127.0.0.1".into(), 2525, Security::Plain))
        );
        assert_eq!(
            relay("smtps://mail.example.org").ok(),
            Some(("mail.example.org".into(), 465, Security::Implicit))
        );
        assert_eq!(
            relay("smtp+starttls://mail.example.org/").ok(),
            Some(("mail.example.org".into(), 587, Security::StartTls))
        );
        assert_eq!(
            relay("smtp://[::1]:25").ok(),
            Some(("::1".into(), 25, Security::Plain))
        );
        assert_eq!(relay("sendmail").ok().map(|r| r.0), Some("sendmail".into()));
        for bad in [
            "mail.example.org",
            "http://x",
            "smtp://:25",
            "smtp://x:port",
        ] {
            let e = relay(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn a_relay_that_is_down_is_an_error_naming_it() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a port");
        let mailer = Mailer::new(&format!("smtp://127.0.0.1:{port}"), 1).expect("a mailer");
        let message = Message::builder()
            .from("forge <forge@forge.test>".parse().expect("from"))
            .to("alice@example.org".parse().expect("to"))
            .subject("Hi")
            .body(String::from("Hello"))
            .expect("a message");
        let e = mailer.send(&message).err().unwrap_or_default();
        assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    }
}
