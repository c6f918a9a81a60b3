// The SSE parser on canned bytes, and the follower's reconnects against a
// local HTTP server that plays a scripted event stream.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Client, SseParser, ApiError, EventsExpiredError } from "../dist/index.js";

const canned =
  "\uFEFF: keep-alive\n" +
  "retry: 2500\n" +
  "id: 7\r\nevent: task.created\r\ndata: {\"seq\":\"7\"}\r\n\r\n" +
  "data: one\rdata: two\r\r" + // CR line ends; two data lines
  "event: ignored-without-data\n\n" +
  "id: 9\nevent: error\ndata:{\"success\":false}\n\n" +
  "field-without-colon\ndata\n\n" +
  "id: 10\ndata: never dispatched, no blank line";

const want = [
  { id: "7", event: "task.created", data: "{\"seq\":\"7\"}" },
  { id: "7", event: "message", data: "one\ntwo" },
  { id: "9", event: "error", data: "{\"success\":false}" },
  { id: "9", event: "message", data: "" },
];

test("SSE parser: the whole stream at once", () => {
  const p = new SseParser();
  assert.deepEqual(p.feed(canned), want);
  assert.equal(p.retry, 2500);
  assert.equal(p.lastEventId, "10");
});

test("SSE parser: split at every position (CRLF and characters across chunks)", () => {
  // The last message of canned is completed here, then one more.
  const text = canned + "\n\ndata: é€😀\n\n";
  const all = [...want, { id: "10", event: "message", data: "never dispatched, no blank line" }, { id: "10", event: "message", data: "é€😀" }];
  for (let i = 0; i <= text.length; i++) {
    const p = new SseParser();
    const got = [...p.feed(text.slice(0, i)), ...p.feed(text.slice(i))];
    assert.deepEqual(got, all, `split at ${i}`);
  }
  // One character at a time, through a streaming UTF-8 decoder fed byte by byte.
  const bytes = new TextEncoder().encode(text);
  const decoder = new TextDecoder();
  const p = new SseParser();
  const got = [];
  for (const b of bytes) got.push(...p.feed(decoder.decode(new Uint8Array([b]), { stream: true })));
  assert.deepEqual(got, all);
});

function ev(seq, title = `t${seq}`) {
  const e = { id: `evt_${seq}`, seq: String(seq), type: "task.created", created_at: "2026-01-01T00:00:00Z",
    data: { id: `task_${seq}`, title }, previous: null, request_id: "req", key_id: "key_1" };
  return `id: ${seq}\nevent: task.created\ndata: ${JSON.stringify(e)}\n\n`;
}

/** A server answering the nth connection with script[n](req, res). */
async function scripted(script) {
  const seen = [];
  const server = createServer((req, res) => {
    const n = seen.length;
    seen.push({ url: req.url, lastEventId: req.headers["last-event-id"] ?? null, auth: req.headers.authorization });
    (script[n] ?? ((_, r) => { r.writeHead(500); r.end(); }))(req, res);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return { seen, baseUrl: `http://127.0.0.1:${port}/v1`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

const sse = (res) => res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });

test("follow: reconnects after EOF, a reset, a 503 and STREAM_LAGGING, from the last seq, never twice, after the server's retry:", async () => {
  const srv = await scripted([
    // The server's retry: (5 ms) replaces reconnectDelayMs (a minute): without
    // it the reconnects below would outlast the test's deadline.
    (req, res) => { sse(res); res.write(": keep-alive\nretry: 5\n\n" + ev(1) + ev(2)); res.end(); }, // EOF
    (req, res) => { sse(res); res.write(ev(2) + ev(3)); setImmediate(() => res.socket.destroy()); }, // a repeat, then a reset
    (req, res) => { res.writeHead(503, { "Content-Type": "application/json" }); res.end(JSON.stringify({ success: false, error: { code: "UNAVAILABLE", message: "down", details: {} } })); },
    (req, res) => { sse(res); res.write(ev(4) + "event: error\ndata: " + JSON.stringify({ success: false, error: { code: "STREAM_LAGGING", message: "slow", details: {} } }) + "\n\n"); },
    (req, res) => { sse(res); res.write(ev(5)); },
  ]);
  try {
    const client = new Client({ apiKey: "wsk_x", baseUrl: srv.baseUrl });
    const stream = client.events.follow({ types: ["task.created", "task.updated"], reconnectDelayMs: 60_000 });
    const deadline = setTimeout(() => stream.close(), 10_000);
    const got = [];
    for await (const e of stream) {
      got.push(e.seq);
      assert.equal(typeof e.seq, "number");
      assert.equal(e.data.title, `t${e.seq}`);
      if (got.length === 5) break;
    }
    clearTimeout(deadline);
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    assert.equal(stream.lastSeq, 5);
    assert.deepEqual(srv.seen.map((s) => s.lastEventId), [null, "2", "3", "3", "4"]);
    assert.deepEqual(srv.seen.map((s) => new URL(s.url, "http://x").searchParams.get("after")), ["0", "2", "3", "3", "4"]);
    for (const s of srv.seen) {
      assert.equal(new URL(s.url, "http://x").searchParams.get("types"), "task.created,task.updated");
      assert.equal(s.auth, "Bearer wsk_x");
    }
  } finally {
    await srv.close();
  }
});

for (const [status, code, cls] of [[401, "UNAUTHORIZED", ApiError], [403, "FORBIDDEN", ApiError], [410, "EVENTS_EXPIRED", EventsExpiredError], [400, "VALIDATION_ERROR", ApiError]]) {
  test(`follow: a ${status} is not retried`, async () => {
    const srv = await scripted([(req, res) => {
      res.writeHead(status, { "Content-Type": "application/json", "X-Request-Id": "req_1" });
      res.end(JSON.stringify({ success: false, error: { code, message: "no", details: {} } }));
    }]);
    try {
      const stream = new Client({ apiKey: "wsk_x", baseUrl: srv.baseUrl }).events.follow({ after: 3, reconnectDelayMs: 5 });
      await assert.rejects((async () => { for await (const _ of stream) assert.fail("an event"); })(), (e) => {
        assert.ok(e instanceof cls, `${e}`);
        assert.equal(e.status, status);
        assert.equal(e.code, code);
        assert.equal(e.requestId, "req_1");
        return true;
      });
      assert.equal(srv.seen.length, 1);
    } finally {
      await srv.close();
    }
  });
}

test("follow: an error event of a revoked key (UNAUTHORIZED) ends the stream, not retried", async () => {
  const srv = await scripted([(req, res) => {
    sse(res);
    res.write(ev(1) + "event: error\ndata: " + JSON.stringify({ success: false, error: { code: "UNAUTHORIZED", message: "revoked", details: {} } }) + "\n\n");
    res.end();
  }]);
  try {
    const stream = new Client({ apiKey: "wsk_x", baseUrl: srv.baseUrl }).events.follow({ reconnectDelayMs: 5 });
    const got = [];
    await assert.rejects((async () => { for await (const e of stream) got.push(e.seq); })(), (e) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 401);
      assert.equal(e.code, "UNAUTHORIZED");
      return true;
    });
    assert.deepEqual(got, [1]);
    assert.equal(srv.seen.length, 1);
  } finally {
    await srv.close();
  }
});

