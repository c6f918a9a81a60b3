// @example/sdk — the Workspace API over REST/JSON, with nothing but fetch.

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
  readonly webhookEndpoints: WebhookEndpoints;
  /** The rate-limit values of the last answer. */
  lastRateLimit: RateLimit | null = null;

  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly maxRetries: number;
  private readonly maxRetryWaitMs: number;
  private readonly fetchFn: typeof fetch;

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
