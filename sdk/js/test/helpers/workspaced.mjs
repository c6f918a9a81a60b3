// Starts a real workspaced built from this repository (sdk/SCENARIO.md step 0).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

export function buildWorkspaced(dir) {
  if (process.env.WORKSPACED_BIN) return process.env.WORKSPACED_BIN;
  const bin = join(dir, "workspaced");
  execFileSync("go", ["build", "-o", bin, "./cmd/workspaced"], { cwd: repoRoot, stdio: "inherit" });
  return bin;
}

export async function startWorkspaced() {
  const dir = mkdtempSync(join(tmpdir(), "workspaced-js-"));
  const bin = buildWorkspaced(dir);
  const database = join(dir, "workspace.db");
  const child = spawn(bin, ["serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--database", database], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const lines = createInterface({ input: child.stderr });
  const seen = [];
  const server = await new Promise((resolvePromise, reject) => {
    let adminKey = null;
    const timer = setTimeout(() => reject(new Error("workspaced did not serve within 60s:\n" + seen.join("\n"))), 60_000);
    child.on("exit", (code) => reject(new Error(`workspaced exited (${code}):\n` + seen.join("\n"))));
    lines.on("line", (line) => {
      seen.push(line);
      if (/^wsk_\w+$/.test(line)) adminKey = line;
      const m = line.match(/msg=serving http=(\S+) grpc=(\S+)/);
      if (m) {
        clearTimeout(timer);
        if (!adminKey) return reject(new Error("no admin key:\n" + seen.join("\n")));
        resolvePromise({ httpAddr: m[1], grpcAddr: m[2], adminKey });
      }
    });
  });
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
        child.removeAllListeners("exit");
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
