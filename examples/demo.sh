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
    cargo build -q -p forge-cli --manifest-path "$root/Cargo.toml"
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
out=$("$FORGE" issue new -p demo/hammer --title "The handle is loose" \
    --body "It wobbles when I *hit* nails." --tag bug --assignee bob)
echo "\$ forge issue new -p demo/hammer --title 'The handle is loose' ..."; echo "$out"; echo
id=$(echo "$out" | sed -n 's/^opened issue #\([0-9]*\).*/\1/p')
FORGE_USER=bob run issue comment -p demo/hammer "$id" --body "Glued it; please check."
run issue edit -p demo/hammer "$id" --add-tag fixed-in-main
run issue close -p demo/hammer "$id" --reason Fixed
run issue list -p demo/hammer --status all
run issue show -p demo/hammer "$id"
run events -p demo/hammer
echo "The issues live in git: $FORGE_HOME/tickets/demo/hammer.git"
git --git-dir "$FORGE_HOME/tickets/demo/hammer.git" log --format='  %h %an: %s' -5
