// Retries and headers, with a fake fetch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, RateLimitError } from "../dist/index.js";

function fakeFetch(answers, calls) {
  return async (url, init) => {
    calls.push({ url: String(url), init });
    const [status, body, headers] = answers.shift();
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
  };
}

const limited = [429, { success: false, error: { code: "RATE_LIMITED", message: "slow down", details: { window: "minute" } } },
  { "Retry-After": "0", "X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": String(Math.floor(Date.now() / 1000)) }];

test("a 429 is retried after its reset, within the budget", async () => {
  const calls = [];
  const client = new Client({
    apiKey: "wsk_x", baseUrl: "http://api.test/v1",
    fetch: fakeFetch([limited, [201, { success: true, data: { id: "proj_1", name: "P" } }, {}]], calls),
  });
  const p = await client.projects.create({ name: "P" }, { idempotencyKey: "idem-1" });
  assert.equal(p.id, "proj_1");
  assert.equal(calls.length, 2);
  assert.equal(calls[1].init.headers["Idempotency-Key"], "idem-1");
  assert.equal(calls[1].init.headers.Authorization, "Bearer wsk_x");
  assert.equal(calls[1].init.body, JSON.stringify({ name: "P" }));
});

test("retries stop after maxRetries", async () => {
  const calls = [];
  const client = new Client({ apiKey: "wsk_x", baseUrl: "http://api.test/v1", maxRetries: 1, fetch: fakeFetch([limited, limited, limited], calls) });
  await assert.rejects(client.workspace.get(), RateLimitError);
  assert.equal(calls.length, 2);
});

test("list query parameters", async () => {
  const calls = [];
  const client = new Client({ apiKey: "wsk_x", baseUrl: "http://api.test/v1/", fetch: fakeFetch([[200, { success: true, data: [], pagination: { total: 0, limit: 5, offset: 0, has_more: false } }, {}]], calls) });
  const page = await client.tasks.list({ project_id: "proj_1", status: "todo", limit: 5 });
  assert.equal(page.pagination.total, 0);
  assert.equal(calls[0].url, "http://api.test/v1/tasks?project_id=proj_1&status=todo&limit=5");
});
