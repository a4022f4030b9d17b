-- Search (forge-tickets search): the words of issues, pull requests and
-- their comments in an FTS5 index, kept by triggers on the index tables in
-- the very transaction that changes them: search is never staler than the
-- index, which is never staler than git. Row ids tell what a row is:
-- issues.id * 4, pull_requests.id * 4 + 1, issue_comments.id * 4 + 2,
-- pr_comments.id * 4 + 3.
CREATE VIRTUAL TABLE search_text USING fts5(
    title,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER issues_search_insert AFTER INSERT ON issues BEGIN
    INSERT INTO search_text (rowid, title, body)
    VALUES (new.id * 4, new.title, coalesce(json_extract(new.doc, '$.body'), ''));
END;
CREATE TRIGGER issues_search_update AFTER UPDATE OF title, doc ON issues BEGIN
    DELETE FROM search_text WHERE rowid = old.id * 4;
    INSERT INTO search_text (rowid, title, body)
    VALUES (new.id * 4, new.title, coalesce(json_extract(new.doc, '$.body'), ''));
END;
CREATE TRIGGER issues_search_delete AFTER DELETE ON issues BEGIN
    DELETE FROM search_text WHERE rowid = old.id * 4;
END;

CREATE TRIGGER pull_requests_search_insert AFTER INSERT ON pull_requests BEGIN
    INSERT INTO search_text (rowid, title, body)
    VALUES (new.id * 4 + 1, new.title, coalesce(json_extract(new.doc, '$.body'), ''));
END;
CREATE TRIGGER pull_requests_search_update AFTER UPDATE OF title, doc ON pull_requests BEGIN
    DELETE FROM search_text WHERE rowid = old.id * 4 + 1;
    INSERT INTO search_text (rowid, title, body)
    VALUES (new.id * 4 + 1, new.title, coalesce(json_extract(new.doc, '$.body'), ''));
END;
CREATE TRIGGER pull_requests_search_delete AFTER DELETE ON pull_requests BEGIN
    DELETE FROM search_text WHERE rowid = old.id * 4 + 1;
END;

CREATE TRIGGER issue_comments_search_insert AFTER INSERT ON issue_comments BEGIN
    INSERT INTO search_text (rowid, title, body)
    VALUES (new.id * 4 + 2, '', coalesce(json_extract(new.doc, '$.body'), ''));
END;
CREATE TRIGGER issue_comments_search_update AFTER UPDATE OF doc ON issue_comments BEGIN
    DELETE FROM search_text WHERE rowid = old.id * 4 + 2;
    INSERT INTO search_text (rowid, title, body)
    VALUES (new.id * 4 + 2, '', coalesce(json_extract(new.doc, '$.body'), ''));
END;
CREATE TRIGGER issue_comments_search_delete AFTER DELETE ON issue_comments BEGIN
    DELETE FROM search_text WHERE rowid = old.id * 4 + 2;
END;

CREATE TRIGGER pr_comments_search_insert AFTER INSERT ON pr_comments BEGIN
    INSERT INTO search_text (rowid, title, body)
    VALUES (new.id * 4 + 3, '', coalesce(json_extract(new.doc, '$.body'), ''));
END;
CREATE TRIGGER pr_comments_search_update AFTER UPDATE OF doc ON pr_comments BEGIN
    DELETE FROM search_text WHERE rowid = old.id * 4 + 3;
    INSERT INTO search_text (rowid, title, body)
    VALUES (new.id * 4 + 3, '', coalesce(json_extract(new.doc, '$.body'), ''));
END;
CREATE TRIGGER pr_comments_search_delete AFTER DELETE ON pr_comments BEGIN
    DELETE FROM search_text WHERE rowid = old.id * 4 + 3;
END;

-- What the index holds already.
INSERT INTO search_text (rowid, title, body)
    SELECT id * 4, title, coalesce(json_extract(doc, '$.body'), '') FROM issues;
INSERT INTO search_text (rowid, title, body)
    SELECT id * 4 + 1, title, coalesce(json_extract(doc, '$.body'), '') FROM pull_requests;
INSERT INTO search_text (rowid, title, body)
    SELECT id * 4 + 2, '', coalesce(json_extract(doc, '$.body'), '') FROM issue_comments;
INSERT INTO search_text (rowid, title, body)
    SELECT id * 4 + 3, '', coalesce(json_extract(doc, '$.body'), '') FROM pr_comments;
