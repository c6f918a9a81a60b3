package inproc_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/inproc"
)

type projects struct {
	workspacev1.UnimplementedProjectServiceServer
	seen *workspacev1.GetProjectRequest
}

func (p *projects) GetProject(ctx context.Context, req *workspacev1.GetProjectRequest) (*workspacev1.GetProjectResponse, error) {
	p.seen = req
	md, _ := metadata.FromIncomingContext(ctx)
	pr, _ := peer.FromContext(ctx)
	if pr == nil || pr.Addr.Network() != inproc.Network {
		return nil, status.Error(codes.Internal, "no in-process peer")
	}
	if grpc.ServerTransportStreamFromContext(ctx).Method() != "/workspace.v1.ProjectService/GetProject" {
		return nil, status.Error(codes.Internal, "wrong method")
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-header", md.Get("x-sent")[0]))
	// Headers set in several steps add up, as over a real connection, and the
	// maps passed in are not changed.
	second := metadata.Pairs("x-header", "again", "x-other", "o")
	_ = grpc.SetHeader(ctx, second)
	if len(second["x-header"]) != 1 {
		return nil, status.Error(codes.Internal, "SetHeader changed the caller's metadata")
	}
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t"))
	if req.Id == "missing" {
		return nil, status.Error(codes.NotFound, "no such project")
	}
	return &workspacev1.GetProjectResponse{Project: &workspacev1.Project{Id: req.Id}}, nil
}

func TestChannel(t *testing.T) {
	calls := 0
	impl := &projects{}
	ch := inproc.New(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		calls++
		return h(ctx, req)
	}, nil, 2, nil)
	workspacev1.RegisterProjectServiceServer(ch, impl)
	client := workspacev1.NewProjectServiceClient(ch)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-sent", "hello")

	req := &workspacev1.GetProjectRequest{Id: "proj_1"}
	var header, trailer metadata.MD
	resp, err := client.GetProject(ctx, req, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetProject().GetId() != "proj_1" || calls != 1 {
		t.Errorf("response %v after %d interceptor calls", resp, calls)
	}
	if impl.seen == req {
		t.Errorf("the handler got the caller's request message itself, not a copy")
	}
	if got := header.Get("x-header"); len(got) != 2 || got[0] != "hello" || got[1] != "again" || header.Get("x-other")[0] != "o" || trailer.Get("x-trailer")[0] != "t" {
		t.Errorf("header %v, trailer %v", header, trailer)
	}

	// Errors arrive unchanged, with the headers set before them.
	header = nil
	_, err = client.GetProject(ctx, &workspacev1.GetProjectRequest{Id: "missing"}, grpc.Header(&header))
	if status.Code(err) != codes.NotFound || len(header.Get("x-header")) != 2 {
		t.Errorf("error %v, header %v", err, header)
	}
	// Unknown methods and streams are refused.
	if _, err := workspacev1.NewTaskServiceClient(ch).GetTask(ctx, &workspacev1.GetTaskRequest{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("unregistered method: %v", err)
	}
	if _, err := ch.NewStream(ctx, &grpc.StreamDesc{}, "/x/y"); status.Code(err) != codes.Unimplemented {
		t.Errorf("stream: %v", err)
	}
}

// blocking is a service whose GetProject waits until released, and whose
// GetTask answers at once.
type blocking struct {
	workspacev1.UnimplementedProjectServiceServer
	entered, release chan struct{}
}

func (b *blocking) GetProject(context.Context, *workspacev1.GetProjectRequest) (*workspacev1.GetProjectResponse, error) {
	b.entered <- struct{}{}
	<-b.release
	return &workspacev1.GetProjectResponse{}, nil
}

type tasks struct {
	workspacev1.UnimplementedTaskServiceServer
}

func (tasks) CreateTask(context.Context, *workspacev1.CreateTaskRequest) (*workspacev1.CreateTaskResponse, error) {
	return &workspacev1.CreateTaskResponse{}, nil
}

func (tasks) GetTask(context.Context, *workspacev1.GetTaskRequest) (*workspacev1.GetTaskResponse, error) {
	return &workspacev1.GetTaskResponse{}, nil
}

// With every slot taken, a gated call waits (first come, first served) while
// an ungated one runs at once.
func TestAdmission(t *testing.T) {
	b := &blocking{entered: make(chan struct{}), release: make(chan struct{})}
	ch := inproc.New(nil, nil, 1, func(m string) bool { return m == "/workspace.v1.TaskService/CreateTask" })
	workspacev1.RegisterProjectServiceServer(ch, b)
	workspacev1.RegisterTaskServiceServer(ch, tasks{})
	ctx := context.Background()

	held := make(chan error, 1)
	go func() {
		_, err := workspacev1.NewProjectServiceClient(ch).GetProject(ctx, &workspacev1.GetProjectRequest{})
		held <- err
	}()
	<-b.entered // the only slot is taken

	taskClient := workspacev1.NewTaskServiceClient(ch)
	if _, err := taskClient.CreateTask(ctx, &workspacev1.CreateTaskRequest{}); err != nil {
		t.Fatalf("ungated call: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := taskClient.GetTask(short, &workspacev1.GetTaskRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("gated call with every slot taken: %v, want it to wait until its deadline", err)
	}
	close(b.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if _, err := taskClient.GetTask(ctx, &workspacev1.GetTaskRequest{}); err != nil {
		t.Fatalf("gated call once the slot is free: %v", err)
	}
}
