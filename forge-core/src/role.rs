//! Roles, actions and the pure permission checks.
//!
//! Roles are ordered `ticket < collaborator < commit < admin`; a project's
//! owner is admin. [`permits`] decides whether an access may perform an
//! action; it reads no state, so every frontend (CLI, HTTP, hooks) asks the
//! same question the same way.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A role a user or group holds on a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// May triage issues: edit, assign, tag, close.
    Ticket,
    /// May push to the branches matching their patterns and merge onto them.
    Collaborator,
    /// May push to any branch and merge pull requests.
    Commit,
    /// May change the project itself.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Ticket, Role::Collaborator, Role::Commit, Role::Admin];

    /// The role's name as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ticket => "ticket",
            Role::Collaborator => "collaborator",
            Role::Commit => "commit",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    format!("role `{}`", crate::name::printable(s)),
                    "expected ticket, collaborator, commit or admin",
                )
            })
    }
}

/// Something a user (or a token acting for one) may do. The names are the
/// action names tokens are scoped by (Pagure's ACL names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open an issue.
    IssueCreate,
    /// Comment on an issue.
    IssueComment,
    /// Edit an issue's title, body, tags, priority, fields and links.
    IssueUpdate,
    /// Close or reopen an issue.
    IssueChangeStatus,
    /// Assign an issue.
    IssueAssign,
    /// Set an issue's milestone.
    IssueUpdateMilestone,
    /// Set an issue's custom fields (Pagure's finer ACL; `issue_update`
    /// allows it too).
    IssueUpdateCustomFields,
    /// Watch or stop watching an issue (Pagure's ACL; `issue_comment`
    /// allows it too).
    IssueSubscribe,
    /// Open a pull request.
    PullRequestCreate,
    /// Comment on a pull request.
    PullRequestComment,
    /// Merge a pull request.
    PullRequestMerge,
    /// Post a CI flag on a pull request.
    PullRequestFlag,
    /// Close a pull request.
    PullRequestClose,
    /// Assign a pull request (Pagure's ACL; `pull_request_merge` allows it
    /// too).
    PullRequestAssign,
    /// Watch or stop watching a pull request (Pagure's ACL;
    /// `pull_request_comment` allows it too).
    PullRequestSubscribe,
    /// Edit a pull request's title and description (Pagure's ACL;
    /// `pull_request_create` allows it too).
    PullRequestUpdate,
    /// Post a CI flag on a commit.
    CommitFlag,
    /// Create a project.
    CreateProject,
    /// Fork a project.
    ForkProject,
    /// Change a project's settings and members.
    ModifyProject,
    /// Push commits.
    Commit,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 21] = [
        Action::IssueCreate,
        Action::IssueComment,
        Action::IssueUpdate,
        Action::IssueChangeStatus,
        Action::IssueAssign,
        Action::IssueUpdateMilestone,
        Action::IssueUpdateCustomFields,
        Action::IssueSubscribe,
        Action::PullRequestCreate,
        Action::PullRequestComment,
        Action::PullRequestMerge,
        Action::PullRequestFlag,
        Action::PullRequestClose,
        Action::PullRequestAssign,
        Action::PullRequestSubscribe,
        Action::PullRequestUpdate,
        Action::CommitFlag,
        Action::CreateProject,
        Action::ForkProject,
        Action::ModifyProject,
        Action::Commit,
    ];

    /// The action's name (as in token ACLs).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::IssueCreate => "issue_create",
            Action::IssueComment => "issue_comment",
            Action::IssueUpdate => "issue_update",
            Action::IssueChangeStatus => "issue_change_status",
            Action::IssueAssign => "issue_assign",
            Action::IssueUpdateMilestone => "issue_update_milestone",
            Action::IssueUpdateCustomFields => "issue_update_custom_fields",
            Action::IssueSubscribe => "issue_subscribe",
            Action::PullRequestCreate => "pull_request_create",
            Action::PullRequestComment => "pull_request_comment",
            Action::PullRequestMerge => "pull_request_merge",
            Action::PullRequestFlag => "pull_request_flag",
            Action::PullRequestClose => "pull_request_close",
            Action::PullRequestAssign => "pull_request_assign",
            Action::PullRequestSubscribe => "pull_request_subscribe",
            Action::PullRequestUpdate => "pull_request_update",
            Action::CommitFlag => "commit_flag",
            Action::CreateProject => "create_project",
            Action::ForkProject => "fork_project",
            Action::ModifyProject => "modify_project",
            Action::Commit => "commit",
        }
    }

    /// The lowest role that may perform this action on any issue or branch;
    /// `None` when any signed-in user may.
    pub fn minimum_role(self) -> Option<Role> {
        match self {
            Action::IssueCreate
            | Action::IssueComment
            | Action::PullRequestCreate
            | Action::PullRequestComment
            | Action::IssueSubscribe
            | Action::PullRequestSubscribe
            | Action::PullRequestUpdate
            | Action::CreateProject
            | Action::ForkProject => None,
            Action::IssueUpdate
            | Action::IssueChangeStatus
            | Action::IssueAssign
            | Action::IssueUpdateMilestone
            | Action::IssueUpdateCustomFields => Some(Role::Ticket),
            Action::PullRequestMerge
            | Action::PullRequestFlag
            | Action::PullRequestClose
            | Action::PullRequestAssign
            | Action::CommitFlag
            | Action::Commit => Some(Role::Collaborator),
            Action::ModifyProject => Some(Role::Admin),
        }
    }
}

