//! `forge milter`: postfix asks it, while the sender is still connected,
//! whether a reply may be taken, so that a forged or mistyped reply
//! address, or a reply from someone other than the person the notification
//! was sent to, is refused at SMTP time with the reason (a 5xx reply the
//! sender's mail client shows at once) instead of bouncing later.
//!
//! It speaks the Sendmail milter protocol (through the `miltr-server`
//! crate) on a TCP or Unix socket named in postfix's `smtpd_milters`. It
//! only checks: the message itself is taken by postfix's pipe transport
//! and posted by `forge mail ingest`. The checks are those of
//! [`ingest`](super::ingest): at `RCPT TO` a reply address's key must
//! verify ([`check_key`]); once the headers are in, the `From` address
//! must be one of the key's user's and that user must still read the item
//! ([`check_sender`]). Mail to other addresses passes untouched.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use forge_core::{ForgeHome, Store};
use miltr_common::actions::{Action, Continue, Replycode};
use miltr_common::commands::{Header, Mail, Recipient};
use miltr_common::optneg::{OptNeg, Protocol};
use miltr_server::{Milter, Server};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::compat::TokioAsyncReadCompatExt as _;

use super::ingest::{check_key, check_sender, Exit, Refused};
use super::message;
use super::reply::{self, KeyError, Keys};
use crate::queue::now_ms;

/// Where the milter listens: `unix:/path/to/socket`, or `host:port`
/// (also written `inet:host:port`, as postfix names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// A TCP address.
    Tcp(String),
    /// A Unix socket's path.
    Unix(PathBuf),
}

impl std::str::FromStr for Bind {
    type Err = String;

    fn from_str(text: &str) -> Result<Bind, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(format!("{text}: unix: needs a socket path"));
            }
            return Ok(Bind::Unix(PathBuf::from(path)));
        }
        let addr = text.strip_prefix("inet:").unwrap_or(text);
        match addr.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Bind::Tcp(addr.to_string()))
            }
            _ => Err(format!(
                "{text}: expected host:port, inet:host:port or unix:/path"
            )),
        }
    }
}

/// A bound milter socket.
#[derive(Debug)]
pub enum Listener {
    /// On TCP.
    Tcp(tokio::net::TcpListener),
    /// On a Unix socket.
    Unix(tokio::net::UnixListener, PathBuf),
}

