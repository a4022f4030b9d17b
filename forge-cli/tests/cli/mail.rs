//! `forge mail trim`: what a reply would post, from a corpus file, from a
//! whole message on standard input, and refusals of what cannot be read.

use std::io::Write as _;
use std::process::Stdio;

use crate::Forge;

fn trim_stdin(f: &Forge, input: &[u8], json: bool) -> std::process::Output {
    let mut args = vec!["mail", "trim"];
    if json {
        args.insert(0, "--json");
    }
    let mut child = f
        .command(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("forge runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("forge ends");
    let _ = writer.join();
    out
}

#[test]
fn mail_trim_prints_what_a_reply_would_post() {
    let f = Forge::new();
    let corpus = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../forge-notify/tests/email-replies/emails/embedded_email_german_5.txt"
    );
    assert_eq!(
        f.ok(&["mail", "trim", corpus]),
        "Okay. Will give it a whirl.\n"
    );

    let message = "From: Bob <bob@example.org>\r\nTo: reply+k@forge.test\r\nSubject: Re: [tools/hammer] Loose handle\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Sch=F6n, danke!\r\n\r\nSent from my iPhone\r\n\r\nOn Tue, 3 Mar 2026 at 10:00, forge <forge@forge.test> wrote:\r\n> Alice commented\r\n";
    let out = trim_stdin(&f, message.as_bytes(), true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["text"], "Schön, danke!");
    assert_eq!(v["message"], true);

    // Only a quote: nothing to post, and it says so.
    let out = trim_stdin(
        &f,
        b"On Tue, 3 Mar 2026 at 10:00, forge <f@forge.test> wrote:\n> hi\n",
        false,
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing"));
}

#[test]
fn mail_trim_refuses_what_it_cannot_read_naming_the_input() {
    let f = Forge::new();
    let out = trim_stdin(&f, &vec![b'x'; 11 << 20], false);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("standard input") && said.contains("limit"),
        "{said}"
    );

    let out = trim_stdin(&f, &[0xff, 0xfe, b'h', b'i'], false);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UTF-8"));

    let png = b"From: a@example.org\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n";
    let out = trim_stdin(&f, png, false);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no text part"));
}

/// A reply key for bob about tools/hammer's issue `n`, as a notification
/// to him would carry it.
fn key_for_bob(f: &Forge, n: u64) -> String {
    key_for_bob_at(f, n, forge_notify::queue::now_ms())
}

/// The same, made at `when` (epoch milliseconds).
fn key_for_bob_at(f: &Forge, n: u64, when: i64) -> String {
    let home = forge_core::ForgeHome::new(f.home());
    let store = forge_core::Store::open(&home.db_path()).expect("store");
    let keys = forge_notify::mail::reply::Keys::open(&home).expect("keys");
    keys.mint(
        &store,
        &forge_notify::mail::reply::ReplyTo {
            user: "bob".into(),
            address: "bob@example.org".into(),
            project: "tools/hammer".into(),
            item: forge_notify::mail::reply::Item::Issue(n),
            message_id: format!("issue-{n}@forge.test"),
        },
        when,
    )
    .expect("mint")
}

fn reply(from: &str, key: &str, message_id: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: reply+{key}@forge.test\r\nSubject: Re: [tools/hammer] Loose handle (#1)\r\n\
         Message-ID: <{message_id}>\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
}

fn ingest(f: &Forge, message: &str) -> (Option<i32>, String, String) {
    let mut child = f
        .command(&["mail", "ingest"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("forge runs");
    // forge may refuse a huge message before reading it all (a broken pipe).
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message.as_bytes())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write: {e}"),
        _ => {}
    }
    let out = child.wait_with_output().expect("forge ends");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_reply_by_mail_is_posted_once_as_its_user_and_everything_else_refused() {
    let f = Forge::with_project();
    f.ok_line("--as alice issue new -p tools/hammer --title Wobbly");
    let key = key_for_bob(&f, 1);
    let body = "Glued it, holds now.\r\n\r\nSent from my phone\r\n\r\nOn Tue, 3 Mar 2026 at 10:00, forge <forge@forge.test> wrote:\r\n> alice opened #1\r\n";
    let good = reply("Bob <Bob@Example.org>", &key, "r1@example.org", "", body);
    let (code, out, err) = ingest(&f, &good);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("posted comment") && out.contains("as bob"),
        "{out}"
    );
    let issue = f.json_line("issue show -p tools/hammer 1");
    let comments = issue["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 1, "{issue}");
    assert_eq!(comments[0]["author"], "bob");
    assert_eq!(comments[0]["body"], "Glued it, holds now.");

    // The same message delivered again: posted once.
    let (code, out, _) = ingest(&f, &good);
    assert_eq!(code, Some(0));
    assert!(out.contains("posted before"), "{out}");
    assert_eq!(
        f.json_line("issue show -p tools/hammer 1")["comments"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // An altered key, another sender, a machine's message, no text.
    let mut forged = key.clone();
    let last = forged.pop().expect("a char");
    forged.push(if last == '0' { '1' } else { '0' });
    let (code, _, err) = ingest(
        &f,
        &reply("bob@example.org", &forged, "r2@example.org", "", "Hi"),
    );
    assert_eq!(code, Some(67), "{err}");
    assert!(err.contains("not one this forge made"), "{err}");
    let (code, _, err) = ingest(
        &f,
        &reply("mallory@evil.test", &key, "r3@example.org", "", "Hi"),
    );
    assert_eq!(code, Some(67), "{err}");
    assert!(
        err.contains("mallory@evil.test is not an address of bob"),
        "{err}"
    );
    let (code, out, _) = ingest(
        &f,
        &reply(
            "bob@example.org",
            &key,
            "r4@example.org",
            "Auto-Submitted: auto-replied\r\n",
            "I am away.",
        ),
    );
    assert_eq!(code, Some(0));
    assert!(out.contains("dropped"), "{out}");
    let (code, _, err) = ingest(
        &f,
        &reply(
            "bob@example.org",
            &key,
            "r5@example.org",
            "",
            "Sent from my iPhone\r\n",
        ),
    );
    assert_eq!(code, Some(65), "{err}");
    let (code, _, err) = ingest(&f, "this is not a message at all");
    assert!(matches!(code, Some(65) | Some(67)), "{code:?} {err}");

    // The issue made private: bob (not a member, not its author) may no
    // longer read it, so his reply is refused.
    f.ok_line("--as alice issue edit -p tools/hammer 1 --private");
    let (code, _, err) = ingest(
        &f,
        &reply("bob@example.org", &key, "r6@example.org", "", "Still here?"),
    );
    assert_eq!(code, Some(77), "{err}");
    let issue = f.json_line("--as alice issue show -p tools/hammer 1");
    let by_bob = issue["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter(|c| c["author"] == "bob")
        .count();
    assert_eq!(by_bob, 1, "nothing else of bob's was posted: {issue}");
}

#[test]
fn bad_mail_is_refused_with_its_status_and_reason_and_nothing_is_posted() {
    let f = Forge::with_project();
    f.ok_line("--as alice issue new -p tools/hammer --title Wobbly");
    let key = key_for_bob(&f, 1);
    let refused = |message: &str, status: i32, reason: &str| {
        let (code, out, err) = ingest(&f, message);
        assert_eq!(code, Some(status), "{reason}: {out}{err}");
        assert!(err.contains(reason), "{reason}: {err}");
    };

    // A key older than its lifetime.
    let year_and_more = 400 * 86_400 * 1000;
    let old = key_for_bob_at(&f, 1, forge_notify::queue::now_ms() - year_and_more);
    refused(
        &reply("bob@example.org", &old, "x1@example.org", "", "Late"),
        67,
        "expired",
    );
    // 50 MB: refused unread past the limit.
    let huge = reply(
        "bob@example.org",
        &key,
        "x2@example.org",
        "",
        &"a".repeat(50 * 1024 * 1024),
    );
    refused(&huge, 65, "over the limit of 10485760 bytes");
    // Malformed MIME, and a message with no text part.
    refused(
        &reply(
            "bob@example.org",
            &key,
            "x3@example.org",
            "Content-Transfer-Encoding: base64\r\n",
            "!!!not base64***",
        ),
        65,
        "does not parse as MIME",
    );
    let picture = format!(
        "From: bob@example.org\r\nTo: reply+{key}@forge.test\r\nMessage-ID: <x4@example.org>\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/png\r\n\r\nPNG\r\n--b--\r\n"
    );
    refused(&picture, 65, "no text part");
    // forge's own notification coming back (a user whose address forwards
    // to a reply address): dropped, so no mail loop.
    let (code, out, _) = ingest(
        &f,
        &reply(
            "bob@example.org",
            &key,
            "x5@example.org",
            "Auto-Submitted: auto-generated\r\nList-Id: tools/hammer <hammer.tools.forge.test>\r\n",
            "alice opened issue #1",
        ),
    );
    assert_eq!(code, Some(0));
    assert!(out.contains("dropped"), "{out}");
    let issue = f.json_line("issue show -p tools/hammer 1");
    assert_eq!(
        issue["comments"].as_array().map(Vec::len),
        Some(0),
        "{issue}"
    );

    // An unknown charset whose bytes are UTF-8 is read as UTF-8.
    let (code, _, err) = ingest(
        &f,
        &reply(
            "bob@example.org",
            &key,
            "x6@example.org",
            "",
            "Qapla\u{2019}!",
        )
        .replace("charset=utf-8", "charset=x-klingon"),
    );
    assert_eq!(code, Some(0), "{err}");
    let issue = f.json_line("issue show -p tools/hammer 1");
    assert_eq!(issue["comments"][0]["body"], "Qapla\u{2019}!", "{issue}");
}

/// One `forge worker --once` round with mail on, through the relay on
/// `port`; it must succeed (a relay that is down is not a failure).
fn mail_round(f: &Forge, port: u16) {
    let out = with_relay(f, port, &["worker", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until issue 1 of tools/hammer has `n` comments (a reply taken
/// by postfix is posted when its queue manager runs the pipe); the last.
fn wait_for_comment(f: &Forge, postfix: &crate::postfix::Postfix, n: usize) -> serde_json::Value {
    let started = std::time::Instant::now();
    loop {
        let issue = f.json_line("issue show -p tools/hammer 1");
        let comments = issue["comments"].as_array().cloned().unwrap_or_default();
        if comments.len() >= n {
            return comments[n - 1].clone();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{} of {n} comments; postfix said:\n{}",
            comments.len(),
            postfix.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `forge` with the mail settings pointing at a relay on `port`.
fn with_relay(f: &Forge, port: u16, args: &[&str]) -> std::process::Output {
    f.command(args)
        .env("FORGE_MAIL_RELAY", format!("smtp://127.0.0.1:{port}"))
        .env("FORGE_MAIL_RETRY_SCHEDULE", "1")
        .env("FORGE_MAIL_FROM", "forge <forge@forge.test>")
        .env("FORGE_MAIL_REPLY_DOMAIN", "forge.test")
        .env("FORGE_PUBLIC_URL", "https://forge.test")
        .output()
        .expect("forge runs")
}

#[test]
fn a_comment_is_mailed_through_postfix_threaded_and_its_reply_comes_back_as_a_comment() {
    use crate::postfix::{forge_lines, swaks, Milter, Postfix};
    let f = Forge::with_project();
    // postfix as docs/email.md sets it up: the milter checks every message,
    // mail to the reply domain goes through the pipe transport, which runs
    // `forge mail ingest` as the home's owner (never root).
    f.give_to("nobody");
    let milter = Milter::start(&f);
    let (main, master) = forge_lines("forge.test", &f.home(), "nobody", milter.port);
    let postfix = Postfix::start_with(crate::free_port(), &main, &master);
    // Events from before mail was set up are not mailed (this worker is
    // the first to run, with mail on).
    f.ok_line("--as alice issue new -p tools/hammer --title Wobbly --body Loose");
    f.ok_line("--as bob issue comment -p tools/hammer 1 --body Before");
    mail_round(&f, postfix.port);
    f.ok(&[
        "--as",
        "bob",
        "issue",
        "comment",
        "-p",
        "tools/hammer",
        "1",
        "--body",
        "It **wobbles**, @alice",
    ]);
    mail_round(&f, postfix.port);

    let mails = postfix.wait_for(1);
    assert_eq!(mails.len(), 1, "only alice hears of bob's comment");
    let mail = mailparse::parse_mail(&mails[0]).expect("a mail");
    use mailparse::MailHeaderMap as _;
    let h = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    assert!(h("To").contains("alice@example.org"), "{}", h("To"));
    assert_eq!(h("Subject"), "Re: [tools/hammer] Wobbly (Issue #1)");
    assert_eq!(h("In-Reply-To"), "<tools/hammer/issues/1@forge.test>");
    assert_eq!(h("References"), "<tools/hammer/issues/1@forge.test>");
    assert_eq!(h("List-Id"), "tools/hammer <hammer.tools.forge.test>");
    assert_eq!(h("Auto-Submitted"), "auto-generated");
    assert!(h("List-Unsubscribe").starts_with("<https://forge.test/mail/unsubscribe/"));
    let reply_to = h("Reply-To");
    assert!(
        reply_to.contains("reply+") && reply_to.contains("@forge.test"),
        "{reply_to}"
    );
    let text = mail.subparts[0].get_body().expect("text");
    assert!(
        text.contains("bob commented on issue #1") && text.contains("It **wobbles**"),
        "{text}"
    );
    assert!(
        text.contains("https://forge.test/tools/hammer/issue/1#comment-"),
        "{text}"
    );

    // alice answers the mail: her reply is a comment of hers.
    let address = reply_to
        .rsplit('<')
        .next()
        .unwrap_or(&reply_to)
        .trim_end_matches('>')
        .to_string();
    let answer = format!(
        "From: Alice <alice@example.org>\r\nTo: {address}\r\nSubject: Re: [tools/hammer] Wobbly (Issue #1)\r\n\
         Message-ID: <a1@example.org>\r\nIn-Reply-To: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Tightened the screw.\r\n\r\nOn Tue, 3 Mar 2026 at 10:00, forge <forge@forge.test> wrote:\r\n> bob commented\r\n",
        h("Message-ID")
    );
    // Sent through postfix: the milter lets it in, the pipe transport runs
    // `forge mail ingest`.
    let (code, transcript) = swaks(postfix.port, "alice@example.org", &address, &answer);
    assert_eq!(code, Some(0), "{transcript}");
    let last = wait_for_comment(&f, &postfix, 3);
    assert_eq!(last["author"], "alice", "{last}");
    assert_eq!(last["body"], "Tightened the screw.");
    let log = postfix.log();
    assert!(
        log.contains("relay=forge")
            && log.contains("status=sent (delivered via forge service (posted comment"),
        "{log}"
    );

    // A forged key is refused while the sender is connected, with the
    // reason; so is alice's address used by bob.
    let (id, _) = address
        .trim_start_matches("reply+")
        .split_once('-')
        .expect("reply+<id>-<mac>");
    let forged = format!("reply+{id}-{}@forge.test", "0".repeat(32));
    let (code, transcript) = swaks(postfix.port, "alice@example.org", &forged, &answer);
    assert_ne!(code, Some(0), "{transcript}");
    assert!(
        transcript.contains("<** 550 5.1.1") && transcript.contains("not one this forge made"),
        "{transcript}"
    );
    let impostor = answer
        .replace("Alice <alice@example.org>", "bob@example.org")
        .replace("<a1@example.org>", "<b1@example.org>");
    let (code, transcript) = swaks(postfix.port, "bob@example.org", &address, &impostor);
    assert_ne!(code, Some(0), "{transcript}");
    assert!(
        transcript.contains("<** 550 5.7.1")
            && transcript.contains("bob@example.org is not an address of alice"),
        "{transcript}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let issue = f.json_line("issue show -p tools/hammer 1");
    assert_eq!(
        issue["comments"].as_array().map(Vec::len),
        Some(3),
        "{issue}"
    );

    // The one-click unsubscribe link (RFC 8058), posted as a mail client
    // does it: no session, no cookie. Then bob's next comment mails no one.
    let link = h("List-Unsubscribe");
    let path = link
        .trim_start_matches("<https://forge.test")
        .trim_end_matches('>')
        .to_string();
    let server = crate::http::Server::start(&f);
    let (status, page) = server.raw("GET", &path, None, None);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Stop these mails"), "{page}");
    let forged = path.replacen("/unsubscribe/", "/unsubscribe/00", 1);
    assert_eq!(server.raw("GET", &forged, None, None).0, 404);
    let form = Some((
        "application/x-www-form-urlencoded",
        "List-Unsubscribe=One-Click",
    ));
    assert_eq!(server.raw("POST", &forged, None, form).0, 404);
    let (status, page) = server.raw("POST", &path, None, form);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("no more mails about"), "{page}");
    f.ok_line("--as bob issue comment -p tools/hammer 1 --body Again");
    mail_round(&f, postfix.port);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        postfix.mails().len(),
        1,
        "alice unsubscribed from tools/hammer"
    );

    // A reply that already went through this pipe once (a forwarding
    // loop): postfix bounces it instead of running forge again.
    let looped = answer
        .replace("<a1@example.org>", "<a2@example.org>")
        .replacen("From:", &format!("Delivered-To: {address}\r\nFrom:"), 1);
    let (code, transcript) = swaks(postfix.port, "alice@example.org", &address, &looped);
    assert_eq!(code, Some(0), "{transcript}");
    let mails = postfix.wait_for(2);
    assert!(
        String::from_utf8_lossy(&mails[1]).contains("mail forwarding loop"),
        "alice gets the bounce: {}",
        postfix.log()
    );
    let issue = f.json_line("issue show -p tools/hammer 1");
    assert_eq!(
        issue["comments"].as_array().map(Vec::len),
        Some(4),
        "{issue}"
    );
}

#[test]
fn mail_preferences_are_shown_and_set_per_project_and_by_default() {
    let f = Forge::with_project();
    assert_eq!(
        f.ok_line("--as bob mail prefs"),
        "notification mails for bob by default: participating\n"
    );
    f.ok_line("--as bob mail prefs --level all");
    f.ok_line("--as bob mail prefs -p tools/hammer --level none");
    let v = f.json_line("--as bob mail prefs -p tools/hammer");
    assert_eq!(v["level"], "none");
    assert_eq!(f.json_line("--as bob mail prefs")["level"], "all");
    let err = f.fails_line("--as bob mail prefs --level loud");
    assert!(err.contains("all, participating or none"), "{err}");
    let err = f.fails_line("--as bob mail prefs -p tools/saw");
    assert!(err.contains("tools/saw"), "{err}");
}

#[test]
fn a_relay_that_is_down_delays_a_notification_and_loses_none() {
    let f = Forge::with_project();
    let port = crate::free_port();
    f.ok_line("--as alice issue new -p tools/hammer --title Wobbly");
    mail_round(&f, port);
    f.ok_line("--as bob issue comment -p tools/hammer 1 --body Again");
    // Nothing listens: the mail waits for its retry, the worker says so in
    // the queue, not by failing.
    mail_round(&f, port);
    let status = f.json_line("queue status");
    let mail = crate::consumer_status(&status, "mail");
    assert_eq!(mail["retrying"], 1, "{status}");
    let waiting = f.json_line("queue list --state pending");
    assert!(
        waiting.to_string().contains("Connection refused"),
        "the job says why: {waiting}"
    );

    // The relay is back: the next round after the retry delay sends it.
    let postfix = crate::postfix::Postfix::start_on(port);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    mail_round(&f, port);
    let mails = postfix.wait_for(1);
    assert!(String::from_utf8_lossy(&mails[0]).contains("Again"));
}
