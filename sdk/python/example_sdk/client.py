"""The Workspace API client over REST/JSON, with urllib only."""
from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

from .errors import ApiError, EventsExpiredError, RateLimitError
from .sse import SSEParser
from .models import (ApiKey, Deleted, Event, Page, Pagination, Project, RateLimit, Task,
                     WebhookDelivery, WebhookEndpoint, Workspace, format_time)

T = TypeVar("T")

_UNSET: Any = object()


def _rate_limit(headers: Any) -> Optional[RateLimit]:
    try:
        return RateLimit(
            limit=int(headers["X-RateLimit-Limit"]),
            remaining=int(headers["X-RateLimit-Remaining"]),
            reset_at=datetime.fromtimestamp(int(headers["X-RateLimit-Reset"]), tz=timezone.utc),
        )
    except (KeyError, TypeError, ValueError):
        return None


class Client:
    """Client(api_key, base_url="https://api.example.com/v1", max_retries=2,
    max_retry_wait=60.0, timeout=30.0).

    429s (and 503s) are retried up to max_retries times, waiting until the
    reset the server announced, as long as the total wait stays within
    max_retry_wait seconds; a retry that would wait longer is not made and the
    RateLimitError is raised at once.
    """

    def __init__(self, api_key: str, base_url: str = "https://api.example.com/v1", *,
                 max_retries: int = 2, max_retry_wait: float = 60.0, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep):
        if not api_key:
            raise ValueError("an api_key is required")
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._max_retries = max_retries
        self._max_retry_wait = max_retry_wait
        self._timeout = timeout
        self._sleep = sleep
        #: The rate-limit values of the last answer.
        self.last_rate_limit: Optional[RateLimit] = None
        #: The X-Event-Seq of the last answer that carried one: the seq of the
        #: last event the write appended (an idempotent replay gives the
        #: original one). A follower that reaches it has seen the write.
        self.last_event_seq: Optional[int] = None
        self.projects = Projects(self)
        self.tasks = Tasks(self)
        self.api_keys = ApiKeys(self)
        self.workspace = WorkspaceResource(self)
        self.events = Events(self)
        self.webhook_endpoints = WebhookEndpoints(self)

    def request(self, method: str, path: str, *, query: Optional[Dict[str, Any]] = None,
                body: Any = None, idempotency_key: Optional[str] = None,
                if_match: Optional[str] = None) -> Dict[str, Any]:
        """Sends one request and returns the decoded envelope; raises ApiError.

        if_match is sent as the If-Match header: an update or delete then
        happens only if the resource's etag is still that one (or "*");
        otherwise ApiError with status 412 and code PRECONDITION_FAILED, and
        nothing changes."""
        url = self._base_url + path
        q = {k: v for k, v in (query or {}).items() if v is not None}
        if q:
            url += "?" + urllib.parse.urlencode(q)
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if if_match:
            headers["If-Match"] = if_match

        waited = 0.0
        attempt = 0
        while True:
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                    status, resp_headers, raw = resp.status, resp.headers, resp.read()
            except urllib.error.HTTPError as e:
                status, resp_headers, raw = e.code, e.headers, e.read()
            self.last_rate_limit = _rate_limit(resp_headers) or self.last_rate_limit
            seq = resp_headers.get("X-Event-Seq") if resp_headers is not None else None
            if seq and seq.isdigit():
                self.last_event_seq = int(seq)
            try:
                env = json.loads(raw or b"null")
            except ValueError:
                env = None
            if 200 <= status < 300 and isinstance(env, dict) and env.get("success"):
                return env
            err = _error(status, resp_headers, env)
            if attempt < self._max_retries and status in (429, 503):
                if isinstance(err, RateLimitError):
                    wait = max(float(err.retry_after), err.reset_at.timestamp() - time.time(), 0.0) or 1.0
                else:
                    wait = 0.2 * 2 ** attempt
                if waited + wait <= self._max_retry_wait:
                    self._sleep(wait)
                    waited += wait
                    attempt += 1
                    continue
            raise err


