// Verifying webhook deliveries: the Standard Webhooks scheme (standardwebhooks.com).

/** How far webhook-timestamp may be from the clock, either way: 5 minutes. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** Why a delivery was refused. */
export type WebhookFailure = "headers" | "timestamp" | "signature" | "secret";

/** Thrown by verifyWebhook: `reason` says why. */
export class WebhookVerificationError extends Error {
  constructor(readonly reason: WebhookFailure, message: string) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}

/** Headers as fetch (`Headers`), Node's `req.headers`, or a plain object give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** The clock, for tests: a Date or milliseconds since the epoch. */
  now?: () => Date | number;
  /** Replaces WEBHOOK_TOLERANCE_SECONDS. */
  toleranceSeconds?: number;
}

function header(h: WebhookHeaders, name: string): string | undefined {
  if (typeof (h as Headers).get === "function") return (h as Headers).get(name) ?? undefined;
  for (const [k, v] of Object.entries(h as Record<string, string | string[] | undefined>)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(" ") : v;
  }
  return undefined;
}

function base64Bytes(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Checks that a delivery was signed with `secret` ("whsec_…", as the endpoint's
 * creation or rotation answered it; during a rotation's 24 hours pass both, in
 * an array) and is recent: an HMAC-SHA256 over `webhook-id.webhook-timestamp.body`
 * matching one of the space-separated `v1,<base64>` entries of
 * webhook-signature (compared in constant time by Web Crypto), and a
 * webhook-timestamp within 5 minutes of now. `body` is the raw body as
 * received (a string or bytes): do not parse and re-encode it. Resolves, or
 * rejects with a WebhookVerificationError. The webhook-id is the event's id,
 * the same on every retry: drop the deliveries whose id you already processed.
 */
export async function verifyWebhook(secret: string | string[], headers: WebhookHeaders, body: string | Uint8Array,
  options: VerifyWebhookOptions = {}): Promise<void> {
  const keys: Uint8Array<ArrayBuffer>[] = [];
  for (const s of Array.isArray(secret) ? secret : [secret]) {
    const k = typeof s === "string" ? base64Bytes(s.startsWith("whsec_") ? s.slice(6) : s) : null;
    if (!k || k.length === 0) throw new WebhookVerificationError("secret", "the webhook secret is not whsec_ followed by base64");
    keys.push(k);
  }
  const id = header(headers, "webhook-id");
  const ts = header(headers, "webhook-timestamp");
  const sigs = header(headers, "webhook-signature");
  if (!id || !ts || !sigs) throw new WebhookVerificationError("headers", "webhook-id, webhook-timestamp or webhook-signature is missing");
  if (!/^\d+$/.test(ts)) throw new WebhookVerificationError("headers", "webhook-timestamp is not a number of seconds");
  const nowValue = options.now ? options.now() : Date.now();
  const nowSeconds = (typeof nowValue === "number" ? nowValue : nowValue.getTime()) / 1000;
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  if (Math.abs(nowSeconds - Number(ts)) > tolerance) {
    throw new WebhookVerificationError("timestamp", "webhook-timestamp is more than the tolerance away from now");
  }
  const enc = new TextEncoder();
  const bodyBytes = typeof body === "string" ? enc.encode(body) : body;
  const prefix = enc.encode(`${id}.${ts}.`);
  const signed = new Uint8Array(prefix.length + bodyBytes.length);
  signed.set(prefix);
  signed.set(bodyBytes, prefix.length);
  const candidates: Uint8Array<ArrayBuffer>[] = [];
  for (const entry of sigs.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
    const sig = base64Bytes(entry.slice(comma + 1));
    if (sig) candidates.push(sig);
  }
  for (const k of keys) {
    const key = await crypto.subtle.importKey("raw", k, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    for (const sig of candidates) {
      if (await crypto.subtle.verify("HMAC", key, sig, signed)) return;
    }
  }
  throw new WebhookVerificationError("signature", "no webhook signature matches the secret");
}
