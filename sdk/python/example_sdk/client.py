"""The Workspace API client over REST/JSON, with urllib only."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

from .errors import ApiError, RateLimitError
from .models import (ApiKey, Deleted, Page, Pagination, Project, RateLimit, Task,
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
        self.projects = Projects(self)
        self.tasks = Tasks(self)
        self.api_keys = ApiKeys(self)
        self.workspace = WorkspaceResource(self)
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
