//! Who acts, and what their role lets them do on a project.

use forge_core::project::Project;
use forge_core::role::{permits, Access, Action, Role};
use forge_core::Store;

use crate::{Error, Result};

/// Who acts, with what they may do on the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Username (written as author of documents and commits).
    pub username: String,
    /// Email for the commit author line.
    pub email: String,
    /// Role on the project, if a member.
    pub role: Option<Role>,
    /// Whether the project is private.
    pub private_project: bool,
    /// What the project mirrors, when it is a mirror this actor may not
    /// write to (every actor but the replication's).
    pub mirror: Option<String>,
}

impl Actor {
    /// A registered user acting on a project.
    pub fn for_user(store: &Store, project: &Project, username: &str) -> Result<Actor> {
        let user = store.user(username)?;
        Ok(Actor {
            email: user.emails.first().cloned().unwrap_or_default(),
            role: store.role_of(project, &user.username)?,
            username: user.username,
            private_project: project.private,
            mirror: project.mirror.clone(),
        })
    }

    /// The owner of an offline clone: may do everything there.
    pub fn clone_owner(username: &str, email: &str) -> Actor {
        Actor {
            username: username.into(),
            email: email.into(),
            role: Some(Role::Admin),
            private_project: false,
            mirror: None,
        }
    }

    /// Someone acting without a user name: may only read public projects.
    pub fn anonymous(private_project: bool) -> Actor {
        Actor {
            username: String::new(),
            email: String::new(),
            role: None,
            private_project,
            mirror: None,
        }
    }

    /// forge itself acting on a project (what a push set in motion, for a
    /// pusher that is not a user).
    pub fn system(project: &Project) -> Actor {
        Actor {
            username: "forge".into(),
            email: String::new(),
            role: Some(Role::Commit),
            private_project: project.private,
            mirror: project.mirror.clone(),
        }
    }

    /// The replication of a mirrored project, writing what `username`
    /// (`github:login`) did there: the one actor that writes to a mirror.
    pub fn replica(project: &Project, username: &str) -> Actor {
        Actor {
            username: username.into(),
            email: String::new(),
            role: Some(Role::Admin),
            private_project: project.private,
            mirror: None,
        }
    }

    /// Refuses anonymous actors and actions their role does not permit on `project`.
    pub(crate) fn require(&self, action: Action, is_author: bool, project: &str) -> Result<()> {
        if self.username.is_empty() {
            return Err(Error::Anonymous);
        }
        if let Some(source) = self.mirror_refuses(action) {
            return Err(Error::invalid(
                format!("project `{project}`"),
                format!(
                    "it mirrors {source}: its issues and pull requests change there, and reach here by replication (`forge mirror remove` makes it a project of its own)"
                ),
            ));
        }
        if self.may(action, is_author) {
            Ok(())
        } else {
            Err(Error::Core(forge_core::Error::PermissionDenied {
                user: self.username.clone(),
                action: action.to_string(),
                project: project.to_string(),
            }))
        }
    }

    /// What the project mirrors, when that refuses `action` to this actor:
    /// a mirror's issues and pull requests are the replication's to write.
    fn mirror_refuses(&self, action: Action) -> Option<&str> {
        let on_items = matches!(
            action,
            Action::IssueCreate
                | Action::IssueComment
                | Action::IssueUpdate
                | Action::IssueChangeStatus
                | Action::IssueAssign
                | Action::IssueUpdateMilestone
                | Action::IssueUpdateCustomFields
                | Action::IssueSubscribe
                | Action::PullRequestCreate
                | Action::PullRequestComment
                | Action::PullRequestMerge
                | Action::PullRequestFlag
                | Action::PullRequestClose
                | Action::PullRequestAssign
                | Action::PullRequestSubscribe
                | Action::PullRequestUpdate
        );
        self.mirror.as_deref().filter(|_| on_items)
    }

    /// Whether the actor's role permits `action` (`is_author`: on their own
    /// document), and the project is no mirror that refuses it.
    pub fn may(&self, action: Action, is_author: bool) -> bool {
        !self.username.is_empty()
            && self.mirror_refuses(action).is_none()
            && permits(&self.access(is_author), action)
    }

    pub(crate) fn access(&self, is_author: bool) -> Access {
        Access {
            role: self.role,
            private_project: self.private_project,
            is_author,
        }
    }

    /// Whether the actor may read the project at all.
    pub fn can_read(&self) -> bool {
        forge_core::role::can_read(&self.access(false))
    }

    /// Refuses a project the actor may not read as if it did not exist.
    pub(crate) fn check_readable(&self, project: &str) -> Result<()> {
        if self.can_read() {
            Ok(())
        } else {
            Err(Error::Core(forge_core::Error::not_found(
                "project", project,
            )))
        }
    }

    /// Whether the actor may edit or delete another person's comment
    /// (Pagure's rule: its author or a project admin).
    pub(crate) fn may_edit_comment_of(&self, author: &str) -> bool {
        !self.username.is_empty() && (author == self.username || self.role >= Some(Role::Admin))
    }
}
