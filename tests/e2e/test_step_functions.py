"""Step Functions callbacks and summary.json, end to end (issue 6): the daemon against the
emulator and a fake Step Functions endpoint speaking the JSON protocol; two daemons draining
one queue of shuffled, out-of-order events into one summary.json (through a proxy that enforces
S3 conditional writes, which the emulator ignores)."""
import json
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
import summary_truth as st  # noqa: E402
from condproxy import CondProxy  # noqa: E402
from fakesfn import FakeSfn  # noqa: E402

PREFIX = "FTD_CONTRACT_LOADER"
_n = iter(range(100))


def setup(endpoint, **cfg):
    n = "sfn%d" % next(_n)
    q = h.create_queue(n)
    dlq = h.create_queue(n + "-dlq")
    bucket = h.create_bucket(n + "-bucket")
    path = os.path.join(tempfile.mkdtemp(prefix="s3s-sfn-"), "s3statusd.conf")
    keys = dict(queue_url=q, dlq_url=dlq, bucket=bucket, endpoint_url=endpoint,
                s3_path_style=True, region=h.REGION, wait_time=1, summary_flush_ms=200)
    keys.update(cfg)
    h.write_config(path, **keys)
    return q, dlq, bucket, path


def body(**kw):
    return json.dumps(kw)


def test_callbacks_success_failure_timeout_and_get_status():
    with FakeSfn() as sfn:
        q, dlq, bucket, cfg = setup(h.DEFAULT_ENDPOINT, sfn_endpoint_url=sfn.url)
        h.send(q, body(command="add-batch-status", batch_id="b1", status="running",
                       event_time="2026-12-03T10:00:00Z"))
        ok = h.send(q, body(command="add-task-status", batch_id="b1", task_id="t1",
                            status="success", task_token="tok-ok-1"))
        alias = h.send(q, body(command="add-task-status", batch_id="b1", task_id="t2",
                               status="running", TaskToken="tok-alias-2"))
        h.send(q, body(command="add-task-status", batch_id="b1", task_id="t3",
                       status="bogus", task_token="tok-dead-3"))
        h.send(q, body(command="add-task-status", batch_id="b1", task_id="t4",
                       status="failed", task_token="timedout-4"))
        flaky = h.send(q, body(command="add-task-status", batch_id="b1", task_id="t5",
                               status="completed", task_token="flaky-2-five"))
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=120)
        assert rc == 0, err

        def output(token, target="AWSStepFunctions.SendTaskSuccess"):
            calls = [c for c in sfn.calls_for(token) if c["target"] == target]
            return calls

        # SendTaskSuccess after the record was stored: the key exists and reads back.
        [c] = output("tok-ok-1")
        out1 = json.loads(c["body"]["output"])
        assert out1["status"] == "success" and out1["batch_id"] == "b1" and \
            out1["task_id"] == "t1", out1
        rec = h.get_json(bucket, out1["s3_key"])
        assert rec["message_id"] == ok and rec["task_id"] == "t1"
        assert c["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
        assert "/states/aws4_request" in c["headers"]["authorization"]
        [c] = output("tok-alias-2")
        assert json.loads(c["body"]["output"])["s3_key"].endswith("_%s.json" % alias)
        # A dead-lettered message: SendTaskFailure with the error code and reason.
        [c] = output("tok-dead-3", "AWSStepFunctions.SendTaskFailure")
        assert c["body"]["error"] == "InvalidStatus" and "bogus" in c["body"]["cause"], c["body"]
        assert not output("tok-dead-3")
        # TaskTimedOut is final: called once, not retried, the message still deleted.
        assert len(sfn.calls_for("timedout-4")) == 1, sfn.calls_for("timedout-4")
        assert "TaskTimedOut" in err
        # Transient errors follow the common retry policy.
        assert len(sfn.calls_for("flaky-2-five")) == 3
        assert json.loads(output("flaky-2-five")[-1]["body"]["output"])["s3_key"].endswith(
            "_%s.json" % flaky)

        # get-status answered from S3 (summary.json now exists).
        h.send(q, body(command="get-status", batch_id="b1", task_token="tok-get-b1"))
        h.send(q, body(command="get-status", batch_id="b1", task_id="t1", task_token="tok-get-t1"))
        h.send(q, body(command="get-status", batch_id="nope", task_token="tok-get-none"))
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=60)
        assert rc == 0, err
        [c] = output("tok-get-b1")
        ans = json.loads(c["body"]["output"])
        assert ans["batch_id"] == "b1" and ans["status"] == "running", ans
        assert ans["counts"]["success"] == 1 and ans["counts"]["completed"] == 1, ans
        [c] = output("tok-get-t1")
        ans = json.loads(c["body"]["output"])
        assert ans["task_id"] == "t1" and ans["status"] == "success", ans
        [c] = output("tok-get-none")
        ans = json.loads(c["body"]["output"])
        assert ans.get("found") is False or ans.get("status") is None, ans
        # Nothing written for get-status, and both queues handled.
        dead = h.drain_queue(dlq)
        assert len(dead) == 1 and \
            dead[0]["MessageAttributes"]["s3statusd.error"]["StringValue"] == "InvalidStatus"
        assert h.queue_counts(q) == (0, 0)


def test_two_daemons_out_of_order_events_give_the_true_summary():
    rnd = random.Random(42)
    events = []
    base = 1796380000000
    for t in range(40):
        times = sorted(rnd.sample(range(0, 600000), 4))
        for status, ms in zip(["pending", "running", rnd.choice(["success", "failed"]),
                               "completed"], times):
            if rnd.random() < 0.2 and status == "completed":
                continue
            events.append(("task-%02d" % t, status, base + ms))
    for status, ms in [("pending", 0), ("running", 1000), ("completed", 700000)]:
        events.append((None, status, base + ms))
    rnd.shuffle(events)
    with CondProxy(h.DEFAULT_ENDPOINT) as cp:
        q, dlq, bucket, cfg = setup(cp.url, max_inflight=16, summary_flush_ms=50)
        bodies = []
        for task, status, ms in events:
            b = {"command": "add-task-status" if task else "add-batch-status",
                 "batch_id": "shuffled batch", "status": status,
                 "event_time": st.iso(ms)}
            if task:
                b["task_id"] = task
            bodies.append(json.dumps(b))
        ids = h.send_batch(q, bodies)
        p1 = h.start_daemon(cfg, "--drain")
        p2 = h.start_daemon(cfg, "--drain")
        p1.wait(180)
        p2.wait(180)
        assert p1.returncode == 0 and p2.returncode == 0, (h.read_log(p1)[-2000:],
                                                           h.read_log(p2)[-2000:])
        log1, log2 = h.read_log(p1), h.read_log(p2)
        assert "stored" in log1 and "stored" in log2
        assert cp.stats["conditional"] > 0
        got = h.get_json(bucket, st.summary_key("shuffled batch"))
        want = st.truth("shuffled batch", [(t, s, ms, mid) for (t, s, ms), mid in
                                           zip(events, ids)])
        got_t, want_t = got.pop("tasks"), want.pop("tasks")
        for task in sorted(want_t):
            assert got_t.get(task) == want_t[task], (task, got_t.get(task), want_t[task])
        assert set(got_t) == set(want_t)
        assert st.without_updated_at(got) == want, (got, want)
        assert h.queue_counts(q) == (0, 0)


if __name__ == "__main__":
    with h.Emulator():
        sys.exit(h.run_tests(globals()))
