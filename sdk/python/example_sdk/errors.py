"""Errors of the API: CONTRACT §5's error object with its HTTP status."""
from __future__ import annotations

from datetime import datetime
from typing import Dict, Optional

from .models import RateLimit


class ApiError(Exception):
    """An error answer: status, code (e.g. "NOT_FOUND"), message, details,
    request_id and the answer's rate-limit values."""

    def __init__(self, status: int, code: str, message: str, details: Dict[str, str],
                 request_id: Optional[str], rate_limit: Optional[RateLimit]):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.request_id = request_id
        self.rate_limit = rate_limit


class RateLimitError(ApiError):
    """A 429: the plan's limit is reached until reset_at."""

    def __init__(self, status: int, code: str, message: str, details: Dict[str, str],
                 request_id: Optional[str], rate_limit: Optional[RateLimit],
                 reset_at: datetime, retry_after: int):
        super().__init__(status, code, message, details, request_id, rate_limit)
        self.reset_at = reset_at
        self.retry_after = retry_after


class EventsExpiredError(ApiError):
    """A 410 EVENTS_EXPIRED: ``after`` is older than the event log's retention.
    The events after it are gone: resync from the lists, then follow the log
    from its newest seq."""
