"""Nothing lost under faults (issue 3): s3statusd against the emulator through a fault-injecting
proxy. Every scenario asserts no loss (each sent message has exactly one object, or, only where
expected, one dead letter), no duplicate objects, and that no message was deleted before its
successful PUT (from the proxy's request log)."""
import json
import os
import random
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
from faultproxy import FaultProxy, duplicate_received, fail_batch_entries  # noqa: E402

PREFIX = "FTD_CONTRACT_LOADER"
EMU = None
_names = iter(range(1000))


def new_setup(proxy, **cfg):
    """A fresh queue, DLQ and bucket; a config whose endpoint is the proxy."""
    n = "f%d" % next(_names)
    q = h.create_queue(n, endpoint=EMU.url)
    dlq = h.create_queue(n + "-dlq", endpoint=EMU.url)
    bucket = h.create_bucket(n + "-bucket", endpoint=EMU.url)
    path = os.path.join(tempfile.mkdtemp(prefix="s3s-faults-"), "s3statusd.conf")
    keys = dict(queue_url=q, dlq_url=dlq, bucket=bucket, endpoint_url=proxy.url,
                s3_path_style=True, region=h.REGION, wait_time=1, log_level="info",
                visibility_timeout=30)
    keys.update(cfg)
    h.write_config(path, **keys)
    return q, dlq, bucket, path


def bodies(n, batch="b"):
    return [json.dumps({"command": "add-task-status", "batch_id": batch, "task_id": "t%04d" % i,
                        "status": random.choice(["pending", "running", "success"]),
                        "event_time": "2026-12-03T10:%02d:%02d.%03dZ" % (i // 60 % 60, i % 60, i % 1000),
                        "payload": {"i": i}}) for i in range(n)]


def objects_by_id(bucket):
    out = {}
    for k in h.list_keys(bucket, PREFIX + "/", endpoint=EMU.url):
        if k.endswith("/summary.json"):
            continue
        mid = k.rsplit("_", 1)[1][:-len(".json")]
        out.setdefault(mid, []).append(k)
    return out


def assert_no_loss(ids, bucket, dlq=None, dead=()):
    """Each id: exactly one object, or (ids in dead) exactly one dead letter and no object."""
    objs = objects_by_id(bucket)
    dead = set(dead)
    missing = [i for i in ids if i not in dead and len(objs.get(i, [])) != 1]
    assert not missing, "%d messages without exactly one object, e.g. %s: %s" % (
        len(missing), missing[0], objs.get(missing[0]))
    extra = set(objs) - set(ids)
    assert not extra, "objects for unknown messages: %s" % sorted(extra)[:5]
    assert not (dead & set(objs)), "dead-lettered messages also stored"
    if dlq is not None:
        letters = h.drain_queue(dlq, endpoint=EMU.url)
        src = [m["MessageAttributes"]["s3statusd.source_message_id"]["StringValue"]
               for m in letters]
        assert sorted(src) == sorted(dead), (sorted(src), sorted(dead))
        return letters
    return []


def assert_delete_after_put(proxy):
    """From the proxy log: every message id in a DeleteMessageBatch was PUT successfully (200)
    before that delete request started, or was sent to the DLQ before it."""
    puts = {}
    for r in proxy.records(service="s3", op="PutObject"):
        if r["key"].endswith("/summary.json"):
            continue
        if r.get("status") == 200 and r.get("fault") is None:
            mid = r["key"].rsplit("_", 1)[1][:-len(".json")]
            end = r["time"] + r.get("duration_ms", 0) / 1000.0
            puts[mid] = min(puts.get(mid, end), end)
    sends = [r["time"] + r.get("duration_ms", 0) / 1000.0
             for r in proxy.records(service="sqs", op="SendMessage") if r.get("status") == 200]
    first_send = min(sends) if sends else None
    checked = 0
    for r in proxy.records(service="sqs", op="DeleteMessageBatch"):
        for mid in r.get("message_ids") or []:
            assert mid is not None, "delete with a receipt handle never received: %s" % r
            if mid in puts:
                assert puts[mid] <= r["time"] + 0.001, \
                    "message %s deleted at %.3f before its PUT finished at %.3f" % (
                        mid, r["time"], puts[mid])
            else:
                assert first_send is not None and first_send <= r["time"] + 0.001, \
                    "message %s deleted without a stored object or dead letter" % mid
            checked += 1
    return checked


def once(rewriter):
    """A rewriter that applies to the first answer it can change, then never again."""
    done = []

    def rewrite(ex):
        if done:
            return None
        out = rewriter(ex)
        if out is not None:
            done.append(True)
        return out
    return rewrite


def proxy_for_test(seed=1):
    return FaultProxy(EMU.url, seed=seed).start()


def test_1_put_errors_throttling_and_resets_lose_nothing():
    proxy = proxy_for_test(seed=11)
    try:
        q, dlq, bucket, cfg = new_setup(proxy, max_inflight=64)
        ids = h.send_batch(q, bodies(300), endpoint=EMU.url)
        proxy.set_rule(service="s3", op="PutObject", error_rate=0.23,
                       kinds={"500": 10, "503": 10, "reset": 3})
        proxy.set_rule(service="sqs", op="*", error_rate=0.06, kinds={"reset": 3, "throttle": 3})
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=300)
        assert rc == 0, err[-3000:]
        injected = proxy.count(fault="any")
        assert injected > 60, "only %d faults injected" % injected
        assert proxy.count(service="s3", fault="reset") > 0
        assert proxy.count(service="s3", fault="503") > 0
        assert proxy.count(service="sqs", fault="throttle") > 0
        proxy.clear_rules()
        assert_no_loss(ids, bucket, dlq)
        assert assert_delete_after_put(proxy) >= 300
        assert h.queue_counts(q, endpoint=EMU.url) == (0, 0)
    finally:
        proxy.stop()


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_2_sigkill_three_times_then_restart():
    proxy = proxy_for_test(seed=2)
    try:
        # Short visibility so killed work reappears quickly; slow PUTs so kills land mid-flight.
        q, dlq, bucket, cfg = new_setup(proxy, visibility_timeout=3, max_inflight=32)
        sent_bodies = bodies(400)
        ids = h.send_batch(q, sent_bodies, endpoint=EMU.url)
        proxy.set_rule(service="s3", op="PutObject", latency_ms=15)
        rnd = random.Random(5)
        for kill in range(3):
            p = h.start_daemon(cfg)
            target = (kill + 1) * 80 + rnd.randint(0, 40)
            h.wait_until(lambda: len(objects_by_id(bucket)) >= target, timeout=120,
                         interval=0.05, message="%d objects before kill %d" % (target, kill))
            time.sleep(rnd.random() * 0.3)
            p.send_signal(signal.SIGKILL)
            p.wait(10)
            assert p.returncode == -signal.SIGKILL
        p = h.start_daemon(cfg)
        h.wait_until(lambda: len(objects_by_id(bucket)) == 400 and
                     h.queue_counts(q, endpoint=EMU.url) == (0, 0), timeout=180, interval=0.5,
                     message="all 400 stored and the queue empty after the restart")
        assert h.stop_process(p) == 0
        assert_no_loss(ids, bucket, dlq)
        assert_delete_after_put(proxy)
        # Same content: each object is the record of its own message.
        sent = {}
        for mid, body in zip(ids, sent_bodies):
            sent[mid] = json.loads(body)
        for mid, keys in rnd.sample(sorted(objects_by_id(bucket).items()), 40):
            rec = h.get_json(bucket, keys[0], endpoint=EMU.url)
            want = sent[mid]
            assert (rec["task_id"], rec["status"], rec["payload"], rec["message_id"]) == \
                (want["task_id"], want["status"], want["payload"], mid), rec
    finally:
        proxy.stop()


