// End-to-end test of the Settings page's "Recent activity" panel: a real
// workspaced (built from this checkout, SQLite) and headless Chromium. The
// panel lists the workspace's last 20 events from GET /v1/events, then follows
// GET /v1/events/stream (read with fetch, since EventSource cannot send the
// key): a task created through the API appears at the top without a reload,
// a dropped stream (the server restarted on the same port) resumes with
// Last-Event-ID without losing or repeating an event, and signing out ends
// the stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until, startServer, launchBrowser, root } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = process.env.SCREENSHOT_DIR || path.join(here, 'artifacts', 'screenshots');

async function rest(method, url, key, body) {
  const res = await fetch(url, {
    method,
    headers: { Authorization: 'Bearer ' + key, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

// must is rest that insists on a 2xx.
async function must(method, url, key, body) {
  const r = await rest(method, url, key, body);
  assert.ok(r.status >= 200 && r.status < 300, method + ' ' + url + ': ' + r.status + ' ' + JSON.stringify(r.json));
  return r;
}

// seqOf is the X-Event-Seq of a write's answer, as a number.
function seqOf(r) {
  const s = r.headers.get('X-Event-Seq');
  assert.match(s || '', /^[1-9][0-9]*$/, 'X-Event-Seq of a write');
  return Number(s);
}

// panel reads the panel as a person sees it: each item's seq, type, text.
function panel(page) {
  return page.locator('#activity-list > li').evaluateAll((items) => items.map((li) => ({
    seq: Number(li.dataset.seq),
    type: li.dataset.type,
    text: li.textContent,
    time: li.querySelector('time') && li.querySelector('time').dateTime,
  })));
}

test('Settings: recent activity, live', async (t) => {
  mkdirSync(shots, { recursive: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'ws-activity-e2e-'));
  let srv = await startServer(dir);
  const browser = await launchBrowser(dir);
  t.after(async () => {
    await browser.close();
    srv.proc.kill('SIGTERM');
    const { code } = await srv.exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'workspaced did not shut down cleanly:\n' + srv.log.join('\n'));
  });
  const api = srv.base + '/v1';
  const key = srv.key;
  const page = browser.pages()[0] || (await browser.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(new Error(m.text())); });
  // Every request the page makes to the stream, with its Last-Event-ID, and
  // which of them ended (the fetch aborted, or the connection dropped).
  const streams = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/v1/events/stream') {
      streams.push({ request: r, url: r.url(), lastEventId: r.headers()['last-event-id'], ended: false });
    }
  });
  const lists = []; // the page's GET /v1/events, as "after" values
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/v1/events') lists.push(u.searchParams.get('after') || '0');
  });
  page.on('requestfailed', (r) => { for (const s of streams) if (s.request === r) s.ended = true; });
  page.on('requestfinished', (r) => { for (const s of streams) if (s.request === r) s.ended = true; });

  // The workspace's history before anyone looks: a project, 22 tasks in one
  // batch, an update, a plan change from the command line (so more requests
  // a minute than the free plan's 60).
  const ws = (await must('GET', api + '/workspace', key)).json.data;
  execFileSync(path.join(dir, 'workspaced'), ['workspaces', 'set-plan', ws.id, 'pro', '--database', path.join(dir, 'workspace.db')]);
  const proj = (await must('POST', api + '/projects', key, { name: 'Launch' })).json.data;
  const tasks = Array.from({ length: 22 }, (_, i) => ({ title: 'Step ' + (i + 1), project_id: proj.id }));
  const batch = (await must('POST', api + '/tasks:batchCreate', key, { tasks })).json.data.tasks;
  assert.equal(batch[0].title, 'Step 1');
  const updated = await must('PATCH', api + '/tasks/' + batch[0].id, key, { status: 'completed' });
  let last = seqOf(updated);
  assert.ok(last > 24, 'the log has more than 20 events: ' + last);

  await t.test('signing in shows the last 20 events, newest first', async () => {
    const res = await page.goto(srv.base + '/settings/api');
    assert.equal(res.status(), 200);
    await page.getByLabel('Admin API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Recent activity' }).waitFor();
    await until(async () => (await panel(page)).length === 20, '20 events in the panel');
    assert.deepEqual(lists, ['0', String(last - 20)], 'the head from the start, then the 20 after last - 20');
    const items = await panel(page);
    assert.deepEqual(items.map((i) => i.seq), Array.from({ length: 20 }, (_, i) => last - i), 'the last 20 seqs, newest first');
    assert.equal(items[0].type, 'task.updated');
    assert.match(items[0].text, /Task updated/);
    assert.match(items[0].text, /Step 1/, 'the event names its task');
    assert.match(items[0].text, /status: todo → completed/, 'an update says what changed');
    assert.match(items[0].text, /by \(no name\) \(wsk_\w+…\)|by [^·]+\(wsk_\w+…\)/, 'which key, by its name and prefix');
    assert.ok(items.every((i) => !Number.isNaN(Date.parse(i.time))), 'every item has a <time datetime>');
    assert.equal(items[1].type, 'task.created');
    assert.match(items[1].text, /Step 22/);
    // A list, announced politely as it grows.
    const list = page.locator('#activity-list');
    assert.equal(await list.evaluate((el) => el.tagName), 'OL');
    assert.equal(await list.getAttribute('aria-live'), 'polite');
    await until(async () => /Live/.test(await page.locator('#activity-status').textContent()), 'the stream to be live');
    assert.equal(streams.length, 1, 'one stream');
    assert.equal(new URL(streams[0].url).searchParams.get('after'), String(last), 'the stream starts after the newest seq listed');
    await page.screenshot({ path: path.join(shots, 'activity-01-signed-in.png'), fullPage: true });
  });

  await t.test('a task created through the API appears at the top, without a reload', async () => {
    await page.evaluate(() => { window.notReloaded = true; });
    const created = await must('POST', api + '/tasks', key, { title: 'Ship it', project_id: proj.id });
    last = seqOf(created);
    await until(async () => (await panel(page))[0]?.seq === last, 'the new event at the top');
    const items = await panel(page);
    assert.equal(items[0].type, 'task.created');
    assert.match(items[0].text, /Task created.*Ship it/s);
    assert.equal(items.length, 20, 'still the last 20');
    assert.equal(items[1].seq, last - 1);
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was reloaded');
    assert.equal(streams.length, 1, 'the same stream');
  });

  await t.test('a dropped stream resumes with Last-Event-ID, missing and repeating nothing', async () => {
    const port = new URL(srv.base).port;
    srv.proc.kill('SIGTERM');
    const { code } = await srv.exited;
    assert.equal(code, 0, 'workspaced did not shut down cleanly with a stream open:\n' + srv.log.join('\n'));
    await until(() => streams[0].ended, 'the page to see its stream end');
    srv = await startServer(dir, {}, { httpAddr: '127.0.0.1:' + port, restart: true });
    // Written as soon as the server is back, whether or not the page has
    // reconnected yet: the resumed stream replays them or follows them.
    const a = seqOf(await must('POST', api + '/tasks', key, { title: 'After the drop', project_id: proj.id }));
    const b = seqOf(await must('PATCH', api + '/projects/' + proj.id, key, { name: 'Launch v2' }));
    assert.deepEqual([a, b], [last + 1, last + 2]);
    await until(async () => (await panel(page))[0]?.seq === b, 'the events after the drop', 45000);
    const resumed = streams.slice(1);
    assert.ok(resumed.length >= 1, 'no new stream');
    assert.equal(resumed[0].lastEventId, String(last), 'the resumed stream sends Last-Event-ID: the last seq received');
    const items = await panel(page);
    const seqs = items.map((i) => i.seq);
    assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => b - i), 'every seq once, newest first');
    assert.match(items[0].text, /Project updated.*Launch v2.*name: Launch → Launch v2/s);
    assert.match(items[1].text, /After the drop/);
    last = b;
    await page.screenshot({ path: path.join(shots, 'activity-02-resumed.png'), fullPage: true });
  });

  await t.test('signing out ends the stream', async () => {
    const open = streams.filter((s) => !s.ended);
    assert.equal(open.length, 1, 'one open stream before signing out');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await until(() => open[0].ended, 'the stream to end');
    assert.equal(await page.locator('#activity-list > li').count(), 0, 'the panel is emptied');
    // A change after signing out: once a stream of our own has it, a stream
    // the page still had would have had it too.
    const count = streams.length;
    const seq = seqOf(await must('POST', api + '/tasks', key, { title: 'Nobody watching', project_id: proj.id }));
    const ctrl = new AbortController();
    const res = await fetch(api + '/events/stream?after=' + (seq - 1), { headers: { Authorization: 'Bearer ' + key }, signal: ctrl.signal });
    assert.equal(res.status, 200);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('id: ' + seq + '\n')) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'our stream ended before the event: ' + text);
      text += value;
    }
    ctrl.abort();
    assert.equal(streams.length, count, 'the page opened a stream after signing out');
    assert.equal(await page.locator('#activity-list > li').count(), 0);
  });

  await t.test('a key without the read scope is told so', async () => {
    // The page signs in with admin keys only, and admin implies read: the
    // refusal is the server's real answer to a key without read (made here
    // with a write-only key), served to the page in place of its events.
    const writeOnly = (await must('POST', api + '/api-keys', key, { name: 'writer', scopes: ['write'] })).json.data.key;
    const refused = await fetch(api + '/events?limit=20', { headers: { Authorization: 'Bearer ' + writeOnly } });
    assert.equal(refused.status, 403);
    const body = await refused.text();
    await page.route(/\/v1\/events(\?|$)/, (route) => route.fulfill({ status: 403, contentType: 'application/json', body }));
    await page.getByLabel('Admin API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until(async () => /needs a key with the "read" scope/.test(await page.locator('#activity-message').textContent()), 'the read-scope message');
    assert.ok(await page.locator('#activity-message').isVisible());
    await page.unroute(/\/v1\/events(\?|$)/);
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  await t.test('once the start of the log was pruned, the panel still shows the last events', async () => {
    // Retention is at least an hour and the binary has no fake clock: the
    // test ages all but the last 8 events by two hours in the stopped
    // server's database (ageevents), and the restarted server's pruner (a
    // first pass at start, --event-retention 1h) prunes them, as it would
    // after a month.
    const head = (await must('GET', api + '/events?limit=1', key)).json.pagination.total;
    const port = new URL(srv.base).port;
    srv.proc.kill('SIGTERM');
    assert.equal((await srv.exited).code, 0);
    const aged = execFileSync('go', ['run', './web/settings/e2e/ageevents', path.join(dir, 'workspace.db'), String(head - 8)], { cwd: root });
    assert.equal(Number(aged), head - 8, 'events aged');
    srv = await startServer(dir, { WORKSPACE_EVENT_RETENTION: '1h' }, { httpAddr: '127.0.0.1:' + port, restart: true });
    await until(async () => (await rest('GET', api + '/events', key)).status === 410, 'the pruner to prune the aged events');
    const expired = await rest('GET', api + '/events', key);
    assert.equal(expired.json.error.code, 'EVENTS_EXPIRED');
    lists.length = 0;
    await page.getByLabel('Admin API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until(async () => (await panel(page)).length === 8, 'the 8 events kept');
    assert.deepEqual(lists, ['0', String(head - 8)], 'from the start (410), then from the pruned seq the 410 names');
    assert.deepEqual((await panel(page)).map((i) => i.seq), Array.from({ length: 8 }, (_, i) => head - i));
    await until(async () => /Live/.test(await page.locator('#activity-status').textContent()), 'the stream to be live');
    const seq = seqOf(await must('POST', api + '/tasks', key, { title: 'After pruning', project_id: proj.id }));
    await until(async () => (await panel(page))[0]?.seq === seq, 'the new event at the top');
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  assert.deepEqual(pageErrors.map(String).filter((e) => !/status of (401|403|410|429)|ERR_CONNECTION_REFUSED|ERR_INCOMPLETE_CHUNKED_ENCODING/.test(e)), [], 'errors in the page');
});
