// @example/sdk — the Workspace API over REST/JSON, with nothing but fetch.
import { SseParser } from "./sse.js";

export { SseParser } from "./sse.js";
export type { SseMessage } from "./sse.js";

/** A project groups tasks inside a workspace. */
export interface Project {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  /** The entity-tag of this version, quotes included ("3"); pass it as ifMatch. */
  etag: string;
}

export type TaskStatus = "todo" | "in_progress" | "completed";

/** A task belongs to one project of the workspace. */
export interface Task {
  id: string;
  project_id: string;
  title: string;
  description: string;
  status: TaskStatus;
  due_at: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
  /** The entity-tag of this version, quotes included ("3"); pass it as ifMatch. */
  etag: string;
}

export type Scope = "read" | "write" | "delete" | "admin";

/** An API key; `key` (the secret) is present only in the create response. */
export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  key?: string;
}

export interface UsageWindow {
  limit: number | null;
  used: number;
  remaining: number | null;
  reset_at: string | null;
}

export interface Workspace {
  id: string;
  name: string;
  plan: "free" | "pro" | "enterprise";
  created_at: string;
  usage: { minute: UsageWindow | null; day: UsageWindow | null } | null;
}

export interface Pagination {
  total: number;
  limit: number;
  offset: number;
  has_more: boolean;
  /** The cursor of the next page (send it back as `cursor`); absent on the last page. */
  next_cursor?: string;
}

/** One page of a list. */
export interface Page<T> {
  data: T[];
  pagination: Pagination;
}

/** The event types of the log: "<resource>.<what happened>". */
export type EventType =
  | "project.created" | "project.updated" | "project.deleted"
  | "task.created" | "task.updated" | "task.deleted"
  | "api_key.created" | "api_key.revoked"
  | "workspace.updated";

/** One entry of the workspace's event log. */
export interface Event<D = Record<string, unknown>> {
  /** evt_… */
  id: string;
  /** The event's place in the workspace's log: 1, 2, 3…, no gap. The JSON
   * carries it as a decimal string; the SDK gives a number. */
  seq: number;
  type: EventType | string;
  created_at: string;
  /** The resource after the change (for a delete, as it was), as its GET renders it. */
  data: D;
  /** For an update, the old values of the top-level fields that changed; otherwise null. */
  previous: Partial<D> | null;
  /** The X-Request-Id of the request that caused it (null for the CLI). */
  request_id: string | null;
  /** The API key that made the change (null for the CLI). */
  key_id: string | null;
}

export interface EventListParams {
  /** Only events after this seq (0: the start of the log). */
  after?: number;
  /** Only these types: sent as a comma list. */
  types?: string[] | string;
  limit?: number;
  /** A previous page's `pagination.next_cursor`. */
  cursor?: string;
}

export interface FollowParams {
  /** Follow the events after this seq (0: replay the whole log first). */
  after?: number;
  /** Only these types. */
  types?: string[] | string;
  /** The first wait before reconnecting, doubled after each failed attempt
   * (up to maxReconnectDelayMs); the server's `retry:` replaces it. Default 1000 ms. */
  reconnectDelayMs?: number;
  /** Default 30000 ms. */
  maxReconnectDelayMs?: number;
  /** A connection that brings no byte (not even the 15 s keep-alive) for this
   * long is taken as dropped and reopened. Default 45000 ms. */
  idleTimeoutMs?: number;
  /** Aborting it ends the stream, like close(). */
  signal?: AbortSignal;
}

export interface Deleted {
  id: string;
  deleted: true;
}

/** The rate-limit headers of an answer: the window that runs out first. */
export interface RateLimit {
  limit: number;
  remaining: number;
  /** When the window ends. */
  resetAt: Date;
}

/** Any error answer of the API: CONTRACT §5's error object and its HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, string>;
  readonly requestId: string | null;
  readonly rateLimit: RateLimit | null;

  constructor(status: number, code: string, message: string, details: Record<string, string>, requestId: string | null, rateLimit: RateLimit | null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.rateLimit = rateLimit;
  }
}

/** A 429: the plan's limit is reached until resetAt. */
export class RateLimitError extends ApiError {
  /** When the limit resets. */
  readonly resetAt: Date;
  /** Seconds to wait before retrying (Retry-After). */
  readonly retryAfter: number;

