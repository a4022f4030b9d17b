-- The last activity of a document is the newest of its comments: found
-- from this index in one step instead of reading every comment's row
-- (which made each comment on a long discussion cost more than the last).
CREATE INDEX issue_comments_by_time ON issue_comments(project, number, created_at);
CREATE INDEX pr_comments_by_time ON pr_comments(project, number, created_at);
