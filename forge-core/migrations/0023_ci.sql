-- A project's CI server (forge-notify ci): the provider, its URL and job,
-- the token forge triggers builds with (encrypted with the home's key,
-- webhook.key: forge sends it out), the SHA-256 of the token the server
-- calls back with (forge only checks it), the flag name its results take,
-- and the last event before it was set (builds are asked for what happens
-- after).
CREATE TABLE ci_settings (
    project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    url TEXT NOT NULL,
    job TEXT NOT NULL,
    trigger_token TEXT NOT NULL,
    callback_hash TEXT NOT NULL,
    since_event INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
