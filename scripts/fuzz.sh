#!/usr/bin/env bash
# Builds every libFuzzer target tests/fuzz/fuzz_*.c with clang
# (-fsanitize=fuzzer,address,undefined, all of src/ but the mains linked in),
# replays its regression inputs, then fuzzes it for a bounded time from a copy
# of its seed corpus (the repository is never modified). Exits non-zero on any
# crash, leak, timeout or sanitizer report, and prints the reproducer.
#
#   bash scripts/fuzz.sh [TARGET...]        e.g. bash scripts/fuzz.sh fuzz_sigv4
#
# Environment:
#   S3S_FUZZ_SECONDS    seconds per target (default 30; 0 only builds and replays)
#   S3S_FUZZ_BUILD_DIR  where objects and binaries go (default build-fuzz/)
#   S3S_TEST_DEADLINE   epoch seconds (set by scripts/test.sh): the time left is shared
#                       among the targets still to run; a target is skipped (and said so)
#                       when less than 5 s would be left for it
#   S3S_FUZZ_ARGS       extra libFuzzer flags (e.g. "-jobs=2 -workers=2")
#
# Layout: tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/fuzz_NAME/, an optional
# dictionary tests/fuzz/fuzz_NAME.dict, and regression inputs (crashes once found) in
# tests/fuzz/regressions/fuzz_NAME/; tests/unit/test_fuzz_regressions.c replays those
# and the seeds in the ordinary (gcc) and ASan builds too.
#
# A crash is copied to $S3S_FUZZ_BUILD_DIR/crashes/fuzz_NAME/; to keep it as a
# regression test, fix the bug and move the file to tests/fuzz/regressions/fuzz_NAME/.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
src_dir="$(pwd)"
seconds="${S3S_FUZZ_SECONDS:-30}"
out="${S3S_FUZZ_BUILD_DIR:-$src_dir/build-fuzz}"
extra_args=(${S3S_FUZZ_ARGS:-})
CC="${S3S_FUZZ_CC:-clang}"

die() { echo "fuzz.sh: $*" >&2; exit 1; }

command -v "$CC" >/dev/null || die "$CC not found (scripts/setup.sh installs clang)"
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
  'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
  >"$probe/p.c"
"$CC" -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>"$probe/err" ||
  die "$CC cannot build a libFuzzer target (libclang-rt-14-dev missing?): $(head -n 3 "$probe/err")"

pkgs="libcurl json-c libxml-2.0 libsystemd openssl"
cflags=(-g -O1 -std=c11 -D_GNU_SOURCE -DS3S_VERSION='"fuzz"' -DS3S_FUZZING
        -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
        -fno-sanitize-recover=all -Wall -Wno-unused-command-line-argument
        -I"$src_dir/include" -I"$src_dir/src" -I"$src_dir/tests/fuzz")
read -r -a pkg_cflags <<<"$(pkg-config --cflags $pkgs)" || die "pkg-config $pkgs failed"
read -r -a pkg_libs <<<"$(pkg-config --libs $pkgs)" || die "pkg-config $pkgs failed"