  constructor(status: number, code: string, message: string, details: Record<string, string>, requestId: string | null, rateLimit: RateLimit | null, resetAt: Date, retryAfter: number) {
    super(status, code, message, details, requestId, rateLimit);
    this.name = "RateLimitError";
    this.resetAt = resetAt;
    this.retryAfter = retryAfter;
  }
}

/** A 410: `after` is older than the log's retention. The events after it are
 * gone: resync from the lists, then follow from the newest seq. */
export class EventsExpiredError extends ApiError {
  constructor(status: number, code: string, message: string, details: Record<string, string>, requestId: string | null, rateLimit: RateLimit | null) {
    super(status, code, message, details, requestId, rateLimit);
    this.name = "EventsExpiredError";
  }
}

export interface ClientOptions {
  /** An API key, wsk_… */
  apiKey: string;
  /** The API root, default https://api.example.com/v1 */
  baseUrl?: string;
  /** Retries of a 429 (or 503), default 2; 0 turns them off. */
  maxRetries?: number;
  /** Total time one call may spend waiting for retries, default 60000 ms. A
   * retry that would wait past it is not made: the error is thrown at once. */
  maxRetryWaitMs?: number;
  /** A fetch implementation, default globalThis.fetch. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** Sent as the Idempotency-Key header. */
  idempotencyKey?: string;
  /** Sent as the If-Match header: an update or delete then happens only if the
   * resource's etag is still this one (or "*"); otherwise an ApiError with
   * status 412 and code PRECONDITION_FAILED, and nothing changes. */
  ifMatch?: string;
  signal?: AbortSignal;
}

export interface ListParams {
  limit?: number;
  /** Rows to skip; not with `cursor`. */
  offset?: number;
  /** A previous page's `pagination.next_cursor`, with that page's filters and order. */
  cursor?: string;
}

export interface ProjectListParams extends ListParams {
  /** "created_at" or "updated_at", optionally with " asc" or " desc"; "created_at desc" when absent. */
  order_by?: string;
  /** Projects whose name or description contains this, ignoring case (3–200 characters). */
  q?: string;
}

export interface TaskListParams extends ListParams {
  project_id?: string;
  /** One status, or several separated by commas ("todo,in_progress"). */
  status?: TaskStatus | string;
  /** "created_at", "updated_at" or "due_at", optionally with " asc" or " desc"; "created_at desc" when absent. */
  order_by?: string;
  /** RFC 3339 times: due before / due after / changed after (exclusive). */
  due_before?: string;
  due_after?: string;
  updated_after?: string;
  /** Tasks whose title or description contains this, ignoring case (3–200 characters). */
  q?: string;
}

type Query = Record<string, string | number | undefined>;

interface Envelope<T> {
  success: boolean;
  data: T;
  pagination?: Pagination;
  error?: { code: string; message: string; details: Record<string, string> };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });

function rateLimitOf(h: Headers): RateLimit | null {
  const limit = h.get("x-ratelimit-limit");
  const remaining = h.get("x-ratelimit-remaining");
  const reset = h.get("x-ratelimit-reset");
  if (limit === null || remaining === null || reset === null) return null;
  return { limit: Number(limit), remaining: Number(remaining), resetAt: new Date(Number(reset) * 1000) };
}

/** The Workspace API client. */
export class Client {
  readonly projects: Projects;
  readonly tasks: Tasks;
  readonly apiKeys: ApiKeys;
  readonly workspace: WorkspaceResource;
  readonly events: Events;
  readonly webhookEndpoints: WebhookEndpoints;
  /** The rate-limit values of the last answer. */
  lastRateLimit: RateLimit | null = null;
  /** The X-Event-Seq of the last answer that carried one: the seq of the
   * last event the write appended (an idempotent replay gives the original
   * one). Wait for your own write in a follower until it reaches this seq. */
  lastEventSeq: number | null = null;

