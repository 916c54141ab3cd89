"""Runs fake AWS credential endpoints as a child process (for the C unit tests and manual use).

    python3 serve.py imds ecs sts

prints one line per server, "NAME URL", then "ready", and reads commands from stdin, one per
line, answering each with one line on stdout:

    NAME set {"down": "500", "creds_ttl": 30}   -> ok | error ...
    NAME call expire_tokens                     -> ok
    NAME records                                -> a JSON list of the recorded requests
    NAME issued                                 -> a JSON list of the credentials handed out
    NAME clear                                  -> ok (forget the records)
    NAME count METHOD [PATH-PREFIX]             -> how many such requests were recorded
    NAME first                                  -> "METHOD PATH" of the first request
    NAME header N NAME                          -> that header of request N (0-based; -1: the
                                                   last), or "(none)"
    NAME tokenless                              -> GETs without an IMDSv2 token (imds)
    NAME akids                                  -> the access key ids handed out, in order
    quit                                        -> (exits)

EOF on stdin also stops everything.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_ecs import FakeECS  # noqa: E402
from fake_imds import FakeIMDS  # noqa: E402
from fake_sts import FakeSTS  # noqa: E402

KINDS = {"imds": FakeIMDS, "ecs": FakeECS, "sts": FakeSTS}


def command(servers, line):
    words = line.split(None, 2)
    if not words:
        return "error empty command"
    if words[0] not in servers or len(words) < 2:
        return "error unknown server or command: %r" % line
    srv, cmd = servers[words[0]], words[1]
    arg = words[2] if len(words) > 2 else ""
    if cmd == "set":
        srv.configure(**json.loads(arg))
        return "ok"
    if cmd == "call":
        getattr(srv, arg)()
        return "ok"
    if cmd == "records":
        return json.dumps(srv.records())
    if cmd == "issued":
        return json.dumps(srv.creds.issued)
    if cmd == "count":
        a = arg.split()
        return str(len(srv.records(a[0] if a and a[0] != "*" else None,
                                   a[1] if len(a) > 1 else None)))
    if cmd == "first":
        r = srv.records()
        return "%s %s" % (r[0]["method"], r[0]["path"]) if r else "(none)"
    if cmd == "header":
        n, name = arg.split()
        r = srv.records()
        try:
            return r[int(n)]["headers"].get(name.lower(), "(none)")
        except IndexError:
            return "(none)"
    if cmd == "tokenless":
        return str(len(srv.tokenless_gets()))
    if cmd == "akids":
        return " ".join(c["akid"] for c in srv.creds.issued)
    if cmd == "clear":
        srv.clear_records()
        return "ok"
    return "error unknown command %r" % cmd


def main(argv):
    names = argv or ["imds", "ecs", "sts"]
    servers = {}
    for n in names:
        servers[n] = KINDS[n]().start()
        print("%s %s" % (n, servers[n].url), flush=True)
    print("ready", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line == "quit":
            break
        try:
            out = command(servers, line)
        except Exception as e:              # report, keep serving
            out = "error %r" % (e,)
        print(out, flush=True)
    for s in servers.values():
        s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
