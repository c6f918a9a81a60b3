"""example_sdk — the Workspace API's Python client (standard library only).

    from example_sdk import Client
    client = Client(os.environ["API_KEY"], base_url="http://localhost:8080/v1")
    for project in client.projects.all():
        print(project.name)
"""
from .client import ApiKeys, Client, Projects, Tasks, WebhookEndpoints, WorkspaceResource
from .errors import ApiError, RateLimitError
from .webhook import WEBHOOK_TOLERANCE, WebhookVerificationError, verify_webhook
from .models import (ApiKey, Deleted, Page, Pagination, Project, RateLimit, Task,
                     UsageWindow, WebhookDelivery, WebhookEndpoint, Workspace)

__all__ = [
    "Client", "Projects", "Tasks", "ApiKeys", "WorkspaceResource", "WebhookEndpoints",
    "WebhookEndpoint", "WebhookDelivery",
    "ApiError", "RateLimitError",
    "verify_webhook", "WebhookVerificationError", "WEBHOOK_TOLERANCE",
    "Project", "Task", "ApiKey", "Workspace", "UsageWindow", "Pagination", "Page", "Deleted", "RateLimit",
]