  /** @internal */
  readonly apiKey: string;
  /** @internal */
  readonly baseUrl: string;
  private readonly maxRetries: number;
  private readonly maxRetryWaitMs: number;
  /** @internal */
  readonly fetchFn: typeof fetch;

  constructor(options: ClientOptions) {
    if (!options?.apiKey) throw new TypeError("an apiKey is required");
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? "https://api.example.com/v1").replace(/\/+$/, "");
    this.maxRetries = options.maxRetries ?? 2;
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? 60_000;
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.projects = new Projects(this);
    this.tasks = new Tasks(this);
    this.apiKeys = new ApiKeys(this);
    this.workspace = new WorkspaceResource(this);
    this.events = new Events(this);
    this.webhookEndpoints = new WebhookEndpoints(this);
  }

  /** Sends one request and returns the envelope; throws ApiError on errors. */
  async request<T>(method: string, path: string, init: { query?: Query; body?: unknown } & RequestOptions = {}): Promise<Envelope<T>> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(init.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { Authorization: `Bearer ${this.apiKey}`, Accept: "application/json" };
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    if (init.idempotencyKey) headers["Idempotency-Key"] = init.idempotencyKey;
    if (init.ifMatch) headers["If-Match"] = init.ifMatch;
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);

    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      const res = await this.fetchFn(url, { method, headers, body, signal: init.signal });
      this.lastRateLimit = rateLimitOf(res.headers) ?? this.lastRateLimit;
      const seq = res.headers.get("x-event-seq");
      if (seq !== null && /^[0-9]+$/.test(seq)) this.lastEventSeq = Number(seq);
      const text = await res.text();
      let env: Envelope<T> | undefined;
      try {
        env = JSON.parse(text) as Envelope<T>;
      } catch {
        env = undefined;
      }
      if (res.ok && env?.success) return env;

      const err = toError(res, env);
      if (attempt < this.maxRetries && (res.status === 429 || res.status === 503)) {
        const wait = err instanceof RateLimitError
          ? Math.max(err.retryAfter * 1000, err.resetAt.getTime() - Date.now(), 0) || 1000
          : 200 * 2 ** attempt;
        if (waited + wait <= this.maxRetryWaitMs) {
          await sleep(wait, init.signal);
          waited += wait;
          continue;
        }
      }
      throw err;
    }
  }
}

function toError<T>(res: Response, env: Envelope<T> | undefined): ApiError {
  const e = env?.error;
  const code = e?.code ?? (res.status === 429 ? "RATE_LIMITED" : "UNKNOWN");
  const message = e?.message ?? `HTTP ${res.status}`;
  const details = e?.details ?? {};
  const requestId = res.headers.get("x-request-id");
  const rl = rateLimitOf(res.headers);
  if (res.status === 429) {
    const retryAfter = Number(res.headers.get("retry-after") ?? "0");
    const resetAt = rl?.resetAt ?? new Date(Date.now() + retryAfter * 1000);
    return new RateLimitError(res.status, code, message, details, requestId, rl, resetAt, retryAfter);
  }
  if (code === "EVENTS_EXPIRED") return new EventsExpiredError(res.status, code, message, details, requestId, rl);
  return new ApiError(res.status, code, message, details, requestId, rl);
}

/** Every item of a list, following each page's next_cursor until a page has none. */
async function* pages<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.data;
    cursor = page.pagination.next_cursor;
    if (!cursor) return;
  }
}

abstract class Resource {
  constructor(protected readonly client: Client) {}

  protected async one<T>(method: string, path: string, init: { query?: Query; body?: unknown } & RequestOptions = {}): Promise<T> {
    return (await this.client.request<T>(method, path, init)).data;
  }

  protected async page<T>(path: string, query: Query, opts: RequestOptions = {}): Promise<Page<T>> {
    const env = await this.client.request<T[]>("GET", path, { ...opts, query });
    return { data: env.data, pagination: env.pagination as Pagination };
  }
}

