-- Users, groups, projects, roles and tokens: the data that lives only in SQLite.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE TABLE user_emails (
    email TEXT PRIMARY KEY COLLATE NOCASE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_default INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_emails_user ON user_emails(user_id);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    full_name TEXT NOT NULL UNIQUE,
    namespace TEXT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    private INTEGER NOT NULL DEFAULT 0,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    settings TEXT NOT NULL DEFAULT '{}',
    next_number INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE TABLE project_user_roles (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    branches TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, user_id)
);
CREATE TABLE project_group_roles (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    branches TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, group_id)
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,
    acls TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0
);

-- The durable event log. Appended in the same transaction that changes the index.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    project TEXT NOT NULL,
    actor TEXT NOT NULL,
    issue INTEGER,
    fields TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX events_project ON events(project, id);

-- The projection of the tickets repos. Git is the truth; these rows can be rebuilt.
CREATE TABLE ticket_sync (
    project TEXT PRIMARY KEY,
    commit_id TEXT NOT NULL
);
CREATE TABLE issues (
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
    comment_count INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL,
    PRIMARY KEY (project, number)
) WITHOUT ROWID;
CREATE INDEX issues_status ON issues(project, status, number);
CREATE INDEX issues_assignee ON issues(project, assignee, number);
CREATE INDEX issues_author ON issues(project, author, number);
CREATE INDEX issues_milestone ON issues(project, milestone, number);
CREATE TABLE issue_tags (
    project TEXT NOT NULL,
    tag TEXT NOT NULL,
    number INTEGER NOT NULL,
    PRIMARY KEY (project, tag, number)
) WITHOUT ROWID;
CREATE TABLE issue_comments (
    project TEXT NOT NULL,
    number INTEGER NOT NULL,
    comment_id TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (project, number, comment_id)
) WITHOUT ROWID;
