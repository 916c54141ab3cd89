#!/usr/bin/env bash
# The project's test command (.ci/run runs it): setup, a RelWithDebInfo build in build/ with
# all tests, the same with ASan+UBSan in build-asan/, then the fuzzers when there are any, then
# one small run of the benchmark.
#
#   bash scripts/test.sh [CTEST_ARGS...]     e.g. bash scripts/test.sh -R e2e
#
# Environment: S3S_SKIP_ASAN=1 skips the sanitizer build, S3S_SKIP_BENCH=1 the benchmark's
# smoke run; S3S_TEST_BUDGET (seconds, default 3000) bounds the whole run: ctest stops tests at
# that deadline, and fuzz.sh is handed it as S3S_TEST_DEADLINE (epoch seconds). Exits non-zero
# if any stage failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
src_dir="$(pwd)"
start=$(date +%s)
budget="${S3S_TEST_BUDGET:-3000}"
export S3S_TEST_DEADLINE=$((start + budget))
jobs=2
ctest_args=("$@")
logdir="$(mktemp -d)"
trap 'rm -rf "$logdir"' EXIT

failed_stages=()
total_pass=0
total_fail=0

section() { printf '\n==================== %s ====================\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - start ))s"; }

# run_ctest NAME BUILD_DIR [ENV=VALUE...]: runs the suite, adds its counts to the totals.
run_ctest() {
  local name="$1" dir="$2"
  shift 2
  local log="$logdir/$name.log" stop rc
  stop="$(date -d "@$S3S_TEST_DEADLINE" +%H:%M:%S)"
  (cd "$dir" && env "$@" ctest --output-on-failure -j"$jobs" --stop-time "$stop" \
     "${ctest_args[@]}") 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # "100% tests passed, 0 tests failed out of 12"
  local line total failed
  line="$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)"
  if [[ -n "$line" ]]; then
    failed="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")"
    total="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")"
    total_pass=$((total_pass + total - failed))
    total_fail=$((total_fail + failed))
  elif grep -q 'No tests were found' "$log"; then
    echo "test.sh: $name: no tests found"
  fi
  if ((rc != 0)); then
    failed_stages+=("$name (ctest exit $rc)")
  fi
}

# build NAME DIR CMAKE_ARGS...: configure and build; returns non-zero on failure.
build() {
  local name="$1" dir="$2"
  shift 2
  if cmake -S "$src_dir" -B "$dir" "$@" && cmake --build "$dir" -j"$jobs"; then
    return 0
  fi
  failed_stages+=("$name build")
  return 1
}

section "setup"
if ! bash scripts/setup.sh; then
  echo "test.sh: setup failed" >&2
  exit 1
fi

section "build: RelWithDebInfo in build/ ($(elapsed))"
if build "release" build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS3S_SANITIZE=OFF; then
  section "ctest: build/ ($(elapsed))"
  run_ctest release build
fi

if [[ "${S3S_SKIP_ASAN:-0}" == 1 ]]; then
  section "ASan+UBSan: skipped (S3S_SKIP_ASAN=1)"
else
  section "build: ASan+UBSan in build-asan/ ($(elapsed))"
  if build "asan" build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS3S_SANITIZE=ON; then
    section "ctest: build-asan/ ($(elapsed))"
    run_ctest asan build-asan \
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  fi
fi

# Fuzzing hook: tests/fuzz/*.c are the fuzz targets; scripts/fuzz.sh builds and runs them
# (within S3S_TEST_DEADLINE).
if compgen -G "tests/fuzz/*.c" >/dev/null; then
  if [[ -f scripts/fuzz.sh ]]; then
    section "fuzz: scripts/fuzz.sh ($(elapsed))"
    bash scripts/fuzz.sh || failed_stages+=("fuzz")
  else
    section "fuzz: tests/fuzz/*.c present but no scripts/fuzz.sh yet: skipped"
  fi
fi

# The benchmark, once, small (N = 1,000, one run, latency points 32 and 128): proves that it
# installs, runs all three consumers and verifies their output. Speed is not asserted.
if [[ "${S3S_SKIP_BENCH:-0}" == 1 ]]; then
  section "bench smoke: skipped (S3S_SKIP_BENCH=1)"
else
  section "bench smoke: bench/run.sh --quick ($(elapsed))"
  bash bench/run.sh --quick --wait-idle 0 --out "$logdir/bench-quick.md" ||
    failed_stages+=("bench smoke")
fi

section "summary ($(elapsed))"
if ((${#failed_stages[@]})); then
  printf 'FAILED: %s\n' "${failed_stages[@]}"
else
  echo "all stages passed"
fi
echo "ctest: $total_pass passed, $total_fail failed"
((${#failed_stages[@]} == 0))
