//! The rules a push to a source repository obeys, beside the access
//! decision ([`crate::repo_access::decide`]): tags, protected branches,
//! collaborators' branch patterns, pull-request-only projects, new
//! branches and sign-off. Pure: what they need to know of git comes
//! through [`RefFacts`], asked only when a rule needs it.

use crate::project::Project;
use crate::repo_access::GitIdentity;
use crate::role::{branch_matches, Role};

/// A push refused: which rule, and why (naming the commit when there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The rule (a setting name, or `tags`, `refs`, `branches`, `protected`).
    pub rule: &'static str,
    /// Why.
    pub reason: String,
}

fn broken(rule: &'static str, reason: impl Into<String>) -> Broken {
    Broken {
        rule,
        reason: reason.into(),
    }
}

/// One ref update of a push, and what git knows of it.
pub trait RefFacts {
    /// Why a fact could not be learned.
    type Error;
    /// The full ref name.
    fn refname(&self) -> &str;
    /// Whether the ref exists before the push.
    fn existed(&self) -> bool;
    /// Whether the ref exists after the push.
    fn exists(&self) -> bool;
    /// Whether the old commit is an ancestor of the new one.
    fn fast_forward(&self) -> Result<bool, Self::Error>;
    /// The repository's default branch.
    fn default_branch(&self) -> Result<String, Self::Error>;
    /// Whether the repository has any branch yet.
    fn has_branches(&self) -> Result<bool, Self::Error>;
    /// Whether `user`'s role and branch patterns let them write `branch`.
    fn may_write_branch(&self, user: &str, branch: &str) -> Result<bool, Self::Error>;
    /// The first new commit without a `Signed-off-by:` line, as (short id, title).
    fn first_unsigned(&self) -> Result<Option<(String, String)>, Self::Error>;
}

