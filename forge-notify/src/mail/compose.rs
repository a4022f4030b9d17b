//! A notification as a mail: plain text and HTML (the same sanitized
//! Markdown rendering as the pages), a link to the item and what changed,
//! threaded in every common client — the first mail of an issue has the
//! item's stable `Message-ID`, later ones `In-Reply-To` and `References`
//! to it and the same subject after `Re:` — with `List-Id` per project,
//! `Auto-Submitted: auto-generated`, a one-click `List-Unsubscribe`, and,
//! when replies are taken, a `Reply-To` of the recipient's own reply key.

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

use super::reply::Item;

/// What happened, for one recipient.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The project's full name.
    pub project: String,
    /// The issue or pull request.
    pub item: Item,
    /// Its title.
    pub title: String,
    /// Whether this event opened it (the thread's first mail).
    pub opens: bool,
    /// The event's id (each later mail's own `Message-ID`).
    pub event_id: i64,
    /// One line: who did what ("bob commented", "alice closed it as Fixed").
    pub summary: String,
    /// Text written with it (a comment, the description), as Markdown.
    pub markdown: Option<String>,
    /// The item's page (with the comment's anchor where there is one).
    pub url: String,
}

/// Who gets it.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// Their name and address.
    pub mailbox: Mailbox,
    /// Their reply address (`reply+<key>@<domain>`), when replies are taken.
    pub reply_to: Option<Mailbox>,
    /// The one-click unsubscribe URL for this project.
    pub unsubscribe: String,
}

/// Why a mail could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the notification mail could not be made: {0}")]
pub struct ComposeError(String);

/// The domain of `mailbox`'s address (for the ids of its mails).
fn domain_of(mailbox: &Mailbox) -> &str {
    mailbox.email.domain()
}

/// The thread's first `Message-ID` (without angle brackets): stable for the
/// item, the same for every recipient.
pub fn thread_id(project: &str, item: Item, domain: &str) -> String {
    let (kind, n) = match item {
        Item::Issue(n) => ("issues", n),
        Item::PullRequest(n) => ("pull-requests", n),
    };
    format!("{project}/{kind}/{n}@{domain}")
}

/// `List-Id`: the project as a list, `<name.namespace.domain>`.
fn list_id(project: &str, domain: &str) -> String {
    let label: Vec<&str> = project.rsplit('/').collect();
    format!("{project} <{}.{domain}>", label.join("."))
}

/// Adds a header lettre has no type for.
fn raw(headers: &mut lettre::message::header::Headers, name: &'static str, value: String) {
    headers.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str(name),
        value,
    ));
}

/// The mail of `notice` to `to`, from `from`.
pub fn compose(notice: &Notice, to: &Recipient, from: &Mailbox) -> Result<Message, ComposeError> {
    let fail = |e: &dyn std::fmt::Display| ComposeError(e.to_string());
    let domain = domain_of(from).to_string();
    let (what, n) = match notice.item {
        Item::Issue(n) => ("Issue", n),
        Item::PullRequest(n) => ("PR", n),
    };
    let subject = format!("[{}] {} ({what} #{n})", notice.project, notice.title);
    let subject = if notice.opens {
        subject
    } else {
        format!("Re: {subject}")
    };
    let root = thread_id(&notice.project, notice.item, &domain);
    let own_id = if notice.opens {
        root.clone()
    } else {
        format!(
            "{}/e{}@{domain}",
            root.split('@').next().unwrap_or(""),
            notice.event_id
        )
    };

    let text = {
        let mut t = format!("{}\n\n", notice.summary);
        if let Some(md) = &notice.markdown {
            t.push_str(md.trim_end());
            t.push_str("\n\n");
        }
        t.push_str(&format!(
            "-- \nView it: {}\nReply to this mail to comment, or stop these mails: {}\n",
            notice.url, to.unsubscribe
        ));
        t
    };
    let html = {
        let rendered = notice
            .markdown
            .as_deref()
            .map(|md| forge_core::markdown::render(md, &|_| None))
            .unwrap_or_default();
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        format!(
            "<!doctype html><html><body><p>{}</p>{rendered}<hr><p style=\"color:#59636e;font-size:small\">\
             <a href=\"{}\">View it</a> · reply to this mail to comment · \
             <a href=\"{}\">stop these mails</a></p></body></html>",
            esc(&notice.summary),
            esc(&notice.url),
            esc(&to.unsubscribe)
        )
    };

    let mut builder = Message::builder()
        .from(from.clone())
        .to(to.mailbox.clone())
        .subject(subject)
        .message_id(Some(format!("<{own_id}>")));
    if let Some(reply_to) = &to.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    if !notice.opens {
        builder = builder
            .in_reply_to(format!("<{root}>"))
            .references(format!("<{root}>"));
    }
    let mut message = builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|e| fail(&e))?;
    let headers = message.headers_mut();
    raw(headers, "Auto-Submitted", "auto-generated".into());
    raw(headers, "List-Id", list_id(&notice.project, &domain));
    raw(headers, "List-Unsubscribe", format!("<{}>", to.unsubscribe));
    raw(
        headers,
        "List-Unsubscribe-Post",
        "List-Unsubscribe=One-Click".into(),
    );
    raw(headers, "X-Forge-Project", notice.project.clone());
    Ok(message)
}