impl Action {
    /// The token ACLs that allow this action: its own, and those Pagure's
    /// endpoint for it accepts too (`issue_update` for the issue's finer
    /// ones), or that allowed it in forge before Pagure's finer name.
    pub fn token_acls(self) -> &'static [Action] {
        use Action::*;
        match self {
            IssueComment => &[IssueComment, IssueUpdate],
            IssueChangeStatus => &[IssueChangeStatus, IssueUpdate],
            IssueAssign => &[IssueAssign, IssueUpdate],
            IssueUpdateMilestone => &[IssueUpdateMilestone, IssueUpdate],
            IssueUpdateCustomFields => &[IssueUpdateCustomFields, IssueUpdate],
            IssueSubscribe => &[IssueSubscribe, IssueComment],
            PullRequestAssign => &[PullRequestAssign, PullRequestUpdate, PullRequestMerge],
            PullRequestUpdate => &[PullRequestUpdate, PullRequestCreate],
            PullRequestSubscribe => &[PullRequestSubscribe, PullRequestComment],
            IssueCreate => &[IssueCreate],
            IssueUpdate => &[IssueUpdate],
            PullRequestCreate => &[PullRequestCreate],
            PullRequestComment => &[PullRequestComment],
            PullRequestMerge => &[PullRequestMerge],
            PullRequestFlag => &[PullRequestFlag],
            PullRequestClose => &[PullRequestClose],
            CommitFlag => &[CommitFlag],
            CreateProject => &[CreateProject],
            ForkProject => &[ForkProject],
            ModifyProject => &[ModifyProject],
            Commit => &[Commit],
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                Error::invalid(
                    format!("action `{}`", crate::name::printable(s)),
                    format!("not a known action name; known: {}", names.join(", ")),
                )
            })
    }
}

/// Who is asking, as far as permissions care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The user's role on the project (through themselves or a group), if any.
    pub role: Option<Role>,
    /// Whether the project is private.
    pub private_project: bool,
    /// Whether the user wrote the issue or pull request acted on.
    pub is_author: bool,
}

/// Whether the access may see the project at all.
pub fn can_read(access: &Access) -> bool {
    !access.private_project || access.role.is_some()
}

/// Whether the access may see a private issue (author, assignee and ticket+ members).
pub fn can_read_private_issue(access: &Access, is_assignee: bool) -> bool {
    can_read(access) && (access.is_author || is_assignee || access.role.is_some())
}

/// Whether the access may perform `action`. Pure: reads no state.
///
/// Authors may also edit the title and body of, and close or reopen, what
/// they opened, as in Pagure.
pub fn permits(access: &Access, action: Action) -> bool {
    if !can_read(access) {
        return false;
    }
    let by_role = match action.minimum_role() {
        None => true,
        Some(min) => access.role.is_some_and(|r| r >= min),
    };
    let by_authorship = access.is_author
        && matches!(
            action,
            Action::IssueUpdate | Action::IssueChangeStatus | Action::PullRequestClose
        );
    by_role || by_authorship
}