def _error(status: int, headers: Any, env: Any) -> ApiError:
    e = env.get("error") if isinstance(env, dict) else None
    e = e if isinstance(e, dict) else {}
    code = e.get("code") or ("RATE_LIMITED" if status == 429 else "UNKNOWN")
    message = e.get("message") or f"HTTP {status}"
    details = e.get("details") or {}
    request_id = headers.get("X-Request-Id") if headers is not None else None
    rl = _rate_limit(headers) if headers is not None else None
    if status == 429:
        try:
            retry_after = int(headers.get("Retry-After") or 0)
        except ValueError:
            retry_after = 0
        reset_at = rl.reset_at if rl else datetime.fromtimestamp(time.time() + retry_after, tz=timezone.utc)
        return RateLimitError(status, code, message, details, request_id, rl, reset_at, retry_after)
    if code == "EVENTS_EXPIRED":
        return EventsExpiredError(status, code, message, details, request_id, rl)
    return ApiError(status, code, message, details, request_id, rl)


def _pages(fetch: Callable[[Optional[str]], Page[T]]) -> Iterator[T]:
    """Every item of a list, following each page's next_cursor until a page has none."""
    cursor: Optional[str] = None
    while True:
        page = fetch(cursor)
        yield from page.data
        cursor = page.pagination.next_cursor
        if not cursor:
            return


def _quote(id: str) -> str:
    return urllib.parse.quote(id, safe="")


class _Resource:
    def __init__(self, client: Client):
        self._client = client

    def _one(self, method: str, path: str, **kw: Any) -> Dict[str, Any]:
        return self._client.request(method, path, **kw)["data"]

    def _page(self, path: str, parse: Callable[[Dict[str, Any]], T], query: Dict[str, Any]) -> Page[T]:
        env = self._client.request("GET", path, query=query)
        return Page(data=[parse(d) for d in env["data"]], pagination=Pagination(**env["pagination"]))


class Projects(_Resource):
    """/v1/projects"""

    def list(self, limit: Optional[int] = None, offset: Optional[int] = None, *, cursor: Optional[str] = None,
             order_by: Optional[str] = None, q: Optional[str] = None) -> Page[Project]:
        """One page, newest first unless order_by ("created_at" or "updated_at", with " asc" or " desc")
        says otherwise; q searches the name and description, ignoring case. cursor is a previous
        page's pagination.next_cursor, with that page's filters and order (not with offset)."""
        return self._page("/projects", Project.from_dict,
                          {"limit": limit, "offset": offset, "cursor": cursor, "order_by": order_by, "q": q})

    def all(self, page_size: Optional[int] = None, *, order_by: Optional[str] = None,
            q: Optional[str] = None) -> Iterator[Project]:
        """Every project matching q, in order_by, fetching page_size at a time."""
        return _pages(lambda cursor: self.list(limit=page_size, cursor=cursor, order_by=order_by, q=q))

    def create(self, name: str, description: Optional[str] = None, *, idempotency_key: Optional[str] = None) -> Project:
        body = {"name": name}
        if description is not None:
            body["description"] = description
        return Project.from_dict(self._one("POST", "/projects", body=body, idempotency_key=idempotency_key))

    def get(self, id: str) -> Project:
        return Project.from_dict(self._one("GET", f"/projects/{_quote(id)}"))

    def update(self, id: str, *, name: Optional[str] = None, description: Optional[str] = None,
               idempotency_key: Optional[str] = None, if_match: Optional[str] = None) -> Project:
        """PUT: changes the fields given, leaves the others alone; if_match (a
        project's etag) makes it conditional."""
        body = {k: v for k, v in (("name", name), ("description", description)) if v is not None}
        return Project.from_dict(self._one("PUT", f"/projects/{_quote(id)}", body=body,
                                           idempotency_key=idempotency_key, if_match=if_match))

    def delete(self, id: str, *, idempotency_key: Optional[str] = None, if_match: Optional[str] = None) -> Deleted:
        """Deletes the project and its tasks; if_match makes it conditional."""
        return Deleted(**self._one("DELETE", f"/projects/{_quote(id)}", idempotency_key=idempotency_key,
                                   if_match=if_match))


