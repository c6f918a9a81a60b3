// Settings > API: plain JavaScript against the public REST API on this origin.
// The admin key lives in this tab's sessionStorage only.
'use strict';

(() => {
  const STORAGE_KEY = 'workspace.settings.apiKey';
  const $ = (id) => document.getElementById(id);

  // ---- the key -----------------------------------------------------------
  const session = {
    get: () => sessionStorage.getItem(STORAGE_KEY),
    set: (k) => sessionStorage.setItem(STORAGE_KEY, k),
    clear: () => sessionStorage.removeItem(STORAGE_KEY),
  };

  // ---- messages ------------------------------------------------------------
  function showError(text) {
    const el = $('error');
    el.textContent = text;
    el.hidden = !text;
  }
  function showNotice(text) {
    const el = $('notice');
    el.textContent = text;
    el.hidden = !text;
  }
  function clearMessages() { showError(''); showNotice(''); }

  function clock(date) {
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }
  function when(iso) {
    if (!iso) return '';
    return new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  }

  // ApiError is a refusal of the API, with a message in plain words.
  class ApiError extends Error {
    constructor(status, body, headers) {
      const err = (body && body.error) || {};
      super(plainWords(status, err, headers));
      this.status = status;
      this.code = err.code;
    }
  }

  // plainWords says what a refusal means for the person at the page.
  function plainWords(status, err, headers) {
    const details = err.details || {};
    switch (status) {
      case 401:
        return 'This key was not accepted: it may be mistyped, revoked or expired. Sign in with a valid admin key.';
      case 403:
        return 'This key is not allowed to do that: it needs the "' + (details.required_scope || 'admin') +
          '" scope. Sign in with a key that has the admin scope.';
      case 429: {
        const reset = Number(headers.get('X-RateLimit-Reset'));
        const retry = Number(headers.get('Retry-After'));
        let at = reset ? new Date(reset * 1000) : (retry ? new Date(Date.now() + retry * 1000) : null);
        const which = details.window === 'day' ? "today's" : "this minute's";
        let text = 'Too many requests — your workspace has used ' + which + ' limit for its plan.';
        if (at) {
          text += ' Try again at ' + clock(at) + (details.window === 'day' ? ' on ' + at.toLocaleDateString() : '') + '.';
        }
        return text;
      }
      case 400:
        return 'Please check the form: ' + (err.message || 'the request was not valid') + '.';
      case 404:
        return 'That was not found — it may have been removed already. The list has been refreshed.';
      case 503:
        return 'The service is unavailable right now (shutting down or its database is unreachable). Try again in a moment.';
    }
    if (status >= 500) {
      return 'The server ran into a problem' + (details.request_id ? ' (request id ' + details.request_id + ')' : '') +
        '. Try again; if it keeps happening, give the request id to whoever runs the service.';
    }
    return err.message || ('Unexpected answer from the server (HTTP ' + status + ').');
  }

  // api calls the REST API with the signed-in key and returns the envelope.
  async function api(method, path, body, key) {
    const headers = { 'Authorization': 'Bearer ' + (key || session.get() || '') };
    const init = { method, headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new Error('Could not reach the server. Check your connection and try again.');
    }
    let json = null;
    try { json = await res.json(); } catch (e) { /* not JSON: handled below */ }
    if (!res.ok || !json || json.success !== true) {
      throw new ApiError(res.status, json, res.headers);
    }
    return json;
  }

  // ---- views ---------------------------------------------------------------
  function showSignedIn(on) {
    $('sign-in').hidden = on;
    $('signed-in').hidden = !on;
    $('session').hidden = !on;
    if (on) {
      const k = session.get() || '';
      $('session-label').textContent = 'Signed in with ' + k.slice(0, 8) + '…';
    }
  }

  function usageText(w, unit) {
    const used = w.used || 0;
    if (w.limit == null) return used.toLocaleString() + ' requests ' + unit + ' — no limit on this plan';
    return used.toLocaleString() + ' of ' + w.limit.toLocaleString() + ' requests ' + unit +
      ' (' + (w.remaining ?? Math.max(w.limit - used, 0)).toLocaleString() + ' left, resets at ' + clock(new Date(w.reset_at)) + ')';
  }

  function renderWorkspace(ws) {
    $('ws-name').textContent = ws.name;
    $('ws-id').textContent = ws.id;
    $('ws-plan').textContent = ws.plan ? ws.plan[0].toUpperCase() + ws.plan.slice(1) : '';
    const u = ws.usage || {};
    for (const [name, unit] of [['minute', 'this minute'], ['day', 'today']]) {
      const w = u[name] || {};
      const meter = $('usage-' + name);
      meter.max = w.limit || Math.max(w.used || 0, 1);
      meter.value = w.used || 0;
      meter.high = meter.max * 0.8;
      $('usage-' + name + '-text').textContent = usageText(w, unit);
    }
  }

  function keyStatus(k) {
    if (k.revoked_at) return ['revoked', 'Revoked ' + when(k.revoked_at)];
    if (k.expires_at && new Date(k.expires_at) <= new Date()) return ['expired', 'Expired'];
    return ['active', 'Active'];
  }

  function cell(text, title) {
    const td = document.createElement('td');
    td.textContent = text;
    if (title) td.title = title;
    return td;
  }

  function renderKeys(keys, total) {
    const body = $('keys-body');
    body.replaceChildren();
    for (const k of keys) {
      const tr = document.createElement('tr');
      tr.dataset.keyId = k.id;
      const [state, label] = keyStatus(k);
      if (state !== 'active') tr.className = 'inactive';
      tr.append(
        cell(k.name || '(no name)'),
        (() => { const td = document.createElement('td'); const c = document.createElement('code'); c.textContent = k.prefix + '…'; td.append(c); return td; })(),
        cell((k.scopes || []).join(', ')),
        cell(when(k.created_at), k.created_at),
        cell(k.last_used_at ? when(k.last_used_at) : 'Never', k.last_used_at || ''),
        cell(k.expires_at ? when(k.expires_at) : 'Never', k.expires_at || ''),
      );
      const st = document.createElement('td');
      const badge = document.createElement('span');
      badge.className = 'badge ' + state;
      badge.textContent = label;
      st.append(badge);
      tr.append(st);
      const act = document.createElement('td');
      if (state === 'active') {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'danger';
        b.textContent = 'Revoke';
        b.setAttribute('aria-label', 'Revoke key ' + (k.name || k.prefix));
        b.addEventListener('click', () => revoke(k, b));
        act.append(b);
      }
      tr.append(act);
      body.append(tr);
    }
    const active = keys.filter((k) => keyStatus(k)[0] === 'active').length;
    $('keys-summary').textContent = total + (total === 1 ? ' key' : ' keys') + ', ' + active + ' active' +
      (keys.length < total ? ' (showing the newest ' + keys.length + ')' : '') + '.';
  }

  // ---- actions ---------------------------------------------------------------
  async function load() {
    const ws = await api('GET', '/v1/workspace');
    renderWorkspace(ws.data);
    const keys = [];
    let total = 0;
    for (let offset = 0, page = 0; page < 10; page++) {
      const res = await api('GET', '/v1/api-keys?limit=100&offset=' + offset);
      keys.push(...res.data);
      total = res.pagination.total;
      if (!res.pagination.has_more) break;
      offset += res.data.length;
    }
    renderKeys(keys, total);
    await loadWebhooks();
  }

  // ---- webhooks --------------------------------------------------------------
  let shownDeliveries = null; // the endpoint whose deliveries are shown

  async function loadWebhooks() {
    const res = await api('GET', '/v1/webhook-endpoints?limit=100');
    renderWebhooks(res.data, res.pagination.total);
    if (shownDeliveries) {
      const still = res.data.find((e) => e.id === shownDeliveries.id);
      if (still) await showDeliveries(still); else hideDeliveries();
    }
  }

  function endpointStatus(e) {
    if (e.enabled) return ['active', 'Enabled'];
    return ['disabled', e.disabled_reason ? 'Disabled: ' + e.disabled_reason : 'Disabled'];
  }

  function smallButton(text, label, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'secondary';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', () => onClick(b));
    return b;
  }

  function renderWebhooks(endpoints, total) {
    const body = $('webhooks-body');
    body.replaceChildren();
    for (const e of endpoints) {
      const tr = document.createElement('tr');
      tr.dataset.endpointId = e.id;
      const [state, label] = endpointStatus(e);
      if (state !== 'active') tr.className = 'inactive';
      const url = document.createElement('td');
      const c = document.createElement('code');
      c.textContent = e.url;
      url.append(c);
      tr.append(url, cell(e.description || ''), cell((e.event_types || []).length ? e.event_types.join(', ') : 'All events'));
      const st = document.createElement('td');
      const badge = document.createElement('span');
      badge.className = 'badge ' + state;
      badge.textContent = label;
      st.append(badge);
      tr.append(st);
      const act = document.createElement('td');
      const actions = document.createElement('div');
      actions.className = 'row-actions';
      const name = e.description || e.url;
      actions.append(
        smallButton('Deliveries', 'Show deliveries to ' + name, () => showDeliveries(e).catch(handle)),
        smallButton('Send test', 'Send a test to ' + name, (b) => sendTest(e, b)),
      );
      act.append(actions);
      tr.append(act);
      body.append(tr);
    }
    $('webhooks-summary').textContent = total === 0 ? 'No endpoints yet.' :
      total + (total === 1 ? ' endpoint' : ' endpoints') + (endpoints.length < total ? ' (showing the newest ' + endpoints.length + ')' : '') + '.';
  }

  function deliveryStatus(d) {
    const what = d.status_code ? 'HTTP ' + d.status_code : (d.error || 'no answer');
    return d.succeeded ? ['active', 'Delivered (' + what + ')'] : ['failed', 'Failed (' + what + ')'];
  }

  async function showDeliveries(e) {
    const res = await api('GET', '/v1/webhook-endpoints/' + encodeURIComponent(e.id) + '/deliveries?limit=20');
    shownDeliveries = e;
    $('deliveries-url').textContent = e.url;
    const body = $('deliveries-body');
    body.replaceChildren();
    for (const d of res.data) {
      const tr = document.createElement('tr');
      tr.dataset.deliveryId = d.id;
      const [state, label] = deliveryStatus(d);
      const st = document.createElement('td');
      const badge = document.createElement('span');
      badge.className = 'badge ' + state;
      badge.textContent = label;
      st.append(badge);
      if (!d.succeeded && d.next_retry_at) {
        const p = document.createElement('div');
        p.className = 'muted';
        p.textContent = 'Next retry ' + when(d.next_retry_at);
        st.append(p);
      }
      const excerpt = cell(d.response_excerpt || '');
      excerpt.className = 'excerpt';
      tr.append(
        cell(when(d.attempted_at), d.attempted_at),
        cell(d.event_type + (d.manual ? ' (sent by hand)' : ''), d.event_id),
        cell(String(d.attempt)),
        st,
        cell(Number(d.duration_ms).toLocaleString() + ' ms'),
        excerpt,
      );
      body.append(tr);
    }
    const total = res.pagination.total;
    $('deliveries-summary').textContent = total === 0 ? 'No deliveries yet: send a test.' :
      total + (total === 1 ? ' attempt' : ' attempts') + (res.data.length < total ? ', the newest ' + res.data.length + ' shown' : '') + ', newest first.';
    $('deliveries').hidden = false;
  }

  function hideDeliveries() {
    shownDeliveries = null;
    $('deliveries-body').replaceChildren();
    $('deliveries').hidden = true;
  }

  async function sendTest(e, button) {
    clearMessages();
    button.disabled = true;
    try {
      const res = await api('POST', '/v1/webhook-endpoints/' + encodeURIComponent(e.id) + ':test', {});
      const d = res.data;
      const [, label] = deliveryStatus(d);
      if (d.succeeded) showNotice('Test sent to ' + e.url + ': ' + label.toLowerCase() + ' in ' + d.duration_ms + ' ms.');
      else showError('The test to ' + e.url + ' failed: ' + (d.status_code ? 'the endpoint answered HTTP ' + d.status_code : d.error || 'no answer') + '.');
      await showDeliveries(e);
    } catch (err) {
      handle(err);
    } finally {
      button.disabled = false;
    }
  }

  async function addWebhook(ev) {
    ev.preventDefault();
    clearMessages();
    const body = { url: $('webhook-url').value.trim() };
    const description = $('webhook-description').value.trim();
    if (description) body.description = description;
    const types = $('webhook-types').value.split(',').map((t) => t.trim()).filter(Boolean);
    if (types.length) body.event_types = types;
    const button = $('add-webhook');
    button.disabled = true;
    try {
      const res = await api('POST', '/v1/webhook-endpoints', body);
      $('new-webhook-url').textContent = res.data.url;
      $('new-webhook-secret').value = res.data.secret;
      $('webhook-copy-status').textContent = '';
      $('new-webhook').hidden = false;
      $('webhook-form').reset();
      $('new-webhook-secret').focus();
      $('new-webhook-secret').select();
      await loadWebhooks();
    } catch (err) {
      handle(err);
    } finally {
      button.disabled = false;
    }
  }

  function hideWebhookSecret() {
    $('new-webhook-secret').value = '';
    $('webhook-copy-status').textContent = '';
    $('new-webhook').hidden = true;
  }

  // handle shows an error; a 401 means the key stopped working: sign out.
  function handle(err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut();
      showError('Your key is no longer accepted (revoked or expired). Sign in again with a valid admin key.');
      return;
    }
    showError(err.message);
  }

  async function signIn(ev) {
    ev.preventDefault();
    clearMessages();
    const key = $('admin-key').value.trim();
    if (!key) { showError('Paste an admin API key to sign in.'); return; }
    const button = ev.submitter || $('sign-in-form').querySelector('button');
    button.disabled = true;
    try {
      // Check the key before keeping it: it must be accepted and be an admin key.
      await api('GET', '/v1/api-keys?limit=1', undefined, key);
      session.set(key);
      $('admin-key').value = '';
      showSignedIn(true);
      await load();
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        session.clear();
        showSignedIn(false);
      }
      showError(err.message);
    } finally {
      button.disabled = false;
    }
  }

  function signOut() {
    session.clear();
    hideNewKey();
    hideWebhookSecret();
    hideDeliveries();
    $('webhooks-body').replaceChildren();
    $('keys-body').replaceChildren();
    showSignedIn(false);
    clearMessages();
  }

  async function generate(ev) {
    ev.preventDefault();
    clearMessages();
    const scopes = [...document.querySelectorAll('input[name=scope]:checked')].map((c) => c.value);
    if (scopes.length === 0) { showError('Choose at least one permission for the new key.'); return; }
    const body = { name: $('key-name').value.trim(), scopes };
    const days = Number($('key-expiry').value);
    if (days) {
      const t = new Date(Date.now() + days * 86400 * 1000);
      t.setUTCMilliseconds(0);
      body.expires_at = t.toISOString().replace('.000Z', 'Z');
    }
    const button = $('generate');
    button.disabled = true;
    try {
      const res = await api('POST', '/v1/api-keys', body);
      showNewKey(res.data);
      $('generate-form').reset();
      await load();
    } catch (err) {
      handle(err);
    } finally {
      button.disabled = false;
    }
  }

  function showNewKey(k) {
    $('new-key-name').textContent = k.name || 'a key with no name';
    $('new-key-value').value = k.key;
    $('copy-status').textContent = '';
    $('new-key').hidden = false;
    $('new-key-value').focus();
    $('new-key-value').select();
  }

  function hideNewKey() {
    $('new-key-value').value = '';
    $('copy-status').textContent = '';
    $('new-key').hidden = true;
  }

  // copyField copies a shown secret (a key, a webhook secret) and says so in status.
  async function copyField(inputId, statusId, what) {
    const input = $(inputId);
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (e) {
      // Without the async clipboard (older browsers, insecure origins), copy the selection.
      input.select();
      if (!document.execCommand || !document.execCommand('copy')) {
        $(statusId).textContent = 'Could not copy automatically: the ' + what + ' is selected, press Ctrl+C (⌘C on a Mac).';
        return;
      }
    }
    $(statusId).textContent = 'Copied to the clipboard.';
  }
  const copyKey = () => copyField('new-key-value', 'copy-status', 'key');

  async function revoke(k, button) {
    clearMessages();
    const name = k.name || k.prefix + '…';
    if (!window.confirm('Revoke the key "' + name + '"? Anything using it will be refused from its next request. This cannot be undone.')) return;
    button.disabled = true;
    try {
      await api('DELETE', '/v1/api-keys/' + encodeURIComponent(k.id));
      showNotice('The key "' + name + '" is revoked: it no longer works.');
      await load();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) { load().catch(handle); }
      handle(err);
      button.disabled = false;
    }
  }

  async function refresh() {
    clearMessages();
    try { await load(); } catch (err) { handle(err); }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);
    $('generate-form').addEventListener('submit', generate);
    $('copy-key').addEventListener('click', copyKey);
    $('dismiss-key').addEventListener('click', hideNewKey);
    $('refresh').addEventListener('click', refresh);
    $('webhook-form').addEventListener('submit', addWebhook);
    $('copy-webhook-secret').addEventListener('click', () => copyField('new-webhook-secret', 'webhook-copy-status', 'secret'));
    $('dismiss-webhook-secret').addEventListener('click', hideWebhookSecret);
    if (session.get()) {
      showSignedIn(true);
      load().catch(handle);
    }
  });
})();
