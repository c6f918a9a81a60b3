// What the end-to-end tests share: a real workspaced built from this
// checkout, on a temporary SQLite file and free ports, and headless Chromium.
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../../..');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// until polls cond (a condition, not a delay) until it returns a truthy value.
export async function until(cond, what, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await cond();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what + ' (last: ' + last + ')');
    await new Promise((r) => setTimeout(r, 50));
  }
}

// startServer builds workspaced and runs it, resolving once it has printed
// the first start's admin key and the "serving" line. env adds to (or
// overrides) the environment it runs in. With opts.httpAddr it listens there
// and with opts.restart it runs again on dir's database (built already, and
// printing no key: the workspace exists).
export async function startServer(dir, env = {}, opts = {}) {
  const bin = path.join(dir, 'workspaced');
  if (!opts.restart) execFileSync('go', ['build', '-o', bin, './cmd/workspaced'], { cwd: root, stdio: 'inherit' });
  const proc = spawn(bin, ['serve', '--http-addr', opts.httpAddr || '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0',
    '--admin-addr', '127.0.0.1:0', '--log-format', 'text', '--database', path.join(dir, 'workspace.db')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WORKSPACE_REDIS_URL: '', ...env },
  });
  const log = [];
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    let key = '';
    createInterface({ input: proc.stderr }).on('line', (line) => {
      log.push(line);
      if (/^wsk_\w+$/.test(line)) key = line;
      const m = line.match(/msg=serving http=(\S+) grpc=(\S+) admin=(\S+)/);
      if (m) {
        if (!key && !opts.restart) reject(new Error('serving, but no admin key was printed:\n' + log.join('\n')));
        resolve({ base: 'http://' + m[1], admin: 'http://' + m[3], key });
      }
    });
    exited.then(({ code }) => reject(new Error('workspaced exited (' + code + ') before serving:\n' + log.join('\n'))));
  });
  const timeout = setTimeout(() => proc.kill('SIGKILL'), 60000);
  try {
    return { proc, exited, log, ...(await ready) };
  } finally {
    clearTimeout(timeout);
  }
}

// launchBrowser starts headless Chromium (Debian's) with a profile in dir.
export function launchBrowser(dir) {
  return chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 1000 },
  });
}
