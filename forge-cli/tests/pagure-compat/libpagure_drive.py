#!/usr/bin/env python3
"""Drive a forge server with libpagure, Pagure's Python client, unchanged.

Usage: libpagure_drive.py BASE_URL ALICE_TOKEN BOB_TOKEN

The server holds the data of scenario.json's set-up (users alice and bob,
project hammer with its settings and its branches main and feature); the
tokens are project tokens of hammer. Every call libpagure offers for the
endpoints forge serves is made, and what it returns is checked. Exits 0 when
all pass; otherwise prints each failure and exits 1.
"""

import sys

from libpagure import Pagure

failures = []


def check(what, ok, got):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(f"{what}: got {got!r}")


def main():
    base, alice_token, bob_token = sys.argv[1:4]
    alice = Pagure(pagure_token=alice_token, repo_to="hammer", instance_url=base, insecure=True)
    bob = Pagure(pagure_token=bob_token, repo_to="hammer", instance_url=base, insecure=True)
    anon = Pagure(repo_to="hammer", instance_url=base, insecure=True)

    version = anon.api_version()
    check("api_version", isinstance(version, str) and version, version)
    codes = anon.error_codes()
    check("error_codes", codes.get("ENOISSUE") == "Issue not found", codes)
    users = anon.list_users(pattern="a")
    check("list_users", users == ["alice"], users)
    groups = anon.list_groups()
    check("list_groups", groups == [], groups)

    created = alice.create_issue(
        "Loose handle", "It *wobbles*", priority="1", milestone="v1", tags="bug"
    )
    issue = created["issue"]
    check(
        "create_issue",
        created["message"] == "Issue created"
        and issue["id"] == 1
        and issue["priority"] == 1
        and issue["milestone"] == "v1"
        and issue["tags"] == ["bug"],
        created,
    )
    said = bob.comment_issue(1, "Glue it")
    check("comment_issue", said["message"] == "Comment added", said)
    moved = alice.change_issue_milestone(1, "v2")
    check(
        "change_issue_milestone",
        moved["message"] == ["Issue set to the milestone: v2 (was: v1)"],
        moved,
    )
    info = anon.issue_info(1)
    comments = info["comments"]
    check(
        "issue_info",
        info["title"] == "Loose handle"
        and info["milestone"] == "v2"
        and [c["comment"] for c in comments if not c["notification"]] == ["Glue it"]
        and all(isinstance(c["id"], int) for c in comments),
        info,
    )
    one = anon.get_list_comment(1, comments[0]["id"])
    check("get_list_comment", one["comment"] == "Glue it" and one["user"]["name"] == "bob", one)
    closed = alice.change_issue_status(1, "Closed", close_status="Fixed")
    check(
        "change_issue_status",
        closed["message"]
        == ["Issue status updated to: Closed (was: Open)", "Issue close_status updated to: Fixed"],
        closed,
    )
    listed = anon.list_issues(status="Closed", tags=["bug"], milestones=["v2"])
    check("list_issues", [i["id"] for i in listed] == [1], listed)
    none_open = anon.list_issues()
    check("list_issues open", none_open == [], none_open)
    tags = anon.project_tags()
    check("project_tags", tags == [], tags)

    branches = anon.project_branches()
    check("project_branches", sorted(branches) == ["feature", "main"], branches)
    projects = anon.list_projects(username="bob")
    check(
        "list_projects",
        [p["fullname"] for p in projects] == ["hammer"],
        projects,
    )
    user = anon.user_info("alice")
    check(
        "user_info",
        user["user"]["name"] == "alice" and [r["fullname"] for r in user["repos"]] == ["hammer"],
        user,
    )
    stats = anon.user_activity_stats("alice")
    check("user_activity_stats", isinstance(stats, dict), stats)
    day = anon.user_activity_stats_by_date("alice", "2026-01-01")
    check("user_activity_stats_by_date", isinstance(day, list), day)

    same = {"repo": "hammer", "username": None, "namespace": None}
    opened = bob.create_pull_request("Add a grip", "main", "feature", same, "Rubber, for comfort")
    check(
        "create_pull_request",
        opened["title"] == "Add a grip" and opened["branch_from"] == "feature",
        opened,
    )
    number = opened["id"]
    requests = anon.list_requests()
    check("list_requests", [r["id"] for r in requests] == [number], requests)
    shown = anon.request_info(number)
    check("request_info", shown["status"] == "Open" and shown["branch"] == "main", shown)
    # libpagure returns nothing from these three; an error answer raises.
    alice.comment_request(number, "Looks good")
    comments = anon.request_info(number)["comments"]
    check("comment_request", [c["comment"] for c in comments] == ["Looks good"], comments)
    flagged = alice.flag_request(number, "CI", "100", "Tests pass", "https://ci.example.org/1")
    check(
        "flag_request",
        flagged["message"] == "Flag added" and flagged["flag"]["status"] == "success",
        flagged,
    )
    alice.close_request(number)
    closed = anon.request_info(number)
    check("close_request", closed["status"] == "Closed", closed)
    first, number = number, bob.create_pull_request("Try again", "main", "feature", same)["id"]
    alice.merge_request(number)
    merged = anon.request_info(number)
    check("merge_request", merged["status"] == "Merged", merged)
    merged_listed = anon.list_requests(status="Merged")
    check("list_requests merged", [r["id"] for r in merged_listed] == [number], merged_listed)
    filed = anon.list_pull_requests("bob", 1, status="Merged")
    check("list_pull_requests", [r["id"] for r in filed] == [number], filed)
    actionable = anon.list_prs_actionable_by_user("alice", 1, status="all")
    check(
        "list_prs_actionable_by_user",
        [r["id"] for r in actionable] == [number, first],
        actionable,
    )

    # libpagure posts private=False and create_readme=False as text.
    made = bob.new_project("anvil", "Strike here")
    check("new_project", made == 'Project "anvil" created', made)
    anvil = anon.list_projects(pattern="anvil")
    check("new project is public", [p["fullname"] for p in anvil] == ["anvil"], anvil)

    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