impl Listener {
    /// Binds `at`; a Unix socket left behind by a stopped milter is
    /// replaced, anything else at that path is not.
    pub async fn bind(at: &Bind) -> std::io::Result<Listener> {
        match at {
            Bind::Tcp(addr) => Ok(Listener::Tcp(tokio::net::TcpListener::bind(addr).await?)),
            Bind::Unix(path) => {
                use std::os::unix::fs::FileTypeExt as _;
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if meta.file_type().is_socket() {
                        std::fs::remove_file(path)?;
                    }
                }
                let listener = tokio::net::UnixListener::bind(path)?;
                Ok(Listener::Unix(listener, path.clone()))
            }
        }
    }

    /// What postfix's `smtpd_milters` names it by (`inet:127.0.0.1:8899`,
    /// `unix:/run/forge/milter`).
    pub fn postfix_name(&self) -> String {
        match self {
            Listener::Tcp(l) => match l.local_addr() {
                Ok(a) => format!("inet:{a}"),
                Err(_) => "inet:?".into(),
            },
            Listener::Unix(_, path) => format!("unix:{}", path.display()),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What the milter checks against: the forge home's database (one
/// connection, the checks being one or two indexed reads each) and its
/// reply-key secret.
pub struct Checks {
    store: Mutex<Store>,
    keys: Keys,
}

impl Checks {
    /// Opens the forge home's database and reply-key secret.
    pub fn open(home: &ForgeHome) -> Result<Checks, KeyError> {
        let store = Store::open(&home.db_path()).map_err(|e| KeyError::Store(e.to_string()))?;
        Ok(Checks {
            store: Mutex::new(store),
            keys: Keys::open(home)?,
        })
    }

    fn store(&self) -> Result<std::sync::MutexGuard<'_, Store>, Refused> {
        self.store.lock().map_err(|_| Refused {
            exit: Exit::TempFail,
            reason: "the milter's database connection is unusable".into(),
        })
    }

    /// The `RCPT TO` check of `address` (a reply address).
    pub fn key(&self, address: &str) -> Result<(), Refused> {
        check_key(&*self.store()?, &self.keys, address, now_ms()).map(|_| ())
    }

    /// The check of a reply to `address` from `from` (the `From` header's
    /// address).
    pub fn sender(&self, address: &str, from: Option<&str>) -> Result<(), Refused> {
        check_sender(&*self.store()?, &self.keys, address, from, now_ms()).map(|_| ())
    }
}

/// Serves milter connections on `listener` until `shutdown` completes,
/// then gives open ones a few seconds to finish.
pub async fn serve(
    listener: Listener,
    checks: Arc<Checks>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut open = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener) => match accepted {
                Ok(conn) => {
                    open.spawn(conversation(conn, checks.clone()));
                }
                // A failed accept (out of descriptors, a reset) is one
                // connection's problem, not the milter's.
                Err(e) => {
                    tracing::warn!("milter: accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = open.join_next(), if !open.is_empty() => {}
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while open.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

async fn accept(listener: &Listener) -> std::io::Result<Box<dyn Conn>> {
    Ok(match listener {
        Listener::Tcp(l) => Box::new(l.accept().await?.0),
        Listener::Unix(l, _) => Box::new(l.accept().await?.0),
    })
}

async fn conversation(conn: Box<dyn Conn>, checks: Arc<Checks>) {
    let mut session = Session {
        checks,
        replies: Vec::new(),
        from: None,
    };
    let mut server = Server::default_postfix(&mut session);
    if let Err(e) = server.handle_connection(conn.compat()).await {
        tracing::warn!("milter: a conversation with the mail server ended: {e}");
    }
}

/// One SMTP conversation: the reply addresses its message goes to, and
/// its `From`.
struct Session {
    checks: Arc<Checks>,
    replies: Vec<String>,
    from: Option<String>,
}

impl Session {
    fn reset(&mut self) {
        self.replies.clear();
        self.from = None;
    }

    /// Runs a check on a blocking thread (it reads SQLite).
    async fn check(
        &self,
        check: impl FnOnce(&Checks) -> Result<(), Refused> + Send + 'static,
    ) -> Result<(), Refused> {
        let checks = self.checks.clone();
        tokio::task::spawn_blocking(move || check(&checks))
            .await
            .unwrap_or_else(|_| {
                Err(Refused {
                    exit: Exit::TempFail,
                    reason: "the check failed; try again later".into(),
                })
            })
    }
}

/// The SMTP reply for a refusal: at `RCPT TO` an unknown or forged
/// address is 550 5.1.1; after the headers a sender who is not the key's
/// user is 550 5.7.1; "later" is 451 4.3.0.
fn smtp_reply(refusal: &Refused, at_rcpt: bool) -> Action {
    let (rcode, xcode) = match refusal.exit {
        Exit::TempFail => ([4, 5, 1], [4, 3, 0]),
        Exit::NoUser if at_rcpt => ([5, 5, 0], [5, 1, 1]),
        Exit::DataErr => ([5, 5, 0], [5, 6, 0]),
        Exit::NoUser | Exit::NoPerm => ([5, 5, 0], [5, 7, 1]),
    };
    Replycode::new(rcode, xcode, &smtp_text(&refusal.reason)).into()
}

/// A reason as SMTP reply text: printable ASCII on one line, and no `%`
/// (which milter replies reserve).
fn smtp_text(reason: &str) -> String {
    reason
        .chars()
        .map(|c| match c {
            '%' => '?',
            ' '..='~' => c,
            _ => '?',
        })
        .take(400)
        .collect()
}

/// `<reply+k@d>` (as the milter protocol gives it) without its brackets.
fn unbracket(address: &str) -> &str {
    let a = address.trim();
    a.strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(a)
}

#[async_trait]
impl Milter for Session {
    type Error = std::convert::Infallible;

    /// Asks postfix for the envelope and the headers only: nothing in the
    /// connection, the greeting or the body changes the answer.
    async fn option_negotiation(
        &mut self,
        theirs: OptNeg,
    ) -> Result<OptNeg, miltr_server::Error<Self::Error>> {
        let ours = OptNeg {
            protocol: Protocol::NO_CONNECT
                | Protocol::NO_HELO
                | Protocol::NO_DATA
                | Protocol::NO_BODY
                | Protocol::NO_UNKNOWN,
            ..OptNeg::default()
        };
        ours.merge_compatible(&theirs)
            .map_err(|e| miltr_common::ProtocolError::CompatibilityError(e).into())
    }

    async fn mail(&mut self, _mail: Mail) -> Result<Action, Self::Error> {
        self.reset();
        Ok(Continue.into())
    }

    async fn rcpt(&mut self, recipient: Recipient) -> Result<Action, Self::Error> {
        let address = unbracket(&recipient.recipient()).to_string();
        if reply::key_of(&address).is_none() {
            return Ok(Continue.into());
        }
        let checked = address.clone();
        match self.check(move |c| c.key(&checked)).await {
            Ok(()) => {
                self.replies.push(address);
                Ok(Continue.into())
            }
            Err(refusal) => Ok(smtp_reply(&refusal, true)),
        }
    }

    async fn header(&mut self, header: Header) -> Result<Action, Self::Error> {
        if self.from.is_none() && header.name().eq_ignore_ascii_case("From") {
            self.from = message::first_address(&header.value());
        }
        Ok(Continue.into())
    }

    async fn end_of_header(&mut self) -> Result<Action, Self::Error> {
        for address in self.replies.clone() {
            let from = self.from.clone();
            if let Err(refusal) = self
                .check(move |c| c.sender(&address, from.as_deref()))
                .await
            {
                return Ok(smtp_reply(&refusal, false));
            }
        }
        Ok(Continue.into())
    }

    async fn abort(&mut self) -> Result<(), Self::Error> {
        self.reset();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_are_read_as_postfix_writes_them() {
        assert_eq!(
            "inet:127.0.0.1:8899".parse::<Bind>(),
            Ok(Bind::Tcp("127.0.0.1:8899".into()))
        );
        assert_eq!(
            "[::1]:8899".parse::<Bind>(),
            Ok(Bind::Tcp("[::1]:8899".into()))
        );
        assert_eq!(
            "unix:/run/forge/milter".parse::<Bind>(),
            Ok(Bind::Unix("/run/forge/milter".into()))
        );
        for bad in ["", "unix:", "localhost", "127.0.0.1:port", ":25"] {
            assert!(bad.parse::<Bind>().is_err(), "{bad}");
        }
    }

    #[test]
    fn reasons_become_one_line_of_plain_smtp_text() {
        assert_eq!(smtp_text("100% wrong\r\nkey é"), "100? wrong??key ?");
        assert_eq!(unbracket(" <reply+a-b@x.org> "), "reply+a-b@x.org");
        assert_eq!(unbracket("bob@x.org"), "bob@x.org");
    }
}
