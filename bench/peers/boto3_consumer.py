#!/usr/bin/python3
"""The boto3 peer: what a user would write instead of s3statusd, idiomatically.

A thread pool of CONCURRENCY workers sharing one SQS and one S3 client (boto3 clients are
thread-safe; the connection pool is sized to the pool). Each worker: long-poll ReceiveMessage
(10 at a time), decode and validate each message, PUT its record at the layout's key
(SPEC section 2: same key, same one-line JSON record, Content-Type application/json, SHA-256
checksum), then DeleteMessageBatch the ones stored. Like `s3statusd --drain` it stops when two
receives in a row came back empty, and exits once the work in hand is finished.

    boto3_consumer.py --queue-url URL --bucket B --endpoint URL [--s3-endpoint URL]
                      [--concurrency 32] [--wait-time 1] [--visibility-timeout 60]

Debian's botocore 1.29 speaks the Query protocol to SQS; the benchmark points AWS_DATA_PATH at
a JSON-protocol copy of its SQS model (tests/lib/sqsjson.py), as the tests do. Prints one JSON
line of counts on stdout at the end.
"""
import argparse
import datetime
import json
import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from workload import encode_id, parse_time_ms  # noqa: E402  (the layout's key rules)

PREFIX = "FTD_CONTRACT_LOADER"
STATUSES = {"pending", "running", "failed", "success", "completed"}
COMMANDS = {"add-batch-status", "add-task-status", "get-status"}
log = logging.getLogger("boto3-consumer")


class Invalid(Exception):
    pass


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def stamp(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y%m%dT%H%M%S.") + "%03dZ" % (ms % 1000)


def ident(doc, name, alias, required):
    v, a = doc.get(name), doc.get(alias)
    if v is not None and a is not None and v != a:
        raise Invalid("%s and %s differ" % (name, alias))
    v = v if v is not None else a
    if v is None:
        if required:
            raise Invalid("missing " + name)
        return None
    if not isinstance(v, str) or not 1 <= len(v.encode("utf-8")) <= 256 or \
            any(ord(c) < 32 or ord(c) == 127 for c in v):
        raise Invalid("bad " + name)
    return v


def build(msg, queue_url):
    """(key, body bytes) of a message, or Invalid."""
    try:
        doc = json.loads(msg["Body"])
    except ValueError as e:
        raise Invalid("not JSON: %s" % e)
    if not isinstance(doc, dict):
        raise Invalid("not an object")
    cmd = doc.get("command")
    if cmd not in COMMANDS:
        raise Invalid("unknown command")
    batch = ident(doc, "batch_id", "batch-id", True)
    task = ident(doc, "task_id", "task-id", cmd == "add-task-status")
    if cmd == "add-batch-status":
        task = None
    status = doc.get("status")
    if not isinstance(status, str) or status.lower() not in STATUSES:
        raise Invalid("bad status")
    status = status.lower()
    attrs = msg.get("Attributes", {})
    if "event_time" in doc:
        event_ms = parse_time_ms(doc["event_time"])
    else:
        event_ms = int(attrs["SentTimestamp"])
    tail = "%s_%s.json" % (stamp(event_ms), msg["MessageId"])
    if task is None:
        key = "%s/BATCHS/%s/status/%s/%s" % (PREFIX, encode_id(batch), status, tail)
    else:
        key = "%s/BATCHS/%s/tasks/%s/%s/%s" % (PREFIX, encode_id(batch), encode_id(task),
                                                status, tail)
    now = int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)
    record = {"account": doc.get("account"), "batch_id": batch, "task_id": task,
              "status": status, "event_time": iso(event_ms), "recorded_at": iso(now),
              "message_id": msg["MessageId"],
              "receive_count": int(attrs.get("ApproximateReceiveCount", "1")),
              "queue": queue_url, "payload": doc.get("payload")}
    body = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
    return key, body.encode("utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue-url", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--s3-endpoint")
    ap.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--wait-time", type=int, default=1)
    ap.add_argument("--visibility-timeout", type=int, default=60)
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")

    session = boto3.session.Session(region_name=a.region)
    common = dict(max_pool_connections=a.concurrency, retries={"mode": "standard"},
                  connect_timeout=10, read_timeout=a.wait_time + 30)
    sqs = session.client("sqs", endpoint_url=a.endpoint, config=Config(**common))
    s3 = session.client("s3", endpoint_url=a.s3_endpoint or a.endpoint,
                        config=Config(s3={"addressing_style": "path"}, **common))

    lock = threading.Lock()
    stop = threading.Event()
    counts = {"received": 0, "stored": 0, "deleted": 0, "invalid": 0, "failed": 0}
    state = {"empty_streak": 0}

    def worker():
        while not stop.is_set():
            r = sqs.receive_message(QueueUrl=a.queue_url, MaxNumberOfMessages=10,
                                    WaitTimeSeconds=a.wait_time,
                                    VisibilityTimeout=a.visibility_timeout,
                                    AttributeNames=["ApproximateReceiveCount",
                                                    "SentTimestamp"])
            msgs = r.get("Messages", [])
            with lock:
                counts["received"] += len(msgs)
                state["empty_streak"] = 0 if msgs else state["empty_streak"] + 1
                if state["empty_streak"] >= 2:
                    stop.set()
            done = []
            for m in msgs:
                try:
                    key, body = build(m, a.queue_url)
                    s3.put_object(Bucket=a.bucket, Key=key, Body=body,
                                  ContentType="application/json", ChecksumAlgorithm="SHA256")
                    done.append(m)
                except Invalid as e:
                    log.warning("message %s: invalid: %s (left in the queue)", m["MessageId"], e)
                    with lock:
                        counts["invalid"] += 1
                except Exception as e:  # a failed PUT: it reappears after its visibility timeout
                    log.warning("message %s: put failed: %s", m["MessageId"], e)
                    with lock:
                        counts["failed"] += 1
            if done:
                d = sqs.delete_message_batch(
                    QueueUrl=a.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                             for i, m in enumerate(done)])
                for f in d.get("Failed", []):
                    log.warning("delete failed: %s", f)
                with lock:
                    counts["stored"] += len(done)
                    counts["deleted"] += len(d.get("Successful", []))

    with ThreadPoolExecutor(max_workers=a.concurrency) as pool:
        futures = [pool.submit(worker) for _ in range(a.concurrency)]
        for f in futures:
            f.result()
    print(json.dumps(counts), flush=True)
    return 0 if counts["failed"] == 0 and counts["invalid"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