def test_3_slow_s3_heartbeats_keep_receive_count_at_one():
    proxy = proxy_for_test(seed=3)
    try:
        q, dlq, bucket, cfg = new_setup(proxy, visibility_timeout=2)
        ids = h.send_batch(q, bodies(10), endpoint=EMU.url)
        proxy.set_rule(service="s3", op="PutObject", latency_ms=5000)
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=120)
        assert rc == 0, err[-3000:]
        assert_no_loss(ids, bucket, dlq)
        received = {}
        for r in proxy.records(service="sqs", op="ReceiveMessage"):
            for mid in r.get("message_ids") or []:
                received[mid] = received.get(mid, 0) + 1
        assert all(received.get(i) == 1 for i in ids), received
        for keys in objects_by_id(bucket).values():
            assert h.get_json(bucket, keys[0], endpoint=EMU.url)["receive_count"] == 1
        assert proxy.count(service="sqs", op="ChangeMessageVisibilityBatch") >= 2
        assert_delete_after_put(proxy)
    finally:
        proxy.stop()


def test_4_access_denied_dead_letters_only_after_max_receives():
    proxy = proxy_for_test(seed=4)
    try:
        q, dlq, bucket, cfg = new_setup(proxy, max_receives=3)
        sent = bodies(5)
        ids = h.send_batch(q, sent, endpoint=EMU.url)
        proxy.set_rule(service="s3", op="PutObject", error_rate=1.0, kind="403")
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=120)
        assert rc == 0, err[-3000:]
        assert "AccessDenied" in err
        letters = assert_no_loss(ids, bucket, dlq, dead=ids)
        by_id = dict(zip(ids, sent))
        for m in letters:
            a = m["MessageAttributes"]
            # The original body, kept through the last receive's failed PUT.
            assert m["Body"] == by_id[a["s3statusd.source_message_id"]["StringValue"]], m
            assert a["s3statusd.error"]["StringValue"] == "S3Error", a
            assert "AccessDenied" in a["s3statusd.reason"]["StringValue"], a
            assert a["s3statusd.receive_count"]["StringValue"] == "3", a
        # Three receives and three PUT attempts each, and the delete only after the last.
        for mid in ids:
            recv = [r for r in proxy.records(service="sqs", op="ReceiveMessage")
                    if mid in (r.get("message_ids") or [])]
            dels = [r for r in proxy.records(service="sqs", op="DeleteMessageBatch")
                    if mid in (r.get("message_ids") or [])]
            puts = [r for r in proxy.records(service="s3", op="PutObject") if mid in r["key"]]
            assert len(recv) == 3 and len(puts) == 3 and len(dels) == 1, (len(recv), len(puts),
                                                                          len(dels))
            assert dels[0]["time"] > max(r["time"] for r in puts)
        assert h.queue_counts(q, endpoint=EMU.url) == (0, 0)
    finally:
        proxy.stop()