/** /v1/projects */
export class Projects extends Resource {
  /** One page, newest first unless `order_by` says otherwise. */
  list(params: ProjectListParams = {}, opts?: RequestOptions): Promise<Page<Project>> {
    return this.page("/projects", { ...params }, opts);
  }
  /** Every project matching the filters, fetching pageSize at a time: `for await (const p of client.projects.all())`. */
  all(params: Omit<ProjectListParams, "limit" | "offset" | "cursor"> & { pageSize?: number } = {}): AsyncGenerator<Project> {
    const { pageSize, ...filters } = params;
    return pages((cursor) => this.list({ ...filters, limit: pageSize, cursor }));
  }
  create(params: { name: string; description?: string }, opts?: RequestOptions): Promise<Project> {
    return this.one("POST", "/projects", { ...opts, body: params });
  }
  get(id: string, opts?: RequestOptions): Promise<Project> {
    return this.one("GET", `/projects/${encodeURIComponent(id)}`, opts);
  }
  /** PUT: changes the fields given, leaves the others alone. */
  update(id: string, fields: { name?: string; description?: string }, opts?: RequestOptions): Promise<Project> {
    return this.one("PUT", `/projects/${encodeURIComponent(id)}`, { ...opts, body: fields });
  }
  /** Deletes the project and its tasks. */
  delete(id: string, opts?: RequestOptions): Promise<Deleted> {
    return this.one("DELETE", `/projects/${encodeURIComponent(id)}`, opts);
  }
}

export interface NewTask {
  project_id: string;
  title: string;
  description?: string;
  status?: TaskStatus;
  due_at?: string | null;
}

export type TaskUpdate = Partial<Omit<NewTask, "due_at">> & { due_at?: string | null };

/** /v1/tasks */
export class Tasks extends Resource {
  list(params: TaskListParams = {}, opts?: RequestOptions): Promise<Page<Task>> {
    return this.page("/tasks", { ...params }, opts);
  }
  /** Every task matching the filters. */
  all(params: Omit<TaskListParams, "limit" | "offset" | "cursor"> & { pageSize?: number } = {}): AsyncGenerator<Task> {
    const { pageSize, ...filters } = params;
    return pages((cursor) => this.list({ ...filters, limit: pageSize, cursor }));
  }
  create(params: NewTask, opts?: RequestOptions): Promise<Task> {
    return this.one("POST", "/tasks", { ...opts, body: params });
  }
  /** Creates 1–100 tasks in one request and one transaction: all of them, in
   * the order given, or none. An invalid item throws an ApiError whose
   * details.field names it ("tasks[3].title"). Pass an idempotencyKey to make
   * a retry safe. */
  async batchCreate(tasks: NewTask[], opts?: RequestOptions): Promise<Task[]> {
    const data = await this.one<{ tasks: Task[] }>("POST", "/tasks:batchCreate", { ...opts, body: { tasks } });
    return data.tasks;
  }
  get(id: string, opts?: RequestOptions): Promise<Task> {
    return this.one("GET", `/tasks/${encodeURIComponent(id)}`, opts);
  }
  /** PUT: the seed's `{"status": "completed"}`; `due_at: null` clears the due date. */
  update(id: string, fields: TaskUpdate, opts?: RequestOptions): Promise<Task> {
    return this.one("PUT", `/tasks/${encodeURIComponent(id)}`, { ...opts, body: fields });
  }
  delete(id: string, opts?: RequestOptions): Promise<Deleted> {
    return this.one("DELETE", `/tasks/${encodeURIComponent(id)}`, opts);
  }
}

/** /v1/api-keys (admin scope) */
export class ApiKeys extends Resource {
  list(params: ListParams = {}, opts?: RequestOptions): Promise<Page<ApiKey>> {
    return this.page("/api-keys", { ...params }, opts);
  }
  all(params: { pageSize?: number } = {}): AsyncGenerator<ApiKey> {
    return pages((cursor) => this.list({ limit: params.pageSize, cursor }));
  }
  /** The secret is in the result's `key`, this once. */
  create(params: { name?: string; scopes: Scope[]; expires_at?: string }, opts?: RequestOptions): Promise<ApiKey & { key: string }> {
    return this.one("POST", "/api-keys", { ...opts, body: params });
  }
  /** Revokes the key. */
  delete(id: string, opts?: RequestOptions): Promise<Deleted> {
    return this.one("DELETE", `/api-keys/${encodeURIComponent(id)}`, opts);
  }
}

