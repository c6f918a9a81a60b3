// verifyWebhook against an independent implementation: the npm package
// standardwebhooks signs, the SDK verifies (and the reverse holds).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { verifyWebhook, WebhookVerificationError } from "../dist/index.js";

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const other = "whsec_c2Vjb25kIHNlY3JldCBvZiB0d2VudHk0Ynl0";
const body = '{"id":"evt_1","seq":"7","type":"task.created"}';

function signed(at) {
  const sig = new Webhook(secret).sign("evt_1", at, body);
  return { "webhook-id": "evt_1", "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": sig };
}

async function refused(promise, reason) {
  await assert.rejects(promise, (e) => e instanceof WebhookVerificationError && e.reason === reason);
}

test("verifyWebhook accepts what the reference library signs, and nothing else", async () => {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  const h = signed(at);
  const clock = (ms) => ({ now: () => at.getTime() + ms });
  await verifyWebhook(secret, h, body, clock(0));
  await verifyWebhook(secret, new Headers(h), new TextEncoder().encode(body), clock(0));
  await verifyWebhook([other, secret], h, body, clock(0));
  await verifyWebhook(secret.slice(6), h, body, clock(0));
  await verifyWebhook(secret, { ...h, "Webhook-Signature": undefined, "webhook-signature": `v1,AAAA v2,zz ${h["webhook-signature"]}` }, body, clock(0));
  await verifyWebhook(secret, h, body, clock(5 * 60 * 1000));
  new Webhook(secret).verify(body, h); // the reference accepts it too

  await refused(verifyWebhook(secret, h, body.replace('"7"', '"8"'), clock(0)), "signature");
  await refused(verifyWebhook(other, h, body, clock(0)), "signature");
  await refused(verifyWebhook(secret, { ...h, "webhook-id": "evt_2" }, body, clock(0)), "signature");
  await refused(verifyWebhook(secret, { ...h, "webhook-signature": "v2" + h["webhook-signature"].slice(2) }, body, clock(0)), "signature");
  await refused(verifyWebhook(secret, h, body, clock(5 * 60 * 1000 + 1000)), "timestamp");
  await refused(verifyWebhook(secret, h, body, clock(-5 * 60 * 1000 - 1000)), "timestamp");
  await refused(verifyWebhook(secret, { ...h, "webhook-id": undefined }, body, clock(0)), "headers");
  await refused(verifyWebhook(secret, { ...h, "webhook-timestamp": "soon" }, body, clock(0)), "headers");
  await refused(verifyWebhook("whsec_!!!", h, body, clock(0)), "secret");
});
