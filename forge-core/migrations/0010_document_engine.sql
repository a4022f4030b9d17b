-- One document engine for issues and pull requests: both projections keep
-- the time of the last change to the document's own fields, so the last
-- activity can be recomputed when comments change.
ALTER TABLE pull_requests ADD COLUMN fields_updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE pull_requests SET fields_updated_at = coalesce(unixepoch(json_extract(doc, '$.updated_at')), updated_at);
-- Documents made offline live under new/<uid>/ until the forge numbers
-- them: the number each uid was given (a forge: from the project's
-- sequence; a clone: a provisional one).
CREATE TABLE provisional_numbers (
    project TEXT NOT NULL,
    kind TEXT NOT NULL,
    uid TEXT NOT NULL,
    number INTEGER NOT NULL,
    PRIMARY KEY (project, kind, uid)
) WITHOUT ROWID;
CREATE UNIQUE INDEX provisional_numbers_by_number ON provisional_numbers(project, kind, number);
-- Who pushed each commit to a tickets or requests repository (written by
-- pre-receive before the branch moves), so that the events of a push name
-- the authenticated pusher whoever the commits say wrote them.
CREATE TABLE push_actors (
    commit_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    pusher TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
