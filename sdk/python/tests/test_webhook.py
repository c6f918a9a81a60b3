"""verify_webhook against the Standard Webhooks specification's own example."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from example_sdk import WebhookVerificationError, verify_webhook  # noqa: E402

# The specification's example (reproduced by its reference Go library).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_c2Vjb25kIHNlY3JldCBvZiB0d2VudHk0Ynl0"
TS = 1614265330
BODY = b'{"test": 2432232314}'
SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
HEADERS = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": str(TS), "webhook-signature": SIG}


def at(delta=0):
    return lambda: TS + delta


class VerifyWebhookTest(unittest.TestCase):
    def test_accepts(self):
        verify_webhook(SECRET, HEADERS, BODY, now=at())
        verify_webhook(SECRET, HEADERS, BODY.decode(), now=at())
        verify_webhook([OTHER, SECRET], HEADERS, BODY, now=at())
        verify_webhook(SECRET[len("whsec_"):], HEADERS, BODY, now=at())
        verify_webhook(SECRET, {"Webhook-Id": HEADERS["webhook-id"], "Webhook-Timestamp": str(TS),
                                "Webhook-Signature": "v1,AAAA v2,zz " + SIG}, BODY, now=at())
        verify_webhook(SECRET, HEADERS, BODY, now=at(300))
        verify_webhook(SECRET, HEADERS, BODY, now=at(-300))

    def refused(self, reason, secret, headers, body, now):
        with self.assertRaises(WebhookVerificationError) as ctx:
            verify_webhook(secret, headers, body, now=now)
        self.assertEqual(ctx.exception.reason, reason)

    def test_refuses(self):
        self.refused("signature", SECRET, HEADERS, b'{"test": 2432232315}', at())
        self.refused("signature", OTHER, HEADERS, BODY, at())
        self.refused("signature", SECRET, {**HEADERS, "webhook-id": "msg_other"}, BODY, at())
        self.refused("signature", SECRET, {**HEADERS, "webhook-signature": "v2" + SIG[2:]}, BODY, at())
        self.refused("timestamp", SECRET, HEADERS, BODY, at(301))
        self.refused("timestamp", SECRET, HEADERS, BODY, at(-301))
        self.refused("headers", SECRET, {k: v for k, v in HEADERS.items() if k != "webhook-id"}, BODY, at())
        self.refused("headers", SECRET, {**HEADERS, "webhook-timestamp": "soon"}, BODY, at())
        self.refused("secret", "whsec_!!!", HEADERS, BODY, at())


if __name__ == "__main__":
    unittest.main()