# ---- build: the core once (an object is rebuilt when its source or any header is newer)
mkdir -p "$out/obj" || die "cannot create $out"
newest_header="$(ls -t include/*.h src/*.h tests/fuzz/*.h 2>/dev/null | head -n 1)"
objs=()
for c in src/*.c; do
  case "$(basename "$c")" in main_*.c) continue ;; esac
  o="$out/obj/$(basename "${c%.c}").o"
  objs+=("$o")
  if [[ ! -f "$o" || "$c" -nt "$o" || ( -n "$newest_header" && "$newest_header" -nt "$o" ) ]]; then
    echo "fuzz.sh: cc $c"
    "$CC" "${cflags[@]}" "${pkg_cflags[@]}" -c "$c" -o "$o" || die "cannot compile $c"
  fi
done
# objects of sources that are gone would otherwise be linked in
for o in "$out"/obj/*.o; do
  [[ -f "src/$(basename "${o%.o}").c" ]] || rm -f "$o"
done

targets=()
if (($#)); then
  for t in "$@"; do targets+=("${t%.c}"); done
else
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "${f%.c}")"); done
fi
((${#targets[@]})) || die "no targets in tests/fuzz/"

for t in "${targets[@]}"; do
  [[ -f "tests/fuzz/$t.c" ]] || die "no tests/fuzz/$t.c"
  echo "fuzz.sh: link $t"
  "$CC" "${cflags[@]}" "${pkg_cflags[@]}" -fsanitize=fuzzer "tests/fuzz/$t.c" "${objs[@]}" \
    "${pkg_libs[@]}" -lm -o "$out/$t" || die "cannot build $t"
done

# ---- run
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
skipped=()
summary=()
n_left=${#targets[@]}

show_reproducer() { # TARGET FILE
  local t="$1" f="$2" size
  size=$(stat -c %s "$f")
  echo "---- reproducer for $t: $f ($size bytes); replay: $out/$t $f"
  if ((size <= 4096)); then
    od -A d -c "$f" | head -n 64
  fi
  echo "----"
}

for t in "${targets[@]}"; do
  bin="$out/$t"
  work="$(mktemp -d "${TMPDIR:-/tmp}/s3s-fuzz-$t.XXXXXX")"
  mkdir -p "$work/corpus" "$work/artifacts"
  [[ -d "tests/fuzz/corpus/$t" ]] && cp -r "tests/fuzz/corpus/$t/." "$work/corpus/"
  dict=()
  [[ -f "tests/fuzz/$t.dict" ]] && dict=(-dict="tests/fuzz/$t.dict")

  # 1. regressions and seeds, each input once
  inputs=()
  for d in "tests/fuzz/regressions/$t" "tests/fuzz/corpus/$t"; do
    [[ -d "$d" ]] && while IFS= read -r -d '' f; do inputs+=("$f"); done \
      < <(find "$d" -type f ! -name 'README*' -print0 | sort -z)
  done
  if ((${#inputs[@]})); then
    if ! "$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 "${inputs[@]}" >"$work/replay.log" 2>&1; then
      tail -n 60 "$work/replay.log"
      echo "fuzz.sh: $t: a regression or seed input fails (see above)"
      failed+=("$t (replay)")
      rm -rf "$work"
      n_left=$((n_left - 1))
      continue
    fi
  fi

  # 2. fuzzing, bounded
  budget=$seconds
  if [[ -n "${S3S_TEST_DEADLINE:-}" ]]; then
    left=$(( (S3S_TEST_DEADLINE - $(date +%s) - 10) / n_left ))
    ((left < budget)) && budget=$left
  fi
  n_left=$((n_left - 1))
  if ((seconds > 0 && budget < 5)); then
    echo "fuzz.sh: $t: skipped, the test deadline is too close"
    skipped+=("$t")
    rm -rf "$work"
    continue
  fi
  if ((seconds == 0)); then
    summary+=("$t: ${#inputs[@]} inputs replayed")
    rm -rf "$work"
    continue
  fi
  echo "fuzz.sh: $t: fuzzing for ${budget}s"
  "$bin" "$work/corpus" -max_total_time="$budget" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "${dict[@]}" "${extra_args[@]}" >"$work/run.log" 2>&1
  rc=$?
  stats="$(grep -E '^stat::number_of_executed_units' "$work/run.log" | awk '{print $2}' | tail -n 1)"
  if ((rc != 0)) || compgen -G "$work/artifacts/*" >/dev/null; then
    grep -nE 'ERROR|runtime error|SUMMARY|Test unit written|==[0-9]+==' "$work/run.log" | head -n 40
    tail -n 40 "$work/run.log"
    mkdir -p "$out/crashes/$t"
    for a in "$work"/artifacts/*; do
      [[ -f "$a" ]] || continue
      cp "$a" "$out/crashes/$t/"
      show_reproducer "$t" "$out/crashes/$t/$(basename "$a")"
    done
    echo "fuzz.sh: $t: FAILED (exit $rc); keep the input as tests/fuzz/regressions/$t/<name> once fixed"
    failed+=("$t")
  else
    summary+=("$t: ${stats:-?} runs in ${budget}s, ${#inputs[@]} inputs replayed, no finding")
  fi
  rm -rf "$work"
done

echo
echo "fuzz.sh: summary"
for s in "${summary[@]}"; do echo "  ok   $s"; done
for s in "${skipped[@]}"; do echo "  skip $s (deadline)"; done
for s in "${failed[@]}"; do echo "  FAIL $s"; done
echo "fuzz.sh: ${#summary[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
((${#failed[@]} == 0))