def test_5_failed_delete_entry_is_retried():
    proxy = proxy_for_test(seed=5)
    try:
        q, dlq, bucket, cfg = new_setup(proxy)
        ids = h.send_batch(q, bodies(6), endpoint=EMU.url)
        proxy.set_rule(service="sqs", op="DeleteMessageBatch", rewrite=once(fail_batch_entries(1)))
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=60)
        assert rc == 0, err[-3000:]
        dels = proxy.records(service="sqs", op="DeleteMessageBatch")
        failed = [r for r in dels if r.get("rewritten")]
        assert len(failed) == 1, dels
        # The entry reported Failed is deleted again by a later request.
        fid = failed[0]["failed_ids"][0]
        idx = failed[0]["entry_ids"].index(fid)   # request entries come first, in order
        mid = failed[0]["message_ids"][idx]
        later = [r for r in dels if r["seq"] > failed[0]["seq"] and mid in r["message_ids"]]
        assert later, "message %s was not deleted again" % mid
        assert_no_loss(ids, bucket, dlq)
        assert h.queue_counts(q, endpoint=EMU.url) == (0, 0)
    finally:
        proxy.stop()


def test_6_sigterm_during_long_poll_exits_quickly():
    proxy = proxy_for_test(seed=6)
    try:
        q, dlq, bucket, cfg = new_setup(proxy, wait_time=20)
        ids = h.send_batch(q, bodies(3), endpoint=EMU.url)
        p = h.start_daemon(cfg)
        h.wait_until(lambda: len(objects_by_id(bucket)) == 3 and
                     h.queue_counts(q, endpoint=EMU.url) == (0, 0), timeout=30)
        time.sleep(1.0)  # now inside a 20 s long poll
        t0 = time.monotonic()
        rc = h.stop_process(p, signal.SIGTERM, timeout=10)
        took = time.monotonic() - t0
        assert rc == 0, (rc, h.read_log(p)[-2000:])
        assert took < 2.5, "stop took %.2f s" % took
        assert h.queue_counts(q, endpoint=EMU.url) == (0, 0)
        assert_no_loss(ids, bucket, dlq)
    finally:
        proxy.stop()


def test_6b_sigterm_returns_unfinished_messages_at_once():
    proxy = proxy_for_test(seed=61)
    try:
        # shutdown_timeout above wait_time: the long poll aborted at the stop has ended at
        # SQS before the messages are handed back, so it cannot take them again.
        q, dlq, bucket, cfg = new_setup(proxy, shutdown_timeout=2, visibility_timeout=60)
        ids = h.send_batch(q, bodies(5), endpoint=EMU.url)
        proxy.set_rule(service="s3", op="PutObject", latency_ms=8000)
        p = h.start_daemon(cfg)
        h.wait_until(lambda: h.queue_counts(q, endpoint=EMU.url) == (0, 5), timeout=30)
        t0 = time.monotonic()
        rc = h.stop_process(p, signal.SIGTERM, timeout=15)
        log = h.read_log(p)
        assert rc == 0, log[-2000:]
        assert time.monotonic() - t0 < 5, log[-2000:]
        # Returned with visibility 0, not left invisible for the 60 s timeout.
        h.wait_until(lambda: h.queue_counts(q, endpoint=EMU.url) == (5, 0), timeout=3,
                     message="5 visible messages after the stop; log: %s" % log[-2000:])
        proxy.clear_rules()
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=60)
        assert rc == 0, err
        assert_no_loss(ids, bucket, dlq)
    finally:
        proxy.stop()


