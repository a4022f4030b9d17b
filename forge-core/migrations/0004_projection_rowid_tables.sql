-- The issue and comment rows carry whole JSON documents, too large for
-- WITHOUT ROWID tables (SQLite advises against rows over ~1/20 of a page).
-- The projection is rebuilt from git, so it is simply dropped and recreated;
-- the next read of each project rebuilds it.
DROP TABLE issues;
DROP TABLE issue_comments;
DELETE FROM issue_tags;
DELETE FROM ticket_sync;
CREATE TABLE issues (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    number INTEGER NOT NULL,
    uid TEXT NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT,
    priority TEXT,
    milestone TEXT,
    private INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    fields_updated_at INTEGER NOT NULL DEFAULT 0,
    comment_count INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL,
    UNIQUE (project, number)
);
CREATE INDEX issues_status ON issues(project, status, number);
CREATE INDEX issues_assignee ON issues(project, assignee, number);
CREATE INDEX issues_author ON issues(project, author, number);
CREATE INDEX issues_milestone ON issues(project, milestone, number);
CREATE TABLE issue_comments (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    number INTEGER NOT NULL,
    comment_id TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (project, number, comment_id)
);
