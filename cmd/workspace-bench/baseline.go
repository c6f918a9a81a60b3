package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// The baselines answer with a project of the size the API answers, so that
// the ratios compare the request path and not the payload.
var baselineTime = time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)

type jsonProject struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type jsonEnvelope struct {
	Success bool        `json:"success"`
	Data    jsonProject `json:"data"`
}

var baselineProject = jsonProject{
	ID: "proj_0123456789abcdefABCD", Name: "Benchmark project", Description: "",
	CreatedAt: baselineTime, UpdatedAt: baselineTime,
}

type bareProjects struct {
	workspacev1.UnimplementedProjectServiceServer
	resp *workspacev1.GetProjectResponse
}

func (b *bareProjects) GetProject(context.Context, *workspacev1.GetProjectRequest) (*workspacev1.GetProjectResponse, error) {
	return b.resp, nil
}

// serveBaseline runs "baseline http" or "baseline grpc" until ctx ends,
// printing its address on stdout first.
func serveBaseline(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: workspace-bench baseline http|grpc")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, l.Addr().String())
	switch args[0] {
	case "http":
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(jsonEnvelope{Success: true, Data: baselineProject})
		})}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case "grpc":
		srv := grpc.NewServer()
		workspacev1.RegisterProjectServiceServer(srv, &bareProjects{resp: &workspacev1.GetProjectResponse{Project: &workspacev1.Project{
			Id: baselineProject.ID, Name: baselineProject.Name,
			CreatedAt: timestamppb.New(baselineTime), UpdatedAt: timestamppb.New(baselineTime),
		}}})
		go func() { <-ctx.Done(); srv.Stop() }()
		return srv.Serve(l)
	}
	return fmt.Errorf("unknown baseline %q", args[0])
}
