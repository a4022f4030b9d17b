//! Signing in, sessions, CSRF and the pages' forms, in process: a small
//! browser that keeps its cookies sends what a real one sends.

use std::collections::BTreeMap;

use forge_core::Store;
use forge_tickets::Tracker;

use crate::{fixture, request_with, Fixture};

/// A client with a cookie jar, as a browser keeps one.
pub(crate) struct Browser<'f> {
    f: &'f Fixture,
    jar: BTreeMap<String, String>,
    extra: Vec<(String, String)>,
}

pub(crate) struct Answer {
    pub status: u16,
    headers: hyper::HeaderMap,
    pub body: String,
}

impl Answer {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect()
    }

    /// The value of the first hidden `csrf_token` field.
    pub(crate) fn csrf(&self) -> String {
        let at = self
            .body
            .find(r#"name="csrf_token" value=""#)
            .expect("a form");
        let rest = &self.body[at + r#"name="csrf_token" value=""#.len()..];
        rest[..rest.find('"').expect("end")].to_string()
    }
}

impl<'f> Browser<'f> {
    pub(crate) fn new(f: &'f Fixture) -> Self {
        Browser {
            f,
            jar: BTreeMap::new(),
            extra: Vec::new(),
        }
    }

    fn send(&mut self, method: &str, path: &str, body: &str) -> Answer {
        let cookie = self
            .jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers: Vec<(&str, &str)> = self
            .extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if !cookie.is_empty() {
            headers.push(("Cookie", &cookie));
        }
        let (status, headers, bytes) = request_with(self.f, method, path, &headers, body);
        let answer = Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        for c in answer.set_cookies() {
            let pair = c.split(';').next().unwrap_or_default();
            let (k, v) = pair.split_once('=').expect("cookie");
            if v.is_empty() || c.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.into(), v.into());
            }
        }
        answer
    }

    pub(crate) fn get(&mut self, path: &str) -> Answer {
        self.send("GET", path, "")
    }

    pub(crate) fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(fields).expect("form");
        self.send("POST", path, &body)
    }

    pub(crate) fn sign_in(&mut self, user: &str, password: &str) -> Answer {
        let form = self.get("/login");
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", user),
                ("password", password),
                ("next", "/hammer/issue/1"),
            ],
        )
    }

    /// The CSRF token of the forms on `path`.
    pub(crate) fn csrf_of(&mut self, path: &str) -> String {
        let page = self.get(path);
        assert_eq!(page.status, 200, "{}", page.body);
        page.csrf()
    }
}

fn issue_of(f: &Fixture, n: u64) -> forge_tickets::view::IssueDetails {
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let project = store.project("hammer").expect("hammer");
    let tracker = Tracker::open_for_project(&store, &f.app.home, &project).expect("tracker");
    let alice = forge_tickets::Actor::for_user(&store, &project, "alice").expect("alice");
    tracker.issue(&alice, n).expect("issue")
}

#[test]
fn signing_in_sets_a_strict_cookie_and_the_menu_follows_the_session() {
    let f = fixture();
    let mut b = Browser::new(&f);
    let home = b.get("/");
    assert!(
        home.body.contains(r#"href="/login?next=%2F""#),
        "{}",
        home.body
    );
    assert!(!home.body.contains("Sign out"));

    let signed = b.sign_in("alice", "alice's password");
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location(), "/hammer/issue/1");
    let session = signed
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("forge_session="))
        .expect("a session cookie");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(part), "{session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    let page = b.get("/hammer/issue/1");
    assert!(
        page.body.contains(r#"href="/user/alice">alice</a>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("Sign out"));
    // Signed in, the login page goes straight on.
    assert_eq!(b.get("/login?next=/hammer").location(), "/hammer");

    // Signing out ends the session: the old cookie is nobody's.
    let cookie = b.jar["forge_session"].clone();
    let csrf = b.csrf_of("/");
    let out = b.post("/logout", &[("csrf_token", &csrf)]);
    assert_eq!(out.status, 303);
    assert!(!b.jar.contains_key("forge_session"));
    b.jar.insert("forge_session".into(), cookie);
    assert!(!b.get("/").body.contains("Sign out"));

    // Over TLS (a proxy says so), the cookie is Secure too.
    let mut tls = Browser::new(&f);
    tls.extra.push(("X-Forwarded-Proto".into(), "https".into()));
    let signed = tls.sign_in("bob", "bob's password");
    assert!(signed
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("forge_session=") && c.contains("; Secure")));
}

