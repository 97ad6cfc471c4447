#!/usr/bin/env bash
# npm run test:asan: the addon built with clang -fsanitize=address,undefined, in a staged copy of
# the package, runs the lifecycle, worker and block fixtures under the ASan runtime (LD_PRELOAD:
# node itself is not instrumented). Fails on any ASan or UBSan report, or a fixture that does not
# end as expected. Not part of npm test (about 2-4 minutes on 2 cores).
set -euo pipefail
source "$(dirname "$0")/native-check/stage.sh"

find_clang() {
  for v in clang++-14 clang++; do command -v "$v" >/dev/null && { echo "$v"; return; }; done
}
CXX_BIN="$(find_clang || true)"
if [ -z "$CXX_BIN" ] || ! "$CXX_BIN" -print-file-name=libclang_rt.asan-x86_64.so | grep -q /; then
  echo "check-asan: installing clang and its sanitizer runtimes (Debian clang-14, libclang-rt-14-dev)"
  if [ "$(id -u)" != 0 ]; then echo "check-asan: needs root to apt-get install clang-14 libclang-rt-14-dev" >&2; exit 2; fi
  apt-get install -y clang-14 libclang-rt-14-dev >/dev/null || { apt-get update >/dev/null && apt-get install -y clang-14 libclang-rt-14-dev >/dev/null; }
  CXX_BIN="$(find_clang)"
fi
CC_BIN="${CXX_BIN/clang++/clang}"
RUNTIME="$("$CXX_BIN" -print-file-name=libclang_rt.asan-x86_64.so)"
[ -f "$RUNTIME" ] || { echo "check-asan: no ASan runtime at $RUNTIME" >&2; exit 2; }

WORK="$(mktemp -d /tmp/blockbuster-asan.XXXXXX)"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
PKG="$WORK/pkg"
LOGS="$WORK/logs"
mkdir -p "$LOGS"

# -shared-libasan: the addon takes the runtime from the LD_PRELOADed .so, as node is not linked
# with it. The ignore list exempts the signal handler's raw stack walk (see the file).
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
SAN="$SAN -fsanitize-ignorelist=$ROOT/scripts/native-check/asan-ignorelist.txt"
export CC="$CC_BIN" CXX="$CXX_BIN" LINK="$CXX_BIN"
export CFLAGS="$SAN" CXXFLAGS="$SAN" LDFLAGS="-fsanitize=address,undefined -shared-libasan"
echo "check-asan: building the addon with $CXX_BIN ($SAN) in $PKG"
stage_package "$PKG"
unset CC CXX LINK CFLAGS CXXFLAGS LDFLAGS
[ "$(nm -D "$PKG/build/Release/blockbuster.node" | grep -c __asan_report_load)" -gt 0 ] || { echo "check-asan: the build is not instrumented" >&2; exit 1; }

# detect_leaks=0: LSan would check every allocation of the uninstrumented node (V8 and libuv keep
# memory to exit on purpose), and its fast unwinder cannot name the owner of most of them without
# frame pointers in node. Leaks are valgrind's job (npm run test:valgrind), which attributes them.
# handle_segv=0 etc.: V8 (WebAssembly trap handler) and node install their own signal handlers.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=86:log_path=$LOGS/asan:handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1:detect_stack_use_after_return=0:strict_string_checks=0"
# UBSan shares the ASan runtime and its log_path (a log_path here would override the one above).
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The positive control first: the same runtime and options must catch a known overflow.
"$CC_BIN" $SAN -shared -fPIC -shared-libasan -o "$WORK/canary.so" "$ROOT/test/native/asan-canary.c"
mkdir -p "$WORK/canary-logs"
ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$WORK/canary-logs/asan" LD_PRELOAD="$RUNTIME" \
  node -e "try { process.dlopen({ exports: {} }, process.argv[1]) } catch {}" "$WORK/canary.so" >/dev/null 2>&1 || true
if grep -qs 'heap-buffer-overflow' "$WORK"/canary-logs/*; then
  echo "check-asan: positive control caught (heap-buffer-overflow in asan-canary.c)"
else
  echo "check-asan: the positive control was not caught: ASan is not active, nothing below would be either" >&2
  exit 1
fi
status=0
LD_PRELOAD="$RUNTIME" node "$ROOT/scripts/native-check/run-fixtures.js" --pkg "$PKG" --profile asan "$@" || status=1

reports=$(grep -lE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$LOGS"/* 2>/dev/null || true)
if [ -n "$reports" ]; then
  for f in $reports; do echo "---- $f"; head -80 "$f"; done
  echo "check-asan: sanitizer reports above"
  status=1
else
  echo "check-asan: no ASan/UBSan report (logs checked: $(ls "$LOGS" | wc -l) files)"
fi
[ "$status" = 0 ] && echo "check-asan: passed" || echo "check-asan: FAILED"
exit "$status"
