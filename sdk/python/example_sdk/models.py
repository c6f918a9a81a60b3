"""The API's resources as dataclasses: snake_case fields as on the wire,
timestamps as timezone-aware datetimes (None when unset)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Generic, List, Optional, Type, TypeVar

T = TypeVar("T")


def parse_time(value: Optional[str]) -> Optional[datetime]:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_time(value: Optional[datetime]) -> Optional[str]:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_dict(cls: Type[T], data: Dict[str, Any]) -> T:
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        v = data[f.name]
        if f.name.endswith("_at"):
            v = parse_time(v)
        kwargs[f.name] = v
    return cls(**kwargs)


@dataclass
class Project:
    id: str
    name: str
    description: str = ""
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    # The entity-tag of this version, quotes included ('"3"'): pass it as if_match.
    etag: str = ""

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Project":
        return _from_dict(cls, d)


@dataclass
class Task:
    id: str
    project_id: str
    title: str
    description: str = ""
    status: str = "todo"  # "todo", "in_progress" or "completed"
    due_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    # The entity-tag of this version, quotes included ('"3"'): pass it as if_match.
    etag: str = ""

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Task":
        return _from_dict(cls, d)


@dataclass
class ApiKey:
    id: str
    name: str
    scopes: List[str] = field(default_factory=list)
    prefix: str = ""
    created_at: Optional[datetime] = None
    last_used_at: Optional[datetime] = None
    expires_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None
    key: Optional[str] = None  # the secret, only in the create response

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "ApiKey":
        return _from_dict(cls, d)


@dataclass
class WebhookEndpoint:
    """An endpoint the workspace's events are POSTed to (verify them with verify_webhook)."""
    id: str
    url: str
    description: str = ""
    event_types: List[str] = field(default_factory=list)  # all types when empty
    enabled: bool = True
    disabled_reason: str = ""  # why the server disabled it (its last retry failed)
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    etag: str = ""
    secret: Optional[str] = None  # "whsec_…", only in the create and rotate_secret responses
    previous_secret_expires_at: Optional[datetime] = None

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "WebhookEndpoint":
        return _from_dict(cls, d)


@dataclass
class WebhookDelivery:
    """One attempt to deliver an event to an endpoint."""
    id: str
    event_id: str
    event_seq: int = 0  # 0 for a ping
    event_type: str = ""
    attempt: int = 1
    attempted_at: Optional[datetime] = None
    status_code: int = 0  # 0: no answer (see error)
    duration_ms: int = 0
    response_excerpt: str = ""
    error: str = ""
    succeeded: bool = False
    next_retry_at: Optional[datetime] = None
    manual: bool = False  # a test or a retry asked through the API

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "WebhookDelivery":
        out = _from_dict(cls, d)
        out.event_seq, out.duration_ms = int(out.event_seq), int(out.duration_ms)
        return out


@dataclass
class UsageWindow:
    limit: Optional[int]
    used: int
    remaining: Optional[int]
    reset_at: Optional[datetime]

    @classmethod
    def from_dict(cls, d: Optional[Dict[str, Any]]) -> Optional["UsageWindow"]:
        return None if d is None else _from_dict(cls, d)


@dataclass
class Workspace:
    id: str
    name: str
    plan: str  # "free", "pro" or "enterprise"
    created_at: Optional[datetime] = None
    minute: Optional[UsageWindow] = None
    day: Optional[UsageWindow] = None

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Workspace":
        usage = d.get("usage") or {}
        return cls(id=d["id"], name=d["name"], plan=d["plan"], created_at=parse_time(d.get("created_at")),
                   minute=UsageWindow.from_dict(usage.get("minute")), day=UsageWindow.from_dict(usage.get("day")))


@dataclass
class Pagination:
    total: int
    limit: int
    offset: int
    has_more: bool
    # The cursor of the next page (pass it back as cursor=); None on the last page.
    next_cursor: Optional[str] = None


@dataclass
class Page(Generic[T]):
    data: List[T]
    pagination: Pagination


@dataclass
class Deleted:
    id: str
    deleted: bool


@dataclass
class RateLimit:
    """The rate-limit headers of an answer: the window that runs out first."""
    limit: int
    remaining: int
    reset_at: datetime


@dataclass
class Event:
    """One entry of the workspace's event log. seq is its place in the log
    (1, 2, 3…, no gap): the JSON carries it as a decimal string, the SDK
    gives an int. data is the resource after the change (for a delete, as it
    was) as its GET renders it; previous, for an update, the old values of
    the top-level fields that changed (None otherwise)."""
    id: str
    seq: int
    type: str
    created_at: Optional[datetime] = None
    data: Dict[str, Any] = field(default_factory=dict)
    previous: Optional[Dict[str, Any]] = None
    request_id: Optional[str] = None
    key_id: Optional[str] = None

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Event":
        return cls(id=d["id"], seq=int(d["seq"]), type=d["type"], created_at=parse_time(d.get("created_at")),
                   data=d.get("data") or {}, previous=d.get("previous"), request_id=d.get("request_id"),
                   key_id=d.get("key_id"))
