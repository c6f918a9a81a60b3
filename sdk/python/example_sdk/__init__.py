"""example_sdk — the Workspace API's Python client (standard library only).

    from example_sdk import Client
    client = Client(os.environ["API_KEY"], base_url="http://localhost:8080/v1")
    for project in client.projects.all():
        print(project.name)
"""
from .client import ApiKeys, Client, Events, EventStream, Projects, Tasks, WebhookEndpoints, WorkspaceResource
from .errors import ApiError, EventsExpiredError, RateLimitError
from .sse import SSEMessage, SSEParser
from .webhook import WEBHOOK_TOLERANCE, WebhookVerificationError, verify_webhook
from .models import (ApiKey, Deleted, Event, Page, Pagination, Project, RateLimit, Task,
                     UsageWindow, WebhookDelivery, WebhookEndpoint, Workspace)

__all__ = [
    "Client", "Projects", "Tasks", "ApiKeys", "WorkspaceResource", "Events", "EventStream", "WebhookEndpoints",
    "WebhookEndpoint", "WebhookDelivery",
    "ApiError", "RateLimitError", "EventsExpiredError", "SSEParser", "SSEMessage",
    "verify_webhook", "WebhookVerificationError", "WEBHOOK_TOLERANCE",
    "Event", "Project", "Task", "ApiKey", "Workspace", "UsageWindow", "Pagination", "Page", "Deleted", "RateLimit",
]
