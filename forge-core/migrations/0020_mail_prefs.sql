-- Who wants which notification mails: per user, for one project or (with
-- project '') by default: 'all' (every event of the projects they are a
-- member of), 'participating' (the items they wrote, are assigned, watch,
-- commented on or are mentioned in), 'none'.
CREATE TABLE mail_prefs (
    user TEXT NOT NULL,
    project TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (user, project)
);
