"""s3status against the emulator: send, then s3statusd --drain, then get (current status, --history,
--json) and its fallbacks; get on a batch with more than 1,000 history objects (ListObjectsV2
pagination); summary --rebuild then summary (conditional PUTs through a proxy that enforces
If-Match/If-None-Match, which the emulator ignores); dlq redrive (dead letters back to the queue,
the DLQ empty, without the s3statusd.* attributes); check; usage errors and exit statuses."""
import concurrent.futures
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
import summary_truth as st  # noqa: E402
from condproxy import CondProxy  # noqa: E402

PROXY = None
T0 = 1796292000000  # 2026-12-03T10:00:00.000Z


def setup(name, **cfg):
    q = h.create_queue(name, {"VisibilityTimeout": "30"})
    dlq = h.create_queue(name + "-dlq")
    bucket = h.create_bucket(name + "-bucket")
    path = os.path.join(tempfile.mkdtemp(prefix="s3s-cli-"), "s3statusd.conf")
    keys = dict(queue_url=q, dlq_url=dlq, bucket=bucket, endpoint_url=PROXY.url,
                s3_path_style=True, region=h.REGION, wait_time=1, log_level="warning")
    keys.update(cfg)
    if keys.get("dlq_url") is None:
        keys.pop("dlq_url")
    h.write_config(path, **keys)
    return q, dlq, bucket, path


def cli(cfg, *args, expect=0):
    rc, out, err = h.run_cli(cfg, *args, timeout=120)
    assert rc == expect, "s3status %s: exit %d (wanted %d)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), rc, expect, out[-3000:], err[-3000:])
    return out, err


def cli_json(cfg, *args):
    out, _ = cli(cfg, *args, "--json")
    assert out.count("\n") == 1 and out.endswith("\n"), out
    return json.loads(out)


def put_records(bucket, events, batch):
    """Writes history objects directly (as the daemon would) with a thread pool."""
    s3 = h.s3()

    def put(ev):
        task, status, ms, mid = ev
        body = json.dumps({"account": None, "batch_id": batch, "task_id": task,
                           "status": status, "event_time": st.iso(ms), "message_id": mid,
                           "payload": None}) + "\n"
        s3.put_object(Bucket=bucket, Key=st.record_key(batch, task, status, ms, mid),
                      Body=body.encode(), ContentType="application/json")

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, events))


def test_send_drain_get():
    q, _, bucket, cfg = setup("cli-get")
    batch = "nightly/2026-12-03"
    sends = [
        ("--status", "running", "--event-time", "2026-12-03T10:00:00Z"),
        ("--task", "extract", "--status", "running", "--event-time", "2026-12-03T10:01:00Z"),
        ("--task", "extract", "--status", "success", "--event-time", "2026-12-03T10:02:00Z",
         "--payload", '{"rows": 12}'),
        ("--task", "load warehouse", "--status", "failed", "--event-time",
         "2026-12-03T10:02:00Z"),
        ("--task", "load warehouse", "--status", "running", "--event-time",
         "2026-12-03T10:01:30Z"),
    ]
    mids = []
    for args in sends:
        out = cli_json(cfg, "send", "--batch", batch, *args)
        mids.append(out["message_id"])
    rc, _, err = h.run_daemon(cfg, "--drain", timeout=120)
    assert rc == 0, err

    # examples/athena.sql declares exactly the record's members, in order.
    rec_key = st.record_key(batch, None, "running", T0, mids[0])
    rec = json.loads(h.get_object(bucket, rec_key)[0])
    with open(os.path.join(h.SOURCE_DIR, "examples", "athena.sql"), encoding="utf-8") as f:
        sql = f.read()
    table = sql[sql.index("CREATE EXTERNAL TABLE IF NOT EXISTS s3status_history ("):]
    table = table[table.index("(") + 1:table.index("\n)")]
    columns = [line.split()[0] for line in table.strip().splitlines()]
    assert columns == list(rec), (columns, list(rec))

    # The batch: current status and task counts.
    doc = cli_json(cfg, "get", "--batch", batch)
    assert doc["batch_id"] == batch and doc["task_id"] is None, doc
    assert doc["status"] == "running" and doc["event_time"] == "2026-12-03T10:00:00.000Z", doc
    assert doc["message_id"] == mids[0], doc
    assert doc["source"] in ("summary", "history"), doc
    assert doc["task_count"] == 2, doc
    assert doc["counts"] == {"pending": 0, "running": 0, "success": 1, "failed": 1,
                             "completed": 0}, doc
    assert "history" not in doc

    # One task, its history in time order, each key present in S3.
    doc = cli_json(cfg, "get", "--batch", batch, "--task", "load warehouse", "--history")
    assert doc["status"] == "failed" and doc["message_id"] == mids[3], doc
    hist = doc["history"]
    assert [e["status"] for e in hist] == ["running", "failed"], hist
    assert [e["message_id"] for e in hist] == [mids[4], mids[3]], hist
    keys = set(h.list_keys(bucket, st.PREFIX + "/"))
    for e in hist:
        assert e["key"] in keys, (e, keys)
        assert e["key"] == st.record_key(batch, "load warehouse", e["status"],
                                         T0 + (90000 if e["status"] == "running" else 120000),
                                         e["message_id"])
        assert e["task_id"] == "load warehouse"

    # Human output: readable lines, the history with times, statuses and keys.
    out, _ = cli(cfg, "get", "--batch", batch, "--history")
    assert "status:    running at 2026-12-03T10:00:00.000Z" in out, out
    assert "tasks:     2: pending 0, running 0, success 1, failed 1, completed 0" in out, out
    assert "history:   1 event\n" in out, out
    assert st.record_key(batch, None, "running", T0, mids[0]) in out, out
    out, _ = cli(cfg, "get", "--batch", batch, "--task", "extract")
    assert "task:      extract" in out and "success at 2026-12-03T10:02:00.000Z" in out, out

    # Nothing recorded: exit 1 with one line; usage errors: exit 2.
    _, err = cli(cfg, "get", "--batch", "no-such-batch", expect=1)
    assert "no status recorded for batch no-such-batch" in err, err
    _, err = cli(cfg, "get", "--batch", batch, "--task", "nope", expect=1)
    assert "no status recorded for task nope of batch" in err, err
    cli(cfg, "get", expect=2)


