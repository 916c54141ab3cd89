"""metrics_file end to end: the daemon runs against the emulator (through the fault proxy where
a failure is wanted) and the Prometheus text file it writes is parsed by a strict parser
written here from the exposition-format rules (HELP/TYPE before samples, names, label syntax,
values, histogram buckets cumulative and +Inf equal to _count). The counters must match what
was sent: received, stored, deleted, dead-lettered by reason, retries by AWS error code,
parked, in flight, the receive-to-delete histogram. The file is rewritten every 10 s and at
exit, atomically (readers never see half a file), mode 0644 under umask 077, moves with
metrics_file on SIGHUP, and an unwritable path costs one warning, not the service."""
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*)?,?\})? (\S+)(?: (-?\d+))?$"
                    % (NAME, LABEL, LABEL))


def parse(text):
    """{family: {"type", "help", "samples": {(name, ((label, value), ...)): float}}}.
    Raises AssertionError on anything the text format does not allow."""
    assert text.endswith("\n"), "the file must end with a newline"
    fams, current = {}, None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d: %r" % (n, line)
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % NAME, line)
            if not m:
                assert not line.startswith(("# HELP", "# TYPE")), where
                continue
            kind, name, rest = m.groups()
            f = fams.setdefault(name, {"type": None, "help": None, "samples": {}})
            assert not f["samples"], "%s after its samples: %s" % (kind, where)
            if kind == "TYPE":
                assert f["type"] is None, "second TYPE: " + where
                assert rest in ("counter", "gauge", "histogram", "summary", "untyped"), where
                f["type"] = rest
            else:
                assert f["help"] is None, "second HELP: " + where
                f["help"] = rest
            current = name
            continue
        assert line.strip(), "blank line: " + where
        m = SAMPLE.match(line)
        assert m, "not a sample: " + where
        name = m.group(1)
        body = line[len(name):].rsplit(" ", 1)[0] if "{" in line else ""
        labels = tuple(re.findall(LABEL, body))
        assert len({k for k, _ in labels}) == len(labels), "duplicate label: " + where
        try:
            v = float(line.rsplit(" ", 1)[1])
        except ValueError:
            raise AssertionError("bad value: " + where)
        family = current
        assert family, "sample before any TYPE: " + where
        f = fams[family]
        assert f["type"], "sample before TYPE: " + where
        if f["type"] == "counter":
            assert name == family and family.endswith("_total"), where
            assert v >= 0 and v == int(v), where
        elif f["type"] == "gauge":
            assert name == family, where
        elif f["type"] == "histogram":
            assert name in (family + "_bucket", family + "_sum", family + "_count"), where
        key = (name, labels)
        assert key not in f["samples"], "duplicate series: " + where
        f["samples"][key] = v
    for name, f in fams.items():
        assert f["type"] and f["help"], "%s lacks TYPE or HELP" % name
        if f["type"] == "histogram":
            buckets = sorted(((math.inf if dict(lb)["le"] == "+Inf" else float(dict(lb)["le"]), v)
                              for (n, lb), v in f["samples"].items() if n.endswith("_bucket")))
            assert buckets and buckets[-1][0] == math.inf, name
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), "%s buckets not cumulative: %s" % (name, buckets)
            assert buckets[-1][1] == f["samples"][(name + "_count", ())], name
            assert f["samples"][(name + "_sum", ())] >= 0, name
    return fams


def value(fams, family, **labels):
    f = fams[family]
    want = tuple(sorted(labels.items()))
    for (n, lb), v in f["samples"].items():
        if n == family and tuple(sorted(lb)) == want:
            return v
    return 0.0


def by_label(fams, family, label):
    return {dict(lb)[label]: v for (n, lb), v in fams[family]["samples"].items()}


def histogram(fams, family):
    f = fams[family]["samples"]
    buckets = {dict(lb)["le"]: v for (n, lb), v in f.items() if n == family + "_bucket"}
    return buckets, f[(family + "_sum", ())], f[(family + "_count", ())]


