// The test harness itself: a workspaced that exits before serving fails the
// start at once, with what it said, and leaves nothing that keeps Node alive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer } from "node:net";

test("a workspaced that exits before serving fails the start at once, with its stderr", async () => {
  // Its admin port is taken: workspaced exits with a bind error.
  const held = createServer();
  await new Promise((r) => held.listen(0, "127.0.0.1", r));
  const taken = `127.0.0.1:${held.address().port}`;
  // In a Node process of its own, so that a timer left running (the 60 s
  // start-up limit) shows as a process that does not end.
  const script = `
    import { startWorkspaced } from ${JSON.stringify(new URL("./helpers/workspaced.mjs", import.meta.url).href)};
    try {
      await startWorkspaced({ extraArgs: ["--admin-addr", ${JSON.stringify(taken)}] });
      console.log("started");
    } catch (err) {
      console.log(err.message);
    }`;
  try {
    const started = Date.now();
    const { stdout } = await new Promise((resolve, reject) =>
      execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 30_000, killSignal: "SIGKILL" },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve({ stdout }))));
    assert.match(stdout, /workspaced exited \(1\) before serving/);
    assert.match(stdout, /admin listener/, "the error carries the server's stderr");
    assert.ok(Date.now() - started < 30_000);
  } finally {
    held.close();
  }
});
