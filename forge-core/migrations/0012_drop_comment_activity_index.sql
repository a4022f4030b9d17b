-- A new comment is now counted into its document's row as it is applied
-- (count + 1, last activity the later of the two), so the last activity no
-- longer needs the newest comment looked up at each comment; only a
-- deleted or re-dated comment makes the document's comments be read again.
-- The indexes of 0011 cost every comment written one more index entry
-- (a cold reindex of 50,000 comments took 10% longer) and go.
DROP INDEX issue_comments_by_time;
DROP INDEX pr_comments_by_time;
