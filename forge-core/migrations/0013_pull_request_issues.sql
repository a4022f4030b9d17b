-- The issues each pull request names (`Fixes #N`, `Relates #N` in its body
-- or commits), so that an issue shows its related pull requests as Pagure's
-- `related_prs` without reading every request. Kept with the request's row;
-- filled here from the requests indexed so far.
CREATE TABLE pull_request_issues (
    project TEXT NOT NULL,
    number INTEGER NOT NULL,
    issue INTEGER NOT NULL,
    PRIMARY KEY (project, number, issue)
) WITHOUT ROWID;
CREATE INDEX pull_request_issues_by_issue ON pull_request_issues(project, issue);
INSERT OR IGNORE INTO pull_request_issues (project, number, issue)
    SELECT p.project, p.number, j.value
    FROM pull_requests p, json_each(p.doc, '$.linked_issues') j
    WHERE j.type = 'integer';
-- A document's comment count is what people said: the notification comments
-- recording field changes (Pagure's "Metadata Update") no longer count.
UPDATE issues SET comment_count = (SELECT count(*) FROM issue_comments c
    WHERE c.project = issues.project AND c.number = issues.number
      AND coalesce(json_extract(c.doc, '$.notification'), 0) = 0);
UPDATE pull_requests SET comment_count = (SELECT count(*) FROM pr_comments c
    WHERE c.project = pull_requests.project AND c.number = pull_requests.number
      AND coalesce(json_extract(c.doc, '$.notification'), 0) = 0);
