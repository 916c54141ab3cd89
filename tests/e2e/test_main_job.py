"""The main job end to end: example and bad messages sent with the AWS CLI, s3statusd --drain
against the emulator, results checked with the AWS CLI and boto3: one object per good message at
its exact key with the right body, bad messages in the dead-letter queue with their reason, the
source queue empty, exit status 0."""
import glob
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
from summary_truth import enc  # noqa: E402  (the layout's encoding, independent of the C code)

PREFIX = "FTD_CONTRACT_LOADER"
EXAMPLES = sorted(glob.glob(os.path.join(h.SOURCE_DIR, "examples", "messages", "*.json")))


def stamp(iso):
    """RFC 3339 (UTC, Z or +00:00) -> YYYYMMDDTHHMMSS.mmmZ."""
    from datetime import datetime, timezone
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(timezone.utc)
    return t.strftime("%Y%m%dT%H%M%S.") + "%03dZ" % (t.microsecond // 1000)


def unwrap(doc):
    if doc.get("Type") == "Notification":
        return json.loads(doc["Message"])
    if "detail" in doc and "detail-type" in doc:
        return doc["detail"]
    return doc


def expected_key(cmd, message_id, sent_ms):
    batch = cmd.get("batch_id", cmd.get("batch-id"))
    task = cmd.get("task_id", cmd.get("task-id"))
    status = cmd["status"].lower()
    if "event_time" in cmd:
        st = stamp(cmd["event_time"])
    else:
        from datetime import datetime, timezone
        t = datetime.fromtimestamp(sent_ms / 1000, timezone.utc)
        st = t.strftime("%Y%m%dT%H%M%S.") + "%03dZ" % (sent_ms % 1000)
    if task is None:
        return "%s/BATCHS/%s/status/%s/%s_%s.json" % (PREFIX, enc(batch), status, st, enc(message_id))
    return "%s/BATCHS/%s/tasks/%s/%s/%s_%s.json" % (PREFIX, enc(batch), enc(task), status, st,
                                                    enc(message_id))


BAD = [
    # (body, expected s3statusd.error)
    ("this is not json", "InvalidJSON"),
    ('{"command":"add-batch-status","batch_id":"b1"', "InvalidJSON"),
    ('["add-batch-status"]', "InvalidJSON"),
    ('{"command":"add-task-status","batch_id":"b1","status":"running"}', "MissingField"),
    ('{"command":"add-batch-status","status":"running"}', "MissingField"),
    ('{"command":"add-batch-status","batch_id":"b1","status":"exploded"}', "InvalidStatus"),
    ('{"command":"delete-everything","batch_id":"b1"}', "UnknownCommand"),
    ('{"command":"add-batch-status","batch_id":"b1","batch-id":"b2","status":"running"}',
     "InvalidField"),
    ('{"command":"add-batch-status","batch_id":"","status":"running"}', "InvalidField"),
    ('{"command":"add-batch-status","batch_id":"b1","status":"running","event_time":"yesterday"}',
     "InvalidField"),
]


def setup(name, **cfg):
    q = h.create_queue(name)
    dlq = h.create_queue(name + "-dlq")
    bucket = h.create_bucket(name + "-bucket")
    path = os.path.join(tempfile.mkdtemp(prefix="s3s-e2e-"), "s3statusd.conf")
    keys = dict(queue_url=q, dlq_url=dlq, bucket=bucket, endpoint_url=h.DEFAULT_ENDPOINT,
                s3_path_style=True, region=h.REGION, wait_time=1, log_level="info")
    keys.update(cfg)
    if keys.get("dlq_url") is None:
        keys.pop("dlq_url")
    h.write_config(path, **keys)
    return q, dlq, bucket, path


def test_examples_and_bad_messages_drain_to_s3_and_dlq():
    q, dlq, bucket, cfg = setup("main")
    sent = {}
    t0 = time.time()
    for f in EXAMPLES:
        body = open(f, encoding="utf-8").read().strip()
        sent[h.send(q, body)] = json.loads(body)
    bad = {h.send(q, body): code for body, code in BAD}
    t1 = time.time()

    rc, out, err = h.run_daemon(cfg, "--drain", timeout=120)
    assert rc == 0, "exit %d\n%s" % (rc, err)

    # Every good message: exactly one object at its exact key, read back with boto3.
    all_keys = h.list_keys(bucket, PREFIX + "/")
    keys = [k for k in all_keys if not k.endswith("/summary.json")]
    got_by_id = {}
    for k in keys:
        mid = k.rsplit("_", 1)[1][:-len(".json")]
        got_by_id.setdefault(mid, []).append(k)
    writes = 0
    for mid, doc in sent.items():
        cmd = unwrap(doc)
        if cmd["command"] == "get-status":
            assert mid not in got_by_id, "get-status wrote %s" % got_by_id.get(mid)
            continue
        writes += 1
        assert len(got_by_id.get(mid, [])) == 1, "message %s: objects %s" % (mid, got_by_id.get(mid))
        key = got_by_id[mid][0]
        body, headers = h.get_object(bucket, key)
        assert body.endswith(b"\n") and body.count(b"\n") == 1, body
        rec = json.loads(body)
        assert headers.get("content-type") == "application/json", headers
        # The key must be exactly the layout's, with the event time of the record;
        # without event_time in the message that is the SentTimestamp.
        ev = rec["event_time"]
        if "event_time" not in cmd:
            from datetime import datetime
            sent_at = datetime.fromisoformat(ev.replace("Z", "+00:00")).timestamp()
            assert t0 - 1 <= sent_at <= t1 + 1, (ev, t0, t1)
        want = expected_key(dict(cmd, event_time=cmd.get("event_time", ev)), mid, 0)
        assert key == want, "key %s != %s" % (key, want)
        assert rec["batch_id"] == cmd.get("batch_id", cmd.get("batch-id"))
        assert rec["task_id"] == cmd.get("task_id", cmd.get("task-id"))
        assert rec["status"] == cmd["status"].lower()
        assert rec["account"] == cmd.get("account")
        assert rec["message_id"] == mid
        assert rec["receive_count"] == 1
        assert rec["queue"] == q
        assert rec["payload"] == cmd.get("payload"), (rec["payload"], cmd.get("payload"))
        assert rec["recorded_at"].endswith("Z")
    assert len(keys) == writes, "unexpected objects: %s" % keys
    # Nothing outside the layout.
    all_keys = h.list_keys(bucket, "")
    assert all(k.startswith(PREFIX + "/BATCHS/") for k in all_keys), all_keys
    # summary.json (on by default): the current state of each batch and its tasks.
    summary = h.get_json(bucket, PREFIX + "/BATCHS/nightly-2026-12-03/summary.json")
    assert summary["batch_id"] == "nightly-2026-12-03"
    assert summary["status"] == "completed", summary
    tasks = {t: v["status"] for t, v in summary["tasks"].items()}
    assert tasks == {"extract-orders": "success", "load/warehouse": "failed",
                     "notify": "success", "report": "pending"}, tasks
    assert summary["counts"]["success"] == 2 and summary["counts"]["failed"] == 1, summary
    sums = sorted(k for k in all_keys if k.endswith("/summary.json"))
    assert len(sums) == 3, sums

    # The bad ones: in the DLQ with the right code and a reason, bodies unchanged.
    dead = h.drain_queue(dlq)
    by_src = {}
    for m in dead:
        a = m.get("MessageAttributes", {})
        by_src[a["s3statusd.source_message_id"]["StringValue"]] = m
    assert set(by_src) == set(bad), (sorted(by_src), sorted(bad))
    bodies = dict((mid, b) for b, mid in [(b, m) for (b, _), m in zip(BAD, bad)])
    for mid, code in bad.items():
        a = by_src[mid]["MessageAttributes"]
        assert a["s3statusd.error"]["StringValue"] == code, (mid, a)
        assert a["s3statusd.reason"]["StringValue"].strip(), a
        assert "\n" not in a["s3statusd.reason"]["StringValue"]
        assert a["s3statusd.receive_count"]["StringValue"] == "1"
        assert by_src[mid]["Body"] == bodies[mid]

    # The source queue is empty: nothing visible, nothing in flight.
    assert h.queue_counts(q) == (0, 0), h.queue_counts(q)


def test_accounts_allow_list():
    q, dlq, bucket, cfg = setup("accounts", accounts="acme, globex")
    ok = h.send(q, '{"command":"add-batch-status","batch_id":"b1","status":"running","account":"globex"}')
    bad = h.send(q, '{"command":"add-batch-status","batch_id":"b1","status":"running","account":"mallory"}')
    anon = h.send(q, '{"command":"add-batch-status","batch_id":"b1","status":"running"}')
    rc, _, err = h.run_daemon(cfg, "--drain", timeout=60)
    assert rc == 0, err
    keys = [k for k in h.list_keys(bucket, "") if not k.endswith("/summary.json")]
    assert len(keys) == 1 and keys[0].endswith("_%s.json" % enc(ok)), keys
    dead = {m["MessageAttributes"]["s3statusd.source_message_id"]["StringValue"]:
            m["MessageAttributes"]["s3statusd.error"]["StringValue"] for m in h.drain_queue(dlq)}
    # With an allow-list, a message that names no account is not allowed either.
    assert dead == {bad: "AccountNotAllowed", anon: "AccountNotAllowed"}, dead
    assert h.queue_counts(q) == (0, 0)


def test_dead_letters_go_to_s3_without_dlq_url():
    q, _, bucket, cfg = setup("nodlq", dlq_url=None)
    mid = h.send(q, "not json at all")
    good = h.send(q, '{"command":"add-batch-status","batch_id":"b/1","status":"running"}')
    rc, out, err = h.run_daemon(cfg, "--drain", timeout=120)
    assert rc == 0, err
    keys = [k for k in h.list_keys(bucket, "") if not k.endswith("/summary.json")]
    dl = [k for k in keys if k.startswith(PREFIX + "/DEAD_LETTER/")]
    assert len(dl) == 1 and dl[0].endswith("_%s.json" % enc(mid)), keys
    parts = dl[0].split("/")
    assert len(parts) == 6 and len(parts[2]) == 4 and len(parts[3]) == 2, dl
    doc = h.get_json(bucket, dl[0])
    assert doc["error"] == "InvalidJSON" and doc["reason"], doc
    assert doc.get("body_text") == "not json at all" or doc.get("body") == "not json at all", doc
    rec = [k for k in keys if "/BATCHS/b%2F1/status/running/" in k]
    assert len(rec) == 1 and rec[0].endswith("_%s.json" % enc(good)), keys
    assert h.queue_counts(q) == (0, 0)


def test_payload_bytes_are_kept_verbatim():
    q, _, bucket, cfg = setup("verbatim")
    payload = '{"big":123456789012345678901234567890,"huge":1e400,"s":"\\u00e9\\n","a":[1.50,-0]}'
    body = '{"command":"add-task-status","batch_id":"b","task_id":"t","status":"success","payload":%s}' % payload
    mid = h.send(q, body)
    rc, _, err = h.run_daemon(cfg, "--drain", timeout=60)
    assert rc == 0, err
    keys = h.list_keys(bucket, PREFIX + "/BATCHS/b/tasks/t/success/")
    assert len(keys) == 1, keys
    raw, _ = h.get_object(bucket, keys[0])
    assert (b'"payload":' + payload.encode() + b"}\n") in raw, raw
    json.loads(raw)  # the record stays strict JSON


def test_record_format_payload_and_check_and_bad_config():
    q, _, bucket, cfg = setup("payloadfmt", record_format="payload", prefix="custom/root")
    mid = h.send(q, '{"command":"add-batch-status","batch_id":"x","status":"failed","payload":{"k":[1,2]}}')
    rc, out, err = h.run_daemon(cfg, "--check", timeout=30)
    assert rc == 0 and "ok" in out, (rc, out, err)
    rc, _, err = h.run_daemon(cfg, "--drain", timeout=60)
    assert rc == 0, err
    keys = h.list_keys(bucket, "custom/root/BATCHS/x/status/failed/")
    assert len(keys) == 1, h.list_keys(bucket, "")
    raw, _ = h.get_object(bucket, keys[0])
    assert raw == b'{"k":[1,2]}\n', raw
    rc, _, err = h.run_daemon(cfg, "--drain", "--max-receives", "zero", timeout=30)
    assert rc == 2 and "max_receives" in err and err.count("\n") == 1, (rc, err)
    rc, _, err = h.run_daemon(cfg, "--check", "--bucket", "no-such-bucket-here", timeout=30)
    assert rc == 1 and "no-such-bucket-here" in err, (rc, err)


def test_queue_name_is_resolved_and_cli_send_works():
    q, _, bucket, cfg = setup("byname")
    cfg2 = cfg + ".byname"
    text = open(cfg).read().replace("queue_url = " + q, "queue_url = byname")
    open(cfg2, "w").write(text)
    rc, out, err = h.run_cli(cfg2, "send", "--batch", "cli batch", "--task", "t1", "--status",
                             "Running", "--payload", '{"n":1}')
    assert rc == 0 and out.startswith("sent "), (rc, out, err)
    mid = out.split()[1]
    rc, out, err = h.run_cli(cfg2, "send", "--batch", "b", "--status", "bogus")
    assert rc == 2 and "InvalidStatus" in err, (rc, err)
    rc, _, err = h.run_daemon(cfg2, "--drain", timeout=60)
    assert rc == 0, err
    keys = h.list_keys(bucket, PREFIX + "/BATCHS/cli%20batch/tasks/t1/running/")
    assert len(keys) == 1 and keys[0].endswith("_%s.json" % enc(mid)), h.list_keys(bucket, "")


if __name__ == "__main__":
    with h.Emulator():
        sys.exit(h.run_tests(globals()))