#[test]
fn wrong_passwords_forged_forms_and_guessed_sessions_get_nowhere() {
    let f = fixture();
    let mut b = Browser::new(&f);
    // A sign-in form from elsewhere: no cookie of ours to match its token.
    let forged = b.post(
        "/login",
        &[
            ("csrf_token", &"0".repeat(64)),
            ("username", "alice"),
            ("password", "alice's password"),
        ],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(!b.jar.contains_key("forge_session"));

    let wrong = b.sign_in("alice", "not her password");
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("Wrong user name or password."),
        "{}",
        wrong.body
    );
    // The form comes back with the name kept, never the password.
    assert!(wrong.body.contains(r#"value="alice""#));
    assert!(!wrong.body.contains("not her password"));
    let unknown = b.sign_in("nobody", "whatever it is");
    assert_eq!(unknown.status, 401);

    // A guessed session cookie is no one.
    b.jar.insert("forge_session".into(), "ab".repeat(32));
    let page = b.get("/hammer/issue/1");
    assert!(!page.body.contains("Sign out"));
    let post = b.post(
        "/hammer/issue/1/comment",
        &[("comment", "guessed"), ("csrf_token", "x")],
    );
    assert_eq!(post.status, 401, "{}", post.body);

    // Signed in, a form without its token, or with another session's, is
    // refused and changes nothing.
    let mut alice = Browser::new(&f);
    alice.sign_in("alice", "alice's password");
    let mut other = Browser::new(&f);
    other.sign_in("alice", "alice's password");
    let theirs = other.csrf_of("/hammer/issue/1");
    for token in ["", "nonsense", theirs.as_str()] {
        let post = alice.post(
            "/hammer/issue/1/comment",
            &[("comment", "forged"), ("csrf_token", token)],
        );
        assert_eq!(post.status, 403, "{token}: {}", post.body);
        assert!(post.body.contains("reload the page"), "{}", post.body);
    }
    let before = issue_of(&f, 1);
    assert!(before.comments.iter().all(|c| c.body != "forged"));

    // Failures throttle: after five, even the right password waits.
    let mut guesser = Browser::new(&f);
    for _ in 0..5 {
        assert_eq!(guesser.sign_in("bob", "guess").status, 401);
    }
    let late = guesser.sign_in("bob", "bob's password");
    assert_eq!(late.status, 429, "{}", late.body);
    assert!(late.body.contains("try again in"), "{}", late.body);
}

#[test]
fn the_issue_forms_write_through_the_api_and_lead_back_to_the_issue() {
    let f = fixture();
    let mut b = Browser::new(&f);
    b.sign_in("alice", "alice's password");

    let form = b.get("/hammer/new_issue");
    assert_eq!(form.status, 200, "{}", form.body);
    let made = b.post(
        "/hammer/new_issue",
        &[
            ("csrf_token", &form.csrf()),
            ("title", "Head flies off"),
            ("issue_content", "When *swung*"),
            ("tag", "bug, safety"),
        ],
    );
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(made.location(), "/hammer/issue/2");
    let page = b.get("/hammer/issue/2");
    assert!(page.body.contains("Head flies off") && page.body.contains("When <em>swung</em>"));
    let csrf = page.csrf();

    let posts: &[(&str, &[(&str, &str)])] = &[
        ("/hammer/issue/2/comment", &[("comment", "Seen it **too**")]),
        (
            "/hammer/issue/2",
            &[("tags", "safety, urgent"), ("assignee", "alice")],
        ),
        ("/hammer/issue/2/subscribe", &[("status", "true")]),
        ("/hammer/issue/2/status", &[("status", "Closed")]),
    ];
    for (path, fields) in posts {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &csrf));
        let answer = b.post(path, &fields);
        assert_eq!(answer.status, 303, "{path}: {}", answer.body);
        assert_eq!(answer.location(), "/hammer/issue/2", "{path}");
    }
    let issue = issue_of(&f, 2);
    assert_eq!(issue.status, "closed");
    assert_eq!(issue.assignee.as_deref(), Some("alice"));
    let tags: Vec<&str> = issue.tags.iter().map(String::as_str).collect();
    assert_eq!(tags, ["safety", "urgent"]);
    assert!(issue.comments.iter().any(|c| c.body == "Seen it **too**"));
    let page = b.get("/hammer/issue/2");
    assert!(
        page.body.contains("Seen it <strong>too</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Reopen issue"));

    // A refusal of the API's is a page saying why, and changes nothing.
    let bad = b.post(
        "/hammer/issue/2",
        &[("csrf_token", &csrf), ("assignee", "nobody-at-all")],
    );
    assert!(bad.status >= 400 && bad.status < 500, "{}", bad.body);
    assert_eq!(issue_of(&f, 2).assignee.as_deref(), Some("alice"));
}