def test_7_same_message_twice_in_one_receive():
    proxy = proxy_for_test(seed=7)
    try:
        q, dlq, bucket, cfg = new_setup(proxy)
        ids = h.send_batch(q, bodies(3), endpoint=EMU.url)
        proxy.set_rule(service="sqs", op="ReceiveMessage", rewrite=once(duplicate_received(1)))
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=60)
        assert rc == 0, err
        rw = [r for r in proxy.records(service="sqs", op="ReceiveMessage") if r.get("rewritten")]
        assert len(rw) == 1
        assert_no_loss(ids, bucket, dlq)
        deleted = [m for r in proxy.records(service="sqs", op="DeleteMessageBatch")
                   for m in r["message_ids"]]
        assert sorted(deleted) == sorted(ids), deleted
        puts = [r["key"] for r in proxy.records(service="s3", op="PutObject")
                if not r["key"].endswith("/summary.json")]
        assert len(puts) == 3, puts
    finally:
        proxy.stop()


def test_8_short_visibility_no_busy_heartbeat():
    proxy = proxy_for_test(seed=8)
    seen = []

    def capture(ex):
        seen.append(ex.request_json)
        return None

    try:
        q, dlq, bucket, cfg = new_setup(proxy, visibility_timeout=2)
        ids = h.send_batch(q, bodies(10), endpoint=EMU.url)
        proxy.set_rule(service="s3", op="PutObject", latency_ms=3500)
        proxy.set_rule(service="sqs", op="ChangeMessageVisibilityBatch", rewrite=capture)
        p = h.start_daemon(cfg, "--drain")
        p.wait(60)
        assert p.returncode == 0, h.read_log(p)[-2000:]
        assert_no_loss(ids, bucket, dlq)
        # About one heartbeat batch per second while the PUTs last; never a zero extension.
        assert 1 <= len(seen) <= 12, len(seen)
        for req in seen:
            for e in req["Entries"]:
                assert e["VisibilityTimeout"] >= 1, e
    finally:
        proxy.stop()


def test_9_receive_errors_back_off():
    proxy = proxy_for_test(seed=9)
    try:
        q, dlq, bucket, cfg = new_setup(proxy)
        proxy.set_rule(service="sqs", op="ReceiveMessage", error_rate=1.0, kind="500")
        p = h.start_daemon(cfg)
        time.sleep(10)
        recv = proxy.records(service="sqs", op="ReceiveMessage")
        cpu = _cpu_seconds(p.pid)
        assert 3 <= len(recv) <= 24, "%d receives in 10 s" % len(recv)
        gaps = [b["time"] - a["time"] for a, b in zip(recv, recv[1:])]
        assert max(gaps) >= 1.0, gaps
        assert cpu < 1.0, cpu
        # It recovers once SQS does.
        proxy.clear_rules()
        ids = h.send_batch(q, bodies(2), endpoint=EMU.url)
        h.wait_until(lambda: len(objects_by_id(bucket)) == 2, timeout=40)
        assert h.stop_process(p) == 0
        assert_no_loss(ids, bucket, dlq)
    finally:
        proxy.stop()


def test_10_idle_keepalive_connections_closed_by_the_server():
    proxy = proxy_for_test(seed=10)
    try:
        q, dlq, bucket, cfg = new_setup(proxy)
        proxy.set_idle_close(200)
        p = h.start_daemon(cfg)
        ids = []
        for wave in range(4):
            ids += h.send_batch(q, bodies(5, batch="w%d" % wave), endpoint=EMU.url)
            h.wait_until(lambda: len(objects_by_id(bucket)) == len(ids), timeout=30)
            time.sleep(0.6)  # every kept-alive connection now gets closed under the daemon
        assert h.stop_process(p) == 0, h.read_log(p)[-2000:]
        assert_no_loss(ids, bucket, dlq)
        assert_delete_after_put(proxy)
        assert h.queue_counts(q, endpoint=EMU.url) == (0, 0)
    finally:
        proxy.stop()


if __name__ == "__main__":
    with h.Emulator() as emu:
        EMU = emu
        sys.exit(h.run_tests(globals(), only=(sys.argv[1] if len(sys.argv) > 1 else None)))
