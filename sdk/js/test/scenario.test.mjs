// sdk/SCENARIO.md against a real workspaced, through the built ESM package.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Client, ApiError, RateLimitError, verifyWebhook, WebhookVerificationError } from "../dist/index.js";
import { startWorkspaced, startProxy, loadScenario } from "./helpers/workspaced.mjs";

const sc = loadScenario();
let srv;
before(async () => { srv = await startWorkspaced(); });
after(async () => { await srv?.stop(); });

async function rejectsWith(promise, cls, status, code) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof cls, `${e} is not a ${cls.name}`);
    assert.equal(e.status, status);
    assert.equal(e.code, code);
    assert.ok(e.message);
    assert.equal(typeof e.details, "object");
    assert.ok(e.requestId);
    return e;
  }
  assert.fail(`no ${cls.name}`);
}

test("the SDK scenario", async () => {
  const client = new Client({ apiKey: srv.adminKey, baseUrl: srv.baseUrl });

  // 1. Create a project.
  const project = await client.projects.create(sc.project, { idempotencyKey: "scenario-project" });
  assert.match(project.id, /^proj_/);
  assert.equal(project.name, sc.project.name);

  // 2. Create tasks.
  const created = [];
  for (const title of sc.task_titles) {
    const task = await client.tasks.create({ project_id: project.id, title });
    assert.equal(task.status, "todo");
    assert.equal(task.due_at, null);
    created.push(task.id);
  }

  // 3. Page through them, newest first.
  const seen = [];
  for await (const task of client.tasks.all({ project_id: project.id, pageSize: sc.page_size })) seen.push(task.id);
  assert.deepEqual(seen, [...created].reverse());
  const first = await client.tasks.list({ project_id: project.id, limit: sc.page_size });
  assert.equal(first.data.length, sc.page_size);
  // The seed's pagination, and the cursor of the next page beside it.
  const { next_cursor: firstCursor, ...seedPagination } = first.pagination;
  assert.deepEqual(seedPagination, { total: created.length, limit: sc.page_size, offset: 0, has_more: true });
  assert.ok(firstCursor, "a page with a next one has next_cursor");

  // 4. The seed's PUT.
  const updated = await client.tasks.update(created[0], sc.update);
  assert.equal(updated.status, "completed");
  assert.ok(updated.completed_at);
  assert.equal(updated.title, sc.task_titles[0]);

  // 5. Delete it.
  assert.deepEqual(await client.tasks.delete(created[0]), { id: created[0], deleted: true });

  // 6. 404.
  await rejectsWith(client.tasks.get(created[0]), ApiError, 404, "NOT_FOUND");
  const nf = await rejectsWith(client.tasks.get(sc.missing_task_id), ApiError, 404, "NOT_FOUND");
  assert.ok(!(nf instanceof RateLimitError));

  // 7. 403 with a read-only key made through the API.
  const key = await client.apiKeys.create(sc.read_only_key);
  assert.match(key.key, /^wsk_/);
  const ro = new Client({ apiKey: key.key, baseUrl: srv.baseUrl });
  await ro.projects.list();
  const forbidden = await rejectsWith(ro.projects.create({ name: "nope" }), ApiError, 403, "FORBIDDEN");
  assert.equal(forbidden.details.required_scope, "write");

  // 8. 429 on a fresh free workspace.
  const free = srv.newWorkspace("Scenario free", "free");
  const noRetry = new Client({ apiKey: free.key, baseUrl: srv.baseUrl, maxRetries: 0 });
  let limited;
  for (let i = 0; i < 2 * sc.free_plan_per_minute + 5 && !limited; i++) {
    try {
      await noRetry.workspace.get();
    } catch (e) {
      limited = e;
    }
  }
  assert.ok(limited, "never rate limited");
  assert.ok(limited instanceof RateLimitError);
  assert.equal(limited.status, 429);
  assert.equal(limited.code, "RATE_LIMITED");
  assert.equal(limited.details.window, "minute");
  const now = Date.now();
  assert.ok(limited.resetAt.getTime() >= now - 1000 && limited.resetAt.getTime() <= now + 61_000, `resetAt ${limited.resetAt}`);
  assert.ok(limited.retryAfter >= 1 && limited.retryAfter <= 60, `retryAfter ${limited.retryAfter}`);
  assert.equal(limited.rateLimit.limit, sc.free_plan_per_minute);
  assert.equal(limited.rateLimit.remaining, 0);

  // With retries on but a budget shorter than the wait: at once.
  const short = new Client({ apiKey: free.key, baseUrl: srv.baseUrl, maxRetries: 3, maxRetryWaitMs: 0 });
  const start = Date.now();
  await rejectsWith(short.workspace.get(), RateLimitError, 429, "RATE_LIMITED");
  assert.ok(Date.now() - start < 2000);

  // 9. Conditional update (ETag): the current etag succeeds and changes it;
  // the first one, now stale, is a 412 that changes nothing.
  const read = await client.projects.get(project.id);
  assert.ok(read.etag);
  assert.equal(read.etag, project.etag);
  const renamed = await client.projects.update(project.id, { name: sc.conditional_update.name }, { ifMatch: read.etag });
  assert.equal(renamed.name, sc.conditional_update.name);
  assert.ok(renamed.etag && renamed.etag !== read.etag);
  await rejectsWith(client.projects.update(project.id, { name: sc.conditional_update.stale_name }, { ifMatch: read.etag }), ApiError, 412, "PRECONDITION_FAILED");
  const after = await client.projects.get(project.id);
  assert.equal(after.name, sc.conditional_update.name);
  assert.equal(after.etag, renamed.etag);
  // 10. Lists: filters, order, cursors.
  const lf = { project_id: project.id, status: sc.lists.status, q: sc.lists.query, order_by: sc.lists.order_by };
  const titles = [];
  for await (const t of client.tasks.all({ ...lf, pageSize: sc.lists.page_size })) titles.push(t.title);
  assert.deepEqual(titles, sc.lists.titles);
  const listsFirst = await client.tasks.list({ ...lf, limit: sc.lists.page_size });
  assert.ok(listsFirst.pagination.next_cursor, "no next_cursor on the first page");
  const misused = await rejectsWith(
    client.tasks.list({ ...lf, order_by: sc.lists.other_order_by, limit: sc.lists.page_size, cursor: listsFirst.pagination.next_cursor }),
    ApiError, 400, "VALIDATION_ERROR");
  assert.equal(misused.details.field, "cursor");
  // 11. Batch create: in order, all or nothing.
  const batch = sc.batch.titles.map((title) => ({ project_id: project.id, title }));
  const made = await client.tasks.batchCreate(batch, { idempotencyKey: "scenario-batch" });
  assert.deepEqual(made.map((t) => t.title), sc.batch.titles);
  for (const t of made) {
    assert.match(t.id, /^task_/);
    assert.equal(t.status, "todo");
  }
  assert.equal(new Set(made.map((t) => t.id)).size, made.length);
  const total = (await client.tasks.list({ project_id: project.id, limit: 1 })).pagination.total;
  assert.equal(total, created.length - 1 + made.length);
  batch[sc.batch.invalid_index] = { ...batch[sc.batch.invalid_index], title: " " };
  const invalid = await rejectsWith(client.tasks.batchCreate(batch), ApiError, 400, "VALIDATION_ERROR");
  assert.equal(invalid.details.field, `tasks[${sc.batch.invalid_index}].title`);
  assert.equal((await client.tasks.list({ project_id: project.id, limit: 1 })).pagination.total, total);
  const batchSeq = client.lastEventSeq;

  // 12. Events: (a) the log's task.created, every page, oldest first.
  const listed = [];
  for await (const e of client.events.all({ after: 0, types: sc.events.types, pageSize: sc.events.page_size })) listed.push(e);
  assert.deepEqual(listed.map((e) => e.data.title), sc.events.titles);
  for (const [i, e] of listed.entries()) {
    assert.equal(e.type, "task.created");
    assert.equal(typeof e.seq, "number");
    assert.match(e.id, /^evt_/);
    if (i > 0) assert.ok(e.seq > listed[i - 1].seq, `seq ${e.seq} after ${listed[i - 1].seq}`);
  }
  const last = listed.at(-1).seq;
  assert.equal(batchSeq, last, "the batch's X-Event-Seq is its last event's seq");

  // (b) Follow after it, through a proxy the test can cut.
  const proxy = await startProxy(srv.httpAddr);
  const follower = new Client({ apiKey: srv.adminKey, baseUrl: `http://${proxy.addr}/v1` });
  const stream = follower.events.follow({ after: last, reconnectDelayMs: 50 });
  const events = stream[Symbol.asyncIterator]();
  const deadline = setTimeout(() => stream.close(), 30_000); // the deadline of every wait below
  try {
    const createAndReceive = async (...titles) => {
      const seqs = [];
      for (const title of titles) {
        await client.tasks.create({ project_id: project.id, title });
        seqs.push(client.lastEventSeq);
      }
      for (const [i, title] of titles.entries()) {
        const { value: e, done } = await events.next();
        assert.ok(!done, `the stream ended (deadline?) waiting for ${title}`);
        assert.equal(e.type, "task.created");
        assert.equal(e.seq, seqs[i]);
        assert.equal(e.data.title, title);
      }
    };
    await createAndReceive(sc.events.follow_title);
    assert.equal(stream.connects, 1);

    // (c) A network drop while the follower holds its event; two tasks
    // meanwhile; asked for more, it reconnects after its last seq.
    proxy.drop();
    await createAndReceive(...sc.events.resumed_titles);
    assert.ok(stream.connects >= 2 && proxy.accepted >= 2, `connects ${stream.connects}, proxied ${proxy.accepted}`);
  } finally {
    clearTimeout(deadline);
    stream.close();
    await events.return?.();
    await proxy.close();
  }

  // 13. Webhooks: a receiver on loopback, a signed ping, a tampered body refused.
  const inbox = [];
  const receiver = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      inbox.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise((ok) => receiver.listen(0, "127.0.0.1", ok));
  try {
    const url = `http://127.0.0.1:${receiver.address().port}/hook`;
    const ep = await client.webhookEndpoints.create({ url, description: sc.webhooks.description, event_types: sc.webhooks.event_types });
    assert.match(ep.id, /^whe_/);
    assert.match(ep.secret, /^whsec_/);
    const got = await client.webhookEndpoints.get(ep.id);
    assert.equal(got.secret, undefined);
    assert.equal(got.description, sc.webhooks.description);
    const ping = async () => {
      const d = await client.webhookEndpoints.test(ep.id);
      assert.equal(d.succeeded, true);
      assert.equal(d.status_code, 200);
      assert.equal(d.event_type, "ping");
      // The test answers after its attempt: the request is here.
      const r = inbox.find((x) => x.headers["webhook-id"] === d.event_id);
      assert.ok(r, "the receiver got no ping");
      return r;
    };
    const r = await ping();
    await verifyWebhook(ep.secret, r.headers, r.body);
    const tampered = r.body.toString().replace(sc.webhooks.tamper.from, sc.webhooks.tamper.to);
    await assert.rejects(verifyWebhook(ep.secret, r.headers, tampered),
      (e) => e instanceof WebhookVerificationError && e.reason === "signature");
    const rot = await client.webhookEndpoints.rotateSecret(ep.id);
    assert.notEqual(rot.secret, ep.secret);
    assert.ok(rot.previous_secret_expires_at);
    const r2 = await ping();
    await verifyWebhook(rot.secret, r2.headers, r2.body);
    await verifyWebhook(ep.secret, r2.headers, r2.body);
    const ds = await client.webhookEndpoints.deliveries(ep.id, { limit: 10 });
    assert.equal(ds.data.length, 2);
    assert.equal(ds.pagination.total, 2);
    assert.equal(ds.data[0].manual, true);
    assert.deepEqual(await client.webhookEndpoints.delete(ep.id), { id: ep.id, deleted: true });
  } finally {
    receiver.close();
  }
});