def test_get_more_than_1000_history_objects():
    _, _, bucket, cfg = setup("cli-page")
    batch = "big"
    events = [(None, ["running", "pending"][i % 2], T0 + i * 1000, "bm-%05d" % i)
              for i in range(1030)]
    events += [("task-%02d" % (i % 40), ["running", "success", "failed"][i % 3],
                T0 + i * 7000, "tm-%05d" % i) for i in range(130)]
    t = time.monotonic()
    put_records(bucket, events, batch)
    listed = h.s3().list_objects_v2(Bucket=bucket, Prefix=st.PREFIX + "/")
    assert listed["IsTruncated"], "the emulator no longer paginates at 1,000 keys"
    print("  wrote %d objects in %.1fs" % (len(events), time.monotonic() - t))

    want = st.truth(batch, events)
    # No summary.json: computed from all 1,160 keys (two pages).
    doc = cli_json(cfg, "get", "--batch", batch, "--history")
    assert doc["source"] == "history", doc["source"]
    assert doc["status"] == want["status"] and doc["event_time"] == want["event_time"], doc
    assert doc["message_id"] == "bm-01029", doc["message_id"]
    assert doc["counts"] == want["counts"] and doc["task_count"] == 40, doc["counts"]
    hist = doc["history"]
    assert len(hist) == 1030, len(hist)
    assert [e["message_id"] for e in hist] == ["bm-%05d" % i for i in range(1030)]
    # A task: current status from its own prefix.
    doc = cli_json(cfg, "get", "--batch", batch, "--task", "task-07")
    assert (doc["status"], doc["event_time"]) == (want["tasks"]["task-07"]["status"],
                                                 want["tasks"]["task-07"]["event_time"]), doc


