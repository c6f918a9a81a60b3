package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/group.db"
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateWorkspace(ctx, store.Workspace{ID: "ws_1", Name: "w", Plan: "free", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	const writers = 64
	refused := errors.New("refused by the callback")
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			p := store.Project{ID: fmt.Sprintf("proj_%02d", i), WorkspaceID: "ws_1", Name: "p", CreatedAt: now, UpdatedAt: now}
			if err := st.CreateProject(ctx, p); err != nil {
				errs[i] = err
				return
			}
			// Every third write fails after changing the row, every fifth
			// panics: only that write may be undone.
			_, errs[i] = st.UpdateProject(ctx, "ws_1", p.ID, func(p *store.Project) error {
				p.Name = "renamed"
				switch {
				case i%5 == 0:
					panic("boom")
				case i%3 == 0:
					return refused
				}
				return nil
			})
		}(i)
	}
	commitsBefore := st.commits.Load()
	close(start)
	wg.Wait()
	commits := st.commits.Load() - commitsBefore
	t.Logf("%d concurrent creates and updates took %d commits", 2*writers, commits)
	if commits >= 2*writers {
		t.Errorf("%d writes took %d commits: concurrent writes were not grouped", 2*writers, commits)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened from the file: every acknowledged write is there, and only those.
	st, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := 0; i < writers; i++ {
		p, err := st.GetProject(ctx, "ws_1", fmt.Sprintf("proj_%02d", i))
		if err != nil {
			t.Fatalf("project %d: %v", i, err)
		}
		want, wantErr := "renamed", error(nil)
		switch {
		case i%5 == 0:
			want, wantErr = "p", nil
			if errs[i] == nil {
				t.Errorf("write %d panicked but reported success", i)
			}
		case i%3 == 0:
			want, wantErr = "p", refused
		}
		if p.Name != want || (wantErr != nil && !errors.Is(errs[i], wantErr)) || (i%5 != 0 && wantErr == nil && errs[i] != nil) {
			t.Errorf("project %d: name %q, error %v; want %q, %v", i, p.Name, errs[i], want, wantErr)
		}
	}
}
