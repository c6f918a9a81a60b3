// Starts a real workspaced built from this repository (sdk/SCENARIO.md step 0).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { createServer, connect } from "node:net";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

export function buildWorkspaced(dir) {
  if (process.env.WORKSPACED_BIN) return process.env.WORKSPACED_BIN;
  const bin = join(dir, "workspaced");
  execFileSync("go", ["build", "-o", bin, "./cmd/workspaced"], { cwd: repoRoot, stdio: "inherit" });
  return bin;
}

/**
 * Starts workspaced on free ports for every listener (REST, gRPC, admin), so
 * that nothing else on the machine (a developer's own server on :8080, :9090,
 * :9091) can be in the way. `extraArgs` come last and win, for tests of the
 * harness itself. If the server exits before it serves, the promise rejects at
 * once, with its whole stderr.
 */
export async function startWorkspaced({ extraArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "workspaced-js-"));
  const bin = buildWorkspaced(dir);
  const database = join(dir, "workspace.db");
  // --webhook-allow-private: step 13's receiver is on loopback.
  const child = spawn(bin, ["serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
    "--database", database, "--webhook-allow-private", ...extraArgs], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const lines = createInterface({ input: child.stderr });
  const seen = [];
  let server;
  try {
    server = await new Promise((resolvePromise, reject) => {
      let adminKey = null;
      let settled = false;
      const fail = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error("workspaced did not serve within 60s:\n" + seen.join("\n"))), 60_000);
      child.once("error", (err) => fail(new Error(`workspaced could not start (${bin}): ${err.message}`)));
      // "close" comes after the exit and after stderr has been read to its
      // end, so the error names what the server said on its way out.
      child.once("close", (code, signal) =>
        fail(new Error(`workspaced exited (${signal ?? code}) before serving:\n` + seen.join("\n"))));
      lines.on("line", (line) => {
        seen.push(line);
        if (/^wsk_\w+$/.test(line)) adminKey = line;
        const m = line.match(/msg=serving http=(\S+) grpc=(\S+)/);
        if (m && !settled) {
          if (!adminKey) return fail(new Error("no admin key:\n" + seen.join("\n")));
          settled = true;
          clearTimeout(timer);
          resolvePromise({ httpAddr: m[1], grpcAddr: m[2], adminKey });
        }
      });
    });
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...server,
    bin,
    database,
    baseUrl: `http://${server.httpAddr}/v1`,
    /** Creates a workspace with the CLI; returns { id, key }. */
    newWorkspace(name, plan) {
      const out = execFileSync(bin, ["workspaces", "create", "--name", name, "--plan", plan, "--database", database], {
        stdio: ["ignore", "pipe", "ignore"],
      }).toString().trim().split(/\s+/);
      return { id: out[0], key: out[1] };
    },
    async stop() {
      if (child.exitCode === null) {
        child.removeAllListeners("close");
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function loadScenario() {
  return JSON.parse(readFileSync(join(repoRoot, "sdk", "scenario.json"), "utf8"));
}

/**
 * A TCP proxy to hostPort, for what a client does when its connection drops:
 * drop() closes every connection it carries, as a network failure would,
 * while the server runs on. `accepted` counts the connections it took.
 */
export async function startProxy(hostPort) {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(":")), Number(hostPort.slice(hostPort.lastIndexOf(":") + 1))];
  const sockets = new Set();
  const proxy = { accepted: 0 };
  const server = createServer((client) => {
    proxy.accepted++;
    const up = connect(port, host);
    for (const [a, b] of [[client, up], [up, client]]) {
      sockets.add(a);
      a.pipe(b);
      // One side ended: end both, as a broken link would.
      a.on("close", () => { sockets.delete(a); b.destroy(); });
      a.on("error", () => {});
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  proxy.addr = `127.0.0.1:${server.address().port}`;
  proxy.drop = () => { for (const s of sockets) s.destroy(); };
  proxy.close = () => new Promise((r) => { proxy.drop(); server.close(r); });
  return proxy;
}