def setup(name, endpoint=None, **cfg):
    q = h.create_queue(name, {"VisibilityTimeout": "30"})
    dlq = h.create_queue(name + "-dlq")
    bucket = h.create_bucket(name + "-bucket")
    d = tempfile.mkdtemp(prefix="s3s-metrics-")
    keys = dict(queue_url=q, dlq_url=dlq, bucket=bucket,
                endpoint_url=endpoint or h.DEFAULT_ENDPOINT, s3_path_style=True,
                region=h.REGION, wait_time=1, metrics_file=os.path.join(d, "s3statusd.prom"))
    keys.update(cfg)
    return q, bucket, h.write_config(os.path.join(d, "s3statusd.conf"), **keys), d, keys


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------------------------------------


def test_parser_rejects_what_the_format_forbids():
    good = ("# HELP a_total A.\n# TYPE a_total counter\na_total{code=\"x\"} 3\n"
            "# HELP l Lat.\n# TYPE l histogram\nl_bucket{le=\"1\"} 1\nl_bucket{le=\"+Inf\"} 2\n"
            "l_sum 1.5\nl_count 2\n")
    parse(good)
    for bad in (good.replace("a_total{code=\"x\"} 3", "a_total{code=x} 3"),
                good.replace("# TYPE a_total counter\n", ""),
                good.replace("l_bucket{le=\"+Inf\"} 2", "l_bucket{le=\"+Inf\"} 0"),
                good.replace("l_count 2", "l_count 3"),
                good + "a_total{code=\"x\"} 4\n",
                good.rstrip("\n")):
        try:
            parse(bad)
        except AssertionError:
            continue
        raise AssertionError("accepted:\n" + bad)


def test_counters_match_what_was_sent():
    """6 good messages (one whose PutObject is throttled on all 3 attempts, so it is parked and
    stored on its second receive), 2 not JSON, 1 without batch_id; --drain; the file at exit."""
    with FaultProxy(h.DEFAULT_ENDPOINT) as proxy:
        proxy.set_rule(service="s3", op="PutObject", kind="throttle", error_rate=1.0, count=3,
                       match=lambda ex: bool(ex.key) and "/slow/" in ex.key)
        q, bucket, cfg, d, keys = setup("counts", endpoint=proxy.url)
        good = ['{"command":"add-task-status","batch_id":"b","task_id":"t%d","status":"running"}'
                % i for i in range(5)]
        good.append('{"command":"add-task-status","batch_id":"b","task_id":"slow",'
                    '"status":"running"}')
        bad = ["not json", "{", '{"command":"add-batch-status","status":"running"}']
        h.send_batch(q, good + bad, endpoint=h.DEFAULT_ENDPOINT)
        t0 = time.time()
        rc, _, err = h.run_daemon(cfg, "--drain", timeout=120)
        assert rc == 0, err
        assert proxy.count(service="s3", op="PutObject", fault="throttle") == 3
    fams = parse(read(keys["metrics_file"]))
    assert value(fams, "s3statusd_messages_received_total") == 10      # 9 + 1 redelivery
    assert value(fams, "s3statusd_messages_stored_total") == 6
    assert value(fams, "s3statusd_messages_deleted_total") == 9
    assert by_label(fams, "s3statusd_messages_dead_lettered_total", "reason") == {
        "InvalidJSON": 2, "MissingField": 1}, fams["s3statusd_messages_dead_lettered_total"]
    assert by_label(fams, "s3statusd_retries_total", "code") == {"SlowDown": 1}
    assert value(fams, "s3statusd_messages_parked_total") == 1
    assert value(fams, "s3statusd_messages_released_total") == 1
    assert value(fams, "s3statusd_put_failures_total") == 1
    assert value(fams, "s3statusd_receive_errors_total") == 0
    assert fams["s3statusd_messages_inflight"]["type"] == "gauge"
    assert value(fams, "s3statusd_messages_inflight") == 0
    buckets, total, count = histogram(fams, "s3statusd_receive_to_delete_seconds")
    assert count == 9 and buckets["+Inf"] == 9, buckets
    assert list(buckets) == ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60",
                             "+Inf"], list(buckets)
    assert 0 < total < 9 * 60, total
    start = value(fams, "process_start_time_seconds")
    assert t0 - 1 <= start <= time.time(), (t0, start)
    assert by_label(fams, "s3statusd_build_info", "version") == {
        h.run_daemon(None, "--version")[1].split()[1]: 1}
    assert not os.path.exists(keys["metrics_file"] + ".tmp")
    print("  received 10, stored 6, deleted 9, dead-lettered InvalidJSON 2 MissingField 1,"
          " retries SlowDown 1, histogram count 9")


