-- SSH public keys: a user's (user_id set) or a project's deploy key
-- (project_id set). A key belongs to one owner only, so a key names one identity.
CREATE TABLE ssh_keys (
    id INTEGER PRIMARY KEY,
    key_type TEXT NOT NULL,
    key_blob TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,
    push INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (key_blob)
);
CREATE INDEX ssh_keys_user ON ssh_keys(user_id);
CREATE INDEX ssh_keys_project ON ssh_keys(project_id);

-- The activity log ("log com"): one row per commit pushed to a project,
-- matched to a user by the commit's email.
CREATE TABLE activity (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    username TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    day TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project, commit_id)
);
CREATE INDEX activity_user_day ON activity(username, day);
