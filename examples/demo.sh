#!/usr/bin/env bash
# The quick start: drives the `forge` CLI on a forge home in ./forge-data.
#
#   bash examples/demo.sh
#
# Builds forge if needed (set FORGE to use another binary). Safe to run again:
# what exists already is reused.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${FORGE:-}" ]; then
    # cargo shows what it compiles: the first build takes a few minutes.
    echo "building forge (cargo build -p forge-cli)..." >&2
    cargo build -p forge-cli --manifest-path "$root/Cargo.toml"
    FORGE="${CARGO_TARGET_DIR:-$root/target}/debug/forge"
fi
export FORGE_HOME="${FORGE_HOME:-$PWD/forge-data}"
run() { echo "\$ forge $*"; "$FORGE" "$@"; echo; }

run init
"$FORGE" user list | grep -q '^alice ' || run user add alice --email alice@example.org --full-name "Alice Liddell"
"$FORGE" user list | grep -q '^bob ' || run user add bob --email bob@example.org --full-name "Bob"
"$FORGE" project show demo/hammer >/dev/null 2>&1 || \
    run --as alice project create demo/hammer --description "A hammer, tracked by forge"

export FORGE_USER=alice
# Events from here on are this run's (the demo can run again on the same home).
since=$("$FORGE" events -p demo/hammer --json | sed -n 's/^ *"id": \([0-9]*\),$/\1/p' | tail -n 1)
out=$("$FORGE" issue new -p demo/hammer --title "The handle is loose" \
    --body "It wobbles when I *hit* nails." --tag bug --assignee bob)
echo "\$ forge issue new -p demo/hammer --title 'The handle is loose' ..."; echo "$out"; echo
id=$(echo "$out" | sed -n 's/^opened issue #\([0-9]*\).*/\1/p')
FORGE_USER=bob run issue comment -p demo/hammer "$id" --body "The wedge has dried out."
run issue edit -p demo/hammer "$id" --add-tag confirmed

# A fix on a branch of the project's repository, pushed with plain git.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source_repo="$FORGE_HOME/repos/demo/hammer.git"
g() { git -C "$work/hammer" -c user.name=alice -c user.email=alice@example.org "$@"; }
git clone -q "$source_repo" "$work/hammer" 2>/dev/null
if ! g rev-parse -q --verify origin/main >/dev/null; then
    g checkout -q -b main
    printf 'A hammer.\n\nwedge: wooden\n' > "$work/hammer/README"
    g add README && g commit -qm "Describe the hammer" && g push -q origin main
fi
# The project's docs, pushed to its docs repository (served on their own origin below).
docs_repo="$FORGE_HOME/docs/demo/hammer.git"
if ! git --git-dir "$docs_repo" rev-parse -q --verify main >/dev/null; then
    mkdir -p "$work/docs"
    printf '# Hammer\n\nHold it by the **handle**. See the [care guide](care.md).\n' > "$work/docs/index.md"
    printf '# Care\n\nKeep the wedge dry.\n' > "$work/docs/care.md"
    git -C "$work/docs" init -q -b main
    git -C "$work/docs" -c user.name=alice -c user.email=alice@example.org add -A
    git -C "$work/docs" -c user.name=alice -c user.email=alice@example.org commit -qm "Docs"
    git -C "$work/docs" push -q "$docs_repo" main
fi
g checkout -q -B "fix-$id" origin/main
printf 'A hammer.\n\nwedge: steel, glued (issue %s)\n' "$id" > "$work/hammer/README"
g commit -qam "Replace the wedge" -m "Fixes #$id"
echo "\$ git push origin fix-$id"; g push -q origin "fix-$id"; echo

out=$("$FORGE" pr new -p demo/hammer --title "Steel wedge" --from "fix-$id" \
    --body "A steel wedge does not dry out.")
echo "\$ forge pr new -p demo/hammer --title 'Steel wedge' --from fix-$id ..."; echo "$out"; echo
pr=$(echo "$out" | sed -n 's/^opened pull request #\([0-9]*\).*/\1/p')
FORGE_USER=bob run pr comment -p demo/hammer "$pr" --body "Why steel?" --path README --line 3
FORGE_USER=bob run pr comment -p demo/hammer "$pr" --body "+1"
run pr flag -p demo/hammer "$pr" --name ci --status success --percent 100 --url https://ci.example.org/1
run pr show -p demo/hammer "$pr"
run pr diff -p demo/hammer "$pr"
run pr merge -p demo/hammer "$pr" --strategy squash
run issue list -p demo/hammer --status all
run issue show -p demo/hammer "$id"
run events -p demo/hammer --since "${since:-0}"
echo "The issues and pull requests live in git: $FORGE_HOME/tickets/demo/hammer.git, $FORGE_HOME/requests/demo/hammer.git"
git --git-dir "$FORGE_HOME/tickets/demo/hammer.git" log --format='  %h %an: %s' -4
git --git-dir "$FORGE_HOME/requests/demo/hammer.git" log --format='  %h %an: %s' -4

# Last, serve the demo home over HTTP: clone it, post issues to it.
[ "${FORGE_DEMO_SERVE:-1}" = 1 ] || exit 0
bind="${FORGE_DEMO_BIND:-127.0.0.1:8080}"
docs_bind="${FORGE_DEMO_DOCS_BIND:-127.0.0.1:8081}"
secret=$("$FORGE" --as alice token create --acl issue_create,issue_comment,issue_change_status,commit \
    --description "demo token" | tail -n 1)
# A password for alice to sign in to the pages with, new each run.
password=$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')
echo "$password" | "$FORGE" user passwd alice >/dev/null
cat <<TXT

A token for alice (shown once): export TOKEN=$secret
Now serving the demo home. Open http://$bind/demo/hammer in a browser and
sign in at http://$bind/login as alice with the password: $password
(set with: forge user passwd alice). In another terminal, with the address
printed below:
  git clone http://$bind/demo/hammer.git
  curl -s http://$bind/api/0/demo/hammer/issues
  curl -s -H "Authorization: token \$TOKEN" -d title=Hello -d issue_content=World http://$bind/api/0/demo/hammer/new_issue
  git push http://alice:\$TOKEN@$bind/demo/hammer.git HEAD:my-branch
The project's docs are served on their own origin: http://$docs_bind/demo/hammer/
Stop with Ctrl-C.
TXT
exec "$FORGE" serve --bind "$bind" --docs-bind "$docs_bind"
