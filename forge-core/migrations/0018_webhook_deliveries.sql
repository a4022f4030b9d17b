-- What each delivery attempt of a webhook sent and got: its headers and
-- body (signatures, never the secret), the answer's status and first
-- bytes, the error, how long it took. Pruned to the newest per webhook.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT NOT NULL,
    status INTEGER,
    response TEXT NOT NULL DEFAULT '',
    error TEXT,
    duration_ms INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries(webhook_id, id);
