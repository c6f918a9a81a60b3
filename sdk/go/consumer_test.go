package sdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/example/sdk/internal/workspacedtest"
)

// consumerMain is a user's program: it imports the SDK and nothing of the
// repository.
const consumerMain = `package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/example/sdk"
)

func main() {
	client, err := sdk.New("localhost:9090", os.Getenv("API_KEY"), sdk.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	for project, err := range client.Projects.All(context.Background(), 50) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(project.GetId(), project.GetName())
	}
}
`

// TestConsumerModuleBuilds is the README's "from a checkout" recipe: a module
// outside the repository requires the SDK, with a replace for each of the two
// unpublished modules (the SDK and the generated API), and builds with
// `go mod tidy` and `go build`. Its build list must hold the generated API's
// module but not the server's module, nor the server's own dependencies: the
// SDK needs nothing else of the server.
func TestConsumerModuleBuilds(t *testing.T) {
	root, err := workspacedtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sdkMod, err := os.ReadFile(filepath.Join(root, "sdk", "go", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).Find(sdkMod)
	if goLine == nil {
		t.Fatal("sdk/go/go.mod has no go line")
	}

	dir := t.TempDir() // outside the repository: no go.work, no parent go.mod
	goMod := "module example.com/consumer\n\n" + string(goLine) + "\n\n" +
		"require github.com/example/sdk v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/example/sdk => " + filepath.Join(root, "sdk", "go") + "\n\n" +
		"replace github.com/example/workspace/gen => " + filepath.Join(root, "gen") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(consumerMain), 0o644); err != nil {
		t.Fatal(err)
	}

	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		// The user's environment, not this repository's: no workspace file,
		// no flags inherited from the test's own go command.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in the consumer module: %v\n%s\ngo.mod:\n%s", strings.Join(args, " "), err, out, goMod)
		}
		return string(out)
	}
	goCmd("mod", "tidy")
	goCmd("build", "-o", filepath.Join(dir, "consumer"), ".")

	modules := map[string]bool{}
	for _, line := range strings.Split(goCmd("list", "-m", "all"), "\n") {
		if fields := strings.Fields(line); len(fields) > 0 {
			modules[fields[0]] = true
		}
	}
	for _, want := range []string{"github.com/example/sdk", "github.com/example/workspace/gen", "google.golang.org/grpc"} {
		if !modules[want] {
			t.Errorf("the consumer's build list lacks %s", want)
		}
	}
	// The server module and what only the server uses (its stores, rate
	// limiter, metrics, OpenAPI checks, buf) must not reach a client.
	for _, unwanted := range []string{
		"github.com/example/workspace",
		"modernc.org/sqlite",
		"github.com/jackc/pgx/v5",
		"github.com/redis/go-redis/v9",
		"github.com/prometheus/client_golang",
		"github.com/getkin/kin-openapi",
		"github.com/bufbuild/buf",
	} {
		if modules[unwanted] {
			t.Errorf("the consumer's build list holds %s, which only the server needs", unwanted)
		}
	}
}
