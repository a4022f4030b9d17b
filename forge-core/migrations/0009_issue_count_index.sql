-- Counting a listing (the HTTP API's total_issues) from the index alone,
-- including the private-issue check for non-members.
CREATE INDEX issues_counting ON issues(project, status, private, author, assignee);
