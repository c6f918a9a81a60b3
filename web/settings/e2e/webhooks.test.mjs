// End-to-end test of Settings > API's Webhooks panel: a real workspaced (with
// --webhook-allow-private, through its environment twin, so that the
// receiver may be on loopback) and a real receiver started here, driven
// through the page in headless Chromium: add an endpoint, copy its secret
// (shown once), send a test, see the deliveries with their status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until, startServer, launchBrowser } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = process.env.SCREENSHOT_DIR || path.join(here, 'artifacts', 'screenshots');

// signed checks a request's Standard Webhooks signature with secret.
function signed(req, secret) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key)
    .update(`${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.`).update(req.body).digest('base64');
  return req.headers['webhook-signature'].split(' ').includes('v1,' + mac);
}

test('Settings > API: webhooks — add an endpoint, copy its secret, send a test, see deliveries', async (t) => {
  mkdirSync(shots, { recursive: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'ws-settings-webhooks-'));
  const received = [];
  let answer = 200;
  const receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(answer, { 'Content-Type': 'text/plain' }).end(answer === 200 ? 'thanks' : 'receiver is down');
    });
  });
  await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
  const hookURL = `http://127.0.0.1:${receiver.address().port}/hook`;
  const srv = await startServer(dir, { WORKSPACE_WEBHOOK_ALLOW_PRIVATE: 'true' });
  const browser = await launchBrowser(dir);
  t.after(async () => {
    await browser.close();
    receiver.close();
    srv.proc.kill('SIGTERM');
    const { code } = await srv.exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'workspaced did not shut down cleanly:\n' + srv.log.join('\n'));
  });
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.base });
  const page = browser.pages()[0] || (await browser.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(new Error(m.text())); });
  const shot = (name) => page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
  const rows = page.locator('#webhooks-body tr');
  const deliveries = page.locator('#deliveries-body tr');
  let secret = '';

  await t.test('sign in: no endpoints yet', async () => {
    await page.goto(srv.base + '/settings/api');
    await page.getByLabel('Admin API key').fill(srv.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await until(async () => (await page.locator('#webhooks-summary').textContent()) === 'No endpoints yet.', 'the empty list');
  });

  await t.test('add an endpoint: its secret shown once, copied', async () => {
    await page.getByLabel('Endpoint URL').fill(hookURL);
    await page.getByLabel('Description').fill('E2E receiver');
    await page.getByLabel('Event types').fill('project.created');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.locator('#new-webhook').waitFor();
    await page.getByText('It will not be shown again').waitFor();
    secret = await page.getByLabel('Signing secret for').inputValue();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
    await page.getByRole('button', { name: 'Copy secret' }).click();
    await until(async () => /Copied/.test(await page.locator('#webhook-copy-status').textContent()), 'the copied status');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, 'the clipboard holds the secret');
    await until(async () => (await rows.count()) === 1, 'the endpoint in the list');
    const text = await rows.first().textContent();
    assert.ok(text.includes(hookURL) && /E2E receiver/.test(text) && /project\.created/.test(text) && /Enabled/.test(text), text);
    await shot('06-webhook-added');
    await page.getByRole('button', { name: 'hide the secret' }).click();
    assert.equal(await page.locator('#new-webhook-secret').inputValue(), '', 'the secret stays on the page after hiding it');
    assert.ok(!(await page.content()).includes(secret), 'the secret is still in the page');
    // The API never shows it again either.
    const res = await fetch(srv.base + '/v1/webhook-endpoints', { headers: { Authorization: 'Bearer ' + srv.key } });
    assert.ok(!(await res.text()).includes('whsec_'), 'the list carries a secret');
  });

  await t.test('send a test: delivered, signed with the copied secret, listed', async () => {
    await page.getByRole('button', { name: 'Send a test to E2E receiver' }).click();
    await until(async () => /Test sent to/.test(await page.locator('#notice').textContent()), 'the sent notice');
    const ping = received.find((r) => JSON.parse(r.body).type === 'ping');
    assert.ok(ping, 'the receiver got no ping');
    assert.ok(signed(ping, secret), 'the ping is not signed with the secret the page showed');
    await until(async () => (await deliveries.count()) === 1, 'the test in the deliveries');
    const row = await deliveries.first().textContent();
    assert.match(row, /ping \(sent by hand\)/);
    assert.match(row, /Delivered \(HTTP 200\)/);
    assert.match(row, /thanks/);
  });

  await t.test('a real event is delivered and shown', async () => {
    const r = await fetch(srv.base + '/v1/projects', {
      method: 'POST', headers: { Authorization: 'Bearer ' + srv.key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Hooked' }),
    });
    assert.equal(r.status, 201);
    await until(() => received.some((x) => JSON.parse(x.body).type === 'project.created'), 'the event at the receiver');
    const ev = received.find((x) => JSON.parse(x.body).type === 'project.created');
    assert.ok(signed(ev, secret));
    await until(async () => {
      await page.getByRole('button', { name: 'Show deliveries to E2E receiver' }).click();
      return /project\.created/.test(await page.locator('#deliveries-body').textContent());
    }, 'the event in the deliveries');
    assert.match(await deliveries.first().textContent(), /project\.created.*1Delivered \(HTTP 200\)/);
  });

  await t.test('a failing receiver: the test says so, the attempt is listed as failed', async () => {
    answer = 503;
    await page.getByRole('button', { name: 'Send a test to E2E receiver' }).click();
    await until(async () => /failed: the endpoint answered HTTP 503/.test(await page.locator('#error').textContent()), 'the failure');
    await until(async () => /Failed \(HTTP 503\)/.test(await deliveries.first().textContent()), 'the failed attempt');
    assert.match(await deliveries.first().textContent(), /receiver is down/);
    assert.equal(await deliveries.count(), 3);
    await shot('07-webhook-deliveries');
  });

  assert.deepEqual(pageErrors.map(String), [], 'errors in the page');
});
