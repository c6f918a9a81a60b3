// End-to-end test of Settings > API: a real workspaced (built from this
// checkout, on a temporary SQLite file and free ports) driven through the page
// in headless Chromium. A person's path: sign in, generate a key, copy it, use
// it, revoke it, see it refused — plus the errors in plain words.
//
// Screenshots go to artifacts/screenshots/ (gitignored; CI keeps them). With
// UPDATE_DOCS_SCREENSHOT=1 the README's docs/settings-api.png is rewritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until, startServer, launchBrowser, root } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = process.env.SCREENSHOT_DIR || path.join(here, 'artifacts', 'screenshots');

// shown reports which parts of the page a person sees — rendered with a box,
// not merely present in the DOM (a CSS display rule can override the hidden
// attribute, and did). Playwright's isVisible: a non-empty bounding box and
// no visibility:hidden; the box itself is checked too. The elements are found
// by id, which always match one element in the DOM, hidden or not (a role or
// label query skips hidden elements, and boundingBox would wait for one).
async function shown(page) {
  const seen = async (selector) => {
    const locator = page.locator(selector);
    assert.equal(await locator.count(), 1, selector + ' is not in the page');
    const visible = await locator.isVisible();
    const box = await locator.boundingBox();
    assert.equal(visible, box !== null && box.width > 0 && box.height > 0, selector + ': isVisible and the bounding box disagree');
    return visible;
  };
  return {
    signInForm: await seen('#sign-in'),
    keyField: await seen('#admin-key'),
    session: await seen('#session'),
    signOut: await seen('#sign-out'),
    workspace: await seen('#signed-in'),
  };
}
const signedOut = { signInForm: true, keyField: true, session: false, signOut: false, workspace: false };
const signedIn = { signInForm: false, keyField: false, session: true, signOut: true, workspace: true };

