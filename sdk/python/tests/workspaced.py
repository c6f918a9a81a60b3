"""Starts a real workspaced built from this repository (sdk/SCENARIO.md step 0)."""
import json
import os
import re
import shutil
import signal
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