#[test]
fn forms_check_the_same_permissions_as_the_api() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob", "bob's password");
    let page = bob.get("/hammer/issue/1");
    let csrf = page.csrf();
    // Anyone signed in may comment; only members edit, close or assign:
    // the page does not offer what bob may not do...
    assert!(page.body.contains(r#"action="/hammer/issue/1/comment""#));
    assert!(!page.body.contains("Close issue"), "{}", page.body);
    assert!(!page.body.contains("Save details"));
    // ...and the forms, sent anyway, are refused as the API refuses them.
    for (path, fields) in [
        ("/hammer/issue/1/status", vec![("status", "Closed")]),
        ("/hammer/issue/1", vec![("tags", "mine")]),
        ("/hammer/issue/1/assign", vec![("assignee", "bob")]),
    ] {
        let mut fields = fields;
        fields.push(("csrf_token", &csrf));
        let answer = bob.post(path, &fields);
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
    }
    let issue = issue_of(&f, 1);
    assert_eq!(issue.status, "open");
    assert!(issue.assignee.is_none());
    // A private project bob is not in does not exist for him.
    let answer = bob.post(
        "/vault/new_issue",
        &[
            ("csrf_token", &csrf),
            ("title", "x"),
            ("issue_content", "y"),
        ],
    );
    assert_eq!(answer.status, 404, "{}", answer.body);
    // His comment goes in.
    let answer = bob.post(
        "/hammer/issue/1/comment",
        &[("csrf_token", &csrf), ("comment", "From bob")],
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    // Not a form's endpoint: a CI flag is the API's alone.
    let answer = bob.post(
        "/hammer/c/0000000000000000000000000000000000000000/flag",
        &[("csrf_token", &csrf)],
    );
    assert_eq!(answer.status, 404);
}

#[test]
fn a_disabled_account_cannot_sign_in_and_its_token_and_session_stop() {
    let f = fixture();
    let mut b = Browser::new(&f);
    b.sign_in("alice", "alice's password");
    let store = Store::open(&f.app.home.db_path()).expect("store");
    store.set_user_disabled("alice", true).expect("disable");
    assert!(!b.get("/").body.contains("Sign out"));
    assert_eq!(b.sign_in("alice", "alice's password").status, 401);
    let (status, _, _) = crate::request(&f, "GET", "/api/0/-/whoami", true, "");
    assert_eq!(status, 401);
    store.set_user_disabled("alice", false).expect("enable");
    assert_eq!(b.sign_in("alice", "alice's password").status, 303);
}

/// A syntactically valid ed25519 public key line.
pub(crate) fn public_key(seed: u8) -> String {
    use base64::Engine as _;
    let mut bytes = Vec::new();
    for part in [b"ssh-ed25519".as_slice(), &[seed; 32]] {
        bytes.extend((part.len() as u32).to_be_bytes());
        bytes.extend(part);
    }
    format!(
        "ssh-ed25519 {} laptop",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[test]
fn each_user_keeps_their_own_settings() {
    let f = fixture();
    let mut b = Browser::new(&f);
    assert_eq!(b.get("/settings").location(), "/login?next=%2Fsettings");
    b.sign_in("alice", "alice's password");
    let csrf = b.csrf_of("/settings");
    let ok = |a: Answer| {
        assert_eq!(a.status, 303, "{}", a.body);
        assert_eq!(a.location(), "/settings");
    };
    ok(b.post(
        "/settings/profile",
        &[("csrf_token", &csrf), ("full_name", "Alice L.")],
    ));
    ok(b.post(
        "/settings/email/add",
        &[("csrf_token", &csrf), ("email", "a@work.example")],
    ));
    ok(b.post(
        "/settings/key/add",
        &[("csrf_token", &csrf), ("key", &public_key(7))],
    ));
    ok(b.post("/settings/mail", &[("csrf_token", &csrf), ("level", "all")]));
    let refused = b.post(
        "/settings/mail",
        &[("csrf_token", &csrf), ("level", "loud")],
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        b.get("/settings")
            .body
            .contains(r#"<option value="all" selected>every event"#),
        "the level chosen is shown"
    );
    let page = b.get("/settings");
    assert!(
        page.body.contains("Alice L.") && page.body.contains("a@work.example"),
        "{}",
        page.body
    );
    assert!(page.body.contains("SHA256:"), "{}", page.body);
    // Without the form's token nothing changes.
    let forged = b.post("/settings/email/add", &[("email", "evil@example.org")]);
    assert_eq!(forged.status, 403);
    assert!(!b.get("/settings").body.contains("evil@example.org"));

    // A token: its secret shown once, good on the API, then revoked.
    let made = b.post(
        "/settings/token/new",
        &[
            ("csrf_token", &csrf),
            ("description", "laptop"),
            ("acl", "issue_create"),
        ],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let at = made.body.find("copy it now").expect("the secret");
    let rest = &made.body[at..];
    let start =
        rest.find(r#"<code class="clone">"#).expect("code") + r#"<code class="clone">"#.len();
    let secret = &rest[start..start + rest[start..].find('<').expect("end")];
    let auth = format!("token {secret}");
    let whoami = |f: &Fixture| {
        request_with(
            f,
            "POST",
            "/api/0/-/whoami",
            &[("Authorization", &auth)],
            "",
        )
        .0
    };
    assert_eq!(whoami(&f), 200);
    assert!(!b.get("/settings").body.contains(secret), "shown once only");
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let id = store
        .list_tokens("alice")
        .expect("tokens")
        .into_iter()
        .find(|t| t.description == "laptop")
        .expect("the new token")
        .id;
    // bob cannot revoke alice's token.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob", "bob's password");
    let bob_csrf = bob.csrf_of("/settings");
    let theirs = bob.post(
        "/settings/token/revoke",
        &[("csrf_token", &bob_csrf), ("id", &id)],
    );
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    assert_eq!(whoami(&f), 200);
    ok(b.post(
        "/settings/token/revoke",
        &[("csrf_token", &csrf), ("id", &id)],
    ));
    assert_eq!(whoami(&f), 401);

    // A password change needs the current one, and ends the sessions.
    let wrong = b.post(
        "/settings/password",
        &[
            ("csrf_token", &csrf),
            ("current", "nope nope"),
            ("new", "brand new one"),
            ("confirm", "brand new one"),
        ],
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let differ = b.post(
        "/settings/password",
        &[
            ("csrf_token", &csrf),
            ("current", "alice's password"),
            ("new", "brand new one"),
            ("confirm", "brand new two"),
        ],
    );
    assert_eq!(differ.status, 400, "{}", differ.body);
    let changed = b.post(
        "/settings/password",
        &[
            ("csrf_token", &csrf),
            ("current", "alice's password"),
            ("new", "brand new one"),
            ("confirm", "brand new one"),
        ],
    );
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert!(!b.get("/").body.contains("Sign out"));
    assert_eq!(b.sign_in("alice", "brand new one").status, 303);
}

#[test]
fn the_markdown_preview_renders_as_the_page_would_for_signed_in_forms_only() {
    let f = fixture();
    let text = "**bold** and #1 by @bob <script>alert(1)</script>";
    let mut anonymous = Browser::new(&f);
    let refused = anonymous.post("/hammer/markdown", &[("content", text)]);
    assert_eq!(refused.status, 401, "{}", refused.body);

    let mut b = Browser::new(&f);
    b.sign_in("alice", "alice's password");
    let forged = b.post(
        "/hammer/markdown",
        &[("content", text), ("csrf_token", "x")],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    let csrf = b.csrf_of("/hammer/issue/1");
    let shown = b.post(
        "/hammer/markdown",
        &[("content", text), ("csrf_token", &csrf)],
    );
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(
        shown.body.contains("<strong>bold</strong>"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains(r#"href="/hammer/issue/1""#),
        "{}",
        shown.body
    );
    assert!(shown.body.contains(r#"href="/user/bob""#), "{}", shown.body);
    assert!(!shown.body.contains("<script"), "{}", shown.body);
    // Only the fragment: no page around it.
    assert!(!shown.body.contains("<html"), "{}", shown.body);
    let unknown = b.post(
        "/nowhere/markdown",
        &[("content", text), ("csrf_token", &csrf)],
    );
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}