test("follow: a connection silent past idleTimeoutMs (no keep-alive) is reopened", async () => {
  const srv = await scripted([
    (req, res) => { sse(res); res.write(ev(1)); }, // then silence: a half-open link
    (req, res) => { sse(res); res.write(ev(2)); },
  ]);
  try {
    const stream = new Client({ apiKey: "wsk_x", baseUrl: srv.baseUrl }).events.follow({ idleTimeoutMs: 200, reconnectDelayMs: 5 });
    const deadline = setTimeout(() => stream.close(), 10_000);
    const got = [];
    for await (const e of stream) {
      got.push(e.seq);
      if (got.length === 2) break;
    }
    clearTimeout(deadline);
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(srv.seen.map((s) => s.lastEventId), [null, "1"]);
  } finally {
    await srv.close();
  }
});

test("follow: close() ends the iteration while it waits for an event", async () => {
  const srv = await scripted([(req, res) => { sse(res); res.write(ev(1)); }]);
  try {
    const stream = new Client({ apiKey: "wsk_x", baseUrl: srv.baseUrl }).events.follow();
    const got = [];
    for await (const e of stream) {
      got.push(e.seq);
      setImmediate(() => stream.close()); // while the next read waits
    }
    assert.deepEqual(got, [1]);
    assert.equal(srv.seen.length, 1);
  } finally {
    await srv.close();
  }
});

test("list: types as a comma list, seq as a number, 410 as EventsExpiredError; X-Event-Seq", async () => {
  const calls = [];
  const answers = [
    [200, { success: true, data: [JSON.parse(ev(3).split("data: ")[1])], pagination: { total: 1, limit: 5, offset: 0, has_more: false } }, {}],
    [410, { success: false, error: { code: "EVENTS_EXPIRED", message: "gone", details: { field: "after" } } }, {}],
    [201, { success: true, data: { id: "task_1" } }, { "X-Event-Seq": "42" }],
  ];
  const client = new Client({
    apiKey: "wsk_x", baseUrl: "http://api.test/v1",
    fetch: async (url) => {
      calls.push(String(url));
      const [status, body, headers] = answers.shift();
      return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
    },
  });
  const page = await client.events.list({ after: 2, types: ["task.created", "task.deleted"], limit: 5 });
  assert.equal(calls[0], "http://api.test/v1/events?after=2&types=task.created%2Ctask.deleted&limit=5");
  assert.equal(page.data[0].seq, 3);
  assert.equal(page.data[0].previous, null);
  await assert.rejects(client.events.list({ after: 1 }), EventsExpiredError);
  assert.equal(client.lastEventSeq, null);
  await client.tasks.create({ project_id: "proj_1", title: "x" });
  assert.equal(client.lastEventSeq, 42);
});
