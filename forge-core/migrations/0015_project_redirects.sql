-- The names a project had before a rename: links and clone URLs under an
-- old name are sent on to the project's current one. A project created
-- later under that name takes it over (its row is then deleted).
CREATE TABLE project_redirects (
    old_name TEXT PRIMARY KEY COLLATE NOCASE,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX project_redirects_by_project ON project_redirects(project_id);
