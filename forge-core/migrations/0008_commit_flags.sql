-- CI statuses on commits of a project's repository (Pagure's commit flags),
-- one per (commit, name); posting the same name again replaces it.
CREATE TABLE commit_flags (
    project TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    percent INTEGER,
    comment TEXT NOT NULL DEFAULT '',
    url TEXT,
    username TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project, commit_id, name)
) WITHOUT ROWID;
