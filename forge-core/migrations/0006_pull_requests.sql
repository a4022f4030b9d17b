-- The projection of the requests repos (pull-request documents). Git is the
-- truth; these rows can be rebuilt.
CREATE TABLE request_sync (
    project TEXT PRIMARY KEY,
    commit_id TEXT NOT NULL
);
CREATE TABLE pull_requests (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT,
    source_repo TEXT NOT NULL,
    source_branch TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    head TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    comment_count INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL,
    UNIQUE (project, number)
);
CREATE INDEX pull_requests_status ON pull_requests(project, status, number);
CREATE INDEX pull_requests_author ON pull_requests(project, author, number);
-- The push hook finds the requests a pushed branch feeds.
CREATE INDEX pull_requests_source ON pull_requests(source_repo, source_branch);
CREATE TABLE pr_comments (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    number INTEGER NOT NULL,
    comment_id TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (project, number, comment_id)
);
-- Merge analysis of a source head into a target head: a pure function of
-- the two commits, so an entry never goes stale; a moved head is a new key.
CREATE TABLE pr_merge_cache (
    project TEXT NOT NULL,
    target_head TEXT NOT NULL,
    source_head TEXT NOT NULL,
    status TEXT NOT NULL,
    conflicts TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project, target_head, source_head)
) WITHOUT ROWID;