class Tasks(_Resource):
    """/v1/tasks"""

    def list(self, project_id: Optional[str] = None, status: Optional[str] = None,
             limit: Optional[int] = None, offset: Optional[int] = None, *, cursor: Optional[str] = None,
             order_by: Optional[str] = None, due_before: Optional[datetime] = None,
             due_after: Optional[datetime] = None, updated_after: Optional[datetime] = None,
             q: Optional[str] = None) -> Page[Task]:
        """One page of the tasks matching the filters. status is one status or several separated by
        commas; order_by is "created_at", "updated_at" or "due_at", with " asc" or " desc" (default
        "created_at desc"); q searches the title and description, ignoring case. cursor is a previous
        page's pagination.next_cursor, with that page's filters and order (not with offset)."""
        return self._page("/tasks", Task.from_dict, {
            "project_id": project_id, "status": status, "limit": limit, "offset": offset, "cursor": cursor,
            "order_by": order_by, "q": q,
            "due_before": format_time(due_before) if due_before else None,
            "due_after": format_time(due_after) if due_after else None,
            "updated_after": format_time(updated_after) if updated_after else None,
        })

    def all(self, project_id: Optional[str] = None, status: Optional[str] = None,
            page_size: Optional[int] = None, **filters: Any) -> Iterator[Task]:
        """Every task matching the filters (those of list: order_by, due_before, due_after,
        updated_after, q), following the cursors."""
        return _pages(lambda cursor: self.list(project_id, status, limit=page_size, cursor=cursor, **filters))

    def create(self, project_id: str, title: str, *, description: Optional[str] = None,
               status: Optional[str] = None, due_at: Optional[datetime] = None,
               idempotency_key: Optional[str] = None) -> Task:
        body: Dict[str, Any] = {"project_id": project_id, "title": title}
        if description is not None:
            body["description"] = description
        if status is not None:
            body["status"] = status
        if due_at is not None:
            body["due_at"] = format_time(due_at)
        return Task.from_dict(self._one("POST", "/tasks", body=body, idempotency_key=idempotency_key))

    def batch_create(self, tasks: List[Dict[str, Any]], *, idempotency_key: Optional[str] = None) -> List[Task]:
        """Creates 1-100 tasks in one request and one transaction: all of them,
        returned in the order given, or none. Each item takes create's fields
        (project_id, title, description, status, due_at as a datetime). An
        invalid item raises ApiError whose details["field"] names it
        ("tasks[3].title")."""
        items = []
        for t in tasks:
            item = dict(t)
            if isinstance(item.get("due_at"), datetime):
                item["due_at"] = format_time(item["due_at"])
            items.append(item)
        data = self._one("POST", "/tasks:batchCreate", body={"tasks": items}, idempotency_key=idempotency_key)
        return [Task.from_dict(t) for t in data["tasks"]]

    def get(self, id: str) -> Task:
        return Task.from_dict(self._one("GET", f"/tasks/{_quote(id)}"))

    def update(self, id: str, *, project_id: Optional[str] = None, title: Optional[str] = None,
               description: Optional[str] = None, status: Optional[str] = None,
               due_at: Any = _UNSET, idempotency_key: Optional[str] = None,
               if_match: Optional[str] = None) -> Task:
        """PUT: the seed's update(id, status="completed"); due_at=None clears the due date;
        if_match (a task's etag) makes it conditional."""
        body: Dict[str, Any] = {k: v for k, v in (("project_id", project_id), ("title", title),
                                                  ("description", description), ("status", status)) if v is not None}
        if due_at is not _UNSET:
            body["due_at"] = format_time(due_at)
        return Task.from_dict(self._one("PUT", f"/tasks/{_quote(id)}", body=body,
                                        idempotency_key=idempotency_key, if_match=if_match))

    def delete(self, id: str, *, idempotency_key: Optional[str] = None, if_match: Optional[str] = None) -> Deleted:
        return Deleted(**self._one("DELETE", f"/tasks/{_quote(id)}", idempotency_key=idempotency_key,
                                   if_match=if_match))


