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
      this.details = err.details || {};
      this.headers = headers;
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
  async function api(method, path, body, key, signal) {
    const headers = { 'Authorization': 'Bearer ' + (key || session.get() || '') };
    const init = { method, headers, cache: 'no-store', credentials: 'omit', signal };
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
    for (const k of keys) keyNames.set(k.id, (k.name || '(no name)') + ' (' + k.prefix + '…)');
    activity.relabel();
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


  // ---- recent activity -------------------------------------------------------
  // The panel shows the workspace's last ACTIVITY_SIZE events, newest first,
  // and follows the log live. It needs only the read scope.
  //
  // Finding the last 20: GET /v1/events lists oldest first after a position
  // (?after=<seq>), and its pagination.total counts every event after that
  // position, so one answer tells the head: last = after + total. The first
  // request lists 20 from the start of the log; when that is all of it
  // (has_more false) it is the panel, else a second request lists the 20
  // after last - 20. Once events were pruned (retention) the start of the log
  // is gone and after=0 is a 410 EVENTS_EXPIRED whose details.pruned_seq
  // says where the log starts now: the same two steps from there.
  //
  // Following: GET /v1/events/stream is Server-Sent Events, but EventSource
  // cannot send the Authorization header (and keys in URLs are refused), so
  // fetch() reads the stream and parseSSE splits it. The first connection
  // starts after the newest seq listed (?after=); after a drop (network, a
  // server's shutdown, STREAM_LAGGING) the next one resumes with
  // Last-Event-ID, so nothing is missed, and an event at or below the newest
  // seq shown is never shown twice.
  const ACTIVITY_SIZE = 20;
  const keyNames = new Map(); // key id → "name (prefix…)", from the key list

  const LABELS = {
    'project.created': 'Project created', 'project.updated': 'Project updated', 'project.deleted': 'Project deleted',
    'task.created': 'Task created', 'task.updated': 'Task updated', 'task.deleted': 'Task deleted',
    'api_key.created': 'API key created', 'api_key.revoked': 'API key revoked',
    'workspace.updated': 'Workspace updated',
  };

  // subject says what an event is about, from its resource.
  function subject(ev) {
    const d = ev.data || {};
    const res = (ev.type || '').split('.')[0];
    switch (res) {
      case 'task': return d.title || d.id || '';
      case 'project': return d.name || d.id || '';
      case 'api_key': return d.name ? d.name + ' (' + (d.prefix || '') + '…)' : (d.prefix ? d.prefix + '…' : d.id || '');
      case 'workspace': return d.name || d.id || '';
    }
    return d.id || '';
  }

  // show writes a field's value for people: a timestamp in local time.
  function show(v) {
    if (v === null || v === undefined || v === '') return '—';
    if (typeof v === 'object') return JSON.stringify(v);
    if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v)) return when(v);
    return String(v);
  }

  // changes lists an update's changed fields: previous holds their old values.
  function changes(ev) {
    const prev = ev.previous;
    if (!prev || typeof prev !== 'object') return '';
    return Object.keys(prev).filter((f) => f !== 'updated_at' && f !== 'version' && f !== 'etag')
      .map((f) => f + ': ' + show(prev[f]) + ' → ' + show((ev.data || {})[f])).join('; ');
  }

  function keyLabel(id) {
    if (!id) return 'no key (the command line)';
    return keyNames.get(id) || id;
  }

  function eventItem(ev) {
    const li = document.createElement('li');
    li.className = 'event';
    li.dataset.seq = ev.seq;
    li.dataset.type = ev.type;
    const head = document.createElement('div');
    const label = document.createElement('strong');
    label.className = 'event-type';
    label.textContent = LABELS[ev.type] || ev.type;
    const code = document.createElement('code');
    code.className = 'event-code';
    code.textContent = ev.type;
    const what = document.createElement('span');
    what.className = 'event-subject';
    what.textContent = subject(ev);
    head.append(label, ' ', what, ' ', code);
    li.append(head);
    const changed = changes(ev);
    if (changed) {
      const p = document.createElement('div');
      p.className = 'event-changes muted';
      p.textContent = changed;
      li.append(p);
    }
    const meta = document.createElement('div');
    meta.className = 'event-meta muted';
    const time = document.createElement('time');
    time.dateTime = ev.created_at;
    time.textContent = new Date(ev.created_at).toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' });
    const by = document.createElement('span');
    by.className = 'event-key';
    by.dataset.keyId = ev.key_id || '';
    by.textContent = keyLabel(ev.key_id);
    meta.append(time, ' · by ', by, ' · #' + ev.seq);
    li.append(meta);
    return li;
  }

  // sleep waits ms, or until signal aborts (then it rejects).
  function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
    });
  }

  // parseSSE reads a text/event-stream body and calls onEvent({id, event,
  // data}) for each event, as the HTML standard's parser does: lines end at
  // CRLF, LF or CR; a line starting with ":" is a comment (the keep-alives);
  // "field: value" with one optional space; data lines join with "\n"; an
  // empty line dispatches. It returns when the body ends.
  async function parseSSE(body, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let data = [], event = '', id = null;
    const line = (l) => {
      if (l === '') {
        if (data.length) onEvent({ id, event: event || 'message', data: data.join('\n') });
        data = []; event = '';
        return;
      }
      if (l[0] === ':') return;
      const c = l.indexOf(':');
      const field = c < 0 ? l : l.slice(0, c);
      let value = c < 0 ? '' : l.slice(c + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\0')) id = value;
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buf);
        // A CR at the end may be the first half of a CRLF: wait for more.
        if (!m || (m[0] === '\r' && m.index === buf.length - 1)) break;
        line(buf.slice(0, m.index));
        buf = buf.slice(m.index + m[0].length);
      }
    }
  }

  const activity = {
    ctrl: null,
    newest: 0, // the newest seq shown or skipped: the stream resumes after it
    resumable: false, // a connection was made: resume with Last-Event-ID

    start() {
      this.stop();
      this.ctrl = new AbortController();
      this.run(this.ctrl.signal).catch((err) => {
        if (!this.ctrl || this.ctrl.signal.aborted) return;
        this.status('Stopped.');
        if (err instanceof ApiError && err.status === 401) { handle(err); return; }
        this.message(err.message);
      });
    },

    // stop ends the stream (its fetch is aborted) and any wait to reconnect.
    stop() {
      if (this.ctrl) this.ctrl.abort();
      this.ctrl = null;
      this.newest = 0;
      this.resumable = false;
      $('activity-list').replaceChildren();
      $('activity-empty').hidden = true;
      this.message('');
      this.status('');
    },

    status(text) { $('activity-status').textContent = text; },
    message(text) {
      const el = $('activity-message');
      el.textContent = text;
      el.hidden = !text;
    },

    // run loads the recent events, then follows the stream until signal
    // aborts, retrying what may pass (the network, 429, 5xx) with a growing
    // delay; a refusal that retrying cannot cure (401, 403, 400) is thrown.
    async run(signal) {
      this.status('Loading…');
      let loaded = false;
      let delay = 1000;
      for (;;) {
        try {
          if (!loaded) {
            await this.loadRecent(signal);
            loaded = true;
          }
          if (await this.follow(signal)) delay = 1000;
        } catch (err) {
          if (signal.aborted) return;
          if (!(err instanceof ApiError)) {
            // The network, or a dropped stream: retry.
          } else if (err.code === 'EVENTS_EXPIRED' && loaded) {
            // What was missed was pruned: resuming is impossible. Start over.
            $('activity-list').replaceChildren();
            this.newest = 0;
            this.resumable = false;
            loaded = false;
            continue;
          } else if (err.status === 429 || err.status >= 500) {
            const retry = Number(err.headers && err.headers.get('Retry-After'));
            if (retry > 0) delay = Math.max(delay, retry * 1000);
            this.message(err.code === 'TOO_MANY_STREAMS'
              ? 'Too many live connections are open for this workspace\'s plan. Retrying in ' + Math.round(delay / 1000) + ' s.'
              : err.message);
          } else {
            throw err;
          }
        }
        if (signal.aborted) return;
        this.status(loaded ? 'Reconnecting…' : 'Retrying…');
        await sleep(delay, signal);
        delay = Math.min(delay * 2, 30000);
      }
    },

    async loadRecent(signal) {
      let first;
      try {
        first = await this.list(0, signal);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'EVENTS_EXPIRED')) throw err;
        first = await this.oldestKept(err, signal);
      }
      let page = first.res;
      if (page.pagination.has_more) {
        const last = first.after + page.pagination.total;
        page = (await this.list(Math.max(first.after, last - ACTIVITY_SIZE), signal)).res;
      }
      if (signal.aborted) return;
      this.add(page.data);
      this.render();
      this.status(this.resumable ? 'Live: new events appear at the top.' : 'Connecting…');
    },

    // oldestKept lists from where the log starts now that its start was
    // pruned: the 410 names the last pruned seq (details.pruned_seq).
    async oldestKept(err, signal) {
      const pruned = Number(err.details.pruned_seq);
      if (!(pruned > 0)) throw err;
      return this.list(pruned, signal);
    },

    async list(after, signal, limit = ACTIVITY_SIZE) {
      try {
        const res = await api('GET', '/v1/events?limit=' + limit + (after ? '&after=' + after : ''), undefined, undefined, signal);
        return { after, res };
      } catch (err) {
        throw this.refusal(err);
      }
    },

    // refusal words a 403 for this panel: it needs only the read scope.
    refusal(err) {
      if (err instanceof ApiError && err.status === 403) {
        err.message = 'Recent activity needs a key with the "read" scope, and this key does not have it.';
      }
      return err;
    },

    // follow opens the stream and shows its events until it ends; it
    // returns whether it was opened, and throws a refusal.
    async follow(signal) {
      const headers = { 'Authorization': 'Bearer ' + (session.get() || ''), 'Accept': 'text/event-stream' };
      let path = '/v1/events/stream';
      if (this.resumable) headers['Last-Event-ID'] = String(this.newest);
      else if (this.newest) path += '?after=' + this.newest;
      const res = await fetch(path, { headers, cache: 'no-store', credentials: 'omit', signal });
      if (!res.ok || !(res.headers.get('Content-Type') || '').startsWith('text/event-stream')) {
        let json = null;
        try { json = await res.json(); } catch (e) { /* not JSON */ }
        throw this.refusal(new ApiError(res.status, json, res.headers));
      }
      this.resumable = true;
      this.message('');
      this.status('Live: new events appear at the top.');
      await parseSSE(res.body, (m) => {
        if (m.event === 'error') {
          // The server ends the stream after this (STREAM_LAGGING: this
          // reader fell behind); the loop resumes from the newest seq.
          let env = null;
          try { env = JSON.parse(m.data); } catch (e) { /* not JSON */ }
          const code = env && env.error && env.error.code;
          if (code !== 'STREAM_LAGGING') this.message((env && env.error && env.error.message) || 'The live stream ended with an error.');
          return;
        }
        let ev;
        try { ev = JSON.parse(m.data); } catch (e) { return; }
        this.add([ev]);
        this.render();
      });
      return true;
    },

    // add puts events the panel has not shown at the top, newest first, and
    // keeps ACTIVITY_SIZE.
    add(events) {
      const list = $('activity-list');
      for (const ev of events) {
        const seq = Number(ev.seq);
        if (!(seq > this.newest)) continue;
        this.newest = seq;
        list.prepend(eventItem(ev));
      }
      while (list.children.length > ACTIVITY_SIZE) list.lastElementChild.remove();
    },

    render() {
      $('activity-empty').hidden = $('activity-list').children.length > 0;
    },

    // relabel names the keys of the events once the key list is known.
    relabel() {
      for (const el of document.querySelectorAll('#activity-list .event-key')) {
        el.textContent = keyLabel(el.dataset.keyId);
      }
    },
  };

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
      activity.start();
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
    activity.stop();
    keyNames.clear();
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
      activity.start();
      load().catch(handle);
    }
  });
})();
