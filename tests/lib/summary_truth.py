"""The S3 layout and summary.json rules written independently of the C code, for the tests:
identifier encoding, stamps, record keys, and the summary a set of events must produce
(current status = latest event_time; ties: pending < running < success < failed < completed,
other statuses below pending by name; then the larger message id)."""
from datetime import datetime, timezone

PREFIX = "FTD_CONTRACT_LOADER"
RANKED = ["pending", "running", "success", "failed", "completed"]


def enc(s):
    """The layout's identifier encoding (SPEC section 2), written independently of the C code."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "._-"):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    r = "".join(out)
    if s in (".", ".."):
        r = r.replace(".", "%2E")
    return r


def iso(ms):
    t = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def stamp(ms):
    t = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return t.strftime("%Y%m%dT%H%M%S.") + "%03dZ" % (ms % 1000)


def record_key(batch, task, status, ms, mid, prefix=PREFIX):
    if task is None:
        return "%s/BATCHS/%s/status/%s/%s_%s.json" % (prefix, enc(batch), enc(status), stamp(ms),
                                                      enc(mid))
    return "%s/BATCHS/%s/tasks/%s/%s/%s_%s.json" % (prefix, enc(batch), enc(task), enc(status),
                                                    stamp(ms), enc(mid))


def summary_key(batch, prefix=PREFIX):
    return "%s/BATCHS/%s/summary.json" % (prefix, enc(batch))


def order(ev):
    """Sort key of an event (status, ms, message_id) in the total order."""
    status, ms, mid = ev
    rank = RANKED.index(status) + 1 if status in RANKED else 0
    return (ms, rank, status.encode(), (mid or "").encode())


def truth(batch, events):
    """events: iterable of (task_id or None, status, ms, message_id). Returns the summary as a
    dict in the format of summary.json, without updated_at."""
    cur = {}
    for task, status, ms, mid in events:
        if task not in cur or order((status, ms, mid)) > order(cur[task]):
            cur[task] = (status, ms, mid)
    b = cur.pop(None, None)
    counts = {s: 0 for s in RANKED}
    for status, _, _ in cur.values():
        counts[status] = counts.get(status, 0) + 1
    return {
        "version": 1, "batch_id": batch,
        "status": b[0] if b else None, "event_time": iso(b[1]) if b else None,
        "message_id": b[2] if b else None,
        "task_count": len(cur), "counts": counts, "overflow": False,
        "tasks": {t: {"status": s, "event_time": iso(ms), "message_id": mid}
                  for t, (s, ms, mid) in cur.items()},
    }


def without_updated_at(doc):
    d = dict(doc)
    d.pop("updated_at", None)
    return d