class ApiKeys(_Resource):
    """/v1/api-keys (admin scope)"""

    def list(self, limit: Optional[int] = None, offset: Optional[int] = None, *,
             cursor: Optional[str] = None) -> Page[ApiKey]:
        """One page, newest first; cursor is a previous page's pagination.next_cursor."""
        return self._page("/api-keys", ApiKey.from_dict, {"limit": limit, "offset": offset, "cursor": cursor})

    def all(self, page_size: Optional[int] = None) -> Iterator[ApiKey]:
        return _pages(lambda cursor: self.list(limit=page_size, cursor=cursor))

    def create(self, scopes: List[str], name: Optional[str] = None, expires_at: Optional[datetime] = None,
               *, idempotency_key: Optional[str] = None) -> ApiKey:
        """The secret is in the result's key, this once."""
        body: Dict[str, Any] = {"scopes": scopes}
        if name is not None:
            body["name"] = name
        if expires_at is not None:
            body["expires_at"] = format_time(expires_at)
        return ApiKey.from_dict(self._one("POST", "/api-keys", body=body, idempotency_key=idempotency_key))

    def delete(self, id: str, *, idempotency_key: Optional[str] = None) -> Deleted:
        """Revokes the key."""
        return Deleted(**self._one("DELETE", f"/api-keys/{_quote(id)}", idempotency_key=idempotency_key))


class WorkspaceResource(_Resource):
    """/v1/workspace"""

    def get(self) -> Workspace:
        return Workspace.from_dict(self._one("GET", "/workspace"))


def _types(types: Any) -> Optional[str]:
    if types is None:
        return None
    s = types if isinstance(types, str) else ",".join(types)
    return s or None


class Events(_Resource):
    """/v1/events: the workspace's event log (read scope)."""

    def list(self, after: Optional[int] = None, types: Any = None, limit: Optional[int] = None, *,
             cursor: Optional[str] = None) -> Page[Event]:
        """One page of the events after ``after`` (a seq; 0 the start), oldest
        first; types is a list of event types (or a comma list). A 410 (after
        older than the retention) raises EventsExpiredError."""
        return self._page("/events", Event.from_dict,
                          {"after": after, "types": _types(types), "limit": limit, "cursor": cursor})

    def all(self, after: Optional[int] = None, types: Any = None, page_size: Optional[int] = None) -> Iterator[Event]:
        """Every event after ``after`` of these types, oldest first, following
        the cursors (a cursor carries its position: after goes with the first
        page only)."""
        return _pages(lambda cursor: self.list(None if cursor else after, types, limit=page_size, cursor=cursor))

    def follow(self, after: int = 0, types: Any = None, *, reconnect_delay: float = 1.0,
               max_reconnect_delay: float = 30.0, idle_timeout: float = 45.0) -> "EventStream":
        """Follows the log live over Server-Sent Events: an iterator of the
        events after ``after`` (the log's replay, then each new one as it
        commits), reconnecting from the last seq after a dropped connection so
        that each event comes once, in order. See EventStream."""
        return EventStream(self._client, after, _types(types), reconnect_delay, max_reconnect_delay, idle_timeout)


class _Resume(Exception):
    """The server ended the stream with a resumable error event."""


#: Codes of an ``event: error`` after which the stream is reopened from the
#: last seq; any other ends it with the ApiError.
_RESUMABLE = {"STREAM_LAGGING", "UNAVAILABLE", "INTERNAL_ERROR", "RATE_LIMITED", "TOO_MANY_STREAMS"}
#: Answers that reopening would not change: raised, not retried.
_FINAL = {400, 401, 403, 404, 410, 501}


