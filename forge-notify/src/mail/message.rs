//! An incoming message as forge needs it: its id, who sent it and to
//! which addresses, whether a machine sent it, and its text — the plain
//! part (quoted-printable or base64, in its charset), or the HTML part as
//! text when there is no plain one. Attachments are not read.

use mailparse::{MailAddr, MailHeaderMap, ParsedMail};

/// The largest message read (a bigger one is refused before parsing).
pub const MAX_MESSAGE: usize = 10 << 20;

/// Why a message cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unusable {
    /// Over [`MAX_MESSAGE`].
    #[error("the message is over the limit of {MAX_MESSAGE} bytes")]
    TooBig(usize),
    /// The MIME structure does not parse.
    #[error("the message does not parse as MIME: {0}")]
    Mime(String),
    /// Neither a plain nor an HTML text part.
    #[error("the message has no text part")]
    NoText,
    /// Bare text that is not UTF-8.
    #[error("the text is not UTF-8 (a whole message says its charset; a bare body must be UTF-8)")]
    NotUtf8,
}

/// What forge reads of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// `Message-ID`, without its angle brackets.
    pub message_id: Option<String>,
    /// The sender's address (`From`), lowercased.
    pub from: Option<String>,
    /// The addresses it was sent to (`To`, `Cc`, `Delivered-To`), lowercased.
    pub recipients: Vec<String>,
    /// `Subject`.
    pub subject: String,
    /// Why a machine sent it (an auto-reply, a bulk message, a bounce);
    /// `None` for a person's message.
    pub automatic: Option<String>,
    /// Its text.
    pub text: String,
}

/// Whether `raw` is a whole message (headers, a blank line, a body)
/// rather than a bare body.
pub fn looks_like_message(raw: &[u8]) -> bool {
    let head_end = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .or_else(|| raw.windows(4).position(|w| w == b"\r\n\r\n"));
    let Some(end) = head_end else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut known = false;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            continue; // a folded header
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return false;
        }
        known |= matches!(
            name.to_ascii_lowercase().as_str(),
            "from"
                | "to"
                | "subject"
                | "message-id"
                | "date"
                | "mime-version"
                | "content-type"
                | "received"
                | "return-path"
        );
    }
    known
}

fn addresses(mail: &ParsedMail<'_>, header: &str) -> Vec<String> {
    let mut out = Vec::new();
    for h in mail.headers.get_all_headers(header) {
        if let Ok(list) = mailparse::addrparse_header(h) {
            flatten(&list, &mut out);
        }
    }
    out
}

fn flatten(list: &mailparse::MailAddrList, out: &mut Vec<String>) {
    for a in list.iter() {
        match a {
            MailAddr::Single(s) => out.push(s.addr.to_ascii_lowercase()),
            MailAddr::Group(g) => out.extend(g.addrs.iter().map(|s| s.addr.to_ascii_lowercase())),
        }
    }
}

/// The first address of a header's value as it came (`Bob
/// <Bob@Example.org>` gives `bob@example.org`): the milter's reading of
/// `From`, which it gets one header at a time.
pub fn first_address(value: &str) -> Option<String> {
    let mut out = Vec::new();
    flatten(&mailparse::addrparse(value).ok()?, &mut out);
    out.into_iter().next()
}

