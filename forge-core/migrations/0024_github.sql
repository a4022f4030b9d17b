-- GitHub replication (forge-notify github). A project that mirrors a
-- GitHub repository: the repository (owner/name), the API's base URL, the
-- API token and the webhook secret (both encrypted with the home's key,
-- webhook.key). Its issues and pull requests are written by the
-- replication only: local writes are refused while the row exists.
CREATE TABLE github_mirrors (
    project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    repo TEXT NOT NULL,
    api_url TEXT NOT NULL,
    token TEXT,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- Where a backfill stands in each resource (labels, milestones, issues,
-- pulls, comments, review comments): the next page to fetch (NULL once the
-- last page is done), so that a killed backfill goes on where it stopped.
CREATE TABLE github_cursors (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    resource TEXT NOT NULL,
    next_url TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, resource)
) WITHOUT ROWID;
-- Each page fetched: its ETag and the page after it, so that a run with
-- nothing changed asks only conditional requests (a 304 costs no rate
-- limit and says nothing about the next page).
CREATE TABLE github_pages (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    etag TEXT NOT NULL,
    next_url TEXT,
    PRIMARY KEY (project_id, url)
) WITHOUT ROWID;
-- Each record replicated: GitHub's id, the forge number it went to, the
-- updated_at of what is stored (an older payload never overwrites it), and
-- when it was last replicated by a webhook and by the API (epoch ms).
CREATE TABLE github_records (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    github_id INTEGER NOT NULL,
    number INTEGER,
    updated_at INTEGER NOT NULL,
    by_webhook_at INTEGER,
    by_api_at INTEGER,
    PRIMARY KEY (project_id, kind, github_id)
) WITHOUT ROWID;
-- Webhook deliveries taken (X-GitHub-Delivery): a delivery sent again is
-- applied once. The payload waits here for the github worker (a
-- github.received event names the delivery) and is dropped once applied.
CREATE TABLE github_deliveries (
    delivery TEXT PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    payload TEXT,
    received_at INTEGER NOT NULL,
    applied_at INTEGER
) WITHOUT ROWID;
