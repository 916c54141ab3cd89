"""summary.json under concurrent writers: two tool_summary_hammer processes (each with several
summary updaters on one loop) get the events of one batch (dozens of tasks, several transitions
each, event times out of order, some events given to both as redeliveries) in shuffled orders
and write the same summary.json through a proxy that enforces If-Match/If-None-Match. The final
object must equal the truth computed here, task by task; conflicts must have happened and been
retried. Also: an updater whose writes fail reports every event as failed."""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
import summary_truth as st  # noqa: E402
from condproxy import CondProxy  # noqa: E402

PROXY = None
T0 = 1796292000000
STATUSES = ["pending", "running", "success", "failed", "completed"]


def events_for(batch, rng, ntasks=48, per_task=5):
    ev = []
    for t in range(ntasks):
        task = "task-%02d%s" % (t, "/x" if t % 7 == 0 else "")
        for k in range(per_task):
            # Few distinct times, so equal times and the status tie rule matter.
            ev.append((task, rng.choice(STATUSES), T0 + rng.randrange(4) * 1000,
                       "m-%d-%d" % (t, k)))
    for k in range(8):
        ev.append((None, rng.choice(STATUSES), T0 + rng.randrange(3) * 1000, "b-%d" % k))
    return ev


def write_events(path, events):
    with open(path, "w", encoding="utf-8") as f:
        for task, status, ms, mid in events:
            f.write("%s\t%s\t%d\t%s\n" % (task if task is not None else "-", status, ms, mid))


def hammer(cfg_args, batch, path, seed, updaters=3, spread=1500):
    cmd = [h.tool("summary_hammer"), *cfg_args, "--batch", batch, "--events", path,
           "--updaters", str(updaters), "--seed", str(seed), "--spread-ms", str(spread)]
    return subprocess.Popen(cmd, env=h.aws_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(p, timeout=180):
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def cfg_args(bucket, flush_ms):
    return ["--bucket", bucket, "--endpoint-url", PROXY.url, "--s3-path-style", "true",
            "--region", h.REGION, "--summary-flush-ms", str(flush_ms), "--log-level", "warning"]


def test_two_processes_shuffled_events_give_the_truth():
    bucket = h.create_bucket("sum-conc")
    rng = random.Random(20261203)
    for round_no, flush_ms in enumerate((20, 200)):
        batch = "conc-%d" % round_no
        events = events_for(batch, rng)
        rng.shuffle(events)
        half = len(events) // 2
        a, b = events[:half], events[half:]
        # Redeliveries: some events go to both processes.
        a += rng.sample(b, 15)
        b += rng.sample(a, 15)
        rng.shuffle(a)
        rng.shuffle(b)
        d = tempfile.mkdtemp(prefix="s3s-hammer-")
        pa, pb = os.path.join(d, "a.tsv"), os.path.join(d, "b.tsv")
        write_events(pa, a)
        write_events(pb, b)
        before = dict(PROXY.stats)
        procs = [hammer(cfg_args(bucket, flush_ms), batch, pa, 7 + round_no),
                 hammer(cfg_args(bucket, flush_ms), batch, pb, 11 + round_no)]
        results = [finish(p) for p in procs]
        stats = []
        for rc, out, err in results:
            assert rc == 0, "hammer exit %d\n%s\n%s" % (rc, out, err[-3000:])
            stats.append(json.loads(out))
        assert stats[0]["ok"] == len(a) and stats[1]["ok"] == len(b), stats
        conflicts = sum(s["conflicts"] for s in stats)
        print("  flush %d ms: %s; proxy rejected %d conditional PUTs" % (
            flush_ms, stats, PROXY.stats["rejected"] - before["rejected"]))

        got = h.get_json(bucket, st.summary_key(batch))
        want = st.truth(batch, events)
        assert set(got["tasks"]) == set(want["tasks"]), sorted(
            set(got["tasks"]) ^ set(want["tasks"]))
        for task, w in want["tasks"].items():
            assert got["tasks"][task] == w, (task, got["tasks"][task], w)
        assert st.without_updated_at(got) == want, (got, want)
        # Several writers on one object: some conditional writes must have lost and retried.
        assert conflicts > 0 and PROXY.stats["rejected"] > before["rejected"], stats


def test_events_are_coalesced_per_flush_interval():
    bucket = h.create_bucket("sum-coalesce")
    rng = random.Random(5)
    events = events_for("co", rng, ntasks=20, per_task=3)
    d = tempfile.mkdtemp(prefix="s3s-hammer-")
    path = os.path.join(d, "e.tsv")
    write_events(path, events)
    # 68 events within 400 ms, flush 1000 ms, one updater: the first event's cycle starts at
    # once, everything else waits for the second cycle. The second writes from the cached
    # object (If-Match on the ETag it wrote) without reading it again.
    rc, out, err = finish(hammer(cfg_args(bucket, 1000), "co", path, 5, updaters=1, spread=400))
    assert rc == 0, (out, err)
    doc = json.loads(out)
    assert doc["ok"] == len(events) and doc["writes"] <= 2 and doc["reads"] == 1, doc
    got = h.get_json(bucket, st.summary_key("co"))
    assert st.without_updated_at(got) == st.truth("co", events)


def test_updater_failures_reach_every_callback():
    d = tempfile.mkdtemp(prefix="s3s-hammer-")
    path = os.path.join(d, "e.tsv")
    write_events(path, [("t1", "running", T0, "m1"), (None, "running", T0, "m2"),
                        ("t2", "failed", T0, "m3")])
    rc, out, err = finish(hammer(cfg_args("no-such-bucket-here", 10), "b", path, 3,
                                 updaters=1, spread=10))
    assert rc == 1, (rc, out, err)
    doc = json.loads(out)
    assert doc["ok"] == 0 and doc["failed"] == 3, doc
    assert "NoSuchBucket" in doc["error"], doc


def test_corrupt_summary_fails_events_until_rebuilt():
    bucket = h.create_bucket("sum-corrupt")
    h.s3().put_object(Bucket=bucket, Key=st.summary_key("b"), Body=b"{\"version\":1,")
    d = tempfile.mkdtemp(prefix="s3s-hammer-")
    path = os.path.join(d, "e.tsv")
    write_events(path, [("t1", "running", T0, "m1")])
    rc, out, _ = finish(hammer(cfg_args(bucket, 10), "b", path, 3, updaters=1, spread=0))
    doc = json.loads(out)
    assert rc == 1 and doc["failed"] == 1, doc
    assert "summary.json: not valid JSON" in doc["error"] and "--rebuild" in doc["error"], doc
    # The object was left alone.
    assert h.get_object(bucket, st.summary_key("b"))[0] == b"{\"version\":1,"


if __name__ == "__main__":
    with h.Emulator() as emu, CondProxy(emu.url) as proxy:
        PROXY = proxy
        sys.exit(h.run_tests(globals()))
