//! Merge analysis: what merging a source commit into a target would do,
//! computed in memory (no working tree, no clone).

use git2::MergeOptions;

use crate::repo::{CommitId, Repo};
use crate::Error;

/// What a merge of a source into a target would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeStatus {
    /// The target already contains the source.
    UpToDate,
    /// The target can move forward to the source.
    FastForward,
    /// A merge commit is needed and merges cleanly.
    Merge,
    /// A merge would conflict in these paths (sorted).
    Conflicts(Vec<String>),
}

impl MergeStatus {
    /// `up-to-date`, `fast-forward`, `merge` or `conflicts`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MergeStatus::UpToDate => "up-to-date",
            MergeStatus::FastForward => "fast-forward",
            MergeStatus::Merge => "merge",
            MergeStatus::Conflicts(_) => "conflicts",
        }
    }
}

impl Repo {
    /// Analyzes merging `source` into `target`; both commits must be in this
    /// repository (a fork's commits are fetched in first).
    pub fn merge_analysis(&self, target: CommitId, source: CommitId) -> Result<MergeStatus, Error> {
        let repo = self.git();
        if target == source
            || repo
                .graph_descendant_of(target.oid(), source.oid())
                .map_err(|e| self.error(e))?
        {
            return Ok(MergeStatus::UpToDate);
        }
        if repo
            .graph_descendant_of(source.oid(), target.oid())
            .map_err(|e| self.error(e))?
        {
            return Ok(MergeStatus::FastForward);
        }
        let ours = repo
            .find_commit(target.oid())
            .map_err(|_| Error::UnknownCommit(target.to_string()))?;
        let theirs = repo
            .find_commit(source.oid())
            .map_err(|_| Error::UnknownCommit(source.to_string()))?;
        let mut opts = MergeOptions::new();
        opts.find_renames(true);
        let index = repo
            .merge_commits(&ours, &theirs, Some(&opts))
            .map_err(|e| self.error(e))?;
        if !index.has_conflicts() {
            return Ok(MergeStatus::Merge);
        }
        let mut paths = Vec::new();
        for conflict in index.conflicts().map_err(|e| self.error(e))? {
            let conflict = conflict.map_err(|e| self.error(e))?;
            for entry in [conflict.our, conflict.their, conflict.ancestor]
                .into_iter()
                .flatten()
            {
                paths.push(String::from_utf8_lossy(&entry.path).into_owned());
            }
        }
        paths.sort();
        paths.dedup();
        Ok(MergeStatus::Conflicts(paths))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, Identity};

    #[test]
    fn the_four_outcomes() -> Result<(), Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git"))?;
        let who = Identity::new("alice", "alice@example.org");
        let put = |branch: &str, path: &str, text: &str| {
            let (path, text) = (path.to_string(), text.as_bytes().to_vec());
            repo.commit_with(branch, &who, "change", move |_| {
                Ok(vec![Change::put(path.clone(), text.clone())])
            })
        };
        let base = put("main", "a.txt", "one\ntwo\nthree\n")?;
        repo.git()
            .reference("refs/heads/topic", base.oid(), false, "branch")
            .map_err(|e| repo.error(e))?;
        repo.git()
            .reference("refs/heads/clash", base.oid(), false, "branch")
            .map_err(|e| repo.error(e))?;
        let topic = put("topic", "b.txt", "new file\n")?;
        assert_eq!(repo.merge_analysis(base, base)?, MergeStatus::UpToDate);
        assert_eq!(repo.merge_analysis(base, topic)?, MergeStatus::FastForward);
        assert_eq!(repo.merge_analysis(topic, base)?, MergeStatus::UpToDate);
        let main = put("main", "a.txt", "one\nTWO\nthree\n")?;
        assert_eq!(repo.merge_analysis(main, topic)?, MergeStatus::Merge);
        let clash = put("clash", "a.txt", "one\n2\nthree\n")?;
        assert_eq!(
            repo.merge_analysis(main, clash)?,
            MergeStatus::Conflicts(vec!["a.txt".into()])
        );
        assert_eq!(MergeStatus::Conflicts(vec![]).as_str(), "conflicts");
        Ok(())
    }
}