async function rest(method, url, key, body) {
  const res = await fetch(url, {
    method,
    headers: { Authorization: 'Bearer ' + key, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}

test('Settings > API: sign in, generate, copy, use, revoke, refused', async (t) => {
  mkdirSync(shots, { recursive: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'ws-settings-e2e-'));
  const srv = await startServer(dir);
  const browser = await launchBrowser(dir);
  t.after(async () => {
    await browser.close();
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
  const alertText = () => page.locator('#error').textContent();
  const api = srv.base + '/v1';
  let newKey = '';

  await t.test('the page asks for an admin key', async () => {
    const res = await page.goto(srv.base + '/settings/api');
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'], /script-src 'self'/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.deepEqual(await shown(page), signedOut, 'signed out: only the sign-in form is visible, no "Sign out"');
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'a hidden "Sign out" is still in the accessibility tree');
    await shot('01-sign-in');
  });

  await t.test('a wrong key is refused in plain words', async () => {
    await page.getByLabel('Admin API key').fill('wsk_this_is_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until(async () => /not accepted/.test(await alertText()), 'the 401 message');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused key was kept');
    assert.deepEqual(await shown(page), signedOut, 'a refused key must not show the signed-in parts');
  });

  await t.test('the admin key signs in and shows the workspace', async () => {
    await page.getByLabel('Admin API key').fill(srv.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Workspace' }).waitFor();
    await until(async () => (await page.locator('#ws-plan').textContent()) === 'Free', 'the plan');
    await until(async () => /of 1,000 requests today/.test(await page.locator('#usage-day-text').textContent()), 'the day usage');
    await until(async () => (await page.locator('#keys-body tr').count()) === 1, 'the first key in the list');
    const stored = await page.evaluate(() => ({ session: Object.values(sessionStorage), local: localStorage.length, cookies: document.cookie }));
    assert.deepEqual(stored, { session: [srv.key], local: 0, cookies: '' }, 'the key must live in sessionStorage only');
    assert.deepEqual(await shown(page), signedIn, 'signed in: the workspace and "Sign out" are visible, the sign-in form is not');
    assert.match(await page.locator('#session-label').innerText(), /^Signed in with wsk_/);
    await shot('02-signed-in');
  });

  await t.test('generate a key: shown once, copied', async () => {
    await page.getByLabel('Name').fill('CI deploy');
    await page.getByRole('checkbox', { name: /write/ }).check();
    await page.getByLabel('Expires').selectOption('30');
    await page.getByRole('button', { name: 'Generate New Key' }).click();
    await page.locator('#new-key').waitFor();
    await page.getByText('You will not see it again').waitFor();
    newKey = await page.getByLabel('Key for CI deploy').inputValue();
    assert.match(newKey, /^wsk_[A-Za-z0-9]{38}$/);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await until(async () => /Copied/.test(await page.locator('#copy-status').textContent()), 'the copied status');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), newKey, 'the clipboard holds the key');
    await until(async () => (await page.locator('#keys-body tr').count()) === 2, 'the new key in the list');
    const row = page.locator('#keys-body tr', { hasText: 'CI deploy' });
    assert.match(await row.textContent(), /read, write/);
    assert.match(await row.textContent(), /Active/);
    assert.ok((await row.textContent()).includes(newKey.slice(0, 8)), 'the row shows the prefix');
    await shot('03-new-key');
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(path.join(shots, '03-new-key.png'), path.join(root, 'docs', 'settings-api.png'));
  });

  await t.test('the copied key works against the REST API', async () => {
    const list = await rest('GET', api + '/projects', newKey);
    assert.equal(list.status, 200, JSON.stringify(list.json));
    const created = await rest('POST', api + '/projects', newKey, { name: 'Made with the new key' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    await page.getByRole('button', { name: 'Refresh' }).click();
    const row = page.locator('#keys-body tr', { hasText: 'CI deploy' });
    const lastUsed = row.locator('td').nth(4); // Name, Key, Scopes, Created, Last used
    await until(async () => (await lastUsed.textContent()) !== 'Never', '"Last used" to be set');
  });

  await t.test('a key without the admin scope is told why, in plain words', async () => {
    await page.getByRole('button', { name: 'Hide the key', exact: false }).click();
    assert.equal(await page.locator('#new-key-value').inputValue(), '', 'the key stays on the page after hiding it');
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.deepEqual(await shown(page), signedOut, 'after signing out: back to the sign-in form, no "Sign out"');
    await page.getByLabel('Admin API key').fill(newKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until(async () => /needs the "admin" scope/.test(await alertText()), 'the 403 message');
    assert.deepEqual(await shown(page), signedOut, 'a key without admin must not show the signed-in parts');
    await page.getByLabel('Admin API key').fill(srv.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until(async () => (await page.locator('#keys-body tr').count()) === 2, 'the list after signing in again');
  });

  await t.test('revoke the key; it is refused from then on', async () => {
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Revoke key CI deploy' }).click();
    await until(async () => /is revoked/.test(await page.locator('#notice').textContent()), 'the revoked notice');
    const row = page.locator('#keys-body tr', { hasText: 'CI deploy' });
    await until(async () => /Revoked/.test(await row.textContent()), 'the row to say Revoked');
    assert.equal(await row.getByRole('button').count(), 0, 'a revoked key still has a Revoke button');
    await shot('04-revoked');
    const refused = await rest('GET', api + '/projects', newKey);
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, 'UNAUTHORIZED');
  });

  await t.test('429 says when to try again', async () => {
    // Use up the free plan's minute with the admin key, then ask the page. If
    // the minute turns over in between, try once more in the new minute.
    for (let attempt = 0; ; attempt++) {
      let limited;
      for (let i = 0; i < 80 && !limited; i++) {
        const r = await rest('GET', api + '/projects', srv.key);
        if (r.status === 429) limited = r;
      }
      assert.ok(limited, 'no 429 after 80 requests on the free plan');
      const minute = Math.floor(Date.now() / 60000);
      await page.getByRole('button', { name: 'Refresh' }).click();
      try {
        await until(async () => /Too many requests/.test(await alertText()), 'the 429 message', 5000);
        break;
      } catch (e) {
        if (attempt > 0 || Math.floor(Date.now() / 60000) === minute) throw e;
      }
    }
    assert.match(await alertText(), /Try again at \d\d:\d\d:\d\d\./);
    await shot('05-rate-limited');
  });

  assert.deepEqual(pageErrors.map(String).filter((e) => !/status of (401|403|429)/.test(e)), [], 'errors in the page');
});
