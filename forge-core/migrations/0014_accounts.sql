-- Accounts for the web application: a password (argon2id, PHC string),
-- whether a site admin disabled the account, and whether the user is a
-- site admin; sessions kept only as the SHA-256 of their secret; failed
-- sign-ins, to throttle guessing per account and per address.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN site_admin INTEGER NOT NULL DEFAULT 0;
CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    address TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE TABLE sign_in_failures (
    subject TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_subject ON sign_in_failures(subject, at);