/** /v1/workspace */
export class WorkspaceResource extends Resource {
  get(opts?: RequestOptions): Promise<Workspace> {
    return this.one("GET", "/workspace", opts);
  }
}

function typesParam(types: string[] | string | undefined): string | undefined {
  if (types === undefined) return undefined;
  const s = Array.isArray(types) ? types.join(",") : types;
  return s === "" ? undefined : s;
}

/** An event of the wire (seq a decimal string) as the SDK gives it. */
export function toEvent(raw: Record<string, unknown>): Event {
  return {
    id: raw.id as string,
    seq: Number(raw.seq),
    type: raw.type as string,
    created_at: raw.created_at as string,
    data: (raw.data ?? {}) as Record<string, unknown>,
    previous: (raw.previous ?? null) as Record<string, unknown> | null,
    request_id: (raw.request_id ?? null) as string | null,
    key_id: (raw.key_id ?? null) as string | null,
  };
}

/** /v1/events: the workspace's event log (read scope). */
export class Events extends Resource {
  /** One page, oldest first. A 410 (`after` older than the retention) throws EventsExpiredError. */
  async list(params: EventListParams = {}, opts?: RequestOptions): Promise<Page<Event>> {
    const page = await this.page<Record<string, unknown>>("/events", {
      after: params.after, types: typesParam(params.types), limit: params.limit, cursor: params.cursor,
    }, opts);
    return { data: page.data.map(toEvent), pagination: page.pagination };
  }
  /** Every event after `after` of these types, following the cursors, oldest
   * first (a cursor carries its position: `after` goes with the first page only). */
  all(params: Omit<EventListParams, "limit" | "cursor"> & { pageSize?: number } = {}): AsyncGenerator<Event> {
    const { pageSize, after, types } = params;
    return pages((cursor) => this.list(cursor ? { types, limit: pageSize, cursor } : { after, types, limit: pageSize }));
  }
  /** Follows the log live over Server-Sent Events: replays the events after
   * `after`, then yields each new one as it commits, reconnecting from the
   * last seq after a dropped connection, so that every event comes once, in
   * order. `for await (const e of client.events.follow({ after }))`. */
  follow(params: FollowParams = {}): EventStream {
    return new EventStream(this.client, params);
  }
}

class Dropped extends Error {}

/** Codes of an `event: error` (or an error answer) after which the stream is
 * reopened from the last seq; any other ends it with the ApiError. */
const RESUMABLE_CODES = new Set(["STREAM_LAGGING", "UNAVAILABLE", "INTERNAL_ERROR", "RATE_LIMITED", "TOO_MANY_STREAMS"]);
const FINAL_STATUSES = new Set([400, 401, 403, 404, 410, 501]);

/**
 * A live follower of the event log (an async iterable of Event). It remembers
 * `lastSeq`, the seq of the last event it yielded; when the connection drops
 * (a network error, EOF, a 5xx but 501 or a 429, the server's
 * STREAM_LAGGING error event, no byte within idleTimeoutMs) it reconnects
 * with `Last-Event-ID` = lastSeq after a backoff, and never yields a seq
 * twice. 400, 401, 403, 404, 410 and 501 are not retried: iterating throws
 * the ApiError (410: EventsExpiredError). Iterate it once.
 */
export class EventStream implements AsyncIterable<Event> {
  /** The seq of the last event yielded (or `after`): resume from it. */
  lastSeq: number;
  /** How many times the stream has (re)connected. */
  connects = 0;

  private closed = false;
  private current: AbortController | null = null;
  private readonly types: string | undefined;
  private readonly maxDelay: number;
  private readonly idleTimeout: number;
  private retryMs: number;

  constructor(private readonly client: Client, params: FollowParams) {
    this.lastSeq = params.after ?? 0;
    this.types = typesParam(params.types);
    this.retryMs = params.reconnectDelayMs ?? 1000;
    this.maxDelay = params.maxReconnectDelayMs ?? 30_000;
    this.idleTimeout = params.idleTimeoutMs ?? 45_000;
    if (params.signal) {
      if (params.signal.aborted) this.closed = true;
      else params.signal.addEventListener("abort", () => this.close(), { once: true });
    }
  }