/// Checks one ref update of a push to a project's source repository (or a
/// fork of it). `Ok(Err(broken))` names the rule the push breaks.
pub fn check_source_update<F: RefFacts>(
    project: &Project,
    who: &GitIdentity,
    u: &F,
) -> Result<Result<(), Broken>, F::Error> {
    let settings = &project.settings;
    let r = u.refname();
    if settings.pr_only {
        return Ok(Err(broken(
            "pr_only",
            format!(
                "`{}` takes changes through pull requests only: push to your fork and open one",
                project.full_name
            ),
        )));
    }
    let role = match who {
        GitIdentity::User { role, .. } => *role,
        GitIdentity::Deploy { push: true, .. } => Some(Role::Commit),
        _ => None,
    };
    if let Some(tag) = r.strip_prefix("refs/tags/") {
        if role < Some(Role::Commit) {
            return Ok(Err(broken(
                "tags",
                format!("only committers may push tags (`{tag}`)"),
            )));
        }
        return Ok(Ok(()));
    }
    let Some(branch) = r.strip_prefix("refs/heads/") else {
        return Ok(Err(broken("refs", "only branches and tags can be pushed")));
    };
    if let GitIdentity::User {
        name,
        role: Some(Role::Collaborator),
    } = who
    {
        if !u.may_write_branch(name, branch)? {
            return Ok(Err(broken(
                "branches",
                format!("collaborator {name} may push only to the branches of their patterns"),
            )));
        }
    }
    let protected = (settings.protect_default_branch && branch == u.default_branch()?)
        || branch_matches(&settings.protected_branches.join(","), branch);
    match (u.existed(), u.exists()) {
        (true, false) if protected => {
            return Ok(Err(broken(
                "protected",
                format!("protected branch `{branch}` cannot be deleted"),
            )))
        }
        (true, true) if protected && !u.fast_forward()? => {
            return Ok(Err(broken(
                "protected",
                format!("protected branch `{branch}` cannot be force-pushed (the new commit does not contain the old one)"),
            )))
        }
        (false, true) if settings.no_new_branches && u.has_branches()? => {
            return Ok(Err(broken(
                "no_new_branches",
                format!("`{}` does not take new branches", project.full_name),
            )))
        }
        _ => {}
    }
    if settings.require_signoff && u.exists() {
        if let Some((id, title)) = u.first_unsigned()? {
            return Ok(Err(broken(
                "require_signoff",
                format!("commit {id} (`{title}`) has no Signed-off-by line"),
            )));
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::ProjectSettings;

    #[derive(Default)]
    struct Facts {
        refname: &'static str,
        existed: bool,
        exists: bool,
        forced: bool,
        unsigned: bool,
        patterns_allow: bool,
        has_branches: bool,
    }

    impl RefFacts for Facts {
        type Error = std::convert::Infallible;
        fn refname(&self) -> &str {
            self.refname
        }
        fn existed(&self) -> bool {
            self.existed
        }
        fn exists(&self) -> bool {
            self.exists
        }
        fn fast_forward(&self) -> Result<bool, Self::Error> {
            Ok(!self.forced)
        }
        fn default_branch(&self) -> Result<String, Self::Error> {
            Ok("main".into())
        }
        fn has_branches(&self) -> Result<bool, Self::Error> {
            Ok(self.has_branches)
        }
        fn may_write_branch(&self, _: &str, _: &str) -> Result<bool, Self::Error> {
            Ok(self.patterns_allow)
        }
        fn first_unsigned(&self) -> Result<Option<(String, String)>, Self::Error> {
            Ok(self.unsigned.then(|| ("abc".into(), "t".into())))
        }
    }

    fn project(settings: ProjectSettings) -> Project {
        Project {
            id: 1,
            full_name: "p".into(),
            namespace: None,
            name: "p".into(),
            description: String::new(),
            private: false,
            owner: "alice".into(),
            settings,
            created_at: "2026-01-01T00:00:00Z".into(),
            mirror: None,
        }
    }

    fn rule(p: &Project, who: &GitIdentity, f: &Facts) -> Option<&'static str> {
        match check_source_update(p, who, f) {
            Ok(Ok(())) => None,
            Ok(Err(b)) => Some(b.rule),
            Err(never) => match never {},
        }
    }

    #[test]
    fn each_rule_refuses_what_it_names() {
        let user = |role| GitIdentity::User {
            name: "bob".into(),
            role: Some(role),
        };
        let base = project(ProjectSettings::default());
        let push = |refname, existed, exists| Facts {
            refname,
            existed,
            exists,
            ..Default::default()
        };
        // (project, who, update, expected rule)
        let forced_main = Facts {
            forced: true,
            ..push("refs/heads/main", true, true)
        };
        let cases: Vec<(Project, GitIdentity, Facts, Option<&str>)> = vec![
            (
                base.clone(),
                user(Role::Commit),
                push("refs/heads/main", true, true),
                None,
            ),
            (
                base.clone(),
                user(Role::Collaborator),
                push("refs/tags/v1", false, true),
                Some("tags"),
            ),
            (
                base.clone(),
                user(Role::Commit),
                push("refs/tags/v1", false, true),
                None,
            ),
            (
                base.clone(),
                user(Role::Commit),
                push("refs/notes/x", false, true),
                Some("refs"),
            ),
            (
                base.clone(),
                user(Role::Collaborator),
                push("refs/heads/x", false, true),
                Some("branches"),
            ),
            (
                base.clone(),
                user(Role::Commit),
                push("refs/heads/main", true, false),
                Some("protected"),
            ),
            (
                base.clone(),
                user(Role::Admin),
                forced_main,
                Some("protected"),
            ),
            (
                base.clone(),
                user(Role::Commit),
                push("refs/heads/topic", true, false),
                None,
            ),
            (
                project(ProjectSettings {
                    pr_only: true,
                    ..Default::default()
                }),
                user(Role::Admin),
                push("refs/heads/main", true, true),
                Some("pr_only"),
            ),
            (
                project(ProjectSettings {
                    no_new_branches: true,
                    ..Default::default()
                }),
                user(Role::Commit),
                Facts {
                    has_branches: true,
                    ..push("refs/heads/new", false, true)
                },
                Some("no_new_branches"),
            ),
            (
                project(ProjectSettings {
                    require_signoff: true,
                    ..Default::default()
                }),
                user(Role::Commit),
                Facts {
                    unsigned: true,
                    ..push("refs/heads/main", true, true)
                },
                Some("require_signoff"),
            ),
            (
                base.clone(),
                GitIdentity::Deploy {
                    project: "p".into(),
                    push: true,
                },
                push("refs/tags/v2", false, true),
                None,
            ),
        ];
        for (p, who, facts, expected) in &cases {
            assert_eq!(
                rule(p, who, facts),
                *expected,
                "{} by {who:?}",
                facts.refname
            );
        }
    }
}