class EventStream:
    """A live follower of the event log: ``for event in stream`` yields each
    Event once, in seq order. It remembers last_seq, the seq of the last
    event it yielded; when the connection drops (a network error, EOF, a 5xx
    or 429, the server's STREAM_LAGGING error event, no byte within
    idle_timeout seconds: the server sends a keep-alive every 15) it
    reconnects with Last-Event-ID = last_seq after a backoff (reconnect_delay
    doubled after each failed attempt, up to max_reconnect_delay; the
    server's ``retry:`` replaces reconnect_delay). 400, 401, 403, 404, 410 and 501
    are not retried: the iteration raises the ApiError (410:
    EventsExpiredError). close(), from any thread, ends the iteration; the
    stream is also a context manager that closes it."""

    def __init__(self, client: Client, after: int, types: Optional[str], reconnect_delay: float,
                 max_reconnect_delay: float, idle_timeout: float):
        self._client = client
        #: The seq of the last event yielded (or after): resume from it.
        self.last_seq = int(after or 0)
        #: How many times the stream has (re)connected.
        self.connects = 0
        self._types = types
        self._delay = reconnect_delay
        self._max_delay = max_reconnect_delay
        self._idle = idle_timeout
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._conn: Optional[http.client.HTTPConnection] = None
        self._gen = self._run()

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> Event:
        return next(self._gen)

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Ends the stream; a read blocked in another thread returns at once."""
        self._closed.set()
        with self._lock:
            conn = self._conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _wait(self, failures: int, at_least: float = 0.0) -> None:
        d = min(self._max_delay, self._delay * 2 ** max(0, failures - 1))
        self._closed.wait(max(at_least, d / 2 + random.random() * d / 2))

    def _connect(self) -> http.client.HTTPResponse:
        base = urllib.parse.urlsplit(self._client._base_url)
        if base.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(base.hostname or "", base.port, timeout=self._idle)
        else:
            conn = http.client.HTTPConnection(base.hostname or "", base.port, timeout=self._idle)
        with self._lock:
            self._conn = conn
        query = {"after": self.last_seq}
        if self._types:
            query["types"] = self._types
        headers = {"Authorization": f"Bearer {self._client._api_key}", "Accept": "text/event-stream"}
        if self.last_seq > 0:
            headers["Last-Event-ID"] = str(self.last_seq)
        conn.request("GET", base.path.rstrip("/") + "/events/stream?" + urllib.parse.urlencode(query), headers=headers)
        return conn.getresponse()

    def _drop(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _run(self) -> Iterator[Event]:
        failures = 0
        while not self._closed.is_set():
            try:
                resp = self._connect()
            except (OSError, http.client.HTTPException):
                self._drop()
                if self._closed.is_set():
                    return
                failures += 1
                self._wait(failures)
                continue
            if self._closed.is_set():
                self._drop()  # closed while it connected
                return
            if resp.status != 200:
                try:
                    raw = resp.read()
                except (OSError, http.client.HTTPException):
                    raw = b""
                self._drop()
                try:
                    env = json.loads(raw or b"null")
                except ValueError:
                    env = None
                err = _error(resp.status, resp.headers, env)
                if resp.status in _FINAL:
                    raise err
                failures += 1
                self._wait(failures, float(err.retry_after) if isinstance(err, RateLimitError) else 0.0)
                continue
            self.connects += 1
            parser = SSEParser()
            try:
                while True:
                    chunk = resp.read1(65536)
                    if not chunk:
                        break  # EOF
                    for msg in parser.feed(chunk):
                        if parser.retry is not None:
                            self._delay = parser.retry / 1000.0
                        if msg.event == "error":
                            err = _stream_error(msg.data, resp)
                            if err.code not in _RESUMABLE:
                                raise err
                            raise _Resume(err.code)
                        if msg.data == "":
                            continue
                        event = Event.from_dict(json.loads(msg.data))
                        if event.seq <= self.last_seq:
                            continue  # never twice
                        self.last_seq = event.seq
                        failures = 0
                        yield event
                        if self._closed.is_set():
                            return
            except (OSError, http.client.HTTPException, _Resume):
                pass  # a dropped connection (or idle past the timeout): reconnect
            except ValueError:
                if not self._closed.is_set():
                    raise  # an event that is not JSON: reopening would read it again
            finally:
                self._drop()
            if self._closed.is_set():
                return
            failures += 1
            self._wait(failures)


#: The HTTP status of each error code (CONTRACT §6), for an error that
#: arrives inside a stream whose answer was a 200.
_STATUS_OF_CODE = {
    "VALIDATION_ERROR": 400, "UNAUTHORIZED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409,
    "EVENTS_EXPIRED": 410, "RATE_LIMITED": 429, "TOO_MANY_STREAMS": 429, "INTERNAL_ERROR": 500, "UNAVAILABLE": 503,
}


def _stream_error(data: str, resp: Any) -> ApiError:
    """The ApiError an ``event: error`` carries (the error envelope); its
    status is the one its code has in an answer."""
    try:
        env = json.loads(data)
    except ValueError:
        env = None
    e = env.get("error") if isinstance(env, dict) else None
    e = e if isinstance(e, dict) else {}
    code = e.get("code") or "UNKNOWN"
    cls = EventsExpiredError if code == "EVENTS_EXPIRED" else ApiError
    return cls(_STATUS_OF_CODE.get(code, resp.status), code, e.get("message") or "stream error", e.get("details") or {},
               resp.headers.get("X-Request-Id"), None)


__all__: Tuple[str, ...] = ("Client",)


class WebhookEndpoints(_Resource):
    """/v1/webhook-endpoints (admin scope)"""

    def list(self, limit: Optional[int] = None, offset: Optional[int] = None, *,
             cursor: Optional[str] = None) -> Page[WebhookEndpoint]:
        """One page, newest first, without secrets."""
        return self._page("/webhook-endpoints", WebhookEndpoint.from_dict,
                          {"limit": limit, "offset": offset, "cursor": cursor})

    def all(self, page_size: Optional[int] = None) -> Iterator[WebhookEndpoint]:
        return _pages(lambda cursor: self.list(limit=page_size, cursor=cursor))

    def create(self, url: str, description: Optional[str] = None, event_types: Optional[List[str]] = None,
               enabled: Optional[bool] = None) -> WebhookEndpoint:
        """The signing secret is in the result's secret, this once."""
        body: Dict[str, Any] = {"url": url}
        for k, v in (("description", description), ("event_types", event_types), ("enabled", enabled)):
            if v is not None:
                body[k] = v
        return WebhookEndpoint.from_dict(self._one("POST", "/webhook-endpoints", body=body))

    def get(self, id: str) -> WebhookEndpoint:
        return WebhookEndpoint.from_dict(self._one("GET", f"/webhook-endpoints/{_quote(id)}"))

    def update(self, id: str, *, url: Optional[str] = None, description: Optional[str] = None,
               event_types: Optional[List[str]] = None, enabled: Optional[bool] = None,
               if_match: Optional[str] = None) -> WebhookEndpoint:
        """PATCH: changes the fields given; event_types=[] means all types."""
        body = {k: v for k, v in (("url", url), ("description", description), ("event_types", event_types),
                                  ("enabled", enabled)) if v is not None}
        return WebhookEndpoint.from_dict(self._one("PATCH", f"/webhook-endpoints/{_quote(id)}", body=body,
                                                   if_match=if_match))

    def delete(self, id: str, *, if_match: Optional[str] = None) -> Deleted:
        return Deleted(**self._one("DELETE", f"/webhook-endpoints/{_quote(id)}", if_match=if_match))

    def rotate_secret(self, id: str) -> WebhookEndpoint:
        """A new secret (in secret, this once); the old one signs too for 24 hours."""
        return WebhookEndpoint.from_dict(self._one("POST", f"/webhook-endpoints/{_quote(id)}:rotateSecret", body={}))

    def test(self, id: str) -> WebhookDelivery:
        """Sends a ping now and returns the attempt."""
        return WebhookDelivery.from_dict(self._one("POST", f"/webhook-endpoints/{_quote(id)}:test", body={}))

    def deliveries(self, id: str, limit: Optional[int] = None, offset: Optional[int] = None, *,
                   cursor: Optional[str] = None) -> Page[WebhookDelivery]:
        """The endpoint's attempts, newest first."""
        return self._page(f"/webhook-endpoints/{_quote(id)}/deliveries", WebhookDelivery.from_dict,
                          {"limit": limit, "offset": offset, "cursor": cursor})

    def retry(self, id: str, delivery_id: str) -> WebhookDelivery:
        """Sends a past attempt's event again now and returns the new attempt."""
        return WebhookDelivery.from_dict(self._one(
            "POST", f"/webhook-endpoints/{_quote(id)}/deliveries/{_quote(delivery_id)}:retry", body={}))