  /** Ends the stream: the iteration finishes (without an error). */
  close(): void {
    this.closed = true;
    this.current?.abort(new Dropped("closed"));
  }

  [Symbol.asyncIterator](): AsyncGenerator<Event> {
    return this.run();
  }

  private url(): URL {
    const url = new URL(this.client.baseUrl + "/events/stream");
    url.searchParams.set("after", String(this.lastSeq));
    if (this.types) url.searchParams.set("types", this.types);
    return url;
  }

  private async wait(failures: number, atLeastMs = 0): Promise<void> {
    const d = Math.min(this.maxDelay, this.retryMs * 2 ** Math.max(0, failures - 1));
    const ms = Math.max(atLeastMs, d / 2 + Math.random() * (d / 2));
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      const ac = new AbortController();
      this.current = ac;
      ac.signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
    });
  }

  private async *run(): AsyncGenerator<Event> {
    let failures = 0;
    while (!this.closed) {
      const ac = new AbortController();
      this.current = ac;
      const headers: Record<string, string> = { Authorization: `Bearer ${this.client.apiKey}`, Accept: "text/event-stream" };
      if (this.lastSeq > 0) headers["Last-Event-ID"] = String(this.lastSeq);
      let res: Response;
      try {
        res = await this.client.fetchFn(this.url(), { headers, signal: ac.signal });
      } catch {
        if (this.closed) return;
        await this.wait(++failures);
        continue;
      }
      if (!res.ok) {
        const text = await res.text().catch(() => "");
        let env: Envelope<unknown> | undefined;
        try { env = JSON.parse(text); } catch { env = undefined; }
        const err = toError(res, env);
        if (FINAL_STATUSES.has(res.status)) throw err;
        await this.wait(++failures, err instanceof RateLimitError ? err.retryAfter * 1000 : 0);
        continue;
      }
      this.connects++;
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      let idle: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => ac.abort(new Dropped("idle")), this.idleTimeout);
      };
      try {
        for (;;) {
          arm();
          const { value, done } = await reader.read();
          if (done) break;
          for (const msg of parser.feed(decoder.decode(value, { stream: true }))) {
            if (parser.retry !== null) this.retryMs = parser.retry;
            if (msg.event === "error") {
              const err = streamError(msg.data, res);
              if (!RESUMABLE_CODES.has(err.code)) throw err;
              throw new Dropped(err.code);
            }
            if (msg.data === "") continue;
            const ev = toEvent(JSON.parse(msg.data));
            if (!(ev.seq > this.lastSeq)) continue; // never twice
            this.lastSeq = ev.seq;
            failures = 0;
            clearTimeout(idle);
            yield ev;
            if (this.closed) return;
          }
        }
      } catch (e) {
        if (e instanceof ApiError) throw e;
        if (this.closed) return;
        // A network error, an abort for idleness, a resumable error event.
      } finally {
        clearTimeout(idle);
        ac.abort(new Dropped("done"));
        reader.cancel().catch(() => {});
      }
      if (this.closed) return;
      await this.wait(++failures);
    }
  }
}

/** The HTTP status of each error code (CONTRACT §6), for an error that
 * arrives inside a stream whose answer was a 200. */
const STATUS_OF_CODE: Record<string, number> = {
  VALIDATION_ERROR: 400, UNAUTHORIZED: 401, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409,
  EVENTS_EXPIRED: 410, RATE_LIMITED: 429, TOO_MANY_STREAMS: 429, INTERNAL_ERROR: 500, UNAVAILABLE: 503,
};

/** The ApiError an `event: error` carries (the error envelope); its status
 * is the one its code has in an answer. */
function streamError(data: string, res: Response): ApiError {
  let env: Envelope<unknown> | undefined;
  try { env = JSON.parse(data); } catch { env = undefined; }
  const e = env?.error;
  const code = e?.code ?? "UNKNOWN";
  const args = [STATUS_OF_CODE[code] ?? res.status, code, e?.message ?? "stream error", e?.details ?? {}, res.headers.get("x-request-id"), null] as const;
  return code === "EVENTS_EXPIRED" ? new EventsExpiredError(...args) : new ApiError(...args);
}

