// Reads one JSON object a line on stdin — {"secret", "headers", "body"} —
// and writes one line for each: "ok", or "error: <message>", verifying with
// the npm standardwebhooks package (its Webhook.verify: timestamp tolerance,
// constant-time comparison, any of the v1 signatures).
import { Webhook } from "standardwebhooks";
import readline from "node:readline";

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const { secret, headers, body } = JSON.parse(line);
  try {
    new Webhook(secret).verify(body, headers);
    process.stdout.write("ok\n");
  } catch (e) {
    process.stdout.write("error: " + String(e && e.message).replace(/\n/g, " ") + "\n");
  }
}
