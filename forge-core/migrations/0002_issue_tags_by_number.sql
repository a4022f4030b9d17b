-- Replacing an issue's tags deletes by (project, number); without this index
-- that was a scan of every tag of the project.
CREATE INDEX issue_tags_by_number ON issue_tags(project, number);
