"""The benchmark's workload and the S3 layout rules (SPEC section 2), shared by the orchestrator
(bench.py, which verifies every run) and the boto3 peer.

A workload of N messages: 20 batches, each with its own tasks; one message in 20 is a batch
event, the rest task events; statuses cycle through the five; a small JSON payload; an explicit
event_time (so every object's key is known in advance from the message id); a few task ids with
a '/' and a space so that the key encoding is exercised too.
"""
import datetime
import json

PREFIX = "FTD_CONTRACT_LOADER"
STATUSES = ("pending", "running", "success", "failed", "completed")
BASE_MS = 1796256000000  # 2026-12-03T00:00:00Z
NBATCHES = 20


def message(i):
    """The i-th message of the workload, as a dict (its JSON is the SQS body)."""
    batch = "bench-%04d-12-03" % (2000 + i % NBATCHES)
    status = STATUSES[(i // NBATCHES) % len(STATUSES)]
    event_ms = BASE_MS + i
    m = {"command": "add-task-status", "batch_id": batch}
    if i % 20 == 0:
        m["command"] = "add-batch-status"
    else:
        task = "task-%05d" % (i // NBATCHES)
        if i % 97 == 1:
            task = "load/warehouse part %d" % (i // 97)
        m["task_id"] = task
    m["status"] = status.upper() if i % 50 == 3 else status
    m["account"] = "acme"
    m["event_time"] = iso_ms(event_ms)
    m["payload"] = {"worker": "i-0abc%04d" % (i % 1000), "attempt": 1 + i % 3, "rows": i * 7}
    return m


def bodies(n):
    return [json.dumps(message(i), separators=(",", ":")) for i in range(n)]


# ---- layout (SPEC 2) ------------------------------------------------------------------------

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def encode_id(s):
    """An identifier as one key segment: bytes outside A-Z a-z 0-9 . _ - as %XX (upper-case
    hex of the UTF-8 byte); '.' and '..' have their dots encoded."""
    b = s.encode("utf-8")
    if b in (b".", b".."):
        return "%2E" * len(b)
    return "".join(chr(c) if c in _SAFE else "%%%02X" % c for c in b)


def iso_ms(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def stamp_ms(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y%m%dT%H%M%S.") + "%03dZ" % (ms % 1000)


def parse_time_ms(s):
    """RFC 3339 to epoch milliseconds (Python 3.11 fromisoformat takes 'Z' and offsets)."""
    t = datetime.datetime.fromisoformat(s)
    if t.tzinfo is None:
        raise ValueError("event_time without a time zone")
    return int(round(t.timestamp() * 1000))


def record_key(batch_id, task_id, status, event_ms, message_id, prefix=PREFIX):
    tail = "%s_%s.json" % (stamp_ms(event_ms), message_id)
    if task_id is None:
        return "%s/BATCHS/%s/status/%s/%s" % (prefix, encode_id(batch_id), status, tail)
    return "%s/BATCHS/%s/tasks/%s/%s/%s" % (prefix, encode_id(batch_id), encode_id(task_id),
                                            status, tail)


def expected_key(i, message_id):
    m = message(i)
    return record_key(m["batch_id"], m.get("task_id"), m["status"].lower(),
                      parse_time_ms(m["event_time"]), message_id)
