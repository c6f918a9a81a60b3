package service

import (
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// webhooks serves WebhookService: the workspace's webhook endpoints, their
// secrets, tests, deliveries and retries.
type webhooks struct {
	workspacev1.UnimplementedWebhookServiceServer
	Deps
}
