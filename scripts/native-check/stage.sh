# Sourced by the check-*.sh scripts. stage_package <dir> builds a copy of the package in <dir>
# (dist, fixtures, node_modules linked) whose build/Release/blockbuster.node is compiled with the
# current CC/CXX/CFLAGS/CXXFLAGS/LDFLAGS, so the repository's own build/Release (npm test's
# binary) is never touched. lib/binding.ts loads build/Release first, so the fixtures get this one.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

stage_package() {
  local dir="$1"
  mkdir -p "$dir/test"
  cp -r "$ROOT/src" "$ROOT/binding.gyp" "$ROOT/package.json" "$dir/"
  cp -r "$ROOT/test/fixtures" "$dir/test/fixtures"
  ln -sfn "$ROOT/node_modules" "$dir/node_modules"
  # The fixtures load the compiled TypeScript: compile it fresh rather than trust a stale dist/.
  (cd "$ROOT" && node_modules/.bin/tsc -p tsconfig.json --outDir "$dir/dist")
  # The headers of the node that runs the fixtures (npm's nodedir setting, else node-gyp's own).
  local nodedir="${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}"
  if [ -n "$nodedir" ] && [ "$nodedir" != "undefined" ] && [ -f "$nodedir/include/node/node_version.h" ]; then
    export npm_config_nodedir="$nodedir"
  fi
  (cd "$dir" && "$ROOT/node_modules/.bin/node-gyp" rebuild --release >"$dir/build.log" 2>&1) || {
    tail -40 "$dir/build.log"
    echo "stage: the instrumented build failed (log: $dir/build.log)" >&2
    return 1
  }
  test -f "$dir/build/Release/blockbuster.node"
}
