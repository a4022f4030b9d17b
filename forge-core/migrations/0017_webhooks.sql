-- Webhook targets of a project: a URL, the event types it wants (empty:
-- all), its secret encrypted with the forge home's key (webhook.key), and
-- whether it is active (a 410 Gone disables it, with the reason), and the
-- last event before it existed (it is sent only what happens after).
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    since_event INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhooks_by_project ON webhooks(project_id);