#[cfg(test)]
mod tests {
    use mailparse::MailHeaderMap;

    use super::*;

    fn mailbox(text: &str) -> Mailbox {
        text.parse().expect("mailbox")
    }

    fn notice(opens: bool) -> Notice {
        Notice {
            project: "tools/hammer".into(),
            item: Item::Issue(7),
            title: "Loose handle".into(),
            opens,
            event_id: 42,
            summary: "bob commented".into(),
            markdown: Some("It **wobbles** <script>alert(1)</script>".into()),
            url: "https://forge.test/tools/hammer/issue/7#comment-2".into(),
        }
    }

    fn to() -> Recipient {
        Recipient {
            mailbox: mailbox("Alice <alice@example.org>"),
            reply_to: Some(mailbox("forge <reply+1-ab@forge.test>")),
            unsubscribe: "https://forge.test/mail/unsubscribe/t0k".into(),
        }
    }

    #[test]
    fn a_thread_of_notifications_reads_back_as_clients_thread_it() {
        let from = mailbox("forge <forge@forge.test>");
        let first = compose(&notice(true), &to(), &from)
            .expect("compose")
            .formatted();
        let later = compose(&notice(false), &to(), &from)
            .expect("compose")
            .formatted();
        let first = mailparse::parse_mail(&first).expect("parses");
        let later = mailparse::parse_mail(&later).expect("parses");
        let h = |m: &mailparse::ParsedMail<'_>, name: &str| {
            m.headers.get_first_value(name).unwrap_or_default()
        };

        assert_eq!(
            h(&first, "Message-ID"),
            "<tools/hammer/issues/7@forge.test>"
        );
        assert_eq!(
            h(&first, "Subject"),
            "[tools/hammer] Loose handle (Issue #7)"
        );
        assert_eq!(
            h(&later, "Subject"),
            "Re: [tools/hammer] Loose handle (Issue #7)"
        );
        assert_eq!(
            h(&later, "In-Reply-To"),
            "<tools/hammer/issues/7@forge.test>"
        );
        assert_eq!(
            h(&later, "References"),
            "<tools/hammer/issues/7@forge.test>"
        );
        assert_eq!(
            h(&later, "Message-ID"),
            "<tools/hammer/issues/7/e42@forge.test>"
        );
        assert_eq!(
            h(&later, "List-Id"),
            "tools/hammer <hammer.tools.forge.test>"
        );
        assert_eq!(h(&later, "Auto-Submitted"), "auto-generated");
        assert_eq!(
            h(&later, "List-Unsubscribe"),
            "<https://forge.test/mail/unsubscribe/t0k>"
        );
        assert_eq!(
            h(&later, "List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        assert!(h(&later, "Reply-To").contains("reply+1-ab@forge.test"));

        let text = later.subparts[0].get_body().expect("text");
        assert!(
            text.contains("bob commented") && text.contains("It **wobbles**"),
            "{text}"
        );
        assert!(text.contains("https://forge.test/tools/hammer/issue/7#comment-2"));
        let html = later.subparts[1].get_body().expect("html");
        assert!(html.contains("<strong>wobbles</strong>"), "{html}");
        assert!(!html.contains("<script"), "sanitized: {html}");

        // A notification that comes back (a bounce, a loop) is a machine's.
        let raw = compose(&notice(false), &to(), &from)
            .expect("compose")
            .formatted();
        let back = super::super::message::parse(&raw).expect("parses");
        assert!(back.automatic.is_some());
    }
}