def test_rewritten_every_10s_atomically_and_moved_by_sighup():
    q, bucket, cfg, d, keys = setup("periodic")
    path = keys["metrics_file"]
    log = open(os.path.join(d, "log"), "wb")
    p = subprocess.Popen([h.DAEMON, "--config", cfg], env=h.aws_env(), stdout=log,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         preexec_fn=lambda: os.umask(0o077))
    reads, stop = [], threading.Event()

    def reader():       # a scraper reading all the time: every read must be a whole file
        while not stop.is_set():
            try:
                reads.append(read(path))
            except FileNotFoundError:
                pass
            time.sleep(0.002)
    t = threading.Thread(target=reader, daemon=True)
    try:
        # Written once at start (everything 0), before any message.
        fams = h.wait_until(lambda: os.path.exists(path) and parse(read(path)), 30, 0.05,
                            "the first metrics file")
        assert value(fams, "s3statusd_messages_received_total") == 0
        assert os.stat(path).st_mode & 0o777 == 0o644, oct(os.stat(path).st_mode)
        first = os.stat(path).st_mtime
        t.start()
        h.send_batch(q, ['{"command":"add-batch-status","batch_id":"p","status":"running"}'] * 3)
        h.wait_until(lambda: len(h.record_keys(bucket, "")) == 3, 30)
        t_stored = time.time()
        fams = h.wait_until(
            lambda: (lambda f: value(f, "s3statusd_messages_deleted_total") == 3 and f)(
                parse(read(path))), 15, 0.1, "the periodic rewrite")
        assert time.time() - t_stored <= 11.5
        assert os.stat(path).st_mtime - first >= 9, "rewritten before 10 s"
        assert value(fams, "s3statusd_messages_stored_total") == 3
        # SIGHUP with another metrics_file: the new file appears at once.
        new = os.path.join(d, "moved.prom")
        text = read(cfg).replace(path, new)
        with open(cfg, "w") as f:
            f.write(text)
        p.send_signal(signal.SIGHUP)
        fams = h.wait_until(lambda: os.path.exists(new) and parse(read(new)), 10, 0.05,
                            "the moved metrics file")
        assert value(fams, "s3statusd_messages_stored_total") == 3
        h.send(q, '{"command":"add-batch-status","batch_id":"p","status":"success"}')
        h.wait_until(lambda: len(h.record_keys(bucket, "")) == 4, 30)
        rc = h.stop_process(p, timeout=60)
        assert rc == 0
        fams = parse(read(new))     # the exit write
        assert value(fams, "s3statusd_messages_deleted_total") == 4
        assert os.stat(new).st_mode & 0o777 == 0o644
        assert not os.path.exists(new + ".tmp")
    finally:
        stop.set()
        if t.is_alive():
            t.join(2)
        h.stop_process(p)
        log.close()
    assert len(reads) > 100, len(reads)
    for text in reads:
        parse(text)         # never a partial file
    print("  %d concurrent reads, all whole files" % len(reads))


def test_unwritable_metrics_file_warns_once_and_the_work_goes_on():
    q, bucket, cfg, d, keys = setup("unwritable",
                                    metrics_file="/nonexistent-dir/s3statusd.prom")
    h.send(q, '{"command":"add-batch-status","batch_id":"u","status":"running"}')
    rc, _, err = h.run_daemon(cfg, "--drain", timeout=60)
    assert rc == 0, err
    warnings = [ln for ln in err.splitlines() if "metrics_file" in ln]
    assert len(warnings) == 1 and "No such file or directory" in warnings[0], err
    assert len(h.record_keys(bucket, "")) == 1


if __name__ == "__main__":
    with h.Emulator():
        sys.exit(h.run_tests(globals()))
