-- Git operations over SSH, counted: each `forge ssh serve` process (one
-- per operation, started by sshd) adds how its git ended here, and the
-- server's /metrics reports the counts beside its own git over HTTP.
CREATE TABLE ssh_git_operations (
    service TEXT NOT NULL,
    outcome TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (service, outcome)
) WITHOUT ROWID;
