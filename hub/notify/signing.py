"""The signature of a notification and the spacing of its retries: pure functions.

A receiver checks ``Notification-Signature: sha256=<hex>``: the HMAC-SHA256 of the request's raw
body with the subscription's secret (compare with :func:`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets

SIGNATURE_HEADER = "Notification-Signature"
REQUEST_ID_HEADER = "Request-Id"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A new subscription secret (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes) -> str:
    """The ``Notification-Signature`` value of ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is the signature of ``body`` with ``secret`` (constant-time)."""
    return hmac.compare_digest(signature(secret, body), header.strip())


def retry_delay(
    attempts: int, base_s: float, cap_s: float, rng: random.Random | None = None
) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: ``base_s`` doubled after
    each failure, at most ``cap_s``, then a random half of it taken off (jitter: receivers that
    fail together are not all retried at the same instant)."""
    exponent = min(max(attempts, 1) - 1, 62)
    ceiling = min(cap_s, base_s * 2.0**exponent)
    return ceiling * (0.5 + 0.5 * (rng or random).random())
