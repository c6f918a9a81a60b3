"""Verifying webhook deliveries: the Standard Webhooks scheme (standardwebhooks.com)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Callable, Mapping, Optional, Sequence, Union

#: How far webhook-timestamp may be from the clock, either way, in seconds.
WEBHOOK_TOLERANCE = 5 * 60


class WebhookVerificationError(Exception):
    """A delivery was refused; ``reason`` is "headers", "timestamp", "signature" or "secret"."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _header(headers: Mapping, name: str) -> Optional[str]:
    get = getattr(headers, "get", None)
    value = get(name) if get else None
    if value is None:
        for k, v in headers.items():
            if k.lower() == name:
                value = v
                break
    if isinstance(value, (list, tuple)):
        value = " ".join(value)
    return value


def _key(secret: str) -> bytes:
    raw = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise WebhookVerificationError("secret", "the webhook secret is not whsec_ followed by base64")
    return key


def verify_webhook(secret: Union[str, Sequence[str]], headers: Mapping, body: Union[bytes, str], *,
                   now: Optional[Callable[[], float]] = None, tolerance: int = WEBHOOK_TOLERANCE) -> None:
    """Checks that a delivery was signed with ``secret`` ("whsec_…", as the
    endpoint's creation or rotation answered it; during a rotation's 24 hours
    pass both, in a list) and is recent.

    The signature is an HMAC-SHA256 over ``webhook-id.webhook-timestamp.body``,
    one of the space-separated ``v1,<base64>`` entries of webhook-signature,
    compared in constant time; webhook-timestamp must be within ``tolerance``
    seconds of ``now()`` (time.time by default). ``body`` is the raw body as
    received: do not parse and re-encode it. Returns None, or raises
    WebhookVerificationError. The webhook-id is the event's id, the same on
    every retry: drop deliveries whose id you already processed.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    keys = [_key(s) for s in secrets]
    msg_id = _header(headers, "webhook-id")
    ts = _header(headers, "webhook-timestamp")
    sigs = _header(headers, "webhook-signature")
    if not msg_id or not ts or not sigs:
        raise WebhookVerificationError("headers", "webhook-id, webhook-timestamp or webhook-signature is missing")
    if not ts.isdigit():
        raise WebhookVerificationError("headers", "webhook-timestamp is not a number of seconds")
    clock = now or time.time
    if abs(clock() - int(ts)) > tolerance:
        raise WebhookVerificationError("timestamp", "webhook-timestamp is more than the tolerance away from now")
    data = body.encode() if isinstance(body, str) else bytes(body)
    signed = f"{msg_id}.{ts}.".encode() + data
    candidates = []
    for entry in sigs.split(" "):
        version, _, sig = entry.partition(",")
        if version == "v1" and sig:
            candidates.append(sig.encode())
    for key in keys:
        want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        for sig in candidates:
            if hmac.compare_digest(sig, want):
                return
    raise WebhookVerificationError("signature", "no webhook signature matches the secret")
