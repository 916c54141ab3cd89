#!/usr/bin/env bash
# Profiles s3statusd's CPU per message: one verified --drain of N messages (default 2,000)
# against the emulator under valgrind's callgrind (or perf, or strace -c), then prints the top
# costs. Uses bench/run.sh for set-up and build (Release + -g).
#
#   bash bench/profile.sh [--rev GITREV] [--n 2000] [--tool callgrind|perf|strace] [--out DIR]
# Output in DIR (default /tmp/s3statusd-profile): callgrind.out (open with kcachegrind or
# callgrind_annotate), or perf.data, or strace.txt; and top.txt, the summary printed.
set -euo pipefail
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rev=() n=2000 tool=callgrind out=/tmp/s3statusd-profile
while (($#)); do
  case "$1" in
    --rev) rev=(--rev "$2"); shift 2 ;;
    --n) n="$2"; shift 2 ;;
    --tool) tool="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "profile.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
case "$tool" in
  callgrind) wrap="valgrind --tool=callgrind --callgrind-out-file=$out/callgrind.out" ;;
  perf) wrap="perf record -F 4000 -e cpu-clock --call-graph dwarf,16384 -o $out/perf.data --" ;;
  strace) wrap="strace -f -c -o $out/strace.txt" ;;
  *) echo "profile.sh: --tool callgrind, perf or strace" >&2; exit 2 ;;
esac
bash "$src_dir/bench/run.sh" "${rev[@]}" --only s3statusd --n "$n" --runs 1 --no-latency \
  --wait-idle 30 --out "$out/bench.md" --wrap "$wrap" >"$out/bench.txt"
grep -E '^s3statusd' "$out/bench.txt" || true
case "$tool" in
  callgrind)
    {
      echo "== callgrind, $n messages: exclusive (self) cost"
      callgrind_annotate "$out/callgrind.out" 2>/dev/null | sed -n '/^Ir/,$p' | sed -n '3,40p'
      echo
      echo "== inclusive cost"
      callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null |
        sed -n '/^Ir/,$p' | sed -n '3,90p'
    } | sed -E 's#[^ ]*/src-tree/src/#src/#; s#/work/[^ ]*/src/#src/#; s#\[/[^]]*\]##' |
      awk '!seen[$0]++' | tee "$out/top.txt" ;;
  perf)
    perf report -i "$out/perf.data" --no-children --sort dso,sym -g none 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -60 | tee "$out/top.txt" ;;
  strace)
    { echo "== system calls for $n messages"; cat "$out/strace.txt"; } | tee "$out/top.txt" ;;
esac
echo "profile.sh: output in $out"
