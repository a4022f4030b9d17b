-- Reply-by-e-mail. Each notification sent gets a row here: who it was
-- sent to (user and address), about what (project, issue or pull request),
-- as which message; its reply address carries the row's id and an HMAC of
-- these fields under the home's mail.key. Each reply taken in is kept by
-- its Message-ID, so that one delivered twice is posted once.
CREATE TABLE mail_replies (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    address TEXT NOT NULL,
    project TEXT NOT NULL,
    kind TEXT NOT NULL,
    item INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE mail_ingested (
    message_id TEXT PRIMARY KEY,
    reply_id INTEGER NOT NULL,
    comment_id TEXT,
    created_at INTEGER NOT NULL
);
