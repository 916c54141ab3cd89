"""A forward HTTP proxy that only does CONNECT (RFC 9110 9.3.6), as corporate egress proxies
do for https: it answers "200 Connection established" and relays bytes both ways. It records
each CONNECT target so a test can tell which connections went through it."""
import select
import socket
import threading


class ConnectProxy:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.targets = []   # "host:port" of every CONNECT
        self.refused = []   # request lines that were not CONNECT
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        up = None
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                data = c.recv(4096)
                if not data or len(head) > 16384:
                    return
                head += data
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split()
            if len(parts) != 3 or parts[0] != "CONNECT":
                with self.lock:
                    self.refused.append(line)
                c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, _, port = parts[1].rpartition(":")
            with self.lock:
                self.targets.append(parts[1])
            up = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            up.settimeout(None)
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                up.sendall(rest)
            while True:
                ready, _, _ = select.select([c, up], [], [], 60)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (up if s is c else c).sendall(data)
        except OSError:
            pass
        finally:
            c.close()
            if up:
                up.close()

    def seen(self):
        with self.lock:
            return list(self.targets), list(self.refused)

    def close(self):
        self.sock.close()