/// Why a machine sent `mail`, if one did (RFC 3834's `Auto-Submitted`,
/// `Precedence: bulk|junk|list`, vacation replies, delivery reports and
/// bounces).
fn automatic(mail: &ParsedMail<'_>, from: Option<&str>) -> Option<String> {
    let h = |name: &str| {
        mail.headers
            .get_first_value(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if let Some(v) = h("Auto-Submitted").filter(|v| v != "no") {
        return Some(format!("Auto-Submitted: {v}"));
    }
    if let Some(v) =
        h("Precedence").filter(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"))
    {
        return Some(format!("Precedence: {v}"));
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        if h(name).is_some() {
            return Some(format!("{name} is set"));
        }
    }
    if mail.ctype.mimetype == "multipart/report" {
        return Some("a delivery report".into());
    }
    if h("Return-Path").is_some_and(|v| v == "<>") {
        return Some("an empty Return-Path (a bounce)".into());
    }
    if let Some(local) = from.and_then(|f| f.split('@').next()) {
        if matches!(local, "mailer-daemon" | "postmaster") {
            return Some(format!("sent by {local}"));
        }
    }
    None
}

/// The text of `mail`: its first plain part not attached, else its first
/// HTML part as text.
fn text_of(mail: &ParsedMail<'_>) -> Result<String, Unusable> {
    fn walk<'m>(
        m: &'m ParsedMail<'m>,
        plain: &mut Option<&'m ParsedMail<'m>>,
        html: &mut Option<&'m ParsedMail<'m>>,
    ) {
        let attached =
            m.get_content_disposition().disposition == mailparse::DispositionType::Attachment;
        if attached {
            return;
        }
        if m.subparts.is_empty() {
            match m.ctype.mimetype.as_str() {
                "text/plain" if plain.is_none() => *plain = Some(m),
                "text/html" if html.is_none() => *html = Some(m),
                _ => {}
            }
        }
        for part in &m.subparts {
            walk(part, plain, html);
        }
    }
    let (mut plain, mut html) = (None, None);
    walk(mail, &mut plain, &mut html);
    if let Some(p) = plain {
        return body_of(p);
    }
    if let Some(h) = html {
        let body = body_of(h)?;
        return html2text::from_read(body.as_bytes(), 10_000)
            .map_err(|e| Unusable::Mime(format!("its HTML part: {e}")));
    }
    Err(Unusable::NoText)
}

/// A part's text in its charset. A charset mailparse does not know (a
/// typo, `x-unknown`) is read as ASCII with the other bytes replaced; when
/// those bytes are UTF-8 — the usual truth behind a wrong label — they are
/// read as UTF-8 instead.
fn body_of(part: &ParsedMail<'_>) -> Result<String, Unusable> {
    let text = part.get_body().map_err(|e| Unusable::Mime(e.to_string()))?;
    if text.contains(char::REPLACEMENT_CHARACTER) {
        if let Ok(Ok(utf8)) = part.get_body_raw().map(String::from_utf8) {
            return Ok(utf8);
        }
    }
    Ok(text)
}

/// Reads a whole message.
pub fn parse(raw: &[u8]) -> Result<Incoming, Unusable> {
    if raw.len() > MAX_MESSAGE {
        return Err(Unusable::TooBig(raw.len()));
    }
    let mail = mailparse::parse_mail(raw).map_err(|e| Unusable::Mime(e.to_string()))?;
    let from = addresses(&mail, "From").into_iter().next();
    let mut recipients = addresses(&mail, "To");
    recipients.extend(addresses(&mail, "Cc"));
    recipients.extend(addresses(&mail, "Delivered-To"));
    recipients.dedup();
    let message_id = mail
        .headers
        .get_first_value("Message-ID")
        .map(|v| {
            v.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
        .filter(|v| !v.is_empty());
    Ok(Incoming {
        message_id,
        automatic: automatic(&mail, from.as_deref()),
        from,
        recipients,
        subject: mail.headers.get_first_value("Subject").unwrap_or_default(),
        text: text_of(&mail)?,
    })
}

/// The text of `raw`: a whole message's (see [`parse`]), or `raw` itself
/// when it is a bare body.
pub fn text(raw: &[u8]) -> Result<String, Unusable> {
    if raw.len() > MAX_MESSAGE {
        return Err(Unusable::TooBig(raw.len()));
    }
    if looks_like_message(raw) {
        return Ok(parse(raw)?.text);
    }
    String::from_utf8(raw.to_vec()).map_err(|_| Unusable::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALTERNATIVE: &str = "From: Bob Builder <Bob@Example.org>\r\n\
To: reply+abc@forge.example.org\r\n\
Subject: Re: [tools/hammer] Loose handle (#1)\r\n\
Message-ID: <r1@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=b1\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Gr=FC=DFe, it is fixed.\r\n\
--b1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>HTML version</p>\r\n\
--b1--\r\n";

    #[test]
    fn the_plain_part_in_its_charset_and_the_addresses() {
        let m = parse(ALTERNATIVE.as_bytes()).expect("parses");
        assert_eq!(m.text.trim_end(), "Grüße, it is fixed.");
        assert_eq!(m.from.as_deref(), Some("bob@example.org"));
        assert_eq!(m.recipients, ["reply+abc@forge.example.org"]);
        assert_eq!(m.message_id.as_deref(), Some("r1@example.org"));
        assert_eq!(m.automatic, None);
        assert!(looks_like_message(ALTERNATIVE.as_bytes()));
    }

    #[test]
    fn an_html_only_message_becomes_text_and_attachments_are_not_read() {
        let raw = "From: a@example.org\nSubject: x\nContent-Type: multipart/mixed; boundary=m\n\n\
--m\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n\
PHA+SXQgPGI+d29ya3M8L2I+LjwvcD48YmxvY2txdW90ZT5vbGQ8L2Jsb2NrcXVvdGU+\n\
--m\nContent-Type: text/plain\nContent-Disposition: attachment; filename=log.txt\n\nnot the reply\n--m--\n";
        let m = parse(raw.as_bytes()).expect("parses");
        assert!(
            m.text.contains("It") && m.text.contains("works"),
            "{}",
            m.text
        );
        assert!(m.text.contains("> old"), "quotes stay quotes: {}", m.text);
        assert!(!m.text.contains("not the reply"));
    }

    #[test]
    fn machines_messages_are_known_and_bad_ones_named() {
        for (header, why) in [
            ("Auto-Submitted: auto-replied", "Auto-Submitted"),
            ("Precedence: bulk", "Precedence"),
            ("Return-Path: <>", "bounce"),
            ("X-Autoreply: yes", "X-Autoreply"),
        ] {
            let raw = format!("From: a@example.org\n{header}\nSubject: Away\n\nI am away.\n");
            let m = parse(raw.as_bytes()).expect("parses");
            assert!(
                m.automatic.as_deref().is_some_and(|a| a.contains(why)),
                "{header}: {m:?}"
            );
        }
        let no_text = "From: a@example.org\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n";
        assert_eq!(parse(no_text.as_bytes()), Err(Unusable::NoText));
        let big = vec![b'a'; MAX_MESSAGE + 1];
        assert_eq!(parse(&big), Err(Unusable::TooBig(MAX_MESSAGE + 1)));
        assert_eq!(text(&[0xff, 0xfe, b'x']), Err(Unusable::NotUtf8));
    }

    #[test]
    fn an_unknown_charset_is_read_as_utf8_when_it_is_and_as_ascii_else() {
        let m = parse("From: bob@example.org\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nQapla\u{2019} ok\r\n".as_bytes())
            .expect("a message");
        assert_eq!(m.text.trim(), "Qapla\u{2019} ok");
        let mut raw =
            b"From: bob@example.org\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nQapla"
                .to_vec();
        raw.extend_from_slice(&[0xff, 0xfe]);
        raw.extend_from_slice(b" ok\r\n");
        let m = parse(&raw).expect("a message");
        assert!(
            m.text.starts_with("Qapla") && m.text.contains(" ok"),
            "{}",
            m.text
        );
    }

    #[test]
    fn bare_bodies_are_not_taken_for_messages() {
        for body in [
            "Thanks!\n\nOn Mon, Bob wrote:\n> hi",
            "From my point of view: yes\n\nok",
            "Subject\n\nbody",
        ] {
            assert!(!looks_like_message(body.as_bytes()), "{body}");
            assert_eq!(text(body.as_bytes()).expect("text"), body);
        }
    }
}
