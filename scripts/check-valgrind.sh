#!/usr/bin/env bash
# npm run test:valgrind: the lifecycle, worker and block fixtures under valgrind memcheck, with the
# addon built -g -O1 in a staged copy of the package. Fails on a definite leak or a memory error
# (invalid read/write/free, uninitialised use) whose stack goes through the addon, or on a fixture
# that does not end as expected. node runs 20-50x slower under valgrind: counts are small and the
# timeouts long (about 10-20 minutes on 2 cores). Not part of npm test.
set -euo pipefail
source "$(dirname "$0")/native-check/stage.sh"
command -v valgrind >/dev/null || {
  [ "$(id -u)" = 0 ] || { echo "check-valgrind: needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
  apt-get install -y valgrind >/dev/null || { apt-get update >/dev/null && apt-get install -y valgrind >/dev/null; }
}

WORK="$(mktemp -d /tmp/blockbuster-valgrind.XXXXXX)"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
PKG="$WORK/pkg"
LOGS="$WORK/logs"
mkdir -p "$LOGS"
export CFLAGS="-g -O1 -fno-omit-frame-pointer" CXXFLAGS="-g -O1 -fno-omit-frame-pointer"
echo "check-valgrind: building the addon ($CXXFLAGS) in $PKG"
stage_package "$PKG"
unset CFLAGS CXXFLAGS

# Every node the fixtures start (fork, cluster) is traced too; the shells and sleeps of execSync are not.
WRAP="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --track-origins=yes"
WRAP="$WRAP --num-callers=40 --trace-children=yes --trace-children-skip=*/sh,*/sleep,*/dash,*/bash"
WRAP="$WRAP --log-file=$LOGS/vg.%p"
status=0
node "$ROOT/scripts/native-check/run-fixtures.js" --pkg "$PKG" --profile valgrind --wrap "$WRAP" "$@" || status=1
node "$ROOT/scripts/native-check/valgrind-verdict.js" "$LOGS"/vg.* || status=1
[ "$status" = 0 ] && echo "check-valgrind: passed" || echo "check-valgrind: FAILED"
exit "$status"
