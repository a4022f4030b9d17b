-- A user's fork of a project: repos/forks/<user>/<project>.git, sharing the
-- parent's objects through git alternates.
CREATE TABLE forks (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
