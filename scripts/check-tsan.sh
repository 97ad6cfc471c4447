#!/usr/bin/env bash
# npm run test:tsan: ThreadSanitizer on a standalone harness (test/native/tsan-harness.cc)
# that runs the real src/watchdog.cc, block_tracker.cc, loop_probe.cc, waker.cc and report_line.cc against real
# libuv loops, with V8 stubbed out. Why not the addon inside node: node is not TSan-instrumented,
# and the TSan runtime cannot even start it here (LD_PRELOAD of libclang_rt.tsan makes `node -e 0`
# die of SIGSEGV at start-up, ASLR on or off; measured with clang 14 and Node 20); where it starts,
# every synchronisation inside uninstrumented V8/libuv code is invisible and reported as a race.
# The harness covers the cross-thread contracts: BlockTracker (watchdog thread vs. loop-thread
# interrupts, Finish from either), the LoopProbe seqlock, the Waker, SharedFlags, the GC clock,
# the thread-safe notify, stop() with interrupts still queued, and two loops watched at once.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

find_clang() {
  for v in clang++-14 clang++; do command -v "$v" >/dev/null && { echo "$v"; return; }; done
}
CXX_BIN="$(find_clang || true)"
need=""
[ -n "$CXX_BIN" ] && "$CXX_BIN" -print-file-name=libclang_rt.tsan-x86_64.a | grep -q / || need="clang-14 libclang-rt-14-dev"
[ -f /usr/include/uv.h ] || need="$need libuv1-dev"
if [ -n "$need" ]; then
  echo "check-tsan: installing $need"
  [ "$(id -u)" = 0 ] || { echo "check-tsan: needs root to apt-get install $need" >&2; exit 2; }
  apt-get install -y $need >/dev/null || { apt-get update >/dev/null && apt-get install -y $need >/dev/null; }
  CXX_BIN="$(find_clang)"
fi

WORK="$(mktemp -d /tmp/blockbuster-tsan.XXXXXX)"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
RUNTIME="$("$CXX_BIN" -print-file-name=libclang_rt.tsan-x86_64.so)"
if [ -f "$RUNTIME" ]; then
  set +e
  sh -c 'LD_PRELOAD="$1" node -e 0; exit $?' _ "$RUNTIME" >/dev/null 2>&1
  code=$?
  set -e
  echo "check-tsan: node under the TSan runtime (LD_PRELOAD, node -e 0): exit $code$([ "$code" -ge 128 ] && echo " (signal $((code - 128)))" || true); the addon is checked in a harness instead"
fi

FLAGS="-std=c++20 -fsanitize=thread -fno-omit-frame-pointer -g -O1"
"$CXX_BIN" $FLAGS "$ROOT/test/native/tsan-canary.cc" -o "$WORK/canary"
TSAN_OPTIONS="exitcode=66" "$WORK/canary" >"$WORK/canary.log" 2>&1 || true
if grep -q 'WARNING: ThreadSanitizer: data race' "$WORK/canary.log"; then
  echo "check-tsan: positive control caught (a data race in tsan-canary.cc)"
else
  echo "check-tsan: the positive control was not caught: TSan is not active" >&2
  exit 1
fi

# The system libuv's headers and library: the harness runs no node, so it needs no node headers.
"$CXX_BIN" $FLAGS -I"$ROOT/src" "$ROOT/test/native/tsan-harness.cc" \
  "$ROOT"/src/watchdog.cc "$ROOT"/src/block_tracker.cc "$ROOT"/src/loop_probe.cc "$ROOT"/src/waker.cc "$ROOT"/src/report_line.cc "$ROOT"/src/thread_probe.cc "$ROOT"/src/line_writer.cc "$ROOT"/src/api_names.cc "$ROOT"/src/line_maps.cc \
  -luv -lpthread -o "$WORK/harness"
status=0
runs="${TSAN_RUNS:-5}"
for i in $(seq 1 "$runs"); do
  TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:log_path=$WORK/tsan.$i" "$WORK/harness" || status=1
done
if grep -qs 'WARNING: ThreadSanitizer' "$WORK"/tsan.*; then
  for f in "$WORK"/tsan.*; do echo "---- $f"; head -60 "$f"; done
  status=1
fi
echo "check-tsan: $runs harness runs, $(cat "$WORK"/tsan.* 2>/dev/null | grep -c 'WARNING: ThreadSanitizer' || true) TSan reports"
[ "$status" = 0 ] && echo "check-tsan: passed" || echo "check-tsan: FAILED"
exit "$status"
