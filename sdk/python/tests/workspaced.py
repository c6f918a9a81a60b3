"""Starts a real workspaced built from this repository (sdk/SCENARIO.md step 0)."""
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

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))  # example_sdk


def load_scenario():
    with open(os.path.join(REPO_ROOT, "sdk", "scenario.json")) as f:
        return json.load(f)


class Workspaced:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="workspaced-py-")
        self.bin = os.environ.get("WORKSPACED_BIN") or os.path.join(self.dir, "workspaced")
        if not os.environ.get("WORKSPACED_BIN"):
            subprocess.run(["go", "build", "-o", self.bin, "./cmd/workspaced"], cwd=REPO_ROOT, check=True)
        self.database = os.path.join(self.dir, "workspace.db")
        self.proc = subprocess.Popen(
            # Free ports for every listener, the admin one too: a developer's
            # own server on the default ports must not be in the way.
            [self.bin, "serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
             "--webhook-allow-private",  # step 13's receiver is on loopback
             "--database", self.database],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.admin_key = None
        seen = []
        timer = threading.Timer(60, self.proc.kill)
        timer.start()
        try:
            for line in self.proc.stderr:
                line = line.rstrip("\n")
                seen.append(line)
                if re.fullmatch(r"wsk_\w+", line):
                    self.admin_key = line
                m = re.search(r"msg=serving http=(\S+) grpc=(\S+)", line)
                if m:
                    self.http_addr, self.grpc_addr = m.group(1), m.group(2)
                    break
            else:
                raise RuntimeError("workspaced exited before serving:\n" + "\n".join(seen))
        finally:
            timer.cancel()
        if not self.admin_key:
            self.stop()
            raise RuntimeError("workspaced printed no admin key:\n" + "\n".join(seen))
        # Keep draining the log so the server never blocks on it.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.base_url = f"http://{self.http_addr}/v1"

    def new_workspace(self, name, plan):
        """Creates a workspace with the CLI; returns (id, key)."""
        out = subprocess.run([self.bin, "workspaces", "create", "--name", name, "--plan", plan,
                              "--database", self.database], check=True, capture_output=True, text=True).stdout.split()
        return out[0], out[1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """A TCP proxy to host:port, for what a client does when its connection
    drops: drop() closes every connection it carries, as a network failure
    would, while the server runs on. accepted counts the connections taken."""

    def __init__(self, host_port):
        host, _, port = host_port.rpartition(":")
        self._target = (host, int(port))
        self._lock = threading.Lock()
        self._socks = set()
        self.accepted = 0
        self._ln = socket.create_server(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self._ln.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self._ln.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                up = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks.update((client, up))
            for a, b in ((client, up), (up, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        # One side ended: end both, as a broken link would.
        for s in (src, dst):
            self._kill(s)

    def _kill(self, s):
        with self._lock:
            self._socks.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def drop(self):
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            self._kill(s)

    def close(self):
        self._ln.close()
        self.drop()