/// Whether a branch name matches a collaborator's pattern list (`*` matches any run
/// of characters, including `/`).
pub fn branch_matches(patterns: &str, branch: &str) -> bool {
    patterns
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .any(|p| crate::name::glob_match(p, branch))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole role x action matrix on a public project, not as the author.
    /// Columns: none, ticket, collaborator, commit, admin.
    const MATRIX: &[(Action, [bool; 5])] = &[
        (Action::IssueCreate, [true, true, true, true, true]),
        (Action::IssueComment, [true, true, true, true, true]),
        (Action::IssueUpdate, [false, true, true, true, true]),
        (Action::IssueChangeStatus, [false, true, true, true, true]),
        (Action::IssueAssign, [false, true, true, true, true]),
        (
            Action::IssueUpdateMilestone,
            [false, true, true, true, true],
        ),
        (
            Action::IssueUpdateCustomFields,
            [false, true, true, true, true],
        ),
        (Action::IssueSubscribe, [true, true, true, true, true]),
        (Action::PullRequestCreate, [true, true, true, true, true]),
        (Action::PullRequestComment, [true, true, true, true, true]),
        (Action::PullRequestMerge, [false, false, true, true, true]),
        (Action::PullRequestFlag, [false, false, true, true, true]),
        (Action::PullRequestClose, [false, false, true, true, true]),
        (Action::PullRequestAssign, [false, false, true, true, true]),
        (Action::PullRequestSubscribe, [true, true, true, true, true]),
        (Action::PullRequestUpdate, [true, true, true, true, true]),
        (Action::CommitFlag, [false, false, true, true, true]),
        (Action::CreateProject, [true, true, true, true, true]),
        (Action::ForkProject, [true, true, true, true, true]),
        (Action::ModifyProject, [false, false, false, false, true]),
        (Action::Commit, [false, false, true, true, true]),
    ];

    fn roles() -> [Option<Role>; 5] {
        [
            None,
            Some(Role::Ticket),
            Some(Role::Collaborator),
            Some(Role::Commit),
            Some(Role::Admin),
        ]
    }

    fn check(
        private_project: bool,
        is_author: bool,
        expect: impl Fn(Option<Role>, Action, bool) -> bool,
    ) {
        assert_eq!(
            MATRIX.len(),
            Action::ALL.len(),
            "every action is in the matrix"
        );
        for (action, row) in MATRIX {
            for (role, public_expected) in roles().into_iter().zip(row) {
                let access = Access {
                    role,
                    private_project,
                    is_author,
                };
                assert_eq!(
                    permits(&access, *action),
                    expect(role, *action, *public_expected),
                    "{role:?} {action} private={private_project} author={is_author}"
                );
            }
        }
    }

    #[test]
    fn public_project_matrix() {
        check(false, false, |_, _, expected| expected);
    }

    #[test]
    fn private_project_refuses_non_members_everything() {
        check(true, false, |role, _, expected| role.is_some() && expected);
    }

    #[test]
    fn authors_may_edit_and_close_their_own() {
        check(false, true, |_, action, expected| {
            expected
                || matches!(
                    action,
                    Action::IssueUpdate | Action::IssueChangeStatus | Action::PullRequestClose
                )
        });
    }

    #[test]
    fn names_round_trip() {
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>().ok(), Some(action));
        }
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn branch_patterns() {
        for (patterns, branch, ok) in [
            ("feature/*", "feature/x", true),
            ("feature/*", "feature/x/y", true),
            ("feature/*", "main", false),
            ("main, release-*", "release-1.0", true),
            ("", "main", false),
            ("*", "anything", true),
        ] {
            assert_eq!(branch_matches(patterns, branch), ok, "{patterns} {branch}");
        }
    }

    #[test]
    fn branch_patterns_match_like_globs_in_linear_time() {
        for (patterns, branch, expected) in [
            ("feature/*", "feature/x", true),
            ("feature/*", "feature/a/b", true),
            ("feature/*", "features", false),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("docs, release-*", "release-1.0", true),
            ("", "main", false),
        ] {
            assert_eq!(
                branch_matches(patterns, branch),
                expected,
                "{patterns} {branch}"
            );
        }
        // Exponential for a naive matcher; instant here.
        let hostile = format!("{}b", "*a".repeat(40));
        assert!(!branch_matches(&hostile, &"a".repeat(5000)));
    }
}
