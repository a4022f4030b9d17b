-- Deliveries fed from the event log (forge-notify): each consumer's cursor
-- (the last event it turned into jobs), and its jobs, one per event and
-- target (a webhook, a mailbox), kept in order per target. Claims are
-- leases: a job whose worker died is claimed again once its lease ends.
-- Times are epoch milliseconds.
CREATE TABLE consumers (
    name TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    consumer TEXT NOT NULL,
    target TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    run_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (consumer, target, event_id)
);
CREATE INDEX jobs_ready ON jobs(consumer, state, run_at);
CREATE INDEX jobs_by_target ON jobs(consumer, target, state, id);