/** An endpoint the workspace's events are POSTed to (verify them with verifyWebhook). */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string;
  /** The event types sent; all of them when empty. */
  event_types: string[];
  enabled: boolean;
  /** Why the server disabled it (its last retry failed); "" otherwise. */
  disabled_reason: string;
  created_at: string;
  updated_at: string;
  etag: string;
  /** "whsec_…": only in the answers of create and rotateSecret. */
  secret?: string;
  /** Until when the secret a rotation replaced still signs; null if none. */
  previous_secret_expires_at: string | null;
}

/** One attempt to deliver an event to an endpoint. */
export interface WebhookDelivery {
  id: string;
  event_id: string;
  /** A decimal string; "0" for a ping. */
  event_seq: string;
  event_type: string;
  attempt: number;
  attempted_at: string;
  /** 0 when there was no answer (see error). */
  status_code: number;
  duration_ms: string;
  response_excerpt: string;
  error: string;
  succeeded: boolean;
  next_retry_at: string | null;
  /** A test or a retry asked through the API. */
  manual: boolean;
}

/** /v1/webhook-endpoints (admin scope) */
export class WebhookEndpoints extends Resource {
  list(params: ListParams = {}, opts?: RequestOptions): Promise<Page<WebhookEndpoint>> {
    return this.page("/webhook-endpoints", { ...params }, opts);
  }
  all(params: { pageSize?: number } = {}): AsyncGenerator<WebhookEndpoint> {
    return pages((cursor) => this.list({ limit: params.pageSize, cursor }));
  }
  /** The signing secret is in the result's `secret`, this once. */
  create(params: { url: string; description?: string; event_types?: string[]; enabled?: boolean }, opts?: RequestOptions): Promise<WebhookEndpoint & { secret: string }> {
    return this.one("POST", "/webhook-endpoints", { ...opts, body: params });
  }
  get(id: string, opts?: RequestOptions): Promise<WebhookEndpoint> {
    return this.one("GET", `/webhook-endpoints/${encodeURIComponent(id)}`, opts);
  }
  /** PATCH: changes the fields given; `event_types: []` means all types. */
  update(id: string, fields: { url?: string; description?: string; event_types?: string[]; enabled?: boolean }, opts?: RequestOptions): Promise<WebhookEndpoint> {
    return this.one("PATCH", `/webhook-endpoints/${encodeURIComponent(id)}`, { ...opts, body: fields });
  }
  delete(id: string, opts?: RequestOptions): Promise<Deleted> {
    return this.one("DELETE", `/webhook-endpoints/${encodeURIComponent(id)}`, opts);
  }
  /** A new secret (in `secret`, this once); the old one signs too for 24 hours. */
  rotateSecret(id: string, opts?: RequestOptions): Promise<WebhookEndpoint & { secret: string }> {
    return this.one("POST", `/webhook-endpoints/${encodeURIComponent(id)}:rotateSecret`, { ...opts, body: {} });
  }
  /** Sends a ping now; resolves with the attempt. */
  test(id: string, opts?: RequestOptions): Promise<WebhookDelivery> {
    return this.one("POST", `/webhook-endpoints/${encodeURIComponent(id)}:test`, { ...opts, body: {} });
  }
  /** The endpoint's attempts, newest first. */
  deliveries(id: string, params: ListParams = {}, opts?: RequestOptions): Promise<Page<WebhookDelivery>> {
    return this.page(`/webhook-endpoints/${encodeURIComponent(id)}/deliveries`, { ...params }, opts);
  }
  /** Sends a past attempt's event again now; resolves with the new attempt. */
  retry(id: string, deliveryId: string, opts?: RequestOptions): Promise<WebhookDelivery> {
    return this.one("POST", `/webhook-endpoints/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}:retry`, { ...opts, body: {} });
  }
}

export default Client;

export { verifyWebhook, WebhookVerificationError, WEBHOOK_TOLERANCE_SECONDS } from "./webhook.js";
export type { WebhookFailure, WebhookHeaders, VerifyWebhookOptions } from "./webhook.js";
