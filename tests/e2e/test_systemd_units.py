"""s3statusd as a systemd service: the units in systemd/ pass `systemd-analyze security`
(exposure <= 1.5) and `verify`, the system calls the daemon makes are allowed by the unit's
SystemCallFilter=, and the daemon speaks the sd_notify protocol to a real NOTIFY_SOCKET
(a datagram socket this test binds): READY=1 only after the queue and the bucket were reached,
WATCHDOG=1 every WATCHDOG_USEC/2 (already during the start-up checks), STATUS= with live
figures, RELOADING=1 ... READY=1 on SIGHUP, STOPPING=1 with EXTEND_TIMEOUT_USEC on SIGTERM,
exit 0. Its logs carry "<N>" priorities when stderr is the journal, and log_format = json
gives one JSON object per line."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

UNITS = [os.path.join(h.SOURCE_DIR, "systemd", n)
         for n in ("s3statusd.service", "s3statusd@.service")]
ANALYZE = shutil.which("systemd-analyze")
MAX_EXPOSURE = 1.5


def skip(why):
    print("SKIP: %s" % why, flush=True)


def unit_settings(path):
    """{key: [values]} of the [Service] section (comments dropped)."""
    out, section = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


# ---------------------------------------------------------------------------------------------
# The unit files


def test_units_have_the_service_settings():
    plain, tmpl = (unit_settings(u) for u in UNITS)
    assert plain["ExecStart"] == ["/usr/bin/s3statusd --config /etc/s3statusd/s3statusd.conf"]
    assert tmpl["ExecStart"] == ["/usr/bin/s3statusd --config /etc/s3statusd/%i.conf"]
    # The default shutdown_timeout, as the daemon reports it.
    p = subprocess.run([h.DAEMON, "--help"], capture_output=True, text=True, check=True)
    m = re.search(r"--shutdown-timeout N .*\[(\d+)\]", p.stdout)
    assert m, p.stdout
    shutdown_timeout = int(m.group(1))
    for s in (plain, tmpl):
        assert s["Type"] == ["notify"] and s["NotifyAccess"] == ["main"], s
        assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"], s
        assert s["Restart"] == ["on-failure"] and s["RestartSec"] == ["5"], s
        assert s["WatchdogSec"] == ["30"], s
        stop = int(s["TimeoutStopSec"][0])
        assert stop >= shutdown_timeout + 10, (stop, shutdown_timeout)
        assert s["DynamicUser"] == ["yes"] and s["ProtectSystem"] == ["strict"], s
        assert s["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"], s
        assert "IPAddressDeny" not in s, "must reach AWS and 169.254.169.254"
    assert plain["RuntimeDirectory"] == ["s3statusd"]
    assert tmpl["RuntimeDirectory"] == ["s3statusd/%i"]


def test_security_exposure_at_most_1_5():
    if not ANALYZE:
        return skip("systemd-analyze not found (Debian: apt-get install systemd)")
    for unit in UNITS:
        p = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager", unit],
                           capture_output=True, text=True)
        out = p.stdout + p.stderr
        m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", out)
        assert m, "no exposure level (systemd >= 252 is needed for --offline):\n" + out
        level = float(m.group(1))
        print("  %s: exposure %.1f" % (os.path.basename(unit), level))
        assert level <= MAX_EXPOSURE, "%s: exposure %.1f > %.1f\n%s" % (unit, level,
                                                                         MAX_EXPOSURE, out)


def test_verify_is_clean():
    """`systemd-analyze verify` needs the ExecStart binary: a copy of each unit runs the built
    binary. The man pages named in Documentation= are checked too when man(1) is there."""
    if not ANALYZE:
        return skip("systemd-analyze not found (Debian: apt-get install systemd)")
    d = tempfile.mkdtemp(prefix="s3s-units-")
    env = dict(os.environ, SYSTEMD_PAGER="", SYSTEMD_LOG_COLOR="0")
    args = []
    if shutil.which("man"):
        for sect in ("1", "5", "8"):
            os.makedirs(os.path.join(d, "man", "man" + sect))
        for name in os.listdir(os.path.join(h.SOURCE_DIR, "man")):
            shutil.copy(os.path.join(h.SOURCE_DIR, "man", name),
                        os.path.join(d, "man", "man" + name.rsplit(".", 1)[1], name))
        env["MANPATH"] = os.path.join(d, "man")
    else:
        args.append("--man=no")
    for unit in UNITS:
        text = open(unit, encoding="utf-8").read().replace("/usr/bin/s3statusd", h.DAEMON)
        path = os.path.join(d, os.path.basename(unit))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        p = subprocess.run([ANALYZE, "verify", *args, path], capture_output=True, text=True,
                           env=env)
        out = (p.stdout + p.stderr).strip()
        assert p.returncode == 0 and not out, "%s: verify rc %d:\n%s" % (unit, p.returncode, out)
    # verify really reads the file: a bad line is reported.
    bad = os.path.join(d, "bad.service")
    with open(bad, "w") as f:
        f.write(open(os.path.join(d, "s3statusd.service")).read()
                .replace("UMask=0077", "UMask=0077\nProtectSystem=sideways"))
    p = subprocess.run([ANALYZE, "verify", *args, bad], capture_output=True, text=True, env=env)
    assert "sideways" in p.stdout + p.stderr, p.stdout + p.stderr
    shutil.rmtree(d)


def syscall_set(analyze, group):
    """The system calls in a systemd syscall group, groups expanded."""
    p = subprocess.run([analyze, "syscall-filter", "--no-pager", group], capture_output=True,
                       text=True, check=True)
    out = set()
    for line in p.stdout.splitlines()[1:]:
        w = line.strip()
        if not w or w.startswith("#"):
            continue
        out |= syscall_set(analyze, w) if w.startswith("@") else {w}
    return out


def test_syscalls_made_are_allowed_by_the_filter():
    """The daemon, traced with strace through start-up, work, SIGHUP and stop, makes no system
    call that SystemCallFilter=@system-service ~@privileged @resources would refuse."""
    if not ANALYZE:
        return skip("systemd-analyze not found (Debian: apt-get install systemd)")
    strace = shutil.which("strace")
    if not strace:
        return skip("strace not found: the system calls were not checked against the filter")
    allowed = syscall_set(ANALYZE, "@system-service")
    allowed -= syscall_set(ANALYZE, "@privileged") | syscall_set(ANALYZE, "@resources")
    q, bucket, cfg, d = setup("sysc", dlq=True)
    h.send(q, '{"command":"add-batch-status","batch_id":"b","status":"running"}')
    h.send(q, "not json")
    trace = os.path.join(d, "trace")
    # LeakSanitizer cannot run under ptrace: in a sanitizer build leaks are checked by the
    # other tests.
    env = h.aws_env({"NOTIFY_SOCKET": None, "WATCHDOG_USEC": None,
                     "ASAN_OPTIONS": "detect_leaks=0"})
    log = open(os.path.join(d, "log"), "w+")
    p = subprocess.Popen([strace, "-f", "-qq", "-o", trace, h.DAEMON, "--config", cfg],
                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        h.wait_until(lambda: h.queue_counts(q) == (0, 0) and
                     len(h.record_keys(bucket, "")) == 1, 60, 0.2, "messages processed")
        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
            daemon = int(f.read().split()[0])      # strace's child
        os.kill(daemon, signal.SIGHUP)
        time.sleep(0.5)
        os.kill(daemon, signal.SIGTERM)
        rc = p.wait(60)
        log.seek(0)
        assert rc == 0, "exit %d:\n%s" % (rc, log.read()[-5000:])
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
    made = set()
    for line in open(trace, encoding="utf-8", errors="replace"):
        m = re.match(r"^(?:\d+\s+)?([a-z0-9_]+)\(", line)
        if m:
            made.add(m.group(1))
    assert len(made) > 20, made
    # execve is the tracer starting the daemon (systemd does that before the filter applies).
    refused = sorted(made - allowed - {"execve"})
    assert not refused, "system calls the unit's filter refuses: %s" % refused
    print("  %d distinct system calls, all allowed by the filter" % len(made))


# ---------------------------------------------------------------------------------------------
# sd_notify


class NotifySocket:
    """A bound AF_UNIX datagram socket collecting (monotonic time, {key: value}) messages."""

    def __init__(self, d):
        self.path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = {}
            for line in data.decode("utf-8", "replace").split("\n"):
                if "=" in line:
                    k, _, v = line.partition("=")
                    fields[k] = v
            with self.lock:
                self.messages.append((time.monotonic(), time.time(), fields))

    def all(self):
        with self.lock:
            return list(self.messages)

    def having(self, key, value=None, since=0):
        return [(t, w, f) for t, w, f in self.all()[since:]
                if key in f and (value is None or f[key] == value)]

    def wait_for(self, key, value=None, since=0, timeout=30):
        return h.wait_until(lambda: self.having(key, value, since), timeout, 0.05,
                            "%s=%s" % (key, value if value is not None else "*"))

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


def setup(name, dlq=False, endpoint=None, **cfg):
    q = h.create_queue(name, {"VisibilityTimeout": "30"})
    bucket = h.create_bucket(name + "-bucket")
    d = tempfile.mkdtemp(prefix="s3s-sd-")
    keys = dict(queue_url=q, bucket=bucket, endpoint_url=endpoint or h.DEFAULT_ENDPOINT,
                s3_path_style=True, region=h.REGION, wait_time=1, log_level="info")
    if dlq:
        keys["dlq_url"] = h.create_queue(name + "-dlq")
    keys.update(cfg)
    return q, bucket, h.write_config(os.path.join(d, "s3statusd.conf"), **keys), d


def test_notify_ready_watchdog_status_reload_stop():
    emu_url = h.DEFAULT_ENDPOINT
    with FaultProxy(emu_url) as proxy:
        # HeadBucket (the last start-up check) takes 2.5 s: READY=1 must wait for it, and the
        # watchdog must keep going meanwhile.
        proxy.set_rule(service="s3", op="HeadBucket", latency_ms=2500)
        q, bucket, cfg, d = setup("notify", endpoint=proxy.url)
        h.send(q, '{"command":"add-batch-status","batch_id":"nb","status":"running"}', endpoint=emu_url)
        ns = NotifySocket(d)
        p = h.start_daemon(cfg, env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "2000000",
                                     "WATCHDOG_PID": None})
        try:
            (t_ready, w_ready, f_ready), = ns.wait_for("READY", "1", timeout=60)
            heads = proxy.records(service="s3", op="HeadBucket")
            checks = proxy.records(service="sqs")
            assert heads and checks, (heads, checks)
            assert w_ready >= heads[0]["time"] + 2.4, (w_ready, heads[0]["time"])
            assert min(r["time"] for r in checks) < heads[0]["time"]
            before = [m for m in ns.all() if m[0] < t_ready]
            assert any(f.get("STATUS", "").startswith("starting") for _, _, f in before), before
            assert any(f.get("WATCHDOG") == "1" for _, _, f in before), \
                "no WATCHDOG=1 during the 2.5 s start-up check: %s" % before
            assert not any("READY" in f for _, _, f in before)

            # WATCHDOG=1 every second (WATCHDOG_USEC / 2).
            time.sleep(3.6)
            pings = [t for t, _, f in ns.having("WATCHDOG", "1") if t > t_ready]
            assert 3 <= len(pings) <= 5, pings
            gaps = [b - a for a, b in zip(pings, pings[1:])]
            assert all(0.7 < g < 1.5 for g in gaps), gaps

            # STATUS= with live figures within 10 s; the message sent before start is stored.
            h.wait_until(lambda: len(h.record_keys(bucket, "")) == 1, 30)
            t, _, f = ns.wait_for("STATUS", timeout=15, since=len(ns.all()))[0]
            h.wait_until(lambda: [m for m in ns.having("STATUS")
                                  if "1 stored" in m[2]["STATUS"]], 15, 0.1, "STATUS 1 stored")
            st = [m[2]["STATUS"] for m in ns.having("STATUS") if "in flight" in m[2]["STATUS"]]
            assert re.match(r"^\d+\.\d msg/s, \d+ in flight, \d+ stored, \d+ dead-lettered",
                            st[-1]), st

            # SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1; log_level applies at
            # once, wait_time is named as needing a restart.
            text = open(cfg).read().replace("log_level = info", "log_level = debug")
            text = text.replace("wait_time = 1", "wait_time = 2")
            open(cfg, "w").write(text)
            n = len(ns.all())
            p.send_signal(signal.SIGHUP)
            (t_rl, _, f_rl), = ns.wait_for("RELOADING", "1", since=n)
            assert int(f_rl["MONOTONIC_USEC"]) > 0, f_rl
            t_rd = ns.wait_for("READY", "1", since=n)[0][0]
            assert t_rd >= t_rl
            h.wait_until(lambda: "need a restart: wait_time" in h.read_log(p), 10)
            mid = h.send(q, '{"command":"add-batch-status","batch_id":"nb","status":"success"}',
                         endpoint=emu_url)
            h.wait_until(lambda: ("message %s: stored" % mid) in h.read_log(p), 30, 0.1,
                         "a debug line after the reload")

            # A configuration that no longer loads changes nothing; the daemon stays ready.
            open(cfg, "a").write("max_inflight = lots\n")
            n = len(ns.all())
            p.send_signal(signal.SIGHUP)
            ns.wait_for("RELOADING", "1", since=n)
            ns.wait_for("READY", "1", since=n)
            h.wait_until(lambda: "keeping the running configuration" in h.read_log(p), 10)
            assert p.poll() is None

            # SIGTERM: STOPPING=1 with EXTEND_TIMEOUT_USEC, exit 0.
            n = len(ns.all())
            rc = h.stop_process(p, timeout=60)
            log = h.read_log(p)
            assert rc == 0, "exit %s\n%s" % (rc, log[-3000:])
            # The datagrams are in the socket before the exit; the reader thread may not
            # have taken them yet.
            ns.wait_for("STOPPING", "1", since=n, timeout=5)
            ext = ns.wait_for("EXTEND_TIMEOUT_USEC", since=n, timeout=5)
            assert ext and int(ext[0][2]["EXTEND_TIMEOUT_USEC"]) >= 5000000, ns.all()[n:]
            assert h.queue_counts(q) == (0, 0)
        finally:
            h.stop_process(p)
            ns.close()


def test_no_ready_when_the_bucket_is_unreachable():
    q, bucket, cfg, d = setup("noready", bucket="no-such-bucket-anywhere")
    ns = NotifySocket(d)
    try:
        rc, _, err = h.run_daemon(cfg, timeout=60, env={"NOTIFY_SOCKET": ns.path,
                                                        "WATCHDOG_USEC": "2000000"})
        time.sleep(0.3)
        assert rc == 1 and "no-such-bucket-anywhere" in err, (rc, err)
        msgs = [f for _, _, f in ns.all()]
        assert any("STATUS" in f for f in msgs), msgs
        assert not any("READY" in f for f in msgs), msgs
    finally:
        ns.close()


def test_works_without_systemd():
    """NOTIFY_SOCKET unset, or naming a socket nobody listens on: the daemon works the same."""
    q, bucket, cfg, d = setup("nosd")
    h.send(q, '{"command":"add-batch-status","batch_id":"x","status":"running"}')
    rc, _, err = h.run_daemon(cfg, "--drain", timeout=60,
                              env={"NOTIFY_SOCKET": None, "WATCHDOG_USEC": None})
    assert rc == 0, err
    h.send(q, '{"command":"add-batch-status","batch_id":"x","status":"success"}')
    rc, _, err = h.run_daemon(cfg, "--drain", timeout=60,
                              env={"NOTIFY_SOCKET": os.path.join(d, "nobody.sock"),
                                   "WATCHDOG_USEC": "1000000"})
    assert rc == 0, err
    assert len(h.record_keys(bucket, "")) == 2


# ---------------------------------------------------------------------------------------------
# Logs


def test_journal_priorities_and_json_lines():
    q, bucket, cfg, d = setup("logs", dlq=True)
    bad = h.send(q, "not json")
    log = os.path.join(d, "stderr")
    with open(log, "wb") as f:
        st = os.fstat(f.fileno())
        p = subprocess.run([h.DAEMON, "--config", cfg, "--drain"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=f, timeout=60,
                           env=h.aws_env({"JOURNAL_STREAM": "%d:%d" % (st.st_dev,
                                                                       st.st_ino)}))
    assert p.returncode == 0
    lines = open(log, encoding="utf-8").read().splitlines()
    assert lines and all(re.match(r"^<[3-7]>\S", ln) for ln in lines), lines
    dl = [ln for ln in lines if bad in ln and "dead-lettered" in ln]
    assert len(dl) == 1 and dl[0].startswith("<4>") and "InvalidJSON" in dl[0], lines

    # log_format = json: one object per line, whatever stderr is.
    bad = h.send(q, "{broken")
    with open(log, "wb") as f:
        p = subprocess.run([h.DAEMON, "--config", cfg, "--drain", "--log-format", "json"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=f,
                           timeout=60, env=h.aws_env({"JOURNAL_STREAM": "%d:%d" % (
                               st.st_dev, st.st_ino)}))
    assert p.returncode == 0
    docs = [json.loads(ln) for ln in open(log, encoding="utf-8").read().splitlines()]
    assert docs and all({"time", "level", "priority", "message"} <= set(x) for x in docs)
    dl = [x for x in docs if bad in x["message"] and "dead-lettered" in x["message"]]
    assert len(dl) == 1 and dl[0]["priority"] == 4 and dl[0]["level"] == "warning", docs


if __name__ == "__main__":
    with h.Emulator():
        sys.exit(h.run_tests(globals()))
