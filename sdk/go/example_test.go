package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/example/sdk"
)

// The seed's three examples. They run in the test binary against the server
// that TestMain starts, in a workspace of their own, found through
// WORKSPACE_GRPC_ADDR and API_KEY as in a user's program.

// List all projects (GET /v1/projects), every page.
func ExampleProjectsService_All() {
	ctx := context.Background()
	client, err := sdk.New(os.Getenv("WORKSPACE_GRPC_ADDR"), os.Getenv("API_KEY"), sdk.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	if _, err := client.Projects.Create(ctx, "My Project", "A new project"); err != nil {
		log.Fatal(err)
	}
	for project, err := range client.Projects.All(ctx, 50) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(project.GetName())
	}
	// Output: My Project
}

// Create a task (POST /v1/tasks).
func ExampleTasksService_Create() {
	ctx := context.Background()
	client, err := sdk.New(os.Getenv("WORKSPACE_GRPC_ADDR"), os.Getenv("API_KEY"), sdk.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	project, err := client.Projects.Create(ctx, "Tasks", "")
	if err != nil {
		log.Fatal(err)
	}
	task, err := client.Tasks.Create(ctx, sdk.NewTask{Title: "My Task", ProjectID: project.GetId()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.GetTitle(), task.GetStatus())
	// Output: My Task todo
}

// Update a task (PUT /v1/tasks/{id} {"status": "completed"}).
func ExampleTasksService_Update() {
	ctx := context.Background()
	client, err := sdk.New(os.Getenv("WORKSPACE_GRPC_ADDR"), os.Getenv("API_KEY"), sdk.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	project, _ := client.Projects.Create(ctx, "Updates", "")
	task, _ := client.Tasks.Create(ctx, sdk.NewTask{Title: "Ship it", ProjectID: project.GetId()})

	task, err = client.Tasks.Update(ctx, task.GetId(), &sdk.TaskUpdate{Status: proto.String("completed")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.GetStatus(), task.GetCompletedAt() != nil)
	// Output: completed true
}

// Errors carry the contract's code, details and rate-limit values.
func ExampleError() {
	ctx := context.Background()
	client, err := sdk.New(os.Getenv("WORKSPACE_GRPC_ADDR"), os.Getenv("API_KEY"), sdk.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	_, err = client.Tasks.Get(ctx, "task_doesNotExist000000")
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Code, apiErr.RateLimit.Limit)
	}
	// Output: NOT_FOUND 300
}

// Follow the event log live (gRPC WatchEvents); here, until the event of
// one's own write, whose seq the write answered (x-event-seq).
func ExampleEventsService_Follow() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := sdk.New(os.Getenv("WORKSPACE_GRPC_ADDR"), os.Getenv("API_KEY"), sdk.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	project, err := client.Projects.Create(ctx, "Events", "")
	if err != nil {
		log.Fatal(err)
	}
	var seq int64
	if _, err := client.Tasks.Create(sdk.WithEventSeq(ctx, &seq), sdk.NewTask{Title: "Watched", ProjectID: project.GetId()}); err != nil {
		log.Fatal(err)
	}
	// From just before the write: its event comes first, replayed from the log.
	for e, err := range client.Events.Follow(ctx, sdk.EventFilter{After: seq - 1}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.GetType(), e.GetData().GetFields()["title"].GetStringValue(), e.GetSeq() == seq)
		break
	}
	// Output: task.created Watched true
}
