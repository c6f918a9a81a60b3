// End-to-end test of CORS: pages served from two other origins (two more
// listeners on 127.0.0.1, so two other ports) call a real workspaced from
// headless Chromium, whose fetch does the real preflights and enforces the
// answers. The API allows one of the two origins (WORKSPACE_CORS_ORIGINS,
// the environment twin of --cors-origins): its page creates, reads, updates
// and deletes with a bearer key and the API's own request headers, and its
// script reads the exposed response headers; the other origin's page is
// refused by the browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { until, startServer, launchBrowser } from './harness.mjs';

// servePage listens on a free port of 127.0.0.1 and serves one HTML page; the
// tests run their fetches in it, so they come from its origin.
async function servePage(title) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1></body></html>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: 'http://127.0.0.1:' + server.address().port };
}

// call runs fetch in the page and returns what its script can see of the
// answer: the status, the headers asked for (null when the browser hides
// them), and the JSON body. A fetch the browser refuses comes back as
// { refused: message }.
function call(page, url, init, headers = []) {
  return page.evaluate(async ({ url, init, headers }) => {
    try {
      const res = await fetch(url, init);
      const seen = {};
      for (const h of headers) seen[h] = res.headers.get(h);
      const text = await res.text();
      return { status: res.status, headers: seen, json: text ? JSON.parse(text) : null };
    } catch (e) {
      return { refused: String(e) };
    }
  }, { url, init, headers });
}

const exposed = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'X-Request-Id', 'Idempotent-Replayed', 'X-Event-Seq'];

test('CORS: a page on an allowed origin calls the API; another origin is refused', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ws-cors-e2e-'));
  const allowed = await servePage('Allowed origin');
  const other = await servePage('Other origin');
  const srv = await startServer(dir, { WORKSPACE_CORS_ORIGINS: allowed.origin });
  const browser = await launchBrowser(dir);
  t.after(async () => {
    await browser.close();
    allowed.server.close();
    other.server.close();
    srv.proc.kill('SIGTERM');
    const { code } = await srv.exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'workspaced did not shut down cleanly:\n' + srv.log.join('\n'));
  });
  const api = srv.base + '/v1';
  const auth = { Authorization: 'Bearer ' + srv.key };
  const page = browser.pages()[0] || (await browser.newPage());
  // The API and the pages are three origins: the pages' fetches are
  // cross-origin, as a web app's on its own domain would be.
  assert.notEqual(new URL(srv.base).origin, allowed.origin);
  assert.notEqual(allowed.origin, other.origin);

  // Node's fetch is no browser: it sends no Origin and enforces nothing.
  const projects = async () => (await (await fetch(api + '/projects?limit=1', { headers: auth })).json()).pagination.total;

  await t.test('the allowed origin creates with a key, a JSON body and an Idempotency-Key, and reads the headers', async () => {
    await page.goto(allowed.origin + '/');
    const init = {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', 'Idempotency-Key': 'cors-e2e-1', 'X-Request-Id': 'cors-e2e.req-1' },
      body: JSON.stringify({ name: 'Made from another origin' }),
    };
    const created = await call(page, api + '/projects', init, [...exposed, 'Content-Type']);
    assert.equal(created.refused, undefined, 'the browser refused the call: ' + created.refused);
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.data.name, 'Made from another origin');
    assert.equal(created.headers['X-RateLimit-Limit'], '60');
    assert.match(created.headers['X-RateLimit-Remaining'], /^\d+$/);
    assert.match(created.headers['X-RateLimit-Reset'], /^\d+$/);
    assert.equal(created.headers['X-Request-Id'], 'cors-e2e.req-1', 'the page\'s own request id, sent and read back');
    assert.equal(created.headers['Content-Type'], 'application/json');
    assert.match(created.headers['X-Event-Seq'], /^[1-9]\d*$/, 'the write\'s event seq');
    const replayed = await call(page, api + '/projects', init, exposed);
    assert.equal(replayed.status, 201);
    assert.equal(replayed.json.data.id, created.json.data.id);
    assert.equal(replayed.headers['Idempotent-Replayed'], 'true');
    assert.equal(replayed.headers['X-Event-Seq'], created.headers['X-Event-Seq'], 'the replay answers the original seq');
  });

  await t.test('the allowed origin reads, updates (PATCH, PUT) and deletes', async () => {
    const id = (await call(page, api + '/projects', {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'To change' }),
    })).json.data.id;
    const got = await call(page, api + '/projects/' + id, { headers: { ...auth, 'If-None-Match': '"not-the-etag"' } }, exposed);
    assert.equal(got.status, 200, JSON.stringify(got));
    assert.match(got.headers['X-Request-Id'], /\S/);
    for (const method of ['PATCH', 'PUT']) {
      const changed = await call(page, api + '/projects/' + id, {
        method, headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'Changed by ' + method }),
      });
      assert.equal(changed.refused, undefined, method + ' refused: ' + changed.refused);
      assert.equal(changed.status, 200, JSON.stringify(changed.json));
      assert.equal(changed.json.data.name, 'Changed by ' + method);
    }
    const deleted = await call(page, api + '/projects/' + id, { method: 'DELETE', headers: auth });
    assert.equal(deleted.status, 200, JSON.stringify(deleted));
    assert.deepEqual(deleted.json.data, { id, deleted: true });
  });

  await t.test('the allowed origin reads the API\'s errors, but not the headers it does not expose', async () => {
    const refused = await call(page, api + '/projects', {}, ['WWW-Authenticate', 'X-Request-Id']);
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, 'UNAUTHORIZED');
    assert.equal(refused.headers['WWW-Authenticate'], null, 'a header outside Access-Control-Expose-Headers is hidden from scripts');
    assert.match(refused.headers['X-Request-Id'], /\S/);
    const typo = await call(page, api + '/projects?limt=5', { headers: auth });
    assert.equal(typo.status, 400);
    assert.equal(typo.json.error.details.field, 'limt');
  });

  await t.test('another origin is refused by the browser, and its request never runs', async () => {
    await page.goto(other.origin + '/');
    const before = await projects();
    const create = await call(page, api + '/projects', {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'Must not exist' }),
    });
    assert.match(create.refused || '', /TypeError: Failed to fetch/, 'a page on another origin got an answer: ' + JSON.stringify(create));
    assert.equal(await projects(), before, 'the preflight failed, so the POST was never sent');
    // A "simple" request needs no preflight: it reaches the API, but the
    // page may not read the answer.
    const simple = await call(page, api + '/workspace');
    assert.match(simple.refused || '', /TypeError: Failed to fetch/, 'the answer to a simple request was readable: ' + JSON.stringify(simple));
  });

  await t.test('the preflights are logged with their 204', async () => {
    // The log reaches stderr in batches: wait for the line, not a while.
    await until(() => srv.log.some((line) => /http_route="OPTIONS \/v1\/projects" http_status=204/.test(line)), 'a preflight\'s log line');
  });
});
