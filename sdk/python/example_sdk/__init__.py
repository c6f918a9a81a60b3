"""example_sdk — the Workspace API's Python client (standard library only).

    from example_sdk import Client
    client = Client(os.environ["API_KEY"], base_url="http://localhost:8080/v1")
    for project in client.projects.all():
        print(project.name)
"""
from .client import ApiKeys, Client, Events, EventStream, Projects, Tasks, WorkspaceResource
from .errors import ApiError, EventsExpiredError, RateLimitError
from .sse import SSEMessage, SSEParser
from .models import (ApiKey, Deleted, Event, Page, Pagination, Project, RateLimit, Task,
                     UsageWindow, Workspace)

__all__ = [
    "Client", "Projects", "Tasks", "ApiKeys", "WorkspaceResource", "Events", "EventStream",
    "ApiError", "RateLimitError", "EventsExpiredError", "SSEParser", "SSEMessage",
    "Event", "Project", "Task", "ApiKey", "Workspace", "UsageWindow", "Pagination", "Page", "Deleted", "RateLimit",
]
