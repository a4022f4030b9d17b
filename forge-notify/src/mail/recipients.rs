//! Who hears of an event by mail: the people of the issue or pull request
//! it is about — its author, its assignee, its watchers, those who
//! commented, those @mentioned in its text — less the person who acted,
//! anyone who may not read the item (a private issue: members, its author
//! and its assignee only; `IssueReaders`, the pages' own rule), and users without
//! an address. Preferences (all, participating, none) narrow this further;
//! they come with the notification consumer.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use forge_core::event::Event;
use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use forge_tickets::{Actor, IssueReaders, PullRequests, Tracker};
use regex::Regex;

use super::reply::Item;

/// A person to mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee {
    /// Their username.
    pub user: String,
    /// Their full name (may be empty).
    pub name: String,
    /// Their first address.
    pub address: String,
}

static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, checked by this module's tests.
    Regex::new(r"(?:^|[^\w@.])@([A-Za-z0-9][A-Za-z0-9_.-]{0,63})").unwrap_or_else(|e| panic!("{e}"))
});

/// The usernames `@mentioned` in `text` (those that name no user are
/// dropped later).
pub fn mentions(text: &str) -> BTreeSet<String> {
    MENTION
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().trim_end_matches(['.', '-']).to_string())
        .collect()
}

/// The item an event is about.
pub fn item_of(e: &Event) -> Option<Item> {
    let n = e.issue?;
    if e.kind.starts_with("issue.") {
        Some(Item::Issue(n))
    } else if e.kind.starts_with("pr.") {
        Some(Item::PullRequest(n))
    } else {
        None
    }
}

/// Its watchers, the authors of its comments and everyone @mentioned in
/// its text or comments: the people of an item besides its author and
/// assignee.
fn people_of<'a>(
    watchers: &BTreeSet<String>,
    body: &str,
    comments: impl Iterator<Item = (&'a str, &'a str)>,
) -> BTreeSet<String> {
    let mut people: BTreeSet<String> = watchers.iter().cloned().collect();
    people.extend(mentions(body));
    for (author, text) in comments {
        people.insert(author.to_string());
        people.extend(mentions(text));
    }
    people
}

/// The people of event `e`'s item (in `project`) who should hear of it,
/// with `extra` (members who want every event), in username order, each
/// only if they may read the item.
pub fn recipients(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    e: &Event,
    extra: &BTreeSet<String>,
) -> forge_tickets::Result<Vec<Addressee>> {
    let Some(item) = item_of(e) else {
        return Ok(Vec::new());
    };
    // Read as the project's owner, who sees every item.
    let owner = Actor::for_user(store, project, &project.owner)?;
    // Who may read the item: the issues' one rule (a pull request is never
    // private on its own: its project's visibility decides).
    let (mut people, readers) = match item {
        Item::Issue(n) => {
            let tracker = Tracker::open_for_project(store, home, project)?;
            let Ok(issue) = tracker.issue(&owner, n) else {
                return Ok(Vec::new());
            };
            let comments = issue
                .comments
                .iter()
                .map(|c| (c.author.as_str(), c.body.as_str()));
            let people = people_of(&issue.watchers, &issue.body, comments);
            let readers = IssueReaders {
                private: issue.private,
                author: issue.author,
                assignee: issue.assignee,
            };
            (people, readers)
        }
        Item::PullRequest(n) => {
            let prs = PullRequests::open(store, home, project)?;
            let Ok(pr) = prs.show(&owner, n) else {
                return Ok(Vec::new());
            };
            let comments = pr
                .comments
                .iter()
                .map(|c| (c.author.as_str(), c.body.as_str()));
            let people = people_of(&pr.watchers, &pr.body, comments);
            let readers = IssueReaders {
                private: false,
                author: pr.author,
                assignee: pr.assignee,
            };
            (people, readers)
        }
    };
    people.insert(readers.author.clone());
    people.extend(readers.assignee.clone());
    people.extend(extra.iter().cloned());
    people.remove(&e.actor);
    let mut out = Vec::new();
    for name in people {
        let Ok(user) = store.user(&name) else {
            continue; // a mention of no one
        };
        let Some(address) = user.emails.first().cloned() else {
            continue;
        };
        if store.user_disabled(&name)? {
            continue;
        }
        let actor = Actor::for_user(store, project, &name)?;
        if readers.admit(&actor) {
            out.push(Addressee {
                user: name,
                name: user.full_name,
                address,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use forge_tickets::{IssueEdit, NewIssue, NewProject};

    use super::*;

    #[test]
    fn mentions_are_words_after_an_at_not_addresses() {
        let found = mentions("ping @carol and @dave. mail bob@example.org, (@erin)");
        let found: Vec<&str> = found.iter().map(String::as_str).collect();
        assert_eq!(found, ["carol", "dave", "erin"]);
    }

    #[test]
    fn the_items_people_less_the_actor_and_those_who_may_not_read_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = ForgeHome::new(dir.path());
        let store = Store::open(&home.db_path()).expect("store");
        for (user, email) in [
            ("alice", Some("alice@example.org")),
            ("bob", Some("bob@example.org")),
            ("carol", Some("carol@example.org")),
            ("dave", None),
        ] {
            let emails: Vec<&str> = email.into_iter().collect();
            store.add_user(user, "", &emails).expect("user");
        }
        let new = NewProject {
            full_name: "hammer".into(),
            owner: "alice".into(),
            ..Default::default()
        };
        forge_tickets::create_project(&store, &home, &new, None).expect("project");
        let project = store.project("hammer").expect("hammer");
        let tracker = Tracker::open_for_project(&store, &home, &project).expect("tracker");
        let as_user = |u: &str| Actor::for_user(&store, &project, u).expect("actor");
        let issue = tracker
            .create_issue(
                &as_user("alice"),
                NewIssue {
                    body: "@carol and @dave, please look; @nobody".into(),
                    ..NewIssue::titled("Loose handle")
                },
            )
            .expect("issue");
        tracker
            .comment(&as_user("bob"), issue.number, "It wobbles")
            .expect("comment");
        let events = forge_core::event::list(store.conn(), Some("hammer"), 0, 100).expect("events");
        let comment = events
            .iter()
            .find(|e| e.kind == "issue.comment.added")
            .expect("the comment's event");
        let who = |e: &Event| -> Vec<String> {
            recipients(&store, &home, &project, e, &BTreeSet::new())
                .expect("recipients")
                .into_iter()
                .map(|a| a.user)
                .collect()
        };
        // bob acted; dave has no address; nobody is no one.
        assert_eq!(who(comment), ["alice", "carol"]);

        // Private now: carol (no member, not its author) may not read it.
        tracker
            .edit(
                &as_user("alice"),
                issue.number,
                IssueEdit {
                    private: Some(true),
                    ..Default::default()
                },
            )
            .expect("private");
        assert_eq!(who(comment), ["alice"]);
    }
}
