//! The project settings page and the API behind it: settings, members,
//! deploy keys, rename (old links sent on), transfer, delete; a site
//! admin disabling an account from its page.

use forge_core::role::{Action, Role};
use forge_core::Store;
use serde_json::{json, Value};

use crate::accounts::{public_key, Browser};
use crate::{fixture, request_with};

#[test]
fn the_settings_page_administers_a_project_through_its_forms() {
    let f = fixture();
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let mut anonymous = Browser::new(&f);
    let sign_in_first = anonymous.get("/hammer/settings");
    assert_eq!(sign_in_first.status, 303);
    assert!(
        sign_in_first.location().starts_with("/login?next="),
        "{}",
        sign_in_first.location()
    );

    // bob may read hammer but administers nothing: no tab, a refusal.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob", "bob's password");
    assert!(!bob.get("/hammer").body.contains("/hammer/settings"));
    let refused = bob.get("/hammer/settings");
    assert_eq!(refused.status, 403, "{}", refused.body);

    let mut b = Browser::new(&f);
    b.sign_in("alice", "alice's password");
    assert!(b.get("/hammer").body.contains(r#"href="/hammer/settings""#));
    let page = b.get("/hammer/settings");
    assert_eq!(page.status, 200, "{}", page.body);
    for words in [
        "Save settings",
        "Members and groups",
        "Deploy keys",
        "Delete project",
    ] {
        assert!(page.body.contains(words), "{words}");
    }
    let csrf = page.csrf();
    let post = |b: &mut Browser<'_>, path: &str, fields: &[(&str, &str)]| {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &csrf));
        b.post(path, &fields)
    };

    let saved = post(
        &mut b,
        "/hammer/options/update",
        &[("pr_min_score", "2"), ("close_reasons", "fixed, wontfix")],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location(), "/hammer/settings");
    let p = store.project("hammer").expect("hammer");
    assert_eq!(p.settings.pr_min_score, 2);
    assert_eq!(p.settings.close_reasons, ["fixed", "wontfix"]);
    let bad = post(
        &mut b,
        "/hammer/options/update",
        &[("pr_min_score", "lots")],
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("pr_min_score"), "{}", bad.body);

    let added = post(
        &mut b,
        "/hammer/git/modifyacls",
        &[("user_type", "user"), ("name", "bob"), ("acl", "commit")],
    );
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(store.role_of(&p, "bob").expect("role"), Some(Role::Commit));
    assert!(b
        .get("/hammer/settings")
        .body
        .contains(r#"aria-label="Remove bob""#));
    // bob, a committer now, still may not administer.
    let bob_csrf = bob.csrf_of("/hammer/issue/1");
    let forged = bob.post(
        "/hammer/git/modifyacls",
        &[
            ("user_type", "user"),
            ("name", "bob"),
            ("acl", "admin"),
            ("csrf_token", &bob_csrf),
        ],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(store.role_of(&p, "bob").expect("role"), Some(Role::Commit));
    let removed = post(
        &mut b,
        "/hammer/git/modifyacls",
        &[("user_type", "user"), ("name", "bob")],
    );
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(store.role_of(&p, "bob").expect("role"), None);

    let key = public_key(7);
    let with_key = post(
        &mut b,
        "/hammer/deploykeys/new",
        &[("key", &key), ("push", "true")],
    );
    assert_eq!(with_key.status, 303, "{}", with_key.body);
    let keys = store.deploy_keys(&p).expect("keys");
    assert_eq!(keys.len(), 1);
    assert!(keys[0].push);
    assert!(b
        .get("/hammer/settings")
        .body
        .contains(&keys[0].fingerprint));
    post(
        &mut b,
        "/hammer/deploykeys/remove",
        &[("key", &keys[0].fingerprint)],
    );
    assert!(store.deploy_keys(&p).expect("keys").is_empty());

    // Renamed: the settings at the new name, old links sent on.
    let renamed = post(&mut b, "/hammer/rename", &[("new_name", "tools/mallet")]);
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    assert_eq!(renamed.location(), "/tools/mallet/settings");
    let old = b.get("/hammer/issue/1?x=1");
    assert_eq!(old.status, 301);
    assert_eq!(old.location(), "/tools/mallet/issue/1?x=1");
    assert_eq!(b.get("/tools/mallet/issue/1").status, 200);
    let (status, _, _) = request_with(&f, "GET", "/api/0/tools/mallet/issues", &[], "");
    assert_eq!(status, 200);

    // Given away, the previous owner staying an admin; then deleted by
    // its new owner, with the name typed again.
    let csrf = b.csrf_of("/tools/mallet/settings");
    let given = b.post(
        "/tools/mallet/transfer",
        &[
            ("owner", "bob"),
            ("retain_access", "true"),
            ("csrf_token", &csrf),
        ],
    );
    assert_eq!(given.status, 303, "{}", given.body);
    let p = store.project("tools/mallet").expect("mallet");
    assert_eq!(p.owner, "bob");
    let not_owner = b.get("/tools/mallet/settings");
    assert!(
        !not_owner.body.contains("Delete project"),
        "only the owner deletes"
    );
    let csrf = bob.csrf_of("/tools/mallet/settings");
    let wrong = bob.post(
        "/tools/mallet/delete",
        &[("confirm", "mallet"), ("csrf_token", &csrf)],
    );
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(wrong.body.contains("type the project"), "{}", wrong.body);
    let deleted = bob.post(
        "/tools/mallet/delete",
        &[("confirm", "tools/mallet"), ("csrf_token", &csrf)],
    );
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert_eq!(deleted.location(), "/");
    assert!(store
        .find_project("tools/mallet")
        .expect("lookup")
        .is_none());
    assert!(!f.app.home.project_paths("tools/mallet").source.exists());
    assert_eq!(b.get("/hammer").status, 404);
}

#[test]
fn a_site_admin_disables_and_enables_an_account_from_its_page() {
    let f = fixture();
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let mut bob = Browser::new(&f);
    bob.sign_in("bob", "bob's password");
    // Not a site admin: no button, and the form is refused.
    assert!(!bob.get("/user/alice").body.contains("Disable this account"));
    let csrf = bob.csrf_of("/hammer/issue/1");
    let refused = bob.post("/user/alice/disable", &[("csrf_token", &csrf)]);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!store.user_disabled("alice").expect("state"));

    store.set_site_admin("alice", true).expect("site admin");
    let mut alice = Browser::new(&f);
    alice.sign_in("alice", "alice's password");
    let page = alice.get("/user/bob");
    assert!(page.body.contains("Disable this account"), "{}", page.body);
    assert!(!alice
        .get("/user/alice")
        .body
        .contains("Disable this account"));
    let done = alice.post("/user/bob/disable", &[("csrf_token", &page.csrf())]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(store.user_disabled("bob").expect("state"));
    // bob's session ended with it.
    assert!(!bob.get("/hammer").body.contains("Sign out"));
    let page = alice.get("/user/bob");
    assert!(page.body.contains("Enable this account"));
    alice.post("/user/bob/enable", &[("csrf_token", &page.csrf())]);
    assert!(!store.user_disabled("bob").expect("state"));
    assert_eq!(bob.sign_in("bob", "bob's password").status, 303);
}

/// A token of `user` allowing `actions`, as an `Authorization` value.
fn token_for(store: &Store, user: &str, actions: &[Action]) -> String {
    let (_, secret) = store
        .create_token(user, None, actions, None, "admin tests")
        .expect("token");
    format!("token {secret}")
}

/// One API call with a JSON body: the status and the answer.
fn api(f: &crate::Fixture, auth: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (status, _, bytes) = request_with(
        f,
        method,
        path,
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        body,
    );
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[test]
fn the_api_administers_projects_and_accounts_with_a_token() {
    let f = fixture();
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let token = |user: &str, actions: &[Action]| token_for(&store, user, actions);
    let alice = token("alice", &[Action::ModifyProject]);
    let weak = token("alice", &[Action::IssueComment]);
    let call = |auth: &str, method: &str, path: &str, body: &str| api(&f, auth, method, path, body);

    let (status, v) = call(&alice, "GET", "/api/0/hammer/options", "");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["settings"]["issue_tracker"], true);
    let (status, v) = call(
        &weak,
        "POST",
        "/api/0/hammer/options/update",
        r#"{"pr_min_score": "1"}"#,
    );
    assert_eq!(status, 403, "a token without modify_project: {v}");
    let (status, v) = call(
        &alice,
        "POST",
        "/api/0/hammer/options/update",
        r#"{"pr_min_score": "1"}"#,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(store.project("hammer").expect("p").settings.pr_min_score, 1);

    let (status, v) = call(
        &alice,
        "POST",
        "/api/0/hammer/git/modifyacls",
        r#"{"user_type": "user", "name": "bob", "acl": "ticket"}"#,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["access_users"]["ticket"], json!(["bob"]), "{v}");
    let (status, v) = call(
        &alice,
        "POST",
        "/api/0/hammer/git/modifyacls",
        r#"{"user_type": "robot", "name": "bob"}"#,
    );
    assert_eq!(status, 400, "{v}");

    let (status, v) = call(
        &alice,
        "POST",
        "/api/0/hammer/rename",
        r#"{"new_name": "forks/x"}"#,
    );
    assert_eq!(status, 400, "a reserved namespace: {v}");
    assert!(
        v["detail"].as_str().unwrap_or_default().contains("forks"),
        "{v}"
    );
    let (status, v) = call(
        &alice,
        "POST",
        "/api/0/hammer/rename",
        r#"{"new_name": "mallet"}"#,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["project"]["fullname"], "mallet");
    let (status, v) = call(
        &alice,
        "PATCH",
        "/api/0/mallet",
        r#"{"main_admin": "bob", "retain_access": true}"#,
    );
    assert_eq!(status, 200, "Pagure's way to give a project away: {v}");
    assert_eq!(v["user"]["name"], "bob", "{v}");
    let (status, v) = call(
        &alice,
        "POST",
        "/api/0/mallet/delete",
        r#"{"confirm": "mallet"}"#,
    );
    assert_eq!(status, 403, "alice is no longer the owner: {v}");

    // Accounts: site admins only.
    let (status, v) = call(&alice, "POST", "/api/0/user/bob/disable", "");
    assert_eq!(status, 403, "{v}");
    store.set_site_admin("alice", true).expect("site admin");
    let (status, v) = call(&alice, "POST", "/api/0/user/bob/disable", "");
    assert_eq!(status, 200, "{v}");
    assert!(store.user_disabled("bob").expect("state"));
    let (status, v) = call(&alice, "POST", "/api/0/user/alice/disable", "");
    assert_eq!(status, 400, "not one's own account: {v}");
    let (status, v) = call(&alice, "POST", "/api/0/user/bob/enable", "");
    assert_eq!(status, 200, "{v}");
    // A site admin may delete a project they do not own.
    let (status, v) = call(
        &alice,
        "POST",
        "/api/0/mallet/delete",
        r#"{"confirm": "mallet"}"#,
    );
    assert_eq!(status, 200, "{v}");
    assert!(store.find_project("mallet").expect("lookup").is_none());
}

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Bob")
        .env("GIT_AUTHOR_EMAIL", "bob@example.org")
        .env("GIT_COMMITTER_NAME", "Bob")
        .env("GIT_COMMITTER_EMAIL", "bob@example.org")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_fork_is_made_browsed_and_proposes_a_pull_request_from_its_pages() {
    let f = fixture();
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let work = tempfile::tempdir().expect("work");
    let w = work.path();
    git(w, &["init", "-q", "-b", "main"]);
    std::fs::write(w.join("README.md"), "# hammer\n").expect("write");
    git(w, &["add", "-A"]);
    git(w, &["commit", "-qm", "Start the hammer"]);
    let source = f.app.home.project_paths("hammer").source;
    git(w, &["push", "-q", source.to_str().expect("utf-8"), "main"]);

    let mut bob = Browser::new(&f);
    bob.sign_in("bob", "bob's password");
    let page = bob.get("/hammer");
    assert!(page.body.contains("Fork this project"), "{}", page.body);
    assert!(
        page.body.contains("Start the hammer"),
        "the latest commits: {}",
        page.body
    );
    let forked = bob.post("/hammer/fork", &[("csrf_token", &page.csrf())]);
    assert_eq!(forked.status, 303, "{}", forked.body);
    assert_eq!(forked.location(), "/fork/bob/hammer");
    assert!(store
        .has_fork(&store.project("hammer").expect("p"), "bob")
        .expect("fork"));

    // bob's branch in his fork.
    git(w, &["checkout", "-q", "-b", "lighter"]);
    std::fs::write(w.join("README.md"), "# hammer\nLighter.\n").expect("write");
    git(w, &["commit", "-qam", "Make it lighter"]);
    let fork = f.app.home.fork_path("bob", "hammer");
    git(w, &["push", "-q", fork.to_str().expect("utf-8"), "lighter"]);

    let page = bob.get("/fork/bob/hammer");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("bob's fork of"), "{}", page.body);
    assert!(
        page.body
            .contains(r#"<dt>Owner</dt><dd><a href="/user/bob">bob</a>"#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("/forks/bob/hammer.git"),
        "the fork's clone URL"
    );
    assert!(
        bob.get("/hammer")
            .body
            .contains(r#"href="/fork/bob/hammer""#),
        "listed among forks"
    );
    let tree = bob.get("/fork/bob/hammer/blob/lighter/f/README.md");
    assert_eq!(tree.status, 200);
    assert!(tree.body.contains("Lighter."), "{}", tree.body);
    assert_eq!(
        bob.get("/hammer/blob/lighter/f/README.md").status,
        404,
        "the parent has no such branch"
    );
    assert_eq!(
        bob.get("/fork/bob/hammer/issues").status,
        404,
        "issues are the parent's"
    );
    assert_eq!(bob.get("/fork/alice/hammer").status, 404, "no such fork");

    let compare = bob.get("/fork/bob/hammer/diff/main..lighter");
    assert_eq!(compare.status, 200, "{}", compare.body);
    assert!(compare.body.contains("Make it lighter"), "{}", compare.body);
    assert!(compare
        .body
        .contains(r#"name="repo_from_username" value="bob""#));
    let opened = bob.post(
        "/hammer/pull-request/new",
        &[
            ("csrf_token", &compare.csrf()),
            ("title", "Lighter"),
            ("branch_to", "main"),
            ("branch_from", "lighter"),
            ("repo_from_username", "bob"),
        ],
    );
    assert_eq!(opened.status, 303, "{}", opened.body);
    let at = opened.location().to_string();
    assert!(at.starts_with("/hammer/pull-request/"), "{at}");
    let pr = bob.get(&at);
    assert!(pr.body.contains("Make it lighter"), "{}", pr.body);

    // Renamed, the parent takes its fork's pages along.
    let mut alice = Browser::new(&f);
    alice.sign_in("alice", "alice's password");
    let csrf = alice.csrf_of("/hammer/settings");
    let renamed = alice.post(
        "/hammer/rename",
        &[("new_name", "mallet"), ("csrf_token", &csrf)],
    );
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    let old = bob.get("/fork/bob/hammer/tree");
    assert_eq!(old.status, 301);
    assert_eq!(old.location(), "/fork/bob/mallet/tree");
    assert_eq!(
        bob.get("/fork/bob/mallet/blob/lighter/f/README.md").status,
        200
    );
}

#[test]
fn the_api_manages_webhooks_for_project_admins() {
    let f = fixture();
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let token = |user: &str, actions: &[Action]| token_for(&store, user, actions);
    let alice = token("alice", &[Action::ModifyProject]);
    let bob = token("bob", &[Action::ModifyProject]);
    let call = |auth: &str, method: &str, path: &str, body: &str| api(&f, auth, method, path, body);
    // The fixture's server does not allow private targets.
    let (status, v) = call(
        &alice,
        "POST",
        "/api/0/hammer/webhooks/new",
        r#"{"url": "http://127.0.0.1:9/"}"#,
    );
    assert_eq!(status, 400, "{v}");
    assert!(v.to_string().contains("loopback"), "{v}");
    let (status, v) = call(
        &alice,
        "POST",
        "/api/0/hammer/webhooks/new",
        r#"{"url": "https://93.184.216.34/hook", "events": "issue.new, issue.comment.added"}"#,
    );
    assert_eq!(status, 200, "{v}");
    let secret = v["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"));
    let id = v["id"].as_i64().expect("id");
    let (status, v) = call(&alice, "GET", "/api/0/hammer/webhooks", "");
    assert_eq!(status, 200);
    assert_eq!(
        v["webhooks"][0]["events"],
        json!(["issue.comment.added", "issue.new"])
    );
    assert!(
        !v.to_string().contains(&secret),
        "the secret is not shown again"
    );
    let (status, v) = call(&bob, "GET", "/api/0/hammer/webhooks", "");
    assert_eq!(status, 403, "bob administers nothing: {v}");
    let (status, v) = call(
        &alice,
        "GET",
        &format!("/api/0/hammer/webhooks/{id}/deliveries"),
        "",
    );
    assert_eq!((status, v["deliveries"].clone()), (200, json!([])));
    let (status, _) = call(
        &alice,
        "POST",
        &format!("/api/0/hammer/webhooks/{id}/remove"),
        "",
    );
    assert_eq!(status, 200);
    let (status, _) = call(
        &alice,
        "POST",
        &format!("/api/0/hammer/webhooks/{id}/remove"),
        "",
    );
    assert_eq!(status, 404);
}

#[test]
fn the_settings_page_adds_and_removes_webhooks_and_shows_a_secret_once() {
    let f = fixture();
    let mut b = Browser::new(&f);
    b.sign_in("alice", "alice's password");
    let page = b.get("/hammer/settings");
    assert!(page.body.contains("Add webhook"), "{}", page.body);
    let csrf = page.csrf();
    let refused = b.post(
        "/hammer/webhooks/new",
        &[("url", "http://127.0.0.1:9/"), ("csrf_token", &csrf)],
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("loopback"), "{}", refused.body);
    let added = b.post(
        "/hammer/webhooks/new",
        &[
            ("url", "https://93.184.216.34/in"),
            ("events", "issue.*"),
            ("csrf_token", &csrf),
        ],
    );
    assert_eq!(added.status, 200, "{}", added.body);
    let at = added.body.find("whsec_").expect("the secret shown");
    let secret: String = added.body[at..].chars().take_while(|c| *c != '<').collect();
    let again = b.get("/hammer/settings");
    assert!(
        again.body.contains("https://93.184.216.34/in"),
        "{}",
        again.body
    );
    assert!(!again.body.contains(&secret), "shown once only");
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let id: i64 = store
        .conn()
        .query_row("SELECT id FROM webhooks", [], |r| r.get(0))
        .expect("a webhook");
    let removed = b.post(
        &format!("/hammer/webhooks/{id}/remove"),
        &[("csrf_token", &csrf)],
    );
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert!(!b.get("/hammer/settings").body.contains("93.184.216.34"));
}

#[test]
fn the_delivery_log_page_shows_each_attempt_and_queues_one_again() {
    let f = fixture();
    // A receiver on loopback taking every request.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        use std::io::{BufRead as _, Read as _, Write as _};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 6\r\n\r\nthanks");
        }
    });
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let hooks = forge_notify::webhook::Webhooks::new(&store, &f.app.home);
    let project = store.project("hammer").expect("hammer");
    let (hook, _) = hooks
        .add(&project, &format!("http://{addr}/in"), &[], None, true)
        .expect("webhook");
    let settings = forge_notify::outbox::Settings {
        allow_private: true,
        ..Default::default()
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let round = || {
        forge_notify::outbox::run_once(&store, &hooks, "test", &settings, 8, &stop).expect("round")
    };
    round();
    forge_core::event::append(
        store.conn(),
        &forge_core::event::NewEvent {
            kind: "issue.comment.added",
            project: "hammer",
            actor: "alice",
            issue: Some(1),
            fields: json!({"comment": "Glue it again"}),
        },
    )
    .expect("event");
    assert_eq!(round(), 1);

    let mut b = Browser::new(&f);
    b.sign_in("alice", "alice's password");
    let settings_page = b.get("/hammer/settings");
    let link = format!("/hammer/settings/webhooks/{}", hook.id);
    assert!(settings_page.body.contains(&link), "{}", settings_page.body);
    let page = b.get(&link);
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "issue.comment.added",
        "202",
        "thanks",
        "Glue it again",
        "webhook-signature",
        "Redeliver",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let logged =
        forge_notify::outbox::deliveries(&store, Some(hook.id), project.id, 10).expect("log");
    assert_eq!(logged.len(), 1);
    let csrf = page.csrf();
    let again = b.post(
        &format!("/hammer/webhooks/deliveries/{}/redeliver", logged[0].id),
        &[("csrf_token", &csrf)],
    );
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(again.location(), link);
    // Queued, not sent by the request: the worker's next round sends it,
    // under the same webhook-id.
    assert_eq!(
        forge_notify::outbox::deliveries(&store, Some(hook.id), project.id, 10)
            .expect("log")
            .len(),
        1
    );
    assert_eq!(round(), 1);
    let logged =
        forge_notify::outbox::deliveries(&store, Some(hook.id), project.id, 10).expect("log");
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0].message_id, logged[1].message_id);

    // Not for bob, who administers nothing here.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob", "bob's password");
    assert_eq!(bob.get(&link).status, 403);
}