def test_summary_rebuild_then_summary():
    _, _, bucket, cfg = setup("cli-sum")
    batch = "b-sum"
    events = [(None, "pending", T0, "m0"), (None, "running", T0 + 5, "m1"),
              ("t1", "running", T0 + 10, "m2"), ("t1", "completed", T0 + 10, "m3"),
              ("t/2", "failed", T0 + 20, "m4"), ("t/2", "pending", T0 + 1, "m5"),
              ("t3", "queued", T0 + 30, "m6")]
    put_records(bucket, events, batch)

    _, err = cli(cfg, "summary", "--batch", batch, expect=1)
    assert "no summary.json for batch b-sum (--rebuild creates it)" in err, err

    before = dict(PROXY.stats)
    doc = cli_json(cfg, "summary", "--batch", batch, "--rebuild")
    want = st.truth(batch, events)
    assert st.without_updated_at(doc) == want, (doc, want)
    assert PROXY.stats["conditional"] == before["conditional"] + 1, PROXY.stats
    stored = h.get_json(bucket, st.summary_key(batch))
    assert stored == doc, (stored, doc)

    again = cli_json(cfg, "summary", "--batch", batch)
    assert again == stored, again
    out, _ = cli(cfg, "summary", "--batch", batch)
    assert "status:    running at 2026-12-03T10:00:00.005Z (message m1)" in out, out
    assert "t/2" in out and "failed" in out, out

    # get now reads the summary.
    doc = cli_json(cfg, "get", "--batch", batch)
    assert doc["source"] == "summary" and doc["counts"] == want["counts"], doc
    doc = cli_json(cfg, "get", "--batch", batch, "--task", "t1")
    assert doc["source"] == "summary" and doc["status"] == "completed", doc

    # A newer event and a corrupt summary: summary refuses, get falls back, rebuild fixes.
    events.append(("t1", "failed", T0 + 100, "m7"))
    put_records(bucket, events[-1:], batch)
    h.s3().put_object(Bucket=bucket, Key=st.summary_key(batch), Body=b"{not json")
    _, err = cli(cfg, "summary", "--batch", batch, expect=1)
    assert "summary.json: not valid JSON" in err and "--rebuild" in err, err
    out, err = cli(cfg, "get", "--batch", batch, "--task", "t1", "--json")
    doc = json.loads(out)
    assert doc["source"] == "history" and doc["status"] == "failed", doc
    assert "warning: summary.json: not valid JSON" in err and "using the history" in err, err
    out, _ = cli(cfg, "summary", "--batch", batch, "--rebuild")
    assert "rebuilt s3://%s/%s from 8 history objects" % (bucket, st.summary_key(batch)) in out
    stored = h.get_json(bucket, st.summary_key(batch))
    want = st.truth(batch, events)
    assert st.without_updated_at(stored) == want, stored

    # No history at all: nothing to rebuild.
    _, err = cli(cfg, "summary", "--batch", "empty", "--rebuild", expect=1)
    assert "no history objects for batch empty" in err, err
    cli(cfg, "summary", expect=2)


def test_dlq_redrive():
    q, dlq, bucket, cfg = setup("cli-dlq")
    bad = ["not json %d" % i for i in range(3)] + ['{"command":"add-batch-status"}']
    for b in bad:
        h.send(q, b)
    rc, _, err = h.run_daemon(cfg, "--drain", timeout=120)
    assert rc == 0, err
    assert h.queue_counts(q) == (0, 0)
    assert h.queue_counts(dlq)[0] == 4, h.queue_counts(dlq)

    doc = cli_json(cfg, "dlq", "redrive", "--max", "1")
    assert doc["moved"] == 1 and doc["failed"] == 0 and doc["dlq_url"] == dlq, doc
    assert h.queue_counts(dlq) == (3, 0), h.queue_counts(dlq)
    out, _ = cli(cfg, "dlq", "redrive")
    assert out == "moved 3 messages from %s to %s\n" % (dlq, q), out
    assert h.queue_counts(dlq) == (0, 0), h.queue_counts(dlq)

    back = h.drain_queue(q)
    assert sorted(m["Body"] for m in back) == sorted(bad), back
    for m in back:
        assert not any(k.startswith("s3statusd.") for k in m.get("MessageAttributes", {})), m
    # Nothing left: a second redrive moves nothing and succeeds.
    doc = cli_json(cfg, "dlq", "redrive")
    assert doc["moved"] == 0, doc
    cli(cfg, "dlq", expect=2)
    cli(cfg, "dlq", "redrive", "--max", "0", expect=2)


def test_dlq_without_dlq_url_counts_s3_dead_letters():
    q, _, _, cfg = setup("cli-s3dl", dlq_url=None)
    doc = cli_json(cfg, "dlq", "redrive")
    assert doc == {"dlq_url": None, "s3_dead_letters": 0, "moved": 0}, doc
    h.send(q, "garbage")
    rc, _, err = h.run_daemon(cfg, "--drain", timeout=120)
    assert rc == 0, err
    out, err = cli(cfg, "dlq", "redrive", expect=1)
    assert "1 dead letter in s3://" in out and "/DEAD_LETTER/" in out, out
    assert "not redriven" in err, err


def test_check_and_usage():
    _, _, _, cfg = setup("cli-check")
    out, _ = cli(cfg, "check")
    assert "ok: queue_url" in out and "ok: dlq_url" in out and "ok: bucket" in out, out
    _, err = cli(cfg, "frobnicate", expect=2)
    assert "unknown command 'frobnicate'" in err, err
    out, _ = cli(None, "--help")
    for word in ("send", "get", "summary", "dlq redrive", "check", "--history", "--rebuild"):
        assert word in out, (word, out)
    # get needs the bucket only, send the queue only.
    rc, _, err = h.run_cli(None, "get", "--batch", "b", "--queue-url", "q")
    assert rc == 2 and "bucket: required" in err, err


if __name__ == "__main__":
    with h.Emulator() as emu, CondProxy(emu.url) as proxy:
        PROXY = proxy
        sys.exit(h.run_tests(globals()))
