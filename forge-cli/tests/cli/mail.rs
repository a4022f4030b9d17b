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
