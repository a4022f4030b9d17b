//! The command line, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// forge: issues, pull requests and git hosting, with data kept in git.
#[derive(Debug, Parser)]
#[command(name = "forge", version, about, propagate_version = true)]
pub struct Cli {
    /// Forge home (default: $FORGE_HOME, else ./forge-data).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Work offline in a clone of a tickets repository instead of a forge home.
    #[arg(long, global = true, value_name = "CLONE")]
    pub repo: Option<PathBuf>,
    /// Act as this user (default: $FORGE_USER).
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Work against a forge server's API instead of a local home (issue commands).
    #[arg(long, global = true, value_name = "URL", env = "FORGE_REMOTE")]
    pub remote: Option<String>,
    /// API token for --remote.
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "FORGE_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a forge home (idempotent).
    Init,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Work with issues.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Browse a project's source repository.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Work with pull requests.
    #[command(subcommand)]
    Pr(PrCommand),
    /// Manage groups of users.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Serve git over SSH (for sshd).
    #[command(subcommand)]
    Ssh(SshCommand),
    /// Install forge's git hooks in projects' repositories.
    #[command(subcommand)]
    Hooks(HooksCommand),
    /// Run a git hook (what the installed hook scripts call).
    #[command(hide = true)]
    Hook {
        /// pre-receive or post-receive.
        #[arg(value_enum)]
        name: HookName,
    },
    /// Run the HTTP server (REST API, git over HTTP) on the forge home.
    Serve {
        /// Address to listen on (default: forge.toml's [server] bind, or
        /// $FORGE_BIND, or 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
        /// Also serve public projects' docs on this address, another origin
        /// (default: forge.toml's [server] docs_bind, or $FORGE_DOCS_BIND;
        /// none without them).
        #[arg(long)]
        docs_bind: Option<String>,
        /// Do not deliver webhooks from this process (run `forge worker`
        /// elsewhere instead).
        #[arg(long)]
        no_worker: bool,
    },
    /// API tokens of the acting user.
    #[command(subcommand)]
    Token(TokenCommand),
    /// A user's commits per day (for a contribution heatmap).
    Activity {
        /// Username.
        user: String,
        /// Only this year.
        #[arg(long)]
        year: Option<i32>,
    },
    /// Rebuild the issue index from git.
    Reindex {
        /// Only this project.
        #[arg(short, long)]
        project: Option<String>,
    },
    /// Import issues from another tracker.
    #[command(subcommand)]
    Import(ImportCommand),
    /// List the durable event log.
    Events {
        /// Only this project.
        #[arg(short, long)]
        project: Option<String>,
        /// Only events after this id.
        #[arg(long, default_value_t = 0)]
        since: i64,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Deliver what the event log holds for the webhooks (until stopped;
    /// with --once, until nothing is ready).
    Worker {
        /// Stop when no job is ready instead of waiting for more.
        #[arg(long)]
        once: bool,
    },
    /// A project's webhooks (project admins).
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Search issues, pull requests and comments: words, "phrases" and
    /// qualifiers (is:open, label:bug, author:alice, created:>2026-01-01,
    /// in:title, sort:updated-desc, -negated; docs/search.md).
    Search {
        /// Only this project (also `repo:NAME` in the query).
        #[arg(short, long)]
        project: Option<String>,
        /// At most this many results.
        #[arg(long, default_value_t = 30)]
        limit: usize,
        /// The query, in quotes when it has several words
        /// (`forge search 'loose -label:bug'`).
        #[arg(allow_hyphen_values = true)]
        query: String,
    },
    /// Mirrors (project admins): a project made a read-only copy of a
    /// GitHub repository's issues, pull requests, comments, labels,
    /// milestones and users, kept up to date by its webhooks.
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// A project's CI server (project admins): it builds each pull request
    /// and forge flags the request with the result.
    #[command(subcommand)]
    Ci(CiCommand),
    /// Check the forge home: database, repositories, indexes against git,
    /// event log and queues; adopt repositories the database does not know
    /// (after a lost forge.db) with --repair.
    Fsck {
        /// Only this project.
        #[arg(short, long)]
        project: Option<String>,
        /// Make the safe repairs (and adopt unknown repositories: projects
        /// owned by --as USER, else `admin`, created without credentials).
        #[arg(long)]
        repair: bool,
    },
    /// Backups of the whole forge home, taken while it serves: create,
    /// verify, restore, prune (docs/operations.md).
    #[command(subcommand)]
    Backup(BackupCommand),
    /// The delivery queues fed from the event log: status, jobs, retries.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// E-mail: what a reply would post.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Check replies by e-mail while the sender is connected: a milter
    /// for postfix's smtpd_milters that refuses, with the reason, mail to
    /// a forged or expired reply address or from someone other than its
    /// user (until stopped).
    Milter {
        /// Where to listen: host:port (inet:host:port) or unix:/path.
        #[arg(long, default_value = "127.0.0.1:8899")]
        bind: String,
    },
    /// Git merge driver for ticket documents (configured by forge in clones).
    #[command(hide = true)]
    MergeDriver {
        /// Common ancestor (%O).
        base: PathBuf,
        /// Our version, overwritten with the result (%A).
        ours: PathBuf,
        /// Their version (%B).
        theirs: PathBuf,
        /// Path in the repository (%P).
        path: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Register a user.
    Add {
        /// Username.
        name: String,
        /// Email address (repeat for more; the first is the default).
        #[arg(long, required = true)]
        email: Vec<String>,
        /// Display name.
        #[arg(long, default_value = "")]
        full_name: String,
    },
    /// Change a user's display name.
    Edit {
        /// Username.
        name: String,
        /// New display name.
        #[arg(long)]
        full_name: String,
    },
    /// List users.
    List,
    /// Set a user's password for signing in to the web pages, read as one
    /// line from standard input (at least 8 characters).
    Passwd {
        /// Username.
        name: String,
    },
    /// Disable an account: no sign-in, no token, no SSH key, no push.
    Disable {
        /// Username.
        name: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// Username.
        name: String,
    },
    /// Make a user a site admin (who may disable accounts on the web
    /// pages), or with --revoke no longer one.
    Admin {
        /// Username.
        name: String,
        /// Take the right away instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Manage a user's SSH keys.
    #[command(subcommand)]
    Key(UserKeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserKeyCommand {
    /// Register an SSH public key (the line of a .pub file).
    Add {
        /// Username.
        user: String,
        /// `ssh-ed25519 AAAA... comment`.
        #[arg(long)]
        key: String,
    },
    /// List a user's keys with their fingerprints.
    List {
        /// Username.
        user: String,
    },
    /// Remove a key, by the key or its `SHA256:` fingerprint.
    Remove {
        /// Username.
        user: String,
        /// The key line or its fingerprint.
        #[arg(long)]
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeployKeyCommand {
    /// Register a deploy key: reads the project's source (and docs); pushes with --push.
    Add {
        /// Project name.
        project: String,
        /// `ssh-ed25519 AAAA... comment`.
        #[arg(long)]
        key: String,
        /// May push to the source repository.
        #[arg(long)]
        push: bool,
    },
    /// List a project's deploy keys.
    List {
        /// Project name.
        project: String,
    },
    /// Remove a deploy key, by the key or its fingerprint.
    Remove {
        /// Project name.
        project: String,
        /// The key line or its fingerprint.
        #[arg(long)]
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for the acting user; its secret is shown once.
    Create {
        /// Limit it to this project.
        #[arg(short, long)]
        project: Option<String>,
        /// Action names it allows, comma-separated (issue_create, pull_request_merge, commit, ...).
        #[arg(long, value_delimiter = ',', required = true)]
        acl: Vec<String>,
        /// Days until it expires (never, by default).
        #[arg(long)]
        expires_days: Option<u32>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the acting user's tokens (never their secrets).
    List,
    /// Revoke one of the acting user's tokens.
    Revoke {
        /// Token id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Install (or update) the pre-receive and post-receive hooks in the four
    /// repositories of a project, or of every project and fork.
    Install {
        /// Only this project (with its forks).
        #[arg(short, long, conflicts_with = "all", required_unless_present = "all")]
        project: Option<String>,
        /// Every project.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HookName {
    PreReceive,
    PostReceive,
}

#[derive(Debug, Subcommand)]
pub enum SshCommand {
    /// For sshd's AuthorizedKeysCommand (`%t %k`): prints the forced-command
    /// line for a registered key, nothing for an unknown one.
    AuthorizedKeys {
        /// Key type (%t).
        key_type: String,
        /// Base64 key (%k).
        key: String,
    },
    /// The forced command: runs the git command of SSH_ORIGINAL_COMMAND for USER.
    Serve {
        /// The user the key belongs to.
        #[arg(required_unless_present = "deploy_key")]
        user: Option<String>,
        /// Serve a deploy key (its id) instead of a user.
        #[arg(long, conflicts_with = "user")]
        deploy_key: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project (the acting user becomes its owner).
    Create {
        /// Name, optionally with a namespace: `ns/name`.
        name: String,
        /// One-line description.
        #[arg(long, default_value = "")]
        description: String,
        /// Only members may see it.
        #[arg(long)]
        private: bool,
    },
    /// List projects.
    List,
    /// Show a project (or a user's fork of it).
    Show {
        /// Project name.
        name: String,
        /// Show this user's fork instead.
        #[arg(long)]
        fork: Option<String>,
    },
    /// Manage who may do what in a project.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Manage a project's deploy keys.
    #[command(subcommand)]
    DeployKey(DeployKeyCommand),
    /// List a project's settings, or change them with --set KEY=VALUE (admins).
    Settings {
        /// Project name.
        name: String,
        /// KEY=VALUE (repeatable); lists are comma-separated, empty to clear.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Fork a project as the acting user (repos/forks/USER/P.git).
    Fork {
        /// Project name.
        name: String,
    },
    /// Rename a project, or move it to another namespace (`ns/name`);
    /// links and clone URLs under the old name keep working (project admins).
    Rename {
        /// Project name.
        name: String,
        /// The new full name (`name` or `ns/name`).
        new_name: String,
    },
    /// Give a project to another user (its owner, or a site admin).
    Transfer {
        /// Project name.
        name: String,
        /// The new owner.
        owner: String,
        /// The previous owner stays an admin of the project.
        #[arg(long)]
        keep_access: bool,
    },
    /// Delete a project with its issues, pull requests, repositories and
    /// forks, for good (its owner, or a site admin).
    Delete {
        /// Project name.
        name: String,
        /// Do not ask to type the name again (needed when not on a terminal).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add a target URL; its secret (generated unless --secret) is shown once.
    Add {
        /// Project name.
        #[arg(short, long)]
        project: String,
        /// Where deliveries are posted (http or https; no internal address).
        url: String,
        /// Event types it wants, comma-separated (issue.new, issue.*); all by default.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Its secret, whsec_<base64 of 24 to 64 bytes>.
        #[arg(long)]
        secret: Option<String>,
    },
    /// List a project's webhooks.
    List {
        /// Project name.
        #[arg(short, long)]
        project: String,
    },
    /// Send a `webhook.test` event to a webhook now, and show the answer.
    Test {
        /// Project name.
        #[arg(short, long)]
        project: String,
        /// The webhook's id.
        id: i64,
    },
    /// The delivery log (of one webhook, or all of the project's), newest first.
    Deliveries {
        /// Project name.
        #[arg(short, long)]
        project: String,
        /// Only this webhook.
        id: Option<i64>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Send a logged delivery's event again, now.
    Redeliver {
        /// Project name.
        #[arg(short, long)]
        project: String,
        /// The delivery's id (from `deliveries`).
        delivery: i64,
    },
    /// Remove a webhook.
    Remove {
        /// Project name.
        #[arg(short, long)]
        project: String,
        /// The webhook's id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Copy the forge home (database, every repository and fork, keys,
    /// configuration) into a new folder `forge-backup-<UTC time>` under
    /// PATH, consistently, while it goes on serving and writing.
    Create {
        /// The folder backups go to (default: <home>/backups).
        #[arg(long, value_name = "PATH")]
        to: Option<PathBuf>,
        /// Copy at most this many megabytes a second (0: as fast as the
        /// disk goes), leaving the rest of the machine to the server (the
        /// default, 50, backs up 3 GB a minute).
        #[arg(long, value_name = "MB", default_value_t = 50)]
        max_rate: u64,
    },
    /// Check a backup without changing it: its database (SQLite's integrity
    /// check), every repository (git fsck), every index against its git.
    Verify {
        /// The backup folder (`forge-backup-...`).
        path: PathBuf,
    },
    /// Make the forge home given with --home from a backup (refused when
    /// that folder holds anything, unless --force).
    Restore {
        /// The backup folder (`forge-backup-...`).
        path: PathBuf,
        /// Put the backup in place of a home that is there (which is moved
        /// aside to <home>.replaced-<pid>, not deleted).
        #[arg(long)]
        force: bool,
    },
    /// Keep the newest backup of each of the last N days and of each of
    /// the last N weeks; remove the others (and leftovers of killed backups).
    Prune {
        /// The folder of backups (default: <home>/backups).
        #[arg(long, value_name = "PATH")]
        to: Option<PathBuf>,
        /// Days to keep a backup of.
        #[arg(long, default_value_t = 7)]
        keep_daily: usize,
        /// Weeks to keep a backup of.
        #[arg(long, default_value_t = 4)]
        keep_weekly: usize,
        /// Only say what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Mirror a GitHub repository.
    #[command(subcommand)]
    Github(GithubMirrorCommand),
    /// What a mirror holds and when it last heard from GitHub.
    Status {
        /// Project name.
        #[arg(short, long)]
        project: String,
    },
    /// Fetch the repository and read everything GitHub has (only what
    /// changed costs rate limit; a killed sync goes on where it stopped).
    Sync {
        /// Project name.
        #[arg(short, long)]
        project: String,
    },
    /// Make the project its own again (what was replicated stays).
    Remove {
        /// Project name.
        #[arg(short, long)]
        project: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GithubMirrorCommand {
    /// Make a project (without issues or pull requests of its own) a
    /// read-only mirror of OWNER/REPO, then sync it. Prints the webhook to
    /// add on GitHub (URL and secret, shown this once).
    Add {
        /// Project name.
        #[arg(short, long)]
        project: String,
        /// The GitHub repository.
        #[arg(value_name = "OWNER/REPO")]
        github_repo: String,
        /// A file holding the API token (`-`: standard input); without
        /// one, GitHub allows 60 requests an hour.
        #[arg(long)]
        token_file: Option<std::path::PathBuf>,
        /// The API's address (GitHub Enterprise: https://HOST/api/v3).
        #[arg(long)]
        api_url: Option<String>,
        /// The webhook's secret (made when not given).
        #[arg(long)]
        secret: Option<String>,
        /// Do not sync now (`forge mirror sync` later).
        #[arg(long)]
        no_sync: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Set (or replace) the project's CI server. Prints the address the
    /// server calls back when a build ends, shown this once.
    Set {
        /// Project name.
        #[arg(short, long)]
        project: String,
        /// The provider: `jenkins`.
        provider: String,
        /// The server's URL (http or https; no internal address unless
        /// webhooks may reach them).
        #[arg(long)]
        url: String,
        /// The job (`folder/name` for a job in a folder).
        #[arg(long)]
        job: String,
        /// The job's trigger token ("Trigger builds remotely").
        #[arg(
            long,
            conflicts_with = "token_file",
            required_unless_present = "token_file"
        )]
        token: Option<String>,
        /// Read the trigger token from this file (`-`: standard input), so
        /// that it shows in no process list.
        #[arg(long)]
        token_file: Option<std::path::PathBuf>,
    },
    /// Show the project's CI server (no token).
    Show {
        /// Project name.
        #[arg(short, long)]
        project: String,
    },
    /// Stop building the project's pull requests.
    Remove {
        /// Project name.
        #[arg(short, long)]
        project: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Print the text a reply would post: the message (a whole RFC 5322
    /// message, or a bare text body) without what it quotes, its
    /// signature and "Sent from my phone".
    Trim {
        /// The message's file (standard input when absent or `-`).
        file: Option<PathBuf>,
    },
    /// Take in one reply (an RFC 5322 message on standard input, as
    /// postfix's pipe transport gives it) and post it as a comment. Exit
    /// status per sysexits: 0 posted (or dropped: an auto-reply, a bounce,
    /// a message posted before), 65 unusable message, 67 unknown, forged
    /// or expired reply address or a sender who is not its user, 75 try
    /// again later, 77 not allowed to comment there.
    Ingest {
        /// The envelope recipient (postfix's `${recipient}`); else the
        /// reply address is looked for in To, Cc and Delivered-To.
        #[arg(long)]
        recipient: Option<String>,
    },
    /// Show or set which notification mails you get (the --as user):
    /// all (every event of the projects you are a member of),
    /// participating (items you wrote, are assigned, watch, commented on
    /// or are mentioned in; the default) or none.
    Prefs {
        /// For this project only (else your default).
        #[arg(short, long)]
        project: Option<String>,
        /// Set this level.
        #[arg(long)]
        level: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Each consumer: cursor, lag in events and seconds, jobs pending,
    /// retrying, running and dead.
    Status,
    /// Jobs, newest first.
    List {
        /// Only jobs in this state.
        #[arg(long, value_enum)]
        state: Option<JobStateArg>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Make a dead job (or every dead job) pending again, with fresh attempts.
    Retry {
        /// The job's id.
        #[arg(required_unless_present = "dead", conflicts_with = "dead")]
        id: Option<i64>,
        /// Every dead job.
        #[arg(long)]
        dead: bool,
    },
    /// Delete dead jobs.
    Purge {
        /// The dead jobs (the only ones purged).
        #[arg(long, required = true)]
        dead: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum JobStateArg {
    Pending,
    Running,
    Done,
    Dead,
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Give a user (or @group) a role; again to change it (project admins).
    Add {
        /// Project name.
        project: String,
        /// Username, or @group.
        member: String,
        /// ticket, collaborator, commit or admin.
        #[arg(long, value_enum, default_value_t = RoleArg::Commit)]
        role: RoleArg,
        /// Branch patterns a collaborator may push and merge into ('feature/*,docs').
        #[arg(long, default_value = "")]
        branches: String,
    },
    /// Take a user's (or @group's) role away (project admins).
    Remove {
        /// Project name.
        project: String,
        /// Username, or @group.
        member: String,
    },
    /// List members with their roles.
    List {
        /// Project name.
        project: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Ticket,
    Collaborator,
    Commit,
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Create {
        /// Group name.
        name: String,
    },
    /// Add a user to a group.
    Add {
        /// Group name.
        group: String,
        /// Username.
        user: String,
    },
    /// Remove a user from a group.
    Remove {
        /// Group name.
        group: String,
        /// Username.
        user: String,
    },
    /// List groups and their members.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PrCommand {
    /// Open a pull request from a branch of the project, of a fork, or of a remote URL.
    New {
        #[command(flatten)]
        project: ProjectArg,
        /// Title.
        #[arg(long)]
        title: String,
        /// Description (Markdown); `Fixes #N` closes issue N when merged.
        #[arg(long, default_value = "")]
        body: String,
        /// Source branch.
        #[arg(long)]
        from: String,
        /// The branch is in this user's fork.
        #[arg(long, conflicts_with = "from_url")]
        from_fork: Option<String>,
        /// The branch is in this remote repository (http(s), git or ssh URL).
        #[arg(long)]
        from_url: Option<String>,
        /// Target branch (default: the default branch).
        #[arg(long)]
        to: Option<String>,
        /// Assignee.
        #[arg(long)]
        assignee: Option<String>,
    },
    /// List pull requests.
    List {
        #[command(flatten)]
        project: ProjectArg,
        /// Which ones.
        #[arg(long, value_enum, default_value_t = PrStatusArg::Open)]
        status: PrStatusArg,
        /// Only those opened by this user.
        #[arg(long)]
        author: Option<String>,
        /// Only those assigned to this user.
        #[arg(long)]
        assignee: Option<String>,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show a pull request: commits, merge status, flags, score, comments.
    Show {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
    },
    /// The unified diff of a pull request (base to head).
    Diff {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
    },
    /// Comment, or comment on a line with --path and --line.
    Comment {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
        /// Comment (Markdown); exactly `+1` or `-1` also votes.
        #[arg(long)]
        body: String,
        /// File of an inline comment.
        #[arg(long, requires = "line")]
        path: Option<String>,
        /// Line of an inline comment (in the file at the commit).
        #[arg(long, requires = "path")]
        line: Option<u32>,
        /// Commit of an inline comment (default: the head, or the base with --side old).
        #[arg(long, requires = "path")]
        commit: Option<String>,
        /// Side of the diff.
        #[arg(long, value_enum, default_value_t = SideArg::New, requires = "path")]
        side: SideArg,
    },
    /// Post a CI status on the head commit (the same name again replaces it).
    Flag {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
        /// Flag name (the CI job).
        #[arg(long)]
        name: String,
        /// success, failure, error, pending or canceled.
        #[arg(long)]
        status: String,
        /// Completion, 0-100.
        #[arg(long)]
        percent: Option<u8>,
        /// Free text.
        #[arg(long, default_value = "")]
        comment: String,
        /// Link to the CI run.
        #[arg(long)]
        url: Option<String>,
    },
    /// Vote +1 (up) or -1 (down).
    Vote {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
        /// up or down.
        #[arg(value_enum)]
        vote: VoteArg,
    },
    /// Change title, description, assignee, tags or watching.
    Edit {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New description.
        #[arg(long)]
        body: Option<String>,
        /// New assignee (empty to unassign).
        #[arg(long)]
        assignee: Option<String>,
        /// Add a tag (repeatable).
        #[arg(long)]
        tag: Vec<String>,
        /// Remove a tag (repeatable).
        #[arg(long)]
        untag: Vec<String>,
        /// Watch it.
        #[arg(long, conflicts_with = "unwatch")]
        watch: bool,
        /// Stop watching it.
        #[arg(long)]
        unwatch: bool,
    },
    /// Merge into the target branch, after the project's gates.
    Merge {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
        /// How.
        #[arg(long, value_enum, default_value_t = StrategyArg::Merge)]
        strategy: StrategyArg,
    },
    /// Close without merging.
    Close {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
    },
    /// Reopen a closed pull request.
    Reopen {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
    },
    /// Follow the source branch: new head, commits, refs/pull/N/head, merge status.
    Refresh {
        #[command(flatten)]
        project: ProjectArg,
        /// Number.
        id: u64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PrStatusArg {
    Open,
    Closed,
    Merged,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SideArg {
    New,
    Old,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VoteArg {
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StrategyArg {
    /// Fast-forward only.
    Ff,
    /// A merge commit.
    Merge,
    /// One commit with all the changes.
    Squash,
    /// The commits replayed on the target.
    Rebase,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Open,
    Closed,
    All,
}

#[derive(Debug, Args)]
pub struct ProjectArg {
    /// Project (not needed with --repo).
    #[arg(short, long)]
    pub project: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum IssueCommand {
    /// Open an issue.
    New {
        #[command(flatten)]
        project: ProjectArg,
        /// Title.
        #[arg(long)]
        title: String,
        /// Body (Markdown).
        #[arg(long, conflicts_with = "body_file")]
        body: Option<String>,
        /// Read the body from a file (`-` for stdin).
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// Tag (repeatable).
        #[arg(long)]
        tag: Vec<String>,
        /// Assignee.
        #[arg(long)]
        assignee: Option<String>,
        /// Priority.
        #[arg(long)]
        priority: Option<String>,
        /// Milestone.
        #[arg(long)]
        milestone: Option<String>,
        /// Private issue.
        #[arg(long)]
        private: bool,
        /// Custom field NAME=VALUE (one of the project's; repeatable).
        #[arg(long)]
        field: Vec<String>,
    },
    /// List issues, newest first.
    List {
        #[command(flatten)]
        project: ProjectArg,
        /// Status.
        #[arg(long, value_enum, default_value = "open")]
        status: StatusArg,
        /// Only with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only assigned to this user.
        #[arg(long)]
        assignee: Option<String>,
        /// Only opened by this user.
        #[arg(long)]
        author: Option<String>,
        /// Only in this milestone.
        #[arg(long)]
        milestone: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show an issue with its comments.
    Show {
        #[command(flatten)]
        project: ProjectArg,
        /// Issue number (`~N` for one made offline and not numbered yet).
        #[arg(value_parser = issue_number)]
        id: u64,
    },
    /// Comment on an issue.
    Comment {
        #[command(flatten)]
        project: ProjectArg,
        /// Issue number (`~N` for one made offline and not numbered yet).
        #[arg(value_parser = issue_number)]
        id: u64,
        /// Comment (Markdown).
        #[arg(long)]
        body: String,
    },
    /// Edit an issue.
    Edit(EditArgs),
    /// Close an issue.
    Close {
        #[command(flatten)]
        project: ProjectArg,
        /// Issue number (`~N` for one made offline and not numbered yet).
        #[arg(value_parser = issue_number)]
        id: u64,
        /// Close reason (one of the project's list).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reopen an issue.
    Reopen {
        #[command(flatten)]
        project: ProjectArg,
        /// Issue number (`~N` for one made offline and not numbered yet).
        #[arg(value_parser = issue_number)]
        id: u64,
    },
}

#[derive(Debug, Args)]
pub struct EditArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Issue number (`~N` for one made offline and not numbered yet).
    #[arg(value_parser = issue_number)]
    pub id: u64,
    /// New title.
    #[arg(long)]
    pub title: Option<String>,
    /// New body.
    #[arg(long)]
    pub body: Option<String>,
    /// Add a tag (repeatable).
    #[arg(long)]
    pub add_tag: Vec<String>,
    /// Remove a tag (repeatable).
    #[arg(long)]
    pub remove_tag: Vec<String>,
    /// Assign (empty to unassign).
    #[arg(long)]
    pub assignee: Option<String>,
    /// Priority (empty to clear).
    #[arg(long)]
    pub priority: Option<String>,
    /// Milestone (empty to clear).
    #[arg(long)]
    pub milestone: Option<String>,
    /// Custom field NAME=VALUE (empty VALUE removes it; repeatable).
    #[arg(long)]
    pub field: Vec<String>,
    /// This issue depends on issue ID (repeatable).
    #[arg(long)]
    pub depends: Vec<u64>,
    /// This issue blocks issue ID (repeatable).
    #[arg(long)]
    pub blocks: Vec<u64>,
    /// Make the issue private.
    #[arg(long, conflicts_with = "public")]
    pub private: bool,
    /// Make the issue public.
    #[arg(long)]
    pub public: bool,
    /// Watch the issue.
    #[arg(long, conflicts_with = "unwatch")]
    pub watch: bool,
    /// Stop watching the issue.
    #[arg(long)]
    pub unwatch: bool,
}

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Branches with their head commits.
    Branches {
        #[command(flatten)]
        project: ProjectArg,
    },
    /// Tags with the commits they name.
    Tags {
        #[command(flatten)]
        project: ProjectArg,
    },
    /// The commit log, newest first.
    Log {
        #[command(flatten)]
        project: ProjectArg,
        /// Branch, tag or commit (default: the default branch).
        #[arg(long = "ref")]
        rev: Option<String>,
        /// Only commits that changed this path.
        #[arg(long)]
        path: Option<String>,
        /// Skip this many commits first.
        #[arg(long, default_value_t = 0)]
        skip: usize,
        /// At most this many.
        #[arg(long, default_value_t = 30)]
        limit: usize,
    },
    /// List a folder.
    Tree {
        #[command(flatten)]
        project: ProjectArg,
        /// Branch, tag or commit (default: the default branch).
        #[arg(long = "ref")]
        rev: Option<String>,
        /// Folder (default: the root).
        #[arg(default_value = "")]
        path: String,
    },
    /// One commit with its diff against its first parent.
    Show {
        #[command(flatten)]
        project: ProjectArg,
        /// Commit (branch, tag or id).
        commit: String,
    },
    /// The diff between two revisions, written `A..B`.
    Diff {
        #[command(flatten)]
        project: ProjectArg,
        /// `A..B`: what B changes relative to A.
        range: String,
    },
    /// Which commit last changed each line of a file.
    Blame {
        #[command(flatten)]
        project: ProjectArg,
        /// Branch, tag or commit (default: the default branch).
        #[arg(long = "ref")]
        rev: Option<String>,
        /// File path.
        path: String,
    },
    /// Search the files of a branch (default: the default branch) for
    /// lines matching a regular expression (or, with -F, plain text);
    /// bounded in matches and time.
    Grep {
        #[command(flatten)]
        project: ProjectArg,
        /// Branch, tag or commit (default: the default branch).
        #[arg(long = "ref")]
        rev: Option<String>,
        /// The pattern is plain text, not a regular expression.
        #[arg(short = 'F', long)]
        fixed: bool,
        /// Letters match whatever their case.
        #[arg(short, long)]
        ignore_case: bool,
        /// Matching lines shown at most (up to 1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// The pattern (quote it).
        #[arg(allow_hyphen_values = true)]
        pattern: String,
    },
    /// Print a file.
    Cat {
        #[command(flatten)]
        project: ProjectArg,
        /// Branch, tag or commit (default: the default branch).
        #[arg(long = "ref")]
        rev: Option<String>,
        /// File path.
        path: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a Pagure tickets repository, its requests repository, or both
    /// (bare or not).
    Pagure {
        /// Target project.
        #[arg(short, long)]
        project: String,
        /// Path of the Pagure tickets repository.
        #[arg(required_unless_present = "requests")]
        path: Option<PathBuf>,
        /// Path of the Pagure requests repository (its pull requests).
        #[arg(long, value_name = "PATH")]
        requests: Option<PathBuf>,
    },
}

/// An issue number: `12`, `#12`, or `~1` for one made offline.
fn issue_number(text: &str) -> Result<u64, String> {
    forge_tickets::parse_number(text).ok_or_else(|| {
        format!("`{text}` is not an issue number (12, #12, or ~1 for one made offline)")
    })
}
