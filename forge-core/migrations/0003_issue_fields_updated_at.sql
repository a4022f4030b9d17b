-- When the issue's own fields last changed, kept apart from `updated_at`
-- (which also counts comments) so activity is recomputed without parsing JSON.
ALTER TABLE issues ADD COLUMN fields_updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE issues SET fields_updated_at = coalesce(unixepoch(json_extract(doc, '$.updated_at')), updated_at);
